//! Helpers of the management API tests: API Gateway HTTP API (payload 2.0) events built as JSON
//! and parsed by lambda_http exactly as the Lambda runtime does, a team of callers with their
//! roles, and calls that go to the handler API Gateway would invoke for the route.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::api::{self, AppState};
use shared::clock::FixedClock;
use shared::identity::AuthContext;
use shared::model::{ApiKey, Ident, KeyName, Roles};
use shared::store::{
    KeyLister, KeyReader, KeyWriter, ListQuery, Page, Store, StoreError, UsageRecorder,
};
use shared::testing::sample_key_with_token;
use shared::token::{KeyKind, Prefix, Token};
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

/// A key record (and its token) written straight to the store, as if created earlier.
pub fn team_key(team: &str, user: &str, roles: &[&str]) -> (ApiKey, Token) {
    let (mut k, t) = sample_key_with_token(KeyKind::Team);
    k.team_id = id(team);
    k.user_id = Some(id(user));
    k.roles = Roles::parse(roles).unwrap();
    k.name = KeyName::parse(&format!("{user}'s key")).unwrap();
    k.created_at = START;
    k.updated_at = START;
    (k, t)
}

pub fn project_key(team: &str, project: &str, roles: &[&str]) -> (ApiKey, Token) {
    let (mut k, t) = sample_key_with_token(KeyKind::Project);
    k.team_id = id(team);
    k.project_id = Some(id(project));
    k.roles = Roles::parse(roles).unwrap();
    k.name = KeyName::parse(&format!("{project} service key")).unwrap();
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
        Answer {
            status,
            headers,
            text,
            body,
        }
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The fields named in a problem's `errors[]`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
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
    pub fn by(mut self, key: &ApiKey) -> Self {
        self.caller = Some(AuthContext::of(key));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self.headers
            .push(("content-type".into(), "application/json".into()));
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

    /// `(routeKey, pathParameters)` as API Gateway would match them.
    pub fn route_key(&self) -> (String, Option<String>) {
        let segments: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["keys"] => (format!("{} /keys", self.method), None),
            ["keys", p] => (
                format!("{} /keys/{{prefix}}", self.method),
                Some(p.to_string()),
            ),
            ["keys", p, "replace"] => (
                format!("{} /keys/{{prefix}}/replace", self.method),
                Some(p.to_string()),
            ),
            _ => ("$default".into(), None),
        }
    }

    /// The HTTP API payload 2.0 event.
    pub fn event(&self) -> Value {
        let (route_key, prefix) = self.route_key();
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
        if let Some(p) = prefix {
            event["pathParameters"] = json!({ "prefix": p });
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
        Api {
            state: AppState::new(store, Arc::new(clock.clone())),
            clock,
        }
    }

    pub fn store(&self) -> &S {
        &self.state.store
    }

    /// Sends a call to the handler its route's Lambda function runs.
    pub async fn send(&self, call: Call) -> Answer {
        let req = call.request();
        let (route_key, _) = call.route_key();
        let r = match route_key.as_str() {
            "POST /keys" => api::serve::<_, api::CreateKey>(&self.state, req).await,
            "GET /keys" | "GET /keys/{prefix}" => api::serve::<_, api::ListKeys>(&self.state, req).await,
            "POST /keys/{prefix}/replace" => api::serve::<_, api::ReplaceKey>(&self.state, req).await,
            "PATCH /keys/{prefix}" => api::serve::<_, api::UpdateKey>(&self.state, req).await,
            "DELETE /keys/{prefix}" => api::serve::<_, api::DeleteKey>(&self.state, req).await,
            _ => api::dispatch(&self.state, req).await,
        };
        Answer::from(r.unwrap_or_else(|e| match e {}))
    }

    /// Sends a call through the dev server's dispatcher instead.
    pub async fn route(&self, call: Call) -> Answer {
        let r = api::dispatch(&self.state, call.request()).await;
        Answer::from(r.unwrap_or_else(|e| match e {}))
    }

    pub async fn put(&self, key: &ApiKey) {
        self.store().create(key).await.expect("seeding a key");
    }

    pub async fn stored(&self, key: &ApiKey) -> ApiKey {
        self.store()
            .get(&key.prefix)
            .await
            .unwrap()
            .expect("the key is stored")
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
        Team {
            admin,
            pa_p1,
            pa_p2,
            pm_p1,
            user1,
            user2,
            stranger,
            tokens,
        }
    }
}

/// A project key of `p1` in the team, stored.
pub async fn p1_key<S: Store>(api: &Api<S>, roles: &[&str]) -> (ApiKey, Token) {
    let (k, t) = project_key(TEAM, "p1", roles);
    api.put(&k).await;
    (k, t)
}

pub fn path(key: &ApiKey) -> String {
    format!("/keys/{}", key.prefix)
}

pub fn replace_path(key: &ApiKey) -> String {
    format!("/keys/{}/replace", key.prefix)
}

/// A store where another writer changes the key between the handler's read and its write.
#[derive(Clone)]
pub struct Racy<S> {
    pub inner: S,
    /// Set it to have the next update or delete lose a race.
    pub armed: Arc<AtomicBool>,
}

impl<S: Store> Racy<S> {
    pub fn new(inner: S) -> Self {
        Racy {
            inner,
            armed: Arc::new(AtomicBool::new(false)),
        }
    }
    async fn interfere(&self, prefix: &Prefix) {
        if self.armed.swap(false, Ordering::SeqCst) {
            let cur = self.inner.get(prefix).await.unwrap().unwrap();
            self.inner.update(&cur, cur.version).await.unwrap();
        }
    }
}

impl<S: Store> KeyReader for Racy<S> {
    async fn get(&self, prefix: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        self.inner.get(prefix).await
    }
}

impl<S: Store> KeyWriter for Racy<S> {
    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.inner.create(key).await
    }
    async fn update(&self, key: &ApiKey, expected_version: u64) -> Result<ApiKey, StoreError> {
        self.interfere(&key.prefix).await;
        self.inner.update(key, expected_version).await
    }
    async fn delete(
        &self,
        key: &ApiKey,
        expected_version: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.interfere(&key.prefix).await;
        self.inner.delete(key, expected_version, at).await
    }
}

impl<S: Store> KeyLister for Racy<S> {
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.inner.list(query).await
    }
}

impl<S: Store> UsageRecorder for Racy<S> {
    async fn record_usage(
        &self,
        prefix: &Prefix,
        calls: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner.record_usage(prefix, calls, at).await
    }
}

/// A store that is down (503) or returns an item it cannot read (500) on every call.
#[derive(Clone, Copy)]
pub enum Failing {
    Down,
    Corrupt,
}

impl Failing {
    fn err(self) -> StoreError {
        match self {
            Failing::Down => StoreError::Unavailable(Box::new(std::io::Error::other(
                "connection refused: dynamodb.internal.example:443 INTERNAL-DETAIL",
            ))),
            Failing::Corrupt => StoreError::Corrupt("attribute status: INTERNAL-DETAIL".into()),
        }
    }
}

impl KeyReader for Failing {
    async fn get(&self, _: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        Err(self.err())
    }
}

impl KeyWriter for Failing {
    async fn create(&self, _: &ApiKey) -> Result<(), StoreError> {
        Err(self.err())
    }
    async fn update(&self, _: &ApiKey, _: u64) -> Result<ApiKey, StoreError> {
        Err(self.err())
    }
    async fn delete(&self, _: &ApiKey, _: u64, _: OffsetDateTime) -> Result<(), StoreError> {
        Err(self.err())
    }
}

impl KeyLister for Failing {
    async fn list(&self, _: &ListQuery) -> Result<Page, StoreError> {
        Err(self.err())
    }
}

impl UsageRecorder for Failing {
    async fn record_usage(&self, _: &Prefix, _: u64, _: OffsetDateTime) -> Result<(), StoreError> {
        Err(self.err())
    }
}

/// Runs a generic test against the in-memory store and against DynamoDB Local.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(integration_tests::memory_store()).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = integration_tests::dynamo_store(stringify!($name)).await {
                        super::$name(store).await
                    }
                }
            )*
        }
    };
}
