//! The Lambda authorizer binary: everything is built once at cold start; each invocation is
//! `Authorizer::handle` (see `shared::authorizer`). Before Lambda shuts the instance down, the
//! usage counts still in memory are written (`shared::shutdown`).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::authorizer::{Authorizer, SHUTDOWN_FLUSH};
use shared::clock::SystemClock;
use shared::config::Config;

// One invocation at a time per instance: a single-threaded runtime starts faster and uses less
// memory; the usage writes it spawns run while the runtime waits for the next event.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let config = Config::from_env()?;
    let store = shared::aws::dynamo_store(&config).await?;
    let authorizer = Arc::new(Authorizer::new(store, Arc::new(SystemClock), config.auth_cache_ttl));
    let flushing = Arc::clone(&authorizer);
    shared::shutdown::on_shutdown(move || async move {
        flushing.flush_within(SHUTDOWN_FLUSH).await;
    })
    .await;
    let authorizer = &authorizer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        authorizer.handle(event.payload).await
    }))
    .await
}
