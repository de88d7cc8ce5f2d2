//! The management API: the route table ([`routes`]), the one request wrapper ([`serve`]) every
//! function runs its requests through, and the handlers, one module per function. A handler
//! never fails the invocation for a client error: those are `Ok(4xx problem+json)`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use tracing::field::Empty;
use tracing::Instrument;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::store::Store;

/// A Lambda function's handler: the unit struct `$name` (also its [`Function`]), whose
/// [`Handler`] answers each of its routes with `answer(state, req)`: one route with
/// `lambda_function!(Name => answer, "doc")`, several with
/// `lambda_function!(Name { Route::A => a, _ => b }, "doc")` (with [`Route`] in scope).
macro_rules! lambda_function {
    ($name:ident => $answer:ident, $doc:literal) => {
        lambda_function!($name { _ => $answer }, $doc);
    };
    ($name:ident { $($route:pat => $answer:ident),+ $(,)? }, $doc:literal) => {
        #[doc = $doc]
        pub struct $name;

        impl<S: Store> super::Handler<S> for $name {
            const FUNCTION: super::Function = super::Function::$name;
            async fn handle(
                state: &super::AppState<S>, route: super::Route, req: &lambda_http::Request,
            ) -> super::Reply {
                match route {
                    $($route => $answer(state, req).await,)+
                }
            }
        }
    };
}

pub mod audit;
pub mod caller;
pub mod change;
pub mod create;
pub mod delete;
pub mod fields;
pub mod list;
pub mod permissions;
pub mod replace;
pub mod request;
pub mod response;
pub mod routes;
pub mod update;

pub use audit::ListAudit;
pub use caller::Caller;
pub use create::{bootstrap_admin, CreateKey};
pub use delete::DeleteKey;
pub use list::ListKeys;
pub use replace::ReplaceKey;
pub use routes::{match_route, Function, Route, RouteDef, RouteMatch, ROUTES};
pub use update::UpdateKey;

/// What every handler shares: the store and the clock, built once per cold start.
pub struct AppState<S> {
    pub store: S,
    pub clock: Arc<dyn Clock>,
}

impl<S: Store> AppState<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        AppState { store, clock }
    }
}

/// A management function's cold start, done once: logging, the config from the environment (a
/// bad one stops the function before it takes a request, with a clear log line), the DynamoDB
/// client and store, the system clock.
pub async fn cold_start() -> Result<AppState<crate::store::DynamoStore>, crate::config::ConfigError>
{
    crate::telemetry::init_lambda();
    let config = crate::config::Config::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let store = crate::aws::dynamo_store(&config)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    Ok(AppState::new(store, Arc::new(crate::clock::SystemClock)))
}

/// A handler's answer: a response, or the error that becomes a problem+json.
pub type Reply = Result<Response<Body>, ApiError>;

/// The routes of one Lambda function.
pub trait Handler<S: Store> {
    const FUNCTION: Function;
    /// Answers a request for `route` (one of this function's).
    fn handle<'a>(
        state: &'a AppState<S>, route: Route, req: &'a Request,
    ) -> impl Future<Output = Reply> + Send + 'a;
}

/// The one request wrapper: the request id, a span with the route and the key a request is about,
/// the route's handler, and the answer — a problem+json for an error, logged with the request
/// id ([`ApiError::into_response`]).
pub async fn serve<S: Store, H: Handler<S>>(
    state: &AppState<S>, req: Request,
) -> Result<Response<Body>, Infallible> {
    let rid = request::request_id(&req);
    let span = tracing::info_span!("request", request_id = %rid, route = Empty, prefix = Empty);
    let outcome = async {
        let path = request::path(&req);
        match match_route(req.method().as_str(), &path) {
            RouteMatch::Found { def, .. } if def.function == H::FUNCTION => {
                tracing::Span::current().record("route", def.route_key());
                H::handle(state, def.route, &req).await
            }
            RouteMatch::WrongMethod { allow } => Err(ApiError::MethodNotAllowed(allow)),
            _ => Err(ApiError::NotFound),
        }
    }
    .instrument(span.clone())
    .await;
    let _entered = span.enter();
    Ok(match outcome {
        Ok(r) => {
            tracing::info!(status = r.status().as_u16(), "request answered");
            r
        }
        Err(e) => e.into_response(&rid),
    })
}

/// Sends a request to the function that serves its route (the dev server's entry point, and
/// the tests' way to reach every handler through one call).
pub async fn dispatch<S: Store>(
    state: &AppState<S>, req: Request,
) -> Result<Response<Body>, Infallible> {
    let path = request::path(&req);
    let function = match match_route(req.method().as_str(), &path) {
        RouteMatch::Found { def, .. } => def.function,
        _ => return serve::<S, ListKeys>(state, req).await,
    };
    match function {
        Function::CreateKey => serve::<S, CreateKey>(state, req).await,
        Function::ListKeys => serve::<S, ListKeys>(state, req).await,
        Function::ReplaceKey => serve::<S, ReplaceKey>(state, req).await,
        Function::UpdateKey => serve::<S, UpdateKey>(state, req).await,
        Function::DeleteKey => serve::<S, DeleteKey>(state, req).await,
        Function::ListAudit => serve::<S, ListAudit>(state, req).await,
        // The console's own function serves its pages; this API never does.
        Function::Console => Ok(ApiError::NotFound.into_response(&request::request_id(&req))),
    }
}

/// Records the key a request is about on the request's span (prefixes only, never secrets).
fn record_prefix(prefix: &crate::token::Prefix) {
    tracing::Span::current().record("prefix", prefix.as_str());
}
