//! Persistence: narrow traits for what the handlers need, a DynamoDB implementation and an
//! in-memory one with the same semantics. `tests/` runs one contract suite against both.

use std::future::Future;

use time::OffsetDateTime;

use crate::model::{ApiKey, AuditRecord, Quota};
use crate::token::{Prefix, SecretHash};

pub mod any;
pub mod cursor;
pub mod dynamo;
pub mod memory;
pub mod query;

pub use any::AnyStore;
pub use cursor::CursorCodec;
pub use dynamo::DynamoStore;
pub use memory::MemoryStore;
pub use query::*;

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
