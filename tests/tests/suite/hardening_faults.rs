//! Faults. The key store goes away two ways:
//! - an endpoint nobody listens on (a closed port): 1,000 authorizer calls in all three API
//!   Gateway formats fail closed (an error, never an allow, never a deny), and every management
//!   route answers 503 problem+json with `Retry-After`;
//! - a private DynamoDB Local (the cached jar, behind a relay on a port the test holds, its data
//!   in a scratch directory)
//!   killed with SIGKILL while authorizations, team-key creates (two-item transactions), deletes
//!   (transactions that free the team-key slot) and updates are running: from the moment it is
//!   gone nothing is allowed and every management answer is 503; restarted on the same data,
//!   the same clients recover, and a scan of the table finds no partial state — no team-key
//!   sentinel without its live key, no live team key without its sentinel, no key whose index
//!   attributes disagree with it or that its owner's index does not list.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use serde_json::{json, Value};
use shared::api::{self, AppState};
use shared::authorizer::{Authorizer, Decision};
use shared::clock::SystemClock;
use shared::store::dynamo::create_table;
use shared::store::dynamo::item::from_item;
use shared::store::dynamo::layout::{owner_partition as owner_pk, sort_key, team_partition};
use shared::store::{DynamoStore, KeyLister, KeyReader, ListQuery, ListScope};
use shared::token::{KeyKind, Token};
use shared::ApiKey;
use tokio::sync::Notify;

use integration_tests::api::*;
use integration_tests::figures::Figures;
use integration_tests::{attr, scan_table};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/reports";

/// A DynamoDB client like the functions' (same retries; the functions' timeouts unless
/// `patient`, for a store that is slow rather than gone) for `endpoint`.
async fn client_at(endpoint: &str, patient: bool) -> aws_sdk_dynamodb::Client {
    let mut timeouts = shared::aws::Timeouts::default();
    if patient {
        // The suite keeps both cores busy: the private DynamoDB Local may answer slowly, and
        // what this test is about is a store that is gone, not one that is slow.
        timeouts.operation = StdDuration::from_secs(10);
        timeouts.attempt = StdDuration::from_secs(5);
    }
    integration_tests::client_at(endpoint, timeouts).await
}

/// A port free a moment ago, for a process that binds it itself (DynamoDB Local): someone may
/// take it in between, so the process's start is retried on another one.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// What an authorizer answer means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Verdict {
    Allow,
    Deny,
    /// The invocation failed: API Gateway answers 500, nothing is let through.
    Error,
}

fn verdict_of_event<E: std::fmt::Display>(answer: &Result<Value, E>) -> Verdict {
    match answer {
        Err(e) if e.to_string() == "Unauthorized" => Verdict::Deny,
        Err(_) => Verdict::Error,
        Ok(v) if v["isAuthorized"] == true => Verdict::Allow,
        Ok(v) if v["policyDocument"]["Statement"][0]["Effect"] == "Allow" => Verdict::Allow,
        Ok(_) => Verdict::Deny,
    }
}

fn verdict(d: &Result<Decision, shared::authorizer::AuthorizerError>) -> Verdict {
    match d {
        Ok(Decision::Allow(_)) => Verdict::Allow,
        Ok(_) => Verdict::Deny,
        Err(_) => Verdict::Error,
    }
}

/// Every management route once, by an admin, on `key`.
fn every_route(admin: &ApiKey, key: &ApiKey) -> Vec<Call> {
    vec![
        Call::new("POST", "/keys").json(json!({"name": "during the fault", "projectId": "p1"})),
        Call::new("POST", "/keys").json(json!({"name": "a team key", "userId": "newcomer"})),
        Call::new("GET", "/keys").query("limit=5"),
        Call::new("GET", path(key)),
        Call::new("PATCH", path(key)).json(json!({"description": "x"})),
        Call::new("POST", replace_path(key)),
        Call::new("DELETE", path(key)),
    ]
    .into_iter()
    .map(|c| c.by(admin))
    .collect()
}

/// A 503 as docs/API.md describes it: problem+json, `Retry-After`, no internals.
fn assert_unavailable(a: &Answer, what: &str) {
    assert_eq!(a.status, 503, "{what}: {}", a.text);
    assert_eq!(a.header("content-type"), Some("application/problem+json"), "{what}");
    assert_eq!(a.header("retry-after"), Some("1"), "{what}");
    assert_eq!(a.body["status"], 503, "{what}");
    assert!(a.body["requestId"].as_str().is_some_and(|r| !r.is_empty()), "{what}");
    for internal in ["127.0.0.1", "dispatch", "onnection", "timeout", "SdkError", "KEY#"] {
        assert!(!a.text.contains(internal), "{what} leaks {internal}: {}", a.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_never_allows_in_1000_tries_and_management_answers_503() {
    let started = Instant::now();
    let figures = Figures::default();
    // bound, not listening, held for the whole test: nothing listens there, nobody takes it
    let closed = integration_tests::net::ClosedPort::new();
    let store = DynamoStore::new(
        client_at(&closed.url(), false).await,
        "unreachable",
        integration_tests::codec(),
    );
    let auth = Arc::new(Authorizer::new(store.clone(), Arc::new(SystemClock), StdDuration::ZERO));
    // 1,000 tries of well-formed keys in four shapes, 50 at a time.
    let limit = Arc::new(tokio::sync::Semaphore::new(50));
    let mut tries = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let (auth, limit) = (auth.clone(), limit.clone());
        tries.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            let kind = if i % 2 == 0 { KeyKind::Project } else { KeyKind::Team };
            let token = Token::generate(kind);
            let t = token.expose();
            match i % 4 {
                0 => verdict(&auth.decide(Some(t)).await),
                1 => verdict_of_event(
                    &auth
                        .handle(json!({
                            "version": "2.0", "type": "REQUEST", "routeKey": "GET /reports",
                            "routeArn": ARN, "headers": { "authorization": format!("Bearer {t}") },
                        }))
                        .await,
                ),
                2 => verdict_of_event(
                    &auth
                        .handle(
                            json!({ "type": "TOKEN", "authorizationToken": t, "methodArn": ARN }),
                        )
                        .await,
                ),
                _ => verdict_of_event(
                    &auth
                        .handle(json!({
                            "type": "REQUEST", "methodArn": ARN, "httpMethod": "GET",
                            "headers": { "x-api-key": t },
                        }))
                        .await,
                ),
            }
        });
    }
    let mut verdicts: HashMap<Verdict, usize> = HashMap::new();
    while let Some(v) = tries.join_next().await {
        *verdicts.entry(v.expect("a try panicked")).or_default() += 1;
    }
    let allows = verdicts.get(&Verdict::Allow).copied().unwrap_or(0);
    Figures::add(&figures.requests, 1000);
    Figures::add(&figures.allows_during_faults, allows);
    let authorizer_time = started.elapsed();

    // Every management route: 503 with Retry-After.
    let (admin, _) = team_key(TEAM, "ada", &["admin"]);
    let (target, _) = project_key(TEAM, "p1", &[]);
    let state = AppState::new(store, Arc::new(SystemClock));
    let mut unavailable = 0;
    for call in every_route(&admin, &target) {
        let what = format!("{} {}", call.method, call.path);
        let a = Answer::from(
            api::dispatch(&state, call.request()).await.unwrap_or_else(|e| match e {}),
        );
        Figures::add(&figures.requests, 1);
        assert_unavailable(&a, &what);
        unavailable += 1;
    }
    figures.report(
        "faults: closed port",
        &format!(
            "authorizer verdicts {verdicts:?} in {authorizer_time:.1?}; {unavailable} management \
             answers, all 503 with Retry-After"
        ),
    );
    assert_eq!(allows, 0, "the authorizer allowed with no store");
    assert_eq!(verdicts.get(&Verdict::Error), Some(&1000), "{verdicts:?}");
}

// ---- a DynamoDB Local of our own, killed mid-run ---------------------------------------------

/// The cached DynamoDB Local (tests/run.sh fetches it), or `DYNAMODB_LOCAL_DIR`.
fn dynamodb_local_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("DYNAMODB_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join(".cache/dynamodb-local"));
    dir.join("DynamoDBLocal.jar").is_file().then_some(dir)
}

/// A DynamoDB Local of the test's own, reached through a relay on a port the test holds from
/// start to end: each start of java gets a fresh port (retried on another if it cannot have
/// it), and the relay is pointed at it once it answers — so the clients, given the relay's
/// address, reach the restarted process as they reached the first, and never a stranger that
/// took a released port.
struct PrivateDynamo {
    child: Option<Child>,
    /// Kills java if this test process dies without running its destructors (an abort).
    watchdog: Option<Child>,
    jar_dir: PathBuf,
    data: PathBuf,
    relay: integration_tests::net::Relay,
}

impl PrivateDynamo {
    /// Starts java with its database in `data` and waits until it answers.
    async fn start(jar_dir: &Path, data: &Path) -> PrivateDynamo {
        let mut me = PrivateDynamo {
            child: None,
            watchdog: None,
            jar_dir: jar_dir.to_owned(),
            data: data.to_owned(),
            relay: integration_tests::net::Relay::new(None),
        };
        me.launch().await;
        me
    }

    async fn launch(&mut self) {
        // A few attempts, each on a fresh port, each until ready.
        for attempt in 0..5 {
            let port = free_port();
            let client = client_at(&format!("http://127.0.0.1:{port}"), true).await;
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.data.join("dynamodb-local.log"))
                .unwrap();
            // A light JIT and a small heap: its start-up competes for the machine's two cores
            // with the rest of the suite.
            let mut child = Command::new("java")
                .args(["-XX:TieredStopAtLevel=1", "-XX:ActiveProcessorCount=1"])
                .args(["-XX:+UseSerialGC", "-Xmx256m"])
                .arg(format!(
                    "-Djava.library.path={}",
                    self.jar_dir.join("DynamoDBLocal_lib").display()
                ))
                .arg("-jar")
                .arg(self.jar_dir.join("DynamoDBLocal.jar"))
                .args(["-sharedDb", "-disableTelemetry", "-dbPath"])
                .arg(&self.data)
                .args(["-port", &port.to_string()])
                .current_dir(&self.data)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("java starts (Java 17 is needed for DynamoDB Local)");
            let deadline = Instant::now() + StdDuration::from_secs(90);
            loop {
                if client.list_tables().send().await.is_ok() {
                    let watch = format!(
                        "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -9 {} 2>/dev/null",
                        std::process::id(),
                        child.id()
                    );
                    self.watchdog = Command::new("sh")
                        .args(["-c", &watch])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .ok();
                    self.child = Some(child);
                    self.relay.point_at(Some(([127, 0, 0, 1], port).into()));
                    return;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    eprintln!(
                        "DynamoDB Local exited ({status}) on port {port}, attempt {attempt}; \
                         retrying on another port"
                    );
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "DynamoDB Local did not answer within 90 s (log in {})",
                    self.data.display()
                );
                tokio::time::sleep(StdDuration::from_millis(100)).await;
            }
        }
        panic!("DynamoDB Local would not start in 5 attempts (log in {})", self.data.display());
    }

    /// The relay's address: where the clients go, whichever process answers there.
    fn endpoint(&self) -> String {
        self.relay.url().to_owned()
    }

    /// SIGKILL, and wait until the process is gone; from now on the relay closes every new
    /// connection at once (as a refused one: nothing listens).
    fn kill(&mut self) {
        self.relay.point_at(None);
        for mut c in [self.child.take(), self.watchdog.take()].into_iter().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateDynamo {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// One management call made during the run.
struct Write {
    started: Instant,
    took: StdDuration,
    op: &'static str,
    status: u16,
    prefix: Option<String>,
    answer: Answer,
}

/// Why the table is not consistent, one line per problem.
fn partial_state(
    items: &[HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut keys: HashMap<String, ApiKey> = HashMap::new();
    let mut sentinels: HashMap<String, String> = HashMap::new();
    let mut records: HashMap<String, u64> = HashMap::new();
    for item in items {
        let pk = attr(item, "pk").unwrap_or("").to_owned();
        if pk.starts_with("KEY#") {
            match from_item(item) {
                Ok(k) => {
                    for (name, want) in [
                        ("ownerPk", owner_pk(&k)),
                        ("teamPk", team_partition(&k)),
                        ("createdSk", sort_key(&k)),
                    ] {
                        if attr(item, name) != Some(want.as_str()) {
                            problems.push(format!(
                                "{pk}: {name} is {:?}, not {want}",
                                attr(item, name)
                            ));
                        }
                    }
                    keys.insert(k.prefix.as_str().to_owned(), k);
                }
                Err(e) => problems.push(format!("{pk}: unreadable: {e}")),
            }
        } else if pk.starts_with("TEAMKEY#") {
            sentinels.insert(pk.clone(), attr(item, "keyPrefix").unwrap_or("").to_owned());
        } else if pk.starts_with("AUDIT#") {
            match shared::store::dynamo::audit::from_item(item) {
                Ok(r) => *records.entry(r.key_prefix.to_string()).or_default() += 1,
                Err(e) => problems.push(format!("{pk}: unreadable: {e}")),
            }
        } else {
            problems.push(format!("an item of no known kind: {pk}"));
        }
    }
    for (pk, prefix) in &sentinels {
        match keys.get(prefix) {
            None => problems.push(format!("{pk}: a sentinel without its key {prefix}")),
            Some(k) if k.status == shared::Status::Deleted => {
                problems.push(format!("{pk}: a sentinel of the deleted key {prefix}"))
            }
            Some(k) => {
                let want = shared::store::dynamo::layout::sentinel_pk(
                    &k.team_id,
                    k.user_id.as_ref().unwrap(),
                );
                if &want != pk {
                    problems.push(format!("{pk}: points at {prefix}, whose slot is {want}"));
                }
            }
        }
    }
    // Every change wrote its audit record with it, and no record stands without its change: a
    // key at version v was created and changed v - 1 times, one record each.
    for (prefix, n) in &records {
        match keys.get(prefix) {
            None => problems.push(format!("{n} audit record(s) of {prefix}, which does not exist")),
            Some(k) if k.version != *n => problems
                .push(format!("{prefix} is at version {} with {n} audit record(s)", k.version)),
            Some(_) => {}
        }
    }
    for k in keys.values() {
        if !records.contains_key(k.prefix.as_str()) {
            problems.push(format!("{} has no audit record", k.prefix));
        }
        if k.kind == KeyKind::Team && k.status != shared::Status::Deleted {
            let slot =
                shared::store::dynamo::layout::sentinel_pk(&k.team_id, k.user_id.as_ref().unwrap());
            if sentinels.get(&slot).map(String::as_str) != Some(k.prefix.as_str()) {
                problems.push(format!("live team key {} without its sentinel {slot}", k.prefix));
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_local_killed_mid_run_fails_closed_and_leaves_no_partial_state() {
    if !integration_tests::dynamodb_local() {
        integration_tests::skip(
            "dynamodb_local_killed_mid_run_fails_closed_and_leaves_no_partial_state",
            "DynamoDB Local is not running",
            "DYNAMODB_LOCAL_REQUIRED",
        );
        return;
    }
    let Some(jar_dir) = dynamodb_local_dir() else {
        panic!("no DynamoDBLocal.jar in .cache/dynamodb-local (tests/run.sh fetches it) or DYNAMODB_LOCAL_DIR");
    };
    let started = Instant::now();
    let figures = Figures::default();
    let data = std::env::temp_dir().join(format!(
        "keys-ddb-fault-{}-{}",
        std::process::id(),
        shared::token::random_base62(6)
    ));
    std::fs::create_dir_all(&data).unwrap();
    let mut ddb = PrivateDynamo::start(&jar_dir, &data).await;
    let boot = started.elapsed();
    let client = client_at(&ddb.endpoint(), true).await;
    let table = integration_tests::table_name("fault");
    create_table(&client, &table).await.expect("creating the table");
    let store = DynamoStore::new(client, table.as_str(), integration_tests::codec());
    let api = Arc::new(Api::new(store.clone()));
    let auth =
        Arc::new(Authorizer::new(store.clone(), Arc::new(api.clock.clone()), StdDuration::ZERO));
    let (admin, _) = team_key(TEAM, "ada", &["admin"]);
    let (good, good_token) = p1_key(&api, &[]).await;
    api.put(&admin).await;
    assert_eq!(verdict(&auth.decide(Some(good_token.expose())).await), Verdict::Allow);

    // The run: writers create team keys (and delete some again) and update a key; authorizers
    // present a good key. SIGKILL once a dozen team keys exist; each task then goes on for a
    // fixed number of calls.
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let created = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let mut writers = Vec::new();
    for w in 0..3usize {
        let (api, admin, good) = (api.clone(), admin.clone(), good.clone());
        let (killed_at, created, enough) = (killed_at.clone(), created.clone(), enough.clone());
        writers.push(tokio::spawn(async move {
            let mut log: Vec<Write> = Vec::new();
            let mut mine: Vec<String> = Vec::new();
            let mut after = 0;
            let mut i = 0;
            while after < 15 {
                i += 1;
                let call = if i % 3 == 2 && !mine.is_empty() {
                    ("delete", Call::new("DELETE", format!("/keys/{}", mine.remove(0))))
                } else if i % 3 == 0 {
                    (
                        "update",
                        Call::new("PATCH", path(&good))
                            .json(json!({"description": format!("w{w} {i}")})),
                    )
                } else {
                    (
                        "create",
                        Call::new("POST", "/keys").json(
                            json!({"name": format!("w{w} {i}"), "userId": format!("w{w}-u{i}")}),
                        ),
                    )
                };
                let (op, call) = call;
                let prefix = call.path.strip_prefix("/keys/").map(str::to_owned);
                let started = Instant::now();
                let answer = api.send(call.by(&admin)).await;
                let prefix = prefix.or_else(|| answer.body["prefix"].as_str().map(str::to_owned));
                if op == "create" && answer.status == 201 {
                    mine.push(prefix.clone().unwrap());
                    if created.fetch_add(1, Ordering::SeqCst) + 1 == 12 {
                        enough.notify_one();
                    }
                }
                if killed_at.lock().unwrap().is_some_and(|k| started > k) {
                    after += 1;
                }
                log.push(Write {
                    started,
                    took: started.elapsed(),
                    op,
                    status: answer.status,
                    prefix,
                    answer,
                });
            }
            log
        }));
    }
    let mut authorizers = Vec::new();
    for _ in 0..8 {
        let (auth, killed_at, token) = (auth.clone(), killed_at.clone(), good_token.clone());
        authorizers.push(tokio::spawn(async move {
            let mut log: Vec<(Instant, Verdict)> = Vec::new();
            let mut after = 0;
            while after < 60 {
                let started = Instant::now();
                let v = verdict(&auth.decide(Some(token.expose())).await);
                if killed_at.lock().unwrap().is_some_and(|k| started > k) {
                    after += 1;
                }
                log.push((started, v));
            }
            log
        }));
    }
    // A dozen team keys within a minute, or the run is stuck before the fault.
    let waited = tokio::time::timeout(StdDuration::from_secs(60), enough.notified()).await;
    assert!(
        waited.is_ok(),
        "the writers made only {} team keys in 60 s: the store was too slow to start the fault",
        created.load(Ordering::SeqCst)
    );
    ddb.kill();
    let kill = Instant::now();
    *killed_at.lock().unwrap() = Some(kill);

    let mut writes = Vec::new();
    for w in writers {
        writes.extend(w.await.expect("a writer panicked"));
    }
    let mut decisions = Vec::new();
    for a in authorizers {
        decisions.extend(a.await.expect("an authorizer task panicked"));
    }
    let fault_time = kill.elapsed();

    // From the kill on: nothing allowed, every management answer a proper 503.
    let mut during = HashMap::<Verdict, usize>::new();
    for (at, v) in &decisions {
        if *at > kill {
            *during.entry(*v).or_default() += 1;
        }
    }
    let allows = during.get(&Verdict::Allow).copied().unwrap_or(0);
    Figures::add(&figures.requests, decisions.len() + writes.len());
    Figures::add(&figures.allows_during_faults, allows);
    let mut unavailable = 0;
    for w in &writes {
        if w.status >= 500 && w.status != 503 {
            Figures::add(&figures.server_errors, 1);
        }
        if w.started > kill {
            assert_unavailable(&w.answer, w.op);
            unavailable += 1;
        }
    }
    assert!(
        decisions.iter().any(|(at, v)| *at < kill && *v == Verdict::Allow),
        "no allow before the fault"
    );

    // Restarted on the same data: the same store and authorizer work again.
    let restart = Instant::now();
    ddb.launch().await;
    let restart = restart.elapsed();
    let mut recovered = false;
    for _ in 0..20 {
        // The first calls may meet pooled connections to the dead process; the client retries.
        if verdict(&auth.decide(Some(good_token.expose())).await) == Verdict::Allow {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "the authorizer did not recover after the restart");
    api.create(&admin, json!({"name": "after", "userId": "after-restart"})).await.expect(201);

    // No partial state. (Writes acknowledged in the last moments before SIGKILL may be gone:
    // DynamoDB Local acknowledges a TransactWriteItems before it is on disk — reproduced with
    // boto3 and no code of ours — which real DynamoDB never does. Counted, not asserted; that
    // such a write vanished whole, key and sentinel together, is what the scan checks.)
    let items = scan_table(&store).await;
    let mut problems = partial_state(&items);
    let mut vanished = Vec::new();
    for w in &writes {
        let Some(p) = w.prefix.as_deref().and_then(shared::Prefix::parse) else {
            continue;
        };
        let stored = store.get(&p).await.expect("the store answers");
        let there = match (w.op, w.status) {
            ("create", 201) => stored.is_some(),
            ("delete", 204) => stored.is_some_and(|k| k.status == shared::Status::Deleted),
            _ => true,
        };
        if !there {
            vanished.push(format!(
                "{} {p} acknowledged {:?} before the kill",
                w.op,
                kill.saturating_duration_since(w.started + w.took)
            ));
        }
    }
    // Every live team key is listed by its owner's index.
    let listed: HashSet<String> = {
        let mut all = HashSet::new();
        let mut cursor = None;
        loop {
            let page = store
                .list(&ListQuery {
                    limit: 100,
                    cursor: cursor.take(),
                    ..ListQuery::new(ListScope::TeamKeys(id(TEAM)))
                })
                .await
                .unwrap();
            all.extend(page.items.iter().map(|k| k.prefix.as_str().to_owned()));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break all,
            }
        }
    };
    for item in &items {
        if let Ok(k) = from_item(item) {
            if k.kind == KeyKind::Team
                && k.status != shared::Status::Deleted
                && !listed.contains(k.prefix.as_str())
            {
                problems.push(format!("live team key {} missing from its owner's index", k.prefix));
            }
        }
    }
    let acknowledged = writes.iter().filter(|w| w.status < 300).count();
    figures.report(
        "faults: DynamoDB Local killed mid-run",
        &format!(
            "{} decisions ({} after the kill: {during:?}), {} management calls ({acknowledged} \
             acknowledged, {unavailable} after the kill, all 503), {} items scanned, {} partial \
             states; acknowledged writes DynamoDB Local dropped at SIGKILL: {vanished:?}; boot {boot:.1?}, fault phase {fault_time:.1?}, \
             restart {restart:.1?}, total {:.1?}",
            decisions.len(),
            during.values().sum::<usize>(),
            writes.len(),
            items.len(),
            problems.len(),
            started.elapsed()
        ),
    );
    assert_eq!(allows, 0, "allowed while the store was down: {during:?}");
    assert_eq!(during.values().sum::<usize>(), during.get(&Verdict::Error).copied().unwrap_or(0));
    assert!(unavailable >= 45, "every writer went on after the kill");
    assert_eq!(Figures::get(&figures.server_errors), 0);
    assert_eq!(problems, Vec::<String>::new(), "partial state after the restart");
}
