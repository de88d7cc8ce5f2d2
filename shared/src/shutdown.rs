//! Work to do before Lambda shuts an instance down.
//!
//! Lambda sends a function's process `SIGTERM` (and then allows it about 500 ms) only when an
//! extension is registered. [`on_shutdown`] registers an internal extension that subscribes to
//! no events — it only tells Lambda to send the signal — and runs a hook on `SIGTERM` (or
//! `SIGINT`) before the process exits. lambda_runtime's own `spawn_graceful_shutdown_handler`
//! does the same but fails the start when the registration fails; here a failed registration (a
//! Runtime API emulator without the Extensions API) is one warning line, and the hook still runs
//! on a signal.

use std::future::Future;

use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{build_request, Client};

/// The extension's name (internal extensions' names must be unique within a function).
pub const EXTENSION_NAME: &str = "api-keys-shutdown";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Registers the extension (before the runtime takes its first event, as Lambda requires) and
/// spawns the signal handler that runs `hook`, then exits the process.
pub async fn on_shutdown<F, Fut>(hook: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match register().await {
        Ok((client, id)) => {
            tracing::debug!(extension = EXTENSION_NAME, "shutdown extension registered");
            tokio::spawn(wait_for_events(client, id));
        }
        Err(e) => tracing::warn!(
            error = %e,
            "could not register the shutdown extension: Lambda will not signal a shutdown, and \
             work left for it (usage counts) may be lost"
        ),
    }
    tokio::spawn(async move {
        let signalled = async {
            use tokio::signal::unix::{signal, SignalKind};
            match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                    true
                }
                _ => false,
            }
        };
        if signalled.await {
            tracing::info!("shutting down");
            hook().await;
            std::process::exit(0);
        }
    });
}

fn runtime_api() -> Result<Client, BoxError> {
    let api =
        std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set")?;
    Ok(Client::builder().with_endpoint(format!("http://{api}").parse()?).build()?)
}

/// `POST /2020-01-01/extension/register` with no events: the extension's identifier.
async fn register() -> Result<(Client, String), BoxError> {
    let client = runtime_api()?;
    let req = build_request()
        .method("POST")
        .uri("/2020-01-01/extension/register")
        .header("Lambda-Extension-Name", EXTENSION_NAME)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"events":[]}"#))?;
    let res = client.call(req).await?;
    if !res.status().is_success() {
        return Err(format!("the Extensions API answered {}", res.status()).into());
    }
    let id = res
        .headers()
        .get("Lambda-Extension-Identifier")
        .and_then(|v| v.to_str().ok())
        .ok_or("the Extensions API gave no extension identifier")?
        .to_owned();
    Ok((client, id))
}

/// `GET /2020-01-01/extension/event/next`, as every extension must (that is how it tells Lambda
/// its init is done). With no events subscribed the call waits until the instance goes.
async fn wait_for_events(client: Client, id: String) {
    loop {
        let req = build_request()
            .method("GET")
            .uri("/2020-01-01/extension/event/next")
            .header("Lambda-Extension-Identifier", &id)
            .body(Body::empty());
        let Ok(req) = req else { return };
        match client.call(req).await {
            // An event (a Runtime API that answers at once): ask again, without spinning.
            Ok(res) if res.status().is_success() => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            _ => return,
        }
    }
}
