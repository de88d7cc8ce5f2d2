//! Stores for tests: the in-memory store, and each test's own table in DynamoDB Local, built
//! the way the functions build theirs; seeding and scanning.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::aws::{dynamo_client, Timeouts};
use shared::store::dynamo::create_table;
use shared::store::{CursorCodec, DynamoStore, MemoryStore, Store, StoreError};
use shared::ApiKey;

/// Whether the test run has DynamoDB Local (tests/run.sh starts it and sets the endpoint).
/// When it is missing, a test that needs it is skipped visibly ([`crate::skip`]) — or fails,
/// under `tests/run.sh` (`DYNAMODB_LOCAL_REQUIRED=1`) and in CI.
pub fn dynamodb_local() -> bool {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|v| !v.is_empty())
}

/// A fresh, unique table name for one test.
pub fn table_name(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "t-{tag}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        shared::token::random_base62(6)
    )
}

/// Points a dev server or CLI started by a test at DynamoDB Local's table for `tag`, or (`None`)
/// at its in-memory store.
pub fn store_env(cmd: &mut std::process::Command, dynamo_tag: Option<&str>) {
    match dynamo_tag {
        Some(tag) => cmd.env("TABLE_NAME", table_name(tag)),
        None => cmd.env_remove("AWS_ENDPOINT_URL_DYNAMODB"),
    };
}

pub fn codec() -> CursorCodec {
    CursorCodec::new(b"integration-tests")
}

pub fn memory_store() -> MemoryStore {
    MemoryStore::new(codec())
}

/// Timeouts for tests of what a store does rather than how fast: 20 s an operation, 10 s an
/// attempt, so a busy machine answering slower than the functions' 900 ms attempt timeout does
/// not turn into a retried (or failed) write.
fn patient() -> Timeouts {
    Timeouts {
        operation: std::time::Duration::from_secs(20),
        attempt: std::time::Duration::from_secs(10),
        ..Timeouts::default()
    }
}

/// A table of its own for `tag`, created with a patient client (a table with two indexes can
/// take DynamoDB Local over 900 ms when both cores are busy), and that client; `None` (test
/// skipped) when DynamoDB Local is absent and not required.
async fn own_table(tag: &str) -> Option<(aws_sdk_dynamodb::Client, String)> {
    if !dynamodb_local() {
        crate::skip(tag, "DynamoDB Local is not running", "DYNAMODB_LOCAL_REQUIRED");
        return None;
    }
    let client = dynamo_client(patient()).await;
    let table = table_name(tag);
    create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table}: {}", shared::error::chain(&e)));
    Some((client, table))
}

/// A DynamoDB store on a table of its own, with the functions' timeouts, or `None` (test
/// skipped) when DynamoDB Local is absent and not required.
pub async fn dynamo_store(tag: &str) -> Option<DynamoStore> {
    let (_, table) = own_table(tag).await?;
    Some(DynamoStore::new(dynamo_client(Timeouts::default()).await, table, codec()))
}

/// [`dynamo_store`] whose client counts every request it sends (operation, read consistency,
/// writes per key): for tests that assert what goes over the wire.
pub async fn counted_dynamo_store(
    tag: &str,
) -> Option<(DynamoStore, crate::requests::CallCounter)> {
    let plain = dynamo_store(tag).await?;
    let counter = crate::requests::CallCounter::default();
    let client = crate::requests::counting_client(plain.client(), &counter);
    Some((DynamoStore::new(client, plain.table(), codec()), counter))
}

/// [`dynamo_store`] with the patient client that created its table: for tests of what a store
/// does under contention rather than how fast.
pub async fn patient_dynamo_store(tag: &str) -> Option<DynamoStore> {
    let (client, table) = own_table(tag).await?;
    Some(DynamoStore::new(client, table, codec()))
}

/// A DynamoDB client like the functions' (their retries, `timeouts`) for `endpoint`, with dummy
/// credentials: for stores that are gone, silent or behind a relay.
pub async fn client_at(endpoint: &str, timeouts: Timeouts) -> aws_sdk_dynamodb::Client {
    let base = dynamo_client(timeouts).await;
    let conf = base
        .config()
        .to_builder()
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// Writes a seeded key, retrying while the store is unavailable: the first writes to a
/// DynamoDB Local that has just started, with both cores busy, can exceed the functions' 900 ms
/// attempt timeout. A retry that finds the key already there (the timed-out attempt landed)
/// is fine when what is stored is the key.
pub async fn seed<S: Store>(store: &S, key: &ApiKey) {
    for attempt in 0..5 {
        match store.create(key, &shared::testing::audit_of(key)).await {
            Ok(()) => return,
            Err(StoreError::Unavailable(_)) if attempt < 4 => continue,
            Err(StoreError::Conflict(_)) if attempt > 0 => {
                let stored = store.get(&key.prefix).await.expect("reading a seeded key");
                assert_eq!(stored.as_ref(), Some(key), "a different key under {}", key.prefix);
                return;
            }
            Err(e) => panic!("seeding {}: {}", key.prefix, shared::error::chain(&e)),
        }
    }
}

/// Every item of the store's table, by a paginated Scan (tests only: the service never scans).
pub async fn scan_table(store: &DynamoStore) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scanning {}: {}", store.table(), shared::error::chain(&e)));
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return items,
        }
    }
}

/// A string attribute of an item.
pub fn attr<'i>(item: &'i HashMap<String, AttributeValue>, name: &str) -> Option<&'i str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    }
}
