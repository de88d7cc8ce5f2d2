//! Hostile input, as property tests (proptest) and hand-picked extremes:
//! - the token parser, the key extraction and the authorizer on arbitrary strings and events:
//!   no panic, and nothing but a real token is ever accepted;
//! - every handler (each route's function, and the dev server's dispatcher) on arbitrary
//!   methods, paths, query strings, headers (raw bytes included), bodies and authorizer
//!   contexts, built as lambda_http requests: no panic, never a 5xx, every refusal a
//!   problem+json with its status;
//! - bodies at and over 16 KiB, JSON nested 8,000 and 10,000 deep on a thread with a small
//!   stack (the parser's recursion limit answers 400, not a stack overflow), huge `limit`s;
//! - unicode names and searches — RTL marks, zero-width joiners, combining characters, 4-byte
//!   emoji at the 100-character boundary, NUL — through the handlers into the store and back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lambda_http::{Body, Request, RequestExt};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use shared::api;
use shared::authorizer::{presented_key, Authorizer, Decision, Presented};
use shared::clock::SystemClock;
use shared::store::{MemoryStore, Store};
use shared::token::{KeyKind, Token, TokenError, MAX_TOKEN_LEN};

use integration_tests::api::*;
use integration_tests::figures::Figures;

fn config(cases: u32) -> Config {
    Config {
        cases,
        // Failures are reported with their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Strings that have broken parsers before: empty, blanks, NUL and other controls, RTL and
/// zero-width marks, a lone combining mark, 4-byte emoji, number edge cases, path tricks.
const NASTY: &[&str] = &[
    "",
    " ",
    "\0",
    "a\0b",
    "\u{7f}",
    "\u{85}",
    "\u{202e}",
    "\u{200d}",
    "\u{feff}",
    "\u{301}",
    "\u{1F600}",
    "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "-1",
    "0",
    "1e3",
    "0x10",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "*",
    "\"1\"",
    "W/\"1\"",
    "../../etc/passwd",
    "%00",
    "%",
    "%zz",
    "&=&=",
    "sk-project-",
    "sk-team-AAAAAAAAAAAA_",
];

fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NASTY).prop_map(str::to_owned),
        3 => ".{0,40}",
        1 => "[ -~]{0,300}",
        1 => (1usize..5000).prop_map(|n| "9".repeat(n)),
    ]
}

// ---- the token parser and the authorizer ----------------------------------------------------

/// CRC32 (IEEE, reflected, as zlib and `crc32fast` compute it), bit by bit: the test's own,
/// so a checksum the parser gets wrong is not also the test's expectation.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The documented checksum: the CRC32 of everything before it, as 6 base62 digits, most
/// significant first.
fn expected_checksum(body: &str) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = u64::from(crc32(body.as_bytes()));
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = B62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

/// What the documented format says of a string, in the parser's order (kind tag, length,
/// separator, alphabet, checksum): for strings made by random edits and junk, whose class no
/// single step decides.
fn class_by_format(s: &str) -> Result<(), TokenError> {
    let rest = s
        .strip_prefix("sk-project-")
        .or_else(|| s.strip_prefix("sk-team-"))
        .ok_or(TokenError::Kind)?;
    let b = rest.as_bytes();
    if b.len() != 12 + 1 + 32 + 6 {
        return Err(TokenError::Length);
    }
    if b[12] != b'_' {
        return Err(TokenError::Separator);
    }
    if !b[..12].iter().chain(&b[13..]).all(u8::is_ascii_alphanumeric) {
        return Err(TokenError::Alphabet);
    }
    let (body, sum) = s.split_at(s.len() - 6);
    if expected_checksum(body) != sum {
        return Err(TokenError::Checksum);
    }
    Ok(())
}

/// How a string was made from an issued token (`body`: what follows its kind tag, 51
/// characters: prefix 0..12, `_` at 12, secret 13..45, checksum 45..51).
#[derive(Debug, Clone)]
enum Made {
    /// The token as issued.
    Issued,
    /// One character of the kind tag replaced.
    TagChar(usize, char),
    /// Junk that starts with no kind tag.
    NoTag(String),
    /// Characters inserted after the tag, or removed from the body, or the body cut short.
    Resized(usize, u8, String),
    /// The separator replaced by another one-byte character.
    Separator(char),
    /// A body character other than the separator replaced by a one-byte non-base62 one.
    OffAlphabet(usize, char),
    /// Body characters replaced by one multi-byte character of the same byte length.
    Wide(usize, char),
    /// A body character other than the separator replaced by another base62 character.
    Substituted(usize, u8),
    /// Two neighbouring characters of the prefix, the secret or the checksum swapped.
    Transposed(usize),
    /// The same body under the other kind's tag.
    Retagged,
    /// A fresh prefix and secret with a checksum of 6 random base62 characters.
    Forged(String, String),
    /// Up to three random edits (replace, insert, remove, cut) and junk, mixed.
    Edited(Vec<(usize, u8, char)>, String, u8),
}

const BASE62_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn made() -> impl Strategy<Value = Made> {
    let b62 = || prop::sample::select(BASE62_CHARS.to_vec());
    prop_oneof![
        1 => Just(Made::Issued),
        1 => (0usize..11, any::<char>()).prop_map(|(p, c)| Made::TagChar(p, c)),
        1 => nasty().prop_map(Made::NoTag),
        2 => (0usize..52, 0u8..3, "(.|[a-z0-9]){1,8}").prop_map(|(p, op, s)| Made::Resized(p, op, s)),
        1 => proptest::char::range('\0', '\u{7f}').prop_map(Made::Separator),
        2 => (0usize..51, proptest::char::range('\0', '\u{7f}'))
            .prop_map(|(p, c)| Made::OffAlphabet(p, c)),
        1 => (0usize..51, any::<char>()).prop_map(|(p, c)| Made::Wide(p, c)),
        2 => (0usize..51, b62()).prop_map(|(p, c)| Made::Substituted(p, c)),
        1 => (0usize..50).prop_map(Made::Transposed),
        1 => Just(Made::Retagged),
        1 => ("[0-9A-Za-z]{12}", "[0-9A-Za-z]{32}").prop_map(|(p, s)| Made::Forged(p, s)),
        3 => (
            prop::collection::vec((0usize..MAX_TOKEN_LEN + 2, 0u8..4, any::<char>()), 0..4),
            nasty(),
            0u8..3,
        )
            .prop_map(|(e, j, shape)| Made::Edited(e, j, shape)),
    ]
}

/// The string `made` describes, built from `token`, and the class it must be refused with
/// (`Ok(())`: it must parse) — derived from how it was made, not from the parser.
fn build_token_case(token: &Token, made: &Made) -> (String, Result<(), TokenError>) {
    use TokenError::*;
    let full = token.expose();
    let tag = token.kind().tag();
    let body: Vec<char> = full[tag.len()..].chars().collect();
    let text = |chars: &[char]| chars.iter().collect::<String>();
    match made {
        Made::Issued => (full.to_owned(), Ok(())),
        Made::TagChar(pos, c) => {
            let mut t: Vec<char> = tag.chars().collect();
            let pos = pos % t.len();
            if t[pos] == *c {
                return (full.to_owned(), Ok(()));
            }
            t[pos] = *c;
            (format!("{}{}", text(&t), text(&body)), Err(Kind))
        }
        Made::NoTag(junk) => {
            let s = if junk.starts_with("sk-project-") || junk.starts_with("sk-team-") {
                format!("x{junk}")
            } else {
                junk.clone()
            };
            (s, Err(Kind))
        }
        Made::Resized(pos, op, extra) => {
            let mut b = body.clone();
            let pos = pos % (b.len() + 1);
            match op {
                // inserted: at least one byte more
                0 => {
                    for (i, c) in extra.chars().enumerate() {
                        b.insert(pos + i, c);
                    }
                }
                // removed: 1 to 8 characters, at least one byte less
                1 => {
                    let start = pos.min(b.len() - 1);
                    let n = extra.chars().count().clamp(1, b.len() - start);
                    b.drain(start..start + n);
                }
                // cut short
                _ => b.truncate(pos.min(b.len() - 1)),
            }
            (format!("{tag}{}", text(&b)), Err(Length))
        }
        Made::Separator(c) => {
            let mut b = body.clone();
            if *c == '_' {
                return (full.to_owned(), Ok(()));
            }
            b[12] = *c;
            (format!("{tag}{}", text(&b)), Err(Separator))
        }
        Made::OffAlphabet(pos, c) => {
            let pos = if *pos == 12 { 13 } else { *pos };
            let mut b = body.clone();
            let c = if c.is_ascii_alphanumeric() { '-' } else { *c };
            b[pos] = c;
            (format!("{tag}{}", text(&b)), Err(Alphabet))
        }
        Made::Wide(pos, c) => {
            let c = if c.len_utf8() == 1 { 'é' } else { *c };
            let n = c.len_utf8();
            let pos = (*pos).min(body.len() - n);
            let mut b = body.clone();
            b.splice(pos..pos + n, [c]);
            // its bytes are not base62; the separator's place holds one of them if it was covered
            let class = if (pos..pos + n).contains(&12) { Separator } else { Alphabet };
            (format!("{tag}{}", text(&b)), Err(class))
        }
        Made::Substituted(pos, c) => {
            let pos = if *pos == 12 { 13 } else { *pos };
            let mut b = body.clone();
            let c = char::from(*c);
            if b[pos] == c {
                return (full.to_owned(), Ok(()));
            }
            // CRC32 detects every single-character change of what it covers; a changed
            // checksum character no longer matches it.
            b[pos] = c;
            (format!("{tag}{}", text(&b)), Err(Checksum))
        }
        Made::Transposed(pos) => {
            // neighbours within the prefix (0..12), the secret (13..45) or the checksum (45..51)
            let pos = match *pos {
                11..=12 => 13,
                44 => 43,
                p => p,
            };
            let mut b = body.clone();
            if b[pos] == b[pos + 1] {
                return (full.to_owned(), Ok(()));
            }
            // a swap of two neighbouring bytes is a burst of at most 16 bits: CRC32 sees it
            b.swap(pos, pos + 1);
            (format!("{tag}{}", text(&b)), Err(Checksum))
        }
        Made::Retagged => {
            let other = match token.kind() {
                KeyKind::Project => KeyKind::Team.tag(),
                KeyKind::Team => KeyKind::Project.tag(),
            };
            let s = format!("{other}{}", text(&body));
            let (data, sum) = s.split_at(s.len() - 6);
            let class = if expected_checksum(data) == sum { Ok(()) } else { Err(Checksum) };
            (s, class)
        }
        Made::Forged(prefix, secret) => {
            let data = format!("{tag}{prefix}_{secret}");
            let right = expected_checksum(&data);
            // a checksum that is not the right one: the right one rotated by a character
            let wrong: String = right
                .bytes()
                .map(|b| {
                    let i = BASE62_CHARS.iter().position(|x| *x == b).unwrap();
                    char::from(BASE62_CHARS[(i + 1 + secret.len() % 61) % 62])
                })
                .collect();
            (format!("{data}{wrong}"), Err(Checksum))
        }
        Made::Edited(edits, junk, shape) => {
            let mut chars: Vec<char> = full.chars().collect();
            for (pos, op, c) in edits {
                let pos = (*pos).min(chars.len());
                match op {
                    0 if pos < chars.len() => chars[pos] = *c,
                    1 => chars.insert(pos, *c),
                    2 if pos < chars.len() => {
                        chars.remove(pos);
                    }
                    _ => chars.truncate(pos),
                }
            }
            let edited = text(&chars);
            let s = match shape {
                0 => edited,
                1 => junk.clone(),
                _ => format!("{}{junk}", edited.chars().take(20).collect::<String>()),
            };
            let class = class_by_format(&s);
            (s, class)
        }
    }
}

#[test]
fn the_token_parser_accepts_exactly_the_tokens_it_issued() {
    let tried = AtomicUsize::new(0);
    let parsed = AtomicUsize::new(0);
    let must_parse = AtomicUsize::new(0);
    let by_class: std::sync::Mutex<BTreeMap<String, usize>> = Default::default();
    let strategy = (any::<bool>(), made(), nasty());
    TestRunner::new(config(10_000))
        .run(&strategy, |(team, made, junk)| {
            tried.fetch_add(1, Ordering::Relaxed);
            let kind = if team { KeyKind::Team } else { KeyKind::Project };
            let token = Token::generate(kind);
            let (input, want) = build_token_case(&token, &made);
            let got = Token::parse(&input);
            *by_class.lock().unwrap().entry(format!("{want:?}")).or_default() += 1;
            match want {
                Ok(()) => {
                    must_parse.fetch_add(1, Ordering::Relaxed);
                    let t = got.map_err(|e| {
                        TestCaseError::fail(format!("{made:?}: refused ({e}) though well-formed"))
                    })?;
                    parsed.fetch_add(1, Ordering::Relaxed);
                    prop_assert_eq!(t.expose(), input.as_str());
                    prop_assert_eq!(t.kind(), kind_of_tag(&input));
                    if input == token.expose() {
                        prop_assert_eq!(&t, &token);
                    }
                }
                Err(class) => {
                    if got.is_ok() {
                        parsed.fetch_add(1, Ordering::Relaxed);
                    }
                    prop_assert_eq!(got.map(|_| ()), Err(class), "{:?}", made);
                }
            }
            // Header extraction never panics, whatever surrounds the key: a Bearer credential is
            // the key, trimmed; beside an x-api-key it must be the same key, or nothing passes.
            let mut headers = Map::new();
            headers.insert("Authorization".into(), Value::from(format!("Bearer {input}")));
            prop_assert_eq!(presented_key(&headers), Presented::Key(input.trim()));
            headers.remove("Authorization");
            headers.insert("authorization".into(), Value::from(junk.clone()));
            headers.insert("X-API-KEY".into(), Value::from(input.clone()));
            // (a blank header carries nothing and so disagrees with nothing)
            let auth = Some(junk.as_str()).filter(|a| !a.trim().is_empty());
            let key = Some(input.trim()).filter(|k| !k.is_empty());
            let expected = match (auth, key) {
                (None, None) => Presented::Key(""),
                (None, Some(k)) => Presented::Key(k),
                (Some(a), None) => {
                    shared::authorizer::bearer(a).map_or(Presented::Nothing, Presented::Key)
                }
                (Some(a), Some(k)) if shared::authorizer::bearer(a) == Some(k) => Presented::Key(k),
                (Some(_), Some(_)) => Presented::Conflict,
            };
            prop_assert_eq!(presented_key(&headers), expected);
            Ok(())
        })
        .unwrap();
    let (tried, parsed, must_parse) = (
        tried.load(Ordering::Relaxed),
        parsed.load(Ordering::Relaxed),
        must_parse.load(Ordering::Relaxed),
    );
    let by_class = by_class.into_inner().unwrap();
    let figures = Figures::default();
    Figures::add(&figures.requests, tried);
    figures.report(
        "hostile input: token parser",
        &format!(
            "{parsed} of {tried} strings parsed, {must_parse} well-formed; by class {by_class:?}"
        ),
    );
    // Only well-formed tokens parse, and every one of them does.
    assert_eq!(parsed, must_parse, "strings parsed vs well-formed strings");
    // Every refusal class was met, each many times (10,000 cases): none is vacuous.
    for class in
        ["Ok(())", "Err(Kind)", "Err(Length)", "Err(Separator)", "Err(Alphabet)", "Err(Checksum)"]
    {
        let n = by_class.get(class).copied().unwrap_or(0);
        assert!(n >= 200, "{class}: only {n} cases: {by_class:?}");
    }
}

/// The kind a well-formed token's tag names.
fn kind_of_tag(s: &str) -> KeyKind {
    if s.starts_with("sk-team-") {
        KeyKind::Team
    } else {
        KeyKind::Project
    }
}

/// The stored form of a key, known answers: a fixed token (its checksum computed with Python's
/// `zlib.crc32`) and its SHA-256 from `printf %s TOKEN | sha256sum`.
#[test]
fn a_known_token_is_stored_as_its_known_sha256() {
    let text = "sk-project-AbCdEfGhIjKl_0123456789ABCDEFGHIJKLMNOPQRSTUV2iVI0R";
    assert_eq!(expected_checksum(&text[..text.len() - 6]), "2iVI0R");
    let token = Token::parse(text).expect("a well-formed token");
    let sha256 = "53ab3257ecef3399e395e25a67cd6717aa8af3cbf38fd15185d50649f7eab3d8";
    assert_eq!(token.hash().as_str(), sha256);
    let (mut key, _) = project_key(TEAM, "p1", &[]);
    key.prefix = token.prefix().clone();
    key.secret_hash = token.hash();
    assert_eq!(
        shared::store::dynamo::item::to_item(&key)["secretHash"].as_s().ok().map(String::as_str),
        Some(sha256),
        "the item DynamoDB stores"
    );
}

/// Where the real key travels in an event that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    XApiKey,
    AuthorizationBearer,
    AuthorizationToken,
}

/// An authorizer event assembled from random pieces: any format marker, any headers, any
/// token, any method ARN — and sometimes the real key in one place a key may travel. With it:
/// whether the event must be allowed — exactly when its format reads that place and, for a
/// policy, its method ARN names a stage (derived from how the event was made).
fn authorizer_event() -> impl Strategy<Value = (Value, Option<Place>, bool)> {
    // (marker, reads headers, reads authorizationToken, answers with a policy)
    let marker = prop_oneof![
        Just((json!({"version": "2.0", "type": "REQUEST"}), true, false, false)),
        Just((json!({"type": "TOKEN"}), false, true, true)),
        Just((json!({"type": "REQUEST"}), true, false, true)),
        Just((json!({"version": "1.0", "type": "REQUEST"}), true, false, true)),
        nasty()
            .prop_filter("not a format marker", |s| {
                !matches!(s.as_str(), "2.0" | "TOKEN" | "REQUEST")
            })
            .prop_map(|s| (json!({"version": s, "type": s}), false, false, false)),
        Just((json!({"version": 2, "type": ["TOKEN"]}), false, false, false)),
    ];
    // (ARN, names a stage)
    let arn = prop_oneof![
        Just(("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/x".to_owned(), true)),
        Just(("arn:aws:execute-api:us-east-1:123456789012:abc123".to_owned(), false)),
        nasty()
            .prop_filter("not an execute-api ARN", |s| !s.contains("execute-api"))
            .prop_map(|s| (s, false)),
    ];
    let header_value = prop_oneof![
        nasty().prop_map(Value::from),
        Just(Value::Null),
        Just(json!(7)),
        Just(json!(["a"]))
    ];
    let place = prop_oneof![
        Just(Place::XApiKey),
        Just(Place::AuthorizationBearer),
        Just(Place::AuthorizationToken),
    ];
    (
        marker,
        arn,
        prop::collection::btree_map(
            prop_oneof![
                Just("authorization".to_owned()),
                Just("Authorization".to_owned()),
                Just("x-api-key".to_owned()),
                "[a-zA-Z-]{1,12}"
            ],
            header_value,
            0..4,
        ),
        nasty(),
        any::<bool>(),
        place,
    )
        .prop_map(
            |(
                (mut event, headers_read, token_read, policy),
                (arn, stage),
                headers,
                token,
                real,
                place,
            )| {
                event["methodArn"] = Value::from(arn.clone());
                event["routeArn"] = Value::from(arn);
                event["headers"] = Value::Object(headers.into_iter().collect());
                event["authorizationToken"] = Value::from(token);
                let place = real.then_some(place);
                let reads = match place {
                    Some(Place::XApiKey | Place::AuthorizationBearer) => headers_read,
                    Some(Place::AuthorizationToken) => token_read,
                    None => false,
                };
                (event, place, reads && (stage || !policy))
            },
        )
}

#[test]
fn the_authorizer_never_allows_what_is_not_a_key() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = integration_tests::memory_store();
    let (key, token) = project_key(TEAM, "p1", &[]);
    rt.block_on(store_put(&store, &key));
    let auth = Authorizer::new(store, Arc::new(SystemClock), std::time::Duration::ZERO);
    let figures = Figures::default();
    let allowed_real = AtomicUsize::new(0);
    let refused_real = AtomicUsize::new(0);
    TestRunner::new(config(2_000))
        .run(&(authorizer_event(), nasty()), |((mut event, place, must_allow), junk)| {
            Figures::add(&figures.requests, 2);
            // The real key in one place, alone: no other header that could carry a key.
            if let Some(place) = place {
                let headers = event["headers"].as_object_mut().unwrap();
                headers.retain(|k, _| {
                    !k.eq_ignore_ascii_case("authorization") && !k.eq_ignore_ascii_case("x-api-key")
                });
                match place {
                    Place::XApiKey => {
                        headers.insert("x-api-key".into(), Value::from(token.expose()));
                    }
                    Place::AuthorizationBearer => {
                        headers.insert(
                            "Authorization".into(),
                            Value::from(format!("Bearer {}", token.expose())),
                        );
                    }
                    Place::AuthorizationToken => {
                        event["authorizationToken"] = Value::from(token.expose());
                    }
                }
            }
            let (decision, answer) = rt.block_on(async {
                (auth.decide(Some(&junk)).await, auth.handle(event.clone()).await)
            });
            prop_assert!(!matches!(decision, Ok(Decision::Allow(_))), "{junk:?} was allowed");
            let allowed = answer.as_ref().is_ok_and(|v| {
                v["isAuthorized"] == true
                    || v["policyDocument"]["Statement"][0]["Effect"] == "Allow"
            });
            // allowed exactly when the format reads the place the real key is in
            prop_assert_eq!(
                allowed,
                must_allow,
                "{} ({:?}): {:?}",
                event,
                place,
                answer.map_err(|e| e.to_string())
            );
            if place.is_some() {
                if allowed {
                    allowed_real.fetch_add(1, Ordering::Relaxed);
                } else {
                    refused_real.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(())
        })
        .unwrap();
    rt.block_on(auth.flush());
    let allowed_real = allowed_real.load(Ordering::Relaxed);
    let refused_real = refused_real.load(Ordering::Relaxed);
    figures.report(
        "hostile input: authorizer",
        &format!(
            "no panic, 0 allows of anything but the key ({allowed_real} allows of the real key \
             where the event's format reads it, {refused_real} refusals where it does not)"
        ),
    );
    assert!(allowed_real > 0, "the real key was never allowed");
    assert!(refused_real > 0, "the real key was never in a place its format ignores");
}

async fn store_put(store: &MemoryStore, key: &shared::ApiKey) {
    use shared::store::KeyWriter;
    store.create(key, &shared::testing::audit_of(key)).await.unwrap();
}

// ---- every handler on arbitrary requests ------------------------------------------------------

#[derive(Debug, Clone)]
enum CallerPick {
    None,
    Key(usize),
    /// A caller's authorizer context with some members replaced by (or added as) random values.
    Mutated(usize, BTreeMap<String, Value>),
}

#[derive(Debug, Clone)]
enum BodyPick {
    None,
    Json(Value),
    Text(String),
    /// Bytes that need not be UTF-8 (only a directly built request can carry them).
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Input {
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    raw_headers: Vec<(String, Vec<u8>)>,
    prefix_param: Option<String>,
    body: BodyPick,
    caller: CallerPick,
}

const METHODS: &[&str] = &["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD"];
const FIELDS: &[&str] = &[
    "name", "description", "keyType", "projectId", "userId", "roles", "labels", "isHighPriority",
    "webhookUrl", "expiresAt", "status", "gracePeriodSeconds", "prefix", "key", "version", "hash",
    "account", "accountId",
];
const PARAMS: &[&str] = &["projectId", "keyType", "status", "search", "limit", "cursor", "x"];
const CONTEXT: &[&str] = &[
    "keyPrefix", "keyName", "keyType", "accountId", "projectId", "userId", "roles", "labels",
    "isHighPriority", "webhookUrl", "origin",
];

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes only what a URI's query cannot carry at all, leaving `&`, `=`, `%` (so
/// `%zz` and a lone `%` arrive as they are), `+`, `;` and friends raw. (lambda_http 1.3.2
/// panics building the request when API Gateway's raw query string holds characters `http::Uri`
/// refuses, before any handler runs; clients cannot send those unencoded anyway.)
fn loose(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "&=%+-._~!$'()*,;:@/?".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty().prop_map(Value::from),
        "[A-Za-z0-9:_.*-]{1,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![prop::sample::select(FIELDS).prop_map(str::to_owned), nasty()],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: mostly an object of the routes' own field names with values of any type, often a
/// valid one with a field or two changed.
fn body() -> impl Strategy<Value = BodyPick> {
    let valid = prop_oneof![
        Just(json!({"name": "fuzzed", "projectId": "p1"})),
        Just(json!({"name": "fuzzed", "userId": "fuzz-user"})),
        Just(json!({"name": "renamed", "labels": ["a"], "roles": ["jobs:run"]})),
        Just(json!({"status": "Disabled"})),
        Just(json!({"gracePeriodSeconds": 30})),
        Just(json!({})),
    ];
    let changed = (
        valid,
        prop::collection::btree_map(
            prop::sample::select(FIELDS).prop_map(str::to_owned),
            json_value(),
            0..3,
        ),
    )
        .prop_map(|(mut base, changes)| {
            for (k, v) in changes {
                base[k] = v;
            }
            BodyPick::Json(base)
        });
    prop_oneof![
        1 => Just(BodyPick::None),
        4 => changed,
        4 => prop::collection::btree_map(prop::sample::select(FIELDS).prop_map(str::to_owned), json_value(), 0..6)
            .prop_map(|m| BodyPick::Json(Value::Object(m.into_iter().collect()))),
        2 => json_value().prop_map(BodyPick::Json),
        1 => nasty().prop_map(BodyPick::Text),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(BodyPick::Bytes),
    ]
}

fn input(prefixes: Vec<String>, keys: usize) -> impl Strategy<Value = Input> {
    let known = prop::sample::select(prefixes);
    let path = prop_oneof![
        Just("/keys".to_owned()),
        Just("/keys/".to_owned()),
        known.clone().prop_map(|p| format!("/keys/{p}")),
        known.prop_map(|p| format!("/keys/{p}/replace")),
        nasty().prop_map(|s| format!("/keys/{}", pct(&s))),
        nasty().prop_map(|s| format!("/keys/{}/replace", pct(&s))),
        (nasty(), nasty()).prop_map(|(a, b)| format!("/{}/{}", pct(&a), pct(&b))),
    ];
    let query = prop::collection::vec(
        (
            prop_oneof![prop::sample::select(PARAMS).prop_map(str::to_owned), nasty()],
            nasty(),
            any::<bool>(),
        ),
        0..5,
    )
    .prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v, encode)| {
                if *encode {
                    format!("{}={}", pct(k), pct(v))
                } else {
                    // Barely encoded: '&', '=', '%' as they come.
                    format!("{}={}", loose(k), loose(v))
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let header_name = prop_oneof![
        Just("content-type".to_owned()),
        Just("if-match".to_owned()),
        Just("authorization".to_owned()),
        "[a-z][a-z0-9-]{0,15}",
    ];
    let header_value = prop_oneof![
        prop::sample::select(
            &[
                "application/json",
                "application/json; charset=utf-8",
                "application/problem+json",
                "APPLICATION/JSON",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "\"1\"",
                "W/\"1\", \"2\"",
                "*",
                "\"99999999999999999999999\"",
            ][..]
        )
        .prop_map(str::to_owned),
        "[ -~]{0,60}",
    ];
    let raw_header = (
        prop_oneof![Just("content-type".to_owned()), Just("if-match".to_owned())],
        prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..20),
    );
    let caller = prop_oneof![
        1 => Just(CallerPick::None),
        5 => (0..keys).prop_map(CallerPick::Key),
        2 => (
            0..keys,
            prop::collection::btree_map(
                prop_oneof![prop::sample::select(CONTEXT).prop_map(str::to_owned), nasty()],
                prop_oneof![
                    nasty().prop_map(Value::from),
                    "[A-Za-z0-9:_.*,-]{0,40}".prop_map(Value::from),
                    json_value()
                ],
                1..4
            )
        )
            .prop_map(|(i, m)| CallerPick::Mutated(i, m)),
    ];
    (
        prop::sample::select(METHODS),
        path,
        query,
        prop::collection::vec((header_name, header_value), 0..4),
        prop::collection::vec(raw_header, 0..2),
        prop::option::weighted(0.1, nasty()),
        body(),
        caller,
    )
        .prop_map(|(method, path, query, headers, raw_headers, prefix_param, body, caller)| {
            Input { method, path, query, headers, raw_headers, prefix_param, body, caller }
        })
}

/// The request, as API Gateway would deliver it, then altered the ways only a directly built
/// request can be (raw header bytes, a non-UTF-8 body, a path parameter API Gateway would not
/// extract). `None` when lambda_http itself refuses the event (the Lambda runtime would fail the
/// invocation before any handler ran).
fn build(input: &Input, callers: &[shared::ApiKey]) -> Option<Request> {
    let mut call = Call::new(input.method, input.path.clone()).query(&input.query);
    for (k, v) in &input.headers {
        call = call.header(k, v);
    }
    match &input.body {
        // JSON is labelled as such (a random content-type header may still replace it).
        BodyPick::Json(v) => call = call.raw(Some("application/json"), &v.to_string()),
        BodyPick::Text(t) => call = call.raw(None, t),
        BodyPick::None | BodyPick::Bytes(_) => {}
    }
    match &input.caller {
        CallerPick::Key(i) | CallerPick::Mutated(i, _) => call = call.by(&callers[*i]),
        CallerPick::None => {}
    }
    let mut event = call.event();
    if let CallerPick::Mutated(_, changes) = &input.caller {
        for (k, v) in changes {
            event["requestContext"]["authorizer"]["lambda"][k] = v.clone();
        }
    }
    // lambda_http panics on some events it cannot turn into a URI: that is the runtime's
    // failure before any handler runs (an invocation error), not ours.
    let text = event.to_string();
    let mut req = std::panic::catch_unwind(|| lambda_http::request::from_str(&text)).ok()?.ok()?;
    for (name, bytes) in &input.raw_headers {
        if let (Ok(n), Ok(v)) =
            (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(bytes))
        {
            req.headers_mut().append(n, v);
        }
    }
    if let BodyPick::Bytes(b) = &input.body {
        *req.body_mut() = Body::Binary(b.clone());
    }
    if let Some(p) = &input.prefix_param {
        req = req.with_path_parameters(
            [("prefix".to_owned(), vec![p.clone()])]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        );
    }
    Some(req)
}

fn check(route: &str, answer: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(answer.status < 500, "{route}: {} {}", answer.status, answer.text);
    if answer.status >= 400 {
        prop_assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "{}",
            route
        );
        prop_assert_eq!(answer.body["status"].as_u64(), Some(answer.status as u64), "{}", route);
    } else if answer.status != 204 {
        prop_assert_eq!(answer.header("content-type"), Some("application/json"), "{}", route);
    }
    Ok(())
}

#[test]
fn every_handler_answers_arbitrary_requests_without_panic_or_5xx() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let api = Api::new(integration_tests::memory_store());
    let team = rt.block_on(Team::seed(&api));
    let (svc, _) = project_key(TEAM, "p1", &["project-admin:p1"]);
    let (target, _) = project_key(TEAM, "p1", &["jobs:run"]);
    rt.block_on(async {
        api.put(&svc).await;
        api.put(&target).await;
    });
    let callers = vec![
        team.admin.clone(),
        team.pa_p1.clone(),
        team.pm_p1.clone(),
        team.user1.clone(),
        team.stranger.clone(),
        svc.clone(),
    ];
    let prefixes: Vec<String> =
        callers.iter().chain([&target]).map(|k| k.prefix.as_str().to_owned()).collect();
    let figures = Figures::default();
    let undeliverable = AtomicUsize::new(0);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let statuses_cell = std::cell::RefCell::new(&mut statuses);
    TestRunner::new(config(1_500))
        .run(&input(prefixes, callers.len()), |input| {
            // Each route's own function gets the request, whatever its route, and so does the
            // dev server's dispatcher.
            for route in ["create", "list", "replace", "update", "delete", "dispatch"] {
                let Some(req) = build(&input, &callers) else {
                    undeliverable.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                };
                let state = &api.state;
                let answer = rt.block_on(async {
                    let r = match route {
                        "create" => api::serve::<_, api::CreateKey>(state, req).await,
                        "list" => api::serve::<_, api::ListKeys>(state, req).await,
                        "replace" => api::serve::<_, api::ReplaceKey>(state, req).await,
                        "update" => api::serve::<_, api::UpdateKey>(state, req).await,
                        "delete" => api::serve::<_, api::DeleteKey>(state, req).await,
                        _ => api::dispatch(state, req).await,
                    };
                    Answer::from(r.unwrap_or_else(|e| match e {}))
                });
                figures.answer(&answer);
                *statuses_cell.borrow_mut().entry(answer.status).or_default() += 1;
                check(route, &answer)?;
            }
            Ok(())
        })
        .unwrap();
    let undeliverable = undeliverable.load(Ordering::Relaxed);
    figures.report(
        "hostile input: handlers",
        &format!("{undeliverable} inputs lambda_http itself refused; statuses {statuses:?}"),
    );
    assert_eq!(Figures::get(&figures.server_errors), 0);
    assert!(Figures::get(&figures.requests) > 8_000, "too few requests reached the handlers");
    // Not every request was refused: the generator reaches the handlers' success paths.
    assert!(statuses.keys().any(|s| *s < 300), "{statuses:?}");
}

// ---- sizes and depths ---------------------------------------------------------------------------

/// Runs `f` on a thread with a 512 KiB stack (a quarter of a tokio worker's), where parsing
/// 8,000 levels with unbounded recursion (hundreds of bytes a level) would overflow.
fn on_a_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the small-stack thread panicked")
}

#[test]
fn deep_json_is_a_400_and_big_bodies_a_413_even_on_a_small_stack() {
    let figures = Figures::default();
    let n = on_a_small_stack(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let api = Api::new(integration_tests::memory_store());
            let team = Team::seed(&api).await;
            let (k, _) = p1_key(&api, &[]).await;
            let arrays = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
            let objects = |n: usize| format!("{}1{}", "{\"\":".repeat(n), "}".repeat(n));
            let mut sent = 0;
            let expect = |call: Call, want: u16, what: &str| {
                let api = &api;
                let what = what.to_owned();
                async move {
                    let a = api.send(call).await;
                    assert_eq!(a.status, want, "{what}: {}", a.text);
                    assert_eq!(a.header("content-type"), Some("application/problem+json"));
                }
            };
            for (method, p) in
                [("POST", "/keys".to_owned()), ("PATCH", path(&k)), ("POST", replace_path(&k))]
            {
                let call = |body: &str| {
                    Call::new(method, p.clone()).by(&team.admin).raw(Some("application/json"), body)
                };
                // 10,000 nested arrays are 20,000 bytes: over the limit before any parsing.
                expect(call(&arrays(10_000)), 413, "10,000 nested arrays").await;
                // 8,000 (16,000 bytes) and 3,000 objects are parsed, and refused at depth 128.
                expect(call(&arrays(8_000)), 400, "8,000 nested arrays").await;
                expect(call(&objects(3_000)), 400, "3,000 nested objects").await;
                let in_a_field = format!("{{\"name\": \"x\", \"roles\": {}}}", arrays(5_000));
                expect(call(&in_a_field), 400, "5,000 nested arrays in a field").await;
                // One byte over 16 KiB of otherwise fine JSON.
                let over = format!("{{}}{}", " ".repeat(16 * 1024 - 1));
                expect(call(&over), 413, "16 KiB + 1").await;
                sent += 5;
            }
            // Exactly 16 KiB is accepted.
            let pad = |s: String| format!("{s}{}", " ".repeat(16 * 1024 - s.len()));
            for (call, want) in [
                (
                    Call::new("POST", "/keys").raw(
                        Some("application/json"),
                        &pad(json!({"name": "big", "projectId": "p1"}).to_string()),
                    ),
                    201,
                ),
                (
                    Call::new("PATCH", path(&k))
                        .raw(Some("application/json"), &pad(json!({"name": "bigger"}).to_string())),
                    200,
                ),
                (
                    Call::new("POST", replace_path(&k))
                        .raw(Some("application/json"), &pad("{}".to_owned())),
                    200,
                ),
            ] {
                let a = api.send(call.by(&team.admin)).await;
                assert_eq!(a.status, want, "16 KiB exactly: {}", a.text);
                sent += 1;
            }
            sent
        })
    });
    Figures::add(&figures.requests, n);
    figures.report(
        "hostile input: deep and big bodies",
        "deep JSON 400, > 16 KiB 413, on a 512 KiB stack",
    );
}

async fn huge_and_odd_limits<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let figures = Figures::default();
    for (q, want) in [
        ("limit=100", 200),
        ("limit=1", 200),
        ("limit=101", 400),
        ("limit=0", 400),
        ("limit=-1", 400),
        ("limit=18446744073709551616", 400),
        ("limit=99999999999999999999999999999999999999999999999999", 400),
        ("limit=1e2", 400),
        ("limit=%205", 400),
        ("limit=5abc", 400),
        ("limit=", 400),
        ("limit=5&limit=6", 400),
        ("cursor=", 400),
        ("cursor=AAAA", 400),
        ("search=%00", 400),
    ] {
        let a = api.list(&team.admin, q).await;
        figures.answer(&a);
        assert_eq!(a.status, want, "{q}: {}", a.text);
    }
    let long_cursor = format!("cursor={}", "A".repeat(5000));
    let a = api.list(&team.admin, &long_cursor).await;
    figures.answer(&a);
    assert_eq!(a.status, 400);
    figures.report("hostile input: limits and cursors", "");
    assert_eq!(Figures::get(&figures.server_errors), 0);
}

// ---- unicode ------------------------------------------------------------------------------------

async fn unicode_names_and_searches<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let figures = Figures::default();
    let emoji = "\u{1F600}";
    let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}"; // 7 chars
    let accepted = [
        format!("{}{emoji}", "a".repeat(99)), // 100 chars, 103 bytes
        emoji.repeat(100),                    // 100 chars, 400 bytes
        format!("e{}", "\u{301}".repeat(99)), // combining marks
        format!("{}xy", family.repeat(14)),   // ZWJ sequences
        "\u{202E}evil\u{200F}name\u{202C}".to_owned(), // RTL override and mark
        "zero\u{200B}width\u{200D}joiner\u{2060}".to_owned(),
        "\u{FEFF}bom".to_owned(),
        "\u{130}stanbul \u{1E9E} SS".to_owned(), // case mappings that grow
        "\u{FFFF}\u{10FFFF}".to_owned(),         // non-characters
    ];
    let refused = [
        format!("{}{emoji}", "a".repeat(100)), // 101 chars
        emoji.repeat(101),
        format!("e{}", "\u{301}".repeat(100)),
        "a\u{0}b".to_owned(),
        "bell\u{7}".to_owned(),
        "next\u{85}line".to_owned(),
        "\u{2003}\u{3000}".to_owned(), // only (unicode) blanks
    ];
    let mut made = Vec::new();
    for name in &accepted {
        let a = api.create(&team.admin, json!({"name": name, "projectId": "uni"})).await;
        figures.answer(&a);
        assert_eq!(a.status, 201, "{name:?}: {}", a.text);
        assert_eq!(a.body["name"], name.as_str());
        let prefix = a.body["prefix"].as_str().unwrap().to_owned();
        let got =
            api.send(Call::new("GET", format!("/keys/{prefix}")).by(&team.admin)).await.expect(200);
        assert_eq!(got.body["name"], name.as_str(), "stored and read back byte for byte");
        made.push((name.clone(), prefix));
    }
    for name in &refused {
        let a = api.create(&team.admin, json!({"name": name, "projectId": "uni"})).await;
        figures.answer(&a);
        assert_eq!(a.status, 400, "{name:?}: {}", a.text);
        assert_eq!(a.error_fields(), ["name"]);
    }
    // A lone surrogate is not JSON text.
    let a = api
        .send(
            Call::new("POST", "/keys")
                .by(&team.admin)
                .raw(Some("application/json"), r#"{"name": "\ud800", "projectId": "uni"}"#),
        )
        .await;
    figures.answer(&a);
    assert_eq!(a.status, 400);
    // Searches: a substring of each accepted name finds it (case-insensitively where case
    // exists); odd searches never fail.
    let search = |needle: &str| {
        Call::new("GET", "/keys")
            .query(&format!("projectId=uni&limit=100&search={}", pct(needle)))
            .by(&team.admin)
    };
    for (name, prefix) in &made {
        let chars: Vec<char> = name.chars().collect();
        let needle: String = chars[chars.len() / 2..].iter().collect::<String>().to_uppercase();
        let a = api.send(search(&needle)).await;
        figures.answer(&a);
        assert_eq!(a.status, 200, "{needle:?}: {}", a.text);
        let found =
            a.body["items"].as_array().unwrap().iter().any(|k| k["prefix"] == prefix.as_str());
        // Upper-casing and lower-casing again is not always the identity (e.g. U+0130).
        if needle.to_lowercase()
            == chars[chars.len() / 2..].iter().collect::<String>().to_lowercase()
        {
            assert!(found, "search {needle:?} did not find {name:?}");
        }
    }
    for needle in [
        emoji.repeat(100),
        "\u{202E}".to_owned(),
        "\u{200D}".to_owned(),
        "\u{301}".to_owned(),
        "%".to_owned(),
        "_".to_owned(),
        "*".to_owned(),
    ] {
        let a = api.send(search(&needle)).await;
        figures.answer(&a);
        assert_eq!(a.status, 200, "{needle:?}: {}", a.text);
    }
    for needle in [emoji.repeat(101), "\u{0}".to_owned(), "\u{1b}[31m".to_owned()] {
        let a = api.send(search(&needle)).await;
        figures.answer(&a);
        assert_eq!(a.status, 400, "{needle:?}: {}", a.text);
    }
    figures.report(
        "hostile input: unicode",
        &format!(
            "{} names accepted and read back exactly, {} refused",
            accepted.len(),
            refused.len()
        ),
    );
    assert_eq!(Figures::get(&figures.server_errors), 0);
}

integration_tests::on_both_stores!(huge_and_odd_limits, unicode_names_and_searches);
