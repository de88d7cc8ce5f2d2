//! What API Gateway (HTTP API, payload 2.0) does in front of the functions, on one machine:
//! match the route, run the Lambda authorizer on the request, and hand the function an event
//! whose `requestContext.authorizer.lambda` holds the authorizer's context.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::{HeaderMap, Method};
use serde_json::{json, Map, Value};

/// A matched route, as API Gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// e.g. `GET /keys/{prefix}`
    pub route_key: String,
    pub path_parameters: Map<String, Value>,
    /// `ANY /protected/{proxy+}`: answered by the dev server itself with the context.
    pub protected: bool,
    /// Whether the authorizer guards the route (the console's pages are public).
    pub authorized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    Found(Matched),
    /// The path exists, the method does not: the methods it allows.
    WrongMethod(String),
    NotFound,
}

/// The routes of the deployed API (`shared::api::ROUTES`), plus `ANY /protected/{proxy+}`: the
/// stand-in for "another API" behind the same authorizer.
pub fn match_route(method: &Method, path: &str) -> RouteMatch {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.first() == Some(&"protected") && segments.len() >= 2 {
        let proxy = segments[1..].join("/");
        return RouteMatch::Found(Matched {
            route_key: "ANY /protected/{proxy+}".into(),
            path_parameters: Map::from_iter([("proxy".to_owned(), Value::from(proxy))]),
            protected: true,
            authorized: true,
        });
    }
    match shared::api::match_route(method.as_str(), path) {
        shared::api::RouteMatch::Found { def, params } => RouteMatch::Found(Matched {
            route_key: def.route_key(),
            path_parameters: params
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::from(v)))
                .collect(),
            protected: false,
            authorized: def.authorized,
        }),
        shared::api::RouteMatch::WrongMethod { allow } => RouteMatch::WrongMethod(allow),
        shared::api::RouteMatch::NotFound => RouteMatch::NotFound,
    }
}

/// Headers as API Gateway passes them: lowercase names, repeated values comma-joined.
pub fn header_map(headers: &HeaderMap) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let Ok(v) = value.to_str() else { continue };
        match out.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(v);
            }
            _ => {
                out.insert(name.as_str().to_owned(), Value::from(v));
            }
        }
    }
    out
}

/// Query parameters as HTTP API payload 2.0 passes them (repeated values comma-joined).
pub fn query_map(raw: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match out.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                out.insert(k, Value::from(v));
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request as the gateway sees it.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub request_id: &'a str,
    pub source_ip: String,
}

fn request_context(inc: &Incoming<'_>, route_key: &str) -> Value {
    let now = time::OffsetDateTime::now_utc();
    json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": "127.0.0.1",
        "domainPrefix": "local",
        "http": {
            "method": inc.method.as_str(),
            "path": inc.path,
            "protocol": "HTTP/1.1",
            "sourceIp": inc.source_ip,
            "userAgent": inc.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
        },
        "requestId": inc.request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.to_string(),
        "timeEpoch": now.unix_timestamp() * 1000,
    })
}

/// The HTTP API payload 2.0 REQUEST authorizer event for this request; `identity` is the value
/// of the route's identity source, if it has one.
pub fn authorizer_event(inc: &Incoming<'_>, m: &Matched, identity: Option<&str>) -> Value {
    let headers = header_map(inc.headers);
    let identity: Vec<Value> = identity.into_iter().map(Value::from).collect();
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!(
            "arn:aws:execute-api:us-east-1:000000000000:local/$default/{}{}",
            inc.method.as_str(), inc.path
        ),
        "identitySource": identity,
        "routeKey": m.route_key,
        "rawPath": inc.path,
        "rawQueryString": inc.raw_query,
        "headers": headers,
        "queryStringParameters": query_map(inc.raw_query),
        "pathParameters": m.path_parameters,
        "requestContext": request_context(inc, &m.route_key),
    })
}

/// The function's event: payload 2.0 with the authorizer's context attached.
pub fn function_event(inc: &Incoming<'_>, m: &Matched, context: &Map<String, Value>) -> Value {
    let mut ctx = request_context(inc, &m.route_key);
    ctx["authorizer"] = json!({ "lambda": context });
    let (body, b64) = match std::str::from_utf8(inc.body) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (B64.encode(inc.body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": m.route_key,
        "rawPath": inc.path,
        "rawQueryString": inc.raw_query,
        "headers": header_map(inc.headers),
        "requestContext": ctx,
        "isBase64Encoded": b64,
    });
    let query = query_map(inc.raw_query);
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !m.path_parameters.is_empty() {
        event["pathParameters"] = Value::Object(m.path_parameters.clone());
    }
    if !inc.body.is_empty() {
        event["body"] = Value::from(body);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_like_api_gateway() {
        let m = |meth: &str, p: &str| match_route(&Method::from_bytes(meth.as_bytes()).unwrap(), p);
        match m("GET", "/keys/abcdefABCDEF") {
            RouteMatch::Found(x) => {
                assert_eq!(x.route_key, "GET /keys/{prefix}");
                assert_eq!(x.path_parameters["prefix"], "abcdefABCDEF");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(m("POST", "/keys/x/replace"), RouteMatch::Found(_)));
        assert_eq!(m("PUT", "/keys"), RouteMatch::WrongMethod("GET, POST".into()));
        assert_eq!(m("GET", "/nope"), RouteMatch::NotFound);
        assert_eq!(m("GET", "/keys/a/b"), RouteMatch::NotFound);
        match m("DELETE", "/protected/a/b") {
            RouteMatch::Found(x) => {
                assert!(x.protected);
                assert_eq!(x.path_parameters["proxy"], "a/b");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn query_strings_decode() {
        let q = query_map("search=deploy+bot&limit=5&status=Active&x=%41%zz");
        assert_eq!(q["search"], "deploy bot");
        assert_eq!(q["limit"], "5");
        assert_eq!(q["x"], "A%zz");
        assert!(query_map("").is_empty());
    }
}
