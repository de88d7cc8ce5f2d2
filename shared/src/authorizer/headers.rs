//! Where a key travels: `Authorization: Bearer <key>` or `x-api-key: <key>`, header names
//! matched without regard to case, whatever shape the headers arrive in.

use std::collections::HashMap;
use std::hash::BuildHasher;

use serde_json::Value;

/// Stands in for a header value that is not valid UTF-8: it can never parse as a token, so
/// such a key is refused as malformed rather than treated as absent.
const NOT_TEXT: &str = "\u{fffd}";

/// Header lookup by a lowercase name, ignoring the case of the stored names.
pub trait Headers {
    fn header(&self, lowercase_name: &str) -> Option<&str>;
}

impl Headers for http::HeaderMap {
    fn header(&self, lowercase_name: &str) -> Option<&str> {
        // HeaderMap stores names lowercased already.
        let value = self.get(lowercase_name)?;
        Some(std::str::from_utf8(value.as_bytes()).unwrap_or(NOT_TEXT))
    }
}

/// The `headers` object of an API Gateway event (names as the client sent them).
impl Headers for serde_json::Map<String, Value> {
    fn header(&self, lowercase_name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(lowercase_name))
            .map(|(_, v)| v.as_str().unwrap_or(NOT_TEXT))
    }
}

impl<S: BuildHasher> Headers for HashMap<String, String, S> {
    fn header(&self, lowercase_name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(lowercase_name))
            .map(|(_, v)| v.as_str())
    }
}

/// The presented key, trimmed: the `Bearer` credential of `Authorization` first, else
/// `x-api-key`. An `Authorization` header with another scheme is not ours and is skipped.
/// `Some("")` means the header is there but empty, which [`super::Authorizer::decide`] treats
/// as no key.
pub fn extract_key<H: Headers + ?Sized>(headers: &H) -> Option<&str> {
    if let Some(key) = headers.header("authorization").and_then(bearer) {
        return Some(key);
    }
    headers.header("x-api-key").map(str::trim)
}

/// The credential of a `Bearer` authorization value (scheme matched case-insensitively).
pub fn bearer(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// What a REST `TOKEN` event carries: the identity source header's raw value, which is
/// `Bearer <key>` when the source is `Authorization`, or the bare key (e.g. from `x-api-key`).
pub fn token_from_authorization_token(value: &str) -> &str {
    bearer(value).unwrap_or_else(|| value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn bearer_and_api_key_in_any_case() {
        let h = map(json!({ "AUTHORIZATION": "bearer sk-x" }));
        assert_eq!(extract_key(&h), Some("sk-x"));
        let h = map(json!({ "Authorization": "Bearer   sk-x  " }));
        assert_eq!(extract_key(&h), Some("sk-x"));
        let h = map(json!({ "X-Api-Key": " sk-y " }));
        assert_eq!(extract_key(&h), Some("sk-y"));
        let mut hm = http::HeaderMap::new();
        hm.insert("X-API-KEY", "sk-z".parse().unwrap());
        assert_eq!(extract_key(&hm), Some("sk-z"));
        let mut plain = HashMap::new();
        plain.insert("x-Api-key".to_owned(), "sk-w".to_owned());
        assert_eq!(extract_key(&plain), Some("sk-w"));
    }

    #[test]
    fn authorization_wins_and_other_schemes_are_skipped() {
        let h = map(json!({ "authorization": "Bearer sk-a", "x-api-key": "sk-b" }));
        assert_eq!(extract_key(&h), Some("sk-a"));
        let h = map(json!({ "authorization": "Basic dXNlcjpwYXNz", "x-api-key": "sk-b" }));
        assert_eq!(extract_key(&h), Some("sk-b"));
        let h = map(json!({ "authorization": "Basic dXNlcjpwYXNz" }));
        assert_eq!(extract_key(&h), None);
        let h = map(json!({ "authorization": "Bearer" }));
        assert_eq!(extract_key(&h), Some(""));
        let h = map(json!({ "x-api-key": "" }));
        assert_eq!(extract_key(&h), Some(""));
        assert_eq!(extract_key(&map(json!({ "accept": "*/*" }))), None);
    }

    #[test]
    fn values_that_are_not_text_are_present_but_unusable() {
        let h = map(json!({ "x-api-key": 42 }));
        assert_eq!(extract_key(&h), Some(NOT_TEXT));
        let mut hm = http::HeaderMap::new();
        hm.insert(
            "x-api-key",
            http::HeaderValue::from_bytes(b"sk-\xff").unwrap(),
        );
        assert_eq!(extract_key(&hm), Some(NOT_TEXT));
    }

    #[test]
    fn token_events_accept_bare_or_bearer() {
        assert_eq!(token_from_authorization_token("Bearer sk-a"), "sk-a");
        assert_eq!(token_from_authorization_token(" sk-a "), "sk-a");
        assert_eq!(token_from_authorization_token(""), "");
    }
}
