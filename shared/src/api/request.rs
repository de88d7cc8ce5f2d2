//! Request parsing at the edge: request id, path, `{prefix}`, query parameters, `If-Match`, the
//! JSON body (content type, size, syntax). Nothing here panics on input.

use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::model::FieldError;
use crate::token::Prefix;

/// The largest body a route accepts (docs/API.md): 16 KiB.
pub const MAX_BODY: usize = 16 * 1024;
pub const JSON: &str = "application/json";

/// The Lambda request id, else API Gateway's, else a fresh one (a request built by hand).
pub fn request_id(req: &Request) -> String {
    if let Some(id) =
        req.lambda_context_ref().map(|c| c.request_id.as_str()).filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.request_id.as_deref(),
        Some(RequestContext::ApiGatewayV1(c)) => c.request_id.as_deref(),
        _ => None,
    };
    match from_gateway.filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => format!("local-{}", crate::token::random_base62(16)),
    }
}

/// Where a request came from, for its audit record: the request id, and the client's address
/// and user agent as API Gateway saw them.
pub fn origin(req: &Request) -> crate::model::Origin {
    let (source_ip, user_agent) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => {
            (c.http.source_ip.clone(), c.http.user_agent.clone())
        }
        Some(RequestContext::ApiGatewayV1(c)) => {
            (c.identity.source_ip.clone(), c.identity.user_agent.clone())
        }
        _ => (None, None),
    };
    let bounded = |v: Option<String>| {
        v.filter(|v| !v.is_empty())
            .map(|v| v.chars().filter(|c| !c.is_control()).take(512).collect())
    };
    crate::model::Origin {
        request_id: request_id(req),
        source_ip: bounded(source_ip),
        user_agent: bounded(user_agent),
    }
}

/// The request path without the API Gateway stage, e.g. `/keys/abc`.
pub fn path(req: &Request) -> String {
    let raw = req.raw_http_path();
    let raw = if raw.is_empty() { req.uri().path() } else { raw };
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.stage.as_deref(),
        Some(RequestContext::ApiGatewayV1(c)) => c.stage.as_deref(),
        _ => None,
    };
    // HTTP API puts a named stage in front of the raw path; REST API does not.
    if let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default" && *s != "keys") {
        if let Some(rest) = raw.strip_prefix('/').and_then(|r| r.strip_prefix(stage)) {
            if rest.starts_with('/') {
                return rest.to_owned();
            }
        }
    }
    raw.to_owned()
}

/// The raw `{prefix}` of the route: the path parameter API Gateway extracted, else the second
/// segment of `/keys/{prefix}[/replace]` (a request built by hand or by the dev server).
pub fn prefix_param(req: &Request) -> Option<String> {
    if let Some(p) = req.path_parameters_ref().and_then(|p| p.first("prefix").map(str::to_owned)) {
        return Some(p);
    }
    let path = path(req);
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    match (segments.next(), segments.next()) {
        (Some("keys"), Some(p)) => Some(p.to_owned()),
        _ => None,
    }
}

/// `{prefix}` parsed: anything but 12 base62 characters is a key that does not exist.
pub fn prefix(req: &Request) -> Result<Prefix, ApiError> {
    prefix_param(req).and_then(|p| Prefix::parse(&p)).ok_or(ApiError::NotFound)
}

/// The query parameters, from the URI's query string (lambda_http puts API Gateway's raw query
/// string there, and the dev server's requests carry it), else from API Gateway's parsed map.
pub fn query(req: &Request) -> QueryMap {
    match req.uri().query().filter(|q| !q.is_empty()) {
        Some(q) => q.parse().unwrap_or_default(),
        None => req.query_string_parameters_ref().cloned().unwrap_or_default(),
    }
}

/// What `If-Match` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: no precondition.
    Absent,
    /// `*`: any current version.
    Any,
    /// One or more versions, as `"3"` or `W/"3"` entity tags.
    Versions(Vec<u64>),
}

impl IfMatch {
    /// Whether the current `version` satisfies the precondition.
    pub fn matches(&self, version: u64) -> bool {
        match self {
            IfMatch::Absent | IfMatch::Any => true,
            IfMatch::Versions(v) => v.contains(&version),
        }
    }
    /// 412 unless the current `version` satisfies the precondition.
    pub fn check(&self, version: u64) -> Result<(), ApiError> {
        if self.matches(version) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed)
        }
    }
}

/// Parses `If-Match`. A value that is not a list of entity tags this API issued is a 400.
pub fn if_match(req: &Request) -> Result<IfMatch, ApiError> {
    let values: Vec<_> = req.headers().get_all(http::header::IF_MATCH).iter().collect();
    if values.is_empty() {
        return Ok(IfMatch::Absent);
    }
    let bad = || {
        ApiError::Validation(vec![FieldError::new(
            "If-Match",
            "must be \"*\" or entity tags of the form \"<version>\" as returned in ETag",
        )])
    };
    let mut versions = Vec::new();
    for v in values {
        let text = v.to_str().map_err(|_| bad())?;
        for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if tag == "*" {
                return Ok(IfMatch::Any);
            }
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            let inner = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag);
            if inner.is_empty() || inner.len() > 20 || !inner.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            versions.push(inner.parse::<u64>().map_err(|_| bad())?);
        }
    }
    if versions.is_empty() {
        return Err(bad());
    }
    Ok(IfMatch::Versions(versions))
}

/// Whether a `Content-Type` names JSON (`application/json`, `application/*+json`, any parameters).
fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media == JSON || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The body as a JSON object. Checks in this order: size (413), emptiness (`None`, or a 400
/// when `required`), content type (415), JSON syntax (400), object shape (400).
pub fn json_body(req: &Request, required: bool) -> Result<Option<Map<String, Value>>, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY {
        return Err(ApiError::PayloadTooLarge(MAX_BODY));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::BadRequest("A JSON object body is required.".into()))
        } else {
            Ok(None)
        };
    }
    let json = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json);
    if !json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        // Only the position: serde's messages for typed input could echo the body.
        ApiError::BadRequest(format!(
            "The body is not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })?;
    match value {
        Value::Object(m) => Ok(Some(m)),
        _ => Err(ApiError::BadRequest("The body must be a JSON object.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    fn req(body: &str, content_type: Option<&str>) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/keys");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        b.body(Body::from(body)).unwrap()
    }

    #[test]
    fn bodies() {
        let ok = json_body(&req("{\"a\":1}", Some("application/json; charset=utf-8")), true);
        assert_eq!(ok.unwrap().unwrap()["a"], 1);
        assert!(json_body(&req("{}", Some("application/merge-patch+json")), true).is_ok());
        let e = json_body(&req("{}", Some("text/plain")), true).unwrap_err();
        assert_eq!(e.status(), 415);
        let e = json_body(&req("{}", None), true).unwrap_err();
        assert_eq!(e.status(), 415);
        let e = json_body(&req("{", Some(JSON)), true).unwrap_err();
        assert_eq!(e.status(), 400);
        let e = json_body(&req("[1]", Some(JSON)), true).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(json_body(&req("", None), false).unwrap().is_none());
        assert_eq!(json_body(&req(" ", None), true).unwrap_err().status(), 400);
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY));
        assert_eq!(json_body(&req(&big, Some(JSON)), true).unwrap_err().status(), 413);
    }

    #[test]
    fn if_match_values() {
        let with = |v: &str| {
            let r = http::Request::builder().header("if-match", v).body(Body::Empty).unwrap();
            if_match(&r)
        };
        assert_eq!(with("\"3\"").unwrap(), IfMatch::Versions(vec![3]));
        assert_eq!(with("W/\"3\", \"4\"").unwrap(), IfMatch::Versions(vec![3, 4]));
        assert_eq!(with("*").unwrap(), IfMatch::Any);
        assert_eq!(with("7").unwrap(), IfMatch::Versions(vec![7]));
        assert_eq!(with("\"abc\"").unwrap_err().status(), 400);
        assert_eq!(with("\"99999999999999999999999\"").unwrap_err().status(), 400);
        assert!(IfMatch::Versions(vec![3]).check(4).is_err());
        let none = http::Request::builder().body(Body::Empty).unwrap();
        assert_eq!(if_match(&none).unwrap(), IfMatch::Absent);
    }

    #[test]
    fn prefixes_from_the_path() {
        let r =
            http::Request::builder().uri("/keys/abcDEF123456/replace").body(Body::Empty).unwrap();
        assert_eq!(prefix(&r).unwrap().as_str(), "abcDEF123456");
        let r = http::Request::builder().uri("/keys/abc").body(Body::Empty).unwrap();
        assert_eq!(prefix(&r).unwrap_err().status(), 404);
        let r = http::Request::builder().uri("/keys/%C3%A9").body(Body::Empty).unwrap();
        assert_eq!(prefix(&r).unwrap_err().status(), 404);
    }
}
