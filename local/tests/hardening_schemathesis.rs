//! Hostile input over the wire: schemathesis (PyPI, pinned in
//! tests/requirements-tools.txt, installed into .venv by tests/run.sh) generates requests from
//! openapi.yaml against the real `keys-dev` binary (the handlers behind the real authorizer, on
//! DynamoDB Local when tests/run.sh runs it) and checks every answer: no 5xx, status code,
//! content type, headers and body conform to the document, schema-violating input is refused,
//! deleted keys stay gone, 405s name the allowed methods. Then a few hand-made hostile
//! requests, and the server's log is scanned for every token schemathesis was handed.
//!
//! Two runs, because schemathesis learns prefixes from answers (GET /keys lists them) and then
//! replaces, updates and deletes them — its own key included:
//! 1. the bootstrap admin key (read from `--key-file`): create, list and get only, so it cannot
//!    disable, replace or delete itself;
//! 2. a project key of project `st-p0` holding `project-admin:st-p1`, minted by the admin: every
//!    route and the stateful phase, on a dozen seeded `st-p1` keys. It never sees itself (it is
//!    not a key of `st-p1`), so it cannot destroy its own access halfway through.
//!
//! `positive_data_acceptance` is left out: the document cannot say "expiresAt lies in the
//! future", "a webhook URL names a host" or "projectId only with keyType system", so
//! schema-valid bodies are rightly refused with 400.

use integration_tests::http::{http, Reply};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// Test cases per operation and phase; about 500-1,000 requests a run.
const MAX_EXAMPLES: &str = "50";
const DEFAULT_SEED: &str = "20261122";

/// The schemathesis executable: on PATH (tests/run.sh puts .venv/bin there), else in .venv.
fn schemathesis() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|p| p.join("schemathesis")).find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let venv = Path::new(ROOT).join(".venv/bin/schemathesis");
        venv.is_file().then_some(venv)
    })
}

struct Server {
    child: Child,
    addr: String,
    admin_key: String,
    log: integration_tests::http::Collected,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let key_file = dir.join("admin.key");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keys-dev"));
        cmd.args(["--port", "0", "--team", "st-team", "--user", "st-admin"])
            .arg("--key-file")
            .arg(&key_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_LOG", "debug");
        integration_tests::store_env(
            &mut cmd,
            integration_tests::dynamodb_local().then_some("schemathesis"),
        );
        let mut child = cmd.spawn().expect("keys-dev starts");
        let log = integration_tests::http::collect(child.stderr.take().unwrap());
        // Ready when the banner says the key file is written (the listener is bound before).
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.expect("keys-dev stdout");
            if let Some(rest) = line.split("http://").nth(1) {
                addr = addr.or(rest.split_whitespace().next().map(str::to_owned));
            }
            if line.starts_with("(also written to") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let addr = addr.expect("keys-dev printed its address");
        let admin_key = std::fs::read_to_string(&key_file)
            .expect("the --key-file is written")
            .trim()
            .to_owned();
        assert!(admin_key.starts_with("sk-team-"), "{admin_key:?}");
        Server { child, addr, admin_key, log }
    }

    fn call(&self, method: &str, path: &str, key: &str, body: Option<&[u8]>) -> Reply {
        let mut headers = vec![("Authorization".to_owned(), format!("Bearer {key}"))];
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        http(&self.addr, method, path, &headers, body.unwrap_or(b""))
    }

    /// Stops the server (SIGTERM, then SIGKILL) and returns everything it logged.
    fn stop(&mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // everything it logged: its stderr read to the end
        self.log.until_eof(Duration::from_secs(10))
    }
}

impl Drop for Server {
    /// A failed assertion must not leave the server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A scratch directory (key file, HAR reports with tokens in them), removed however the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one schemathesis run sent and got, read from its HAR report.
#[derive(Default)]
struct Tally {
    requests: usize,
    server_errors: Vec<String>,
    /// (operation, status) → count; the operation is the method and the path template.
    statuses: BTreeMap<(String, u16), usize>,
    /// Every token that came back in a create or replace answer.
    tokens: Vec<String>,
}

fn operation(method: &str, url: &str) -> String {
    let path = url.split("://").nth(1).unwrap_or(url);
    let path = path.find('/').map_or("/", |i| &path[i..]);
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let template = match segments.as_slice() {
        ["keys"] => "/keys",
        ["keys", _] => "/keys/{prefix}",
        ["keys", _, "replace"] => "/keys/{prefix}/replace",
        _ => "other",
    };
    format!("{method} {template}")
}

fn tally_har(path: &Path, into: &mut Tally) {
    let text = std::fs::read_to_string(path).expect("schemathesis wrote its HAR report");
    let har: Value = serde_json::from_str(&text).expect("the HAR report is JSON");
    for entry in har["log"]["entries"].as_array().expect("HAR entries") {
        let method = entry["request"]["method"].as_str().unwrap_or("?");
        let url = entry["request"]["url"].as_str().unwrap_or("?");
        let status = entry["response"]["status"].as_u64().unwrap_or(0) as u16;
        into.requests += 1;
        *into.statuses.entry((operation(method, url), status)).or_default() += 1;
        if status >= 500 {
            into.server_errors.push(format!("{method} {url} -> {status}"));
        }
        let body = entry["response"]["content"]["text"].as_str().unwrap_or("");
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            if let Some(t) = v["key"].as_str().filter(|t| t.starts_with("sk-")) {
                into.tokens.push(t.to_owned());
            }
        }
    }
}

/// Runs schemathesis with `key`; panics with its output unless it passes.
fn run_schemathesis(exe: &Path, dir: &Path, addr: &str, name: &str, key: &str, extra: &[&str]) {
    let har = dir.join(format!("{name}.har"));
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let started = Instant::now();
    let out = Command::new(exe)
        .current_dir(dir) // its .schemathesis/ cache stays out of the repository
        .arg("run")
        .arg(Path::new(ROOT).join("openapi.yaml"))
        .args(["--url", &format!("http://{addr}")])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", &seed])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--output-sanitize", "false", "--report", "har"])
        .arg("--report-har-path")
        .arg(&har)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "schemathesis {name} run: {:?} in {:.1}s, seed {seed}\n{}",
        out.status,
        started.elapsed().as_secs_f64(),
        stdout.lines().skip_while(|l| !l.contains("SUMMARY")).collect::<Vec<_>>().join("\n")
    );
    assert!(
        out.status.success(),
        "schemathesis ({name}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Hand-made hostile requests through the gateway of the dev server.
fn hostile_requests(server: &Server) -> usize {
    let admin = server.admin_key.as_str();
    let mut sent = 0;
    let mut expect = |method: &str, path: &str, body: Option<&[u8]>, status: u16| -> Reply {
        let r = server.call(method, path, admin, body);
        sent += 1;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        if status >= 400 {
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
            assert_eq!(r.json()["status"], status);
        }
        r
    };
    // Over the gateway's 1 MiB and over the handlers' 16 KiB.
    expect("POST", "/keys", Some(&vec![b' '; 2 << 20]), 413);
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes();
    expect("POST", "/keys", Some(&deep(10_000)), 413);
    // Deep, but under 16 KiB: the JSON parser's recursion limit answers, not the stack.
    expect("POST", "/keys", Some(&deep(8_000)), 400);
    let objects = format!("{}1{}", "{\"\":".repeat(3_000), "}".repeat(3_000));
    expect("POST", "/keys", Some(objects.as_bytes()), 400);
    // Unicode names: 4-byte emoji at the 100-character boundary, RTL and zero-width marks.
    let at_limit = format!("{}\u{1F600}", "a".repeat(99));
    let body = json!({ "name": at_limit, "projectId": "st-p9" }).to_string();
    let created = expect("POST", "/keys", Some(body.as_bytes()), 201).json();
    assert_eq!(created["name"], at_limit.as_str());
    let over = json!({ "name": format!("{at_limit}b"), "projectId": "st-p9" }).to_string();
    expect("POST", "/keys", Some(over.as_bytes()), 400);
    let marks = "r\u{200F}t\u{202E}l \u{200D}zw\u{200B}j e\u{301}\u{301}";
    let body = json!({ "name": marks, "projectId": "st-p9" }).to_string();
    expect("POST", "/keys", Some(body.as_bytes()), 201);
    let found =
        expect("GET", "/keys?projectId=st-p9&search=%E2%80%AEL%20%E2%80%8D", None, 200).json();
    assert_eq!(found["items"][0]["name"], marks, "{found}");
    expect("GET", "/keys?search=a%00b", None, 400);
    expect("GET", "/keys?limit=99999999999999999999999999999999", None, 400);
    expect("GET", "/keys/%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80", None, 404);
    sent
}

#[test]
fn schemathesis_finds_no_server_error_and_no_nonconformance() {
    let Some(exe) = schemathesis() else {
        integration_tests::skip(
            "schemathesis_finds_no_server_error_and_no_nonconformance",
            "schemathesis is not installed (tests/run.sh installs it into .venv)",
            "DYNAMODB_LOCAL_REQUIRED",
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "keys-schemathesis-{}-{}",
        std::process::id(),
        shared::token::random_base62(8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let _scratch = Scratch(dir.clone());
    let started = Instant::now();
    let mut server = Server::start(&dir);

    // The fuzzing key, and keys for it to find, replace, update and delete.
    let spec = json!({
        "name": "schemathesis",
        "keyType": "system",
        "projectId": "st-p0",
        "roles": ["project-admin:st-p1"],
    })
    .to_string();
    let r = server.call("POST", "/keys", &server.admin_key, Some(spec.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.body);
    let fuzzer = r.json()["key"].as_str().unwrap().to_owned();
    let mut tokens = vec![server.admin_key.clone(), fuzzer.clone()];
    for i in 0..12 {
        let body = json!({ "name": format!("seed {i}"), "projectId": "st-p1" }).to_string();
        let r = server.call("POST", "/keys", &server.admin_key, Some(body.as_bytes()));
        assert_eq!(r.status, 201, "{}", r.body);
        tokens.push(r.json()["key"].as_str().unwrap().to_owned());
    }

    let admin_ops = [
        "--include-operation-id",
        "listKeys",
        "--include-operation-id",
        "getKey",
        "--include-operation-id",
        "createKey",
        "--phases",
        "examples,coverage,fuzzing",
    ];
    run_schemathesis(&exe, &dir, &server.addr, "admin", &server.admin_key, &admin_ops);
    run_schemathesis(&exe, &dir, &server.addr, "fuzzer", &fuzzer, &[]);

    let mut tally = Tally::default();
    tally_har(&dir.join("admin.har"), &mut tally);
    tally_har(&dir.join("fuzzer.har"), &mut tally);
    let hand_made = hostile_requests(&server);
    let log = server.stop();

    tokens.append(&mut tally.tokens);
    let secret_hits = tokens
        .iter()
        .filter(|t| log.contains(t.as_str()) || log.contains(&t[t.len() - 38..]))
        .count();
    let ok_ops: std::collections::BTreeSet<&str> = tally
        .statuses
        .keys()
        .filter(|(_, s)| (200..300).contains(s))
        .map(|(op, _)| op.as_str())
        .collect();
    eprintln!(
        "schemathesis figures: requests {} (+{hand_made} hand-made), 5xx {}, tokens issued {}, \
         secret hits in the server log {secret_hits}, {:.1}s\n  statuses: {:?}",
        tally.requests,
        tally.server_errors.len(),
        tokens.len(),
        started.elapsed().as_secs_f64(),
        tally.statuses
    );
    assert!(tally.requests > 500, "schemathesis sent too little");
    assert_eq!(tally.server_errors, Vec::<String>::new());
    assert_eq!(secret_hits, 0, "a token schemathesis was handed is in the log");
    // Every route was reached with a working key, not only refused.
    for op in [
        "POST /keys",
        "GET /keys",
        "GET /keys/{prefix}",
        "PATCH /keys/{prefix}",
        "DELETE /keys/{prefix}",
        "POST /keys/{prefix}/replace",
    ] {
        assert!(ok_ops.contains(op), "no 2xx for {op}: {:?}", tally.statuses);
    }
}
