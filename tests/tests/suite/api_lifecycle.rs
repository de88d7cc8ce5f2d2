//! The key lifecycle through the handlers: create shows the token once, replace with and without
//! a grace period (on a clock the test moves), conditional updates (412) and conflicts (409),
//! delete and what follows it, the first admin key, and no secret in any other response.

use serde_json::{json, Value};
use shared::api::bootstrap_admin;
use shared::model::{SecretMatch, Status};
use shared::store::{ListQuery, Store};
use shared::token::Token;
use time::Duration;

use integration_tests::api::*;
use integration_tests::wrap::{Race, Wrapped};

async fn create_shows_the_token_once<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    // when an admin creates a project key
    let a = api
        .create(
            &team.admin,
            json!({
                "name": "CI deploy",
                "description": "used by the pipeline",
                "projectId": "p1",
                "roles": ["jobs:run"],
                "labels": ["ci", "prod"],
                "isHighPriority": true,
                "webhookUrl": "https://hooks.example.com/ci",
                "expiresAt": "2036-09-01T00:00:00Z"
            }),
        )
        .await
        .expect(201);
    // then the answer carries the token once, uncacheable, with the key's location and version
    let token = Token::parse(a.body["key"].as_str().unwrap()).expect("a well-formed token");
    let prefix = a.body["prefix"].as_str().unwrap();
    assert_eq!(token.prefix().as_str(), prefix);
    assert!(token.expose().starts_with("sk-project-"));
    assert_eq!(a.header("location"), Some(format!("/keys/{prefix}").as_str()));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("etag"), Some("\"1\""));
    let b = &a.body;
    assert_eq!(b["preview"], token.preview());
    assert!(b["preview"].as_str().unwrap().starts_with("sk-project-..."));
    assert_eq!(b["keyType"], "system");
    assert_eq!(b["isDefault"], false);
    assert_eq!(b["retrieved"], true);
    assert_eq!(b["status"], "Active");
    assert_eq!(b["project"]["id"], "p1");
    assert_eq!(b["user"], Value::Null);
    assert_eq!(b["account"]["id"], TEAM);
    assert_eq!(b["createdBy"], "ada");
    assert_eq!(b["createdAt"], "2036-03-01T12:00:00.000Z");
    assert_eq!(b["submittedJobs"], 0);
    assert_eq!(b["version"], 1);
    assert_eq!(b["labels"], json!(["ci", "prod"]));
    // and the store holds only the hash
    let stored = api.store().get(token.prefix()).await.unwrap().unwrap();
    assert_eq!(stored.secret_hash, token.hash());
    assert_eq!(stored.match_secret(&token, START), SecretMatch::Current);
    // and a get shows the same object without the token
    let got =
        api.send(Call::new("GET", format!("/keys/{prefix}")).by(&team.admin)).await.expect(200);
    let mut without = a.body.clone();
    without.as_object_mut().unwrap().remove("key");
    assert_eq!(got.body, without);
    assert_eq!(got.header("etag"), Some("\"1\""));
}

async fn second_team_key_is_409<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    // uma already has a team key
    let a = api.create(&team.admin, json!({"name": "again", "userId": "uma"})).await.expect(409);
    assert_eq!(a.header("content-type"), Some("application/problem+json"));
    // and the admin itself (userId defaults to the caller) has one too
    api.create(&team.admin, json!({"name": "mine"})).await.expect(409);
    // once uma's key is deleted the slot is free again
    api.delete(&team.admin, &team.user1).await.expect(204);
    api.create(&team.admin, json!({"name": "again", "userId": "uma"})).await.expect(201);
}

async fn if_match_is_412_when_stale<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    let patch = |tag: &str, name: &str| {
        Call::new("PATCH", path(&k))
            .by(&team.admin)
            .header("if-match", tag)
            .json(json!({"name": name}))
    };
    // the current version passes and moves the version on
    let a = api.send(patch("\"1\"", "first")).await.expect(200);
    assert_eq!(a.header("etag"), Some("\"2\""));
    // the old one is stale now
    let a = api.send(patch("\"1\"", "lost")).await.expect(412);
    assert_eq!(a.body["status"], 412);
    assert_eq!(api.stored(&k).await.name.as_str(), "first");
    // weak tags, lists and * are understood
    api.send(patch("W/\"2\"", "second")).await.expect(200);
    api.send(patch("\"1\", \"3\"", "third")).await.expect(200);
    api.send(patch("*", "fourth")).await.expect(200);
    // replace and delete honour it too
    api.send(Call::new("POST", replace_path(&k)).by(&team.admin).header("if-match", "\"1\""))
        .await
        .expect(412);
    api.send(Call::new("DELETE", path(&k)).by(&team.admin).header("if-match", "\"4\""))
        .await
        .expect(412);
    api.send(Call::new("DELETE", path(&k)).by(&team.admin).header("if-match", "\"5\""))
        .await
        .expect(204);
}

async fn concurrent_change_is_409_or_412<S: Store>(store: S) {
    let api = Api::new(Wrapped::new(store, Race::default()));
    let race = api.store().hooks.clone();
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    let calls = [
        Call::new("PATCH", path(&k)).json(json!({"name": "mine"})),
        Call::new("POST", replace_path(&k)),
        Call::new("DELETE", path(&k)),
    ];
    for call in calls {
        // without If-Match a lost race is a conflict: read again and retry
        race.arm();
        let a = api.send(call.clone().by(&team.admin)).await.expect(409);
        assert!(a.body["detail"].as_str().unwrap().contains("changed"));
        // with If-Match naming the version read, it is a failed precondition
        let version = api.stored(&k).await.version;
        race.arm();
        api.send(call.by(&team.admin).header("if-match", &format!("\"{version}\"")))
            .await
            .expect(412);
    }
    // nothing of the losers was written
    assert_ne!(api.stored(&k).await.name.as_str(), "mine");
    assert_eq!(api.stored(&k).await.secret_hash, k.secret_hash);
}

async fn replace_with_a_grace_period<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, old) = p1_key(&api, &[]).await;
    // when replaced with five minutes of grace
    let a = api.replace(&team.pa_p1, &k, json!({"gracePeriodSeconds": 300})).await.expect(200);
    let new = Token::parse(a.body["key"].as_str().unwrap()).unwrap();
    // then the prefix stays, the secret changes, the token is shown once
    assert_eq!(new.prefix(), &k.prefix);
    assert_ne!(new, old);
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.body["prefix"], k.prefix.as_str());
    assert_eq!(a.body["preview"], new.preview());
    assert_eq!(a.body["version"], 2);
    assert_eq!(a.body["updatedAt"], "2036-03-01T12:00:00.000Z");
    // and the store keeps the old hash until the grace period ends
    let stored = api.stored(&k).await;
    assert_eq!(stored.secret_hash, new.hash());
    let previous = stored.previous.clone().expect("a previous secret");
    assert_eq!(previous.hash, old.hash());
    assert_eq!(previous.valid_until, START + Duration::seconds(300));
    assert_eq!(stored.match_secret(&new, START), SecretMatch::Current);
    assert_eq!(stored.match_secret(&old, START + Duration::seconds(299)), SecretMatch::Previous);
    assert_eq!(stored.match_secret(&old, START + Duration::seconds(300)), SecretMatch::None);
    // a replace a minute later with no grace ends every older secret at once
    api.clock.advance(Duration::minutes(1));
    let a = api
        .send(
            Call::new("POST", replace_path(&k)).by(&team.pa_p1).raw(Some("application/json"), "{}"),
        )
        .await
        .expect(200);
    let newest = Token::parse(a.body["key"].as_str().unwrap()).unwrap();
    assert_eq!(a.body["updatedAt"], "2036-03-01T12:01:00.000Z");
    let stored = api.stored(&k).await;
    assert!(stored.previous.is_none());
    let now = START + Duration::minutes(1);
    assert_eq!(stored.match_secret(&newest, now), SecretMatch::Current);
    assert_eq!(stored.match_secret(&new, now), SecretMatch::None);
    assert_eq!(stored.match_secret(&old, now), SecretMatch::None);
    // the longest grace is a day
    let a = api.replace(&team.admin, &k, json!({"gracePeriodSeconds": 86400})).await.expect(200);
    let stored = api.stored(&k).await;
    assert_eq!(stored.previous.unwrap().valid_until, now + Duration::days(1));
    assert_eq!(a.body["version"], 4);
    // a team key replaces itself (seed 000)
    let a =
        api.send(Call::new("POST", replace_path(&team.user1)).by(&team.user1)).await.expect(200);
    assert!(a.body["key"].as_str().unwrap().starts_with("sk-team-"));
}

async fn deleted_keys_are_gone<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    // when deleted
    let a = api.delete(&team.pa_p1, &k).await.expect(204);
    assert!(a.text.is_empty());
    // then a tombstone is left
    assert_eq!(api.stored(&k).await.status, Status::Deleted);
    // and every route treats it as unknown
    api.get(&team.admin, &k).await.expect(404);
    api.send(Call::new("POST", replace_path(&k)).by(&team.admin)).await.expect(404);
    api.patch(&team.admin, &k, json!({"name": "back"})).await.expect(404);
    api.patch(&team.admin, &k, json!({"status": "Active"})).await.expect(404);
    api.delete(&team.admin, &k).await.expect(404);
    // it leaves the list, and shows only when tombstones are asked for
    let live = api.list(&team.admin, "projectId=p1").await.expect(200);
    assert!(!live.text.contains(k.prefix.as_str()));
    let dead = api.list(&team.admin, "projectId=p1&status=Deleted").await.expect(200);
    assert_eq!(dead.body["items"][0]["prefix"], k.prefix.as_str());
    assert_eq!(dead.body["items"][0]["status"], "Deleted");
    // a team key that deletes itself is gone the same way: it no longer calls at all (its
    // authorizer context, even from a cache, is refused on the next management request)
    api.delete(&team.user2, &team.user2).await.expect(204);
    api.get(&team.user2, &team.user2).await.expect(401);
    api.get(&team.admin, &team.user2).await.expect(404);
}

async fn lists_page_search_and_filter<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let mut made = Vec::new();
    for (i, name) in
        ["Deploy bot", "deploy-staging", "Metrics", "DEPLOYER", "misc"].iter().enumerate()
    {
        api.clock.advance(Duration::seconds(1));
        let a = api.create(&team.pa_p1, json!({"name": name, "projectId": "p1"})).await.expect(201);
        made.push(a.body["prefix"].as_str().unwrap().to_owned());
        if i % 2 == 1 {
            api.send(
                Call::new("PATCH", format!("/keys/{}", made[i]))
                    .by(&team.pa_p1)
                    .json(json!({"status": "Disabled"})),
            )
            .await
            .expect(200);
        }
    }
    let names = |a: &Answer| a.item_strs("name");
    // newest first, paged by the cursor
    let first = api.list(&team.pa_p1, "limit=2").await.expect(200);
    assert_eq!(names(&first), ["misc", "DEPLOYER"]);
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = api.list(&team.pa_p1, &format!("limit=2&cursor={cursor}")).await.expect(200);
    assert_eq!(names(&second), ["Metrics", "deploy-staging"]);
    // search is a case-insensitive substring of the name; status filters
    let found = api.list(&team.pa_p1, "search=DePlOy").await.expect(200);
    assert_eq!(names(&found), ["DEPLOYER", "deploy-staging", "Deploy bot"]);
    let disabled = api.list(&team.pa_p1, "status=Disabled&search=deploy").await.expect(200);
    assert_eq!(names(&disabled), ["DEPLOYER", "deploy-staging"]);
    assert_eq!(disabled.body["nextCursor"], Value::Null);
}

async fn bootstrap_mints_the_first_admin<S: Store>(store: S) {
    let api = Api::new(store);
    // given an empty team, the operator mints its first admin key
    let (key, token) = bootstrap_admin(
        api.store(),
        &api.clock,
        id("fresh-team"),
        id("root"),
        "first admin",
        "ops",
    )
    .await
    .unwrap();
    assert_eq!(key.status, Status::Active);
    assert_eq!(key.roles.as_strs(), ["admin"]);
    assert!(token.expose().starts_with("sk-team-"));
    let stored = api.stored(&key).await;
    assert_eq!(stored.match_secret(&token, START), SecretMatch::Current);
    // and the key works as an admin of that team right away
    let a = api.create(&stored, json!({"name": "ops", "projectId": "ops"})).await.expect(201);
    assert_eq!(a.body["account"]["id"], "fresh-team");
    // a second bootstrap for the same user conflicts; a bad name is a validation error
    let again =
        bootstrap_admin(api.store(), &api.clock, id("fresh-team"), id("root"), "again", "ops")
            .await;
    assert_eq!(again.unwrap_err().status(), 409);
    let bad =
        bootstrap_admin(api.store(), &api.clock, id("fresh-team"), id("other"), "", "ops").await;
    assert_eq!(bad.unwrap_err().status(), 400);
}

async fn no_secret_outside_create_and_replace<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let mut secrets: Vec<String> = Vec::new();
    for t in &team.tokens {
        secrets.push(t.expose().to_owned());
        secrets.push(t.hash().as_str().to_owned());
    }
    // (what, answer text without a create's or replace's key)
    let mut bodies: Vec<(String, String)> = Vec::new();
    let without_key = |a: &Answer| {
        let mut body = a.body.clone();
        let key =
            body.as_object_mut().and_then(|o| o.remove("key")).expect("the answer carries the key");
        (key.as_str().expect("a token").to_owned(), body.to_string())
    };
    // keys made through the API, replaced with a grace period (so a previous hash is stored)
    let created =
        api.create(&team.admin, json!({"name": "scan", "projectId": "p1"})).await.expect(201);
    let (token, rest) = without_key(&created);
    secrets.push(token.clone());
    bodies.push(("create (without its key)".into(), rest));
    let prefix = created.body["prefix"].as_str().unwrap();
    let p = path(prefix);
    let replaced =
        api.replace(&team.admin, prefix, json!({"gracePeriodSeconds": 600})).await.expect(200);
    let (new_token, rest) = without_key(&replaced);
    secrets.push(new_token.clone());
    bodies.push(("replace (without its key)".into(), rest));
    for key in api
        .store()
        .list(&ListQuery::new(shared::store::ListScope::WholeTeam(id(TEAM))))
        .await
        .unwrap()
        .items
    {
        secrets.push(key.secret_hash.as_str().to_owned());
        if let Some(prev) = key.previous {
            secrets.push(prev.hash.as_str().to_owned());
        }
    }
    for t in [&token, &new_token] {
        secrets.push(Token::parse(t).unwrap().hash().as_str().to_owned());
    }
    // every other response, successes and errors alike, each with the status its step expects
    let t = team.tokens[0].expose();
    let calls = vec![
        (Call::new("GET", "/keys").by(&team.admin), 200),
        (Call::new("GET", "/keys").query("keyType=user").by(&team.admin), 200),
        (Call::new("GET", "/keys").query("projectId=p1").by(&team.pm_p1), 200),
        (Call::new("GET", "/keys").by(&team.user1), 200),
        (Call::new("GET", &p).by(&team.admin), 200),
        (Call::new("GET", path(&team.user1)).by(&team.user1), 200),
        (Call::new("GET", "/me").by(&team.user1), 200),
        (Call::new("GET", format!("{p}/audit")).by(&team.admin), 200),
        (Call::new("GET", "/audit").by(&team.admin), 200),
        (Call::new("PATCH", &p).by(&team.admin).json(json!({"name": "scanned"})), 200),
        (Call::new("PATCH", &p).by(&team.admin).json(json!({"hash": "x"})), 400),
        (Call::new("PATCH", &p).by(&team.pm_p1).json(json!({"name": "no"})), 403),
        (Call::new("POST", format!("{p}/replace")).by(&team.pm_p1), 403),
        (Call::new("POST", "/keys").by(&team.admin).json(json!({"name": ""})), 400),
        // a token as a query parameter's name, and as a body field's name
        (Call::new("GET", "/keys").query(&format!("{t}=1")).by(&team.admin), 400),
        (Call::new("PATCH", &p).by(&team.admin).json(json!({ t: "x", "name": "ok" })), 400),
        (
            Call::new("POST", "/keys")
                .by(&team.admin)
                .json(json!({"name": "n", "projectId": "p1", &new_token: 1})),
            400,
        ),
        (Call::new("GET", path(&team.admin)).by(&team.stranger), 404),
        (Call::new("GET", &p), 401),
        (Call::new("DELETE", &p).by(&team.admin), 204),
        (Call::new("DELETE", &p).by(&team.admin), 404),
        (Call::new("GET", "/keys").query("status=Deleted&projectId=p1").by(&team.admin), 200),
    ];
    let sent = calls.len();
    for (call, want) in calls {
        let what = format!("{} {}?{}", call.method, call.path, call.query);
        // a token sent as a name (these calls send tokens nowhere else) is named back redacted
        let named = [t, new_token.as_str()]
            .iter()
            .any(|t| call.query.contains(t) || call.body.as_deref().is_some_and(|b| b.contains(t)));
        let a = api.send(call).await;
        assert_eq!(a.status, want, "{what}: {}", a.text);
        if named {
            assert_eq!(a.error_fields(), ["(redacted)"], "{what}: {}", a.text);
        }
        let headers: Vec<String> = a
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        bodies.push((what, format!("{}\n{}", headers.join("\n"), a.text)));
    }
    // then none carries a token, a secret or a hash
    for (what, body) in &bodies {
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "{what} leaks a secret: {body}");
        }
        // (an audit record's `key` is the key it is about, an object)
        assert!(!body.contains("\"key\":\""), "{what}: {body}");
        assert!(!body.contains("secretHash") && !body.contains("previous"), "{what}: {body}");
    }
    assert_eq!(bodies.len(), 2 + sent);
    assert_eq!(sent, 22);
}

integration_tests::on_both_stores!(
    create_shows_the_token_once,
    second_team_key_is_409,
    if_match_is_412_when_stale,
    concurrent_change_is_409_or_412,
    replace_with_a_grace_period,
    deleted_keys_are_gone,
    lists_page_search_and_filter,
    bootstrap_mints_the_first_admin,
    no_secret_outside_create_and_replace,
);
