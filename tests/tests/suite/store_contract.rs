//! The store contract: every behaviour the handlers rely on, run against the in-memory store
//! and against DynamoDB Local (the one that counts).

use std::collections::HashSet;
use std::sync::Arc;

use shared::model::{Description, Ident, KeyName, PreviousSecret, Status, WebhookUrl};
use shared::store::{Conflict, ListQuery, ListScope, Store, StoreError};
use shared::testing::sample_key;
use shared::token::{KeyKind, SecretHash};
use shared::ApiKey;
use time::{Duration, OffsetDateTime};

fn team() -> Ident {
    Ident::parse("team-1").unwrap()
}

fn project_key(project: &str, name: &str) -> ApiKey {
    let mut k = sample_key(KeyKind::Project);
    k.project_id = Some(Ident::parse(project).unwrap());
    k.name = KeyName::parse(name).unwrap();
    k
}

fn team_key(user: &str) -> ApiKey {
    let mut k = sample_key(KeyKind::Team);
    k.user_id = Some(Ident::parse(user).unwrap());
    k
}

async fn create_get_round_trip(store: impl Store) {
    // given a key with every optional field set
    let mut key = project_key("p1", "Full key");
    key.description = Some(Description::parse("used by CI").unwrap());
    key.webhook_url = Some(WebhookUrl::parse("https://hooks.example/k").unwrap());
    key.expires_at = Some(key.created_at + Duration::days(30));
    key.is_high_priority = true;
    key.previous = Some(PreviousSecret {
        hash: SecretHash::of("an older token"),
        valid_until: key.created_at + Duration::hours(1),
    });
    // when it is created and read back
    store.create(&key, &shared::testing::audit_of(&key)).await.unwrap();
    let got = store.get(&key.prefix).await.unwrap().unwrap();
    // then every field survives
    assert_eq!(got, key);
    let team = team_key("u-round");
    store.create(&team, &shared::testing::audit_of(&team)).await.unwrap();
    assert_eq!(store.get(&team.prefix).await.unwrap().unwrap(), team);
    // and an unknown prefix is None
    let other = sample_key(KeyKind::Project);
    assert!(store.get(&other.prefix).await.unwrap().is_none());
}

async fn duplicate_prefix_conflicts(store: impl Store) {
    let key = project_key("p1", "a");
    store.create(&key, &shared::testing::audit_of(&key)).await.unwrap();
    let mut again = project_key("p1", "b");
    again.prefix = key.prefix.clone();
    let err = store.create(&again, &shared::testing::audit_of(&again)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Conflict::DuplicatePrefix)), "{err:?}");
    assert_eq!(store.get(&key.prefix).await.unwrap().unwrap().name, key.name);
}

async fn one_team_key_per_user(store: impl Store) {
    store.create(&team_key("alice"), &shared::testing::audit_of(&team_key("alice"))).await.unwrap();
    let err = store
        .create(&team_key("alice"), &shared::testing::audit_of(&team_key("alice")))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Conflict::TeamKeyExists)), "{err:?}");
    // another user, or the same user id in another team, is fine
    store.create(&team_key("bob"), &shared::testing::audit_of(&team_key("bob"))).await.unwrap();
    let mut other_team = team_key("alice");
    other_team.team_id = Ident::parse("team-2").unwrap();
    store.create(&other_team, &shared::testing::audit_of(&other_team)).await.unwrap();
}

async fn concurrent_team_keys_one_winner(store: impl Store + Clone + 'static) {
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.create(&team_key("racer"), &shared::testing::audit_of(&team_key("racer"))).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(Conflict::TeamKeyExists)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one of 20 concurrent creates wins");
    let page = store
        .list(&ListQuery { limit: 100, ..ListQuery::new(ListScope::TeamKeys(team())) })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "no key without its slot");
}

async fn update_by_version(store: impl Store) {
    let key = project_key("p1", "before");
    store.create(&key, &shared::testing::audit_of(&key)).await.unwrap();
    store.record_usage(&key.prefix, 5, OffsetDateTime::now_utc()).await.unwrap();
    // when updated at the right version
    let mut change = key.clone();
    change.name = KeyName::parse("after").unwrap();
    change.status = Status::Disabled;
    change.description = None;
    let updated =
        store.update(&change, key.version, &shared::testing::audit_of(&change)).await.unwrap();
    // then the version moves on, the change is stored, and the usage counters are kept (the
    // answer is the key as written: a transaction returns no item)
    assert_eq!(updated.version, key.version + 1);
    assert_eq!(updated.name.as_str(), "after");
    assert_eq!(updated.status, Status::Disabled);
    let stored = store.get(&key.prefix).await.unwrap().unwrap();
    assert_eq!(stored.submitted_jobs, 5);
    assert_eq!(
        stored,
        ApiKey { submitted_jobs: 5, last_active: stored.last_active, ..updated.clone() }
    );
    // and a stale version is a conflict that changes nothing
    let mut stale = updated.clone();
    stale.name = KeyName::parse("lost").unwrap();
    let err =
        store.update(&stale, key.version, &shared::testing::audit_of(&stale)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Conflict::VersionMismatch)), "{err:?}");
    assert_eq!(store.get(&key.prefix).await.unwrap().unwrap().name.as_str(), "after");
    // and an unknown key is not found
    let ghost = sample_key(KeyKind::Project);
    assert!(matches!(
        store.update(&ghost, 1, &shared::testing::audit_of(&ghost)).await,
        Err(StoreError::NotFound)
    ));
}

async fn delete_leaves_a_tombstone(store: impl Store) {
    let key = team_key("carol");
    store.create(&key, &shared::testing::audit_of(&key)).await.unwrap();
    let at = OffsetDateTime::now_utc();
    // a stale delete is refused
    assert!(matches!(
        store.delete(&key, key.version + 7, at, &shared::testing::audit_of(&key)).await,
        Err(StoreError::Conflict(Conflict::VersionMismatch))
    ));
    store.delete(&key, key.version, at, &shared::testing::audit_of(&key)).await.unwrap();
    let dead = store.get(&key.prefix).await.unwrap().unwrap();
    assert_eq!(dead.status, Status::Deleted);
    assert_eq!(dead.version, key.version + 1);
    // then update and delete of the deleted key are not found
    assert!(matches!(
        store.update(&key, dead.version, &shared::testing::audit_of(&key)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&dead, dead.version, at, &shared::testing::audit_of(&dead)).await,
        Err(StoreError::NotFound)
    ));
    // and the user's team-key slot is free again
    store.create(&team_key("carol"), &shared::testing::audit_of(&team_key("carol"))).await.unwrap();
}

async fn tombstones_hidden_unless_asked(store: impl Store) {
    let live = project_key("p-t", "live");
    let dead = project_key("p-t", "dead");
    store.create(&live, &shared::testing::audit_of(&live)).await.unwrap();
    store.create(&dead, &shared::testing::audit_of(&dead)).await.unwrap();
    store
        .delete(&dead, dead.version, OffsetDateTime::now_utc(), &shared::testing::audit_of(&dead))
        .await
        .unwrap();
    let owner = ListScope::Project(team(), Ident::parse("p-t").unwrap());
    let page = store.list(&ListQuery::new(owner.clone())).await.unwrap();
    assert_eq!(prefixes(&page.items), vec![live.prefix.to_string()]);
    let page = store
        .list(&ListQuery { status: Some(Status::Deleted), ..ListQuery::new(owner) })
        .await
        .unwrap();
    assert_eq!(prefixes(&page.items), vec![dead.prefix.to_string()]);
    // the team-wide list hides it too
    let page = store.list(&ListQuery::new(ListScope::WholeTeam(team()))).await.unwrap();
    assert!(!prefixes(&page.items).contains(&dead.prefix.to_string()));
}

fn prefixes(items: &[ApiKey]) -> Vec<String> {
    items.iter().map(|k| k.prefix.to_string()).collect()
}

async fn pages_cover_everything_newest_first(store: impl Store) {
    // given 250 keys in one project, created one after another
    let base = OffsetDateTime::now_utc();
    let mut created = Vec::new();
    for i in 0..250 {
        let mut k = project_key("big", &format!("key {i}"));
        k.created_at = base + Duration::milliseconds(i);
        store.create(&k, &shared::testing::audit_of(&k)).await.unwrap();
        created.push(k.prefix.to_string());
    }
    // and a key of another project that must not show up
    store
        .create(
            &project_key("other", "stranger"),
            &shared::testing::audit_of(&project_key("other", "stranger")),
        )
        .await
        .unwrap();
    // when listed in pages of 7
    let owner = ListScope::Project(team(), Ident::parse("big").unwrap());
    let mut cursor = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store
            .list(&ListQuery { limit: 7, cursor: cursor.clone(), ..ListQuery::new(owner.clone()) })
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        seen.extend(page.items.iter().map(|k| (k.created_at, k.prefix.to_string())));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 100, "the cursor must move on");
    }
    // then every key appears exactly once, newest first
    assert_eq!(pages, 36);
    let unique: HashSet<_> = seen.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(unique.len(), 250);
    assert_eq!(seen.len(), 250);
    assert!(seen.windows(2).all(|w| w[0].0 > w[1].0), "newest first");
    created.reverse();
    assert_eq!(seen.into_iter().map(|(_, p)| p).collect::<Vec<_>>(), created);
}

async fn search_and_status_filters(store: impl Store) {
    let names = ["Deploy Bot", "deploy-staging", "Metrics reader", "DEPLOYER", "misc"];
    let mut keys = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let mut k = project_key("pf", n);
        k.created_at += Duration::milliseconds(i as i64);
        if i % 2 == 1 {
            k.status = Status::Disabled;
        }
        store.create(&k, &shared::testing::audit_of(&k)).await.unwrap();
        keys.push(k);
    }
    let owner = ListScope::Project(team(), Ident::parse("pf").unwrap());
    let names_of = |items: &[ApiKey]| -> Vec<String> {
        items.iter().map(|k| k.name.as_str().to_owned()).collect()
    };
    let q = |search: Option<&str>, status: Option<Status>, limit: usize| ListQuery {
        search: search.map(str::to_owned),
        status,
        limit,
        ..ListQuery::new(owner.clone())
    };
    let page = store.list(&q(Some("DePlOy"), None, 20)).await.unwrap();
    assert_eq!(names_of(&page.items), ["DEPLOYER", "deploy-staging", "Deploy Bot"]);
    let page = store.list(&q(None, Some(Status::Disabled), 20)).await.unwrap();
    assert_eq!(names_of(&page.items), ["DEPLOYER", "deploy-staging"]);
    let page = store.list(&q(Some("deploy"), Some(Status::Active), 20)).await.unwrap();
    assert_eq!(names_of(&page.items), ["Deploy Bot"]);
    // filtered lists page too
    let first = store.list(&q(Some("deploy"), None, 2)).await.unwrap();
    assert_eq!(names_of(&first.items), ["DEPLOYER", "deploy-staging"]);
    let second = store
        .list(&ListQuery { cursor: first.next_cursor.clone(), ..q(Some("deploy"), None, 2) })
        .await
        .unwrap();
    assert_eq!(names_of(&second.items), ["Deploy Bot"]);
    assert!(second.next_cursor.is_none());
    let none = store.list(&q(Some("nothing-like-it"), None, 20)).await.unwrap();
    assert!(none.items.is_empty() && none.next_cursor.is_none());
}

async fn tampered_cursor_is_a_clear_error(store: impl Store) {
    for i in 0..3 {
        store
            .create(
                &project_key("pc", &format!("k{i}")),
                &shared::testing::audit_of(&project_key("pc", &format!("k{i}"))),
            )
            .await
            .unwrap();
    }
    let owner = ListScope::Project(team(), Ident::parse("pc").unwrap());
    let page = store.list(&ListQuery { limit: 1, ..ListQuery::new(owner.clone()) }).await.unwrap();
    let cursor = page.next_cursor.expect("a second page");
    let mut bytes = cursor.clone().into_bytes();
    bytes[2] = if bytes[2] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(bytes).unwrap(),
        format!("{cursor}x"),
        "garbage".to_owned(),
        String::new(),
    ] {
        let res = store
            .list(&ListQuery { limit: 1, cursor: Some(bad), ..ListQuery::new(owner.clone()) })
            .await;
        assert!(matches!(res, Err(StoreError::BadCursor)), "{res:?}");
    }
    // a good cursor used for another query (another project) is refused as well
    let res = store
        .list(&ListQuery {
            limit: 1,
            cursor: Some(cursor),
            ..ListQuery::new(ListScope::Project(team(), Ident::parse("pz").unwrap()))
        })
        .await;
    assert!(matches!(res, Err(StoreError::BadCursor)));
}

async fn concurrent_usage_loses_nothing(store: impl Store + Clone + 'static) {
    let key = project_key("pu", "busy");
    store.create(&key, &shared::testing::audit_of(&key)).await.unwrap();
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..10u64 {
        let s = store.clone();
        let p = key.prefix.clone();
        tasks.push(tokio::spawn(async move {
            s.record_usage(&p, i + 1, OffsetDateTime::now_utc()).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let got = store.get(&key.prefix).await.unwrap().unwrap();
    assert_eq!(got.submitted_jobs, 55);
    assert!(got.last_active.is_some());
    // usage of an unknown key is not found, not a new item
    let ghost = sample_key(KeyKind::Project);
    assert!(matches!(
        store.record_usage(&ghost.prefix, 1, OffsetDateTime::now_utc()).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.get(&ghost.prefix).await.unwrap().is_none());
}

async fn team_lists_are_scoped(store: impl Store) {
    let a = project_key("p1", "mine");
    let mut b = project_key("p1", "theirs");
    b.team_id = Ident::parse("team-2").unwrap();
    let t = team_key("dave");
    for k in [&a, &b, &t] {
        store.create(k, &shared::testing::audit_of(k)).await.unwrap();
    }
    let all = store.list(&ListQuery::new(ListScope::WholeTeam(team()))).await.unwrap();
    let got: HashSet<_> = prefixes(&all.items).into_iter().collect();
    assert_eq!(got, HashSet::from([a.prefix.to_string(), t.prefix.to_string()]));
    let team_keys = store.list(&ListQuery::new(ListScope::TeamKeys(team()))).await.unwrap();
    assert_eq!(prefixes(&team_keys.items), vec![t.prefix.to_string()]);
}

integration_tests::on_both_stores!(
    create_get_round_trip,
    duplicate_prefix_conflicts,
    one_team_key_per_user,
    concurrent_team_keys_one_winner,
    update_by_version,
    delete_leaves_a_tombstone,
    tombstones_hidden_unless_asked,
    pages_cover_everything_newest_first,
    search_and_status_filters,
    tampered_cursor_is_a_clear_error,
    concurrent_usage_loses_nothing,
    team_lists_are_scoped,
);
