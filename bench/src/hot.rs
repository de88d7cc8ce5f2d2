//! The authorizer's hot path against a bare GetItem of the same item, with the same client,
//! interleaved so that DynamoDB Local's drift (JIT, GC) falls on every series alike.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::authorizer::{Authorizer, Decision};
use shared::clock::SystemClock;
use shared::store::dynamo::layout::key_pk;
use shared::store::{DynamoStore, KeyReader, KeyWriter};
use shared::testing::sample_key_with_token;
use shared::token::KeyKind;

use crate::events::authorizer_event;
use crate::stats::Samples;

pub struct HotPath {
    pub iterations: usize,
    pub bare: Samples,
    pub store_get: Samples,
    pub decide: Samples,
    pub handle: Samples,
    pub malformed: Samples,
}

pub async fn run(store: &DynamoStore, iterations: usize, warmup: usize) -> HotPath {
    // A realistic project key: roles, labels and a webhook in the item and the context.
    let (mut key, token) = sample_key_with_token(KeyKind::Project);
    key.roles = shared::model::Roles::parse(&["jobs:submit", "jobs:read", "reports:*"]).unwrap();
    key.labels = shared::model::Labels::parse(&["team-a", "prod"]).unwrap();
    key.webhook_url =
        Some(shared::model::WebhookUrl::parse("https://hooks.example.com/k").unwrap());
    store.create(&key, &shared::testing::audit_of(&key)).await.expect("storing the bench key");

    let client = store.client().clone();
    let table = store.table().to_owned();
    let pk = AttributeValue::S(key_pk(&key.prefix));
    let auth = Authorizer::new(store.clone(), Arc::new(SystemClock), Duration::ZERO);
    let event = authorizer_event(token.expose());
    let malformed_event = authorizer_event("sk-project-notakey");

    let bare = || async {
        let started = Instant::now();
        let out = client
            .get_item()
            .table_name(&table)
            .key("pk", pk.clone())
            .consistent_read(true)
            .send()
            .await
            .expect("bare GetItem");
        let took = started.elapsed();
        assert!(out.item().is_some());
        took
    };
    let store_get = || async {
        let started = Instant::now();
        let k = store.get(&key.prefix).await.expect("store.get");
        let took = started.elapsed();
        assert!(k.is_some());
        took
    };
    let decide = || async {
        let started = Instant::now();
        let d = auth.decide(Some(token.expose())).await.expect("decide");
        let took = started.elapsed();
        assert!(matches!(d, Decision::Allow(_)));
        took
    };
    let handle = || async {
        let e: Value = event.clone();
        let started = Instant::now();
        let r = auth.handle(e).await.expect("handle");
        let took = started.elapsed();
        assert_eq!(r["isAuthorized"], Value::Bool(true));
        took
    };

    for _ in 0..warmup {
        bare().await;
        store_get().await;
        decide().await;
        handle().await;
    }
    let mut series: [Vec<Duration>; 4] = Default::default();
    for i in 0..iterations {
        // Rotate the order so that none always follows another.
        for j in 0..4 {
            let which = (i + j) % 4;
            let took = match which {
                0 => bare().await,
                1 => store_get().await,
                2 => decide().await,
                _ => handle().await,
            };
            series[which].push(took);
        }
    }
    // A malformed key: format + checksum only, no store call (counted elsewhere).
    let mut malformed = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let e: Value = malformed_event.clone();
        let started = Instant::now();
        let r = black_box(auth.handle(e).await);
        malformed.push(started.elapsed());
        assert!(r.is_ok());
    }
    auth.flush().await;
    let [bare, store_get, decide, handle] = series.map(Samples::new);
    HotPath { iterations, bare, store_get, decide, handle, malformed: Samples::new(malformed) }
}
