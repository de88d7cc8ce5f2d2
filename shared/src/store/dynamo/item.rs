//! The one place where a key becomes a DynamoDB item and back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::layout::{
    key_pk, owner_partition, sort_key, team_partition, CREATED_SK, OWNER_PK, PK, TEAM_PK,
    TTL_ATTRIBUTE,
};
use crate::model::{
    parse_time, sortable_time, ApiKey, Description, Ident, KeyName, Labels, PreviousSecret, Quota,
    RateLimit, RateWindow, Refill, RefillInterval, Roles, Status, WebhookUrl,
};
use crate::store::StoreError;
use crate::token::{KeyKind, Prefix, SecretHash};

pub type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub fn text(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn number(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text_list(items: &[&str]) -> AttributeValue {
    AttributeValue::L(items.iter().map(|x| text(*x)).collect())
}

/// Typed reads of an item's attributes: a missing optional attribute is `None`, zero, false or
/// empty; an attribute of the wrong type is `Corrupt`, never a panic.
pub trait ItemExt {
    fn text(&self, name: &str) -> Result<&str, StoreError>;
    fn opt_text(&self, name: &str) -> Result<Option<&str>, StoreError>;
    fn number(&self, name: &str) -> Result<u64, StoreError>;
    fn opt_number(&self, name: &str) -> Result<Option<u64>, StoreError>;
    fn opt_number_i(&self, name: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, name: &str) -> Result<bool, StoreError>;
    fn texts(&self, name: &str) -> Result<Vec<String>, StoreError>;
    fn time(&self, name: &str) -> Result<Option<OffsetDateTime>, StoreError>;
}

impl ItemExt for Item {
    fn text(&self, name: &str) -> Result<&str, StoreError> {
        self.opt_text(name)?.ok_or_else(|| StoreError::Corrupt(format!("missing {name}")))
    }
    fn opt_text(&self, name: &str) -> Result<Option<&str>, StoreError> {
        match self.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(StoreError::Corrupt(format!("{name} is not a string"))),
        }
    }
    fn number(&self, name: &str) -> Result<u64, StoreError> {
        match self.get(name) {
            None => Ok(0),
            Some(AttributeValue::N(v)) => {
                v.parse().map_err(|_| StoreError::Corrupt(format!("{name} is not a whole number")))
            }
            Some(_) => Err(StoreError::Corrupt(format!("{name} is not a number"))),
        }
    }
    fn opt_number(&self, name: &str) -> Result<Option<u64>, StoreError> {
        match self.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(_) => self.number(name).map(Some),
        }
    }
    fn opt_number_i(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Corrupt(format!("{name} is not a whole number"))),
            Some(_) => Err(StoreError::Corrupt(format!("{name} is not a number"))),
        }
    }
    fn flag(&self, name: &str) -> Result<bool, StoreError> {
        match self.get(name) {
            None => Ok(false),
            Some(AttributeValue::Bool(b)) => Ok(*b),
            Some(_) => Err(StoreError::Corrupt(format!("{name} is not a boolean"))),
        }
    }
    fn texts(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.get(name) {
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
    fn time(&self, name: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        self.opt_text(name)?
            .map(|v| {
                parse_time(v).ok_or_else(|| StoreError::Corrupt(format!("{name} is not a time")))
            })
            .transpose()
    }
}

/// The rate window's attributes (written by the authorizer's leases only).
pub const RL_WINDOW: &str = "rlWindow";
pub const RL_USED: &str = "rlUsed";
/// The quota's live attributes (written by leases, refills, and management setting the quota).
pub const QUOTA_REMAINING: &str = "quotaRemaining";
pub const QUOTA_REFILLED_AT: &str = "quotaRefilledAt";

/// A signed number attribute value.
pub fn number_i(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// What setting a quota writes beside its configuration: the calls left, and since when.
pub fn quota_counters(q: &Quota) -> Vec<(&'static str, AttributeValue)> {
    let mut out = vec![(QUOTA_REMAINING, number(q.remaining))];
    if let Some(t) = q.refilled_at {
        out.push((QUOTA_REFILLED_AT, text(sortable_time(t))));
    }
    out
}

/// Attributes every write of a key sets (all but the identity and the counters).
pub fn mutable_attributes(key: &ApiKey) -> Vec<(&'static str, Option<AttributeValue>)> {
    vec![
        ("name", Some(text(key.name.as_str()))),
        ("nameLower", Some(text(key.name.as_str().to_lowercase()))),
        ("description", key.description.as_ref().map(|d| text(d.as_str()))),
        ("status", Some(text(key.status.as_str()))),
        ("roles", Some(text_list(&key.roles.as_strs()))),
        (
            "labels",
            Some(text_list(&key.labels.as_slice().iter().map(String::as_str).collect::<Vec<_>>())),
        ),
        ("isHighPriority", Some(AttributeValue::Bool(key.is_high_priority))),
        ("webhookUrl", key.webhook_url.as_ref().map(|w| text(w.as_str()))),
        ("expiresAt", key.expires_at.map(|t| text(sortable_time(t)))),
        ("rlLimit", key.rate_limit.map(|r| number(r.limit))),
        ("rlPeriod", key.rate_limit.map(|r| number(r.period_seconds))),
        ("quotaRefillAmount", key.quota.and_then(|q| q.refill).map(|r| number(r.amount))),
        (
            "quotaRefillInterval",
            key.quota.and_then(|q| q.refill).map(|r| text(r.interval.as_str())),
        ),
        ("updatedAt", Some(text(sortable_time(key.updated_at)))),
        ("retrieved", Some(AttributeValue::Bool(key.retrieved))),
        ("preview", Some(text(&key.preview))),
        ("secretHash", Some(text(key.secret_hash.as_str()))),
        ("generation", Some(number(key.generation))),
        ("approvedBy", key.approved_by.as_ref().map(text)),
        ("previousHash", key.previous.as_ref().map(|p| text(p.hash.as_str()))),
        ("previousHashUntil", key.previous.as_ref().map(|p| text(sortable_time(p.valid_until)))),
    ]
}

/// The whole item of a key.
pub fn to_item(key: &ApiKey) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), text(key_pk(&key.prefix)));
    item.insert(OWNER_PK.into(), text(owner_partition(key)));
    item.insert(TEAM_PK.into(), text(team_partition(key)));
    item.insert(CREATED_SK.into(), text(sort_key(key)));
    item.insert("prefix".into(), text(key.prefix.as_str()));
    item.insert("keyType".into(), text(key.kind.key_type()));
    item.insert("teamId".into(), text(key.team_id.as_str()));
    if let Some(u) = &key.user_id {
        item.insert("userId".into(), text(u.as_str()));
    }
    if let Some(p) = &key.project_id {
        item.insert("projectId".into(), text(p.as_str()));
    }
    item.insert("createdAt".into(), text(sortable_time(key.created_at)));
    item.insert("createdBy".into(), text(&key.created_by));
    if let Some(t) = key.last_active {
        item.insert("lastActiveDateTime".into(), text(sortable_time(t)));
    }
    item.insert("submittedJobs".into(), number(key.submitted_jobs));
    if let Some(q) = key.quota {
        for (name, value) in quota_counters(&q) {
            item.insert(name.into(), value);
        }
    }
    if key.rate_window != RateWindow::default() {
        item.insert(RL_WINDOW.into(), number_i(key.rate_window.start));
        item.insert(RL_USED.into(), number(key.rate_window.used));
    }
    item.insert("version".into(), number(key.version));
    if let Some(t) = key.deleted_at {
        item.insert("deletedAt".into(), text(sortable_time(t)));
        item.insert(TTL_ATTRIBUTE.into(), number(purge_at(t)));
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
    (at + crate::store::TOMBSTONE_TTL).unix_timestamp().max(0) as u64
}

fn corrupt(name: &'static str) -> impl Fn(String) -> StoreError {
    move |m| StoreError::Corrupt(format!("{name}: {m}"))
}

/// Reads a key item back; anything unexpected is `Corrupt`, never a panic.
pub fn from_item(item: &Item) -> Result<ApiKey, StoreError> {
    let prefix =
        Prefix::parse(item.text("prefix")?).ok_or_else(|| StoreError::Corrupt("prefix".into()))?;
    let kind = KeyKind::from_key_type(item.text("keyType")?)
        .ok_or_else(|| StoreError::Corrupt("keyType".into()))?;
    let ident = |name: &'static str| -> Result<Option<Ident>, StoreError> {
        item.opt_text(name)?.map(|v| Ident::parse(v).map_err(corrupt(name))).transpose()
    };
    let previous = match (item.opt_text("previousHash")?, item.time("previousHashUntil")?) {
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
        name: KeyName::parse(item.text("name")?).map_err(corrupt("name"))?,
        description: item
            .opt_text("description")?
            .map(|d| Description::parse(d).map_err(corrupt("description")))
            .transpose()?,
        status: Status::parse(item.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("status".into()))?,
        roles: Roles::parse(&item.texts("roles")?).map_err(corrupt("roles"))?,
        labels: Labels::parse(&item.texts("labels")?).map_err(corrupt("labels"))?,
        is_high_priority: item.flag("isHighPriority")?,
        webhook_url: item
            .opt_text("webhookUrl")?
            .map(|w| WebhookUrl::parse(w).map_err(corrupt("webhookUrl")))
            .transpose()?,
        expires_at: item.time("expiresAt")?,
        rate_limit: match (item.opt_number("rlLimit")?, item.opt_number("rlPeriod")?) {
            (Some(limit), Some(period_seconds)) => Some(RateLimit { limit, period_seconds }),
            _ => None,
        },
        rate_window: RateWindow {
            start: item.opt_number_i(RL_WINDOW)?.unwrap_or(0),
            used: item.number(RL_USED)?,
        },
        quota: match item.opt_number_i(QUOTA_REMAINING)? {
            None => None,
            Some(remaining) => Some(Quota {
                // a lease never takes more than there is; a negative value is read as none left
                remaining: remaining.max(0) as u64,
                refill: match (
                    item.opt_number("quotaRefillAmount")?,
                    item.opt_text("quotaRefillInterval")?,
                ) {
                    (Some(amount), Some(i)) => Some(Refill {
                        amount,
                        interval: RefillInterval::parse(i)
                            .ok_or_else(|| StoreError::Corrupt("quotaRefillInterval".into()))?,
                    }),
                    _ => None,
                },
                refilled_at: item.time(QUOTA_REFILLED_AT)?,
            }),
        },
        created_at: item
            .time("createdAt")?
            .ok_or_else(|| StoreError::Corrupt("missing createdAt".into()))?,
        created_by: item.text("createdBy")?.to_owned(),
        updated_at: item
            .time("updatedAt")?
            .ok_or_else(|| StoreError::Corrupt("missing updatedAt".into()))?,
        last_active: item.time("lastActiveDateTime")?,
        submitted_jobs: item.number("submittedJobs")?,
        retrieved: item.flag("retrieved")?,
        preview: item.text("preview")?.to_owned(),
        version: item.number("version")?,
        generation: item.number("generation")?,
        secret_hash: SecretHash::from_stored(item.text("secretHash")?)
            .ok_or_else(|| StoreError::Corrupt("secretHash".into()))?,
        previous,
        approved_by: item.opt_text("approvedBy")?.map(str::to_owned),
        deleted_at: item.time("deletedAt")?,
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
        key.generation = 3;
        key.rate_limit = Some(RateLimit { limit: 100, period_seconds: 60 });
        key.rate_window = RateWindow { start: 1_767_225_600, used: 7 };
        key.quota = Some(Quota {
            remaining: 42,
            refill: Some(Refill { amount: 1000, interval: RefillInterval::Day }),
            refilled_at: Some(key.created_at),
        });
        key.approved_by = Some("ada".into());
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
        item.insert("version".into(), text("x"));
        assert!(from_item(&item).is_err());
        let mut item = to_item(&key);
        item.remove("secretHash");
        assert!(from_item(&item).is_err());
        assert!(from_item(&Item::new()).is_err());
    }
}
