//! Unit checks with the in-memory store: the event files in `events/`, the answers per format,
//! panics in the background, and the tracing filter. The DynamoDB Local suite is in
//! `tests/tests/suite/authorizer.rs`.

use std::sync::Arc;

use serde_json::{json, Value};
use time::macros::datetime;

use super::*;
use crate::clock::FixedClock;
use crate::model::Ident;
use crate::store::{CursorCodec, KeyWriter, MemoryStore};
use crate::testing::{sample_key, sample_key_with_token};

const HTTP_V2: &str = include_str!("../../../events/authorizer-http-v2.json");
const REST_TOKEN: &str = include_str!("../../../events/authorizer-rest-token.json");
const REST_REQUEST: &str = include_str!("../../../events/authorizer-rest-request.json");

fn memory() -> MemoryStore {
    MemoryStore::new(CursorCodec::new(b"unit"))
}

fn authorizer(store: MemoryStore) -> Authorizer<MemoryStore> {
    let clock = FixedClock::new(OffsetDateTime::now_utc());
    Authorizer::new(store, Arc::new(clock), Duration::ZERO)
}

/// The key a fixture's token opens.
fn key_for(token: &str) -> ApiKey {
    let token = Token::parse(token).expect("fixture tokens are well formed");
    let mut key = sample_key(token.kind());
    key.prefix = token.prefix().clone();
    key.secret_hash = token.hash();
    key.preview = token.preview();
    key.project_id = match token.kind() {
        crate::token::KeyKind::Project => Some(Ident::parse("project-42").unwrap()),
        crate::token::KeyKind::Team => None,
    };
    key
}

fn fixture_token(event: &Value) -> String {
    let raw = match event.get("authorizationToken") {
        Some(t) => t.as_str().unwrap().to_owned(),
        None => {
            let h = event["headers"].as_object().unwrap();
            presented_key(h).key().unwrap().to_owned()
        }
    };
    headers::token_from_authorization_token(&raw).to_owned()
}

#[tokio::test]
async fn event_files_parse_and_are_answered() {
    for (name, text) in
        [("http-v2", HTTP_V2), ("rest-token", REST_TOKEN), ("rest-request", REST_REQUEST)]
    {
        let event: Value = serde_json::from_str(text).expect(name);
        let token = fixture_token(&event);

        // an empty store: a well-formed but unknown key is refused in the format's own way
        let refused = authorizer(memory()).handle(event.clone()).await.unwrap();
        if name == "http-v2" {
            assert_eq!(refused, json!({ "isAuthorized": false, "context": {} }), "{name}");
        } else {
            assert_eq!(refused["policyDocument"]["Statement"][0]["Effect"], "Deny", "{name}");
        }

        // with the fixture's key stored, the same event is allowed with the whole context
        let store = memory();
        let key = key_for(&token);
        store.create(&key, &crate::testing::audit_of(&key)).await.unwrap();
        let answer = authorizer(store).handle(event.clone()).await.unwrap();
        let expected_ctx = Value::Object(AuthContext::of(&key).to_map());
        if name == "http-v2" {
            assert_eq!(answer["isAuthorized"], true, "{name}");
            assert_eq!(answer["context"], expected_ctx, "{name}");
        } else {
            assert_eq!(answer["principalId"], key.prefix.as_str(), "{name}");
            let st = &answer["policyDocument"]["Statement"][0];
            assert_eq!(st["Effect"], "Allow", "{name}");
            assert_eq!(st["Action"], json!(["execute-api:Invoke"]), "{name}");
            let resource = st["Resource"][0].as_str().unwrap();
            assert!(resource.ends_with(":f6g7h8i9j0/prod/*/*"), "{name}: {resource}");
            assert_eq!(answer["context"], expected_ctx, "{name}");
            assert_eq!(answer["context"]["origin"], "API");
        }
    }
}

#[tokio::test]
async fn rest_missing_or_malformed_is_unauthorized_and_odd_events_are_errors() {
    let auth = authorizer(memory());
    let arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x";
    for token in ["", "Bearer ", "sk-project-nope", "Basic abc"] {
        let e = auth
            .handle(json!({ "type": "TOKEN", "authorizationToken": token, "methodArn": arn }))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "Unauthorized", "{token:?}");
    }
    let e = auth
        .handle(json!({ "type": "REQUEST", "methodArn": arn, "headers": {} }))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "Unauthorized");
    // HTTP API: no key is a plain refusal (API Gateway answers 403)
    let r =
        auth.handle(json!({ "version": "2.0", "type": "REQUEST", "headers": {} })).await.unwrap();
    assert_eq!(r["isAuthorized"], false);
    for odd in [json!({ "hello": "world" }), json!(null), json!({ "type": "TOKEN" })] {
        assert!(auth.handle(odd).await.is_err());
    }
}

#[tokio::test]
async fn decide_covers_the_basic_outcomes() {
    let store = memory();
    let (key, token) = sample_key_with_token(crate::token::KeyKind::Team);
    store.create(&key, &crate::testing::audit_of(&key)).await.unwrap();
    let auth = authorizer(store);
    assert_eq!(auth.decide(None).await.unwrap(), Decision::Missing);
    assert_eq!(auth.decide(Some("  ")).await.unwrap(), Decision::Missing);
    assert_eq!(auth.decide(Some("x")).await.unwrap(), Decision::Deny);
    assert_eq!(
        auth.decide(Some(token.expose())).await.unwrap(),
        Decision::Allow(AuthContext::of(&key))
    );
    let other = Token::generate_for(key.kind, key.prefix.clone());
    assert_eq!(auth.decide(Some(other.expose())).await.unwrap(), Decision::Deny);
}

/// A store whose usage writes panic.
struct PanickingUsage(MemoryStore);

impl KeyReader for PanickingUsage {
    async fn get(&self, prefix: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        self.0.get(prefix).await
    }
    async fn get_pair(
        &self, a: &Prefix, b: &Prefix,
    ) -> Result<(Option<ApiKey>, Option<ApiKey>), StoreError> {
        self.0.get_pair(a, b).await
    }
}

impl crate::store::Limiter for PanickingUsage {
    async fn lease_rate(
        &self, p: &Prefix, w: i64, want: u64, limit: u64, seen: crate::model::RateWindow,
    ) -> Result<Option<crate::store::Lease>, StoreError> {
        self.0.lease_rate(p, w, want, limit, seen).await
    }
    async fn lease_quota(
        &self, p: &Prefix, want: u64,
    ) -> Result<Option<crate::store::Lease>, StoreError> {
        self.0.lease_quota(p, want).await
    }
    async fn return_quota(&self, p: &Prefix, calls: u64) -> Result<(), StoreError> {
        self.0.return_quota(p, calls).await
    }
    async fn refill_quota(
        &self, p: &Prefix, amount: u64, last: Option<OffsetDateTime>, now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.0.refill_quota(p, amount, last, now).await
    }
    async fn charge_one(
        &self, p: &Prefix, hash: &crate::token::SecretHash, now: OffsetDateTime,
    ) -> Result<crate::store::Charged, StoreError> {
        self.0.charge_one(p, hash, now).await
    }
}

impl UsageRecorder for PanickingUsage {
    async fn record_usage(&self, _: &Prefix, _: u64, _: OffsetDateTime) -> Result<(), StoreError> {
        panic!("usage write exploded")
    }
}

#[tokio::test]
async fn a_panicking_usage_write_does_not_stop_the_authorizer() {
    let store = memory();
    let (key, token) = sample_key_with_token(crate::token::KeyKind::Project);
    store.create(&key, &crate::testing::audit_of(&key)).await.unwrap();
    let clock = FixedClock::new(datetime!(2026-01-01 0:00 UTC));
    let auth = Authorizer::new(PanickingUsage(store), Arc::new(clock.clone()), Duration::ZERO);
    for _ in 0..3 {
        assert!(matches!(auth.decide(Some(token.expose())).await.unwrap(), Decision::Allow(_)));
        clock.advance(time::Duration::minutes(2));
    }
    // the in-flight count came back down although every write panicked
    assert!(auth.usage.idle(Duration::from_secs(1)).await);
}

/// The dev server shares one authorizer across connection tasks and spawns its futures.
#[allow(dead_code)]
fn futures_are_send_and_the_authorizer_is_shareable(a: &Authorizer<crate::store::AnyStore>) {
    fn send<T: Send>(_: T) {}
    fn shareable<T: Send + Sync>() {}
    send(a.decide(None));
    send(a.handle(Value::Null));
    send(a.flush());
    shareable::<Authorizer<crate::store::AnyStore>>();
}
