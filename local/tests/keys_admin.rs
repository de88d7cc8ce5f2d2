//! `keys-admin`, the real binary, against DynamoDB Local: every command and its `--json`, the
//! audit record each change leaves (one, actor `operator`), what the authorizer then decides, and
//! the refusals — each with its exit code, a one-line message, and nothing written.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use shared::authorizer::{Authorizer, Decision};
use shared::clock::SystemClock;
use shared::model::{AuditAction, AuditRecord, Ident, Status};
use shared::store::{AuditQuery, AuditReader, AuditScope, DynamoStore, KeyReader};
use shared::token::Prefix;

/// Who the audit trail must name (`$USER` of the binary).
const OPERATOR: &str = "ops-on-call";

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is no JSON ({e}): {self:?}"))
    }

    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }

    /// Refused with `code`, one line on stderr containing `says`, nothing on stdout.
    #[track_caller]
    fn refused(self, code: i32, says: &str) -> Self {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stderr.contains(says), "stderr lacks {says:?}: {self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
        if code == 1 {
            assert_eq!(self.stderr.trim_end().lines().count(), 1, "{self:?}");
            assert!(self.stderr.starts_with("keys-admin: "), "{self:?}");
            for dump in ["SdkError", "DispatchFailure", "ServiceError {", "source:"] {
                assert!(!self.stderr.contains(dump), "an SDK dump: {self:?}");
            }
        }
        self
    }
}

fn keys_admin(args: &[&str]) -> Run {
    keys_admin_env(args, &[])
}

fn keys_admin_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keys-admin"));
    cmd.args(args).env("USER", OPERATOR).env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("keys-admin runs");
    Run {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `keys-admin <args> --table <table>`
fn on(store: &DynamoStore, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--table", store.table()]);
    keys_admin(&all)
}

/// A table of the test's own in DynamoDB Local (or `None`: skipped visibly), read through a
/// patient client: what the binary wrote must not be missed because a busy machine answered a
/// test's own read slower than the functions' 900 ms attempt timeout.
async fn table(tag: &str) -> Option<DynamoStore> {
    let store = integration_tests::dynamo_store(tag).await?;
    let patient = shared::aws::dynamo_client(shared::aws::Timeouts {
        operation: Duration::from_secs(20),
        attempt: Duration::from_secs(10),
        ..shared::aws::Timeouts::default()
    })
    .await;
    Some(DynamoStore::new(patient, store.table(), integration_tests::codec()))
}

fn id(s: &str) -> Ident {
    Ident::parse(s).unwrap()
}

fn prefix_of(doc: &Value) -> Prefix {
    Prefix::parse(doc["prefix"].as_str().expect("a prefix")).expect("a valid prefix")
}

/// Every item of the table, in a stable order.
async fn snapshot(store: &DynamoStore) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = integration_tests::scan_table(store).await;
    items.sort_by(|a, b| {
        let pk = |i: &HashMap<String, AttributeValue>| {
            integration_tests::attr(i, "pk").map(str::to_owned)
        };
        pk(a).cmp(&pk(b))
    });
    items
}

/// A key's audit trail, newest first.
async fn history(store: &DynamoStore, team: &str, prefix: &Prefix) -> Vec<AuditRecord> {
    let q = AuditQuery::new(AuditScope::Key(id(team), prefix.clone()));
    store.audit(&q).await.expect("the audit trail").items
}

/// The run left exactly one new record on the key, `action` by the operator; returns it.
#[track_caller]
fn one_new_record(
    before: &[AuditRecord], after: &[AuditRecord], action: AuditAction,
) -> AuditRecord {
    assert_eq!(after.len(), before.len() + 1, "{after:#?}");
    let r = after[0].clone();
    assert!(!before.iter().any(|b| b.id == r.id));
    assert_eq!(r.action, action, "{r:#?}");
    let actor = r.to_json()["actor"].clone();
    assert_eq!(actor["type"], "operator", "{r:#?}");
    assert_eq!(actor["name"], OPERATOR, "{r:#?}");
    assert!(r.origin.request_id.starts_with("operator-"), "{r:#?}");
    assert_eq!(r.to_json()["source"], "operator");
    r
}

fn authorizer(store: &DynamoStore) -> Authorizer<DynamoStore> {
    Authorizer::new(store.clone(), Arc::new(SystemClock), Duration::ZERO)
}

async fn allowed(auth: &Authorizer<DynamoStore>, token: &str) -> bool {
    match auth.decide(Some(token)).await.expect("a decision") {
        Decision::Allow(_) => true,
        Decision::Deny => false,
        Decision::Missing => panic!("a key was presented"),
    }
}

/// A project key seeded straight into the table (with a record by the operator `tests`).
async fn seed_project_key(store: &DynamoStore, team: &str, status: Status) -> (Prefix, String) {
    let (mut key, token) = integration_tests::api::project_key(team, "billing", &["jobs:submit"]);
    key.status = status;
    integration_tests::seed(store, &key).await;
    (key.prefix.clone(), token.expose().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_list_and_get_and_a_second_bootstrap_is_refused() {
    let Some(store) = table("admin-boot").await else { return };
    let team = "ops-team";
    let boot = on(&store, &["bootstrap", "--team", team, "--user", "alice", "--json"]).ok();
    let doc = boot.json();
    let token = doc["key"].as_str().expect("the token, once").to_owned();
    assert!(token.starts_with("sk-team-"), "{doc}");
    assert_eq!(doc["status"], "Active");
    assert_eq!(doc["roles"], json!(["admin"]));
    assert_eq!(doc["account"]["id"], team);
    assert!(!boot.stderr.contains(&token));
    let alice = prefix_of(&doc);
    one_new_record(&[], &history(&store, team, &alice).await, AuditAction::Bootstrapped);
    let auth = authorizer(&store);
    assert!(allowed(&auth, &token).await);
    auth.flush().await;

    // text: the token alone on stdout, what it is on stderr
    let text = on(&store, &["bootstrap", "--team", team, "--user", "bob"]).ok();
    let bob_token = text.stdout.trim().to_owned();
    assert!(bob_token.starts_with("sk-team-"), "{text:?}");
    assert_eq!(text.stdout.lines().count(), 1);
    assert!(text.stderr.contains("user bob in team ops-team"), "{text:?}");
    assert!(!text.stderr.contains(&bob_token));

    // --key-file: the token in a private file, never on stdout
    let dir = std::env::temp_dir().join(format!("keys-admin-{}", shared::token::random_base62(8)));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("carol.key");
    let filed = on(
        &store,
        &[
            "bootstrap",
            "--team",
            team,
            "--user",
            "carol",
            "--key-file",
            file.to_str().unwrap(),
            "--json",
        ],
    )
    .ok();
    let doc = filed.json();
    assert!(doc.get("key").is_none(), "{doc}");
    assert_eq!(doc["keyFile"], file.to_str().unwrap());
    let carol_token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(carol_token.starts_with(&format!("sk-team-{}_", doc["prefix"].as_str().unwrap())));
    assert!(!filed.stdout.contains(&carol_token) && !filed.stderr.contains(&carol_token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // a second team key for alice is refused, and nothing is written
    let before = snapshot(&store).await;
    on(&store, &["bootstrap", "--team", team, "--user", "alice"])
        .refused(1, "user alice already has a team key in team ops-team");
    assert_eq!(snapshot(&store).await, before, "a refused bootstrap wrote");

    // list: every key of the team, one JSON document; --limit; --status; --project; text
    let (project, _) = seed_project_key(&store, team, Status::Disabled).await;
    let all = on(&store, &["list", "--team", team, "--json"]).ok().json();
    let items = all["items"].as_array().expect("items");
    assert_eq!(items.len(), 4, "{all}");
    assert!(items.iter().all(|k| k["account"]["id"] == team && k.get("key").is_none()));
    let one = on(&store, &["list", "--team", team, "--limit", "1", "--json"]).ok().json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let disabled =
        on(&store, &["list", "--team", team, "--status", "Disabled", "--json"]).ok().json();
    assert_eq!(disabled["items"].as_array().unwrap().len(), 1);
    assert_eq!(disabled["items"][0]["prefix"], project.as_str());
    let billing =
        on(&store, &["list", "--team", team, "--project", "billing", "--json"]).ok().json();
    assert_eq!(billing["items"].as_array().unwrap().len(), 1);
    let table = on(&store, &["list", "--team", team]).ok().stdout;
    assert!(table.contains(alice.as_str()) && table.contains("4 keys"), "{table}");
    let none = on(&store, &["list", "--team", "nobody", "--json"]).ok().json();
    assert_eq!(none["items"], json!([]));

    // get: the key object, or a page for people; never a hash
    let got = on(&store, &["get", alice.as_str(), "--json"]).ok().json();
    assert_eq!(got["prefix"], alice.as_str());
    assert_eq!(got["user"]["id"], "alice");
    let stored = store.get(&alice).await.unwrap().unwrap();
    assert_eq!(got, stored.to_json());
    let page = on(&store, &["get", alice.as_str()]).ok().stdout;
    assert!(page.contains("status      Active") && page.contains("user alice"), "{page}");
    assert!(!page.contains(stored.secret_hash.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_and_enable_are_audited_and_the_authorizer_follows() {
    let Some(store) = table("admin-status").await else { return };
    let team = "status-team";
    let (prefix, token) = seed_project_key(&store, team, Status::Active).await;
    let auth = authorizer(&store);
    assert!(allowed(&auth, &token).await);
    auth.flush().await;

    let before = history(&store, team, &prefix).await;
    let doc = on(&store, &["disable", prefix.as_str(), "--json"]).ok().json();
    assert_eq!(doc["status"], "Disabled");
    assert_eq!(doc["prefix"], prefix.as_str());
    let r = one_new_record(&before, &history(&store, team, &prefix).await, AuditAction::Disabled);
    assert_eq!(r.changes["status"], (json!("Active"), json!("Disabled")));
    assert!(!allowed(&auth, &token).await, "a disabled key is refused");

    // disabling it again: nothing to do, nothing written
    let before = snapshot(&store).await;
    let again = on(&store, &["disable", prefix.as_str()]).ok();
    assert!(again.stderr.contains("already Disabled"), "{again:?}");
    assert_eq!(snapshot(&store).await, before);

    let before = history(&store, team, &prefix).await;
    let text = on(&store, &["enable", prefix.as_str()]).ok();
    assert!(text.stdout.contains("Disabled -> Active"), "{text:?}");
    one_new_record(&before, &history(&store, team, &prefix).await, AuditAction::Enabled);
    assert!(allowed(&auth, &token).await, "an enabled key is allowed");
    auth.flush().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_hands_out_a_new_token_and_the_old_one_stops() {
    let Some(store) = table("admin-replace").await else { return };
    let team = "replace-team";
    let (prefix, first) = seed_project_key(&store, team, Status::Active).await;
    let auth = authorizer(&store);

    // with a grace period: both work until it ends
    let before = history(&store, team, &prefix).await;
    let doc = on(&store, &["replace", prefix.as_str(), "--grace", "300", "--json"]).ok().json();
    let second = doc["key"].as_str().expect("the new token").to_owned();
    assert!(second.starts_with(&format!("sk-project-{prefix}_")), "{doc}");
    assert_ne!(second, first);
    assert_eq!(doc["prefix"], prefix.as_str());
    let r = one_new_record(&before, &history(&store, team, &prefix).await, AuditAction::Replaced);
    assert_eq!(r.changes["secret"], (json!("generation 1"), json!("generation 2")));
    assert_eq!(r.changes["gracePeriodSeconds"], (Value::Null, json!(300)));
    let stored = store.get(&prefix).await.unwrap().unwrap();
    assert_eq!(stored.generation, 2);
    assert!(stored.previous.is_some());
    assert!(allowed(&auth, &second).await);
    assert!(allowed(&auth, &first).await, "the grace period lets the old one work");

    // without: the token alone on stdout; every older one is refused at once
    let before = history(&store, team, &prefix).await;
    let text = on(&store, &["replace", prefix.as_str()]).ok();
    let third = text.stdout.trim().to_owned();
    assert!(third.starts_with(&format!("sk-project-{prefix}_")), "{text:?}");
    assert!(text.stderr.contains("the old secret stopped working"), "{text:?}");
    let r = one_new_record(&before, &history(&store, team, &prefix).await, AuditAction::Replaced);
    assert_eq!(r.changes["gracePeriodSeconds"], (Value::Null, json!(0)));
    assert!(allowed(&auth, &third).await, "the new token is allowed");
    assert!(!allowed(&auth, &second).await, "the replaced token is refused");
    assert!(!allowed(&auth, &first).await);
    auth.flush().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_stops_the_key_and_frees_its_users_slot() {
    let Some(store) = table("admin-delete").await else { return };
    let team = "delete-team";
    let doc = on(&store, &["bootstrap", "--team", team, "--user", "dana", "--json"]).ok().json();
    let token = doc["key"].as_str().unwrap().to_owned();
    let prefix = prefix_of(&doc);

    let before = history(&store, team, &prefix).await;
    let deleted = on(&store, &["delete", prefix.as_str(), "--json"]).ok().json();
    assert_eq!(deleted["status"], "Deleted");
    one_new_record(&before, &history(&store, team, &prefix).await, AuditAction::Deleted);
    let auth = authorizer(&store);
    assert!(!allowed(&auth, &token).await, "a deleted key is refused");
    // the tombstone is still there to read; a second delete is refused and writes nothing
    assert_eq!(on(&store, &["get", prefix.as_str(), "--json"]).ok().json()["status"], "Deleted");
    let before = snapshot(&store).await;
    on(&store, &["delete", prefix.as_str()]).refused(1, "was deleted");
    on(&store, &["replace", prefix.as_str()]).refused(1, "was deleted");
    assert_eq!(snapshot(&store).await, before);

    // the user may be given a team key again
    let again = on(&store, &["bootstrap", "--team", team, "--user", "dana", "--json"]).ok().json();
    assert_ne!(again["prefix"], prefix.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_bad_usage_write_nothing() {
    let Some(store) = table("admin-refuse").await else { return };
    let team = "refuse-team";
    let (pending, _) = seed_project_key(&store, team, Status::Pending).await;
    let before = snapshot(&store).await;
    let trail = history(&store, team, &pending).await;

    // an unknown prefix
    let unknown = "Zz9Zz9Zz9Zz9";
    for command in ["get", "disable", "enable", "replace", "delete"] {
        on(&store, &[command, unknown]).refused(1, &format!("no key {unknown} in table"));
    }
    // a transition the key's status does not allow: enabling (approving) a Pending key
    on(&store, &["enable", pending.as_str()]).refused(1, "is Pending: cannot enable it");
    on(&store, &["disable", pending.as_str()]).refused(1, "is Pending: cannot disable it");
    // a table that does not exist is not created (outside bootstrap)
    keys_admin(&["get", pending.as_str(), "--table", "no-such-table"])
        .refused(1, "no table no-such-table");
    // bad usage: exit 2, clap's message
    on(&store, &["replace", pending.as_str(), "--grace", "-1"])
        .refused(2, "must be a whole number of seconds from 0 to 86400");
    on(&store, &["replace", pending.as_str(), "--grace", "86401"]).refused(2, "--grace");
    keys_admin(&["disable", pending.as_str()]).refused(2, "--table <NAME>");
    on(&store, &["frobnicate"]).refused(2, "unrecognized subcommand 'frobnicate'");
    on(&store, &["get", "sk-project-abc"]).refused(2, "12 letters and digits");
    on(&store, &["list", "--team", "bad team"]).refused(2, "--team");
    on(&store, &["bootstrap", "--team", team, "--user", "u", "--name", ""]).refused(2, "--name");

    assert_eq!(snapshot(&store).await, before, "a refusal wrote");
    assert_eq!(history(&store, team, &pending).await, trail);
    assert_eq!(store.get(&pending).await.unwrap().unwrap().status, Status::Pending);
}

/// A store that cannot be reached: exit 1 and one line naming the problem (no DynamoDB needed).
#[test]
fn an_unreachable_store_is_one_line_and_exit_1() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{closed}");
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let started = std::time::Instant::now();
    let run = keys_admin_env(&["disable", "AbCdEf123456", "--table", "keys"], &env);
    run.refused(1, "cannot read table keys");
    assert!(started.elapsed() < Duration::from_secs(20));
    let run = keys_admin_env(&["bootstrap", "--team", "t", "--user", "u", "--table", "keys"], &env);
    run.refused(1, "Connection refused");
}

#[test]
fn help_names_every_command_and_the_exit_codes() {
    let run = keys_admin(&["--help"]).ok();
    for word in [
        "bootstrap", "list", "get", "disable", "enable", "replace", "delete", "Exit codes",
        "0  done", "1  refused", "2  bad usage",
    ] {
        assert!(run.stdout.contains(word), "--help lacks {word}: {}", run.stdout);
    }
}
