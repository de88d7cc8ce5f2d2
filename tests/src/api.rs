//! The management API as the tests call it: API Gateway HTTP API (payload 2.0) events built as
//! JSON and parsed by lambda_http exactly as the Lambda runtime does, a team of callers with
//! their roles, and calls that go through the route table to the function API Gateway would
//! invoke.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::api::RouteMatch;
use shared::api::{self, AppState};
use shared::clock::FixedClock;
use shared::identity::AuthContext;
use shared::model::{ApiKey, Ident, KeyName, Roles};
use shared::store::Store;
use shared::testing::sample_key_with_token;
use shared::token::{KeyKind, Token};
use time::macros::datetime;
use time::OffsetDateTime;

pub const TEAM: &str = "team-a";
pub const OTHER_TEAM: &str = "team-b";
/// The injected clock's start. Far in the future on purpose: a tombstone's TTL (`purgeAt`, 30 days
/// after its deletion) must not have passed in real time, or DynamoDB Local's TTL sweeper removes
/// it in the middle of a test.
pub const START: OffsetDateTime = datetime!(2036-03-01 12:00 UTC);

pub fn id(s: &str) -> Ident {
    Ident::parse(s).unwrap()
}

/// The caller the events in `events/` carry in their authorizer context: ada's admin team key
/// `AdminA1b2C3d` in `team-1` (stored by the tests that run those events).
pub fn events_caller() -> ApiKey {
    let (mut k, _) = team_key("team-1", "ada", &["admin"]);
    k.prefix = shared::token::Prefix::parse("AdminA1b2C3d").expect("a prefix");
    k.name = KeyName::parse("ada's admin key").expect("a name");
    k
}

/// A key record (and its token) written straight to the store, as if created earlier.
pub fn team_key(team: &str, user: &str, roles: &[&str]) -> (ApiKey, Token) {
    let (mut k, t) = key_of(KeyKind::Team, team, roles, &format!("{user}'s key"));
    k.user_id = Some(id(user));
    (k, t)
}

pub fn project_key(team: &str, project: &str, roles: &[&str]) -> (ApiKey, Token) {
    let (mut k, t) = key_of(KeyKind::Project, team, roles, &format!("{project} service key"));
    k.project_id = Some(id(project));
    (k, t)
}

fn key_of(kind: KeyKind, team: &str, roles: &[&str], name: &str) -> (ApiKey, Token) {
    let (mut k, t) = sample_key_with_token(kind);
    k.team_id = id(team);
    k.roles = Roles::parse(roles).unwrap();
    k.name = KeyName::parse(name).unwrap();
    k.created_at = START;
    k.updated_at = START;
    (k, t)
}

/// What a handler answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Answer {
    pub fn from(r: Response<Body>) -> Self {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = match r.body() {
            Body::Empty => String::new(),
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Answer { status, headers, text, body }
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The fields named in a problem's `errors[]`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }
    /// `field` of every item of a page (`items[].field`), as strings.
    pub fn item_strs(&self, field: &str) -> Vec<String> {
        let items = self.body["items"].as_array().expect("a page of items");
        items.iter().map(|i| i[field].as_str().expect("a string field").to_owned()).collect()
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        self
    }
}

/// One request to the management API, built as API Gateway would deliver it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub caller: Option<AuthContext>,
}

impl Call {
    pub fn new(method: &'static str, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            query: String::new(),
            headers: Vec::new(),
            body: None,
            caller: None,
        }
    }
    /// The call as the authorizer would pass it on for `key`, opened with its current secret.
    pub fn by(mut self, key: &ApiKey) -> Self {
        self.caller = Some(AuthContext::of(key));
        self
    }
    /// The call with exactly the context an authorizer answered (or none).
    pub fn with_context(mut self, context: Option<AuthContext>) -> Self {
        self.caller = context;
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self.headers.push(("content-type".into(), "application/json".into()));
        self
    }
    pub fn raw(mut self, content_type: Option<&str>, body: &str) -> Self {
        self.body = Some(body.to_owned());
        if let Some(ct) = content_type {
            self.headers.push(("content-type".into(), ct.into()));
        }
        self
    }
    pub fn query(mut self, q: &str) -> Self {
        self.query = q.to_owned();
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `(routeKey, pathParameters)` as API Gateway would match them (`$default` when no route
    /// matches).
    pub fn route_key(&self) -> (String, Option<serde_json::Map<String, Value>>) {
        match shared::api::match_route(self.method, &self.path) {
            RouteMatch::Found { def, params } => (
                def.route_key(),
                (!params.is_empty()).then(|| {
                    params.into_iter().map(|(k, v)| (k.to_owned(), Value::from(v))).collect()
                }),
            ),
            _ => ("$default".into(), None),
        }
    }

    /// The HTTP API payload 2.0 event.
    pub fn event(&self) -> Value {
        let (route_key, params) = self.route_key();
        let mut headers = serde_json::Map::new();
        headers.insert("host".into(), json!("keys.example.com"));
        headers.insert("user-agent".into(), json!("integration-tests"));
        for (k, v) in &self.headers {
            headers.insert(k.clone(), json!(v));
        }
        let mut ctx = json!({
            "accountId": "123456789012",
            "apiId": "keysapi",
            "domainName": "keys.example.com",
            "domainPrefix": "keys",
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "integration-tests"
            },
            "requestId": format!("req-{}", shared::token::random_base62(8)),
            "routeKey": route_key,
            "stage": "$default",
            "time": "01/Mar/2026:12:00:00 +0000",
            "timeEpoch": 1772366400000u64
        });
        if let Some(c) = &self.caller {
            ctx["authorizer"] = json!({ "lambda": Value::Object(c.to_map()) });
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": ctx,
            "isBase64Encoded": false
        });
        if let Some(p) = params {
            event["pathParameters"] = Value::Object(p);
        }
        if let Some(b) = &self.body {
            event["body"] = json!(b);
        }
        event
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.event().to_string()).expect("a valid event")
    }
}

/// The handlers over one store, with a clock the test moves.
pub struct Api<S> {
    pub state: AppState<S>,
    pub clock: FixedClock,
}

impl<S: Store> Api<S> {
    pub fn new(store: S) -> Self {
        let clock = FixedClock::new(START);
        Api { state: AppState::new(store, Arc::new(clock.clone())), clock }
    }

    pub fn store(&self) -> &S {
        &self.state.store
    }

    /// Sends a call to the function its route names, through the one request wrapper, as the
    /// function's binary (and the dev server) would.
    pub async fn send(&self, call: Call) -> Answer {
        let r = api::dispatch(&self.state, call.request()).await;
        Answer::from(r.unwrap_or_else(|e| match e {}))
    }

    pub async fn put(&self, key: &ApiKey) {
        self.store().create(key, &shared::testing::audit_of(key)).await.expect("seeding a key");
    }

    /// The stored key of a prefix an answer named.
    /// `POST /keys` with `body`, by `by`.
    pub async fn create(&self, by: &ApiKey, body: Value) -> Answer {
        self.send(Call::new("POST", "/keys").by(by).json(body)).await
    }

    /// `PATCH /keys/{prefix}` of `key` with `body`, by `by`.
    pub async fn patch(&self, by: &ApiKey, key: &(impl KeyRef + ?Sized), body: Value) -> Answer {
        self.send(Call::new("PATCH", path(key)).by(by).json(body)).await
    }

    /// `GET /keys?{query}`, by `by`.
    pub async fn list(&self, by: &ApiKey, query: &str) -> Answer {
        self.send(Call::new("GET", "/keys").query(query).by(by)).await
    }

    /// `GET /keys/{prefix}` of `key`, by `by`.
    pub async fn get(&self, by: &ApiKey, key: &(impl KeyRef + ?Sized)) -> Answer {
        self.send(Call::new("GET", path(key)).by(by)).await
    }

    /// `POST /keys/{prefix}/replace` of `key` with `body`, by `by`.
    pub async fn replace(&self, by: &ApiKey, key: &(impl KeyRef + ?Sized), body: Value) -> Answer {
        self.send(Call::new("POST", format!("{}/replace", path(key))).by(by).json(body)).await
    }

    /// `DELETE /keys/{prefix}` of `key`, by `by`.
    pub async fn delete(&self, by: &ApiKey, key: &(impl KeyRef + ?Sized)) -> Answer {
        self.send(Call::new("DELETE", path(key)).by(by)).await
    }

    pub async fn stored_prefix(&self, prefix: &str) -> ApiKey {
        let prefix = shared::token::Prefix::parse(prefix).expect("a prefix");
        self.store().get(&prefix).await.unwrap().expect("the key is stored")
    }

    pub async fn stored(&self, key: &ApiKey) -> ApiKey {
        self.store().get(&key.prefix).await.unwrap().expect("the key is stored")
    }
}

/// The team of the permission matrix, written to the store.
pub struct Team {
    pub admin: ApiKey,
    pub pa_p1: ApiKey,
    pub pa_p2: ApiKey,
    pub pm_p1: ApiKey,
    pub user1: ApiKey,
    pub user2: ApiKey,
    pub stranger: ApiKey,
    pub tokens: Vec<Token>,
}

impl Team {
    pub async fn seed<S: Store>(api: &Api<S>) -> Team {
        let keys = [
            team_key(TEAM, "ada", &["admin"]),
            team_key(TEAM, "pat", &["project-admin:p1", "jobs:run"]),
            team_key(TEAM, "quinn", &["project-admin:p2"]),
            team_key(TEAM, "mel", &["project-member:p1", "jobs:run"]),
            team_key(TEAM, "uma", &[]),
            team_key(TEAM, "vic", &[]),
            team_key(OTHER_TEAM, "zed", &["admin"]),
        ];
        for (k, _) in &keys {
            api.put(k).await;
        }
        let tokens = keys.iter().map(|(_, t)| t.clone()).collect();
        let [admin, pa_p1, pa_p2, pm_p1, user1, user2, stranger] = keys.map(|(k, _)| k);
        Team { admin, pa_p1, pa_p2, pm_p1, user1, user2, stranger, tokens }
    }
}

/// A project key of `p1` in the team, stored.
pub async fn p1_key<S: Store>(api: &Api<S>, roles: &[&str]) -> (ApiKey, Token) {
    let (k, t) = project_key(TEAM, "p1", roles);
    api.put(&k).await;
    (k, t)
}

pub fn path(key: &(impl KeyRef + ?Sized)) -> String {
    format!("/keys/{}", key.prefix_str())
}

/// A key named in a request path: a stored key, or its prefix as an answer gave it.
pub trait KeyRef {
    fn prefix_str(&self) -> &str;
}

impl KeyRef for ApiKey {
    fn prefix_str(&self) -> &str {
        self.prefix.as_str()
    }
}

impl KeyRef for str {
    fn prefix_str(&self) -> &str {
        self
    }
}

impl KeyRef for String {
    fn prefix_str(&self) -> &str {
        self
    }
}

pub fn replace_path(key: &ApiKey) -> String {
    format!("/keys/{}/replace", key.prefix)
}
