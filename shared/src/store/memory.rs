//! The in-memory store: the same semantics as the DynamoDB one (conditional writes, each with
//! its audit record or not at all, the team-key sentinel, tombstone partitions, newest-first
//! pages with the same cursors).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use super::{
    order_key, AuditPage, AuditQuery, AuditReader, Charged, Conflict, CursorCodec, KeyLister,
    KeyReader, KeyWriter, Lease, Limiter, ListQuery, Page, QuotaWrite, StoreError, UsageRecorder,
    MAX_PAGE,
};
use crate::model::{ApiKey, AuditRecord, Ident, Quota, RateWindow, Status};
use crate::token::{KeyKind, Prefix, SecretHash};

#[derive(Default)]
struct State {
    keys: HashMap<Prefix, ApiKey>,
    /// (team, user) → the prefix of the user's live team key.
    sentinels: HashMap<(Ident, Ident), Prefix>,
    /// The audit trail, by record id (ordered by time).
    audit: BTreeMap<String, AuditRecord>,
}

impl State {
    /// Checks that `audit` can be written (its id is new); every change checks it before it
    /// changes anything, so that a change and its record happen together or not at all.
    fn can_record(&self, audit: &AuditRecord) -> Result<(), StoreError> {
        if self.audit.contains_key(&audit.id) {
            return Err(StoreError::Conflict(Conflict::AuditRecordExists));
        }
        Ok(())
    }
    fn record(&mut self, audit: &AuditRecord) {
        self.audit.insert(audit.id.clone(), audit.clone());
    }
}

#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    cursors: CursorCodec,
}

impl MemoryStore {
    pub fn new(cursors: CursorCodec) -> Self {
        MemoryStore { state: Arc::default(), cursors }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written key (every write is one
        // insert), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every stored key, tombstones included (for tests that scan the store).
    pub fn dump(&self) -> Vec<ApiKey> {
        self.lock().keys.values().cloned().collect()
    }

    /// Every audit record, oldest first (for tests that scan the store).
    pub fn dump_audit(&self) -> Vec<AuditRecord> {
        self.lock().audit.values().cloned().collect()
    }
}

/// The "exists, not deleted, at this version" condition of every change.
fn live_at(stored: Option<&ApiKey>, expected_version: u64) -> Result<(), StoreError> {
    match stored {
        None => Err(StoreError::NotFound),
        Some(k) if k.status == Status::Deleted => Err(StoreError::NotFound),
        Some(k) if k.version != expected_version => {
            Err(StoreError::Conflict(Conflict::VersionMismatch))
        }
        Some(_) => Ok(()),
    }
}

fn sentinel_of(key: &ApiKey) -> Option<(Ident, Ident)> {
    match (key.kind, &key.user_id) {
        (KeyKind::Team, Some(u)) => Some((key.team_id.clone(), u.clone())),
        _ => None,
    }
}

impl KeyReader for MemoryStore {
    async fn get(&self, prefix: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.lock().keys.get(prefix).cloned())
    }
    async fn get_pair(
        &self, first: &Prefix, second: &Prefix,
    ) -> Result<(Option<ApiKey>, Option<ApiKey>), StoreError> {
        let st = self.lock();
        Ok((st.keys.get(first).cloned(), st.keys.get(second).cloned()))
    }
}

impl KeyWriter for MemoryStore {
    async fn create(&self, key: &ApiKey, audit: &AuditRecord) -> Result<(), StoreError> {
        let mut st = self.lock();
        if st.keys.contains_key(&key.prefix) {
            return Err(StoreError::Conflict(Conflict::DuplicatePrefix));
        }
        let sentinel = sentinel_of(key);
        if sentinel.as_ref().is_some_and(|s| st.sentinels.contains_key(s)) {
            return Err(StoreError::Conflict(Conflict::TeamKeyExists));
        }
        st.can_record(audit)?;
        if let Some(s) = sentinel {
            st.sentinels.insert(s, key.prefix.clone());
        }
        st.keys.insert(key.prefix.clone(), key.clone());
        st.record(audit);
        Ok(())
    }

    async fn update_with(
        &self, key: &ApiKey, expected_version: u64, audit: &AuditRecord, quota: QuotaWrite,
    ) -> Result<ApiKey, StoreError> {
        let mut st = self.lock();
        live_at(st.keys.get(&key.prefix), expected_version)?;
        st.can_record(audit)?;
        st.record(audit);
        let stored = st.keys.get_mut(&key.prefix).ok_or(StoreError::NotFound)?;
        // The mutable fields only: identity and usage counters stay as stored.
        stored.name = key.name.clone();
        stored.description = key.description.clone();
        stored.status = key.status;
        stored.roles = key.roles.clone();
        stored.labels = key.labels.clone();
        stored.is_high_priority = key.is_high_priority;
        stored.webhook_url = key.webhook_url.clone();
        stored.expires_at = key.expires_at;
        stored.updated_at = key.updated_at;
        stored.retrieved = key.retrieved;
        stored.preview = key.preview.clone();
        stored.secret_hash = key.secret_hash.clone();
        stored.previous = key.previous.clone();
        stored.generation = key.generation;
        stored.approved_by = key.approved_by.clone();
        stored.rate_limit = key.rate_limit;
        stored.quota = match (quota, key.quota, stored.quota) {
            (QuotaWrite::Remove, ..) | (_, None, _) => None,
            (QuotaWrite::Set(q), ..) => Some(q),
            (QuotaWrite::Keep, Some(k), Some(s)) => Some(Quota { refill: k.refill, ..s }),
            (QuotaWrite::TopUp(n), Some(k), Some(s)) => {
                Some(Quota { refill: k.refill, remaining: s.remaining + n, ..s })
            }
            (_, Some(k), None) => Some(k),
        };
        stored.version = expected_version + 1;
        Ok(ApiKey { version: expected_version + 1, ..key.clone() })
    }

    async fn delete(
        &self, key: &ApiKey, expected_version: u64, at: OffsetDateTime, audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        live_at(st.keys.get(&key.prefix), expected_version)?;
        st.can_record(audit)?;
        st.record(audit);
        let stored = st.keys.get_mut(&key.prefix).ok_or(StoreError::NotFound)?;
        stored.status = Status::Deleted;
        stored.deleted_at = Some(at);
        stored.updated_at = at;
        stored.version = expected_version + 1;
        let sentinel = sentinel_of(stored);
        if let Some(s) = sentinel {
            if st.sentinels.get(&s) == Some(&key.prefix) {
                st.sentinels.remove(&s);
            }
        }
        Ok(())
    }
}

impl MemoryStore {
    /// The first `limit` of `newest_first` (position, item), with a cursor at the last of them
    /// when more follow, as the DynamoDB store pages a Query.
    fn page<T>(
        &self, fingerprint: &str, newest_first: impl Iterator<Item = (String, T)>, limit: usize,
    ) -> Page<T> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut items: Vec<(String, T)> = newest_first.take(limit + 1).collect();
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = more
            .then(|| items.last().map(|(at, _)| self.cursors.encode(fingerprint, at)))
            .flatten();
        Page { items: items.into_iter().map(|(_, item)| item).collect(), next_cursor }
    }
}

impl KeyLister for MemoryStore {
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let fingerprint = query.fingerprint();
        let after = self.cursors.position(&fingerprint, query.cursor.as_deref())?;
        let st = self.lock();
        // Newest first: descending order keys, strictly before the cursor's position.
        let in_order: BTreeMap<String, &ApiKey> = st
            .keys
            .values()
            .filter(|k| query.scope.covers(k) && query.matches(k))
            .map(|k| (order_key(k), k))
            .filter(|(position, _)| after.as_ref().is_none_or(|a| position < a))
            .collect();
        let newest_first = in_order.into_iter().rev().map(|(at, k)| (at, k.clone()));
        Ok(self.page(&fingerprint, newest_first, query.limit))
    }
}

impl AuditReader for MemoryStore {
    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let fingerprint = query.fingerprint();
        let after = self.cursors.position(&fingerprint, query.cursor.as_deref())?;
        let st = self.lock();
        let newest_first = st
            .audit
            .values()
            .rev()
            .filter(|r| after.as_ref().is_none_or(|a| &r.id < a) && query.matches(r))
            .map(|r| (r.id.clone(), r.clone()));
        Ok(self.page(&fingerprint, newest_first, query.limit))
    }
}

impl Limiter for MemoryStore {
    async fn lease_rate(
        &self, prefix: &Prefix, window: i64, want: u64, limit: u64, _seen: RateWindow,
    ) -> Result<Option<Lease>, StoreError> {
        let mut st = self.lock();
        let k = st.keys.get_mut(prefix).ok_or(StoreError::NotFound)?;
        let w = &mut k.rate_window;
        if w.start > window {
            return Ok(None);
        }
        if w.start < window {
            *w = RateWindow { start: window, used: 0 };
        }
        let granted = want.min(limit.saturating_sub(w.used));
        if granted == 0 {
            return Ok(None);
        }
        w.used += granted;
        Ok(Some(Lease { granted, after: w.used }))
    }

    async fn lease_quota(&self, prefix: &Prefix, want: u64) -> Result<Option<Lease>, StoreError> {
        let mut st = self.lock();
        let k = st.keys.get_mut(prefix).ok_or(StoreError::NotFound)?;
        let Some(q) = k.quota.as_mut() else {
            return Ok(None);
        };
        let granted = want.min(q.remaining);
        if granted == 0 {
            return Ok(None);
        }
        q.remaining -= granted;
        Ok(Some(Lease { granted, after: q.remaining }))
    }

    async fn return_quota(&self, prefix: &Prefix, calls: u64) -> Result<(), StoreError> {
        let mut st = self.lock();
        if let Some(q) = st.keys.get_mut(prefix).and_then(|k| k.quota.as_mut()) {
            q.remaining += calls;
        }
        Ok(())
    }

    async fn refill_quota(
        &self, prefix: &Prefix, amount: u64, last: Option<OffsetDateTime>, now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut st = self.lock();
        match st.keys.get_mut(prefix).and_then(|k| k.quota.as_mut()) {
            Some(q) if q.refilled_at == last => {
                q.remaining = amount;
                q.refilled_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn charge_one(
        &self, prefix: &Prefix, hash: &SecretHash, now: OffsetDateTime,
    ) -> Result<Charged, StoreError> {
        let mut st = self.lock();
        let Some(k) = st.keys.get_mut(prefix) else {
            return Ok(Charged::No(None));
        };
        let opens = k.secret_hash.ct_eq(hash)
            || k.previous.as_ref().is_some_and(|p| p.hash.ct_eq(hash) && now < p.valid_until);
        let charge = opens
            && k.status == Status::Active
            && !k.is_expired(now)
            && k.rate_limit.is_none()
            && k.quota.is_some_and(|q| q.remaining >= 1);
        if !charge {
            return Ok(Charged::No(Some(k.clone())));
        }
        if let Some(q) = k.quota.as_mut() {
            q.remaining -= 1;
        }
        Ok(Charged::Yes(k.clone()))
    }
}

impl UsageRecorder for MemoryStore {
    async fn record_usage(
        &self, prefix: &Prefix, calls: u64, at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        let k = st.keys.get_mut(prefix).ok_or(StoreError::NotFound)?;
        k.submitted_jobs += calls;
        k.last_active = Some(at);
        Ok(())
    }
}
