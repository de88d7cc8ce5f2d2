//! Management API requests built as API Gateway (HTTP API, payload 2.0) delivers them, with the
//! authorizer's context of the calling key, parsed by lambda_http as the Lambda runtime does.

use lambda_http::Request;
use serde_json::{json, Value};
use shared::identity::AuthContext;

/// `method path?query` with an optional JSON body, called by `caller`.
pub fn request(
    method: &str, path: &str, query: &str, body: Option<&Value>, caller: &AuthContext,
) -> Request {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (route_key, prefix) = match segments.as_slice() {
        ["keys"] => (format!("{method} /keys"), None),
        ["keys", p] => (format!("{method} /keys/{{prefix}}"), Some(*p)),
        ["keys", p, "replace"] => (format!("{method} /keys/{{prefix}}/replace"), Some(*p)),
        ["keys", p, "audit"] => (format!("{method} /keys/{{prefix}}/audit"), Some(*p)),
        _ => ("$default".to_owned(), None),
    };
    let mut headers = json!({ "host": "keys.example.com", "user-agent": "bench" });
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "keysapi",
            "domainName": "keys.example.com",
            "domainPrefix": "keys",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "bench"
            },
            "requestId": format!("bench-{}", shared::token::random_base62(8)),
            "routeKey": route_key,
            "stage": "$default",
            "time": "01/Mar/2026:12:00:00 +0000",
            "timeEpoch": 1772366400000u64,
            "authorizer": { "lambda": Value::Object(caller.to_map()) }
        },
        "isBase64Encoded": false
    });
    if let Some(p) = prefix {
        event["pathParameters"] = json!({ "prefix": p });
    }
    if let Some(b) = body {
        event["body"] = json!(b.to_string());
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid HTTP API event")
}

/// An HTTP API payload 2.0 authorizer event presenting `token` (as `events/authorizer-http-v2.json`).
pub fn authorizer_event(token: &str) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/$default/GET/keys",
        "identitySource": [format!("Bearer {token}")],
        "routeKey": "GET /keys",
        "rawPath": "/keys",
        "rawQueryString": "limit=20",
        "headers": {
            "accept": "application/json",
            "authorization": format!("Bearer {token}"),
            "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "user-agent": "curl/8.5.0",
            "x-forwarded-for": "203.0.113.10",
            "x-forwarded-proto": "https"
        },
        "queryStringParameters": { "limit": "20" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": "GET",
                "path": "/keys",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "bench-authorizer-request",
            "routeKey": "GET /keys",
            "stage": "$default",
            "time": "01/Mar/2026:12:00:00 +0000",
            "timeEpoch": 1772366400000u64
        }
    })
}
