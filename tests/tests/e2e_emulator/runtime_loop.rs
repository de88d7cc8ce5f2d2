//! The function binaries under a Runtime API of our own (`integration_tests::runtime_api`), for
//! what only the real entry point shows: what a process logs (the Lambda runtime's own tracing
//! included), and what it does when Lambda shuts it down.
//!
//! - `no_key_in_any_log_line_at_any_level`: every function of the template, at every log level
//!   the template offers, answers an event whose `Authorization` and `x-api-key` headers hold a
//!   real key (and whose answer, for create and replace, issues keys): no token and no hash in
//!   anything it writes, and every line is JSON with an RFC 3339 `timestamp` and a `level`
//!   Lambda's log filter reads.
//! - `usage_counts_are_written_when_lambda_shuts_down`: the authorizer registers its shutdown
//!   extension, counts calls, and on `SIGTERM` writes every count before it exits.
//! - `a_runtime_api_without_extensions_is_a_warning`: the start does not fail.

use std::time::Duration;

use integration_tests::api::{team_key, Call};
use integration_tests::cfn;
use integration_tests::runtime_api::{Answer, Function, RuntimeApi};
use serde_json::{json, Value};
use shared::model::parse_time;
use shared::store::{DynamoStore, KeyReader};
use shared::token::Token;
use shared::ApiKey;

const TEAM: &str = "team-rl";
const DEADLINE: Duration = Duration::from_secs(30);

struct Loop {
    rt: tokio::runtime::Runtime,
    store: DynamoStore,
    template: Value,
}

impl Loop {
    fn new(tag: &str) -> Option<Loop> {
        if !integration_tests::dynamodb_local() {
            integration_tests::skip(tag, "DynamoDB Local is not running", "E2E_REQUIRED");
            return None;
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let store = rt.block_on(integration_tests::dynamo_store(tag))?;
        let template = cfn::template();
        super::build_once(&cfn::workspace_root(), &template);
        Some(Loop { rt, store, template })
    }

    fn seed(&self, key: &ApiKey) {
        self.rt.block_on(integration_tests::seed(&self.store, key));
    }

    /// The environment Lambda gives the template's functions, pointed at this test's table.
    fn env(&self, extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("TABLE_NAME", self.store.table().to_owned()),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
            ),
        ];
        for (k, v) in extra {
            let k: &'static str = Box::leak(k.to_string().into_boxed_str());
            env.push((k, v.to_string()));
        }
        env
    }
}

fn binary(name: &str) -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| cfn::workspace_root().join("target"));
    target.join("debug").join(name)
}

/// An event for `binary`'s route by `caller` (opened with `token`), with the token in both
/// headers, as a client that sends both would; `victim` is the key it acts on.
fn event_for(binary: &str, caller: &ApiKey, token: &Token, victim: &ApiKey) -> Value {
    let t = token.expose();
    let call = |c: Call| {
        c.by(caller).header("authorization", &format!("Bearer {t}")).header("x-api-key", t).event()
    };
    let path = format!("/keys/{}", victim.prefix);
    match binary {
        "authorize" => json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api1/$default/GET/keys",
            "identitySource": [format!("Bearer {t}")],
            "headers": { "authorization": format!("Bearer {t}"), "x-api-key": t },
        }),
        "create-key" => {
            call(Call::new("POST", "/keys").json(json!({"name": "logged", "projectId": "p1"})))
        }
        "list-keys" => call(Call::new("GET", &path)),
        "update-key" => call(Call::new("PATCH", &path).json(json!({"name": "renamed"}))),
        "replace-key" => call(Call::new("POST", format!("{path}/replace"))),
        "delete-key" => call(Call::new("DELETE", &path)),
        "list-audit" => call(Call::new("GET", format!("{path}/audit"))),
        "console" => call(Call::new("GET", "/")),
        other => panic!("no event for the function {other}: add one here"),
    }
}

/// Tokens an answer issued.
fn issued(answer: &Answer) -> Vec<String> {
    let Answer::Response(r) = answer else {
        return Vec::new();
    };
    let body: Value =
        r["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    body["key"].as_str().map(str::to_owned).into_iter().collect()
}

/// Every line is a JSON object with an RFC 3339 UTC `timestamp` and a level Lambda knows.
fn check_lines(what: &str, output: &str) {
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{what}: not a JSON line ({e}): {line}"));
        let ts = v["timestamp"].as_str().unwrap_or_default();
        assert!(
            parse_time(ts).is_some() && ts.ends_with('Z'),
            "{what}: no RFC 3339 UTC timestamp: {line}"
        );
        assert!(
            matches!(v["level"].as_str(), Some("TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR")),
            "{what}: no level Lambda reads: {line}"
        );
    }
}

#[test]
fn no_key_in_any_log_line_at_any_level() {
    let Some(l) = Loop::new("rl-logs") else { return };
    let levels: Vec<String> = l.template["Parameters"]["LogLevel"]["AllowedValues"]
        .as_array()
        .expect("LogLevel's AllowedValues")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let functions: Vec<String> =
        cfn::functions(&l.template).iter().map(|f| f.binary.to_owned()).collect();
    let mut runs = 0;
    let mut lines = 0;
    let mut secrets_seen = 0;
    for level in &levels {
        for f in &functions {
            let (admin, token) = team_key(TEAM, &format!("ada-{f}-{level}"), &["admin"]);
            let (victim, victim_token) = integration_tests::api::project_key(TEAM, "p1", &[]);
            l.seed(&admin);
            l.seed(&victim);
            let mut secrets: Vec<String> = vec![
                token.expose().to_owned(),
                victim_token.expose().to_owned(),
                admin.secret_hash.as_str().to_owned(),
                victim.secret_hash.as_str().to_owned(),
            ];
            let api = l.rt.block_on(RuntimeApi::start());
            let env = l.env(&[("AWS_LAMBDA_LOG_LEVEL", level), ("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
            let process = Function::spawn(&binary(f), &api, &env);
            let answer =
                l.rt.block_on(api.invoke(&event_for(f, &admin, &token, &victim), DEADLINE))
                    .unwrap_or_else(|| panic!("{f} at {level} did not answer"));
            for t in issued(&answer) {
                secrets.push(shared::token::SecretHash::of(&t).as_str().to_owned());
                secrets.push(t);
            }
            // what the store now holds for the victim (a replace's new hash, its old one)
            if let Some(k) = l.rt.block_on(l.store.get(&victim.prefix)).unwrap() {
                secrets.push(k.secret_hash.as_str().to_owned());
            }
            let (out, err) = process.kill();
            runs += 1;
            let all = format!("{out}{err}");
            for s in &secrets {
                if all.contains(s.as_str()) {
                    secrets_seen += 1;
                }
            }
            assert!(
                !secrets.iter().any(|s| all.contains(s.as_str())),
                "{f} at {level} logged a key or a hash:\n{all}"
            );
            check_lines(&format!("{f} at {level} (stdout)"), &out);
            check_lines(&format!("{f} at {level} (stderr)"), &err);
            lines += all.lines().count();
            // (the console reads no table: it logs nothing at DEBUG)
            if (level == "TRACE" || level == "DEBUG") && f != "console" {
                assert!(
                    all.lines().any(|l| l.contains("\"DEBUG\"")),
                    "{f} at {level} logged no DEBUG line: the capture is broken?\n{all}"
                );
            }
        }
    }
    eprintln!(
        "runtime loop logs: {runs} runs ({} functions x {} levels), {lines} lines, secrets seen {secrets_seen}",
        functions.len(),
        levels.len()
    );
}

#[test]
fn usage_counts_are_written_when_lambda_shuts_down() {
    let Some(l) = Loop::new("rl-shutdown") else { return };
    let (key, token) = team_key(TEAM, "counted", &[]);
    l.seed(&key);
    let api = l.rt.block_on(RuntimeApi::start());
    let process = Function::spawn(&binary("authorize"), &api, &l.env(&[]));
    let calls = 25;
    for _ in 0..calls {
        let answer =
            l.rt.block_on(api.invoke(&event_for("authorize", &key, &token, &key), DEADLINE))
                .expect("the authorizer answers");
        assert!(matches!(&answer, Answer::Response(r) if r["isAuthorized"] == true), "{answer:?}");
    }
    assert_eq!(api.extensions(), [shared::shutdown::EXTENSION_NAME]);
    // the first call of the key was written at once; the other 24 wait for the next minute
    let before = l.rt.block_on(l.store.get(&key.prefix)).unwrap().unwrap();
    assert!(before.submitted_jobs < calls, "{}", before.submitted_jobs);
    // Lambda shuts the instance down: SIGTERM, then the hook writes what is pending
    process.terminate();
    let (code, out, err) = process.finish(Duration::from_secs(5));
    assert_eq!(code, Some(0), "{out}{err}");
    let after = l.rt.block_on(l.store.get(&key.prefix)).unwrap().unwrap();
    assert_eq!(after.submitted_jobs, calls, "every counted call written:\n{out}{err}");
    eprintln!(
        "shutdown flush: {calls} calls, {} written before SIGTERM, {} after",
        before.submitted_jobs, after.submitted_jobs
    );
}

#[test]
fn a_runtime_api_without_extensions_is_a_warning() {
    let Some(l) = Loop::new("rl-noext") else { return };
    let (key, token) = team_key(TEAM, "noext", &[]);
    l.seed(&key);
    let api = l.rt.block_on(RuntimeApi::start_without_extensions());
    let process = Function::spawn(&binary("authorize"), &api, &l.env(&[]));
    let answer =
        l.rt.block_on(api.invoke(&event_for("authorize", &key, &token, &key), DEADLINE))
            .expect("the authorizer starts and answers");
    assert!(matches!(&answer, Answer::Response(r) if r["isAuthorized"] == true));
    let (out, _) = process.kill();
    assert!(
        out.lines().any(|l| l.contains("\"WARN\"") && l.contains("shutdown extension")),
        "{out}"
    );
}
