//! Helpers for the integration suite: each test gets its own DynamoDB Local table (or an
//! in-memory store), built the way the functions build theirs.

use std::sync::atomic::{AtomicU32, Ordering};

use shared::aws::{dynamo_client, Timeouts};
use shared::store::dynamo::create_table;
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
    // Creating a table with two indexes can take DynamoDB Local over the functions' 900 ms
    // attempt timeout when both cores are busy (a cold JVM, property tests, a second DynamoDB
    // Local starting): setup gets a patient client; the store keeps the functions' timeouts.
    let patient = dynamo_client(Timeouts {
        operation: std::time::Duration::from_secs(20),
        attempt: std::time::Duration::from_secs(10),
        ..Timeouts::default()
    })
    .await;
    create_table(&patient, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table}: {}", shared::error::chain(&e)));
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

/// Captures what this thread logs, at every level, as JSON lines with span fields, until the
/// returned guard drops. One global subscriber serves every test of the process and writes to
/// the capturing thread's own buffer: per-test scoped subscribers (`with_default`) race with
/// tracing's callsite-interest cache when tests run in parallel and miss events. Run the code
/// under test on a current-thread runtime so its spawned tasks log on this thread too.
pub fn capture_logs() -> LogCapture {
    use std::sync::Once;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(|| ThreadSink)
            // A dynamic filter: asked on every event, never cached per callsite (a plain
            // filter_fn caches "never" for a callsite first hit on a thread that captures nothing).
            .with_filter(tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
                SINK.with(|s| s.borrow().is_some())
            }));
        let _ = tracing_subscriber::registry().with(layer).try_init();
    });
    let buf = shared::testing::LogBuffer::default();
    SINK.with(|s| *s.borrow_mut() = Some(buf.clone()));
    LogCapture { buf }
}

thread_local! {
    static SINK: std::cell::RefCell<Option<shared::testing::LogBuffer>> =
        const { std::cell::RefCell::new(None) };
}

/// The writer of the global test subscriber: this thread's capture buffer, if any.
struct ThreadSink;

impl std::io::Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| match s.borrow_mut().as_mut() {
            Some(sink) => sink.write(buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs captured on this thread; capturing stops when it drops.
pub struct LogCapture {
    buf: shared::testing::LogBuffer,
}

impl LogCapture {
    pub fn text(&self) -> String {
        self.buf.text()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        SINK.with(|s| *s.borrow_mut() = None);
    }
}
