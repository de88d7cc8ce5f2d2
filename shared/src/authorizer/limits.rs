//! Rate limits and quotas, enforced without a write per call.
//!
//! A key with limits still gets its one consistent read per call (revocation stays immediate).
//! Its calls are then charged from **leases**: a batch of calls this instance reserves from the
//! key with one conditional write and spends locally, so writes per key grow with instances and
//! leases, not with calls.
//!
//! - **Rate limit** (`limit` per fixed window of `periodSeconds`): a lease is a share of the
//!   current window, at most about one second of the limit's rate (and at first, one call). All
//!   instances' leases of a window add up to at most `limit`: a fixed window never admits more
//!   than its limit. Calls leased by an instance that goes quiet are stranded (not spent, not
//!   given to others) until the window ends.
//! - **Quota** (`remaining`, refilled to `amount` each day or month): a lease takes calls off
//!   the count. A small quota (under [`SMALL_QUOTA`] calls) is leased one call at a time — exact —
//!   and, once this instance knows the key has one, each call is one conditional write that also
//!   stands in for the read ([`crate::store::Limiter::charge_one`]). A larger quota's leases
//!   last at most [`LEASE_LIFE`]; calls left in an expired lease are given back to the count (one
//!   write), and at shutdown.
//! - **Refill**: lazily, by the first call that finds it due (one extra write at most).
//!
//! `docs/LIMITS.md` states the accuracy bounds.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use time::{Duration, OffsetDateTime};

use crate::model::ApiKey;
use crate::store::{Limiter, StoreError};
use crate::token::Prefix;

/// A quota under this many calls is charged one call at a time.
pub const SMALL_QUOTA: u64 = 1_000;
/// How long calls of a quota lease may be spent; what is left is given back.
pub const LEASE_LIFE: Duration = Duration::seconds(1);
/// The largest quota lease, whatever the rate.
const MAX_QUOTA_LEASE: u64 = 1_000;

/// Why a call with limits is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    RateLimit,
    Quota,
}

impl Limited {
    pub fn as_str(self) -> &'static str {
        match self {
            Limited::RateLimit => "rate limit reached",
            Limited::Quota => "quota exhausted",
        }
    }
}

/// What a charged call may tell the protected API: calls left (about: other instances spend
/// their leases meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Remaining {
    pub rate: Option<u64>,
    pub quota: Option<u64>,
}

#[derive(Debug, Default)]
struct Local {
    /// A lease of the rate window starting at `.0`: calls left to spend.
    rate: Option<(i64, u64)>,
    /// Calls left of a quota lease, and when it was taken.
    quota: Option<(u64, OffsetDateTime)>,
    /// What the store said was left (rate: of the window; quota: of the count) at the last lease.
    rate_left: u64,
    quota_left: u64,
    /// Calls of this key in the current second here, and in the second before: the size of the
    /// next lease.
    second: i64,
    this_second: u64,
    last_second: u64,
    /// The key has a small quota and no rate limit: charge each call in place of the read.
    exact: bool,
}

/// Whether a quota's calls are charged one at a time, each charge standing in for the read. An
/// exhausted quota is not: its refusals cost a read each, never a (failed, yet billed) write.
fn is_small(remaining: u64) -> bool {
    (1..SMALL_QUOTA).contains(&remaining)
}

impl Local {
    fn note_call(&mut self, now: OffsetDateTime) {
        let s = now.unix_timestamp();
        if s != self.second {
            self.last_second = if s == self.second + 1 { self.this_second } else { 0 };
            self.second = s;
            self.this_second = 0;
        }
        self.this_second += 1;
    }
    /// About one second of this key's calls here.
    fn rate_hint(&self) -> u64 {
        self.last_second.max(self.this_second).max(1)
    }
}

/// This instance's leases, by key.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    keys: Mutex<HashMap<Prefix, Local>>,
}

impl Limits {
    fn lock(&self) -> MutexGuard<'_, HashMap<Prefix, Local>> {
        // Each critical section leaves the map consistent.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether calls of `prefix` are charged in place of the read (a small quota).
    pub fn exact(&self, prefix: &Prefix) -> bool {
        self.lock().get(prefix).is_some_and(|l| l.exact)
    }

    /// Forgets that `prefix` has a small quota (it has not any more).
    pub fn not_exact(&self, prefix: &Prefix) {
        if let Some(l) = self.lock().get_mut(prefix) {
            l.exact = false;
        }
    }

    /// Notes a call charged in place of the read; what is left of the quota.
    pub fn charged_one(&self, key: &ApiKey, now: OffsetDateTime) -> Remaining {
        let mut keys = self.lock();
        let l = keys.entry(key.prefix.clone()).or_default();
        l.note_call(now);
        let left = key.quota.map_or(0, |q| q.remaining);
        l.quota_left = left;
        l.exact = key.rate_limit.is_none() && is_small(left);
        Remaining { rate: None, quota: Some(left) }
    }

    /// Charges one call of `key` (read at `now`): from this instance's leases, or a new lease.
    pub async fn charge<S: Limiter>(
        &self, store: &S, key: &ApiKey, now: OffsetDateTime,
    ) -> Result<Result<Remaining, Limited>, StoreError> {
        let (rate_want, quota_want, expired) = {
            let mut keys = self.lock();
            let l = keys.entry(key.prefix.clone()).or_default();
            l.note_call(now);
            let hint = l.rate_hint();
            let rate_want = match key.rate_limit {
                Some(r) => match l.rate {
                    Some((w, n)) if w == r.window(now) && n > 0 => 0,
                    _ => hint.min(r.per_second()).min(r.limit),
                },
                None => 0,
            };
            let mut expired = 0;
            let quota_want = match key.quota {
                Some(q) => match l.quota {
                    Some((n, at)) if n > 0 && now - at < LEASE_LIFE => 0,
                    lease => {
                        expired = lease.map_or(0, |(n, _)| n);
                        l.quota = None;
                        if q.remaining < SMALL_QUOTA {
                            1
                        } else {
                            hint.min(MAX_QUOTA_LEASE)
                        }
                    }
                },
                None => 0,
            };
            l.exact = key.rate_limit.is_none() && key.quota.is_some_and(|q| is_small(q.remaining));
            (rate_want, quota_want, expired)
        };
        if expired > 0 {
            store.return_quota(&key.prefix, expired).await?;
        }
        // The rate first: a call the rate refuses takes nothing of the quota.
        if let Some(r) = key.rate_limit {
            let window = r.window(now);
            if rate_want > 0 {
                match store
                    .lease_rate(&key.prefix, window, rate_want, r.limit, key.rate_window)
                    .await?
                {
                    None => return Ok(Err(Limited::RateLimit)),
                    Some(lease) => {
                        // (calls of this instance that leased meanwhile add to the same lease)
                        let mut keys = self.lock();
                        let l = keys.entry(key.prefix.clone()).or_default();
                        let held = match l.rate {
                            Some((w, n)) if w == window => n,
                            _ => 0,
                        };
                        l.rate = Some((window, held + lease.granted));
                        l.rate_left = r.limit.saturating_sub(lease.after);
                    }
                }
            }
        }
        if let Some(q) = key.quota {
            let mut left = q.remaining;
            if let Some(refill) = q.refill_due(now) {
                store.refill_quota(&key.prefix, refill.amount, q.refilled_at, now).await?;
                left = refill.amount;
            }
            if quota_want > 0 {
                if left == 0 {
                    return Ok(Err(Limited::Quota));
                }
                match store.lease_quota(&key.prefix, quota_want).await? {
                    None => return Ok(Err(Limited::Quota)),
                    Some(lease) => {
                        let mut keys = self.lock();
                        let l = keys.entry(key.prefix.clone()).or_default();
                        let held = l.quota.map_or(0, |(n, _)| n);
                        l.quota = Some((held + lease.granted, now));
                        l.quota_left = lease.after;
                    }
                }
            }
        }
        // Spend one call of each lease.
        let mut keys = self.lock();
        let l = keys.entry(key.prefix.clone()).or_default();
        let mut remaining = Remaining::default();
        if key.rate_limit.is_some() {
            if let Some((_, n)) = l.rate.as_mut() {
                *n = n.saturating_sub(1);
                remaining.rate = Some(l.rate_left + *n);
            }
        }
        if key.quota.is_some() {
            if let Some((n, _)) = l.quota.as_mut() {
                *n = n.saturating_sub(1);
                remaining.quota = Some(l.quota_left + *n);
            }
        }
        Ok(Ok(remaining))
    }

    /// Takes every quota lease's unspent calls, to give them back (shutdown).
    pub fn unspent(&self) -> Vec<(Prefix, u64)> {
        let mut keys = self.lock();
        keys.iter_mut()
            .filter_map(|(p, l)| match l.quota.take() {
                Some((n, _)) if n > 0 => Some((p.clone(), n)),
                _ => None,
            })
            .collect()
    }
}
