//! Persistence: narrow traits for what the handlers need, a DynamoDB implementation and an
//! in-memory one with the same semantics. `tests/` runs one contract suite against both.

use std::future::Future;

use time::OffsetDateTime;

use crate::model::{sortable_time, ApiKey, AuditAction, AuditRecord, Ident, Quota, Status};
use crate::token::{KeyKind, Prefix, SecretHash};

pub mod cursor;
pub mod dynamo;
pub mod memory;

pub use cursor::CursorCodec;
pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

/// How long a tombstone stays before DynamoDB's TTL removes it.
pub const TOMBSTONE_TTL: time::Duration = time::Duration::days(30);
/// The largest page a list may ask for.
pub const MAX_PAGE: usize = 100;

/// What went wrong in the store. SDK errors keep their whole chain for the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such key")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(Conflict),
    #[error("the cursor is not valid for this query")]
    BadCursor,
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// A key with this prefix exists already.
    DuplicatePrefix,
    /// The user already has a live team key in this team.
    TeamKeyExists,
    /// The key changed since it was read.
    VersionMismatch,
    /// An audit record with this id exists already (the change is not made without its own).
    AuditRecordExists,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conflict::DuplicatePrefix => "a key with this prefix exists",
            Conflict::TeamKeyExists => "the user already has a team key in this team",
            Conflict::VersionMismatch => "the key was changed concurrently",
            Conflict::AuditRecordExists => "the change's audit record exists already",
        })
    }
}

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

/// One page of a list (keys unless said otherwise), newest first, and the cursor of the next
/// page when there is one.
#[derive(Debug, Clone)]
pub struct Page<T = ApiKey> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Reads keys by prefix, strongly consistent (tombstones included; callers decide what a
/// tombstone means).
pub trait KeyReader: Send + Sync {
    fn get(
        &self, prefix: &Prefix,
    ) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;

    /// Two keys in one round trip — a management request's caller and the key it acts on; one
    /// read when they are the same key.
    fn get_pair(
        &self, first: &Prefix, second: &Prefix,
    ) -> impl Future<Output = Result<(Option<ApiKey>, Option<ApiKey>), StoreError>> + Send;
}

/// Conditional writes. Each change is written together with its audit record, in one
/// transaction: never a change without its record, nor a record without its change.
pub trait KeyWriter: Send + Sync {
    /// Creates a key; fails on a duplicate prefix, and for a team key when the user has one.
    fn create(
        &self, key: &ApiKey, audit: &AuditRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes the mutable fields of `key` if the stored version is `expected_version` and the key
    /// is not deleted. The stored version becomes `expected_version + 1`; returns `key` at that
    /// version (the counters as `key` has them). A quota's count of calls left is kept.
    fn update(
        &self, key: &ApiKey, expected_version: u64, audit: &AuditRecord,
    ) -> impl Future<Output = Result<ApiKey, StoreError>> + Send {
        self.update_with(key, expected_version, audit, QuotaWrite::Keep)
    }
    /// [`Self::update`], doing `quota` to the quota's count of calls left.
    fn update_with(
        &self, key: &ApiKey, expected_version: u64, audit: &AuditRecord, quota: QuotaWrite,
    ) -> impl Future<Output = Result<ApiKey, StoreError>> + Send;
    /// Turns the key into a tombstone (status `Deleted`, purged by TTL later) if the stored version
    /// is `expected_version`; frees the user's team-key slot.
    fn delete(
        &self, key: &ApiKey, expected_version: u64, at: OffsetDateTime, audit: &AuditRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a change does to a quota's count of calls left, which the authorizers' leases change too
/// (so a change that does not mean to set it leaves it alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaWrite {
    Keep,
    /// A new quota: its count and refill time replace the stored ones.
    Set(Quota),
    /// An atomic top-up of the count.
    TopUp(u64),
    /// No quota any more.
    Remove,
}

/// Lists keys with a Query on an index, newest first.
pub trait KeyLister: Send + Sync {
    fn list(&self, query: &ListQuery) -> impl Future<Output = Result<Page, StoreError>> + Send;
}

/// Adds authorized calls to a key's counter and sets its last-active time.
pub trait UsageRecorder: Send + Sync {
    fn record_usage(
        &self, prefix: &Prefix, calls: u64, at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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

/// One page of audit records, newest first.
pub type AuditPage = Page<AuditRecord>;

/// Reads the audit trail: a Query on an index a page, newest first.
pub trait AuditReader: Send + Sync {
    fn audit(
        &self, query: &AuditQuery,
    ) -> impl Future<Output = Result<AuditPage, StoreError>> + Send;
}

/// A lease of calls an authorizer instance took, and where the key stands after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Calls granted (at least one).
    pub granted: u64,
    /// Rate: calls of the window leased by everyone so far; quota: calls left after it.
    pub after: u64,
}

/// What a one-call charge that stands in for the read found.
#[derive(Debug, Clone, PartialEq)]
pub enum Charged {
    /// One call charged; the key as it is now.
    Yes(ApiKey),
    /// Nothing charged (the key did not allow it, or has no small quota any more); the key as
    /// it is (`None`: no such key).
    No(Option<ApiKey>),
}

/// The authorizer's charges for keys with limits: leases of calls taken with one conditional
/// write each (never a write per call), refills when due, and the one-call charge of a small
/// quota. None of them changes the key's version.
pub trait Limiter: Send + Sync {
    /// Up to `want` calls of the rate window starting at `window` (epoch seconds), never more than
    /// `limit` leased in the window by all instances; `seen` is the window as the key was read.
    /// `None`: the window is used up.
    fn lease_rate(
        &self, prefix: &Prefix, window: i64, want: u64, limit: u64, seen: crate::model::RateWindow,
    ) -> impl Future<Output = Result<Option<Lease>, StoreError>> + Send;

    /// Up to `want` calls of the quota (fewer if fewer are left); `None`: none left.
    fn lease_quota(
        &self, prefix: &Prefix, want: u64,
    ) -> impl Future<Output = Result<Option<Lease>, StoreError>> + Send;

    /// Gives calls of a lease back to the quota.
    fn return_quota(
        &self, prefix: &Prefix, calls: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Refills the quota to `amount` at `now`, unless someone refilled it since `last`; true
    /// when this call did.
    fn refill_quota(
        &self, prefix: &Prefix, amount: u64, last: Option<OffsetDateTime>, now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One call of a key with a quota and no rate limit, charged only if `hash` opens the key
    /// (its current secret, or the previous one in its grace period), it is Active and unexpired
    /// at `now`, and a call is left — the one conditional write standing in for the read.
    fn charge_one(
        &self, prefix: &Prefix, hash: &SecretHash, now: OffsetDateTime,
    ) -> impl Future<Output = Result<Charged, StoreError>> + Send;
}

/// Everything together, for code that needs the whole store.
pub trait Store: KeyReader + KeyWriter + KeyLister + UsageRecorder + AuditReader + Limiter {}
impl<T: KeyReader + KeyWriter + KeyLister + UsageRecorder + AuditReader + Limiter> Store for T {}

/// Either store, chosen at start-up (the dev server and tests pick at run time).
#[derive(Clone)]
pub enum AnyStore {
    Memory(MemoryStore),
    Dynamo(DynamoStore),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($s) => $call.await,
            AnyStore::Dynamo($s) => $call.await,
        }
    };
}

impl KeyReader for AnyStore {
    async fn get(&self, prefix: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        delegate!(self, s => s.get(prefix))
    }
    async fn get_pair(
        &self, first: &Prefix, second: &Prefix,
    ) -> Result<(Option<ApiKey>, Option<ApiKey>), StoreError> {
        delegate!(self, s => s.get_pair(first, second))
    }
}

impl KeyWriter for AnyStore {
    async fn create(&self, key: &ApiKey, audit: &AuditRecord) -> Result<(), StoreError> {
        delegate!(self, s => s.create(key, audit))
    }
    async fn update_with(
        &self, key: &ApiKey, expected_version: u64, audit: &AuditRecord, quota: QuotaWrite,
    ) -> Result<ApiKey, StoreError> {
        delegate!(self, s => s.update_with(key, expected_version, audit, quota))
    }
    async fn delete(
        &self, key: &ApiKey, expected_version: u64, at: OffsetDateTime, audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.delete(key, expected_version, at, audit))
    }
}

impl Limiter for AnyStore {
    async fn lease_rate(
        &self, prefix: &Prefix, window: i64, want: u64, limit: u64, seen: crate::model::RateWindow,
    ) -> Result<Option<Lease>, StoreError> {
        delegate!(self, s => s.lease_rate(prefix, window, want, limit, seen))
    }
    async fn lease_quota(&self, prefix: &Prefix, want: u64) -> Result<Option<Lease>, StoreError> {
        delegate!(self, s => s.lease_quota(prefix, want))
    }
    async fn return_quota(&self, prefix: &Prefix, calls: u64) -> Result<(), StoreError> {
        delegate!(self, s => s.return_quota(prefix, calls))
    }
    async fn refill_quota(
        &self, prefix: &Prefix, amount: u64, last: Option<OffsetDateTime>, now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.refill_quota(prefix, amount, last, now))
    }
    async fn charge_one(
        &self, prefix: &Prefix, hash: &SecretHash, now: OffsetDateTime,
    ) -> Result<Charged, StoreError> {
        delegate!(self, s => s.charge_one(prefix, hash, now))
    }
}

impl AuditReader for AnyStore {
    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        delegate!(self, s => s.audit(query))
    }
}

impl KeyLister for AnyStore {
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        delegate!(self, s => s.list(query))
    }
}

impl UsageRecorder for AnyStore {
    async fn record_usage(
        &self, prefix: &Prefix, calls: u64, at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.record_usage(prefix, calls, at))
    }
}
