//! Audit records as items, and their pages.
//!
//! A record is written only as a new item (`attribute_not_exists(pk)` in the change's own
//! transaction): that condition is the one guard against overwriting a record, and the stack's
//! IAM policies deny every function `UpdateItem`, `DeleteItem`, `BatchWriteItem` and PartiQL
//! writes on items whose `pk` starts with `AUDIT#`. Records expire by TTL (`purgeAt`) after the
//! retention the store is given, long after the key they describe.

use serde_json::Value;

use super::item::{number, text, Item, ItemExt};
use super::layout::{
    audit_partition, audit_partitions, audit_pk, CREATED_SK, OWNER_PK, PK, PROJECT_PK, TEAM_PK,
    TTL_ATTRIBUTE,
};
use super::query::{Filter, PageQuery};
use super::DynamoStore;
use crate::model::{sortable_time, Actor, AuditAction, AuditRecord, Changes, Ident, Origin};
use crate::store::{AuditPage, AuditQuery, AuditReader, StoreError};
use crate::token::{KeyKind, Prefix};

/// The item of a record, kept `retention` after its time.
pub fn to_item(r: &AuditRecord, retention: time::Duration) -> Item {
    let (owner, team, project) = audit_partitions(&r.team, &r.key_prefix, r.project.as_ref());
    let mut item = Item::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            item.insert(k.to_owned(), text(v));
        }
    };
    put(PK, Some(audit_pk(&r.id)));
    put(OWNER_PK, Some(owner));
    put(TEAM_PK, Some(team));
    put(PROJECT_PK, project);
    put(CREATED_SK, Some(r.id.clone()));
    put("time", Some(sortable_time(r.time)));
    put("action", Some(r.action.as_str().to_owned()));
    put("teamId", Some(r.team.to_string()));
    put("keyPrefix", Some(r.key_prefix.to_string()));
    put("keyType", Some(r.key_kind.key_type().to_owned()));
    put("keyName", Some(r.key_name.clone()));
    put("projectId", r.project.as_ref().map(Ident::to_string));
    match &r.actor {
        Actor::Key { prefix, kind, user, project } => {
            put("actorPrefix", Some(prefix.to_string()));
            put("actorKeyType", Some(kind.key_type().to_owned()));
            put("actorUser", user.as_ref().map(Ident::to_string));
            put("actorProject", project.as_ref().map(Ident::to_string));
        }
        Actor::Operator { name } => {
            put("actorPrefix", Some("operator".into()));
            put("operator", Some(name.clone()));
        }
    }
    let changes: serde_json::Map<String, Value> = r
        .changes
        .iter()
        .map(|(k, (from, to))| (k.clone(), serde_json::json!([from, to])))
        .collect();
    put("changes", Some(Value::Object(changes).to_string()));
    put("requestId", Some(r.origin.request_id.clone()));
    put("sourceIp", r.origin.source_ip.clone());
    put("userAgent", r.origin.user_agent.clone());
    let purge = (r.time + retention).unix_timestamp().max(0) as u64;
    item.insert(TTL_ATTRIBUTE.to_owned(), number(purge));
    item
}

/// A record back from its item; anything unexpected is `Corrupt`.
pub fn from_item(item: &Item) -> Result<AuditRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("audit record: {what}"));
    let ident = |name: &str| -> Result<Option<Ident>, StoreError> {
        item.opt_text(name)?.map(|v| Ident::parse(v).map_err(|_| corrupt(name))).transpose()
    };
    let prefix = |v: &str| Prefix::parse(v).ok_or_else(|| corrupt("prefix"));
    let actor = match item.opt_text("operator")? {
        Some(name) => Actor::Operator { name: name.to_owned() },
        None => Actor::Key {
            prefix: prefix(item.text("actorPrefix")?)?,
            kind: KeyKind::from_key_type(item.text("actorKeyType")?)
                .ok_or_else(|| corrupt("actorKeyType"))?,
            user: ident("actorUser")?,
            project: ident("actorProject")?,
        },
    };
    let changes: Changes = match serde_json::from_str::<Value>(item.text("changes")?) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::Array(mut pair) if pair.len() == 2 => {
                    let to = pair.pop().unwrap_or(Value::Null);
                    let from = pair.pop().unwrap_or(Value::Null);
                    Ok((k, (from, to)))
                }
                _ => Err(corrupt("changes")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(corrupt("changes")),
    };
    Ok(AuditRecord {
        id: item.text(CREATED_SK)?.to_owned(),
        time: item.time("time")?.ok_or_else(|| corrupt("time"))?,
        action: AuditAction::parse(item.text("action")?).ok_or_else(|| corrupt("action"))?,
        team: ident("teamId")?.ok_or_else(|| corrupt("teamId"))?,
        key_prefix: prefix(item.text("keyPrefix")?)?,
        key_kind: KeyKind::from_key_type(item.text("keyType")?)
            .ok_or_else(|| corrupt("keyType"))?,
        key_name: item.text("keyName")?.to_owned(),
        project: ident("projectId")?,
        actor,
        changes,
        origin: Origin {
            request_id: item.text("requestId")?.to_owned(),
            source_ip: item.opt_text("sourceIp")?.map(str::to_owned),
            user_agent: item.opt_text("userAgent")?.map(str::to_owned),
        },
    })
}

impl AuditReader for DynamoStore {
    /// One Query a page of the scope's index partition; `since`/`until` narrow the key
    /// condition, `actor`/`action` are filters (pages may then take more than one Query).
    #[tracing::instrument(skip_all, fields(limit = query.limit))]
    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let fingerprint = query.fingerprint();
        let cursor = self.cursors.position(&fingerprint, query.cursor.as_deref())?;
        let before = match (cursor, query.below()) {
            (Some(c), Some(b)) => Some(c.min(b)),
            (c, b) => c.or(b),
        };
        let (index, hash_attribute, partition) = audit_partition(&query.scope);
        let mut filter = Filter::default();
        if let Some(actor) = &query.actor {
            filter =
                filter.with("#ap = :ap", &[("#ap", "actorPrefix")], vec![(":ap", text(actor))]);
        }
        if let Some(action) = query.action {
            filter = filter.with(
                "#ac = :ac",
                &[("#ac", "action")],
                vec![(":ac", text(action.as_str()))],
            );
        }
        let q = PageQuery {
            index,
            hash_attribute,
            partition,
            before,
            from: query.lowest(),
            filter: &filter,
            limit: query.limit,
        };
        self.page(&fingerprint, q, from_item).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_key;

    #[test]
    fn round_trip() {
        let before = sample_key(KeyKind::Project);
        let mut after = before.clone();
        after.status = crate::model::Status::Disabled;
        for actor in [Actor::key(&before), Actor::Operator { name: "ops".into() }] {
            let r = AuditRecord::of(
                AuditAction::Disabled,
                actor,
                Some(&before),
                &after,
                Changes::new(),
                Origin {
                    request_id: "r-1".into(),
                    source_ip: Some("192.0.2.1".into()),
                    user_agent: None,
                },
                before.created_at,
            );
            let item = to_item(&r, time::Duration::days(400));
            assert!(item[PK].as_s().unwrap().starts_with("AUDIT#"));
            assert!(item.contains_key(PROJECT_PK));
            assert_eq!(from_item(&item).unwrap(), r);
        }
    }
}
