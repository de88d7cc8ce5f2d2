//! `GET /keys` and `GET /keys/{prefix}`: a thin Lambda binary over `shared::api::list_keys`. Config, DynamoDB client and store are
//! built once at cold start (`shared::api::cold_start`); a bad configuration stops the function
//! before it takes a request.

use lambda_http::{run, service_fn, Error};
use shared::api::{cold_start, list_keys};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = cold_start().await?;
    run(service_fn(|req| list_keys(&state, req))).await
}
