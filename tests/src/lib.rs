//! Test support, in one place: the crate every test binary (the suite, the end-to-end tests,
//! the dev server's tests, the bench) builds on. Never part of a function's build.
//!
//! - [`stores`]: the in-memory store, a DynamoDB Local table per test, seeding and scanning;
//! - [`api`]: management API calls as API Gateway delivers them, a team of callers;
//! - [`wrap`]: one wrapper store for faults, races and counting;
//! - [`logs`]: what a test logged, through the production subscriber;
//! - [`requests`]: the DynamoDB requests a client sends, counted by an SDK interceptor;
//! - [`runtime_api`]: a Lambda Runtime API of our own, to run a function's real binary;
//! - [`figures`]: what the hardening tests count;
//! - [`http`]: a minimal HTTP client and a stderr collector, for tests that run a binary;
//! - [`net`]: ports held while a test needs them: one where nothing listens, a TCP relay;
//! - [`cfn`]: `template.yaml` as CloudFormation JSON;
//! - [`on_both_stores!`]: one generic test, run on the in-memory store and on DynamoDB Local.

pub mod api;
pub mod cfn;
pub mod figures;
pub mod http;
pub mod logs;
pub mod net;
pub mod requests;
pub mod runtime_api;
pub mod stores;
pub mod wrap;

pub use logs::{capture_logs, LogCapture};
pub use stores::*;

/// `target/tmp` of the workspace (figures and skips are written there).
pub fn target_tmp() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Skips a test that needs something this run does not have — visibly: a line on stderr and in
/// `target/tmp/skipped-tests.txt`, which `tests/run.sh` counts into its summary. When `required`
/// (an environment variable `tests/run.sh` sets to 1) is set, or in CI (`CI=true`), a missing
/// service fails the test instead.
pub fn skip(test: &str, why: &str, required: &str) {
    let must = std::env::var(required).is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!must, "{test}: {why}, but {required}=1 or CI=true: it must run");
    eprintln!("SKIPPED {test}: {why} (run it through tests/run.sh)");
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target_tmp().join("skipped-tests.txt"))
    {
        let _ = writeln!(f, "{test}: {why}");
    }
}

/// Runs a generic test against the in-memory store and against DynamoDB Local. The DynamoDB half
/// gets a patient client ([`patient_dynamo_store`]): these tests are about what a store does
/// (exact counts, one winner, one record per change) under contention, and on a busy machine a
/// write the SDK retried after its 900 ms attempt timeout could count twice, strand a lease or
/// answer 503. What the functions do when DynamoDB is slow or gone is tested with clients of
/// their own timeouts (`hardening_faults`, the authorizer's tests).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::memory_store()).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = $crate::patient_dynamo_store(stringify!($name)).await {
                        super::$name(store).await
                    }
                }
            )*
        }
    };
}
