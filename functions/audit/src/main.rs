//! `GET /keys/{prefix}/audit` and `GET /audit`: the Lambda binary of `shared::api::ListAudit`.
//! Everything is built once at cold start (`shared::api::cold_start`: logging, configuration,
//! the DynamoDB client); each request goes through the one request wrapper, `shared::api::serve`.

use lambda_http::{run, service_fn, Error};
use shared::api::{cold_start, serve, ListAudit};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let state = cold_start().await?;
    run(service_fn(|req| serve::<_, ListAudit>(&state, req))).await
}
