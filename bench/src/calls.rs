//! The authorizer's DynamoDB requests per call, and its usage writes per key per minute under a
//! steady load (simulated minutes: a `FixedClock` the bench moves).

use std::sync::Arc;
use std::time::Duration;

use shared::authorizer::{Authorizer, Decision};
use shared::clock::{FixedClock, SystemClock};
use shared::store::{DynamoStore, KeyReader, KeyWriter};
use shared::testing::sample_key_with_token;
use shared::token::{KeyKind, Token};
use time::macros::datetime;

use crate::events::authorizer_event;
use integration_tests::requests::{CallCounter, Counts};

pub struct AuthCalls {
    pub name: &'static str,
    pub calls: usize,
    /// Requests of every call, when they all agree; else the first differing pattern.
    pub per_call: Counts,
    pub uniform: bool,
}

/// Lets spawned usage writes reach the wire before counting.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(30)).await;
}

pub async fn authorize_calls(
    store: DynamoStore, counter: &CallCounter, n: usize,
) -> Vec<AuthCalls> {
    let (key, token) = sample_key_with_token(KeyKind::Project);
    store.create(&key, &shared::testing::audit_of(&key)).await.expect("storing the key");
    let unknown = Token::generate(KeyKind::Project);
    let wrong_secret = Token::generate_for(KeyKind::Project, key.prefix.clone());
    let auth = Authorizer::new(store, Arc::new(SystemClock), Duration::ZERO);

    let mut out = Vec::new();
    let cases: [(&'static str, Option<String>, usize); 6] = [
        ("authorize, a key's first call (usage write due)", Some(token.expose().to_owned()), 1),
        ("authorize, steady state (same minute)", Some(token.expose().to_owned()), n),
        ("malformed key (format/checksum)", Some("sk-project-0123456789ab_nope".to_owned()), n),
        ("no key", None, n),
        ("unknown prefix (well-formed)", Some(unknown.expose().to_owned()), n),
        ("wrong secret", Some(wrong_secret.expose().to_owned()), n),
    ];
    for (name, presented, calls) in cases {
        let event = match &presented {
            Some(t) => authorizer_event(t),
            None => {
                let mut e = authorizer_event("x");
                e["headers"].as_object_mut().unwrap().remove("authorization");
                e["identitySource"] = serde_json::json!([]);
                e
            }
        };
        let mut per_call: Option<Counts> = None;
        let mut uniform = true;
        for _ in 0..calls {
            counter.reset();
            // The Lambda entry point: it waits (bounded) for a usage write it started.
            auth.handle(event.clone()).await.expect("an answer");
            settle().await;
            let c = counter.take();
            match &per_call {
                None => per_call = Some(c),
                Some(first) if *first != c => uniform = false,
                Some(_) => {}
            }
        }
        out.push(AuthCalls { name, calls, per_call: per_call.unwrap_or_default(), uniform });
    }
    auth.flush().await;
    out
}

pub struct UsageLoad {
    pub keys: usize,
    pub minutes: usize,
    pub calls_per_key_per_second: usize,
    pub calls: u64,
    /// The most usage writes (UpdateItem) any key got in any simulated minute.
    pub max_writes_per_key_minute: u64,
    pub total_writes: u64,
    pub reads: u64,
    /// Calls recorded in `submittedJobs` after the final flush (should equal `calls`).
    pub recorded: u64,
}

pub async fn usage_load(
    store: DynamoStore, counter: &CallCounter, keys: usize, minutes: usize, rate: usize,
) -> UsageLoad {
    let clock = FixedClock::new(datetime!(2026-03-01 12:00 UTC));
    let mut tokens = Vec::new();
    for _ in 0..keys {
        let (k, t) = sample_key_with_token(KeyKind::Project);
        store.create(&k, &shared::testing::audit_of(&k)).await.expect("storing a key");
        tokens.push((k.prefix, t));
    }
    let auth = Authorizer::new(store.clone(), Arc::new(clock.clone()), Duration::ZERO);
    counter.reset();
    let step = time::Duration::milliseconds(1000 / rate as i64);
    let (mut calls, mut max, mut total, mut reads) = (0u64, 0u64, 0u64, 0u64);
    for _minute in 0..minutes {
        for _ in 0..60 * rate {
            for (_, t) in &tokens {
                let d = auth.decide(Some(t.expose())).await.expect("a decision");
                assert!(matches!(d, Decision::Allow(_)));
                calls += 1;
            }
            clock.advance(step);
        }
        settle().await;
        let c = counter.take();
        max = max.max(c.updates_by_item.values().copied().max().unwrap_or(0));
        total += c.get("UpdateItem");
        reads += c.get("GetItem");
    }
    auth.flush().await;
    counter.reset();
    let mut recorded = 0;
    for (p, _) in &tokens {
        let k = store.get(p).await.expect("reading back").expect("the key");
        recorded += k.submitted_jobs;
    }
    UsageLoad {
        keys,
        minutes,
        calls_per_key_per_second: rate,
        calls,
        max_writes_per_key_minute: max,
        total_writes: total,
        reads,
        recorded,
    }
}
