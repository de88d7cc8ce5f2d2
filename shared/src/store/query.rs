//! What a list asks for: whose keys or audit records, which filters, how many, from where.

use time::OffsetDateTime;

use crate::model::{sortable_time, ApiKey, AuditAction, AuditRecord, Ident, Status};
use crate::token::{KeyKind, Prefix};

/// Whose keys a list covers. Everything is inside one team.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListScope {
    /// Every key of the team, team keys and project keys.
    WholeTeam(Ident),
    /// One project's keys.
    Project(Ident, Ident),
    /// The team's team keys (one per user).
    TeamKeys(Ident),
}

impl ListScope {
    pub fn team(&self) -> &Ident {
        match self {
            ListScope::WholeTeam(t) | ListScope::Project(t, _) | ListScope::TeamKeys(t) => t,
        }
    }

    /// Whether `key` (of any status) falls in this scope.
    pub fn covers(&self, key: &ApiKey) -> bool {
        &key.team_id == self.team()
            && match self {
                ListScope::WholeTeam(_) => true,
                ListScope::Project(_, p) => {
                    key.kind == KeyKind::Project && key.project_id.as_ref() == Some(p)
                }
                ListScope::TeamKeys(_) => key.kind == KeyKind::Team,
            }
    }

    fn describe(&self) -> String {
        match self {
            ListScope::WholeTeam(t) => format!("team:{t}"),
            ListScope::Project(t, p) => format!("project:{t}:{p}"),
            ListScope::TeamKeys(t) => format!("team-keys:{t}"),
        }
    }
}

/// A list request. `search` is matched case-insensitively against names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub scope: ListScope,
    /// `None` lists live keys of every status but `Deleted`; `Some(Deleted)` lists tombstones.
    pub status: Option<Status>,
    pub search: Option<String>,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl ListQuery {
    pub fn new(scope: ListScope) -> Self {
        ListQuery { scope, status: None, search: None, limit: 20, cursor: None }
    }
    /// The search term as matched (lowercase), if any.
    pub fn needle(&self) -> Option<String> {
        self.search.as_deref().filter(|s| !s.is_empty()).map(str::to_lowercase)
    }
    /// Whether the list is of tombstones rather than live keys.
    pub fn tombstones(&self) -> bool {
        self.status == Some(Status::Deleted)
    }
    /// The status filter among live keys (tombstones are a list of their own).
    pub fn status_filter(&self) -> Option<Status> {
        self.status.filter(|s| *s != Status::Deleted)
    }
    /// What a cursor is bound to: the same scope and filters.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}|{}|{}",
            self.scope.describe(),
            self.status.map(Status::as_str).unwrap_or(""),
            self.needle().unwrap_or_default()
        )
    }
    /// Whether a key of the scope passes the status and search filters.
    pub fn matches(&self, key: &ApiKey) -> bool {
        let deleted = key.status == Status::Deleted;
        deleted == self.tombstones()
            && self.status_filter().is_none_or(|s| key.status == s)
            && self.needle().is_none_or(|n| key.name.as_str().to_lowercase().contains(n.as_str()))
    }
}

/// Where a key stands in a list: newest first by creation time, then by prefix. The position a
/// cursor resumes after.
pub fn order_key(key: &ApiKey) -> String {
    format!("{}#{}", sortable_time(key.created_at), key.prefix)
}

/// Whose audit records a list covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditScope {
    /// One key's history (deleted keys' included).
    Key(Ident, Prefix),
    /// Every record of the team.
    Team(Ident),
    /// The records of one project's keys.
    Project(Ident, Ident),
}

/// A page of audit records, newest first: a scope, filters and a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub scope: AuditScope,
    /// A key's prefix, or `operator`.
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl AuditQuery {
    pub fn new(scope: AuditScope) -> Self {
        AuditQuery {
            scope,
            actor: None,
            action: None,
            since: None,
            until: None,
            limit: 20,
            cursor: None,
        }
    }
    /// What a cursor is bound to: the same scope and filters.
    pub fn fingerprint(&self) -> String {
        let scope = match &self.scope {
            AuditScope::Key(t, p) => format!("key:{t}:{p}"),
            AuditScope::Team(t) => format!("team:{t}"),
            AuditScope::Project(t, p) => format!("project:{t}:{p}"),
        };
        format!(
            "audit|{scope}|{}|{}|{}|{}",
            self.actor.as_deref().unwrap_or(""),
            self.action.map(AuditAction::as_str).unwrap_or(""),
            self.since.map(sortable_time).unwrap_or_default(),
            self.until.map(sortable_time).unwrap_or_default(),
        )
    }
    /// The lowest record id the query reaches (`since`, inclusive).
    pub fn lowest(&self) -> Option<String> {
        self.since.map(sortable_time)
    }
    /// The position every record id of the query is below (`until`, inclusive).
    pub fn below(&self) -> Option<String> {
        // '$' sorts after '#', the separator of `<time>#<random>`.
        self.until.map(|t| format!("{}$", sortable_time(t)))
    }
    /// Whether a record passes the scope and filters.
    pub fn matches(&self, r: &AuditRecord) -> bool {
        let in_scope = match &self.scope {
            AuditScope::Key(t, p) => &r.team == t && &r.key_prefix == p,
            AuditScope::Team(t) => &r.team == t,
            AuditScope::Project(t, p) => &r.team == t && r.project.as_ref() == Some(p),
        };
        in_scope
            && self.actor.as_ref().is_none_or(|a| &r.actor.filter_value() == a)
            && self.action.is_none_or(|a| r.action == a)
            && self.lowest().is_none_or(|l| r.id >= l)
            && self.below().is_none_or(|b| r.id < b)
    }
}
