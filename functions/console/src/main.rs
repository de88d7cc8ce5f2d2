//! The console's Lambda function: `GET /` and `GET /console/{proxy+}` (the pages are public; the
//! API they call is behind the authorizer). Everything it serves is built into the binary.

use lambda_http::{run, service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    run(service_fn(|req: Request| async move { Ok::<_, Error>(console::lambda_response(&req)) }))
        .await
}
