//! The one place where a key becomes a DynamoDB item and back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::StoreError;
use crate::model::{
    parse_time, sortable_time, ApiKey, Description, Ident, KeyName, Labels, PreviousSecret, Roles,
    Status, WebhookUrl,
};
use crate::token::{KeyKind, Prefix, SecretHash};

pub type Item = HashMap<String, AttributeValue>;

pub fn key_pk(prefix: &Prefix) -> String {
    format!("KEY#{prefix}")
}
pub fn sentinel_pk(team: &Ident, user: &Ident) -> String {
    format!("TEAMKEY#{team}#{user}")
}
pub fn team_pk(team: &Ident) -> String {
    format!("TEAM#{team}")
}
pub fn project_owner_pk(team: &Ident, project: &Ident) -> String {
    format!("PROJECT#{team}#{project}")
}
pub fn team_keys_owner_pk(team: &Ident) -> String {
    format!("TEAMKEYS#{team}")
}
/// Tombstones move to their own partitions so live lists need no filter.
pub fn tombstone_partition(live: &str) -> String {
    format!("DELETED#{live}")
}
pub fn sort_key(key: &ApiKey) -> String {
    format!("{}#{}", sortable_time(key.created_at), key.prefix)
}
pub fn owner_pk(key: &ApiKey) -> String {
    let live = match (&key.kind, &key.project_id) {
        (KeyKind::Project, Some(p)) => project_owner_pk(&key.team_id, p),
        _ => team_keys_owner_pk(&key.team_id),
    };
    if key.status == Status::Deleted {
        tombstone_partition(&live)
    } else {
        live
    }
}
pub fn team_partition(key: &ApiKey) -> String {
    let live = team_pk(&key.team_id);
    if key.status == Status::Deleted {
        tombstone_partition(&live)
    } else {
        live
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn list(items: &[&str]) -> AttributeValue {
    AttributeValue::L(items.iter().map(|x| s(*x)).collect())
}

/// Attributes every write of a key sets (all but the identity and the counters).
pub fn mutable_attributes(key: &ApiKey) -> Vec<(&'static str, Option<AttributeValue>)> {
    vec![
        ("name", Some(s(key.name.as_str()))),
        ("nameLower", Some(s(key.name.as_str().to_lowercase()))),
        (
            "description",
            key.description.as_ref().map(|d| s(d.as_str())),
        ),
        ("status", Some(s(key.status.as_str()))),
        ("roles", Some(list(&key.roles.as_strs()))),
        (
            "labels",
            Some(list(
                &key.labels
                    .as_slice()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )),
        ),
        (
            "isHighPriority",
            Some(AttributeValue::Bool(key.is_high_priority)),
        ),
        (
            "webhookUrl",
            key.webhook_url.as_ref().map(|w| s(w.as_str())),
        ),
        ("expiresAt", key.expires_at.map(|t| s(sortable_time(t)))),
        ("updatedAt", Some(s(sortable_time(key.updated_at)))),
        ("retrieved", Some(AttributeValue::Bool(key.retrieved))),
        ("preview", Some(s(&key.preview))),
        ("secretHash", Some(s(key.secret_hash.as_str()))),
        (
            "previousHash",
            key.previous.as_ref().map(|p| s(p.hash.as_str())),
        ),
        (
            "previousHashUntil",
            key.previous
                .as_ref()
                .map(|p| s(sortable_time(p.valid_until))),
        ),
    ]
}

/// The whole item of a key.
pub fn to_item(key: &ApiKey) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(key_pk(&key.prefix)));
    item.insert("ownerPk".into(), s(owner_pk(key)));
    item.insert("teamPk".into(), s(team_partition(key)));
    item.insert("createdSk".into(), s(sort_key(key)));
    item.insert("prefix".into(), s(key.prefix.as_str()));
    item.insert("keyType".into(), s(key.kind.key_type()));
    item.insert("teamId".into(), s(key.team_id.as_str()));
    if let Some(u) = &key.user_id {
        item.insert("userId".into(), s(u.as_str()));
    }
    if let Some(p) = &key.project_id {
        item.insert("projectId".into(), s(p.as_str()));
    }
    item.insert("createdAt".into(), s(sortable_time(key.created_at)));
    item.insert("createdBy".into(), s(&key.created_by));
    if let Some(t) = key.last_active {
        item.insert("lastActiveDateTime".into(), s(sortable_time(t)));
    }
    item.insert("submittedJobs".into(), n(key.submitted_jobs));
    item.insert("version".into(), n(key.version));
    if let Some(t) = key.deleted_at {
        item.insert("deletedAt".into(), s(sortable_time(t)));
        item.insert("purgeAt".into(), n(purge_at(t)));
    }
    for (name, value) in mutable_attributes(key) {
        if let Some(v) = value {
            item.insert(name.into(), v);
        }
    }
    item
}

/// Epoch seconds at which DynamoDB's TTL may remove a tombstone deleted at `at`.
pub fn purge_at(at: OffsetDateTime) -> u64 {
    (at + super::TOMBSTONE_TTL).unix_timestamp().max(0) as u64
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    opt_s(item, name)?.ok_or_else(|| StoreError::Corrupt(format!("missing {name}")))
}
fn opt_s<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        Some(_) => Err(StoreError::Corrupt(format!("{name} is not a string"))),
    }
}
fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        None => Ok(0),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{name} is not a whole number"))),
        Some(_) => Err(StoreError::Corrupt(format!("{name} is not a number"))),
    }
}
fn get_bool(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        None => Ok(false),
        Some(AttributeValue::Bool(b)) => Ok(*b),
        Some(_) => Err(StoreError::Corrupt(format!("{name} is not a boolean"))),
    }
}
fn get_list(item: &Item, name: &str) -> Result<Vec<String>, StoreError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(x) => Ok(x.clone()),
                _ => Err(StoreError::Corrupt(format!("{name} holds a non-string"))),
            })
            .collect(),
        Some(_) => Err(StoreError::Corrupt(format!("{name} is not a list"))),
    }
}
fn time_of(item: &Item, name: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    opt_s(item, name)?
        .map(|v| parse_time(v).ok_or_else(|| StoreError::Corrupt(format!("{name} is not a time"))))
        .transpose()
}
fn corrupt(name: &'static str) -> impl Fn(String) -> StoreError {
    move |m| StoreError::Corrupt(format!("{name}: {m}"))
}

/// Reads a key item back; anything unexpected is `Corrupt`, never a panic.
pub fn from_item(item: &Item) -> Result<ApiKey, StoreError> {
    let prefix = Prefix::parse(get_s(item, "prefix")?)
        .ok_or_else(|| StoreError::Corrupt("prefix".into()))?;
    let kind = KeyKind::from_key_type(get_s(item, "keyType")?)
        .ok_or_else(|| StoreError::Corrupt("keyType".into()))?;
    let ident = |name: &'static str| -> Result<Option<Ident>, StoreError> {
        opt_s(item, name)?
            .map(|v| Ident::parse(v).map_err(corrupt(name)))
            .transpose()
    };
    let previous = match (
        opt_s(item, "previousHash")?,
        time_of(item, "previousHashUntil")?,
    ) {
        (Some(h), Some(until)) => Some(PreviousSecret {
            hash: SecretHash::from_stored(h)
                .ok_or_else(|| StoreError::Corrupt("previousHash".into()))?,
            valid_until: until,
        }),
        _ => None,
    };
    Ok(ApiKey {
        prefix,
        kind,
        team_id: ident("teamId")?.ok_or_else(|| StoreError::Corrupt("missing teamId".into()))?,
        user_id: ident("userId")?,
        project_id: ident("projectId")?,
        name: KeyName::parse(get_s(item, "name")?).map_err(corrupt("name"))?,
        description: opt_s(item, "description")?
            .map(|d| Description::parse(d).map_err(corrupt("description")))
            .transpose()?,
        status: Status::parse(get_s(item, "status")?)
            .ok_or_else(|| StoreError::Corrupt("status".into()))?,
        roles: Roles::parse(&get_list(item, "roles")?).map_err(corrupt("roles"))?,
        labels: Labels::parse(&get_list(item, "labels")?).map_err(corrupt("labels"))?,
        is_high_priority: get_bool(item, "isHighPriority")?,
        webhook_url: opt_s(item, "webhookUrl")?
            .map(|w| WebhookUrl::parse(w).map_err(corrupt("webhookUrl")))
            .transpose()?,
        expires_at: time_of(item, "expiresAt")?,
        created_at: time_of(item, "createdAt")?
            .ok_or_else(|| StoreError::Corrupt("missing createdAt".into()))?,
        created_by: get_s(item, "createdBy")?.to_owned(),
        updated_at: time_of(item, "updatedAt")?
            .ok_or_else(|| StoreError::Corrupt("missing updatedAt".into()))?,
        last_active: time_of(item, "lastActiveDateTime")?,
        submitted_jobs: get_n(item, "submittedJobs")?,
        retrieved: get_bool(item, "retrieved")?,
        preview: get_s(item, "preview")?.to_owned(),
        version: get_n(item, "version")?,
        secret_hash: SecretHash::from_stored(get_s(item, "secretHash")?)
            .ok_or_else(|| StoreError::Corrupt("secretHash".into()))?,
        previous,
        deleted_at: time_of(item, "deletedAt")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_key;

    #[test]
    fn round_trip_every_field() {
        let mut key = sample_key(KeyKind::Project);
        key.description = Some(Description::parse("d").unwrap());
        key.webhook_url = Some(WebhookUrl::parse("https://h.example/x").unwrap());
        key.expires_at = Some(key.created_at + time::Duration::days(3));
        key.last_active = Some(key.created_at + time::Duration::seconds(7));
        key.submitted_jobs = 42;
        key.previous = Some(PreviousSecret {
            hash: SecretHash::of("old"),
            valid_until: key.created_at + time::Duration::hours(1),
        });
        assert_eq!(from_item(&to_item(&key)).unwrap(), key);
        let team = sample_key(KeyKind::Team);
        assert_eq!(from_item(&to_item(&team)).unwrap(), team);
    }

    #[test]
    fn corrupt_items_are_errors_not_panics() {
        let key = sample_key(KeyKind::Project);
        let mut item = to_item(&key);
        item.insert("version".into(), s("x"));
        assert!(from_item(&item).is_err());
        let mut item = to_item(&key);
        item.remove("secretHash");
        assert!(from_item(&item).is_err());
        assert!(from_item(&Item::new()).is_err());
    }

    #[test]
    fn partitions() {
        let key = sample_key(KeyKind::Project);
        assert!(owner_pk(&key).starts_with("PROJECT#"));
        let mut dead = key.clone();
        dead.status = Status::Deleted;
        assert!(owner_pk(&dead).starts_with("DELETED#PROJECT#"));
        assert!(team_partition(&dead).starts_with("DELETED#TEAM#"));
    }
}
