//! Keys with limits: the authorizer's latency for a limited key against a bare GetItem (leases
//! amortised), a small quota's read-free charge against a bare conditional UpdateItem, and a
//! simulated fleet — many authorizer instances on one simulated clock, every DynamoDB request
//! real and counted — for what one hot key asks of its item each second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde_json::Value;
use shared::authorizer::{Authorizer, Decision};
use shared::clock::{FixedClock, SystemClock};
use shared::model::{ApiKey, Quota, RateLimit};
use shared::store::dynamo::item::{number, QUOTA_REMAINING};
use shared::store::dynamo::layout::key_pk;
use shared::store::{DynamoStore, KeyWriter};
use shared::testing::sample_key_with_token;
use shared::token::{KeyKind, Token};
use time::macros::datetime;

use crate::capacity::Capacity;
use crate::events::authorizer_event;
use crate::stats::Samples;
use integration_tests::requests::CallCounter;

async fn stored(store: &DynamoStore, edit: impl FnOnce(&mut ApiKey)) -> (ApiKey, Token) {
    let (mut key, token) = sample_key_with_token(KeyKind::Project);
    edit(&mut key);
    store.create(&key, &shared::testing::audit_of(&key)).await.expect("storing a bench key");
    (key, token)
}

fn quota(remaining: u64) -> Option<Quota> {
    Some(Quota { remaining, refill: None, refilled_at: None })
}

pub struct LimitedHot {
    pub iterations: usize,
    pub bare_get: Samples,
    pub unlimited: Samples,
    /// A rate limit and a large quota: the read, and the leases' writes amortised.
    pub limited: Samples,
    /// Lease writes the limited series made, in all.
    pub limited_writes: u64,
    pub bare_update: Samples,
    /// A small quota: one conditional write that stands in for the read.
    pub small_quota: Samples,
}

/// Interleaved series, in rotating order, as the unlimited hot path is measured.
pub async fn hot(
    store: &DynamoStore, counted: &DynamoStore, counter: &CallCounter, iterations: usize,
    warmup: usize,
) -> LimitedHot {
    let (plain, plain_token) = stored(store, |_| {}).await;
    let (_, limited_token) = stored(counted, |k| {
        k.rate_limit = Some(RateLimit { limit: 1_000_000, period_seconds: 60 });
        k.quota = quota(1_000_000_000);
    })
    .await;
    // Small quotas, topped back up (outside the timing) before they run out.
    const SMALL: u64 = 999;
    let (small, small_token) = stored(store, |k| k.quota = quota(SMALL)).await;
    let (twin, _) = stored(store, |k| k.quota = quota(SMALL)).await;

    let client = store.client().clone();
    let table = store.table().to_owned();
    let unlimited_auth = Authorizer::new(store.clone(), Arc::new(SystemClock), Duration::ZERO);
    let limited_auth = Authorizer::new(counted.clone(), Arc::new(SystemClock), Duration::ZERO);
    let small_auth = Authorizer::new(store.clone(), Arc::new(SystemClock), Duration::ZERO);
    let events = [
        authorizer_event(plain_token.expose()),
        authorizer_event(limited_token.expose()),
        authorizer_event(small_token.expose()),
    ];
    let refill = |pk: String| {
        let client = client.clone();
        let table = table.clone();
        async move {
            client
                .update_item()
                .table_name(&table)
                .key("pk", AttributeValue::S(pk))
                .update_expression("SET #q = :n")
                .expression_attribute_names("#q", QUOTA_REMAINING)
                .expression_attribute_values(":n", number(SMALL))
                .send()
                .await
                .expect("topping a small quota back up");
        }
    };
    let plain_pk = AttributeValue::S(key_pk(&plain.prefix));
    let twin_pk = AttributeValue::S(key_pk(&twin.prefix));
    let timed = |which: usize| {
        let client = &client;
        let table = &table;
        let events = &events;
        let (plain_pk, twin_pk) = (&plain_pk, &twin_pk);
        let (unlimited_auth, limited_auth, small_auth) =
            (&unlimited_auth, &limited_auth, &small_auth);
        async move {
            let started = Instant::now();
            match which {
                0 => {
                    let out = client
                        .get_item()
                        .table_name(table)
                        .key("pk", plain_pk.clone())
                        .consistent_read(true)
                        .send()
                        .await
                        .expect("bare GetItem");
                    assert!(out.item().is_some());
                }
                1 => allowed(unlimited_auth.handle(events[0].clone()).await),
                2 => allowed(limited_auth.handle(events[1].clone()).await),
                3 => {
                    // What a one-call charge is, bare: a conditional decrement returning the item.
                    client
                        .update_item()
                        .table_name(table)
                        .key("pk", twin_pk.clone())
                        .update_expression("ADD #q :minus")
                        .condition_expression("attribute_exists(pk) AND #q >= :one")
                        .expression_attribute_names("#q", QUOTA_REMAINING)
                        .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
                        .expression_attribute_values(":one", number(1))
                        .return_values(ReturnValue::AllNew)
                        .send()
                        .await
                        .expect("bare conditional UpdateItem");
                }
                _ => allowed(small_auth.handle(events[2].clone()).await),
            }
            started.elapsed()
        }
    };
    let mut spent = 0u64;
    for _ in 0..warmup {
        for which in 0..5 {
            timed(which).await;
        }
        spent += 1;
    }
    counter.reset();
    let mut series: [Vec<Duration>; 5] = Default::default();
    for i in 0..iterations {
        if spent + 2 >= SMALL {
            refill(key_pk(&small.prefix)).await;
            refill(key_pk(&twin.prefix)).await;
            spent = 0;
        }
        for j in 0..5 {
            let which = (i + j) % 5;
            series[which].push(timed(which).await);
        }
        spent += 1;
    }
    let limited_writes = counter.take().writes();
    for a in [&unlimited_auth, &small_auth] {
        a.flush().await;
    }
    limited_auth.flush().await;
    let [bare_get, unlimited, limited, bare_update, small_quota] = series.map(Samples::new);
    LimitedHot {
        iterations,
        bare_get,
        unlimited,
        limited,
        limited_writes,
        bare_update,
        small_quota,
    }
}

fn allowed(r: Result<Value, lambda_http::Error>) {
    let r = r.expect("an answer");
    assert_eq!(r["isAuthorized"], Value::Bool(true), "refused: {r}");
}

/// One simulated second: requests on the key's item, and the units DynamoDB reported — the
/// table's (the item's own partition) and the indexes' (other partitions) apart.
#[derive(Debug, Clone, Copy, Default)]
pub struct Second {
    pub reads: u64,
    pub writes: u64,
    pub read_units: f64,
    pub table_write_units: f64,
    pub index_write_units: f64,
}

impl FleetRun {
    /// The busiest second by `f`: of the first second (instances start cold and their leases
    /// grow), and of the seconds after it.
    pub fn busiest<T: PartialOrd + Copy + Default>(
        &self, f: impl Fn(&Second) -> T,
    ) -> (T, Option<T>) {
        let first = self.per_second.first().map(&f).unwrap_or_default();
        let rest = self.per_second.iter().skip(1).map(&f).fold(None, |m: Option<T>, x| match m {
            Some(m) if m >= x => Some(m),
            _ => Some(x),
        });
        (first, rest)
    }
}

/// One simulated run: `instances` authorizers share one clock and one key; `rate` calls a second
/// for `seconds`, spread over the instances in turn.
#[derive(Debug, Clone)]
pub struct FleetRun {
    pub name: &'static str,
    pub instances: usize,
    pub rate: usize,
    pub seconds: usize,
    pub calls: u64,
    pub allowed: u64,
    /// Each simulated second's requests and units.
    pub per_second: Vec<Second>,
    /// Rate-limited runs: the most calls allowed in one window, and the limit.
    pub max_allowed_per_window: u64,
    pub limit: Option<u64>,
    /// Quota runs: the quota, and what was allowed + left after the instances gave back.
    pub quota: Option<u64>,
    pub quota_left: Option<u64>,
}

pub struct Fleet<'a> {
    pub store: &'a DynamoStore,
    pub counter: &'a CallCounter,
    pub capacity: &'a Capacity,
}

pub struct Scenario {
    pub name: &'static str,
    pub instances: usize,
    pub rate: usize,
    pub seconds: usize,
    pub rate_limit: Option<RateLimit>,
    pub quota: Option<u64>,
    /// The authorizers' in-process memo of allowed decisions.
    pub memo: Duration,
}

impl Fleet<'_> {
    pub async fn run(&self, s: Scenario) -> FleetRun {
        let (key, token) = stored(self.store, |k| {
            k.rate_limit = s.rate_limit;
            k.quota = s.quota.and_then(quota);
        })
        .await;
        // Simulated time starts on a window boundary.
        let clock = FixedClock::new(datetime!(2026-03-02 12:00 UTC));
        let fleet: Vec<Authorizer<DynamoStore>> = (0..s.instances)
            .map(|_| Authorizer::new(self.store.clone(), Arc::new(clock.clone()), s.memo))
            .collect();
        let step = time::Duration::nanoseconds(1_000_000_000 / s.rate as i64);
        let pk = key_pk(&key.prefix);
        let mut run = FleetRun {
            name: s.name,
            instances: s.instances,
            rate: s.rate,
            seconds: s.seconds,
            calls: 0,
            allowed: 0,
            per_second: Vec::with_capacity(s.seconds),
            max_allowed_per_window: 0,
            limit: s.rate_limit.map(|r| r.limit),
            quota: s.quota,
            quota_left: None,
        };
        self.counter.reset();
        self.capacity.take();
        let mut window = (i64::MIN, 0u64);
        let mut next = 0usize;
        for _second in 0..s.seconds {
            for _ in 0..s.rate {
                let a = &fleet[next % fleet.len()];
                next += 1;
                let now = shared::clock::Clock::now(&clock);
                let d = a.decide(Some(token.expose())).await.expect("a decision (never an error)");
                run.calls += 1;
                if matches!(d, Decision::Allow(_)) {
                    run.allowed += 1;
                    if let Some(r) = s.rate_limit {
                        let w = r.window(now);
                        if w != window.0 {
                            window = (w, 0);
                        }
                        window.1 += 1;
                        run.max_allowed_per_window = run.max_allowed_per_window.max(window.1);
                    }
                }
                clock.advance(step);
            }
            // Usage writes run in the background: let them land in this second.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let c = self.counter.take();
            let units = self.capacity.take();
            run.per_second.push(Second {
                reads: c.get("GetItem"),
                writes: c.updates_by_item.get(&pk).copied().unwrap_or(0),
                read_units: units.reads,
                table_write_units: units.table_writes,
                index_write_units: units.index_writes,
            });
        }
        for a in &fleet {
            a.flush().await;
        }
        if s.quota.is_some() {
            let k = shared::store::KeyReader::get(self.store, &key.prefix)
                .await
                .expect("reading the key back")
                .expect("the key");
            run.quota_left = k.quota.map(|q| q.remaining + run.allowed);
        }
        run
    }
}

/// The fleet's scenarios, each `seconds` simulated seconds long, at full scale (`scale` 1) or
/// scaled down (`--quick`: instances, rates, limits and quotas divided by `scale`).
pub fn scenarios(seconds: usize, scale: usize) -> Vec<Scenario> {
    let scale = scale.max(1);
    let limited = |limit: u64| Some(RateLimit { limit: limit / scale as u64, period_seconds: 1 });
    let at = |name, rate: usize, rate_limit, quota: Option<u64>, memo| Scenario {
        name,
        instances: (20 / scale).max(2),
        rate: rate / scale,
        seconds,
        rate_limit,
        quota: quota.map(|q| q / scale as u64),
        memo,
    };
    let none = Duration::ZERO;
    vec![
        at(
            "limited hot key: rate limit 10,000/s, quota 10⁹",
            5_000,
            limited(10_000),
            Some(1_000_000_000),
            none,
        ),
        at("over its rate: limit 3,000/s, offered 5,000/s", 5_000, limited(3_000), None, none),
        at("over its quota: 8,000 calls, offered 5,000/s", 5_000, None, Some(8_000), none),
        at("unlimited hot key, no memo (the default)", 10_000, None, None, none),
        at("unlimited hot key, 1 s memo", 10_000, None, None, Duration::from_secs(1)),
    ]
}
