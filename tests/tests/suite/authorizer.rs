//! The authorizer against DynamoDB Local through the real store: every format, every
//! refusal, fail-closed on an unreachable store, usage writes, the REST policy's resource, and
//! logs free of tokens (every test captures its logs at TRACE level and checks them).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use integration_tests::wrap::{Count, Hooks, Op, OpKind, Wrapped};
use integration_tests::{codec, dynamo_store};
use serde_json::{json, Value};
use shared::authorizer::{Authorizer, Decision, STORE_TIMEOUT, USAGE_WAIT};
use shared::clock::{Clock, FixedClock, SystemClock};
use shared::identity::AuthContext;
use shared::model::{Ident, Labels, PreviousSecret, Roles, Status, WebhookUrl};
use shared::store::{DynamoStore, KeyReader, KeyWriter, StoreError};
use shared::testing::sample_key_with_token;
use shared::token::{KeyKind, Prefix, Token};
use shared::ApiKey;
use time::{Duration, OffsetDateTime};

const ARN: &str =
    "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/protected/reports";
const STAGE: &str = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*";

// ---- log capture ---------------------------------------------------------------------------

/// Everything logged on this thread (the tests run on a current-thread runtime, so spawned
/// tasks too), at every level, JSON with span fields, as in production.
type Logs = integration_tests::LogCapture;

// ---- the harness ---------------------------------------------------------------------------

struct Harness {
    auth: Authorizer<Wrapped<DynamoStore, Count>>,
    store: DynamoStore,
    clock: FixedClock,
    /// Every key string presented, to check the logs against.
    presented: Mutex<Vec<String>>,
    logs: Logs,
}

async fn harness(cache_ttl: StdDuration) -> Option<Harness> {
    let logs = integration_tests::capture_logs();
    let store = dynamo_store("authz").await?;
    let clock = FixedClock::new(OffsetDateTime::now_utc());
    let counting = Wrapped::new(store.clone(), Count::default());
    Some(Harness {
        auth: Authorizer::new(counting, Arc::new(clock.clone()), cache_ttl),
        store,
        clock,
        presented: Mutex::default(),
        logs,
    })
}

impl Harness {
    fn gets(&self) -> usize {
        self.auth.store().hooks.of(OpKind::Get)
    }
    fn usage_writes(&self) -> usize {
        self.auth.store().hooks.of(OpKind::RecordUsage)
    }

    fn note(&self, key: &str) {
        self.presented.lock().unwrap().push(key.to_owned());
    }

    async fn decide(&self, key: Option<&str>) -> Decision {
        if let Some(k) = key {
            self.note(k);
        }
        self.auth.decide(key).await.expect("the store answers")
    }

    async fn handle(&self, event: Value) -> Result<Value, String> {
        self.auth.handle(event).await.map_err(|e| e.to_string())
    }

    /// A stored [`full_key`], its token noted for the log scan.
    async fn stored_full_key(&self) -> (ApiKey, Token) {
        let (key, token) = full_key();
        self.put(&key).await;
        self.note(token.expose());
        (key, token)
    }

    async fn put(&self, key: &ApiKey) {
        self.store.create(key, &shared::testing::audit_of(key)).await.expect("create");
    }

    async fn stored(&self, prefix: &Prefix) -> ApiKey {
        self.store.get(prefix).await.unwrap().expect("stored")
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The logs mention prefixes but no presented key, nor any key's secret part.
    fn assert_logs_clean(&self) {
        let logs = self.logs.text();
        assert!(!logs.is_empty(), "nothing was logged");
        for key in self.presented.lock().unwrap().iter() {
            let key = key.trim();
            if key.len() >= 8 {
                assert!(!logs.contains(key), "a presented key is in the logs");
            }
            if let Some((_, rest)) = key.split_once('_') {
                let secret = &rest[..rest.len().min(32)];
                if secret.len() >= 16 {
                    assert!(!logs.contains(secret), "a key's secret is in the logs");
                }
            }
        }
    }
}

// ---- events --------------------------------------------------------------------------------

fn v2_event(headers: Value) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/keys",
        "routeKey": "GET /keys",
        "rawPath": "/keys",
        "headers": headers,
        "requestContext": { "apiId": "a1b2c3d4e5", "stage": "$default",
                            "http": { "method": "GET", "path": "/keys" } }
    })
}

fn token_event(token: &str, method_arn: &str) -> Value {
    json!({ "type": "TOKEN", "authorizationToken": token, "methodArn": method_arn })
}

fn request_event(headers: Value, method_arn: &str) -> Value {
    json!({ "type": "REQUEST", "methodArn": method_arn, "resource": "/protected/{proxy+}",
            "path": "/protected/reports", "httpMethod": "GET", "headers": headers })
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A project key with every optional field set, so the context shows all of them.
fn full_key() -> (ApiKey, Token) {
    let (mut key, token) = sample_key_with_token(KeyKind::Project);
    key.project_id = Some(Ident::parse("proj-7").unwrap());
    key.roles = Roles::parse(&["project-admin:proj-7", "jobs:submit"]).unwrap();
    key.labels = Labels::parse(&["ci", "prod"]).unwrap();
    key.is_high_priority = true;
    key.webhook_url = Some(WebhookUrl::parse("https://hooks.example.com/k").unwrap());
    key.expires_at = Some(key.created_at + Duration::days(30));
    (key, token)
}

fn expected_context(key: &ApiKey) -> Value {
    Value::Object(AuthContext::of(key).to_map())
}

// ---- allowed -------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_key_is_allowed_in_all_three_formats_with_the_full_context() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    // given a stored project key and a stored team key
    let (key, token) = h.stored_full_key().await;
    let (team, team_token) = sample_key_with_token(KeyKind::Team);
    h.put(&team).await;
    let t = token.expose();
    h.note(t);
    h.note(team_token.expose());

    // decide
    let Decision::Allow(ctx) = h.decide(Some(t)).await else { panic!("refused") };
    assert_eq!(ctx, AuthContext::of(&key));
    let context = expected_context(&key);
    assert_eq!(context["keyPrefix"], key.prefix.as_str());
    assert_eq!(context["keyName"], "sample key");
    assert_eq!(context["keyType"], "system");
    assert_eq!(context["accountId"], "team-1");
    assert_eq!(context["projectId"], "proj-7");
    assert_eq!(context["userId"], "");
    assert_eq!(context["roles"], "project-admin:proj-7,jobs:submit");
    assert_eq!(context["labels"], "ci,prod");
    assert_eq!(context["isHighPriority"], true);
    assert_eq!(context["webhookUrl"], "https://hooks.example.com/k");
    assert_eq!(context["origin"], "API");

    // HTTP API payload 2.0, Authorization: Bearer
    let r = h.handle(v2_event(json!({ "Authorization": bearer(t) }))).await.unwrap();
    assert_eq!(r, json!({ "isAuthorized": true, "context": context }));

    // REST TOKEN
    let r = h.handle(token_event(&bearer(t), ARN)).await.unwrap();
    assert_eq!(
        r,
        json!({
            "principalId": key.prefix.as_str(),
            "policyDocument": { "Version": "2012-10-17", "Statement": [
                { "Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [STAGE] }
            ] },
            "context": context
        })
    );

    // REST REQUEST, x-api-key in any case
    let r = h.handle(request_event(json!({ "X-API-KEY": t }), ARN)).await.unwrap();
    assert_eq!(r["principalId"], key.prefix.as_str());
    assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(r["context"], context);

    // a team key, through the HTTP API with x-api-key
    let r = h.handle(v2_event(json!({ "x-api-key": team_token.expose() }))).await.unwrap();
    assert_eq!(r["isAuthorized"], true);
    assert_eq!(r["context"]["keyType"], "user");
    assert_eq!(r["context"]["userId"], "user-1");
    assert_eq!(r["context"]["projectId"], "");

    // one GetItem per decision
    assert_eq!(h.gets(), 5);
    let logs = h.logs.text();
    assert!(logs.contains(key.prefix.as_str()), "prefixes are logged");
    h.assert_logs_clean();
}

// ---- refused before the store --------------------------------------------------------------

#[tokio::test]
async fn missing_empty_malformed_wrong_tag_and_bad_checksum_cost_no_store_call() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    let (_key, token) = h.stored_full_key().await;
    let t = token.expose();

    // no key at all, or an empty one: Missing (401)
    assert_eq!(h.decide(None).await, Decision::Missing);
    for empty in ["", "   "] {
        assert_eq!(h.decide(Some(empty)).await, Decision::Missing);
    }
    let r = h.handle(v2_event(json!({ "accept": "*/*" }))).await.unwrap();
    assert_eq!(r["isAuthorized"], false);
    let r = h.handle(v2_event(json!({ "authorization": "Bearer " }))).await.unwrap();
    assert_eq!(r["isAuthorized"], false);
    assert_eq!(h.handle(request_event(json!({}), ARN)).await.unwrap_err(), "Unauthorized");
    assert_eq!(h.handle(request_event(Value::Null, ARN)).await.unwrap_err(), "Unauthorized");
    assert_eq!(h.handle(token_event("", ARN)).await.unwrap_err(), "Unauthorized");

    // malformed, wrong kind tag, bad checksum: Deny (403), or Unauthorized (401) on REST
    let mut bad_checksum = t.to_owned();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
    let swapped_tag = t.replacen("sk-project-", "sk-team-", 1);
    let unknown_tag = t.replacen("sk-project-", "sk-robot-", 1);
    let truncated = t[..t.len() - 1].to_owned();
    let lowercase_tag = t.replacen("sk-project-", "SK-PROJECT-", 1);
    let bad_char = format!("{}-{}", &t[..30], &t[31..]);
    let refused = [
        "hello",
        "sk-project-",
        "Basic dXNlcjpwYXNz",
        "sk-project-é",
        truncated.as_str(),
        &format!("{t}x"),
        bad_char.as_str(),
        lowercase_tag.as_str(),
        swapped_tag.as_str(),
        unknown_tag.as_str(),
        bad_checksum.as_str(),
    ];
    for bad in refused {
        assert_eq!(h.decide(Some(bad)).await, Decision::Deny, "{bad}");
        let r = h.handle(v2_event(json!({ "x-api-key": bad }))).await.unwrap();
        assert_eq!(r, json!({ "isAuthorized": false, "context": {} }));
        assert_eq!(h.handle(token_event(bad, ARN)).await.unwrap_err(), "Unauthorized", "{bad}");
        assert_eq!(
            h.handle(request_event(json!({ "Authorization": bearer(bad) }), ARN))
                .await
                .unwrap_err(),
            "Unauthorized",
            "{bad}"
        );
    }

    // not one store call, not one usage write
    assert_eq!(h.gets(), 0);
    assert_eq!(h.usage_writes(), 0);
    h.assert_logs_clean();
}

// ---- refused after the one read ------------------------------------------------------------

#[tokio::test]
async fn unknown_wrong_secret_inactive_and_expired_keys_are_refused_after_one_read() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    let now = h.now();
    let mut cases: Vec<(&str, Token)> = Vec::new();

    // an unknown prefix: a well-formed token nobody stored
    cases.push(("unknown prefix", Token::generate(KeyKind::Project)));
    // the right prefix with another secret
    let (key, _) = full_key();
    h.put(&key).await;
    cases.push(("wrong secret", Token::generate_for(KeyKind::Project, key.prefix.clone())));
    // the right prefix and secret under the other kind tag (a different, valid token)
    cases.push(("other kind", Token::generate_for(KeyKind::Team, key.prefix.clone())));
    // stored with each non-active status
    for status in [Status::Disabled, Status::Pending, Status::Rejected] {
        let (mut k, t) = full_key();
        k.status = status;
        h.put(&k).await;
        cases.push((status.as_str(), t));
    }
    // deleted (a tombstone through the store's own delete)
    let (k, t) = full_key();
    h.put(&k).await;
    h.store.delete(&k, k.version, now, &shared::testing::audit_of(&k)).await.unwrap();
    assert_eq!(h.stored(&k.prefix).await.status, Status::Deleted);
    cases.push(("deleted", t));
    // expired a second ago, and expiring exactly now
    for ago in [Duration::seconds(1), Duration::ZERO] {
        let (mut k, t) = full_key();
        k.expires_at = Some(now - ago);
        h.put(&k).await;
        cases.push(("expired", t));
    }

    for (what, token) in &cases {
        let t = token.expose();
        h.note(t);
        let before = h.gets();
        assert_eq!(h.decide(Some(t)).await, Decision::Deny, "{what}");
        assert_eq!(h.gets(), before + 1, "{what}: exactly one GetItem");
        let r = h.handle(v2_event(json!({ "authorization": bearer(t) }))).await.unwrap();
        assert_eq!(r["isAuthorized"], false, "{what}");
        // REST: a Deny policy (403), on the whole stage, with the prefix as principal
        let r = h.handle(token_event(t, ARN)).await.unwrap();
        assert_eq!(r["principalId"], token.prefix().as_str(), "{what}");
        let st = &r["policyDocument"]["Statement"][0];
        assert_eq!(st["Effect"], "Deny", "{what}");
        assert_eq!(st["Resource"], json!([STAGE]), "{what}");
        assert_eq!(r["context"], json!({}), "{what}");
        let r = h.handle(request_event(json!({ "x-api-key": t }), ARN)).await.unwrap();
        assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Deny");
    }
    assert_eq!(h.gets(), cases.len() * 4);
    assert_eq!(h.usage_writes(), 0, "refusals are not usage");
    h.assert_logs_clean();
}

#[tokio::test]
async fn the_old_secret_works_within_its_grace_period_and_not_after() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    // given a key replaced a moment ago with a one-hour grace period
    let (mut key, old) = full_key();
    let new = Token::generate_for(KeyKind::Project, key.prefix.clone());
    key.previous =
        Some(PreviousSecret { hash: old.hash(), valid_until: h.now() + Duration::hours(1) });
    key.secret_hash = new.hash();
    h.put(&key).await;

    // within the grace period both secrets work
    assert!(matches!(h.decide(Some(old.expose())).await, Decision::Allow(_)));
    assert!(matches!(h.decide(Some(new.expose())).await, Decision::Allow(_)));
    h.clock.advance(Duration::minutes(59));
    assert!(matches!(h.decide(Some(old.expose())).await, Decision::Allow(_)));

    // after it, only the new one
    h.clock.advance(Duration::minutes(1));
    assert_eq!(h.decide(Some(old.expose())).await, Decision::Deny);
    let r = h.handle(token_event(old.expose(), ARN)).await.unwrap();
    assert_eq!(r["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert!(matches!(h.decide(Some(new.expose())).await, Decision::Allow(_)));
    h.auth.flush().await;
    h.assert_logs_clean();
}

#[tokio::test]
async fn disabling_or_deleting_a_key_takes_effect_on_the_very_next_call() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    let (key, token) = h.stored_full_key().await;
    let t = token.expose();
    assert!(matches!(h.decide(Some(t)).await, Decision::Allow(_)));

    // disable through the store, as PATCH /keys/{prefix} does
    let mut disabled = h.stored(&key.prefix).await;
    disabled.status = Status::Disabled;
    let disabled = h
        .store
        .update(&disabled, disabled.version, &shared::testing::audit_of(&disabled))
        .await
        .unwrap();
    assert_eq!(h.decide(Some(t)).await, Decision::Deny);

    // enable again, then delete
    let mut active = disabled.clone();
    active.status = Status::Active;
    let active =
        h.store.update(&active, active.version, &shared::testing::audit_of(&active)).await.unwrap();
    assert!(matches!(h.decide(Some(t)).await, Decision::Allow(_)));
    h.store
        .delete(&active, active.version, h.now(), &shared::testing::audit_of(&active))
        .await
        .unwrap();
    assert_eq!(h.decide(Some(t)).await, Decision::Deny);
    h.auth.flush().await;
    h.assert_logs_clean();
}

// ---- consistency on the wire ----------------------------------------------------------------

/// Every read the authorizer sends is a strongly consistent GetItem — allowed, refused, every
/// format, the previous secret within its grace — counted on the wire by an SDK interceptor
/// (DynamoDB Local always reads consistently, so only the request shows whether it asked to).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_the_authorizer_sends_is_strongly_consistent() {
    let Some((store, counter)) = integration_tests::counted_dynamo_store("authz-consistent").await
    else {
        return;
    };
    let clock = FixedClock::new(OffsetDateTime::now_utc());
    let auth = Authorizer::new(store.clone(), Arc::new(clock.clone()), StdDuration::ZERO);
    // an active key replaced with a grace period, a disabled key
    let (mut key, old) = full_key();
    let new = Token::generate_for(KeyKind::Project, key.prefix.clone());
    key.previous =
        Some(PreviousSecret { hash: old.hash(), valid_until: clock.now() + Duration::hours(1) });
    key.secret_hash = new.hash();
    let (mut disabled, disabled_token) = full_key();
    disabled.status = Status::Disabled;
    for k in [&key, &disabled] {
        store.create(k, &shared::testing::audit_of(k)).await.unwrap();
    }
    counter.reset();

    let unknown = Token::generate(KeyKind::Team);
    let wrong = Token::generate_for(KeyKind::Project, key.prefix.clone());
    let cases: [(&str, &Token, bool); 5] = [
        ("current secret", &new, true),
        ("previous secret", &old, true),
        ("unknown prefix", &unknown, false),
        ("wrong secret", &wrong, false),
        ("disabled", &disabled_token, false),
    ];
    for (what, token, allowed) in cases {
        let t = token.expose();
        let d = auth.decide(Some(t)).await.expect("the store answers");
        assert_eq!(matches!(d, Decision::Allow(_)), allowed, "{what}: {d:?}");
        for event in [
            v2_event(json!({ "authorization": bearer(t) })),
            token_event(t, ARN),
            request_event(json!({ "x-api-key": t }), ARN),
        ] {
            let r = auth.handle(event).await.expect("the store answers");
            let allow = r["isAuthorized"] == true
                || r["policyDocument"]["Statement"][0]["Effect"] == "Allow";
            assert_eq!(allow, allowed, "{what}: {r}");
        }
    }
    auth.flush().await;
    let counts = counter.take();
    assert_eq!(
        counts.eventually_consistent,
        Vec::<String>::new(),
        "reads the authorizer sent without ConsistentRead"
    );
    assert_eq!(counts.get("GetItem"), 5 * 4, "one GetItem a decision: {counts:?}");
    assert_eq!(counts.reads(), counts.get("GetItem"), "only GetItem reads: {counts:?}");
    assert_eq!(counts.get("Scan"), 0, "{counts:?}");
}

// ---- failing closed ------------------------------------------------------------------------

/// A client like the functions' (same timeouts and retries) pointed at `endpoint`.
async fn store_at(endpoint: &str) -> DynamoStore {
    let client = integration_tests::client_at(endpoint, shared::aws::Timeouts::default()).await;
    DynamoStore::new(client, "unreachable", codec())
}

#[tokio::test]
async fn an_unreachable_store_fails_closed_within_the_timeout() {
    let logs = integration_tests::capture_logs();
    let (_, token) = full_key();
    let t = token.expose();

    // a closed port (connection refused; held, so nobody else takes it meanwhile) and a port
    // that accepts but never answers
    let closed_port = integration_tests::net::ClosedPort::new();
    let closed = closed_port.port();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();

    for (what, port) in [("closed port", closed), ("silent port", silent_port)] {
        let store = store_at(&format!("http://127.0.0.1:{port}")).await;
        let auth = Authorizer::new(store, Arc::new(SystemClock), StdDuration::ZERO);

        let started = Instant::now();
        let res = auth.decide(Some(t)).await;
        let took = started.elapsed();
        assert!(res.is_err(), "{what}: {res:?}");
        assert!(took < StdDuration::from_secs(3), "{what}: took {took:?}");
        eprintln!("{what}: failed closed in {took:?}");

        // every format fails the invocation (API Gateway answers 500), none allows or denies
        let started = Instant::now();
        let (v2, token, request) = tokio::join!(
            auth.handle(v2_event(json!({ "x-api-key": t }))),
            auth.handle(token_event(t, ARN)),
            auth.handle(request_event(json!({ "x-api-key": t }), ARN)),
        );
        assert!(started.elapsed() < StdDuration::from_secs(3), "{what}");
        for res in [v2, token, request] {
            let err = res.unwrap_err().to_string();
            assert_ne!(err, "Unauthorized", "{what}");
            assert!(!err.contains(t), "{what}");
        }
    }
    drop((silent, closed_port));
    let text = logs.text();
    assert!(text.contains("failing closed"), "the failure is logged");
    assert!(text.contains(token.prefix().as_str()));
    assert!(!text.contains(t) && !text.contains(&t[24..56]));
}

// ---- the time limits ------------------------------------------------------------------------
//
// Told by what happens first rather than by reading a clock: tokio's paused clock would need
// its `test-util` feature, which this crate's manifest does not enable. A timer never fires
// early, so every "at least" below is exact; every "before" is an order of events.

/// Holds the store calls of one kind: key reads answered after a delay (or never), usage
/// writes answered after a delay.
struct Hold {
    reads: Option<Option<StdDuration>>,
    usage_writes: Option<StdDuration>,
    /// Set when a held read has answered.
    answered: std::sync::atomic::AtomicBool,
}

impl Hold {
    fn reads(after: Option<StdDuration>) -> Self {
        Hold { reads: Some(after), usage_writes: None, answered: Default::default() }
    }
    fn usage_writes(after: StdDuration) -> Self {
        Hold { reads: None, usage_writes: Some(after), answered: Default::default() }
    }
}

impl<S: shared::store::Store> Hooks<S> for Hold {
    async fn before(&self, _: &S, op: Op<'_>) -> Result<(), StoreError> {
        match (op.kind, self.reads, self.usage_writes) {
            (OpKind::Get | OpKind::Charge, Some(None), _) => std::future::pending().await,
            (OpKind::Get | OpKind::Charge, Some(Some(after)), _) => {
                tokio::time::sleep(after).await;
                self.answered.store(true, Ordering::SeqCst);
            }
            (OpKind::RecordUsage, _, Some(after)) => tokio::time::sleep(after).await,
            _ => {}
        }
        Ok(())
    }
}

/// The configured limits: the authorizer's own bound on its read, the usage wait, and the
/// DynamoDB client's timeouts every function uses.
#[test]
fn the_time_limits_are_the_documented_ones() {
    assert_eq!(STORE_TIMEOUT, StdDuration::from_secs(2));
    assert_eq!(USAGE_WAIT, StdDuration::from_millis(50));
    let t = shared::aws::Timeouts::default();
    assert_eq!(t.operation, StdDuration::from_secs(2));
    assert_eq!(t.attempt, StdDuration::from_millis(900));
    // the client gives up (retries included) no later than the authorizer does
    assert!(t.operation <= STORE_TIMEOUT);
}

/// A future's output and how long it took.
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, StdDuration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

async fn held_authorizer(
    hold: Hold,
) -> (Authorizer<Wrapped<shared::store::MemoryStore, Hold>>, ApiKey, Token) {
    let store = Wrapped::new(integration_tests::memory_store(), hold);
    let (key, token) = full_key();
    store.inner.create(&key, &shared::testing::audit_of(&key)).await.unwrap();
    let clock = FixedClock::new(OffsetDateTime::now_utc());
    (Authorizer::new(store, Arc::new(clock), StdDuration::ZERO), key, token)
}

/// The authorizer waits 2 s for its read, no less and not much more: a read answering after
/// 1.5 s is waited for; one answering after 2.5 s is not — the decision fails (API Gateway
/// answers 500) after 2 s, before that answer; a read that never answers fails the same. In
/// every format: never an allow, never a deny.
#[tokio::test(flavor = "current_thread")]
async fn the_authorizer_fails_closed_when_its_read_takes_2_s() {
    // answered within the limit: allowed
    let (auth, _, token) = held_authorizer(Hold::reads(Some(StdDuration::from_millis(1500)))).await;
    let started = Instant::now();
    let d = auth.decide(Some(token.expose())).await;
    assert!(matches!(d, Ok(Decision::Allow(_))), "{d:?}");
    assert!(started.elapsed() >= StdDuration::from_millis(1500));

    // answered after it, or never: an error at 2 s, before the late answer
    for late in [Some(StdDuration::from_millis(2500)), None] {
        let (auth, _, token) = held_authorizer(Hold::reads(late)).await;
        let t = token.expose();
        // the four at once: each gives up on its own read
        let events = [
            v2_event(json!({ "authorization": bearer(t) })),
            token_event(t, ARN),
            request_event(json!({ "x-api-key": t }), ARN),
        ];
        let ((res, took), v2, rest_token, rest_request) = tokio::join!(
            timed(auth.decide(Some(t))),
            timed(auth.handle(events[0].clone())),
            timed(auth.handle(events[1].clone())),
            timed(auth.handle(events[2].clone())),
        );
        assert!(
            !auth.store().hooks.answered.load(Ordering::SeqCst),
            "a decision waited for the read answering after {late:?}"
        );
        assert!(
            matches!(res, Err(shared::authorizer::AuthorizerError::Timeout(d)) if d == StdDuration::from_secs(2)),
            "read answering after {late:?}: {res:?}"
        );
        assert!(took >= StdDuration::from_secs(2), "gave up after {took:?}");
        for ((res, took), event) in [v2, rest_token, rest_request].into_iter().zip(&events) {
            assert!(took >= StdDuration::from_secs(2), "{event}: {took:?}");
            let err = res.expect_err("no answer without the store").to_string();
            assert_ne!(err, "Unauthorized", "{event}");
            assert!(!err.contains(t));
        }
    }
}

/// The Lambda handler waits up to 50 ms for the usage write a call starts, so that a quick one
/// finishes before Lambda freezes the instance; a slow one is left running and lands later.
#[tokio::test(flavor = "current_thread")]
async fn the_handler_waits_50_ms_for_a_usage_write() {
    // a quick write: done when the handler answers (on this one thread, the spawned write runs
    // only while the handler waits)
    let (auth, key, token) = held_authorizer(Hold::usage_writes(StdDuration::ZERO)).await;
    let r = auth.handle(v2_event(json!({ "x-api-key": token.expose() }))).await.unwrap();
    assert_eq!(r["isAuthorized"], true);
    let stored = auth.store().inner.get(&key.prefix).await.unwrap().unwrap();
    assert_eq!(stored.submitted_jobs, 1, "the handler answered before a quick write");

    // a write that takes a second: the handler answers after 50 ms, without it
    let second = StdDuration::from_secs(1);
    let (auth, key, token) = held_authorizer(Hold::usage_writes(second)).await;
    let started = Instant::now();
    let r = auth.handle(v2_event(json!({ "x-api-key": token.expose() }))).await.unwrap();
    let took = started.elapsed();
    assert_eq!(r["isAuthorized"], true);
    assert!(took >= StdDuration::from_millis(50), "waited only {took:?}");
    let stored = auth.store().inner.get(&key.prefix).await.unwrap().unwrap();
    assert_eq!(stored.submitted_jobs, 0, "the handler waited for the slow write ({took:?})");
    // a second call in the same minute starts no write, and waits 50 ms again for the one
    // still running
    let again = Instant::now();
    auth.handle(v2_event(json!({ "x-api-key": token.expose() }))).await.unwrap();
    assert!(again.elapsed() >= StdDuration::from_millis(50));
    let stored = auth.store().inner.get(&key.prefix).await.unwrap().unwrap();
    assert_eq!(stored.submitted_jobs, 0, "the second call waited for the slow write");
    // the first write lands once its second is over
    tokio::time::sleep_until((started + second).into()).await;
    assert!(auth.flush_within(StdDuration::from_secs(3)).await);
    let stored = auth.store().inner.get(&key.prefix).await.unwrap().unwrap();
    assert_eq!(stored.submitted_jobs, 2, "the slow write, then the flush of the second call");
}

// ---- usage ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_hundred_calls_in_a_minute_write_usage_once_and_the_counter_ends_right() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    let (key, token) = h.stored_full_key().await;
    let t = token.expose();
    let start = h.now();

    // 100 allowed calls spread over 50 seconds, through decide and the Lambda handler
    for i in 0..100 {
        let allowed = if i % 2 == 0 {
            matches!(h.decide(Some(t)).await, Decision::Allow(_))
        } else {
            h.handle(v2_event(json!({ "x-api-key": t }))).await.unwrap()["isAuthorized"] == true
        };
        assert!(allowed);
        h.clock.advance(Duration::milliseconds(500));
    }
    let last_call = start + Duration::milliseconds(49_500);
    assert_eq!(h.usage_writes(), 1, "at most one usage write in the minute");
    assert_eq!(h.gets(), 100);

    // flushing (what a shutdown hook would do) writes the 99 still counted
    h.auth.flush().await;
    assert_eq!(h.usage_writes(), 2);
    let stored = h.stored(&key.prefix).await;
    assert_eq!(stored.submitted_jobs, 100);
    assert_eq!(stored.last_active, Some(last_call));

    // the minute restarts at that write: a call 59 s later waits, one 60 s later writes
    let flushed_at = h.now();
    h.clock.set(flushed_at + Duration::seconds(59));
    assert!(matches!(h.decide(Some(t)).await, Decision::Allow(_)));
    assert_eq!(h.usage_writes(), 2);
    h.clock.set(flushed_at + Duration::seconds(60));
    assert!(matches!(h.decide(Some(t)).await, Decision::Allow(_)));
    h.auth.flush().await; // nothing else pending: only waits for the write in flight
    assert_eq!(h.usage_writes(), 3);
    let stored = h.stored(&key.prefix).await;
    assert_eq!(stored.submitted_jobs, 102);
    assert_eq!(stored.last_active, Some(flushed_at + Duration::seconds(60)));

    // nothing pending: flush writes nothing
    h.auth.flush().await;
    assert_eq!(h.usage_writes(), 3);
    h.assert_logs_clean();
}

#[tokio::test]
async fn a_quiet_keys_usage_is_written_by_a_later_call_of_another_key() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    let (a, ta) = full_key();
    let (b, tb) = full_key();
    h.put(&a).await;
    h.put(&b).await;
    for _ in 0..3 {
        assert!(matches!(h.decide(Some(ta.expose())).await, Decision::Allow(_)));
    }
    h.clock.advance(Duration::seconds(90));
    assert!(matches!(h.decide(Some(tb.expose())).await, Decision::Allow(_)));
    // settle the writes in flight without adding any: nothing else is pending
    h.auth.flush().await;
    assert_eq!(h.usage_writes(), 3, "a: first call, a: the two later, b: first call");
    assert_eq!(h.stored(&a.prefix).await.submitted_jobs, 3);
    assert_eq!(h.stored(&b.prefix).await.submitted_jobs, 1);
    h.assert_logs_clean();
}

// ---- the REST policy -----------------------------------------------------------------------

/// IAM's ARN matching: `*` any run of characters (slashes included), `?` one character.
fn iam_matches(pattern: &str, arn: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), arn.as_bytes())
}

#[tokio::test]
async fn the_rest_policy_resource_covers_every_route_of_the_stage_and_nothing_else() {
    let Some(h) = harness(StdDuration::ZERO).await else { return };
    let (_key, token) = h.stored_full_key().await;
    let t = token.expose();
    let base = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
    let routes = [
        "GET/",
        "POST/keys",
        "GET/keys",
        "GET/keys/7Fq2LwP9xZk1",
        "PATCH/keys/7Fq2LwP9xZk1",
        "DELETE/keys/7Fq2LwP9xZk1",
        "POST/keys/7Fq2LwP9xZk1/replace",
        "GET/protected/reports/daily/2026",
        "PUT/protected/a",
        "OPTIONS/protected/a/b",
    ];
    for asked in routes {
        // whichever route the first request hits, the (cached) policy serves every route
        let arn = format!("{base}/{asked}");
        for event in [token_event(&bearer(t), &arn), request_event(json!({ "x-api-key": t }), &arn)]
        {
            let r = h.handle(event).await.unwrap();
            let st = &r["policyDocument"]["Statement"][0];
            assert_eq!(st["Effect"], "Allow");
            let resources = st["Resource"].as_array().unwrap();
            assert_eq!(resources.len(), 1);
            let resource = resources[0].as_str().unwrap();
            for route in routes {
                let other = format!("{base}/{route}");
                assert!(iam_matches(resource, &other), "{resource} misses {other}");
            }
            for outside in [
                "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/test/GET/keys",
                "arn:aws:execute-api:eu-west-1:123456789012:zzzzzzzzzz/prod/GET/keys",
                "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/keys",
                "arn:aws:execute-api:eu-west-1:999999999999:a1b2c3d4e5/prod/GET/keys",
            ] {
                assert!(!iam_matches(resource, outside), "{resource} covers {outside}");
            }
        }
    }
    h.auth.flush().await;
    h.assert_logs_clean();
}

// ---- optional positive caching -------------------------------------------------------------

#[tokio::test]
async fn with_a_cache_ttl_allows_are_reused_until_it_passes_and_refusals_never() {
    let Some(h) = harness(StdDuration::from_secs(30)).await else { return };
    let (key, token) = h.stored_full_key().await;
    let t = token.expose();
    assert!(matches!(h.decide(Some(t)).await, Decision::Allow(_)));
    assert_eq!(h.gets(), 1);

    // disabled in the store, but still allowed from the cache: the documented trade-off
    let mut disabled = h.stored(&key.prefix).await;
    disabled.status = Status::Disabled;
    h.store
        .update(&disabled, disabled.version, &shared::testing::audit_of(&disabled))
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(29));
    assert!(matches!(h.decide(Some(t)).await, Decision::Allow(_)));
    assert_eq!(h.gets(), 1);

    // once the TTL passes the store is asked again
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.decide(Some(t)).await, Decision::Deny);
    assert_eq!(h.gets(), 2);

    // refusals are never cached
    let unknown = Token::generate(KeyKind::Team);
    assert_eq!(h.decide(Some(unknown.expose())).await, Decision::Deny);
    assert_eq!(h.decide(Some(unknown.expose())).await, Decision::Deny);
    assert_eq!(h.gets(), 4);
    h.auth.flush().await;
    h.assert_logs_clean();
}

// ---- connection warm-up -------------------------------------------------------------------

/// `DynamoStore::warm_up` (what every function runs at cold start unless DYNAMODB_WARM_UP=false)
/// opens the one connection the first real request then uses, writes nothing, counts an error
/// answer as warm, and reports only a store that does not answer.
///
/// One connection holds exactly when no request is retried after an attempt timed out (the
/// timed-out attempt's connection is dropped and the retry opens another): the client here has
/// patient timeouts, and the request counter shows every request went out once.
#[tokio::test]
async fn the_warm_up_opens_the_connection_the_first_call_uses() {
    use integration_tests::requests::{counting_client, CallCounter};
    let Some(real) = dynamo_store("warm").await else { return };
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let upstream = endpoint.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
    let relay = integration_tests::net::Relay::new(Some(upstream));
    let patient = shared::aws::Timeouts {
        operation: StdDuration::from_secs(20),
        attempt: StdDuration::from_secs(10),
        ..Default::default()
    };
    let counter = CallCounter::default();
    let client = integration_tests::client_at(relay.url(), patient).await;
    let store = DynamoStore::new(counting_client(&client, &counter), real.table(), codec());
    let (key, token) = full_key();
    real.create(&key, &shared::testing::audit_of(&key)).await.unwrap();

    let took = store.warm_up().await.unwrap();
    assert_eq!(relay.accepted(), 1, "the warm-up connected");
    eprintln!("warm-up took {took:?}");
    let auth = Authorizer::new(store, Arc::new(SystemClock), StdDuration::ZERO);
    for _ in 0..5 {
        let d = auth.decide(Some(token.expose())).await.unwrap();
        assert!(matches!(d, Decision::Allow(_)));
        // the first call's usage write done before the next GetItem, so no two requests are
        // ever in flight together (which would rightly take a second connection)
        auth.flush().await;
    }
    // the warm-up's GetItem, and per call its GetItem and (flushed) usage write: each sent once
    assert_eq!(counter.take().describe(), "GetItem 6, UpdateItem 5");
    assert_eq!(relay.accepted(), 1, "the calls after it reuse its connection");

    // it wrote nothing: the table holds the key's item (and its audit record) and nothing else
    let scan = real.client().scan().table_name(real.table()).send().await.unwrap();
    let pks: Vec<&str> =
        scan.items().iter().filter_map(|i| i["pk"].as_s().ok()).map(String::as_str).collect();
    assert_eq!(pks.len(), 2, "{pks:?}");
    assert!(pks.iter().all(|pk| pk.starts_with("KEY#") || pk.starts_with("AUDIT#")), "{pks:?}");

    // an error answer (here: no such table) still opened the connection: Ok
    let missing = DynamoStore::new(real.client().clone(), "no-such-table", codec());
    missing.warm_up().await.unwrap();

    // no answer at all is the error, within the client's timeout
    let closed = integration_tests::net::ClosedPort::new();
    let started = Instant::now();
    let err = store_at(&closed.url()).await.warm_up().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < StdDuration::from_secs(3));
}
