//! Tenant isolation: two teams with the same project and user ids, every caller kind
//! of one team on every route against every kind of key of the other (live, pending, disabled,
//! deleted, team and project keys), with every query that could widen a list, another team's
//! cursor, and bodies naming the other team. Checked twice: by status codes and answers (no
//! prefix or id of the other team in any answer), and by the store afterwards (the other team's
//! keys are exactly as they were; every key created went into the caller's own team).

use std::collections::BTreeSet;

use serde_json::json;
use shared::model::Status;
use shared::store::{ListQuery, ListScope, Store};
use shared::ApiKey;

use integration_tests::api::*;
use integration_tests::figures::Figures;

/// One team's keys: the callers (one of each kind) and the keys they are tried against.
struct Cast {
    team: &'static str,
    callers: Vec<(&'static str, ApiKey)>,
    targets: Vec<ApiKey>,
}

async fn cast<S: Store>(api: &Api<S>, team: &'static str) -> Cast {
    let (admin, _) = team_key(team, "ada", &["admin"]);
    let (pa, _) = team_key(team, "pat", &["project-admin:p1", "jobs:run"]);
    let (pm, _) = team_key(team, "mel", &["project-member:p1"]);
    let (user, _) = team_key(team, "uma", &[]);
    let (svc, _) = project_key(team, "p1", &["project-admin:p1"]);
    let (plain_svc, _) = project_key(team, "p1", &[]);
    let (vic, _) = team_key(team, "vic", &["jobs:run"]);
    let (mut pending, _) = project_key(team, "p1", &[]);
    pending.status = Status::Pending;
    let (mut disabled, _) = project_key(team, "p2", &["jobs:run"]);
    disabled.status = Status::Disabled;
    let (gone, _) = project_key(team, "p1", &[]);
    // A user only this team has: the other team may give its own user of that id a team key.
    let (only, _) = team_key(team, &format!("only-{team}"), &[]);
    for k in [&admin, &pa, &pm, &user, &svc, &plain_svc, &vic, &pending, &disabled, &gone, &only] {
        integration_tests::seed(api.store(), k).await;
    }
    api.store()
        .delete(&gone, gone.version, START, &shared::testing::audit_of(&gone))
        .await
        .expect("deleting a seeded key");
    let gone = api.stored(&gone).await;
    Cast {
        team,
        callers: vec![
            ("admin", admin.clone()),
            ("project admin", pa),
            ("project member", pm),
            ("team key without roles", user),
            ("project key with project-admin", svc.clone()),
            ("project key without roles", plain_svc.clone()),
        ],
        targets: vec![admin, vic, svc, plain_svc, pending, disabled, gone, only],
    }
}

/// Every key of a team the store holds, tombstones included, by listing its partitions.
async fn team_keys<S: Store>(api: &Api<S>, team: &str) -> Vec<ApiKey> {
    let mut all = Vec::new();
    for status in [None, Some(Status::Deleted)] {
        let mut cursor = None;
        loop {
            let page = api
                .store()
                .list(&ListQuery {
                    status,
                    limit: 100,
                    cursor: cursor.take(),
                    ..ListQuery::new(ListScope::WholeTeam(id(team)))
                })
                .await
                .expect("listing a team");
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    all.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    all
}

async fn two_teams_never_meet<S: Store>(store: S) {
    let api = Api::new(store);
    let figures = Figures::default();
    let teams = [cast(&api, TEAM).await, cast(&api, OTHER_TEAM).await];
    let before = [team_keys(&api, TEAM).await, team_keys(&api, OTHER_TEAM).await];
    // A cursor of the other team's list, to be presented by this team.
    let mut cursors = Vec::new();
    for t in &teams {
        let admin = &t.callers[0].1;
        let a = api.list(admin, "limit=1").await.expect(200);
        cursors.push(a.body["nextCursor"].as_str().expect("a next page").to_owned());
    }
    let mut created: Vec<(String, &'static str)> = Vec::new();
    let mut checked = 0usize;

    for (mine, theirs) in [(0, 1), (1, 0)] {
        let (me, them) = (&teams[mine], &teams[theirs]);
        let their_marks: Vec<String> = them
            .targets
            .iter()
            .chain(them.callers.iter().map(|(_, k)| k))
            .map(|k| k.prefix.as_str().to_owned())
            .chain([format!("\"{}\"", them.team)])
            .collect();
        for (who, caller) in &me.callers {
            let mut calls: Vec<(Call, Option<u16>)> = Vec::new();
            // Every route on every kind of their key: 404, as if it did not exist.
            for t in &them.targets {
                let p = path(t);
                for call in [
                    Call::new("GET", &p),
                    Call::new("PATCH", &p).json(json!({"name": "taken over"})),
                    Call::new("PATCH", &p)
                        .header("if-match", &format!("\"{}\"", t.version))
                        .json(json!({"status": "Disabled"})),
                    Call::new("POST", replace_path(t)).json(json!({"gracePeriodSeconds": 60})),
                    Call::new("DELETE", &p),
                    Call::new("DELETE", &p).header("if-match", "*"),
                ] {
                    calls.push((call, Some(404)));
                }
            }
            // Every list that could widen the scope: whatever the status, never their keys.
            for q in [
                "",
                "limit=100",
                "projectId=p1&limit=100",
                "projectId=p2",
                "keyType=user&limit=100",
                "keyType=system&projectId=p1",
                "status=Deleted&limit=100",
                "status=Pending&projectId=p1",
                "status=Disabled&projectId=p2",
                "search=key&limit=100",
                "search=service",
            ] {
                calls.push((Call::new("GET", "/keys").query(q), None));
            }
            // Their cursor is not a cursor of this list.
            let their_cursor = &cursors[theirs];
            calls.push((
                Call::new("GET", "/keys").query(&format!("limit=1&cursor={their_cursor}")),
                Some(if caller.kind == shared::KeyKind::Project && caller.roles.is_empty() {
                    403
                } else {
                    400
                }),
            ));
            // Bodies naming their team are refused; creates land in this team whatever they say.
            for body in [
                json!({"name": "x", "projectId": "p1", "accountId": them.team}),
                json!({"name": "x", "projectId": "p1", "account": {"id": them.team}}),
                json!({"name": "x", "projectId": "p1", "teamId": them.team}),
            ] {
                calls.push((Call::new("POST", "/keys").json(body), Some(400)));
            }
            calls.push((
                Call::new("POST", "/keys")
                    .json(json!({"name": format!("{who} p1"), "projectId": "p1"})),
                None,
            ));
            if *who == "admin" {
                // This team's "vic" has a team key already: the slot works within the team.
                calls.push((
                    Call::new("POST", "/keys").json(json!({"name": "our vic", "userId": "vic"})),
                    Some(409),
                ));
                // Their "only-<team>" user has one too: the one-key-per-user slot is per team.
                let theirs_only = format!("only-{}", them.team);
                calls.push((
                    Call::new("POST", "/keys").json(json!({"name": "ours", "userId": theirs_only})),
                    Some(201),
                ));
            }

            for (call, want) in calls {
                let what =
                    format!("{} {}?{} by {who} of {}", call.method, call.path, call.query, me.team);
                let a = api.send(call.by(caller)).await;
                figures.answer(&a);
                checked += 1;
                if let Some(want) = want {
                    assert_eq!(a.status, want, "{what}: {}", a.text);
                }
                assert!(a.status < 500, "{what}: {}", a.text);
                let leaked: Vec<&String> =
                    their_marks.iter().filter(|m| a.text.contains(m.as_str())).collect();
                if !leaked.is_empty() {
                    Figures::add(&figures.cross_team_hits, 1);
                    panic!("{what} answered with the other team's {leaked:?}: {}", a.text);
                }
                if a.status == 201 {
                    assert_eq!(a.body["account"]["id"], me.team, "{what}");
                    created.push((a.body["prefix"].as_str().unwrap().to_owned(), me.team));
                }
            }
        }
    }

    // The store: each team holds what it held, plus only what its own callers created.
    let after = [team_keys(&api, TEAM).await, team_keys(&api, OTHER_TEAM).await];
    for (i, t) in teams.iter().enumerate() {
        let created_here: BTreeSet<&str> =
            created.iter().filter(|(_, team)| *team == t.team).map(|(p, _)| p.as_str()).collect();
        let untouched: Vec<&ApiKey> =
            after[i].iter().filter(|k| !created_here.contains(k.prefix.as_str())).collect();
        // A key that changed, vanished or appeared without being created by this team.
        let changed = before[i].iter().filter(|k| !untouched.contains(k)).count()
            + untouched.iter().filter(|k| !before[i].contains(k)).count();
        Figures::add(&figures.cross_team_hits, changed);
        assert_eq!(changed, 0, "team {} changed under the other's calls", t.team);
        assert_eq!(
            after[i].len(),
            before[i].len() + created_here.len(),
            "team {} gained keys it did not create",
            t.team
        );
        for k in &after[i] {
            assert_eq!(k.team_id.as_str(), t.team);
        }
        for p in &created_here {
            let k = api.store().get(&shared::Prefix::parse(p).unwrap()).await.unwrap().unwrap();
            assert_eq!(k.team_id.as_str(), t.team);
        }
    }
    figures.report(
        "tenant isolation",
        &format!(
            "{checked} calls across teams, {} keys created, each in its caller's team",
            created.len()
        ),
    );
    assert_eq!(Figures::get(&figures.server_errors), 0);
    assert_eq!(Figures::get(&figures.cross_team_hits), 0);
}

integration_tests::on_both_stores!(two_teams_never_meet);
