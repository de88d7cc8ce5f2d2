//! Usage counting: `submittedJobs` and `lastActiveDateTime`, written at most once per minute
//! per key per instance, never on the decision's critical path.
//!
//! Every allowed call is counted in memory. The call that finds its key's last write a minute
//! old (or the key not yet written by this instance) takes the count and starts one conditional
//! `ADD` in a spawned task; so does any call that finds *other* keys with counts waiting for more
//! than a minute (a sweep, at most once a minute), so a key that goes quiet is still written on
//! the instance's next invocation. A failed or timed-out write puts its count back for the next
//! round. On Lambda a spawned task may be frozen with the instance once the response is sent,
//! so [`super::Authorizer::handle`] waits a short, bounded time for the writes it started.
//!
//! Trade-offs: calls still counted when an instance is recycled are lost (at most a minute's
//! worth per key per instance); a write that times out after DynamoDB applied it is counted
//! again (at-least-once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

use crate::error::chain;
use crate::store::{StoreError, UsageRecorder};
use crate::token::Prefix;

/// The least time between two usage writes of one key from one instance.
pub const USAGE_INTERVAL: Duration = Duration::seconds(60);
/// Each usage write gives up after this long (the client's own operation timeout is 2 s).
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// More writes than this in flight (a store in trouble) and new ones wait for the next round.
const MAX_IN_FLIGHT: usize = 64;

/// One pending conditional `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageWrite {
    pub prefix: Prefix,
    pub calls: u64,
    /// The time of the last call counted, written as `lastActiveDateTime`.
    pub at: OffsetDateTime,
}

#[derive(Debug)]
struct Counter {
    calls: u64,
    last_call: OffsetDateTime,
    last_write: Option<OffsetDateTime>,
}

impl Counter {
    fn due(&self, now: OffsetDateTime) -> bool {
        self.calls > 0 && self.last_write.is_none_or(|w| now - w >= USAGE_INTERVAL)
    }
    fn take(&mut self, prefix: &Prefix, now: OffsetDateTime) -> UsageWrite {
        let write = UsageWrite { prefix: prefix.clone(), calls: self.calls, at: self.last_call };
        self.calls = 0;
        self.last_write = Some(now);
        write
    }
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<Prefix, Counter>,
    last_sweep: Option<OffsetDateTime>,
}

/// The per-instance counters and the writes in flight.
#[derive(Debug)]
pub(crate) struct UsageTracker {
    state: Mutex<State>,
    in_flight: watch::Sender<usize>,
}

impl Default for UsageTracker {
    fn default() -> Self {
        UsageTracker { state: Mutex::default(), in_flight: watch::Sender::new(0) }
    }
}

/// Decrements the in-flight count when a write task ends, even by a panic.
struct InFlight(Arc<UsageTracker>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl UsageTracker {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the counters consistent, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one allowed call; returns the writes that are due now.
    pub fn note(&self, prefix: &Prefix, now: OffsetDateTime) -> Vec<UsageWrite> {
        let mut st = self.lock();
        let mut due = Vec::new();
        let counter = match st.keys.get_mut(prefix) {
            Some(c) => c,
            None => st.keys.entry(prefix.clone()).or_insert(Counter {
                calls: 0,
                last_call: now,
                last_write: None,
            }),
        };
        counter.calls += 1;
        counter.last_call = counter.last_call.max(now);
        if counter.due(now) {
            due.push(counter.take(prefix, now));
        }
        if st.last_sweep.is_none_or(|s| now - s >= USAGE_INTERVAL) {
            st.last_sweep = Some(now);
            // Quiet keys: write what waited a minute, forget what is written and old.
            st.keys.retain(|p, c| {
                if c.due(now) {
                    due.push(c.take(p, now));
                }
                c.calls > 0 || c.last_write.is_some_and(|w| now - w < USAGE_INTERVAL)
            });
        }
        due
    }

    /// Every pending count, due or not (shutdown, tests).
    pub fn take_all(&self, now: OffsetDateTime) -> Vec<UsageWrite> {
        let mut st = self.lock();
        st.keys.iter_mut().filter(|(_, c)| c.calls > 0).map(|(p, c)| c.take(p, now)).collect()
    }

    /// Puts back the count of a write that did not happen.
    fn restore(&self, write: UsageWrite) {
        let mut st = self.lock();
        let c = st.keys.entry(write.prefix).or_insert(Counter {
            calls: 0,
            last_call: write.at,
            last_write: None,
        });
        c.calls += write.calls;
        c.last_call = c.last_call.max(write.at);
    }

    /// Starts the writes in the background.
    pub fn spawn_writes<S>(self: &Arc<Self>, store: &Arc<S>, writes: Vec<UsageWrite>)
    where
        S: UsageRecorder + 'static,
    {
        for write in writes {
            if *self.in_flight.borrow() >= MAX_IN_FLIGHT {
                tracing::warn!(prefix = %write.prefix, "too many usage writes in flight; deferring");
                self.restore(write);
                continue;
            }
            self.in_flight.send_modify(|n| *n += 1);
            let guard = InFlight(Arc::clone(self));
            let store = Arc::clone(store);
            tokio::spawn(async move {
                let tracker = &guard.0;
                let result = tokio::time::timeout(
                    WRITE_TIMEOUT,
                    store.record_usage(&write.prefix, write.calls, write.at),
                )
                .await;
                match result {
                    Ok(Ok(())) => {
                        tracing::debug!(prefix = %write.prefix, calls = write.calls, "usage written")
                    }
                    Ok(Err(StoreError::NotFound)) => {
                        tracing::debug!(prefix = %write.prefix, "usage of a key that is gone dropped")
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(prefix = %write.prefix, calls = write.calls, error = %chain(&e), "usage write failed; will retry");
                        tracker.restore(write);
                    }
                    Err(_) => {
                        tracing::warn!(prefix = %write.prefix, calls = write.calls, "usage write timed out; will retry");
                        tracker.restore(write);
                    }
                }
                drop(guard);
            });
        }
    }

    /// Waits until no write is in flight, or `bound` passes; true when idle.
    pub async fn idle(&self, bound: std::time::Duration) -> bool {
        if *self.in_flight.borrow() == 0 {
            return true;
        }
        let mut rx = self.in_flight.subscribe();
        let idle =
            tokio::time::timeout(bound, async { rx.wait_for(|n| *n == 0).await.is_ok() }).await;
        idle.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn p(s: &str) -> Prefix {
        Prefix::parse(s).unwrap()
    }

    #[test]
    fn first_call_writes_then_once_a_minute() {
        let t = UsageTracker::default();
        let k = p("AAAAAAAAAAAA");
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let first = t.note(&k, t0);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].calls, 1);
        for i in 1..100 {
            assert!(t.note(&k, t0 + Duration::milliseconds(i * 500)).is_empty());
        }
        let later = t0 + Duration::seconds(61);
        let second = t.note(&k, later);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].calls, 100);
        assert_eq!(second[0].at, later);
    }

    #[test]
    fn a_quiet_key_is_written_by_another_keys_call() {
        let t = UsageTracker::default();
        let (a, b) = (p("AAAAAAAAAAAA"), p("BBBBBBBBBBBB"));
        let t0 = datetime!(2026-01-01 0:00 UTC);
        assert_eq!(t.note(&a, t0).len(), 1);
        assert!(t.note(&a, t0 + Duration::seconds(1)).is_empty());
        let writes = t.note(&b, t0 + Duration::seconds(70));
        let mut prefixes: Vec<_> = writes.iter().map(|w| (w.prefix.clone(), w.calls)).collect();
        prefixes.sort();
        assert_eq!(prefixes, [(a, 1), (b, 1)]);
    }

    #[test]
    fn failed_writes_are_restored_and_take_all_empties() {
        let t = UsageTracker::default();
        let k = p("AAAAAAAAAAAA");
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let w = t.note(&k, t0).pop().unwrap();
        t.note(&k, t0 + Duration::seconds(2));
        t.restore(w);
        let all = t.take_all(t0 + Duration::seconds(3));
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].calls, 2);
        assert_eq!(all[0].at, t0 + Duration::seconds(2));
        assert!(t.take_all(t0 + Duration::seconds(4)).is_empty());
    }
}
