//! `PATCH /keys/{prefix}`: a thin Lambda binary over `shared::api::update_key`. Everything that can be built once
//! (config, DynamoDB client, store) is built here at cold start; a bad configuration stops the
//! function before it takes a request.

use std::sync::Arc;

use lambda_http::{run, service_fn, Error};
use shared::api::{update_key, AppState};
use shared::clock::SystemClock;
use shared::config::{dynamo_store, init_tracing, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let state = AppState::new(dynamo_store(&config).await, Arc::new(SystemClock));
    run(service_fn(|req| update_key(&state, req))).await
}
