//! The README walkthrough, run against the real `keys-dev` binary over real HTTP: once on the
//! in-memory store and once on DynamoDB Local. Plus bad requests through the server.

use integration_tests::http::{http, Reply};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

struct Server {
    child: Child,
    addr: String,
    admin_key: String,
    stderr: integration_tests::http::Collected,
}

impl Server {
    fn start(dynamo: bool) -> Option<Server> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keys-dev"));
        cmd.args(["--port", "0", "--team", "walk-team", "--user", "walker"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_LOG", "info");
        if dynamo && !integration_tests::dynamodb_local() {
            integration_tests::skip(
                "walkthrough_on_dynamodb_local",
                "DynamoDB Local is not running",
                "DYNAMODB_LOCAL_REQUIRED",
            );
            return None;
        }
        integration_tests::store_env(&mut cmd, dynamo.then_some("walk"));
        let mut child = cmd.spawn().expect("keys-dev starts");
        let stderr = integration_tests::http::collect(child.stderr.take().unwrap());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a first line").unwrap();
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        let _banner = lines.next().unwrap().unwrap();
        let admin_key = lines.next().unwrap().unwrap().trim().to_owned();
        assert!(admin_key.starts_with("sk-team-"), "admin key line: {admin_key:?}");
        std::thread::spawn(move || for _ in lines {});
        Some(Server { child, addr, admin_key, stderr })
    }

    fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Reply {
        let mut extra = Vec::new();
        if let Some(k) = key {
            extra.push(("Authorization".to_owned(), format!("Bearer {k}")));
        }
        if body.is_some() {
            extra.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        http(&self.addr, method, path, &extra, body.unwrap_or("").as_bytes())
    }

    fn stop(mut self) -> String {
        terminate(self.child.id());
        let status = wait_timeout(&mut self.child, Duration::from_secs(10));
        assert!(status, "keys-dev stops on SIGTERM");
        // everything it logged: its stderr read to the end
        self.stderr.until_eof(Duration::from_secs(10))
    }
}

fn terminate(pid: u32) {
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
}

fn wait_timeout(child: &mut Child, limit: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    false
}

fn walkthrough(server: Server) {
    let admin = server.admin_key.clone();
    // The admin key itself works against the protected API.
    let r = server.call("GET", "/protected/hello", Some(&admin), None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["authorizer"]["roles"], "admin");

    // Create a project key with the admin key.
    let r = server.call(
        "POST",
        "/keys",
        Some(&admin),
        Some(r#"{"name":"demo service","keyType":"system","projectId":"demo"}"#),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let created = r.json();
    let key = created["key"].as_str().unwrap().to_owned();
    let prefix = created["prefix"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk-project-"));
    let path = format!("/keys/{prefix}");
    assert_eq!(r.header("location"), Some(path.as_str()));

    // Call "another API" with it.
    let r = server.call("GET", "/protected/hello", Some(&key), None);
    assert_eq!(r.status, 200, "{r:?}");
    let ctx = &r.json()["authorizer"];
    assert_eq!(ctx["keyPrefix"], prefix.as_str());
    assert_eq!(ctx["projectId"], "demo");
    assert_eq!(ctx["origin"], "API");
    // x-api-key works too
    let r =
        http(&server.addr, "POST", "/protected/jobs", &[("x-api-key".into(), key.clone())], b"");
    assert_eq!(r.status, 200, "{r:?}");

    // List keys: it is there, with its preview and no secret.
    let r = server.call("GET", "/keys?projectId=demo", Some(&admin), None);
    assert_eq!(r.status, 200, "{r:?}");
    let items = r.json()["items"].as_array().unwrap().clone();
    assert!(items.iter().any(|k| k["prefix"] == prefix.as_str()));
    assert!(!r.body.contains(&key));

    // Disable it: the very next call is refused.
    let r = server.call("PATCH", &path, Some(&admin), Some(r#"{"status":"Disabled"}"#));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["status"], "Disabled");
    let r = server.call("GET", "/protected/hello", Some(&key), None);
    assert_eq!(r.status, 403, "{r:?}");

    // Enable it again.
    let r = server.call("PATCH", &path, Some(&admin), Some(r#"{"status":"Active"}"#));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(server.call("GET", "/protected/hello", Some(&key), None).status, 200);

    // Replace it: the old key fails, the new one works.
    let r = server.call("POST", &format!("/keys/{prefix}/replace"), Some(&admin), None);
    assert_eq!(r.status, 200, "{r:?}");
    let new_key = r.json()["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    assert_eq!(r.json()["prefix"], prefix.as_str());
    assert_eq!(server.call("GET", "/protected/hello", Some(&key), None).status, 403);
    assert_eq!(server.call("GET", "/protected/hello", Some(&new_key), None).status, 200);

    // Delete it: it stops working and is gone.
    let r = server.call("DELETE", &path, Some(&admin), None);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(server.call("GET", "/protected/hello", Some(&new_key), None).status, 403);
    assert_eq!(server.call("GET", &path, Some(&admin), None).status, 404);
    assert_eq!(server.call("DELETE", &path, Some(&admin), None).status, 404);

    // Its history: five records, newest first, each naming the admin key that made the change
    // and the request, and none holding a key.
    let r = server.call("GET", &format!("/keys/{prefix}/audit"), Some(&admin), None);
    assert_eq!(r.status, 200, "{r:?}");
    let records = r.json()["items"].as_array().unwrap().clone();
    let actions: Vec<&str> = records.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["deleted", "replaced", "enabled", "disabled", "created"], "{r:?}");
    let admin_prefix = &admin["sk-team-".len()..][..12];
    for a in &records {
        assert_eq!(a["key"]["prefix"], prefix.as_str(), "{a}");
        assert_eq!(a["actor"]["prefix"], admin_prefix, "{a}");
        assert_eq!(a["source"], "api", "{a}");
        assert!(a["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{a}");
    }
    assert_eq!(records[3]["changes"]["status"]["from"], "Active");
    assert_eq!(records[3]["changes"]["status"]["to"], "Disabled");
    for secret in [&admin, &key, &new_key] {
        assert!(!r.body.contains(secret.as_str()));
    }

    // Bad requests through the server.
    let r = server.call("GET", "/nowhere", Some(&admin), None);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["status"], 404);
    let r = server.call("PUT", "/keys", Some(&admin), Some("{}"));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let big = json!({ "name": "x".repeat(20 * 1024) }).to_string();
    let r = server.call("POST", "/keys", Some(&admin), Some(&big));
    assert_eq!(r.status, 413, "{r:?}");
    let r = server.call("GET", "/keys", None, None);
    assert_eq!(r.status, 401);
    let r = server.call("GET", "/keys", Some("sk-project-nonsense"), None);
    assert_eq!(r.status, 403);

    // The log has a line per request and never a key.
    let logs = server.stop();
    assert!(logs.contains("/protected/hello"), "request lines are logged");
    for secret in [&admin, &key, &new_key] {
        assert!(!logs.contains(secret.as_str()), "a key leaked into the log");
    }
}

#[test]
fn walkthrough_in_memory() {
    walkthrough(Server::start(false).unwrap());
}

#[test]
fn walkthrough_on_dynamodb_local() {
    if let Some(server) = Server::start(true) {
        walkthrough(server);
    }
}

#[test]
fn help_explains_everything() {
    let out = Command::new(env!("CARGO_BIN_EXE_keys-dev")).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["--port", "--team", "--key-file", "AWS_ENDPOINT_URL_DYNAMODB", "/protected"] {
        assert!(text.contains(word), "--help mentions {word}");
    }
    let out =
        Command::new(env!("CARGO_BIN_EXE_keys-dev")).args(["--port", "nope"]).output().unwrap();
    assert!(!out.status.success());
}

/// The operator's bootstrap (docs/OPERATIONS.md) against DynamoDB Local: `keys-admin bootstrap` writes an
/// admin key through the SDK, and that key then passes the real authorizer of a server on the
/// same table and can manage keys.
#[test]
fn bootstrap_cli_mints_a_working_admin_key() {
    if !integration_tests::dynamodb_local() {
        integration_tests::skip(
            "bootstrap_cli_mints_a_working_admin_key",
            "DynamoDB Local is not running",
            "DYNAMODB_LOCAL_REQUIRED",
        );
        return;
    }
    let table = integration_tests::table_name("boot");
    let run = |user: &str| {
        Command::new(env!("CARGO_BIN_EXE_keys-admin"))
            .args(["bootstrap", "--table", &table, "--team", "ops-team", "--user", user])
            .output()
            .unwrap()
    };
    let out = run("operator");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(key.starts_with("sk-team-"), "{key}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key));
    // a second admin key for the same user is refused
    let again = run("operator");
    assert_eq!(again.status.code(), Some(1));

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keys-dev"));
    cmd.args(["--port", "0", "--team", "ops-team", "--user", "dev-admin", "--table", &table])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.split("http://").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let auth = [("Authorization".to_owned(), format!("Bearer {key}"))];
    let r = http(&addr, "GET", "/protected/whoami", &auth, b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["authorizer"]["roles"], "admin");
    assert_eq!(r.json()["authorizer"]["accountId"], "ops-team");
    let r = http(&addr, "GET", "/keys?keyType=user", &auth, b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    terminate(child.id());
    assert!(wait_timeout(&mut child, Duration::from_secs(10)));
}
