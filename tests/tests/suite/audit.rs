//! The audit trail, on both stores: every change yields exactly one record, written in the same
//! transaction (a record that cannot be written fails the change and leaves the key as it was),
//! 50 racing writers leave one record per success; who may read which history; no secret in any
//! record; 250 records paged, each exactly once, newest first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{json, Value};
use shared::model::{AuditAction, AuditRecord};
use shared::store::{AuditQuery, AuditScope, Store, StoreError};
use shared::testing::audit_of;
use shared::token::Token;
use shared::ApiKey;

use integration_tests::api::*;
use integration_tests::wrap::{Interleave, Wrapped};

/// Every record of a key's history, newest first, through the store.
async fn history<S: Store>(api: &Api<S>, key: &ApiKey) -> Vec<AuditRecord> {
    let mut out = Vec::new();
    let mut q = AuditQuery::new(AuditScope::Key(key.team_id.clone(), key.prefix.clone()));
    q.limit = 100;
    loop {
        let page = api.store().audit(&q).await.unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

async fn every_change_yields_exactly_one_record<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let mut checked = 0;
    // after each change, exactly one new record of `action` by `by`, with these changes
    let expect_one = |before: &[AuditRecord],
                      after: &[AuditRecord],
                      action: AuditAction,
                      by: &ApiKey,
                      fields: &[&str]| {
        assert_eq!(after.len(), before.len() + 1, "{action}: {after:?}");
        let r = &after[0];
        assert_eq!(r.action, action);
        assert_eq!(r.actor.filter_value(), by.prefix.as_str(), "{action}");
        let changed: BTreeSet<&str> = r.changes.keys().map(String::as_str).collect();
        for f in fields {
            assert!(changed.contains(f), "{action}: {f} not in {changed:?}");
        }
        assert!(!r.origin.request_id.is_empty());
        assert_eq!(r.origin.source_ip.as_deref(), Some("192.0.2.10"));
        assert_eq!(r.origin.user_agent.as_deref(), Some("integration-tests"));
    };
    // created
    let a =
        api.create(&team.admin, json!({"name": "audited", "projectId": "p1"})).await.expect(201);
    let k = api.stored_prefix(a.body["prefix"].as_str().unwrap()).await;
    let h = history(&api, &k).await;
    expect_one(&[], &h, AuditAction::Created, &team.admin, &["name", "status"]);
    assert_eq!(h[0].changes["status"], (Value::Null, json!("Active")));
    checked += 1;
    // updated, disabled, enabled
    for (body, action, fields) in [
        (json!({"name": "renamed"}), AuditAction::Updated, vec!["name"]),
        (json!({"status": "Disabled"}), AuditAction::Disabled, vec!["status"]),
        (
            json!({"status": "Active", "labels": ["x"]}),
            AuditAction::Enabled,
            vec!["status", "labels"],
        ),
    ] {
        let before = history(&api, &k).await;
        api.send(Call::new("PATCH", path(&k)).by(&team.admin).json(body)).await.expect(200);
        expect_one(&before, &history(&api, &k).await, action, &team.admin, &fields);
        checked += 1;
    }
    let h = history(&api, &k).await;
    assert_eq!(h[2].changes["name"], (json!("audited"), json!("renamed")));
    // replaced, with its grace period
    let before = history(&api, &k).await;
    api.replace(&team.pa_p1, &k, json!({"gracePeriodSeconds": 60})).await.expect(200);
    let after = history(&api, &k).await;
    expect_one(
        &before,
        &after,
        AuditAction::Replaced,
        &team.pa_p1,
        &["secret", "gracePeriodSeconds"],
    );
    assert_eq!(after[0].changes["gracePeriodSeconds"].1, json!(60));
    checked += 1;
    // approved and rejected
    for (status, action) in [("Active", AuditAction::Approved), ("Rejected", AuditAction::Rejected)]
    {
        let a =
            api.create(&team.pm_p1, json!({"name": "asks", "projectId": "p1"})).await.expect(201);
        let pending = api.stored_prefix(a.body["prefix"].as_str().unwrap()).await;
        let before = history(&api, &pending).await;
        assert_eq!(before[0].action, AuditAction::Created);
        api.patch(&team.pa_p1, &pending, json!({"status": status})).await.expect(200);
        let fields: &[&str] =
            if status == "Active" { &["status", "approvedBy"] } else { &["status"] };
        expect_one(&before, &history(&api, &pending).await, action, &team.pa_p1, fields);
        checked += 1;
    }
    // deleted: the history stays
    let before = history(&api, &k).await;
    api.delete(&team.admin, &k).await.expect(204);
    let after = history(&api, &k).await;
    expect_one(&before, &after, AuditAction::Deleted, &team.admin, &["status"]);
    assert_eq!(after[0].changes["status"].1, json!("Deleted"));
    checked += 1;
    // through the API, newest first, the same records
    let a =
        api.send(Call::new("GET", format!("{}/audit", path(&k))).by(&team.admin)).await.expect(200);
    let actions: Vec<&str> =
        a.body["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["deleted", "replaced", "enabled", "disabled", "updated", "created"]);
    // bootstrapped, by the operator
    let (boot, _) = shared::api::bootstrap_admin(
        api.store(),
        &api.clock,
        id("boot-team"),
        id("root"),
        "first",
        "alice-ops",
    )
    .await
    .unwrap();
    let h = history(&api, &boot).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].action, AuditAction::Bootstrapped);
    assert_eq!(h[0].actor.to_json()["type"], "operator");
    assert_eq!(h[0].actor.to_json()["name"], "alice-ops");
    checked += 1;
    // refusals write nothing
    let before = history(&api, &team.pa_p2).await.len();
    api.patch(&team.user1, &team.pa_p2, json!({"name": "x"})).await.expect(403);
    api.patch(&team.admin, &team.pa_p2, json!({"name": ""})).await.expect(400);
    assert_eq!(history(&api, &team.pa_p2).await.len(), before);
    eprintln!("audit: {checked} actions checked, one record each, mismatches 0");
}

async fn a_record_that_cannot_be_written_fails_the_change<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    // a record that is there already, whose id the next change's record reuses
    let taken = audit_of(&k);
    api.store().update(&k, k.version, &taken).await.unwrap();
    let k = api.stored(&k).await;
    let records = history(&api, &k).await.len();
    let mut renamed = k.clone();
    renamed.name = shared::model::KeyName::parse("never").unwrap();
    let is_refused = |r: Result<_, StoreError>| {
        matches!(r, Err(StoreError::Conflict(shared::store::Conflict::AuditRecordExists)))
    };
    assert!(is_refused(api.store().update(&renamed, k.version, &taken).await.map(|_| ())));
    assert!(is_refused(api.store().delete(&k, k.version, START, &taken).await));
    let (fresh, _) = project_key(TEAM, "p1", &[]);
    assert!(is_refused(api.store().create(&fresh, &taken).await));
    let (fresh_team, _) = team_key(TEAM, "fresh", &[]);
    assert!(is_refused(api.store().create(&fresh_team, &taken).await));
    // nothing changed: the key, its history, the new keys (and the user's team-key slot)
    assert_eq!(api.stored(&k).await, k);
    assert_eq!(history(&api, &k).await.len(), records);
    assert!(api.store().get(&fresh.prefix).await.unwrap().is_none());
    assert!(api.store().get(&fresh_team.prefix).await.unwrap().is_none());
    api.create(&team.admin, json!({"name": "slot", "userId": "fresh"})).await.expect(201);
}

async fn racing_writers_leave_one_record_per_success<S: Store + 'static>(store: S) {
    let api = Arc::new(Api::new(Wrapped::new(store, Interleave::default())));
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&*api, &[]).await;
    let before = history(&api, &k).await.len();
    api.store().hooks.arm(50);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let api = Arc::clone(&api);
        let call = Call::new("PATCH", path(&k))
            .by(&team.admin)
            .json(json!({"name": format!("writer {i}")}));
        tasks.push(tokio::spawn(async move { api.send(call).await.status }));
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_default() += 1;
    }
    api.store().hooks.disarm();
    let wins = statuses.get(&200).copied().unwrap_or(0);
    assert_eq!(wins + statuses.get(&409).copied().unwrap_or(0), 50, "{statuses:?}");
    assert!(wins >= 1, "{statuses:?}");
    let records = history(&api, &k).await;
    assert_eq!(records.len() - before, wins, "one record per success: {statuses:?}");
    let stored = api.stored(&k).await;
    assert_eq!(records[0].changes["name"].1, json!(stored.name.as_str()));
    eprintln!("audit race: 50 writers, {wins} won, {} records", records.len() - before);
}

async fn who_may_read_which_history<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (live, _) = p1_key(&api, &[]).await;
    let (gone, _) = p1_key(&api, &[]).await;
    api.patch(&team.admin, &live, json!({"name": "touched"})).await.expect(200);
    api.delete(&team.pa_p1, &gone).await.expect(204);
    let (p2, _) = project_key(TEAM, "p2", &[]);
    api.put(&p2).await;
    api.patch(&team.admin, &p2, json!({"name": "p2 touched"})).await.expect(200);
    let stranger_key = {
        let (k, _) = project_key(OTHER_TEAM, "p1", &[]);
        api.put(&k).await;
        k
    };
    let history_of = |k: &ApiKey| format!("{}/audit", path(k));
    let mut cases = 0;
    for (target, caller, status) in [
        (&live, &team.admin, 200),
        (&live, &team.pa_p1, 200),
        (&live, &team.pm_p1, 200),
        (&live, &team.pa_p2, 403),
        (&live, &team.user1, 403),
        (&live, &team.stranger, 404),
        // a deleted key: decided from its records
        (&gone, &team.admin, 200),
        (&gone, &team.pa_p1, 200),
        (&gone, &team.pm_p1, 200),
        (&gone, &team.pa_p2, 403),
        (&gone, &team.user1, 403),
        (&gone, &team.stranger, 404),
        // a team key: admin, and itself
        (&team.user1, &team.user1, 200),
        (&team.user1, &team.admin, 200),
        (&team.user1, &team.pa_p1, 403),
        (&team.user1, &team.stranger, 404),
        // another team's key is unknown
        (&stranger_key, &team.admin, 404),
    ] {
        let a = api.send(Call::new("GET", history_of(target)).by(caller)).await;
        assert_eq!(
            a.status,
            status,
            "{} reads {}: {}",
            caller.name.as_str(),
            target.name.as_str(),
            a.text
        );
        cases += 1;
    }
    // the team's activity: admin all of it; a project admin its project; nobody else
    let keys_of = |a: &Answer| -> BTreeSet<String> {
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["key"]["prefix"].as_str().unwrap().to_owned())
            .collect()
    };
    let all =
        api.send(Call::new("GET", "/audit").query("limit=100").by(&team.admin)).await.expect(200);
    assert!(keys_of(&all).is_superset(&BTreeSet::from([
        live.prefix.to_string(),
        gone.prefix.to_string(),
        p2.prefix.to_string()
    ])));
    assert!(!keys_of(&all).contains(stranger_key.prefix.as_str()), "another team's record");
    let p1 =
        api.send(Call::new("GET", "/audit").query("limit=100").by(&team.pa_p1)).await.expect(200);
    assert!(
        p1.body["items"].as_array().unwrap().iter().all(|r| r["project"]["id"] == "p1"),
        "{}",
        p1.text
    );
    assert!(keys_of(&p1).contains(gone.prefix.as_str()));
    let by_admin_p2 = api
        .send(Call::new("GET", "/audit").query("projectId=p2").by(&team.admin))
        .await
        .expect(200);
    assert_eq!(keys_of(&by_admin_p2), BTreeSet::from([p2.prefix.to_string()]));
    for (caller, query, status) in [
        (&team.pa_p1, "projectId=p2", 403),
        (&team.pm_p1, "", 403),
        (&team.user1, "", 403),
        (&team.admin, "actor=nope", 400),
        (&team.admin, "since=2040-01-01T00:00:00Z&until=2030-01-01T00:00:00Z", 400),
    ] {
        let a = api.send(Call::new("GET", "/audit").query(query).by(caller)).await;
        assert_eq!(a.status, status, "{query}: {}", a.text);
        cases += 1;
    }
    let theirs = api.send(Call::new("GET", "/audit").by(&team.stranger)).await.expect(200);
    assert!(theirs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["account"]["id"] == OTHER_TEAM));
    // filters: by actor and by action
    let by_pa = api
        .send(
            Call::new("GET", "/audit")
                .query(&format!("actor={}", team.pa_p1.prefix))
                .by(&team.admin),
        )
        .await
        .expect(200);
    assert_eq!(keys_of(&by_pa), BTreeSet::from([gone.prefix.to_string()]));
    let deletions = api
        .send(Call::new("GET", "/audit").query("action=deleted").by(&team.admin))
        .await
        .expect(200);
    assert!(deletions.body["items"].as_array().unwrap().iter().all(|r| r["action"] == "deleted"));
    assert_eq!(keys_of(&deletions), BTreeSet::from([gone.prefix.to_string()]));
    eprintln!("audit permissions: {cases} cases");
}

async fn no_secret_in_any_record<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let mut secrets: Vec<String> = team.tokens.iter().map(|t| t.expose().to_owned()).collect();
    let a = api.create(&team.admin, json!({"name": "s", "projectId": "p1"})).await.expect(201);
    secrets.push(a.body["key"].as_str().unwrap().to_owned());
    let k = api.stored_prefix(a.body["prefix"].as_str().unwrap()).await;
    let r = api.replace(&team.admin, &k, json!({"gracePeriodSeconds": 30})).await.expect(200);
    secrets.push(r.body["key"].as_str().unwrap().to_owned());
    let stored = api.stored(&k).await;
    secrets.push(stored.secret_hash.as_str().to_owned());
    secrets.push(stored.previous.unwrap().hash.as_str().to_owned());
    for t in secrets.clone() {
        if let Ok(t) = Token::parse(&t) {
            secrets.push(t.hash().as_str().to_owned());
            secrets.push(t.expose()[t.expose().len() - 38..].to_owned());
        }
    }
    let mut q = AuditQuery::new(AuditScope::Team(id(TEAM)));
    q.limit = 100;
    let page = api.store().audit(&q).await.unwrap();
    assert!(page.items.len() >= 2);
    for r in &page.items {
        let text = r.to_json().to_string();
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a record carries a secret: {text}");
        }
    }
}

async fn pages_of_250_records_hold_each_once_newest_first<S: Store>(store: S) {
    let api = Api::new(store);
    let (mut k, _) = project_key(TEAM, "paged", &[]);
    api.put(&k).await;
    let mut made = vec![];
    for i in 0..249 {
        api.clock.advance(time::Duration::milliseconds(1));
        use shared::clock::Clock;
        let mut next = k.clone();
        next.name = shared::model::KeyName::parse(&format!("n{i}")).unwrap();
        let r = AuditRecord::of(
            if i % 2 == 0 { AuditAction::Updated } else { AuditAction::Disabled },
            shared::model::Actor::key(&k),
            Some(&k),
            &next,
            Default::default(),
            Default::default(),
            api.clock.now(),
        );
        k = api.store().update(&next, k.version, &r).await.unwrap();
        made.push(r.id);
    }
    let all = history(&api, &k).await;
    assert_eq!(all.len(), 250, "the seeding's record and 249");
    // pages of 7 through the API: each record once, newest first
    let team_admin = {
        let (a, _) = team_key(TEAM, "pager", &["admin"]);
        api.put(&a).await;
        a
    };
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=7&cursor={c}"),
            None => "limit=7".into(),
        };
        let a = api
            .send(Call::new("GET", format!("{}/audit", path(&k))).query(&q).by(&team_admin))
            .await
            .expect(200);
        pages += 1;
        seen.extend(
            a.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match a.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 250, "a record twice");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
    assert!(made.iter().all(|m| seen.contains(m)));
    assert_eq!(pages, 36);
    // filtered pages (by action) hold exactly the matching records
    let mut disabled = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut q = AuditQuery::new(AuditScope::Key(k.team_id.clone(), k.prefix.clone()));
        q.action = Some(AuditAction::Disabled);
        q.limit = 10;
        q.cursor = cursor;
        let page = api.store().audit(&q).await.unwrap();
        assert!(page.items.iter().all(|r| r.action == AuditAction::Disabled));
        disabled += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(disabled, 124);
    eprintln!("audit paging: 250 records in {pages} pages of 7, each once; 124 filtered");
}

integration_tests::on_both_stores!(
    every_change_yields_exactly_one_record,
    a_record_that_cannot_be_written_fails_the_change,
    racing_writers_leave_one_record_per_success,
    who_may_read_which_history,
    no_secret_in_any_record,
    pages_of_250_records_hold_each_once_newest_first,
);
