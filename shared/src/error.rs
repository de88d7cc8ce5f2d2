//! One API error type. Every failure a handler can meet becomes an RFC 9457
//! `application/problem+json` response; internals go to the log with the request id, never
//! to the client.

use lambda_http::{Body, Response};
use serde_json::json;

use crate::model::FieldError;
use crate::store::{Conflict, StoreError};

pub const PROBLEM_JSON: &str = "application/problem+json";
/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is not valid")]
    Validation(Vec<FieldError>),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("no caller identity")]
    Unauthenticated,
    /// The calling key passed the authorizer (perhaps from a cache) but is no longer valid.
    #[error("the calling key is {0}")]
    CallerRefused(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// With the methods the path allows (`Allow`).
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the key has changed since the version given in If-Match")]
    PreconditionFailed,
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("the key store is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(Conflict::VersionMismatch) => ApiError::Conflict(
                "the key was changed by another request; read it again and retry".into(),
            ),
            StoreError::Conflict(c) => ApiError::Conflict(c.to_string()),
            StoreError::BadCursor => ApiError::Validation(vec![FieldError::new(
                "cursor",
                "is not a cursor this list returned",
            )]),
            e @ StoreError::Unavailable(_) => ApiError::Unavailable(e),
            e @ StoreError::Corrupt(_) => ApiError::Internal(Box::new(e)),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => 400,
            ApiError::Unauthenticated | ApiError::CallerRefused(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PreconditionFailed => 412,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable(_) => 503,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "Invalid request",
            ApiError::BadRequest(_) => "Bad request",
            ApiError::Unauthenticated | ApiError::CallerRefused(_) => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound => "Not found",
            ApiError::MethodNotAllowed(_) => "Method not allowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::PreconditionFailed => "Precondition failed",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::Internal(_) => "Internal error",
            ApiError::Unavailable(_) => "Service unavailable",
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::CallerRefused(_) => "key-not-valid",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not-found",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed => "precondition-failed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    /// What the client may read: never an SDK message or any other internal detail.
    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) if errors.len() == 1 => {
                format!("{} {}", errors[0].field, errors[0].message)
            }
            ApiError::Validation(_) => "Some fields are not valid; see errors.".into(),
            ApiError::BadRequest(m) | ApiError::Forbidden(m) | ApiError::Conflict(m) => m.clone(),
            ApiError::Unauthenticated => "The request carries no authorized caller.".into(),
            ApiError::CallerRefused(_) => {
                "The calling key is not valid any more: it was disabled, deleted or replaced, or it expired."
                    .into()
            }
            ApiError::NotFound => "No such key.".into(),
            ApiError::MethodNotAllowed(_) => "This route does not accept that method.".into(),
            ApiError::PreconditionFailed => self.to_string(),
            ApiError::PayloadTooLarge(_) => self.to_string(),
            ApiError::UnsupportedMediaType => {
                "Send the body as JSON with Content-Type: application/json.".into()
            }
            ApiError::Internal(_) => "Something went wrong; quote the requestId.".into(),
            ApiError::Unavailable(_) => {
                "The key store is unavailable; retry after a moment.".into()
            }
        }
    }

    /// The problem document.
    pub fn problem(&self, request_id: &str) -> serde_json::Value {
        let mut body = json!({
            "type": format!("https://errors.api-keys.dev/{}", self.slug()),
            "title": self.title(),
            "status": self.status(),
            "detail": self.detail(),
            "requestId": request_id,
        });
        if let ApiError::Validation(errors) = self {
            body["errors"] = json!(errors);
        }
        body
    }

    /// Logs the whole error chain with the request id and answers problem+json.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let status = self.status();
        if status >= 500 {
            tracing::error!(request_id, status, error = %chain(&self), "request failed");
        } else {
            tracing::info!(request_id, status, error = %self, "request refused");
        }
        let mut builder = Response::builder()
            .status(status)
            .header("content-type", PROBLEM_JSON)
            .header("cache-control", "no-store");
        if status == 503 {
            builder = builder.header("retry-after", RETRY_AFTER_SECONDS.to_string());
        }
        if let ApiError::MethodNotAllowed(allow) = &self {
            builder = builder.header("allow", allow.as_str());
        }
        builder
            .body(Body::Text(self.problem(request_id).to_string()))
            .expect("a response with static headers is valid")
    }
}

/// "outer: inner: innermost" for the log.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_has_the_rfc_9457_members() {
        let e = ApiError::Validation(vec![FieldError::new("name", "must not be empty")]);
        let p = e.problem("req-1");
        assert_eq!(p["status"], 400);
        assert_eq!(p["requestId"], "req-1");
        assert_eq!(p["errors"][0]["field"], "name");
        assert!(p["type"].as_str().unwrap().starts_with("https://"));
        let r = ApiError::NotFound.into_response("r");
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], PROBLEM_JSON);
    }

    #[test]
    fn internals_never_reach_the_client() {
        let inner = std::io::Error::other("dynamodb said SECRET-INTERNAL-DETAIL");
        let e = ApiError::from(StoreError::Unavailable(Box::new(inner)));
        let r = e.into_response("r");
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
        let body = match r.body() {
            Body::Text(t) => t.clone(),
            _ => unreachable!(),
        };
        assert!(!body.contains("SECRET-INTERNAL-DETAIL"));
        let e = ApiError::Internal(Box::new(std::io::Error::other("boom-detail")));
        assert!(!e.problem("r").to_string().contains("boom-detail"));
    }
}
