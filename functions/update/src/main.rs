//! `PATCH /keys/{prefix}`: a thin Lambda binary over `shared::api::update_key`. Config, DynamoDB client and store are
//! built once at cold start (`shared::api::cold_start`); a bad configuration stops the function
//! before it takes a request.

use lambda_http::{run, service_fn, Error};
use shared::api::{cold_start, update_key};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = cold_start().await?;
    run(service_fn(|req| update_key(&state, req))).await
}
