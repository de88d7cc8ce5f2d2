//! Secrets: a whole scenario — create (project, team and pending keys), authorize in
//! every format and header, replace with a grace period and without, update, list, get, usage
//! writes, delete, refusals, and tokens smuggled into bodies, paths, queries and `If-Match` —
//! with every handler call carrying its caller's real key in `Authorization`, as API Gateway
//! passes it on, and everything this thread logs captured at TRACE (the AWS SDK's own traces
//! included). Then every item of the table (a Scan) and every captured line are searched for
//! every token issued during the run, whole and for its secret part: 0 hits.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use shared::authorizer::{Authorizer, Decision};
use shared::store::{AnyStore, KeyReader};
use shared::token::{KeyKind, Token};
use shared::ApiKey;

use integration_tests::api::*;
use integration_tests::figures::Figures;
use integration_tests::scan_table;

const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/reports";

/// Everything that must never be stored or logged, for each token: the token, and its secret.
fn needles(tokens: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokens {
        let full = t.expose();
        out.push(full.to_owned());
        let secret = &full[full.find('_').unwrap() + 1..full.len() - 6];
        assert_eq!(secret.len(), 32);
        out.push(secret.to_owned());
    }
    out
}

/// The SHA-256 (hex) of every token: what the table stores, and nothing else may show.
fn hashes(tokens: &[Token]) -> Vec<String> {
    tokens.iter().map(|t| t.hash().as_str().to_owned()).collect()
}

struct Scenario {
    api: Api<AnyStore>,
    auth: Authorizer<AnyStore>,
    figures: Figures,
    tokens: Vec<Token>,
    /// Every answer of the run, management and authorizer alike: `(what, text)`. A create's or
    /// a replace's `key` is taken out first (checked to be the token it kept); nothing else
    /// may carry a token, a secret or a hash.
    answers: Vec<(String, String)>,
}

impl Scenario {
    /// A handler call by `key`, with `token` in `Authorization` as API Gateway would pass it.
    /// The call as API Gateway passes it on: with the context the authorizer answers for
    /// `token` (none if it refuses), which names `by` and the secret presented.
    async fn send(&mut self, call: Call, by: &ApiKey, token: &Token) -> Answer {
        let what = format!("{} {}?{}", call.method, call.path, call.query);
        let context = match self.auth.decide(Some(token.expose())).await {
            Ok(Decision::Allow(ctx)) => {
                assert_eq!(ctx.key_prefix, by.prefix, "the token opens another key");
                Some(ctx)
            }
            _ => None,
        };
        let a = self
            .api
            .send(
                call.with_context(context)
                    .header("authorization", &format!("Bearer {}", token.expose())),
            )
            .await;
        self.figures.answer(&a);
        self.note(&what, &a);
        a
    }

    /// Notes an answer for the final scan: its headers and its body, without a create's or a
    /// replace's `key`.
    fn note(&mut self, what: &str, a: &Answer) {
        let mut body = a.body.clone();
        if let Some(key) = body.as_object_mut().and_then(|o| o.remove("key")) {
            let shown = key.as_str().unwrap_or_default();
            let t = Token::parse(shown).expect("a create's or replace's key is a token");
            assert!(
                (what.starts_with("POST /keys?") && a.status == 201)
                    || (what.ends_with("/replace?") && a.status == 200),
                "{what} ({}) carries a key",
                a.status
            );
            if !self.tokens.contains(&t) {
                self.tokens.push(t);
            }
        }
        let headers: Vec<String> = a
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let text = if body.is_null() { a.text.clone() } else { body.to_string() };
        self.answers.push((what.to_owned(), format!("{}\n{text}", headers.join("\n"))));
    }

    fn keep(&mut self, a: &Answer) -> Token {
        let t = Token::parse(a.body["key"].as_str().expect("a token")).unwrap();
        if !self.tokens.contains(&t) {
            self.tokens.push(t.clone());
        }
        t
    }

    /// The token in every format and header the authorizer reads; all must agree.
    async fn authorize_everywhere(&mut self, token: &Token) -> bool {
        let t = token.expose();
        let events = [
            json!({"version": "2.0", "type": "REQUEST", "routeArn": ARN, "headers": {"authorization": format!("Bearer {t}")}}),
            json!({"version": "2.0", "type": "REQUEST", "routeArn": ARN, "headers": {"x-api-key": t}}),
            json!({"type": "TOKEN", "authorizationToken": format!("Bearer {t}"), "methodArn": ARN}),
            json!({"type": "TOKEN", "authorizationToken": t, "methodArn": ARN}),
            json!({"type": "REQUEST", "methodArn": ARN, "headers": {"X-Api-Key": t}}),
            json!({"type": "REQUEST", "methodArn": ARN, "headers": {"Authorization": format!("bearer {t}")}}),
        ];
        let direct = matches!(self.auth.decide(Some(t)).await, Ok(Decision::Allow(_)));
        Figures::add(&self.figures.requests, 1 + events.len());
        for (i, e) in events.into_iter().enumerate() {
            let answer = self.auth.handle(e.clone()).await;
            let allowed = match &answer {
                Ok(v) => {
                    v["isAuthorized"] == true
                        || v["policyDocument"]["Statement"][0]["Effect"] == "Allow"
                }
                Err(_) => false,
            };
            let text = match &answer {
                Ok(v) => v.to_string(),
                Err(err) => err.to_string(),
            };
            self.answers.push((format!("authorizer event {i} of {}", token.prefix()), text));
            assert_eq!(allowed, direct, "{e}");
        }
        direct
    }
}

async fn scenario(store: AnyStore) -> Scenario {
    let api = Api::new(store.clone());
    let auth = Authorizer::new(store, Arc::new(api.clock.clone()), StdDuration::ZERO);
    let team = Team::seed(&api).await;
    let mut s = Scenario {
        api,
        auth,
        figures: Figures::default(),
        tokens: team.tokens.clone(),
        answers: Vec::new(),
    };
    let admin_token = team.tokens[0].clone();
    let pm_token = team.tokens[3].clone();
    let (admin, pm) = (&team.admin, &team.pm_p1);

    // create: a project key with every field, a team key, a pending key
    let a = s
        .send(
            Call::new("POST", "/keys").json(json!({
                "name": "everything", "description": "all fields", "projectId": "p1",
                "roles": ["jobs:run"], "labels": ["ci"], "isHighPriority": true,
                "webhookUrl": "https://hooks.example.com/k", "expiresAt": "2036-09-01T00:00:00Z"
            })),
            admin,
            &admin_token,
        )
        .await
        .expect(201);
    let p1 = s.keep(&a);
    let prefix = a.body["prefix"].as_str().unwrap().to_owned();
    let p = format!("/keys/{prefix}");
    let a = s
        .send(
            Call::new("POST", "/keys").json(json!({"name": "nina's", "userId": "nina"})),
            admin,
            &admin_token,
        )
        .await
        .expect(201);
    let nina = s.keep(&a);
    let nina_prefix = a.body["prefix"].as_str().unwrap().to_owned();
    let a = s
        .send(
            Call::new("POST", "/keys").json(json!({"name": "asked for", "projectId": "p1"})),
            pm,
            &pm_token,
        )
        .await
        .expect(201);
    let pending = s.keep(&a);

    // authorize in every format
    assert!(s.authorize_everywhere(&p1).await);
    assert!(s.authorize_everywhere(&nina).await);
    assert!(!s.authorize_everywhere(&pending).await);

    // replace with a grace period: both work; then without: only the newest
    let a = s
        .send(
            Call::new("POST", format!("{p}/replace")).json(json!({"gracePeriodSeconds": 300})),
            admin,
            &admin_token,
        )
        .await
        .expect(200);
    let p2 = s.keep(&a);
    assert!(s.authorize_everywhere(&p1).await);
    assert!(s.authorize_everywhere(&p2).await);

    // update, list, get
    for (call, want) in [
        (
            Call::new("PATCH", &p)
                .json(json!({"name": "renamed", "roles": ["jobs:run"], "labels": ["a", "b"]})),
            200,
        ),
        (Call::new("PATCH", &p).json(json!({"status": "Disabled"})), 200),
        (Call::new("PATCH", &p).json(json!({"status": "Active", "webhookUrl": null})), 200),
        (Call::new("GET", &p), 200),
        (Call::new("GET", "/keys").query("limit=100"), 200),
        (Call::new("GET", "/keys").query("projectId=p1&search=REN"), 200),
        (Call::new("GET", "/keys").query("keyType=user"), 200),
        (Call::new("GET", format!("{p}/audit")), 200),
        (Call::new("GET", "/audit"), 200),
        (Call::new("GET", "/me"), 200),
    ] {
        let a = s.send(call, admin, &admin_token).await;
        assert_eq!(a.status, want, "{}", a.text);
    }
    let a =
        s.send(Call::new("POST", format!("{p}/replace")), admin, &admin_token).await.expect(200);
    let p3 = s.keep(&a);
    assert!(!s.authorize_everywhere(&p1).await);
    assert!(!s.authorize_everywhere(&p2).await);
    assert!(s.authorize_everywhere(&p3).await);

    // refusals: a wrong secret, an edited token, the other kind's tag
    let wrong = Token::generate_for(KeyKind::Project, p3.prefix().clone());
    s.tokens.push(wrong.clone());
    assert!(!s.authorize_everywhere(&wrong).await);
    let t = p3.expose();
    let edited = format!("{}{}", &t[..t.len() - 1], if t.ends_with('A') { 'B' } else { 'A' });
    let retagged = t.replacen("sk-project-", "sk-team-", 1);
    for junk in [edited.as_str(), retagged.as_str(), &t[..30], &format!("{t} {t}")] {
        let d = s.auth.decide(Some(junk)).await.expect("the store answers");
        Figures::add(&s.figures.requests, 1);
        assert!(!matches!(d, Decision::Allow(_)));
    }

    // tokens smuggled into requests: refused or harmless, never echoed, stored or logged
    for (call, want) in [
        (Call::new("PATCH", &p).json(json!({"secret": t, "name": "ok"})), 400),
        (Call::new("PATCH", &p).json(json!({"labels": [t]})), 400),
        (
            Call::new("PATCH", &p)
                .json(json!({"webhookUrl": format!("https://x.example.com/?k={t}"), "name": 7})),
            400,
        ),
        (Call::new("PATCH", &p).raw(Some("application/json"), &format!("{{\"name\": \"{t}")), 400),
        (Call::new("POST", "/keys").raw(Some("text/plain"), t), 415),
        (Call::new("GET", format!("/keys/{t}")), 404),
        (Call::new("DELETE", &p).header("if-match", t), 400),
        (Call::new("GET", "/keys").query(&format!("search={t}")), 200),
        (Call::new("GET", "/keys").query(&format!("cursor={t}")), 400),
    ] {
        let a = s.send(call, admin, &admin_token).await;
        assert_eq!(a.status, want, "{}", a.text);
        assert!(!a.text.contains(&t[20..52]), "an answer echoes a token: {}", a.text);
    }
    // A query parameter or a body field named like a token: refused, and named back as
    // `(redacted)` — a key is shown by create and replace only.
    for call in [
        Call::new("GET", "/keys").query(&format!("{t}=1")),
        Call::new("GET", "/keys").query(&format!("limit=5&x{t}y=1")),
        Call::new("GET", "/audit").query(&format!("{t}=1")),
        Call::new("PATCH", &p).json(json!({ t: "x" })),
        Call::new("POST", "/keys").json(json!({"name": "n", "projectId": "p1", t: 1})),
        Call::new("POST", format!("{p}/replace")).json(json!({ t: 60 })),
    ] {
        let what = format!("{} {}", call.method, call.path);
        let a = s.send(call, admin, &admin_token).await.expect(400);
        assert_eq!(a.error_fields(), ["(redacted)"], "{what}: {}", a.text);
    }

    // usage written, then delete: the team key stops working
    s.auth.flush().await;
    s.send(Call::new("DELETE", format!("/keys/{nina_prefix}")), admin, &admin_token)
        .await
        .expect(204);
    assert!(!s.authorize_everywhere(&nina).await);
    // a team key replaces itself, then deletes itself
    let (user, user_token) = (&team.user1, team.tokens[4].clone());
    let a = s.send(Call::new("POST", replace_path(user)), user, &user_token).await.expect(200);
    let user_new = s.keep(&a);
    assert!(s.authorize_everywhere(&user_new).await);
    s.send(Call::new("DELETE", path(user)), user, &user_new).await.expect(204);
    s.auth.flush().await;
    let stored = s.api.store().get(p3.prefix()).await.unwrap().unwrap();
    assert!(stored.submitted_jobs > 0, "usage was written");
    s
}

/// The answers a run notes: 33 management answers, and 6 authorizer answers for each of the
/// 11 times a token is presented in every format.
const ANSWERS: usize = 33 + 6 * 11;

/// Counts the lines (or items) in `haystack` that hold any needle.
fn hits<'h>(haystack: impl Iterator<Item = &'h str>, needles: &[String]) -> Vec<String> {
    haystack
        .filter(|h| needles.iter().any(|n| h.contains(n.as_str())))
        .map(|h| h.chars().take(300).collect())
        .collect()
}

/// The scenario on DynamoDB Local (`dynamo`) or in memory, all on this thread, then the scans.
fn run(dynamo: bool, label: &str) {
    let capture = integration_tests::capture_logs();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = if dynamo {
        match rt.block_on(integration_tests::dynamo_store("secrets")) {
            Some(d) => AnyStore::Dynamo(d),
            None => return,
        }
    } else {
        AnyStore::Memory(integration_tests::memory_store())
    };
    let s = rt.block_on(scenario(store.clone()));
    let items: Vec<String> = match &store {
        AnyStore::Dynamo(d) => {
            rt.block_on(scan_table(d)).iter().map(|item| format!("{item:?}")).collect()
        }
        AnyStore::Memory(m) => m.dump().iter().map(|k| format!("{k:?}")).collect(),
    };
    drop(rt);
    let logs = capture.text();
    drop(capture);
    let needles = needles(&s.tokens);
    let mut with_hashes = needles.clone();
    with_hashes.extend(hashes(&s.tokens));
    let in_items = hits(items.iter().map(String::as_str), &needles);
    let in_logs = hits(logs.lines(), &with_hashes);
    let in_answers: Vec<String> = s
        .answers
        .iter()
        .filter(|(_, text)| with_hashes.iter().any(|n| text.contains(n.as_str())))
        .map(|(what, text)| format!("{what}: {}", text.chars().take(300).collect::<String>()))
        .collect();
    Figures::add(&s.figures.secret_hits, in_items.len() + in_logs.len() + in_answers.len());
    let levels: Vec<&str> = ["TRACE", "DEBUG", "INFO"]
        .into_iter()
        .filter(|l| logs.contains(&format!("\"level\":\"{l}\"")))
        .collect();
    s.figures.report(
        &format!("secrets ({label})"),
        &format!(
            "{} tokens issued, {} answers, {} items and {} log lines ({levels:?}) searched",
            s.tokens.len(),
            s.answers.len(),
            items.len(),
            logs.lines().count()
        ),
    );
    // The capture and the scan saw the run: its prefixes and outcomes are there.
    assert!(
        logs.contains("key created") && logs.contains("key replaced"),
        "capture missed the run"
    );
    assert!(levels.contains(&"DEBUG"), "DEBUG lines were not captured");
    // 7 seeded keys and 3 created, two of them deleted since (tombstones are kept).
    let keys = items.iter().filter(|i| !dynamo || i.contains("S(\"KEY#")).count();
    assert_eq!(keys, 10, "the scan missed keys");
    // every answer of the run was scanned
    assert_eq!(s.answers.len(), ANSWERS, "answers noted");
    let p = s.tokens.last().unwrap().prefix().as_str().to_owned();
    assert!(items.iter().any(|i| i.contains(&p)) && logs.contains(&p));
    assert_eq!(in_items, Vec::<String>::new(), "a token is stored");
    assert_eq!(in_logs, Vec::<String>::new(), "a token or a hash is logged");
    assert_eq!(
        in_answers,
        Vec::<String>::new(),
        "an answer carries a token or a hash beside a create's or replace's key"
    );
}

#[test]
fn no_token_issued_in_a_whole_run_is_stored_or_logged_dynamodb() {
    run(true, "DynamoDB Local, TRACE");
}

#[test]
fn no_token_issued_in_a_whole_run_is_stored_or_logged_memory() {
    run(false, "in memory, TRACE");
}
