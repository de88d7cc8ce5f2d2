//! The dev server: a hyper HTTP/1.1 server on 127.0.0.1 that plays API Gateway in front of the
//! same handlers and the same authorizer the Lambda functions run.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as HyperBody};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use shared::api::AppState;
use shared::authorizer::Authorizer;
use shared::error::ApiError;
use shared::store::AnyStore;
use tokio::net::TcpListener;

use crate::gateway::{authorizer_event, function_event, match_route, Incoming, RouteMatch};

/// Bodies over this are refused by the "gateway" itself (the handlers refuse > 16 KiB anyway).
pub const GATEWAY_BODY_LIMIT: usize = 1024 * 1024;

/// Everything the server needs, built once.
pub struct App {
    pub api: AppState<AnyStore>,
    pub authorizer: Authorizer<AnyStore>,
}

type Reply = Response<Full<Bytes>>;

fn full(b: impl Into<Bytes>) -> Full<Bytes> {
    Full::new(b.into())
}

/// What API Gateway itself answers when the authorizer refuses (or fails): a bare JSON message,
/// no reason (the console is tested against exactly these).
fn gateway_refusal(status: StatusCode) -> Reply {
    let message = match status {
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::FORBIDDEN => "Forbidden",
        _ => "Internal Server Error",
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(full(json!({ "message": message }).to_string()))
        .expect("a static response")
}

fn problem(e: ApiError, request_id: &str) -> Reply {
    into_hyper(e.into_response(request_id))
}

fn into_hyper(resp: lambda_http::Response<lambda_http::Body>) -> Reply {
    let (parts, body) = resp.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    Response::from_parts(parts, full(bytes))
}

fn request_id() -> String {
    format!("local-{}", shared::token::random_base62(16))
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let app = app.clone();
                connections.spawn(async move {
                    let svc = service_fn(move |req| handle(app.clone(), req, peer));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    // Let open requests finish, briefly.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

async fn handle(
    app: Arc<App>, req: Request<HyperBody>, peer: SocketAddr,
) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let rid = request_id();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (reply, route, prefix) = dispatch(&app, req, peer, &rid).await;
    tracing::info!(
        method = %method,
        path = %path,
        route = route.as_deref().unwrap_or("-"),
        status = reply.status().as_u16(),
        ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
        key = prefix.as_deref().unwrap_or("-"),
        request_id = %rid,
        "request"
    );
    Ok(reply)
}

async fn dispatch(
    app: &App, req: Request<HyperBody>, peer: SocketAddr, rid: &str,
) -> (Reply, Option<String>, Option<String>) {
    let (parts, body) = req.into_parts();
    // The console's pages are public (no authorizer): only the API behind them needs a key.
    let accept_encoding = parts.headers.get(http::header::ACCEPT_ENCODING);
    let accept_encoding = accept_encoding.and_then(|v| v.to_str().ok());
    if let Some(page) = console::respond(&parts.method, parts.uri.path(), accept_encoding) {
        let page = page.map(|b| {
            full(match b {
                std::borrow::Cow::Borrowed(s) => Bytes::from_static(s),
                std::borrow::Cow::Owned(v) => Bytes::from(v),
            })
        });
        return (page, Some("console".into()), None);
    }
    let matched = match match_route(&parts.method, parts.uri.path()) {
        RouteMatch::Found(m) => m,
        // RFC 9110: a 405 names the methods the path allows.
        RouteMatch::WrongMethod(allow) => {
            return (problem(ApiError::MethodNotAllowed(allow), rid), None, None)
        }
        RouteMatch::NotFound => return (problem(ApiError::NotFound, rid), None, None),
    };
    let route = Some(matched.route_key.clone());
    if !matched.authorized {
        return (problem(ApiError::NotFound, rid), route, None);
    }
    let body = match Limited::new(body, GATEWAY_BODY_LIMIT).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return (problem(ApiError::PayloadTooLarge(GATEWAY_BODY_LIMIT), rid), route, None)
        }
    };
    let inc = Incoming {
        method: &parts.method,
        path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
        request_id: rid,
        source_ip: peer.ip().to_string(),
    };
    // The management API's identity source is `Authorization` (as template.yaml configures
    // it): API Gateway answers 401 itself when it is absent, and hands the authorizer its value.
    // `/protected` stands for an API without an identity source: the authorizer reads the
    // headers.
    let identity = if matched.protected {
        None
    } else {
        match parts.headers.get("authorization").filter(|v| !v.is_empty()) {
            Some(v) => Some(v.to_str().unwrap_or("\u{fffd}").to_owned()),
            None => return (gateway_refusal(StatusCode::UNAUTHORIZED), route, None),
        }
    };
    let decision =
        match app.authorizer.handle(authorizer_event(&inc, &matched, identity.as_deref())).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(request_id = rid, error = %e, "authorizer failed");
                return (gateway_refusal(StatusCode::INTERNAL_SERVER_ERROR), route, None);
            }
        };
    if decision.get("isAuthorized") != Some(&Value::Bool(true)) {
        // Log the prefix of a well-formed key that was refused; never the key itself.
        let presented = shared::authorizer::presented_key(&parts.headers)
            .key()
            .and_then(|k| shared::Token::parse(k).ok())
            .map(|t| t.prefix().to_string());
        return (gateway_refusal(StatusCode::FORBIDDEN), route, presented);
    }
    let context = decision.get("context").and_then(Value::as_object).cloned().unwrap_or_default();
    let prefix = context.get("keyPrefix").and_then(Value::as_str).map(str::to_owned);
    if matched.protected {
        let body = json!({
            "message": "Hello from the protected API",
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "authorizer": context,
        });
        let reply = Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(full(body.to_string()))
            .expect("static response");
        return (reply, route, prefix);
    }
    let event = function_event(&inc, &matched, &context).to_string();
    let request = match lambda_http::request::from_str(&event) {
        Ok(r) => r,
        Err(e) => return (problem(ApiError::Internal(Box::new(e)), rid), route, prefix),
    };
    let resp = shared::api::dispatch(&app.api, request).await;
    let resp = match resp {
        Ok(r) => r,
        Err(never) => match never {},
    };
    (into_hyper(resp), route, prefix)
}
