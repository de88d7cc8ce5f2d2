//! The audit trail: one record for every change to a key, written in the same transaction as
//! the change. A record says who did what to which key, when, from where, and what changed —
//! the key's public fields only, never a token, secret or hash.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::attributes::Ident;
use super::key::ApiKey;
use super::status::Status;
use super::timestamp::{format_time, sortable_time};
use crate::token::{KeyKind, Prefix};

/// What happened to the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Created,
    Updated,
    Disabled,
    Enabled,
    Approved,
    Rejected,
    Replaced,
    Deleted,
    Bootstrapped,
}

impl AuditAction {
    pub const ALL: [AuditAction; 9] = [
        AuditAction::Created,
        AuditAction::Updated,
        AuditAction::Disabled,
        AuditAction::Enabled,
        AuditAction::Approved,
        AuditAction::Rejected,
        AuditAction::Replaced,
        AuditAction::Deleted,
        AuditAction::Bootstrapped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Created => "created",
            AuditAction::Updated => "updated",
            AuditAction::Disabled => "disabled",
            AuditAction::Enabled => "enabled",
            AuditAction::Approved => "approved",
            AuditAction::Rejected => "rejected",
            AuditAction::Replaced => "replaced",
            AuditAction::Deleted => "deleted",
            AuditAction::Bootstrapped => "bootstrapped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The action of an update from `before` to `after`: its status change, if it made one.
    pub fn of_update(before: &ApiKey, after: &ApiKey) -> Self {
        match (before.status, after.status) {
            (a, b) if a == b => AuditAction::Updated,
            (Status::Pending | Status::Rejected, Status::Active) => AuditAction::Approved,
            (_, Status::Rejected) => AuditAction::Rejected,
            (_, Status::Disabled) => AuditAction::Disabled,
            (_, Status::Active) => AuditAction::Enabled,
            _ => AuditAction::Updated,
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who made the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A key, through the API.
    Key { prefix: Prefix, kind: KeyKind, user: Option<Ident>, project: Option<Ident> },
    /// An operator, through `keys-admin` with AWS credentials.
    Operator { name: String },
}

impl Actor {
    pub fn key(key: &ApiKey) -> Self {
        Actor::Key {
            prefix: key.prefix.clone(),
            kind: key.kind,
            user: key.user_id.clone(),
            project: key.project_id.clone(),
        }
    }

    /// What the `actor` filter of the audit list matches: a key's prefix, or `operator`.
    pub fn filter_value(&self) -> String {
        match self {
            Actor::Key { prefix, .. } => prefix.to_string(),
            Actor::Operator { .. } => "operator".into(),
        }
    }

    pub fn to_json(&self) -> Value {
        let id = |i: &Option<Ident>| i.as_ref().map(|i| json!({ "id": i.as_str() }));
        match self {
            Actor::Key { prefix, kind, user, project } => json!({
                "type": "key",
                "prefix": prefix.as_str(),
                "keyType": kind.key_type(),
                "user": id(user),
                "project": id(project),
            }),
            Actor::Operator { name } => json!({ "type": "operator", "name": name }),
        }
    }
}

/// Where the change came from: the request it was made in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub request_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One field's change: its JSON value before and after.
pub type Changes = BTreeMap<String, (Value, Value)>;

/// What the audit record of a replace from `before` to `after` ([`ApiKey::replaced`]) records
/// besides the key's fields: the secret's generation before and after, and the grace period.
pub fn replace_changes(before: &ApiKey, after: &ApiKey, grace_seconds: u64) -> Changes {
    Changes::from([
        (
            "secret".to_owned(),
            (
                json!(format!("generation {}", before.generation)),
                json!(format!("generation {}", after.generation)),
            ),
        ),
        ("gracePeriodSeconds".to_owned(), (Value::Null, json!(grace_seconds))),
    ])
}

/// One record of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Unique and ordered by time: `<sortable time>#<sequence><random>`.
    pub id: String,
    pub time: OffsetDateTime,
    pub action: AuditAction,
    pub team: Ident,
    pub key_prefix: Prefix,
    pub key_kind: KeyKind,
    pub key_name: String,
    pub project: Option<Ident>,
    pub actor: Actor,
    pub changes: Changes,
    pub origin: Origin,
}

/// A record's id: its time, then a sequence number of this process (records of the same instant
/// keep the order they were made in) and a random tag (no two processes make the same id).
fn record_id(at: OffsetDateTime) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}#{:010}{}",
        sortable_time(at),
        SEQUENCE.fetch_add(1, Ordering::Relaxed) % 10_000_000_000,
        crate::token::random_base62(6)
    )
}

/// The fields of the key object a record tracks (never a hash or a token).
const TRACKED: &[&str] = &[
    "name", "description", "status", "roles", "labels", "isHighPriority", "webhookUrl",
    "expiresAt", "approvedBy", "rateLimit", "quota",
];

impl AuditRecord {
    /// A record of `action` on `after` (the key as the change leaves it) by `actor`; `before`
    /// is the key as it was (none for a new key). The changes are the tracked fields that
    /// differ; `extra` adds changes that are not fields (a replace's secret and grace period).
    pub fn of(
        action: AuditAction, actor: Actor, before: Option<&ApiKey>, after: &ApiKey, extra: Changes,
        origin: Origin, at: OffsetDateTime,
    ) -> Self {
        let old = before.map(ApiKey::to_json).unwrap_or(Value::Null);
        let new = after.to_json();
        let mut changes: Changes = TRACKED
            .iter()
            .filter_map(|f| {
                let from = old.get(*f).cloned().unwrap_or(Value::Null);
                let to = new.get(*f).cloned().unwrap_or(Value::Null);
                let empty = |v: &Value| v.is_null() || v.as_array().is_some_and(Vec::is_empty);
                let unchanged = from == to || (before.is_none() && empty(&to));
                (!unchanged).then(|| ((*f).to_owned(), (from, to)))
            })
            .collect();
        changes.extend(extra);
        AuditRecord {
            id: record_id(at),
            time: at,
            action,
            team: after.team_id.clone(),
            key_prefix: after.prefix.clone(),
            key_kind: after.kind,
            key_name: after.name.as_str().to_owned(),
            project: after.project_id.clone(),
            actor,
            changes,
            origin,
        }
    }

    /// The record as the API shows it.
    pub fn to_json(&self) -> Value {
        let changes: serde_json::Map<String, Value> = self
            .changes
            .iter()
            .map(|(k, (from, to))| (k.clone(), json!({ "from": from, "to": to })))
            .collect();
        json!({
            "id": self.id,
            "time": format_time(self.time),
            "action": self.action.as_str(),
            "key": {
                "prefix": self.key_prefix.as_str(),
                "keyType": self.key_kind.key_type(),
                "name": self.key_name,
            },
            "account": { "id": self.team.as_str() },
            "project": self.project.as_ref().map(|p| json!({ "id": p.as_str() })),
            "actor": self.actor.to_json(),
            "changes": changes,
            "requestId": self.origin.request_id,
            "sourceIp": self.origin.source_ip,
            "userAgent": self.origin.user_agent,
            "source": match self.actor {
                Actor::Operator { .. } => "operator",
                Actor::Key { .. } => "api",
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyName, Roles};
    use crate::testing::sample_key;

    #[test]
    fn actions_of_updates() {
        let k = sample_key(KeyKind::Project);
        let with = |s: Status| {
            let mut x = k.clone();
            x.status = s;
            x
        };
        use AuditAction::*;
        for (from, to, action) in [
            (Status::Active, Status::Active, Updated),
            (Status::Active, Status::Disabled, Disabled),
            (Status::Disabled, Status::Active, Enabled),
            (Status::Pending, Status::Active, Approved),
            (Status::Rejected, Status::Active, Approved),
            (Status::Pending, Status::Rejected, Rejected),
        ] {
            assert_eq!(AuditAction::of_update(&with(from), &with(to)), action);
        }
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
    }

    #[test]
    fn records_carry_the_diff_and_never_a_hash() {
        let before = sample_key(KeyKind::Project);
        let mut after = before.clone();
        after.name = KeyName::parse("renamed").unwrap();
        after.roles = Roles::parse(&["a", "b"]).unwrap();
        after.secret_hash = crate::token::SecretHash::of("another token");
        let r = AuditRecord::of(
            AuditAction::Updated,
            Actor::key(&before),
            Some(&before),
            &after,
            Changes::new(),
            Origin::default(),
            before.created_at,
        );
        let keys: Vec<&str> = r.changes.keys().map(String::as_str).collect();
        assert_eq!(keys, ["name", "roles"]);
        assert_eq!(r.changes["name"], (json!("sample key"), json!("renamed")));
        let text = r.to_json().to_string();
        assert!(!text.contains(before.secret_hash.as_str()));
        assert!(!text.contains(after.secret_hash.as_str()));
        // a new key's record lists what it was made with
        let created = AuditRecord::of(
            AuditAction::Created,
            Actor::Operator { name: "ops".into() },
            None,
            &after,
            Changes::new(),
            Origin::default(),
            after.created_at,
        );
        assert!(created.changes.contains_key("name") && created.changes.contains_key("status"));
        assert!(!created.changes.contains_key("description"));
        assert_eq!(created.to_json()["actor"]["type"], "operator");
        assert_eq!(created.to_json()["source"], "operator");
    }
}
