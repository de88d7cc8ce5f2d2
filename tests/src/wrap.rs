//! One wrapper store for every fault, race and counting test: [`Wrapped`] passes each call to
//! its inner store, asking its [`Hooks`] first (which may fail the call, change the store
//! under it, or hold it) and after.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use shared::model::{AuditRecord, RateWindow};
use shared::store::{
    AuditPage, AuditQuery, AuditReader, Charged, KeyLister, KeyReader, KeyWriter, Lease, Limiter,
    ListQuery, Page, QuotaWrite, Store, StoreError, UsageRecorder,
};
use shared::token::{Prefix, SecretHash};
use shared::ApiKey;
use time::OffsetDateTime;

/// Which store call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    Get,
    GetPair,
    Create,
    Update,
    Delete,
    List,
    RecordUsage,
    Audit,
    /// A lease, refill, give-back or one-call charge of a key with limits.
    Charge,
}

/// A store call about to happen (or just done): its kind and the key it is about, if one.
#[derive(Debug, Clone, Copy)]
pub struct Op<'a> {
    pub kind: OpKind,
    pub prefix: Option<&'a Prefix>,
}

/// What a test does around the calls. Every method has a default that does nothing.
pub trait Hooks<S: Store>: Send + Sync {
    /// Before the call: an error fails it without reaching the inner store.
    fn before<'a>(
        &'a self, inner: &'a S, op: Op<'a>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a {
        let _ = (inner, op);
        async { Ok(()) }
    }
    /// After the inner store answered (the answer is returned after this).
    fn after<'a>(&'a self, inner: &'a S, op: Op<'a>) -> impl Future<Output = ()> + Send + 'a {
        let _ = (inner, op);
        async {}
    }
}

/// A store with hooks around every call.
#[derive(Clone)]
pub struct Wrapped<S, H> {
    pub inner: S,
    pub hooks: Arc<H>,
}

impl<S: Store, H: Hooks<S>> Wrapped<S, H> {
    pub fn new(inner: S, hooks: H) -> Self {
        Wrapped { inner, hooks: Arc::new(hooks) }
    }

    async fn around<T>(
        &self, kind: OpKind, prefix: Option<&Prefix>,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let op = Op { kind, prefix };
        self.hooks.before(&self.inner, op).await?;
        let out = call.await;
        self.hooks.after(&self.inner, op).await;
        out
    }
}

impl<S: Store, H: Hooks<S>> KeyReader for Wrapped<S, H> {
    async fn get(&self, prefix: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        self.around(OpKind::Get, Some(prefix), self.inner.get(prefix)).await
    }
    /// Announced to the hooks as the read of `second` (the key a request acts on).
    async fn get_pair(
        &self, first: &Prefix, second: &Prefix,
    ) -> Result<(Option<ApiKey>, Option<ApiKey>), StoreError> {
        self.around(OpKind::GetPair, Some(second), self.inner.get_pair(first, second)).await
    }
}

impl<S: Store, H: Hooks<S>> KeyWriter for Wrapped<S, H> {
    async fn create(&self, key: &ApiKey, audit: &AuditRecord) -> Result<(), StoreError> {
        self.around(OpKind::Create, Some(&key.prefix), self.inner.create(key, audit)).await
    }
    async fn update_with(
        &self, key: &ApiKey, expected_version: u64, audit: &AuditRecord, quota: QuotaWrite,
    ) -> Result<ApiKey, StoreError> {
        self.around(
            OpKind::Update,
            Some(&key.prefix),
            self.inner.update_with(key, expected_version, audit, quota),
        )
        .await
    }
    async fn delete(
        &self, key: &ApiKey, expected_version: u64, at: OffsetDateTime, audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.around(
            OpKind::Delete,
            Some(&key.prefix),
            self.inner.delete(key, expected_version, at, audit),
        )
        .await
    }
}

impl<S: Store, H: Hooks<S>> Limiter for Wrapped<S, H> {
    async fn lease_rate(
        &self, prefix: &Prefix, window: i64, want: u64, limit: u64, seen: RateWindow,
    ) -> Result<Option<Lease>, StoreError> {
        let call = self.inner.lease_rate(prefix, window, want, limit, seen);
        self.around(OpKind::Charge, Some(prefix), call).await
    }
    async fn lease_quota(&self, prefix: &Prefix, want: u64) -> Result<Option<Lease>, StoreError> {
        self.around(OpKind::Charge, Some(prefix), self.inner.lease_quota(prefix, want)).await
    }
    async fn return_quota(&self, prefix: &Prefix, calls: u64) -> Result<(), StoreError> {
        self.around(OpKind::Charge, Some(prefix), self.inner.return_quota(prefix, calls)).await
    }
    async fn refill_quota(
        &self, prefix: &Prefix, amount: u64, last: Option<OffsetDateTime>, now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let call = self.inner.refill_quota(prefix, amount, last, now);
        self.around(OpKind::Charge, Some(prefix), call).await
    }
    async fn charge_one(
        &self, prefix: &Prefix, hash: &SecretHash, now: OffsetDateTime,
    ) -> Result<Charged, StoreError> {
        self.around(OpKind::Charge, Some(prefix), self.inner.charge_one(prefix, hash, now)).await
    }
}

impl<S: Store, H: Hooks<S>> AuditReader for Wrapped<S, H> {
    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        self.around(OpKind::Audit, None, self.inner.audit(query)).await
    }
}

impl<S: Store, H: Hooks<S>> KeyLister for Wrapped<S, H> {
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.around(OpKind::List, None, self.inner.list(query)).await
    }
}

impl<S: Store, H: Hooks<S>> UsageRecorder for Wrapped<S, H> {
    async fn record_usage(
        &self, prefix: &Prefix, calls: u64, at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.around(OpKind::RecordUsage, Some(prefix), self.inner.record_usage(prefix, calls, at))
            .await
    }
}

// ---- the hooks the tests use ----------------------------------------------------------------

/// Counts the calls of each kind.
#[derive(Debug, Default)]
pub struct Count(Mutex<HashMap<OpKind, usize>>);

impl Count {
    pub fn of(&self, kind: OpKind) -> usize {
        self.0.lock().unwrap().get(&kind).copied().unwrap_or(0)
    }
}

impl<S: Store> Hooks<S> for Count {
    fn before<'a>(
        &'a self, _: &'a S, op: Op<'a>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a {
        *self.0.lock().unwrap().entry(op.kind).or_default() += 1;
        async { Ok(()) }
    }
}

/// Fails every call: a store that is down (503) or holds an item it cannot read (500).
#[derive(Debug, Clone, Copy)]
pub enum Fail {
    Down,
    Corrupt,
}

impl Fail {
    pub fn error(self) -> StoreError {
        match self {
            Fail::Down => StoreError::Unavailable(Box::new(std::io::Error::other(
                "connection refused: dynamodb.internal.example:443 INTERNAL-DETAIL",
            ))),
            Fail::Corrupt => StoreError::Corrupt("attribute status: INTERNAL-DETAIL".into()),
        }
    }
}

impl<S: Store> Hooks<S> for Fail {
    fn before<'a>(
        &'a self, _: &'a S, _: Op<'a>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a {
        let e = self.error();
        async move { Err(e) }
    }
}

/// A store that is down, whatever is asked of it.
pub fn failing(how: Fail) -> Wrapped<shared::store::MemoryStore, Fail> {
    Wrapped::new(crate::memory_store(), how)
}

/// Another writer changes the key between a handler's read and its write: armed, the next
/// update or delete first bumps the stored key's version.
#[derive(Debug, Default)]
pub struct Race {
    pub armed: AtomicBool,
}

impl Race {
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

impl<S: Store> Hooks<S> for Race {
    async fn before(&self, inner: &S, op: Op<'_>) -> Result<(), StoreError> {
        let write = matches!(op.kind, OpKind::Update | OpKind::Delete);
        if write && self.armed.swap(false, Ordering::SeqCst) {
            let prefix = op.prefix.expect("a write names its key");
            let current = inner.get(prefix).await?.expect("the raced key exists");
            let record = shared::testing::audit_of(&current);
            inner.update(&current, current.version, &record).await?;
        }
        Ok(())
    }
}

/// Writers interleave: every call first yields to the other tasks (so they interleave on one
/// thread, and with the in-memory store, which never waits); armed for n readers, every read is
/// held until n reads are done, so all writers have read the same version before any writes.
#[derive(Debug, Default)]
pub struct Interleave {
    gate: Mutex<Option<(usize, tokio::sync::watch::Sender<usize>)>>,
}

impl Interleave {
    pub fn arm(&self, readers: usize) {
        *self.gate.lock().unwrap() = Some((readers, tokio::sync::watch::Sender::new(0)));
    }
    pub fn disarm(&self) {
        *self.gate.lock().unwrap() = None;
    }
}

/// How long a held reader waits for the others before the test fails.
const GATE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

impl<S: Store> Hooks<S> for Interleave {
    async fn before(&self, _: &S, op: Op<'_>) -> Result<(), StoreError> {
        if op.kind != OpKind::RecordUsage {
            tokio::task::yield_now().await;
        }
        Ok(())
    }
    async fn after(&self, _: &S, op: Op<'_>) {
        if !matches!(op.kind, OpKind::Get | OpKind::GetPair) {
            return;
        }
        let gate = self.gate.lock().unwrap().as_ref().map(|(n, tx)| {
            tx.send_modify(|reads| *reads += 1);
            (*n, tx.subscribe())
        });
        if let Some((n, mut rx)) = gate {
            let waited =
                tokio::time::timeout(GATE_DEADLINE, rx.wait_for(|reads| *reads >= n)).await;
            assert!(waited.is_ok(), "the race gate waited {GATE_DEADLINE:?} for {n} readers");
        }
    }
}
