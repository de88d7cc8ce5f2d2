//! Rate limits and quotas, on both stores, with several authorizer instances (each with its own
//! leases) sharing one store, as a fleet does:
//!
//! - a quota of 50 and 200 concurrent calls: exactly 50 allowed (one-call leases);
//! - a quota of 5,000 (larger leases): never more than 5,000 allowed, and after the instances
//!   give back what they did not spend, allowed + left = 5,000 exactly;
//! - a 10/s limit over 3 s: no window admits more than 10;
//! - refills happen once when due; a limited key is never cached; revoking it is immediate;
//! - management sets, changes, tops up and clears limits (admin or the project's admin; never a
//!   key its own), audited; bad limits are 400s.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use shared::authorizer::{Authorizer, Decision};
use shared::clock::FixedClock;
use shared::model::{Quota, RateLimit, Refill, RefillInterval};
use shared::store::Store;
use shared::token::Token;
use shared::ApiKey;
use time::Duration;

use integration_tests::api::*;

/// `n` authorizer instances on one store and one clock.
fn fleet<S: Store + Clone + 'static>(
    store: &S, clock: &FixedClock, n: usize,
) -> Vec<Arc<Authorizer<S>>> {
    (0..n)
        .map(|_| {
            Arc::new(Authorizer::new(store.clone(), Arc::new(clock.clone()), StdDuration::ZERO))
        })
        .collect()
}

async fn limited_key<S: Store>(
    api: &Api<S>, rate: Option<RateLimit>, quota: Option<Quota>,
) -> (ApiKey, Token) {
    let (mut k, t) = project_key(TEAM, "metered", &[]);
    k.rate_limit = rate;
    k.quota = quota;
    integration_tests::seed(api.store(), &k).await;
    (k, t)
}

fn quota(n: u64) -> Option<Quota> {
    Some(Quota { remaining: n, refill: None, refilled_at: Some(START) })
}

/// How many authorizations are in flight at once: as many as DynamoDB Local on a busy 2-core
/// machine answers well inside the authorizer's 2 s budget (more only measures its queue).
const IN_FLIGHT: usize = 8;

/// Sends `calls` authorizations spread over the fleet, concurrently (at most [`IN_FLIGHT`] at a
/// time); how many were allowed.
async fn burst<S: Store + Clone + 'static>(
    fleet: &[Arc<Authorizer<S>>], token: &Token, calls: usize,
) -> usize {
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::new();
    for i in 0..calls {
        let a = Arc::clone(&fleet[i % fleet.len()]);
        let t = token.expose().to_owned();
        let gate = Arc::clone(&gate);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("the gate stays open");
            match a.decide(Some(&t)).await {
                Ok(d) => matches!(d, Decision::Allow(_)),
                Err(e) => panic!("the store failed: {}", shared::error::chain(&e)),
            }
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += t.await.unwrap() as usize;
    }
    allowed
}

async fn a_small_quota_is_exact<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let (k, t) = limited_key(&api, None, quota(50)).await;
    let fleet = fleet(api.store(), &api.clock, 8);
    let allowed = burst(&fleet, &t, 200).await;
    assert_eq!(allowed, 50, "exactly the quota");
    assert_eq!(api.stored(&k).await.quota.unwrap().remaining, 0);
    // and nothing more, in any instance, later
    assert_eq!(burst(&fleet, &t, 20).await, 0);
    for a in &fleet {
        a.flush().await;
    }
    assert_eq!(api.stored(&k).await.submitted_jobs, 50, "usage counted exactly");
    eprintln!("limits: quota 50, 200 concurrent calls on 8 instances: {allowed} allowed");
}

async fn a_large_quota_is_never_exceeded_and_nothing_is_lost<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let (k, t) = limited_key(&api, None, quota(5_000)).await;
    let fleet = fleet(api.store(), &api.clock, 4);
    let mut allowed = 0;
    // 60 simulated 100 ms steps of 100 calls each: 6,000 calls, leases sized by each
    // instance's rate, expiring after a second
    for _ in 0..60 {
        allowed += burst(&fleet, &t, 100).await;
        api.clock.advance(Duration::milliseconds(100));
    }
    assert!(allowed <= 5_000, "{allowed} allowed of a quota of 5,000");
    let stranded = 5_000 - allowed as u64;
    // the instances give back what their leases did not spend: allowed + left is the quota
    for a in &fleet {
        a.flush().await;
    }
    let left = api.stored(&k).await.quota.unwrap().remaining;
    assert_eq!(allowed as u64 + left, 5_000, "allowed {allowed}, left {left}");
    eprintln!("limits: quota 5,000, 6,000 calls on 4 instances: {allowed} allowed, {stranded} stranded before give-back, {left} left after");
}

async fn no_window_admits_more_than_its_limit<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let rate = RateLimit { limit: 10, period_seconds: 1 };
    let (_, t) = limited_key(&api, Some(rate), None).await;
    let fleet = fleet(api.store(), &api.clock, 4);
    let mut per_window = Vec::new();
    for _ in 0..3 {
        let mut window = 0;
        for _ in 0..10 {
            window += burst(&fleet, &t, 8).await;
            api.clock.advance(Duration::milliseconds(100));
        }
        per_window.push(window);
    }
    assert!(per_window.iter().all(|w| *w <= 10), "{per_window:?}");
    assert!(per_window.iter().all(|w| *w >= 1), "{per_window:?}");
    eprintln!("limits: 10/s over 3 s, 240 calls on 4 instances: {per_window:?} allowed per window");
}

async fn refills_once_when_due<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let q = Quota {
        remaining: 2,
        refill: Some(Refill { amount: 5, interval: RefillInterval::Day }),
        refilled_at: Some(START),
    };
    let (k, t) = limited_key(&api, None, Some(q)).await;
    let fleet = fleet(api.store(), &api.clock, 3);
    assert_eq!(burst(&fleet, &t, 6).await, 2);
    api.clock.set(START + Duration::days(1));
    assert_eq!(burst(&fleet, &t, 12).await, 5, "refilled to 5, once");
    assert_eq!(api.stored(&k).await.quota.unwrap().remaining, 0);
}

async fn limited_keys_are_never_cached_and_revoked_at_once<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, t) = limited_key(&api, None, quota(3)).await;
    // a minute of in-process caching: a limited key is charged on every call all the same
    let a = Authorizer::new(
        api.store().clone(),
        Arc::new(api.clock.clone()),
        StdDuration::from_secs(60),
    );
    for _ in 0..3 {
        assert!(matches!(a.decide(Some(t.expose())).await.unwrap(), Decision::Allow(_)));
    }
    assert_eq!(a.decide(Some(t.expose())).await.unwrap(), Decision::Deny);
    // revoked: refused on the next call, with or without calls left
    api.patch(&team.admin, &k, json!({"quotaTopUp": 10})).await.expect(200);
    assert!(matches!(a.decide(Some(t.expose())).await.unwrap(), Decision::Allow(_)));
    api.patch(&team.admin, &k, json!({"status": "Disabled"})).await.expect(200);
    assert_eq!(a.decide(Some(t.expose())).await.unwrap(), Decision::Deny);
    // an allow tells the protected API what is left
    api.patch(&team.admin, &k, json!({"status": "Active"})).await.expect(200);
    let Decision::Allow(ctx) = a.decide(Some(t.expose())).await.unwrap() else { panic!("allowed") };
    // (3 spent, 1 refused, 10 topped up, 1 spent, 1 refused while disabled, 1 spent)
    assert_eq!(ctx.quota_remaining, Some(8));
    assert_eq!(ctx.to_map()["quotaRemaining"], json!(8));
}

async fn management_sets_limits<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let body = json!({
        "name": "partner", "projectId": "p1",
        "rateLimit": {"limit": 100, "periodSeconds": 1},
        "quota": {"remaining": 10000, "refill": {"amount": 10000, "interval": "month"}},
    });
    let a =
        api.send(Call::new("POST", "/keys").by(&team.pa_p1).json(body.clone())).await.expect(201);
    assert_eq!(a.body["rateLimit"], json!({"limit": 100, "periodSeconds": 1}));
    assert_eq!(a.body["quota"]["refill"]["interval"], "month");
    let k = api.stored_prefix(a.body["prefix"].as_str().unwrap()).await;
    // a member's requested key gets its limits from an admin
    api.send(Call::new("POST", "/keys").by(&team.pm_p1).json(body.clone())).await.expect(403);
    // change, top up (atomic), clear
    let a = api
        .patch(&team.pa_p1, &k, json!({"rateLimit": {"limit": 5, "periodSeconds": 60}}))
        .await
        .expect(200);
    assert_eq!(a.body["rateLimit"]["limit"], 5);
    let a = api.patch(&team.admin, &k, json!({"quotaTopUp": 500})).await.expect(200);
    assert_eq!(a.body["quota"]["remaining"], 10_500);
    assert_eq!(api.stored(&k).await.quota.unwrap().remaining, 10_500);
    let a = api.patch(&team.admin, &k, json!({"quota": null, "rateLimit": null})).await.expect(200);
    assert!(a.body["quota"].is_null() && a.body["rateLimit"].is_null());
    assert!(api.stored(&k).await.quota.is_none());
    // every change is audited, with the limits' before and after
    let h =
        api.send(Call::new("GET", format!("{}/audit", path(&k))).by(&team.admin)).await.expect(200);
    let changed: Vec<&str> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["changes"].as_object().unwrap().keys().map(String::as_str))
        .collect();
    assert!(changed.contains(&"rateLimit") && changed.contains(&"quota"), "{changed:?}");
    // no key changes its own limits
    let (mut svc, _) = project_key(TEAM, "p1", &["project-admin:p1"]);
    svc.quota = quota(10);
    api.put(&svc).await;
    for patch in [
        json!({"quotaTopUp": 1000}),
        json!({"quota": null}),
        json!({"rateLimit": {"limit": 1, "periodSeconds": 1}}),
    ] {
        api.send(Call::new("PATCH", path(&svc)).by(&svc).json(patch)).await.expect(403);
    }
    // bad limits are 400s naming the field
    for (field, value) in [
        ("rateLimit", json!({"limit": 0, "periodSeconds": 1})),
        ("rateLimit", json!({"limit": 1, "periodSeconds": 100000})),
        ("quota", json!({"remaining": -5})),
        ("quota", json!({"remaining": 5, "refill": {"amount": 5, "interval": "week"}})),
        ("quotaTopUp", json!(0)),
    ] {
        let a = api.patch(&team.admin, &k, json!({ field: value })).await.expect(400);
        assert_eq!(a.error_fields(), [field], "{field} {value}");
    }
    api.patch(&team.admin, &k, json!({"quotaTopUp": 5})).await.expect(400);
}

integration_tests::on_both_stores!(
    a_small_quota_is_exact,
    a_large_quota_is_never_exceeded_and_nothing_is_lost,
    no_window_admits_more_than_its_limit,
    refills_once_when_due,
    limited_keys_are_never_cached_and_revoked_at_once,
    management_sets_limits,
);

/// One authorizer instance on a counted DynamoDB store and a key with a quota of `quota`: `warm`
/// calls (and the usage write they start), then `calls` more counted on the wire. How many of
/// each were allowed, the second batch's requests, and the quota left.
async fn counted_calls(
    tag: &str, quota_of: u64, warm: usize, calls: usize,
) -> Option<(usize, usize, String, u64)> {
    let (store, counter) = integration_tests::counted_dynamo_store(tag).await?;
    let api = Api::new(store);
    let (k, t) = limited_key(&api, None, quota(quota_of)).await;
    let a = Authorizer::new(api.store().clone(), Arc::new(api.clock.clone()), StdDuration::ZERO);
    let mut allowed = [0, 0];
    for (batch, n) in [warm, calls].into_iter().enumerate() {
        for _ in 0..n {
            let d = a.decide(Some(t.expose())).await.unwrap();
            allowed[batch] += matches!(d, Decision::Allow(_)) as usize;
        }
        if batch == 0 {
            a.flush().await; // the key's first usage write
            counter.reset();
        }
    }
    let counted = counter.take().describe();
    let left = api.stored(&k).await.quota.unwrap().remaining;
    Some((allowed[0], allowed[1], counted, left))
}

/// With a small quota, once an instance knows it, each call is one conditional write standing in
/// for the read: one DynamoDB request per call, counted on the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_quota_costs_one_request_per_call() {
    let Some(run) = counted_calls("exact-quota", 20, 1, 10).await else { return };
    assert_eq!(run, (1, 10, "UpdateItem 10".to_owned(), 9));
}

/// An exhausted quota leaves the one-call mode: once an instance has seen it at 0, each refused
/// call is one read, never a conditional write that fails (and is billed) every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_quota_refuses_with_reads_not_failed_writes() {
    let Some(run) = counted_calls("spent-quota", 3, 5, 10).await else { return };
    assert_eq!(run, (3, 0, "GetItem 10".to_owned(), 0), "exactly the quota, then reads");
}
