//! Where a key travels: `Authorization: Bearer <key>` or `x-api-key: <key>` (header names in
//! any case, whatever shape the headers arrive in), or the identity source values API Gateway
//! hands an HTTP API authorizer.
//!
//! The key must come from exactly the place API Gateway caches on. Where two places could carry
//! it, they must agree: `Authorization: Bearer k` beside `x-api-key: k` is the key `k`; any other
//! pair (two different keys, or another `Authorization` scheme beside `x-api-key`) is refused,
//! never guessed — otherwise a dummy value in the cached header and a real key in the other
//! would have API Gateway cache an allow for everyone who sends that dummy.

use std::collections::HashMap;
use std::hash::BuildHasher;

use serde_json::Value;

/// Stands in for a header value that is not valid UTF-8: it can never parse as a token, so
/// such a key is refused as malformed rather than treated as absent.
pub(crate) const NOT_TEXT: &str = "\u{fffd}";

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
        self.iter().find(|(k, _)| k.eq_ignore_ascii_case(lowercase_name)).map(|(_, v)| v.as_str())
    }
}

/// What a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// No key at all (no header, or only an `Authorization` of another scheme).
    Nothing,
    /// One key, trimmed; `""` when the header is there but empty (treated as no key).
    Key(&'a str),
    /// Two places disagree: refused.
    Conflict,
}

impl<'a> Presented<'a> {
    pub fn key(self) -> Option<&'a str> {
        match self {
            Presented::Key(k) => Some(k),
            _ => None,
        }
    }
}

/// The key the headers present: `Authorization: Bearer <key>` and `x-api-key: <key>`, which
/// must agree when both are there.
pub fn presented_key<H: Headers + ?Sized>(headers: &H) -> Presented<'_> {
    let raw_authorization = headers.header("authorization");
    let raw_api_key = headers.header("x-api-key").map(str::trim);
    // A header that is there but blank carries nothing (and so disagrees with nothing).
    let authorization = raw_authorization.filter(|v| !v.trim().is_empty());
    let api_key = raw_api_key.filter(|v| !v.is_empty());
    match (authorization, api_key) {
        (None, None) if raw_authorization.is_some() || raw_api_key.is_some() => Presented::Key(""),
        (None, None) => Presented::Nothing,
        (None, Some(k)) => Presented::Key(k),
        (Some(a), None) => bearer(a).map_or(Presented::Nothing, Presented::Key),
        (Some(a), Some(k)) => match bearer(a) {
            Some(b) if b == k => Presented::Key(k),
            _ => Presented::Conflict,
        },
    }
}

/// The key an HTTP API's identity source values present (`identitySource`: one value per
/// source the authorizer lists, in order): each value is the key, or `Bearer <key>`; all must
/// agree. `None` when the event carries no identity source (an authorizer without one).
pub fn identity_source_key<'a>(values: &[&'a str]) -> Option<Presented<'a>> {
    let mut keys = values.iter().map(|v| token_from_authorization_token(v));
    let first = keys.next()?;
    Some(if keys.all(|k| k == first) { Presented::Key(first) } else { Presented::Conflict })
}

/// The credential of a `Bearer` authorization value (scheme matched case-insensitively).
pub fn bearer(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((value, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// What a REST `TOKEN` event carries (or an identity source value): the header's raw value,
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
        assert_eq!(presented_key(&h), Presented::Key("sk-x"));
        let h = map(json!({ "Authorization": "Bearer   sk-x  " }));
        assert_eq!(presented_key(&h), Presented::Key("sk-x"));
        let h = map(json!({ "X-Api-Key": " sk-y " }));
        assert_eq!(presented_key(&h), Presented::Key("sk-y"));
        let mut hm = http::HeaderMap::new();
        hm.insert("X-API-KEY", "sk-z".parse().unwrap());
        assert_eq!(presented_key(&hm), Presented::Key("sk-z"));
        let mut plain = HashMap::new();
        plain.insert("x-Api-key".to_owned(), "sk-w".to_owned());
        assert_eq!(presented_key(&plain), Presented::Key("sk-w"));
    }

    #[test]
    fn two_places_must_agree() {
        let h = map(json!({ "authorization": "Bearer sk-a", "x-api-key": "sk-a" }));
        assert_eq!(presented_key(&h), Presented::Key("sk-a"));
        let h = map(json!({ "authorization": "Bearer sk-a", "x-api-key": "sk-b" }));
        assert_eq!(presented_key(&h), Presented::Conflict);
        let h = map(json!({ "authorization": "Basic dXNlcjpwYXNz", "x-api-key": "sk-b" }));
        assert_eq!(presented_key(&h), Presented::Conflict);
        let h = map(json!({ "authorization": "ApiKey x", "x-api-key": "sk-b" }));
        assert_eq!(presented_key(&h), Presented::Conflict);
        let h = map(json!({ "authorization": "Basic dXNlcjpwYXNz" }));
        assert_eq!(presented_key(&h), Presented::Nothing);
        let h = map(json!({ "authorization": "Bearer" }));
        assert_eq!(presented_key(&h), Presented::Key(""));
        let h = map(json!({ "x-api-key": "" }));
        assert_eq!(presented_key(&h), Presented::Key(""));
        let h = map(json!({ "authorization": "Bearer sk-a", "x-api-key": "" }));
        assert_eq!(presented_key(&h), Presented::Key("sk-a"));
        let h = map(json!({ "authorization": " ", "x-api-key": "sk-b" }));
        assert_eq!(presented_key(&h), Presented::Key("sk-b"));
        assert_eq!(presented_key(&map(json!({ "accept": "*/*" }))), Presented::Nothing);
    }

    #[test]
    fn identity_source_values_must_agree() {
        assert_eq!(identity_source_key(&[]), None);
        assert_eq!(identity_source_key(&["Bearer k"]), Some(Presented::Key("k")));
        assert_eq!(identity_source_key(&["k"]), Some(Presented::Key("k")));
        assert_eq!(identity_source_key(&["Bearer k", "k"]), Some(Presented::Key("k")));
        assert_eq!(identity_source_key(&["Bearer k", "j"]), Some(Presented::Conflict));
        assert_eq!(identity_source_key(&["ApiKey x"]), Some(Presented::Key("ApiKey x")));
    }

    #[test]
    fn values_that_are_not_text_are_present_but_unusable() {
        let h = map(json!({ "x-api-key": 42 }));
        assert_eq!(presented_key(&h), Presented::Key(NOT_TEXT));
        let mut hm = http::HeaderMap::new();
        hm.insert("x-api-key", http::HeaderValue::from_bytes(b"sk-\xff").unwrap());
        assert_eq!(presented_key(&hm), Presented::Key(NOT_TEXT));
    }

    #[test]
    fn token_events_accept_bare_or_bearer() {
        assert_eq!(token_from_authorization_token("Bearer sk-a"), "sk-a");
        assert_eq!(token_from_authorization_token(" sk-a "), "sk-a");
        assert_eq!(token_from_authorization_token(""), "");
    }
}
