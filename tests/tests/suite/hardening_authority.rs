//! No cache, header or self-service widens authority. Tried as an attacker would, on both stores:
//!
//! 1. **The key comes from where API Gateway caches**: every authorizer format (HTTP API with
//!    `Authorization` or `x-api-key` as identity source, or none; REST TOKEN from either header;
//!    REST REQUEST) with every combination of the two headers — good key, another good key, a
//!    dummy, another scheme, nothing. An allow is right only for the key the cached value names,
//!    with no header carrying another.
//! 2. **Management re-checks its caller**: an admin key that is disabled, deleted, demoted,
//!    replaced (with and without a grace period) or expired sends a management request carrying
//!    its old authorizer context (as a cache would deliver it): refused, nothing written. With
//!    the authorizer's in-process cache on, the cached allow still reaches management, which
//!    still refuses.
//! 3. **Self-limits**: a key changing its own expiry, status or roles; keys outliving their
//!    creator; `isHighPriority` set by a project admin; webhook credentials; approving a key
//!    without its roles.
//!
//! Each test reports its figures; "allows that should not have happened" and "writes that should
//! not have happened" must be 0.

use std::time::Duration as StdDuration;

use serde_json::{json, Value};
use shared::authorizer::{Authorizer, Decision};
use shared::identity::AuthContext;
use shared::store::Store;
use shared::token::Token;
use shared::ApiKey;
use time::Duration;

use integration_tests::api::*;
use integration_tests::figures::Figures;

const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/things";

/// Where API Gateway takes the identity it caches on.
#[derive(Debug, Clone, Copy)]
enum Format {
    /// HTTP API, identity source `$request.header.Authorization`.
    HttpAuthorization,
    /// HTTP API, identity source `$request.header.x-api-key`.
    HttpApiKey,
    /// HTTP API without an identity source (no caching possible).
    HttpNone,
    /// REST TOKEN authorizer reading `Authorization`.
    RestTokenAuthorization,
    /// REST TOKEN authorizer reading `x-api-key`.
    RestTokenApiKey,
    /// REST REQUEST authorizer (the headers).
    RestRequest,
}

const FORMATS: [Format; 6] = [
    Format::HttpAuthorization,
    Format::HttpApiKey,
    Format::HttpNone,
    Format::RestTokenAuthorization,
    Format::RestTokenApiKey,
    Format::RestRequest,
];

/// The authorizer event API Gateway would send, or `None` when it answers 401 itself (the
/// identity source header is missing).
fn event(format: Format, authorization: Option<&str>, api_key: Option<&str>) -> Option<Value> {
    let mut headers = serde_json::Map::new();
    if let Some(a) = authorization {
        headers.insert("Authorization".into(), json!(a));
    }
    if let Some(k) = api_key {
        headers.insert("x-api-key".into(), json!(k));
    }
    let http = |source: Option<&str>| {
        let mut e =
            json!({ "version": "2.0", "type": "REQUEST", "routeArn": ARN, "headers": headers });
        if let Some(s) = source {
            e["identitySource"] = json!([s]);
        }
        e
    };
    Some(match format {
        Format::HttpAuthorization => http(Some(authorization?)),
        Format::HttpApiKey => http(Some(api_key?)),
        Format::HttpNone => http(None),
        Format::RestTokenAuthorization => {
            json!({ "type": "TOKEN", "authorizationToken": authorization?, "methodArn": ARN })
        }
        Format::RestTokenApiKey => {
            json!({ "type": "TOKEN", "authorizationToken": api_key?, "methodArn": ARN })
        }
        Format::RestRequest => json!({ "type": "REQUEST", "methodArn": ARN, "headers": headers }),
    })
}

/// The prefix an answer allows, if it allows.
fn allowed(answer: &Result<Value, String>) -> Option<String> {
    let a = answer.as_ref().ok()?;
    let allow =
        a["isAuthorized"] == true || a["policyDocument"]["Statement"][0]["Effect"] == "Allow";
    allow.then(|| a["context"]["keyPrefix"].as_str().unwrap_or("").to_owned())
}

async fn the_key_comes_from_where_api_gateway_caches<S: Store + Clone + 'static>(store: S) {
    let figures = Figures::default();
    let api = Api::new(store);
    let (good, g) = team_key(TEAM, "ada", &["admin"]);
    let (other, o) = team_key(TEAM, "bob", &[]);
    integration_tests::seed(api.store(), &good).await;
    integration_tests::seed(api.store(), &other).await;
    let auth = Authorizer::new(api.store().clone(), api.state.clock.clone(), StdDuration::ZERO);
    let bearer = |t: &Token| format!("Bearer {}", t.expose());
    let (gb, ob) = (bearer(&g), bearer(&o));
    let (gk, ok) = (g.expose().to_owned(), o.expose().to_owned());
    let combos: Vec<(Option<&str>, Option<&str>)> = vec![
        (Some(&gb), None),
        (None, Some(&gk)),
        (Some(&gb), Some(&gk)),
        (Some(&gb), Some(&ok)),
        (Some(&ob), Some(&gk)),
        (Some("ApiKey x"), Some(&gk)),
        (Some("Basic dXNlcjpwYXNz"), Some(&gk)),
        (Some(&gb), Some("dummy")),
        (Some("Bearer "), Some(&gk)),
        (None, None),
    ];
    let mut cases = 0;
    let mut wrong = Vec::new();
    for format in FORMATS {
        for (authorization, api_key) in &combos {
            let Some(e) = event(format, *authorization, *api_key) else {
                continue; // API Gateway answers 401 without asking the authorizer
            };
            cases += 1;
            let answer = auth.handle(e).await.map_err(|e| e.to_string());
            // What the cache would be keyed on names the key; no header may carry another.
            let cached = match format {
                Format::HttpAuthorization | Format::RestTokenAuthorization => {
                    authorization.map(|a| a.trim_start_matches("Bearer ").to_owned())
                }
                Format::HttpApiKey | Format::RestTokenApiKey => api_key.map(str::to_owned),
                Format::HttpNone | Format::RestRequest => None,
            };
            let header_keys: Vec<String> = [
                authorization.and_then(|a| a.strip_prefix("Bearer ").map(str::to_owned)),
                api_key.map(|k| k.to_owned()),
            ]
            .into_iter()
            .flatten()
            .collect();
            let headers_agree = match (authorization, api_key) {
                (Some(a), Some(k)) => a.strip_prefix("Bearer ") == Some(k),
                _ => true,
            };
            let expected = match format {
                Format::RestTokenAuthorization | Format::RestTokenApiKey => cached.clone(),
                Format::HttpNone | Format::RestRequest => {
                    headers_agree.then(|| header_keys.first().cloned()).flatten()
                }
                _ => (headers_agree && header_keys.iter().all(|k| Some(k) == cached.as_ref()))
                    .then(|| cached.clone())
                    .flatten(),
            }
            .filter(|k| *k == gk || *k == ok)
            .map(|k| {
                if k == gk {
                    good.prefix.to_string()
                } else {
                    other.prefix.to_string()
                }
            });
            let got = allowed(&answer);
            if got.is_some() && got != expected {
                Figures::add(&figures.allows_during_faults, 1);
            }
            if got != expected {
                wrong.push(format!(
                    "{format:?} {authorization:?} {api_key:?}: {got:?} vs {expected:?}"
                ));
            }
        }
    }
    Figures::add(&figures.requests, cases);
    figures.report(
        "key_source",
        &format!(
            "{cases} format x header cases, allows that should not have happened {}",
            Figures::get(&figures.allows_during_faults)
        ),
    );
    assert!(
        wrong.is_empty(),
        "{} of {cases} cases decided wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(Figures::get(&figures.allows_during_faults), 0);
}

/// Whether a list answer holds a team key of `user`.
fn has_user(list: &Answer, user: &str) -> bool {
    list.body["items"].as_array().is_some_and(|items| items.iter().any(|k| k["user"]["id"] == user))
}

/// Everything the store holds, for "nothing written" checks.
async fn snapshot<S: Store>(api: &Api<S>, keys: &[&ApiKey]) -> Vec<Option<ApiKey>> {
    let mut out = Vec::new();
    for k in keys {
        out.push(api.store().get(&k.prefix).await.unwrap());
    }
    out
}

async fn management_re_checks_its_caller<S: Store + Clone + 'static>(store: S) {
    let figures = Figures::default();
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (victim, _) = p1_key(&api, &[]).await;
    let attempts = |ctx: &AuthContext| {
        let c = Some(ctx.clone());
        vec![
            Call::new("POST", "/keys")
                .with_context(c.clone())
                .json(json!({"name": "backdoor", "userId": "mallory", "roles": ["admin"]})),
            Call::new("PATCH", path(&victim))
                .with_context(c.clone())
                .json(json!({"roles": ["admin"]})),
            Call::new("POST", replace_path(&victim)).with_context(c.clone()),
            Call::new("DELETE", path(&victim)).with_context(c.clone()),
            Call::new("GET", path(&victim)).with_context(c.clone()),
            Call::new("GET", "/keys").with_context(c),
        ]
    };
    // Each way an admin key loses its power, then its old context (as any cache would hand
    // it on) tries everything.
    type Revoke = Box<dyn Fn(&mut ApiKey, &shared::clock::FixedClock) -> Vec<(String, Value)>>;
    let ways: Vec<(&str, Revoke, u16)> = vec![
        ("disabled", Box::new(|_, _| vec![("PATCH".into(), json!({"status": "Disabled"}))]), 401),
        ("deleted", Box::new(|_, _| vec![("DELETE".into(), Value::Null)]), 401),
        ("demoted", Box::new(|_, _| vec![("PATCH".into(), json!({"roles": []}))]), 403),
        ("replaced", Box::new(|_, _| vec![("REPLACE".into(), json!({}))]), 401),
        (
            "expired",
            Box::new(|_, _| vec![("PATCH".into(), json!({"expiresAt": "2036-03-01T13:00:00Z"}))]),
            401,
        ),
    ];
    for (how, revoke, status) in ways {
        let (mut admin, _) = team_key(TEAM, &format!("admin-{how}"), &["admin"]);
        api.put(&admin).await;
        let old = AuthContext::of(&admin);
        for (method, body) in revoke(&mut admin, &api.clock) {
            let call = match method.as_str() {
                "PATCH" => Call::new("PATCH", path(&admin)).json(body),
                "DELETE" => Call::new("DELETE", path(&admin)),
                _ => Call::new("POST", replace_path(&admin)).json(body),
            };
            let a = api.send(call.by(&team.admin)).await;
            assert!(a.status < 300, "{how}: {}", a.text);
        }
        if how == "expired" {
            api.clock.advance(Duration::hours(2));
        }
        let before = snapshot(&api, &[&victim, &team.admin, &admin]).await;
        for call in attempts(&old) {
            let write = call.method != "GET";
            let a = api.send(call).await;
            figures.answer(&a);
            let ok = if how == "demoted" {
                // a demoted admin still calls, as a plain team key, with its stored roles
                matches!(a.status, 403 | 404) || (a.status == 200 && !write)
            } else {
                a.status == status
            };
            if !ok || (a.status < 300 && write) {
                Figures::add(&figures.allows_during_faults, 1);
            }
            assert!(ok, "{how}: {} {}", a.status, a.text);
        }
        let after = snapshot(&api, &[&victim, &team.admin, &admin]).await;
        if before != after {
            Figures::add(&figures.lost_updates, 1);
        }
        assert_eq!(before, after, "{how}: something was written");
        let listed = api.list(&team.admin, "keyType=user").await;
        assert!(!has_user(&listed, "mallory"), "{how}: a backdoor key was created");
        if how == "expired" {
            api.clock.set(START);
        }
    }
    // A replace with a grace period: the old secret still calls until the grace ends.
    let (admin, _) = team_key(TEAM, "admin-grace", &["admin"]);
    api.put(&admin).await;
    let old = AuthContext::of(&admin);
    api.replace(&team.admin, &admin, json!({"gracePeriodSeconds": 60})).await.expect(200);
    api.send(Call::new("GET", "/keys").with_context(Some(old.clone()))).await.expect(200);
    api.clock.advance(Duration::seconds(61));
    let before = snapshot(&api, &[&victim]).await;
    for call in attempts(&old) {
        let a = api.send(call).await;
        figures.answer(&a);
        assert_eq!(a.status, 401, "after the grace: {}", a.text);
    }
    assert_eq!(before, snapshot(&api, &[&victim]).await);
    api.clock.set(START);
    figures.report(
        "management_re_check",
        &format!(
            "allows that should not have happened {}, writes that should not have happened {}",
            Figures::get(&figures.allows_during_faults),
            Figures::get(&figures.lost_updates)
        ),
    );
    assert_eq!(Figures::get(&figures.allows_during_faults), 0);
    assert_eq!(Figures::get(&figures.lost_updates), 0);
}

async fn a_cached_allow_never_reaches_management<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (admin, token) = team_key(TEAM, "cached", &["admin"]);
    api.put(&admin).await;
    // the authorizer's in-process cache (a minute) allows the key once...
    let auth =
        Authorizer::new(api.store().clone(), api.state.clock.clone(), StdDuration::from_secs(60));
    let Decision::Allow(ctx) = auth.decide(Some(token.expose())).await.unwrap() else {
        panic!("the key is allowed")
    };
    // ...then an admin disables it: other APIs may still be let in from the cache, for up to
    // the TTL (the documented trade-off)...
    api.patch(&team.admin, &admin, json!({"status": "Disabled"})).await.expect(200);
    let Decision::Allow(cached) = auth.decide(Some(token.expose())).await.unwrap() else {
        panic!("the cache is on")
    };
    assert_eq!(cached, ctx);
    // ...but the management API refuses the cached context, and writes nothing
    api.send(
        Call::new("POST", "/keys")
            .with_context(Some(cached))
            .json(json!({"name": "x", "userId": "eve", "roles": ["admin"]})),
    )
    .await
    .expect(401);
    let listed = api.list(&team.admin, "keyType=user").await.expect(200);
    assert!(!has_user(&listed, "eve"), "a key was created");
}

async fn no_key_outgrows_its_limits<S: Store + Clone + 'static>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let expiry = |d: i64| {
        (START + Duration::days(d)).format(&time::format_description::well_known::Rfc3339).unwrap()
    };
    // a project key that administers its own project, expiring in 30 days
    let (mut svc, _) = project_key(TEAM, "p1", &["project-admin:p1", "jobs:run"]);
    svc.expires_at = Some(START + Duration::days(30));
    api.put(&svc).await;
    let mut refused = 0;
    let mut tried = 0;
    let mut expect = |a: Answer, status: u16, what: &str| {
        tried += 1;
        assert_eq!(a.status, status, "{what}: {}", a.text);
        if a.status >= 400 {
            refused += 1;
        }
    };
    // it cannot change its own expiry, status or roles (but may rename itself)
    for body in [
        json!({"expiresAt": expiry(300)}),
        json!({"expiresAt": null}),
        json!({"expiresAt": expiry(10)}),
        json!({"status": "Disabled"}),
        json!({"roles": ["project-admin:p1"]}),
    ] {
        let a = api.send(Call::new("PATCH", path(&svc)).by(&svc).json(body.clone())).await;
        expect(a, 403, &format!("self {body}"));
    }
    let a = api.patch(&svc, &svc, json!({"name": "renamed"})).await;
    expect(a, 200, "self rename");
    let svc = api.stored(&svc).await;
    // it cannot create keys that outlive it, or never expire
    let a = api
        .create(&svc, json!({"name": "later", "projectId": "p1", "expiresAt": expiry(60)}))
        .await;
    expect(a, 400, "create later");
    let a = api.create(&svc, json!({"name": "never", "projectId": "p1", "expiresAt": null})).await;
    expect(a, 400, "create never");
    let a = api.create(&svc, json!({"name": "omitted", "projectId": "p1"})).await;
    assert_eq!(a.body["expiresAt"], json!(shared::model::format_time(START + Duration::days(30))));
    expect(a, 201, "create with the caller's expiry");
    let a = api
        .create(&svc, json!({"name": "sooner", "projectId": "p1", "expiresAt": expiry(20)}))
        .await;
    let sooner = a.body["prefix"].as_str().unwrap().to_owned();
    expect(a, 201, "create sooner");
    // nor extend or clear another key's expiry past its own
    for body in [json!({"expiresAt": expiry(60)}), json!({"expiresAt": null})] {
        let a = api
            .send(Call::new("PATCH", format!("/keys/{sooner}")).by(&svc).json(body.clone()))
            .await;
        expect(a, 400, &format!("extend {body}"));
    }
    // isHighPriority is the admin's
    let a = api
        .create(&team.pa_p1, json!({"name": "fast", "projectId": "p1", "isHighPriority": true}))
        .await;
    expect(a, 403, "create high priority");
    let a = api.patch(&team.pa_p1, &sooner, json!({"isHighPriority": true})).await;
    expect(a, 403, "set high priority");
    let a = api.patch(&team.admin, &sooner, json!({"isHighPriority": true})).await;
    expect(a, 200, "admin sets high priority");
    // webhooks carry no credentials and no fragment
    for url in [
        "https://user:secret@hooks.example/x",
        "https://hooks.example/x#frag",
        "https://@hooks.example/",
    ] {
        let a = api
            .create(&team.admin, json!({"name": "hook", "projectId": "p1", "webhookUrl": url}))
            .await;
        assert_eq!(a.error_fields(), ["webhookUrl"], "{url}");
        expect(a, 400, url);
    }
    // approving needs every role of the approved key, and records the approver
    let a = api
        .create(&team.pm_p1, json!({"name": "pending", "projectId": "p1", "roles": ["jobs:run"]}))
        .await;
    let pending = a.body["prefix"].as_str().unwrap().to_owned();
    assert_eq!(a.body["status"], "Pending");
    expect(a, 201, "member creates");
    let a = api.patch(&team.pa_p2, &pending, json!({"status": "Active"})).await;
    expect(a, 403, "another project's admin approves");
    let (weak, _) = team_key(TEAM, "weak-pa", &["project-admin:p1"]);
    api.put(&weak).await;
    let a = api.patch(&weak, &pending, json!({"status": "Active"})).await;
    expect(a, 403, "approve without the key's roles");
    let a = api.patch(&team.pa_p1, &pending, json!({"status": "Active"})).await;
    assert_eq!(a.body["approvedBy"], "pat");
    expect(a, 200, "approve with the roles");
    // an approver that expires must bound the approved key's expiry
    let a = api.create(&team.pm_p1, json!({"name": "pending 2", "projectId": "p1"})).await;
    let pending2 = a.body["prefix"].as_str().unwrap().to_owned();
    expect(a, 201, "member creates again");
    let a = api.patch(&svc, &pending2, json!({"status": "Active"})).await;
    expect(a, 400, "approve a never-expiring key by an expiring approver");
    let a = api.patch(&svc, &pending2, json!({"status": "Active", "expiresAt": expiry(5)})).await;
    expect(a, 200, "approve with a bounded expiry");
    eprintln!("hardening self_limits: {tried} cases, {refused} refused as they should");
}

integration_tests::on_both_stores!(
    the_key_comes_from_where_api_gateway_caches,
    management_re_checks_its_caller,
    a_cached_allow_never_reaches_management,
    no_key_outgrows_its_limits,
);

/// What each management request costs in DynamoDB requests, counted on the wire: the caller is
/// re-read in the same round trip as the key it acts on; every read is strongly consistent; a
/// change and its audit record are one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_round_trips() {
    let Some((store, counter)) = integration_tests::counted_dynamo_store("round-trips").await
    else {
        return;
    };
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    counter.reset();
    let mut measured = Vec::new();
    let mut check = |what: &str, a: Answer, status: u16, expected: &str| {
        assert_eq!(a.status, status, "{what}: {}", a.text);
        let counts = counter.take();
        assert!(
            counts.eventually_consistent.is_empty(),
            "{what}: reads that were not strongly consistent: {:?}",
            counts.eventually_consistent
        );
        assert_eq!(counts.get("Scan"), 0, "{what}: a Scan");
        assert_eq!(counts.describe(), expected, "{what}");
        measured.push(format!("{what}: {expected}"));
    };
    let admin = &team.admin;
    let a = api.create(admin, json!({"name": "rt", "projectId": "p1"})).await;
    check("create", a, 201, "GetItem 1, TransactWriteItems 1");
    let a = api.get(admin, &k).await;
    check("get", a, 200, "BatchGetItem 1");
    let a = api.get(admin, admin).await;
    check("get itself", a, 200, "GetItem 1");
    let a = api.send(Call::new("GET", "/me").by(admin)).await;
    check("me", a, 200, "GetItem 1");
    let a = api.list(admin, "projectId=p1").await;
    check("list", a, 200, "GetItem 1, Query 1");
    for (what, query) in [
        ("list, filtered", "status=Disabled&search=rt"),
        ("list of team keys", "keyType=user&limit=2"),
        ("list of deleted keys", "status=Deleted"),
    ] {
        let a = api.list(admin, query).await;
        check(what, a, 200, "GetItem 1, Query 1");
    }
    let a = api.send(Call::new("GET", format!("{}/audit", path(&k))).by(admin)).await;
    check("a key's audit", a, 200, "BatchGetItem 1, Query 1");
    let a = api.send(Call::new("GET", "/audit").query("action=created").by(admin)).await;
    check("the team's audit", a, 200, "GetItem 1, Query 1");
    let a = api.patch(admin, &k, json!({"name": "rt2"})).await;
    check("update", a, 200, "BatchGetItem 1, TransactWriteItems 1");
    let a = api.send(Call::new("POST", replace_path(&k)).by(admin)).await;
    check("replace", a, 200, "BatchGetItem 1, TransactWriteItems 1");
    let a = api.delete(admin, &k).await;
    check("delete", a, 204, "BatchGetItem 1, TransactWriteItems 1");
    let a = api.delete(admin, &team.user2).await;
    check("delete team key", a, 204, "BatchGetItem 1, TransactWriteItems 1");
    eprintln!("management round trips: {}", measured.join("; "));
}
