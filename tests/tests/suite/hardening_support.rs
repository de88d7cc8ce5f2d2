//! What the hardening tests (issue 8) share: the figures the closing note asks for,
//! counted per test and printed (stderr, and appended to `target/tmp/hardening-figures.txt`
//! so a run's figures can be collected without `--nocapture`), and a scan of a whole DynamoDB
//! table.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::store::{DynamoStore, Store, StoreError};
use shared::ApiKey;

use crate::api_support::Answer;

/// The closing note's figures for one test. Every counter starts at zero; a test counts what
/// it measures and asserts on the ones that must stay zero.
#[derive(Debug, Default)]
pub struct Figures {
    pub requests: AtomicUsize,
    pub server_errors: AtomicUsize,
    pub allows_during_faults: AtomicUsize,
    pub lost_updates: AtomicUsize,
    pub secret_hits: AtomicUsize,
    pub cross_team_hits: AtomicUsize,
}

impl Figures {
    /// Counts one answer of a handler: a request, and a 5xx if it was one.
    pub fn answer(&self, a: &Answer) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if a.status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn add(counter: &AtomicUsize, n: usize) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::Relaxed)
    }

    /// One line per test: `hardening <test>: requests N, 5xx N, ...` plus what else it measured.
    pub fn report(&self, test: &str, extra: &str) {
        let line = format!(
            "hardening {test}: requests {}, 5xx {}, allows during faults {}, lost updates {}, \
             secret hits {}, cross-team hits {}{}{extra}",
            Self::get(&self.requests),
            Self::get(&self.server_errors),
            Self::get(&self.allows_during_faults),
            Self::get(&self.lost_updates),
            Self::get(&self.secret_hits),
            Self::get(&self.cross_team_hits),
            if extra.is_empty() { "" } else { "; " },
        );
        eprintln!("{line}");
        let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hardening-figures.txt");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
        {
            let _ = writeln!(f, "{} {line}", time::OffsetDateTime::now_utc());
        }
    }
}

/// Writes a seeded key, retrying while the store is unavailable: the first writes to a
/// DynamoDB Local that has just started, with both cores busy, can exceed the functions' 900 ms
/// attempt timeout. A retry that finds the key already there (the timed-out attempt landed)
/// is fine when what is stored is the key.
pub async fn seed<S: Store>(store: &S, key: &ApiKey) {
    for attempt in 0..5 {
        match store.create(key).await {
            Ok(()) => return,
            Err(StoreError::Unavailable(_)) if attempt < 4 => continue,
            Err(StoreError::Conflict(_)) if attempt > 0 => {
                let stored = store.get(&key.prefix).await.expect("reading a seeded key");
                assert_eq!(
                    stored.as_ref(),
                    Some(key),
                    "a different key under {}",
                    key.prefix
                );
                return;
            }
            Err(e) => panic!("seeding {}: {}", key.prefix, shared::error::chain(&e)),
        }
    }
}

/// Every item of the store's table, by a paginated Scan (tests only: the service never scans).
pub async fn scan_table(store: &DynamoStore) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scanning {}: {}", store.table(), shared::error::chain(&e)));
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return items,
        }
    }
}

/// A string attribute of an item.
pub fn attr<'i>(item: &'i HashMap<String, AttributeValue>, name: &str) -> Option<&'i str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    }
}
