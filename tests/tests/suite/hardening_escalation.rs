//! Escalation: every way a caller could come to hold a role, a project or a team it
//! does not hold — creating a key with more, adding roles, approving itself, taking another
//! project's or user's key, re-arming a key an admin disarmed, replacing a stronger key to get
//! its secret, naming server-owned fields — is refused (403, or 400 for fields no request may
//! set), and the store shows nothing changed. Positive controls show the same callers can do
//! the legitimate version of each, so the refusals are about power, not about the request.

use serde_json::{json, Value};
use shared::model::{Roles, Status};
use shared::store::{ListQuery, ListScope, Store};
use shared::ApiKey;
use time::Duration;

use integration_tests::api::*;
use integration_tests::figures::Figures;

struct Attempt {
    what: &'static str,
    by: ApiKey,
    call: Call,
    want: u16,
}

fn attempt(what: &'static str, by: &ApiKey, call: Call, want: u16) -> Attempt {
    Attempt { what, by: by.clone(), call, want }
}

fn create(body: Value) -> Call {
    Call::new("POST", "/keys").json(body)
}

fn patch(k: &ApiKey, body: Value) -> Call {
    Call::new("PATCH", path(k)).json(body)
}

async fn no_way_to_more_power<S: Store>(store: S) {
    let api = Api::new(store);
    let figures = Figures::default();
    // The callers (none an admin) and the keys they go after.
    let (admin, _) = team_key(TEAM, "ada", &["admin"]);
    let (pa, _) = team_key(TEAM, "pat", &["project-admin:p1", "jobs:run"]);
    let (pa2, _) = team_key(TEAM, "quinn", &["project-admin:p2"]);
    let (pm, _) = team_key(TEAM, "mel", &["project-member:p1", "jobs:run"]);
    let (user, _) = team_key(TEAM, "uma", &[]);
    let (svc, _) = project_key(TEAM, "p1", &["project-admin:p1"]);
    let (vic, _) = team_key(TEAM, "vic", &["jobs:run"]);
    let (plain, _) = project_key(TEAM, "p1", &[]);
    let (billing, _) = project_key(TEAM, "p1", &["billing:write"]);
    // Keys an admin gave admin power and then disarmed: disabled, expiring, expired.
    let (mut disarmed, _) = project_key(TEAM, "p1", &["admin"]);
    disarmed.status = Status::Disabled;
    let (mut expiring, _) = project_key(TEAM, "p1", &["admin"]);
    expiring.expires_at = Some(START + Duration::days(1));
    let (mut expired, _) = project_key(TEAM, "p1", &["admin"]);
    expired.expires_at = Some(START - Duration::days(1));
    let (mut pending, _) = project_key(TEAM, "p1", &["jobs:run", "billing:write"]);
    pending.status = Status::Pending;
    let (other_team_admin, _) = team_key(OTHER_TEAM, "zed", &["admin"]);
    for k in [
        &admin, &pa, &pa2, &pm, &user, &svc, &vic, &plain, &billing, &disarmed, &expiring,
        &expired, &pending, &other_team_admin,
    ] {
        integration_tests::seed(api.store(), k).await;
    }
    let later = shared::model::format_time(START + Duration::days(365));
    let attempts = vec![
        // create: roles, projects, team keys, status not held
        attempt(
            "grant admin",
            &pa,
            create(json!({"name": "x", "projectId": "p1", "roles": ["admin"]})),
            403,
        ),
        attempt(
            "grant another project's admin",
            &pa,
            create(json!({"name": "x", "projectId": "p1", "roles": ["project-admin:p2"]})),
            403,
        ),
        attempt(
            "grant a role not held",
            &pa,
            create(json!({"name": "x", "projectId": "p1", "roles": ["billing:write"]})),
            403,
        ),
        attempt(
            "grant a role by case",
            &pa,
            create(json!({"name": "x", "projectId": "p1", "roles": ["Admin"]})),
            403,
        ),
        attempt(
            "grant a wildcard",
            &pa,
            create(json!({"name": "x", "projectId": "p1", "roles": ["*"]})),
            403,
        ),
        attempt(
            "create in a project not held",
            &pa,
            create(json!({"name": "x", "projectId": "p2"})),
            403,
        ),
        attempt(
            "create a team key for itself",
            &pa,
            create(json!({"name": "x", "keyType": "user"})),
            403,
        ),
        attempt(
            "create a team key for another",
            &pa,
            create(json!({"name": "x", "userId": "newbie"})),
            403,
        ),
        attempt(
            "member grants project-admin",
            &pm,
            create(json!({"name": "x", "projectId": "p1", "roles": ["project-admin:p1"]})),
            403,
        ),
        attempt(
            "member grants admin",
            &pm,
            create(json!({"name": "x", "projectId": "p1", "roles": ["admin"]})),
            403,
        ),
        attempt(
            "member creates in another project",
            &pm,
            create(json!({"name": "x", "projectId": "p2"})),
            403,
        ),
        attempt(
            "member skips Pending",
            &pm,
            create(json!({"name": "x", "projectId": "p1", "status": "Active"})),
            400,
        ),
        attempt(
            "plain team key creates",
            &user,
            create(json!({"name": "x", "projectId": "p1"})),
            403,
        ),
        attempt("plain team key creates a team key", &user, create(json!({"name": "x"})), 403),
        attempt(
            "project key grants admin",
            &svc,
            create(json!({"name": "x", "projectId": "p1", "roles": ["admin"]})),
            403,
        ),
        attempt(
            "project key creates a team key",
            &svc,
            create(json!({"name": "x", "userId": "svc"})),
            403,
        ),
        attempt(
            "other project's admin creates",
            &pa2,
            create(json!({"name": "x", "projectId": "p1"})),
            403,
        ),
        attempt(
            "create in another team",
            &pa,
            create(json!({"name": "x", "projectId": "p1", "accountId": OTHER_TEAM})),
            400,
        ),
        attempt(
            "create with a version",
            &pa,
            create(json!({"name": "x", "projectId": "p1", "version": 99})),
            400,
        ),
        // update: roles, approval, owner fields, re-arming a disarmed key
        attempt("add admin", &pa, patch(&plain, json!({"roles": ["admin"]})), 403),
        attempt(
            "add another project's admin",
            &pa,
            patch(&plain, json!({"roles": ["project-admin:p2"]})),
            403,
        ),
        attempt(
            "add a role not held",
            &pa,
            patch(&plain, json!({"roles": ["billing:write"]})),
            403,
        ),
        attempt("member approves", &pm, patch(&pending, json!({"status": "Active"})), 403),
        attempt(
            "member adds roles",
            &pm,
            patch(&pending, json!({"roles": ["project-admin:p1"]})),
            403,
        ),
        attempt(
            "team key adds roles to itself",
            &user,
            patch(&user, json!({"roles": ["admin"]})),
            403,
        ),
        attempt(
            "team key updates another user's",
            &user,
            patch(&vic, json!({"name": "mine"})),
            403,
        ),
        attempt(
            "project key adds admin to itself",
            &svc,
            patch(&svc, json!({"roles": ["project-admin:p1", "admin"]})),
            403,
        ),
        attempt("other project's admin updates", &pa2, patch(&plain, json!({"name": "mine"})), 403),
        attempt(
            "move a key to another project",
            &pa,
            patch(&plain, json!({"projectId": "p2"})),
            400,
        ),
        attempt(
            "make a project key a team key",
            &pa,
            patch(&plain, json!({"keyType": "user", "userId": "pat"})),
            400,
        ),
        attempt(
            "move a key to another team",
            &pa,
            patch(&plain, json!({"account": {"id": OTHER_TEAM}})),
            400,
        ),
        attempt("set a version", &pa, patch(&plain, json!({"version": 1000})), 400),
        attempt(
            "re-enable a disabled admin key",
            &pa,
            patch(&disarmed, json!({"status": "Active"})),
            403,
        ),
        attempt(
            "clear an admin key's expiry",
            &pa,
            patch(&expiring, json!({"expiresAt": null})),
            403,
        ),
        attempt(
            "extend an admin key's expiry",
            &pa,
            patch(&expiring, json!({"expiresAt": later})),
            403,
        ),
        attempt(
            "revive an expired admin key",
            &pa,
            patch(&expired, json!({"expiresAt": later})),
            403,
        ),
        // replace: getting the secret of a key with more power, or of another's key
        attempt(
            "replace a disabled admin key",
            &pa,
            Call::new("POST", replace_path(&disarmed)),
            403,
        ),
        attempt(
            "replace a key with a role not held",
            &pa,
            Call::new("POST", replace_path(&billing)),
            403,
        ),
        attempt("member replaces", &pm, Call::new("POST", replace_path(&plain)), 403),
        attempt(
            "team key replaces another user's",
            &user,
            Call::new("POST", replace_path(&vic)),
            403,
        ),
        attempt(
            "other project's admin replaces",
            &pa2,
            Call::new("POST", replace_path(&plain)),
            403,
        ),
        attempt(
            "project key replaces a stronger key",
            &svc,
            Call::new("POST", replace_path(&billing)),
            403,
        ),
        attempt(
            "project key replaces the admin's key",
            &svc,
            Call::new("POST", replace_path(&admin)),
            403,
        ),
        // another team's admin: not even there
        attempt(
            "other team's admin updates",
            &other_team_admin,
            patch(&plain, json!({"roles": ["admin"]})),
            404,
        ),
        attempt(
            "other team's admin replaces",
            &other_team_admin,
            Call::new("POST", replace_path(&admin)),
            404,
        ),
    ];
    let seeded = [
        &admin, &pa, &pa2, &pm, &user, &svc, &vic, &plain, &billing, &disarmed, &expiring,
        &expired, &pending,
    ];
    let mut escalations = Vec::new();
    for a in attempts {
        let answer = api.send(a.call.by(&a.by)).await;
        figures.answer(&answer);
        if answer.status < 300 {
            escalations.push(format!("{}: {} {}", a.what, answer.status, answer.text));
        } else {
            assert_eq!(answer.status, a.want, "{}: {}", a.what, answer.text);
            assert_eq!(answer.header("content-type"), Some("application/problem+json"));
        }
    }
    // Nothing any attempt touched changed, and no key was created.
    for k in seeded {
        assert_eq!(&api.stored(k).await, k, "key {} changed", k.prefix);
    }
    let listed = api
        .store()
        .list(&ListQuery { limit: 100, ..ListQuery::new(ListScope::WholeTeam(id(TEAM))) })
        .await
        .unwrap();
    assert_eq!(listed.items.len(), seeded.len(), "a key was created");
    let refused = Figures::get(&figures.requests);

    // Positive controls: the legitimate version of each works for the same callers.
    let controls = [
        (
            &pa,
            create(
                json!({"name": "ok", "projectId": "p1", "roles": ["jobs:run", "project-admin:p1"]}),
            ),
            201,
        ),
        (&pm, create(json!({"name": "ok", "projectId": "p1", "roles": ["jobs:run"]})), 201),
        (&pa, patch(&plain, json!({"roles": ["jobs:run"]})), 200),
        (&pa, patch(&billing, json!({"roles": []})), 200),
        (&pa, patch(&disarmed, json!({"name": "renamed, still disabled"})), 200),
        (
            &pa,
            patch(
                &expiring,
                json!({"expiresAt": shared::model::format_time(START + Duration::hours(1))}),
            ),
            200,
        ),
        (&user, Call::new("POST", replace_path(&user)), 200),
        (&svc, Call::new("POST", replace_path(&billing)), 200),
        (&admin, patch(&disarmed, json!({"status": "Active"})), 200),
        (&admin, patch(&expired, json!({"expiresAt": later})), 200),
    ];
    for (by, call, want) in controls {
        let what = format!("{} {} by {}", call.method, call.path, by.name.as_str());
        let answer = api.send(call.by(by)).await;
        figures.answer(&answer);
        assert_eq!(answer.status, want, "control {what}: {}", answer.text);
    }
    // pm's Pending key holds only jobs:run, which pa holds too: pa may approve it.
    let all = api
        .store()
        .list(&ListQuery {
            status: Some(Status::Pending),
            limit: 100,
            ..ListQuery::new(ListScope::Project(id(TEAM), id("p1")))
        })
        .await
        .unwrap();
    let members =
        all.items.iter().find(|k| k.name.as_str() == "ok").expect("the member's Pending key");
    api.send(patch(members, json!({"status": "Active"})).by(&pa)).await.expect(200);
    // Whatever a non-admin created holds only roles its creator holds.
    let creators = [&pa, &pm];
    for k in api
        .store()
        .list(&ListQuery { limit: 100, ..ListQuery::new(ListScope::WholeTeam(id(TEAM))) })
        .await
        .unwrap()
        .items
    {
        if let Some(c) = creators
            .iter()
            .find(|c| c.user_id.as_ref().map(|u| u.as_str()) == Some(k.created_by.as_str()))
        {
            let held = Roles::parse(&c.roles.as_strs()).unwrap();
            assert!(k.roles.iter().all(|r| held.contains(r.as_str())), "{:?}", k.roles);
        }
    }
    figures.report(
        "escalation",
        &format!("{refused} escalation attempts, {} succeeded", escalations.len()),
    );
    assert_eq!(escalations, Vec::<String>::new(), "escalations");
    assert_eq!(Figures::get(&figures.server_errors), 0);
}

integration_tests::on_both_stores!(no_way_to_more_power);
