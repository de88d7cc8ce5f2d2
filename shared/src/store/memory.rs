//! The in-memory store: the same semantics as the DynamoDB one (conditional writes, the
//! team-key sentinel, tombstone partitions, newest-first pages with the same cursors).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use super::{
    order_key, Conflict, CursorCodec, KeyLister, KeyReader, KeyWriter, ListQuery, Page, StoreError,
    UsageRecorder, MAX_PAGE,
};
use crate::model::{ApiKey, Ident, Status};
use crate::token::{KeyKind, Prefix};

#[derive(Default)]
struct State {
    keys: HashMap<Prefix, ApiKey>,
    /// (team, user) → the prefix of the user's live team key.
    sentinels: HashMap<(Ident, Ident), Prefix>,
}

#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    cursors: CursorCodec,
}

impl MemoryStore {
    pub fn new(cursors: CursorCodec) -> Self {
        MemoryStore {
            state: Arc::default(),
            cursors,
        }
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
        &self,
        first: &Prefix,
        second: &Prefix,
    ) -> Result<(Option<ApiKey>, Option<ApiKey>), StoreError> {
        let st = self.lock();
        Ok((st.keys.get(first).cloned(), st.keys.get(second).cloned()))
    }
}

impl KeyWriter for MemoryStore {
    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut st = self.lock();
        if st.keys.contains_key(&key.prefix) {
            return Err(StoreError::Conflict(Conflict::DuplicatePrefix));
        }
        if let Some(s) = sentinel_of(key) {
            if st.sentinels.contains_key(&s) {
                return Err(StoreError::Conflict(Conflict::TeamKeyExists));
            }
            st.sentinels.insert(s, key.prefix.clone());
        }
        st.keys.insert(key.prefix.clone(), key.clone());
        Ok(())
    }

    async fn update(&self, key: &ApiKey, expected_version: u64) -> Result<ApiKey, StoreError> {
        let mut st = self.lock();
        let stored = st.keys.get_mut(&key.prefix).ok_or(StoreError::NotFound)?;
        if stored.status == Status::Deleted {
            return Err(StoreError::NotFound);
        }
        if stored.version != expected_version {
            return Err(StoreError::Conflict(Conflict::VersionMismatch));
        }
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
        stored.version = expected_version + 1;
        Ok(stored.clone())
    }

    async fn delete(
        &self,
        key: &ApiKey,
        expected_version: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        let stored = st.keys.get_mut(&key.prefix).ok_or(StoreError::NotFound)?;
        if stored.status == Status::Deleted {
            return Err(StoreError::NotFound);
        }
        if stored.version != expected_version {
            return Err(StoreError::Conflict(Conflict::VersionMismatch));
        }
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

impl KeyLister for MemoryStore {
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let fingerprint = query.fingerprint();
        let after = query
            .cursor
            .as_deref()
            .map(|c| self.cursors.decode(&fingerprint, c))
            .transpose()?;
        let limit = query.limit.clamp(1, MAX_PAGE);
        let st = self.lock();
        // Newest first: descending order keys, strictly before the cursor's position.
        let in_order: BTreeMap<String, &ApiKey> = st
            .keys
            .values()
            .filter(|k| query.scope.covers(k) && query.matches(k))
            .map(|k| (order_key(k), k))
            .filter(|(position, _)| after.as_ref().is_none_or(|a| position < a))
            .collect();
        let mut items: Vec<ApiKey> = in_order
            .values()
            .rev()
            .take(limit + 1)
            .map(|k| (*k).clone())
            .collect();
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|k| self.cursors.encode(&fingerprint, &order_key(k)))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

impl UsageRecorder for MemoryStore {
    async fn record_usage(
        &self,
        prefix: &Prefix,
        calls: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        let k = st.keys.get_mut(prefix).ok_or(StoreError::NotFound)?;
        k.submitted_jobs += calls;
        k.last_active = Some(at);
        Ok(())
    }
}
