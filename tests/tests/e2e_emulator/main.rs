//! End to end under the real Lambda runtime emulator (the deployed shape, docs/DEPLOY.md): the function binaries
//! `template.yaml` builds run under `cargo lambda watch` against DynamoDB Local and answer the
//! events in `events/`, and events the SAM CLI generates, as API Gateway expects.
//!
//! - `management_events`: every management event goes to the binary the template routes its
//!   `routeKey` to, in an order where each finds the key it names (seeded with the events'
//!   prefix); the tokens create and replace hand out pass the `authorize` binary, and stop
//!   passing once deleted. One event also goes through `cargo lambda invoke --data-file`.
//! - `authorizer_events`: the three authorizer events of `events/` with a real key put in are
//!   allowed with the key's whole context; as committed (a right prefix, a wrong secret) they
//!   are refused.
//! - `sam_generated_authorizer_events`: `sam local generate-event apigateway authorizer` and
//!   `... request-authorizer` with a real key: a REST policy allowing the stage, principalId =
//!   prefix; a malformed or missing key is the `Unauthorized` error; a disabled key or a wrong
//!   secret is a Deny policy.
//!
//! Needs `cargo-lambda` (and `sam` for the last one) on PATH and DynamoDB Local: tests/run.sh
//! provides both and sets `E2E_REQUIRED=1`; without it (and outside CI) a missing tool skips,
//! recorded in `target/tmp/skipped-tests.txt`.

use integration_tests::cfn;
mod emulator;
mod runtime_loop;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use emulator::{on_path, Emulator};
use serde_json::{json, Map, Value};
use shared::identity::AuthContext;
use shared::model::Status;
use shared::store::{DynamoStore, KeyWriter};
use shared::testing::sample_key_with_token;
use shared::token::{KeyKind, Prefix, Token};
use shared::ApiKey;

/// The key the management events name (`/keys/7Fq2LwP9xZk1`), and the REST TOKEN event's.
const EVENT_PREFIX: &str = "7Fq2LwP9xZk1";
const TOKEN_EVENT_PREFIX: &str = "Q4mZ8rTw2Lp6";

// ---- set-up ----------------------------------------------------------------------------------

struct Setup {
    rt: tokio::runtime::Runtime,
    store: DynamoStore,
    emulator: Emulator,
    template: Value,
}

impl Setup {
    /// A table of its own and an emulator whose functions use it; `None` (skipped visibly, see
    /// [`integration_tests::skip`]) when a tool is missing and neither `E2E_REQUIRED=1` nor
    /// `CI=true` make that a failure.
    fn new(tag: &str, needs: &[&str]) -> Option<Setup> {
        for tool in ["cargo-lambda"].iter().chain(needs) {
            if !on_path(tool) {
                let why = format!("{tool} is not on PATH (tests/run.sh puts .venv/bin on PATH)");
                integration_tests::skip(tag, &why, "E2E_REQUIRED");
                return None;
            }
        }
        if !integration_tests::dynamodb_local() {
            integration_tests::skip(tag, "DynamoDB Local is not running", "E2E_REQUIRED");
            return None;
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let store =
            rt.block_on(integration_tests::dynamo_store(tag)).expect("DynamoDB Local is running");
        let template = cfn::template();
        let root = cfn::workspace_root();
        build_once(&root, &template);
        let env = [
            ("TABLE_NAME", store.table().to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()),
            ("AWS_ACCESS_KEY_ID", "e2e".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "e2e".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AUTH_CACHE_TTL_SECONDS", "0".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ];
        let emulator = Emulator::start(&root, &env);
        Some(Setup { rt, store, emulator, template })
    }

    fn seed(&self, key: &ApiKey) {
        self.rt
            .block_on(self.store.create(key, &shared::testing::audit_of(key)))
            .expect("seeding a key");
    }

    /// Invokes the binary the template routes `event`'s `routeKey` to; its API Gateway answer.
    fn call(&self, event: &Value) -> Answer {
        let route_key = event["routeKey"].as_str().expect("routeKey");
        let binary = binary_for_route(&self.template, route_key);
        Answer::from(self.emulator.invoke(&binary, event).ok())
    }

    /// Invokes the template's authorizer function.
    fn authorize(&self, event: &Value) -> emulator::Invocation {
        let binary = cfn::function_by_binary(&self.template, "authorize").binary;
        self.emulator.invoke(binary, event)
    }

    /// The emulator ran every binary it started from the workspace's debug build without
    /// compiling anything, and no token reached its log.
    fn check_log(&self, binaries: &[&str], tokens: &[&Token]) {
        let log = self.emulator.log_text();
        let compiled: Vec<&str> = log.lines().filter(|l| l.contains("Compiling ")).collect();
        assert!(compiled.is_empty(), "cargo lambda watch compiled again: {compiled:?}");
        for b in binaries {
            // "Running `target/debug/<bin>`" (or under another CARGO_TARGET_DIR)
            let ran = format!("/debug/{b}`");
            assert!(
                log.lines().any(|l| l.contains("Running `") && l.contains(&ran)),
                "{b} did not run from target/debug\n{}",
                self.emulator.log_tail(40)
            );
        }
        for t in tokens {
            assert!(!log.contains(t.expose()), "a token reached the log");
        }
    }
}

/// The template's binaries, built once per test process (tests run in parallel threads).
fn build_once(root: &Path, template: &Value) {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let bins: Vec<&str> = cfn::functions(template).iter().map(|f| f.binary).collect();
        emulator::build(root, &bins);
    });
}

/// The binary of the function whose HttpApi event has `route_key` (`"GET /keys/{prefix}"`).
fn binary_for_route(template: &Value, route_key: &str) -> String {
    let (method, path) = route_key.split_once(' ').expect("METHOD /path");
    cfn::functions(template)
        .into_iter()
        .find(|f| {
            cfn::object(&f.resource["Properties"]["Events"])
                .values()
                .any(|e| e["Properties"]["Method"] == method && e["Properties"]["Path"] == path)
        })
        .unwrap_or_else(|| panic!("template.yaml routes no function for {route_key}"))
        .binary
        .to_owned()
}

fn event(name: &str) -> Value {
    let path = cfn::workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A key with a fresh secret for `prefix` (sample fields: team-1, project-1 or user-1).
fn key_with_prefix(kind: KeyKind, prefix: &str) -> (ApiKey, Token) {
    let token = Token::generate_for(kind, Prefix::parse(prefix).unwrap());
    let (mut key, _) = sample_key_with_token(kind);
    key.prefix = token.prefix().clone();
    key.secret_hash = token.hash();
    key.preview = token.preview();
    (key, token)
}

/// The management function's API Gateway (payload 2.0) response.
#[derive(Debug)]
struct Answer {
    status: u64,
    headers: Map<String, Value>,
    body: Value,
}

impl Answer {
    fn from(r: Value) -> Answer {
        assert_eq!(r["isBase64Encoded"], false, "{r}");
        let body = match r["body"].as_str() {
            None | Some("") => Value::Null,
            Some(text) => serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}")),
        };
        Answer {
            status: r["statusCode"].as_u64().expect("statusCode"),
            headers: cfn::object(&r["headers"]),
            body,
        }
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
    }
    #[track_caller]
    fn expect(self, status: u64) -> Answer {
        assert_eq!(self.status, status, "{self:?}");
        self
    }
}

// ---- authorizer events with a key put in -------------------------------------------------------

fn http_v2_with(token: &str) -> Value {
    let mut e = event("authorizer-http-v2.json");
    let bearer = format!("Bearer {token}");
    e["headers"]["authorization"] = json!(bearer);
    e["identitySource"] = json!([bearer]);
    e
}

fn rest_request_with(token: &str) -> Value {
    let mut e = event("authorizer-rest-request.json");
    e["headers"]["X-API-Key"] = json!(token);
    e["multiValueHeaders"]["X-API-Key"] = json!([token]);
    e
}

fn rest_token_with(token: &str) -> Value {
    let mut e = event("authorizer-rest-token.json");
    e["authorizationToken"] = json!(format!("Bearer {token}"));
    e
}

#[track_caller]
fn assert_simple(answer: Value, allowed: Option<&ApiKey>) {
    match allowed {
        Some(key) => assert_eq!(
            answer,
            json!({ "isAuthorized": true, "context": AuthContext::of(key).to_map() })
        ),
        None => assert_eq!(answer, json!({ "isAuthorized": false, "context": {} })),
    }
}

/// A REST authorizer's IAM policy: `effect` for `principal` on `stage` (every method and path),
/// with the key's context when allowed.
#[track_caller]
fn assert_policy(answer: Value, effect: &str, principal: &str, stage: &str, key: Option<&ApiKey>) {
    assert_eq!(answer["principalId"], principal, "{answer}");
    assert_eq!(
        answer["policyDocument"],
        json!({
            "Version": "2012-10-17",
            "Statement": [{ "Action": ["execute-api:Invoke"], "Effect": effect, "Resource": [stage] }],
        }),
        "{answer}"
    );
    let context = key.map(|k| AuthContext::of(k).to_map()).unwrap_or_default();
    assert_eq!(answer["context"], Value::Object(context), "{answer}");
}

// ---- tests -----------------------------------------------------------------------------------

#[test]
fn management_events() {
    let Some(s) = Setup::new("e2e-mgmt", &[]) else { return };
    // given the key the events name, in the events' team and project
    let (key, token0) = key_with_prefix(KeyKind::Project, EVENT_PREFIX);
    s.seed(&key);
    s.seed(&integration_tests::api::events_caller());

    // GET /keys/{prefix}
    let got = s.call(&event("get-key.json")).expect(200);
    assert_eq!(got.body["prefix"], EVENT_PREFIX);
    assert_eq!(got.body["project"]["id"], "project-1");
    assert!(got.body.get("key").is_none(), "the token is shown only once");
    assert!(got.header("content-type").starts_with("application/json"));

    // PATCH /keys/{prefix}: the authorizer sees the change on its next call
    let updated = s.call(&event("update-key.json")).expect(200);
    assert_eq!(updated.body["name"], "CI deploy (main)");
    assert_eq!(updated.body["isHighPriority"], true);
    let mut key = key;
    key.name = shared::model::KeyName::parse("CI deploy (main)").unwrap();
    key.labels = shared::model::Labels::parse(&["ci", "main"]).unwrap();
    key.is_high_priority = true;
    assert_simple(s.authorize(&http_v2_with(token0.expose())).ok(), Some(&key));

    // the README's command gives the same answer as the invoke API
    let cli = cargo_lambda_invoke(&s.emulator, "list-keys", "events/get-key.json");
    let cli = Answer::from(cli).expect(200);
    assert_eq!(cli.body, s.call(&event("get-key.json")).expect(200).body);

    // POST /keys/{prefix}/replace with a 300 s grace period: both secrets pass for now
    let replaced = s.call(&event("replace-key.json")).expect(200);
    assert_eq!(replaced.header("cache-control"), "no-store");
    let token1 = Token::parse(replaced.body["key"].as_str().expect("the new token")).unwrap();
    assert_eq!(token1.prefix().as_str(), EVENT_PREFIX);
    for t in [&token1, &token0] {
        assert_eq!(s.authorize(&http_v2_with(t.expose())).ok()["isAuthorized"], true);
    }

    // GET /keys?projectId=project-1
    let listed = s.call(&event("list-keys.json")).expect(200);
    let items = listed.body["items"].as_array().expect("items");
    assert!(items.iter().any(|i| i["prefix"] == EVENT_PREFIX), "{items:?}");

    // POST /keys: a project key whose token passes the REST REQUEST authorizer
    let created = s.call(&event("create-key.json")).expect(201);
    let token2 = Token::parse(created.body["key"].as_str().expect("the token")).unwrap();
    let prefix2 = token2.prefix().as_str().to_owned();
    assert_eq!(created.header("location"), format!("/keys/{prefix2}"));
    assert_eq!(created.header("cache-control"), "no-store");
    assert_eq!(created.body["status"], "Active");
    let request = rest_request_with(token2.expose());
    let answer = s.authorize(&request).ok();
    assert_eq!(answer["principalId"], prefix2.as_str());
    assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Allow", "{answer}");
    assert_eq!(answer["context"]["projectId"], "project-1");
    assert_eq!(answer["context"]["roles"], "jobs:run");

    // DELETE /keys/{prefix}: 204, the key stops working at once, a second delete is 404
    let deleted = s.call(&event("delete-key.json")).expect(204);
    assert_eq!(deleted.body, Value::Null);
    assert_simple(s.authorize(&http_v2_with(token1.expose())).ok(), None);
    let again = s.call(&event("delete-key.json")).expect(404);
    assert_eq!(again.header("content-type"), "application/problem+json");
    // under the Lambda runtime the problem's requestId is the invocation's, which finds the
    // function's log line of the refusal
    let request_id = again.body["requestId"].as_str().expect("requestId");
    let id_field = format!(r#""request_id":"{request_id}""#);
    assert!(
        s.emulator
            .log_text()
            .lines()
            .any(|l| l.contains(&id_field) && l.contains(r#""status":404"#)),
        "no 404 log line with {id_field}\n{}",
        s.emulator.log_tail(20)
    );

    // GET /keys/{prefix}/audit: the deleted key's history, every change the events made
    let history = s.call(&event("key-audit.json")).expect(200);
    let actions: Vec<&str> = history.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions[..3], ["deleted", "replaced", "updated"], "{actions:?}");

    s.check_log(
        &[
            "create-key", "list-keys", "replace-key", "update-key", "delete-key", "list-audit",
            "authorize",
        ],
        &[&token0, &token1, &token2],
    );
}

#[test]
fn authorizer_events() {
    let Some(s) = Setup::new("e2e-auth", &[]) else { return };
    // given keys with the events' prefixes and fresh secrets
    let (project, p_token) = key_with_prefix(KeyKind::Project, EVENT_PREFIX);
    let (team, t_token) = key_with_prefix(KeyKind::Team, TOKEN_EVENT_PREFIX);
    s.seed(&project);
    s.seed(&team);

    // HTTP API payload 2.0: a simple response with the whole context
    assert_simple(s.authorize(&http_v2_with(p_token.expose())).ok(), Some(&project));
    // as committed: the right prefix with another secret
    assert_simple(s.authorize(&event("authorizer-http-v2.json")).ok(), None);

    // REST REQUEST (x-api-key)
    let e = event("authorizer-rest-request.json");
    let arn = "arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/prod/*/*";
    let allowed = s.authorize(&rest_request_with(p_token.expose())).ok();
    assert_policy(allowed, "Allow", EVENT_PREFIX, arn, Some(&project));
    assert_policy(s.authorize(&e).ok(), "Deny", EVENT_PREFIX, arn, None);

    // REST TOKEN (Authorization: Bearer), a team key
    let e = event("authorizer-rest-token.json");
    let arn = "arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/prod/*/*";
    let allowed = s.authorize(&rest_token_with(t_token.expose())).ok();
    assert_eq!(allowed["context"]["userId"], "user-1");
    assert_eq!(allowed["context"]["keyType"], "user");
    assert_policy(allowed, "Allow", TOKEN_EVENT_PREFIX, arn, Some(&team));
    assert_policy(s.authorize(&e).ok(), "Deny", TOKEN_EVENT_PREFIX, arn, None);

    s.check_log(&["authorize"], &[&p_token, &t_token]);
}

#[test]
fn sam_generated_authorizer_events() {
    let Some(s) = Setup::new("e2e-sam", &["sam"]) else { return };
    let token_event = sam_generate("authorizer");
    let request_event = sam_generate("request-authorizer");
    // the copies in events/generated/ are what the pinned SAM CLI generates
    assert_eq!(token_event, event("generated/apigateway-authorizer.json"));
    assert_eq!(request_event, event("generated/apigateway-request-authorizer.json"));

    let (active, token) = key_with_prefix(KeyKind::Project, EVENT_PREFIX);
    let (mut disabled, disabled_token) = key_with_prefix(KeyKind::Team, TOKEN_EVENT_PREFIX);
    disabled.status = Status::Disabled;
    s.seed(&active);
    s.seed(&disabled);
    let prefix = active.prefix.as_str();
    let wrong_secret = Token::generate_for(KeyKind::Project, active.prefix.clone());

    // `sam local generate-event apigateway authorizer`: REST TOKEN
    let arn = "arn:aws:execute-api:us-east-1:123456789012:example/prod/*/*";
    let with = |value: &str| {
        let mut e = token_event.clone();
        e["authorizationToken"] = json!(value);
        e
    };
    let allowed = s.authorize(&with(&format!("Bearer {}", token.expose()))).ok();
    assert_policy(allowed, "Allow", prefix, arn, Some(&active));
    // as generated ("incoming-client-token"): not a key, API Gateway's 401
    assert_eq!(s.authorize(&token_event).error_message(), "Unauthorized");
    let denied = s.authorize(&with(&format!("Bearer {}", disabled_token.expose())));
    assert_policy(denied.ok(), "Deny", TOKEN_EVENT_PREFIX, arn, None);
    let denied = s.authorize(&with(&format!("Bearer {}", wrong_secret.expose())));
    assert_policy(denied.ok(), "Deny", prefix, arn, None);

    // `sam local generate-event apigateway request-authorizer`: REST REQUEST
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*";
    let with = |name: &str, value: &str| {
        let mut e = request_event.clone();
        e["headers"][name] = json!(value);
        e
    };
    let allowed = s.authorize(&with("Authorization", &format!("Bearer {}", token.expose())));
    assert_policy(allowed.ok(), "Allow", prefix, arn, Some(&active));
    let allowed = s.authorize(&with("x-api-key", token.expose()));
    assert_policy(allowed.ok(), "Allow", prefix, arn, Some(&active));
    // as generated (no key at all), and a malformed key: API Gateway's 401
    assert_eq!(s.authorize(&request_event).error_message(), "Unauthorized");
    let malformed = with("x-api-key", "sk-project-not-a-key");
    assert_eq!(s.authorize(&malformed).error_message(), "Unauthorized");
    let denied = s.authorize(&with("x-api-key", disabled_token.expose()));
    assert_policy(denied.ok(), "Deny", TOKEN_EVENT_PREFIX, arn, None);

    s.check_log(&["authorize"], &[&token, &disabled_token, &wrong_secret]);
}

/// `sam local generate-event apigateway <event>` with default options.
fn sam_generate(event: &str) -> Value {
    let out = integration_tests::runtime_api::stdout_of(
        Command::new("sam")
            .args(["local", "generate-event", "apigateway", event])
            .env("SAM_CLI_TELEMETRY", "0"),
        &format!("sam local generate-event apigateway {event}"),
    );
    serde_json::from_slice(&out).expect("sam generates JSON")
}

/// `cargo lambda invoke <function> --data-file <file>` against the emulator: the function's
/// result as JSON.
fn cargo_lambda_invoke(emulator: &Emulator, function: &str, data_file: &str) -> Value {
    let mut cmd = Command::new(integration_tests::runtime_api::cargo());
    cmd.args(["lambda", "invoke", function, "--data-file", data_file])
        .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
        .arg(emulator.port().to_string())
        .args(["--output-format", "json"])
        .current_dir(cfn::workspace_root());
    let out = integration_tests::runtime_api::stdout_of(&mut cmd, "cargo lambda invoke");
    let stdout = String::from_utf8_lossy(&out);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}
