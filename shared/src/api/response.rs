//! The JSON responses of the management API (errors are [`crate::error::ApiError`]'s).

use lambda_http::{Body, Response};
use serde_json::Value;

use super::request::JSON;

/// The entity tag of a key version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// A JSON response that no cache keeps (key objects are not for shared caches).
pub fn json_response(status: u16, body: &Value) -> ResponseBuilder {
    ResponseBuilder {
        builder: Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, JSON)
            .header(http::header::CACHE_CONTROL, "no-store"),
        body: Body::Text(body.to_string()),
    }
}

/// A response under construction: headers can be added, and `finish` never panics.
pub struct ResponseBuilder {
    builder: http::response::Builder,
    body: Body,
}

impl ResponseBuilder {
    pub fn header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        if let Ok(v) = http::HeaderValue::from_str(value.as_ref()) {
            self.builder = self.builder.header(name, v);
        }
        self
    }
    pub fn finish(self) -> Response<Body> {
        self.builder.body(self.body).unwrap_or_else(|_| {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }
}

/// 204 with no body.
pub fn no_content() -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = http::StatusCode::NO_CONTENT;
    r.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r
}
