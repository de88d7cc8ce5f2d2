//! Where things live in the table: partition keys, the two indexes and the partitions a key is
//! listed in. The only place that knows the table's key layout (see `docs/ARCHITECTURE.md`).
//!
//! | item | `pk` | `ownerPk` (index `byOwner`) | `teamPk` (index `byTeam`) |
//! |---|---|---|---|
//! | a key | `KEY#<prefix>` | `PROJECT#<team>#<project>` or `TEAMKEYS#<team>` | `TEAM#<team>` |
//! | a tombstone | `KEY#<prefix>` | `DELETED#` + the above | `DELETED#TEAM#<team>` |
//! | a team-key sentinel | `TEAMKEY#<team>#<user>` | — | — |
//! | an audit record | `AUDIT#<id>` | `AUDITKEY#<team>#<prefix>` | `AUDITTEAM#<team>` |
//!
//! Audit records of project keys are also in index `byProject`, under
//! `projectPk` = `AUDITPROJECT#<team>#<project>`. Every index sorts by `createdSk` (a key's
//! [`order_key`], a record's id), newest first when read backwards.

use crate::model::{ApiKey, Ident, Status};
use crate::store::{order_key, AuditScope, ListScope};
use crate::token::{KeyKind, Prefix};

/// The table's partition key.
pub const PK: &str = "pk";
/// Index of one owner's keys (a project, or the team's team keys), newest first.
pub const BY_OWNER: &str = "byOwner";
pub const OWNER_PK: &str = "ownerPk";
/// Index of all of a team's keys, newest first.
pub const BY_TEAM: &str = "byTeam";
pub const TEAM_PK: &str = "teamPk";
/// Index of one project's audit records, newest first.
pub const BY_PROJECT: &str = "byProject";
pub const PROJECT_PK: &str = "projectPk";
/// The sort key of every index.
pub const CREATED_SK: &str = "createdSk";
/// TTL attribute (epoch seconds) of tombstones.
pub const TTL_ATTRIBUTE: &str = "purgeAt";

/// (index name, hash key, range key), every index projecting all attributes.
pub const INDEXES: [(&str, &str, &str); 3] = [
    (BY_OWNER, OWNER_PK, CREATED_SK),
    (BY_TEAM, TEAM_PK, CREATED_SK),
    (BY_PROJECT, PROJECT_PK, CREATED_SK),
];

/// How every audit record's `pk` begins: the leading key the stack's IAM policies deny every
/// function to update or delete (`template.yaml`).
pub const AUDIT_PK_PREFIX: &str = "AUDIT#";

/// The partition key [`super::DynamoStore::warm_up`] reads: not `KEY#…`, `TEAMKEY#…` or an index
/// partition, so no item ever has it.
pub const WARM_UP_PK: &str = "WARMUP";

pub fn key_pk(prefix: &Prefix) -> String {
    format!("KEY#{prefix}")
}

/// The prefix of a key item's `pk`, if it is one.
pub fn prefix_of_pk(pk: &str) -> Option<Prefix> {
    pk.strip_prefix("KEY#").and_then(Prefix::parse)
}

/// The item that holds a user's one live team key in a team.
pub fn sentinel_pk(team: &Ident, user: &Ident) -> String {
    format!("TEAMKEY#{team}#{user}")
}

fn team_partition_of(team: &Ident) -> String {
    format!("TEAM#{team}")
}
fn project_partition_of(team: &Ident, project: &Ident) -> String {
    format!("PROJECT#{team}#{project}")
}
fn team_keys_partition_of(team: &Ident) -> String {
    format!("TEAMKEYS#{team}")
}

/// Tombstones move to their own partitions, so live lists need no filter.
fn tombstone_partition(live: String, deleted: bool) -> String {
    if deleted {
        format!("DELETED#{live}")
    } else {
        live
    }
}

/// The `ownerPk` of a key in its present status.
pub fn owner_partition(key: &ApiKey) -> String {
    let live = match (&key.kind, &key.project_id) {
        (KeyKind::Project, Some(p)) => project_partition_of(&key.team_id, p),
        _ => team_keys_partition_of(&key.team_id),
    };
    tombstone_partition(live, key.status == Status::Deleted)
}

/// The `teamPk` of a key in its present status.
pub fn team_partition(key: &ApiKey) -> String {
    tombstone_partition(team_partition_of(&key.team_id), key.status == Status::Deleted)
}

/// The `createdSk` of a key.
pub fn sort_key(key: &ApiKey) -> String {
    order_key(key)
}

pub fn audit_pk(id: &str) -> String {
    format!("{AUDIT_PK_PREFIX}{id}")
}

/// The partitions an audit record is listed in: (`ownerPk`, `teamPk`, `projectPk`).
pub fn audit_partitions(
    team: &Ident, prefix: &Prefix, project: Option<&Ident>,
) -> (String, String, Option<String>) {
    (
        format!("AUDITKEY#{team}#{prefix}"),
        format!("AUDITTEAM#{team}"),
        project.map(|p| format!("AUDITPROJECT#{team}#{p}")),
    )
}

/// Which index, hash attribute and partition a page of audit records of `scope` reads.
pub fn audit_partition(scope: &AuditScope) -> (&'static str, &'static str, String) {
    match scope {
        AuditScope::Key(t, p) => (BY_OWNER, OWNER_PK, audit_partitions(t, p, None).0),
        AuditScope::Team(t) => (BY_TEAM, TEAM_PK, format!("AUDITTEAM#{t}")),
        AuditScope::Project(t, p) => (BY_PROJECT, PROJECT_PK, format!("AUDITPROJECT#{t}#{p}")),
    }
}

/// Which index, hash attribute and partition a list of `scope` reads.
pub fn list_partition(scope: &ListScope, tombstones: bool) -> (&'static str, &'static str, String) {
    let (index, hash, live) = match scope {
        ListScope::WholeTeam(t) => (BY_TEAM, TEAM_PK, team_partition_of(t)),
        ListScope::Project(t, p) => (BY_OWNER, OWNER_PK, project_partition_of(t, p)),
        ListScope::TeamKeys(t) => (BY_OWNER, OWNER_PK, team_keys_partition_of(t)),
    };
    (index, hash, tombstone_partition(live, tombstones))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_key;

    #[test]
    fn partitions() {
        let key = sample_key(KeyKind::Project);
        assert!(owner_partition(&key).starts_with("PROJECT#"));
        let mut dead = key.clone();
        dead.status = Status::Deleted;
        assert!(owner_partition(&dead).starts_with("DELETED#PROJECT#"));
        assert!(team_partition(&dead).starts_with("DELETED#TEAM#"));
        let scope = ListScope::Project(key.team_id.clone(), key.project_id.clone().unwrap());
        assert_eq!(list_partition(&scope, false).2, owner_partition(&key));
        assert_eq!(list_partition(&scope, true).2, owner_partition(&dead));
        let team = ListScope::WholeTeam(key.team_id.clone());
        assert_eq!(list_partition(&team, true), (BY_TEAM, TEAM_PK, team_partition(&dead)));
        assert_eq!(prefix_of_pk(&key_pk(&key.prefix)), Some(key.prefix.clone()));
        assert_eq!(prefix_of_pk(WARM_UP_PK), None);
    }
}
