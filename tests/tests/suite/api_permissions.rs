//! The permission matrix of docs/API.md: every route × every kind of caller, through the handlers,
//! with the status each one must get; then the escalation attempts and the approval flow.

use serde_json::json;
use shared::model::{ApiKey, Status};
use shared::store::Store;

use integration_tests::api::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    ProjectAdmin,
    OtherProjectAdmin,
    ProjectMember,
    TeamKeyOnItself,
    TeamKeyOnAnotherUsersKey,
    OtherTeam,
    Nobody,
}

const WHO: [Who; 8] = [
    Who::Admin,
    Who::ProjectAdmin,
    Who::OtherProjectAdmin,
    Who::ProjectMember,
    Who::TeamKeyOnItself,
    Who::TeamKeyOnAnotherUsersKey,
    Who::OtherTeam,
    Who::Nobody,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Create,
    List,
    Get,
    Replace,
    Update,
    Delete,
}

const ROUTES: [Route; 6] =
    [Route::Create, Route::List, Route::Get, Route::Replace, Route::Update, Route::Delete];

/// The status the permission rules (docs/API.md) imply. Keys of another team are 404 (never 403: that would confirm
/// they exist); keys of the caller's own team it may not touch are 403.
fn expected(route: Route, who: Who) -> u16 {
    use Route::*;
    use Who::*;
    match (who, route) {
        (Nobody, _) => 401,
        (Admin, Create) | (ProjectAdmin, Create) | (ProjectMember, Create) => 201,
        (OtherTeam, Create) => 201, // in its own team, see the assertion below
        (_, Create) => 403,
        (Admin | ProjectAdmin | ProjectMember | TeamKeyOnItself, List) => 200,
        (TeamKeyOnAnotherUsersKey | OtherTeam, List) => 200, // without the key: asserted below
        (OtherProjectAdmin, List) => 403,
        (OtherTeam, _) => 404,
        (Admin | ProjectAdmin | TeamKeyOnItself, Get | Replace | Delete) => {
            if route == Delete {
                204
            } else {
                200
            }
        }
        (ProjectMember, Get) => 200,
        (Admin | ProjectAdmin, Update) => 200,
        _ => 403,
    }
}

async fn permission_matrix<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    for route in ROUTES {
        for who in WHO {
            // given a fresh target for each cell (replace and delete change it)
            let (target, caller): (ApiKey, Option<&ApiKey>) = match who {
                Who::TeamKeyOnItself => {
                    let (me, _) = team_key(TEAM, &format!("self-{route:?}").to_lowercase(), &[]);
                    api.put(&me).await;
                    (me.clone(), None)
                }
                Who::TeamKeyOnAnotherUsersKey => {
                    let (other, _) =
                        team_key(TEAM, &format!("other-{route:?}").to_lowercase(), &[]);
                    api.put(&other).await;
                    (other, Some(&team.user1))
                }
                _ => (p1_key(&api, &[]).await.0, None),
            };
            let caller = match who {
                Who::Admin => Some(&team.admin),
                Who::ProjectAdmin => Some(&team.pa_p1),
                Who::OtherProjectAdmin => Some(&team.pa_p2),
                Who::ProjectMember => Some(&team.pm_p1),
                Who::TeamKeyOnItself => Some(&target),
                Who::TeamKeyOnAnotherUsersKey => caller,
                Who::OtherTeam => Some(&team.stranger),
                Who::Nobody => None,
            };
            let mut call = match route {
                Route::Create => match who {
                    Who::TeamKeyOnItself => {
                        Call::new("POST", "/keys").json(json!({"name": "mine"}))
                    }
                    Who::TeamKeyOnAnotherUsersKey => Call::new("POST", "/keys")
                        .json(json!({"name": "theirs", "userId": "newcomer"})),
                    _ => Call::new("POST", "/keys").json(json!({"name": "new", "projectId": "p1"})),
                },
                Route::List => match who {
                    Who::TeamKeyOnItself | Who::TeamKeyOnAnotherUsersKey => {
                        Call::new("GET", "/keys")
                    }
                    _ => Call::new("GET", "/keys").query("projectId=p1"),
                },
                Route::Get => Call::new("GET", path(&target)),
                Route::Replace => Call::new("POST", replace_path(&target)),
                Route::Update => Call::new("PATCH", path(&target)).json(json!({"name": "renamed"})),
                Route::Delete => Call::new("DELETE", path(&target)),
            };
            if let Some(c) = caller {
                call = call.by(c);
            }
            // when the caller calls the route
            let answer = api.send(call).await;
            // then the status is the one the permission rules imply
            let want = expected(route, who);
            assert_eq!(
                answer.status, want,
                "{route:?} by {who:?}: expected {want}, got {}: {}",
                answer.status, answer.text
            );
            if answer.status >= 400 {
                assert_eq!(answer.header("content-type"), Some("application/problem+json"));
                assert_eq!(answer.body["status"], answer.status);
                continue;
            }
            // and what succeeded did what it should, where it should
            let stored = api.store().get(&target.prefix).await.unwrap();
            match route {
                Route::Create => {
                    let team_id = if who == Who::OtherTeam { OTHER_TEAM } else { TEAM };
                    assert_eq!(answer.body["account"]["id"], team_id);
                    let want = if who == Who::ProjectMember { "Pending" } else { "Active" };
                    assert_eq!(answer.body["status"], want, "{who:?}");
                }
                Route::List => {
                    let listed = answer.item_strs("prefix");
                    let sees = !matches!(who, Who::TeamKeyOnAnotherUsersKey | Who::OtherTeam);
                    assert_eq!(listed.contains(&target.prefix.to_string()), sees, "{who:?}");
                    if who == Who::OtherTeam {
                        let items = answer.body["items"].as_array().unwrap();
                        assert!(items.iter().all(|k| k["account"]["id"] == OTHER_TEAM));
                    }
                    if who == Who::TeamKeyOnAnotherUsersKey {
                        assert_eq!(listed, [team.user1.prefix.as_str()]);
                    }
                }
                Route::Get => assert_eq!(answer.body["prefix"], target.prefix.as_str()),
                Route::Replace => {
                    assert_ne!(stored.unwrap().secret_hash, target.secret_hash);
                }
                Route::Update => assert_eq!(stored.unwrap().name.as_str(), "renamed"),
                Route::Delete => assert_eq!(stored.unwrap().status, Status::Deleted),
            }
        }
    }
}

async fn admins_manage_every_team_key<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    // an admin creates a team key for a user without one, gets, updates, replaces, deletes it
    let created = api
        .create(&team.admin, json!({"name": "for nina", "userId": "nina", "roles": ["jobs:run"]}))
        .await
        .expect(201);
    assert_eq!(created.body["keyType"], "user");
    assert_eq!(created.body["isDefault"], true);
    assert_eq!(created.body["user"]["id"], "nina");
    let prefix = created.body["prefix"].as_str().unwrap().to_owned();
    let p = format!("/keys/{prefix}");
    api.send(Call::new("GET", &p).by(&team.admin)).await.expect(200);
    api.send(Call::new("PATCH", &p).by(&team.admin).json(json!({"status": "Disabled"})))
        .await
        .expect(200);
    api.send(Call::new("POST", format!("{p}/replace")).by(&team.admin)).await.expect(200);
    // the admin's team-wide list shows every key of the team and none of another
    let all = api.list(&team.admin, "limit=100").await.expect(200);
    let listed = all.body["items"].as_array().unwrap();
    assert!(listed.iter().any(|k| k["prefix"] == prefix.as_str()));
    assert!(listed.iter().all(|k| k["account"]["id"] == TEAM));
    let users = api.list(&team.admin, "keyType=user&limit=100").await.expect(200);
    assert!(users.body["items"].as_array().unwrap().iter().all(|k| k["keyType"] == "user"));
    api.send(Call::new("DELETE", &p).by(&team.admin)).await.expect(204);
    // and a non-admin may not create a team key, not even for itself
    api.create(&team.pa_p1, json!({"name": "x", "keyType": "user"})).await.expect(403);
}

async fn no_role_escalation<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let create = |roles: serde_json::Value| {
        Call::new("POST", "/keys").json(json!({"name": "k", "projectId": "p1", "roles": roles}))
    };
    // a project admin grants only what it holds
    api.send(create(json!(["jobs:run", "project-admin:p1"])).by(&team.pa_p1)).await.expect(201);
    for roles in [json!(["admin"]), json!(["project-admin:p2"]), json!(["jobs:delete"])] {
        let a = api.send(create(roles.clone()).by(&team.pa_p1)).await.expect(403);
        assert!(a.body["detail"].as_str().unwrap().contains("not held"), "{roles}");
    }
    // a project member cannot hand itself project-admin through a new key
    api.send(create(json!(["project-admin:p1"])).by(&team.pm_p1)).await.expect(403);
    // nor can a project admin add a role it lacks to an existing key
    let (k, _) = p1_key(&api, &["jobs:run"]).await;
    api.patch(&team.pa_p1, &k, json!({"roles": ["jobs:run", "admin"]})).await.expect(403);
    // removing roles, or keeping ones it lacks, is fine
    let (strong, _) = p1_key(&api, &["billing:read", "jobs:run"]).await;
    api.patch(&team.pa_p1, &strong, json!({"roles": ["billing:read"]})).await.expect(200);
    // replacing a key that holds more than the caller would hand its power out: refused
    let (admin_key, _) = p1_key(&api, &["admin"]).await;
    api.send(Call::new("POST", replace_path(&admin_key)).by(&team.pa_p1)).await.expect(403);
    api.send(Call::new("POST", replace_path(&admin_key)).by(&team.admin)).await.expect(200);
    // an admin grants anything
    api.send(create(json!(["admin", "anything:at-all"])).by(&team.admin)).await.expect(201);
}

async fn pending_keys_wait_for_a_project_admin<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    // given a key a project member created
    let created = api
        .create(&team.pm_p1, json!({"name": "member's key", "projectId": "p1"}))
        .await
        .expect(201);
    assert_eq!(created.body["status"], "Pending");
    let p = format!("/keys/{}", created.body["prefix"].as_str().unwrap());
    // the member sees it but cannot approve it
    api.send(Call::new("GET", &p).by(&team.pm_p1)).await.expect(200);
    api.send(Call::new("PATCH", &p).by(&team.pm_p1).json(json!({"status": "Active"})))
        .await
        .expect(403);
    // another project's admin cannot either
    api.send(Call::new("PATCH", &p).by(&team.pa_p2).json(json!({"status": "Active"})))
        .await
        .expect(403);
    // the project admin rejects it, then approves it after all
    let r = api
        .send(Call::new("PATCH", &p).by(&team.pa_p1).json(json!({"status": "Rejected"})))
        .await
        .expect(200);
    assert_eq!(r.body["status"], "Rejected");
    let a = api
        .send(Call::new("PATCH", &p).by(&team.pa_p1).json(json!({"status": "Active"})))
        .await
        .expect(200);
    assert_eq!(a.body["status"], "Active");
    // the member's list of the project shows it; the pending filter no longer does
    let listed = api.send(Call::new("GET", "/keys").by(&team.pm_p1)).await.expect(200);
    assert!(listed.body["items"].as_array().unwrap().iter().any(|k| k["status"] == "Active"));
    let pending = api.list(&team.pm_p1, "status=Pending").await.expect(200);
    assert_eq!(pending.body["items"], json!([]));
}

async fn list_scopes<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k1, _) = p1_key(&api, &[]).await;
    let (k2, _) = project_key(TEAM, "p2", &[]);
    api.put(&k2).await;
    let prefixes = |a: &Answer| a.item_strs("prefix");
    // one project in the roles: no projectId needed
    let a = api.send(Call::new("GET", "/keys").by(&team.pa_p1)).await.expect(200);
    assert_eq!(prefixes(&a), [k1.prefix.to_string()]);
    // several projects in the roles: projectId required
    let (multi, _) = team_key(TEAM, "multi", &["project-member:p1", "project-admin:p2"]);
    api.put(&multi).await;
    let a = api.send(Call::new("GET", "/keys").by(&multi)).await.expect(400);
    assert_eq!(a.error_fields(), ["projectId"]);
    let a = api.list(&multi, "projectId=p2").await.expect(200);
    assert_eq!(prefixes(&a), [k2.prefix.to_string()]);
    // a plain team key sees itself; asking for a project is refused
    let a = api.send(Call::new("GET", "/keys").by(&team.user1)).await.expect(200);
    assert_eq!(prefixes(&a), [team.user1.prefix.to_string()]);
    assert_eq!(a.body["nextCursor"], json!(null));
    api.list(&team.user1, "projectId=p1").await.expect(403);
    // a project key with no roles may not list
    api.send(Call::new("GET", "/keys").by(&k1)).await.expect(403);
    api.get(&k1, &k1).await.expect(403);
    // an admin's keyType=system needs the project
    let a = api.list(&team.admin, "keyType=system").await.expect(400);
    assert_eq!(a.error_fields(), ["projectId"]);
}

integration_tests::on_both_stores!(
    permission_matrix,
    admins_manage_every_team_key,
    no_role_escalation,
    pending_keys_wait_for_a_project_admin,
    list_scopes,
);
