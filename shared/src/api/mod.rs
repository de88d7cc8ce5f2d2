//! HTTP handlers of the management API (DESIGN §5–§6): one `pub async fn` per route, each taking
//! the shared [`AppState`] and a `lambda_http::Request`, never failing the invocation for a
//! client error (those are `Ok(4xx problem+json)`). [`route`] dispatches method + path to them
//! for the local dev server; the Lambda binaries call the handlers directly.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::store::Store;

pub mod caller;
pub mod create;
pub mod delete;
pub mod fields;
pub mod http;
pub mod list;
pub mod permissions;
pub mod replace;
pub mod update;

pub use caller::Caller;
pub use create::{bootstrap_admin, create_key};
pub use delete::delete_key;
pub use list::list_keys;
pub use replace::replace_key;
pub use update::update_key;

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

/// A management function's cold start, done once: JSON tracing, the config from the
/// environment (a bad one stops the function before it takes a request, with a clear log
/// line), the DynamoDB client and store, the system clock.
pub async fn cold_start() -> Result<AppState<crate::store::DynamoStore>, crate::config::ConfigError>
{
    crate::config::init_tracing();
    let config = crate::config::Config::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let store = crate::config::dynamo_store(&config)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    Ok(AppState::new(store, Arc::new(crate::clock::SystemClock)))
}

/// The routes of the management API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Create,
    List,
    Get,
    Replace,
    Update,
    Delete,
}

/// Which route a method and path (without stage) name: 404 for an unknown path, 405 (with the
/// methods the path allows) for a known path with another method.
pub fn match_route(method: &::http::Method, path: &str) -> Result<Route, (ApiError, &'static str)> {
    use ::http::Method;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (route, allow) = match segments.as_slice() {
        ["keys"] => match *method {
            Method::GET => (Some(Route::List), ""),
            Method::POST => (Some(Route::Create), ""),
            _ => (None, "GET, POST"),
        },
        ["keys", _] => match *method {
            Method::GET => (Some(Route::Get), ""),
            Method::PATCH => (Some(Route::Update), ""),
            Method::DELETE => (Some(Route::Delete), ""),
            _ => (None, "GET, PATCH, DELETE"),
        },
        ["keys", _, "replace"] => match *method {
            Method::POST => (Some(Route::Replace), ""),
            _ => (None, "POST"),
        },
        _ => return Err((ApiError::NotFound, "")),
    };
    route.ok_or((ApiError::MethodNotAllowed, allow))
}

/// Dispatches a request to its handler by method and path (the local dev server's entry point).
pub async fn route<S: Store>(
    state: &AppState<S>,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let path = http::path(&req);
    match match_route(req.method(), &path) {
        Ok(Route::Create) => create_key(state, req).await,
        Ok(Route::List) | Ok(Route::Get) => list_keys(state, req).await,
        Ok(Route::Replace) => replace_key(state, req).await,
        Ok(Route::Update) => update_key(state, req).await,
        Ok(Route::Delete) => delete_key(state, req).await,
        Err((e, allow)) => {
            let rid = http::request_id(&req);
            let mut resp = e.into_response(&rid);
            if let Ok(v) = ::http::HeaderValue::from_str(allow) {
                if !allow.is_empty() {
                    resp.headers_mut().insert(::http::header::ALLOW, v);
                }
            }
            Ok(resp)
        }
    }
}

/// The response of a handler's outcome: a client or server error becomes problem+json (logged
/// with the request id by [`ApiError::into_response`]).
fn respond(request_id: &str, outcome: Result<Response<Body>, ApiError>) -> Response<Body> {
    match outcome {
        Ok(r) => {
            tracing::info!(request_id, status = r.status().as_u16(), "request answered");
            r
        }
        Err(e) => e.into_response(request_id),
    }
}

/// Records the key a request is about on the current span (prefixes only, never secrets).
fn record_prefix(prefix: &crate::token::Prefix) {
    tracing::Span::current().record("prefix", prefix.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::Method;

    #[test]
    fn routes() {
        assert_eq!(match_route(&Method::POST, "/keys").unwrap(), Route::Create);
        assert_eq!(match_route(&Method::GET, "/keys/").unwrap(), Route::List);
        assert_eq!(match_route(&Method::GET, "/keys/abc").unwrap(), Route::Get);
        assert_eq!(
            match_route(&Method::PATCH, "/keys/abc").unwrap(),
            Route::Update
        );
        assert_eq!(
            match_route(&Method::DELETE, "/keys/abc").unwrap(),
            Route::Delete
        );
        assert_eq!(
            match_route(&Method::POST, "/keys/abc/replace").unwrap(),
            Route::Replace
        );
        let (e, allow) = match_route(&Method::PUT, "/keys/abc").unwrap_err();
        assert_eq!((e.status(), allow), (405, "GET, PATCH, DELETE"));
        assert_eq!(
            match_route(&Method::GET, "/nope").unwrap_err().0.status(),
            404
        );
        assert_eq!(
            match_route(&Method::GET, "/keys/a/b/c")
                .unwrap_err()
                .0
                .status(),
            404
        );
    }
}
