//! Either store behind one type, for binaries that choose at start-up.

use time::OffsetDateTime;

use super::{
    AuditPage, AuditQuery, AuditReader, Charged, DynamoStore, KeyLister, KeyReader, KeyWriter,
    Lease, Limiter, ListQuery, MemoryStore, Page, QuotaWrite, StoreError, UsageRecorder,
};
use crate::model::{ApiKey, AuditRecord};
use crate::token::{Prefix, SecretHash};

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
