//! Helpers for the integration suite: each test gets its own DynamoDB Local table (or an
//! in-memory store), built the way the functions build theirs.

use std::sync::atomic::{AtomicU32, Ordering};

use shared::config::{dynamo_client, Timeouts};
use shared::store::table::create_table;
use shared::store::{CursorCodec, DynamoStore, MemoryStore};

/// Whether the test run has DynamoDB Local (tests/run.sh starts it and sets the endpoint).
pub fn dynamodb_local() -> bool {
    let present = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|v| !v.is_empty());
    if !present && std::env::var("DYNAMODB_LOCAL_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("DYNAMODB_LOCAL_REQUIRED=1 but AWS_ENDPOINT_URL_DYNAMODB is not set");
    }
    present
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

pub fn codec() -> CursorCodec {
    CursorCodec::new(b"integration-tests")
}

pub fn memory_store() -> MemoryStore {
    MemoryStore::new(codec())
}

/// A DynamoDB store on a table of its own, or `None` (test skipped) when DynamoDB Local is absent
/// and not required.
pub async fn dynamo_store(tag: &str) -> Option<DynamoStore> {
    if !dynamodb_local() {
        eprintln!("skipped: DynamoDB Local is not running (use tests/run.sh)");
        return None;
    }
    let client = dynamo_client(Timeouts::default()).await;
    let table = table_name(tag);
    create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table}: {}", shared::error::chain(&e)));
    Some(DynamoStore::new(client, table, codec()))
}
