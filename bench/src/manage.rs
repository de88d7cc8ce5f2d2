//! Each management operation through its Lambda handler with the DynamoDB store: latency, and
//! the DynamoDB requests every single call made (counted by the client's interceptor).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::api::{self, AppState};
use shared::clock::SystemClock;
use shared::identity::AuthContext;
use shared::model::{Ident, KeyName, Roles};
use shared::store::{DynamoStore, KeyWriter};
use shared::testing::sample_key_with_token;
use shared::token::KeyKind;

use crate::events::request;
use crate::stats::Samples;
use integration_tests::requests::{CallCounter, Counts};

/// One operation's figures.
pub struct OpResult {
    pub name: &'static str,
    pub route: &'static str,
    pub latency: Samples,
    /// How many calls made each distinct pattern of requests (one entry when all agree).
    pub patterns: BTreeMap<String, usize>,
    /// The pattern of the first call, for reads/writes columns.
    pub counts: Counts,
}

struct Answer {
    status: u16,
    body: Value,
}

fn answer(r: Response<Body>) -> Answer {
    let status = r.status().as_u16();
    let body = match r.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Answer { status, body }
}

struct Bench<'a> {
    state: &'a AppState<DynamoStore>,
    counter: &'a CallCounter,
    admin: AuthContext,
}

impl Bench<'_> {
    /// Times `n` calls of one route; `make(i)` builds the i-th request (outside the timing).
    async fn op<F>(
        &self, name: &'static str, route: &'static str, n: usize, expect: u16, mut make: F,
        mut seen: impl FnMut(usize, &Value),
    ) -> OpResult
    where
        F: FnMut(usize) -> Request,
    {
        let mut latency = Vec::with_capacity(n);
        let mut patterns = BTreeMap::new();
        let mut first = None;
        for i in 0..n {
            let req = make(i);
            self.counter.reset();
            let started = Instant::now();
            let r = match route {
                "POST /keys" => api::serve::<_, api::CreateKey>(self.state, req).await,
                "GET /keys" | "GET /keys/{prefix}" => {
                    api::serve::<_, api::ListKeys>(self.state, req).await
                }
                "POST /keys/{prefix}/replace" => {
                    api::serve::<_, api::ReplaceKey>(self.state, req).await
                }
                "PATCH /keys/{prefix}" => api::serve::<_, api::UpdateKey>(self.state, req).await,
                "DELETE /keys/{prefix}" => api::serve::<_, api::DeleteKey>(self.state, req).await,
                other => unreachable!("no handler for {other}"),
            };
            let took = started.elapsed();
            let counts = self.counter.take();
            let a = answer(r.unwrap_or_else(|e| match e {}));
            assert_eq!(a.status, expect, "{name}: unexpected answer {}", a.body);
            seen(i, &a.body);
            latency.push(took);
            *patterns.entry(counts.describe()).or_default() += 1;
            first.get_or_insert(counts);
        }
        OpResult {
            name,
            route,
            latency: Samples::new(latency),
            patterns,
            counts: first.unwrap_or_default(),
        }
    }
}

pub async fn run(store: DynamoStore, counter: &CallCounter, n: usize) -> Vec<OpResult> {
    // The caller: the team's admin, written straight to the store (as the bootstrap does).
    let admin = seed_admin(&store, "bench-team", "bench-admin").await;
    let state = AppState::new(store, Arc::new(SystemClock));
    let b = Bench { state: &state, counter, admin: AuthContext::of(&admin) };
    let by = &b.admin;
    let mut project_keys: Vec<String> = Vec::new();
    let mut team_keys: Vec<String> = Vec::new();
    let mut out = Vec::new();

    out.push(
        b.op(
            "create (project key)",
            "POST /keys",
            n,
            201,
            |i| {
                let body = json!({
                    "name": format!("bench key {i}"),
                    "keyType": "system",
                    "projectId": "p-bench",
                    "roles": ["jobs:submit"],
                    "labels": ["bench"]
                });
                request("POST", "/keys", "", Some(&body), by)
            },
            |_, body| project_keys.push(body["prefix"].as_str().unwrap().to_owned()),
        )
        .await,
    );
    out.push(
        b.op(
            "create (team key)",
            "POST /keys",
            n,
            201,
            |i| {
                let body = json!({ "name": format!("bench user key {i}"), "keyType": "user", "userId": format!("u-{i}") });
                request("POST", "/keys", "", Some(&body), by)
            },
            |_, body| team_keys.push(body["prefix"].as_str().unwrap().to_owned()),
        )
        .await,
    );
    // the project keys the creates made, in turn
    let key_path =
        |i: usize, tail: &str| format!("/keys/{}{tail}", project_keys[i % project_keys.len()]);
    out.push(
        b.op(
            "get",
            "GET /keys/{prefix}",
            n,
            200,
            |i| request("GET", &key_path(i, ""), "", None, by),
            |_, _| {},
        )
        .await,
    );
    let mut cursor = String::new();
    out.push(
        b.op(
            "list, first page of 20",
            "GET /keys",
            n,
            200,
            |_| request("GET", "/keys", "limit=20", None, by),
            |_, body| {
                cursor = body["nextCursor"].as_str().expect("a next page").to_owned();
            },
        )
        .await,
    );
    out.push(
        b.op(
            "list, next page (cursor)",
            "GET /keys",
            n,
            200,
            |_| request("GET", "/keys", &format!("limit=20&cursor={cursor}"), None, by),
            |_, body| assert_eq!(body["items"].as_array().map(Vec::len), Some(20)),
        )
        .await,
    );
    out.push(
        b.op(
            "list, project + search",
            "GET /keys",
            n,
            200,
            |_| request("GET", "/keys", "projectId=p-bench&search=KEY%207&limit=20", None, by),
            |_, body| assert!(!body["items"].as_array().unwrap().is_empty()),
        )
        .await,
    );
    out.push(
        b.op(
            "update",
            "PATCH /keys/{prefix}",
            n,
            200,
            |i| {
                let body = json!({ "description": format!("revision {i}") });
                request("PATCH", &key_path(i, ""), "", Some(&body), by)
            },
            |_, _| {},
        )
        .await,
    );
    out.push(
        b.op(
            "replace",
            "POST /keys/{prefix}/replace",
            n,
            200,
            |i| {
                request(
                    "POST",
                    &key_path(i, "/replace"),
                    "",
                    Some(&json!({ "gracePeriodSeconds": 60 })),
                    by,
                )
            },
            |_, _| {},
        )
        .await,
    );
    out.push(
        b.op(
            "delete (project key)",
            "DELETE /keys/{prefix}",
            n,
            204,
            |i| request("DELETE", &format!("/keys/{}", project_keys[i]), "", None, by),
            |_, _| {},
        )
        .await,
    );
    out.push(
        b.op(
            "delete (team key)",
            "DELETE /keys/{prefix}",
            n,
            204,
            |i| request("DELETE", &format!("/keys/{}", team_keys[i]), "", None, by),
            |_, _| {},
        )
        .await,
    );
    out
}

/// A team's admin key (team `team`, user `user`), written straight to the store as the
/// bootstrap writes it.
pub async fn seed_admin(store: &DynamoStore, team: &str, user: &str) -> shared::ApiKey {
    let (mut admin, _) = sample_key_with_token(KeyKind::Team);
    admin.team_id = Ident::parse(team).unwrap();
    admin.user_id = Some(Ident::parse(user).unwrap());
    admin.roles = Roles::parse(&["admin"]).unwrap();
    admin.name = KeyName::parse(&format!("{team} admin")).unwrap();
    store.create(&admin, &shared::testing::audit_of(&admin)).await.expect("seeding the admin key");
    admin
}
