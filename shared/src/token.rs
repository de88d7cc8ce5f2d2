//! API key tokens: generation from the OS CSPRNG, strict parsing, checksum, hashing, preview.
//!
//! Shape: `sk-<kind>-<prefix>_<secret><checksum>` where `kind` is `project` or `team`, `prefix`
//! is 12 base62 characters (the key's public id), `secret` is 32 base62 characters (≈190 bits)
//! and `checksum` is the CRC32 of everything before it, as 6 base62 characters.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The base62 alphabet, in ASCII order.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const PREFIX_LEN: usize = 12;
pub const SECRET_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;
/// The longest token there is (`sk-project-` + body), for cheap early length checks.
pub const MAX_TOKEN_LEN: usize = "sk-project-".len() + PREFIX_LEN + 1 + SECRET_LEN + CHECKSUM_LEN;

/// Which kind of key a token belongs to; the tag is part of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A project key (`keyType: "system"`), the project's service account.
    Project,
    /// A team key (`keyType: "user"`), one user's key in one team.
    Team,
}

impl KeyKind {
    pub fn tag(self) -> &'static str {
        match self {
            KeyKind::Project => "sk-project-",
            KeyKind::Team => "sk-team-",
        }
    }
    /// The `keyType` value of the key object.
    pub fn key_type(self) -> &'static str {
        match self {
            KeyKind::Project => "system",
            KeyKind::Team => "user",
        }
    }
    pub fn from_key_type(s: &str) -> Option<Self> {
        match s {
            "system" => Some(KeyKind::Project),
            "user" => Some(KeyKind::Team),
            _ => None,
        }
    }
}

/// Why a string is not a token. Never carries the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("unknown key kind tag")]
    Kind,
    #[error("wrong length")]
    Length,
    #[error("character outside the base62 alphabet")]
    Alphabet,
    #[error("missing separator")]
    Separator,
    #[error("checksum mismatch")]
    Checksum,
}

/// A key's public id: 12 base62 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix(String);

impl Prefix {
    /// Parses a prefix as it appears in URLs: exactly 12 base62 characters.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == PREFIX_LEN && s.bytes().all(is_base62)).then(|| Prefix(s.to_owned()))
    }
    pub fn generate() -> Self {
        Prefix(random_base62(PREFIX_LEN))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prefix({})", self.0)
    }
}

/// A full token. Its `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    kind: KeyKind,
    prefix: Prefix,
    full: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}{}_***)", self.kind.tag(), self.prefix)
    }
}

impl Token {
    /// A new token with a fresh prefix.
    pub fn generate(kind: KeyKind) -> Self {
        Self::generate_for(kind, Prefix::generate())
    }

    /// A new secret for an existing prefix (used by replace).
    pub fn generate_for(kind: KeyKind, prefix: Prefix) -> Self {
        let mut full = String::with_capacity(MAX_TOKEN_LEN);
        full.push_str(kind.tag());
        full.push_str(prefix.as_str());
        full.push('_');
        full.push_str(&random_base62(SECRET_LEN));
        let sum = checksum(full.as_bytes());
        full.push_str(&sum);
        Token { kind, prefix, full }
    }

    /// Strict parse: kind tag, lengths, alphabet, separator and checksum must all be right.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        let (kind, rest) = if let Some(rest) = s.strip_prefix(KeyKind::Project.tag()) {
            (KeyKind::Project, rest)
        } else if let Some(rest) = s.strip_prefix(KeyKind::Team.tag()) {
            (KeyKind::Team, rest)
        } else {
            return Err(TokenError::Kind);
        };
        if rest.len() != PREFIX_LEN + 1 + SECRET_LEN + CHECKSUM_LEN {
            return Err(TokenError::Length);
        }
        let bytes = rest.as_bytes();
        if bytes[PREFIX_LEN] != b'_' {
            return Err(TokenError::Separator);
        }
        let ok = bytes[..PREFIX_LEN].iter().chain(&bytes[PREFIX_LEN + 1..]).all(|&b| is_base62(b));
        if !ok {
            return Err(TokenError::Alphabet);
        }
        let body_len = s.len() - CHECKSUM_LEN;
        let expected = checksum(&s.as_bytes()[..body_len]);
        if expected.as_bytes() != &s.as_bytes()[body_len..] {
            return Err(TokenError::Checksum);
        }
        Ok(Token { kind, prefix: Prefix(rest[..PREFIX_LEN].to_owned()), full: s.to_owned() })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }
    /// The whole token. Only the create and replace responses may carry it.
    pub fn expose(&self) -> &str {
        &self.full
    }
    /// SHA-256 of the full token; the only form of it that is ever stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.full)
    }
    /// `sk-project-...` + the last 4 characters of the token.
    pub fn preview(&self) -> String {
        format!("{}...{}", self.kind.tag(), &self.full[self.full.len() - 4..])
    }
}

/// SHA-256 of a token, hex encoded; compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(***)")
    }
}

impl SecretHash {
    pub fn of(token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push(char::from(HEX[(b >> 4) as usize]));
            hex.push(char::from(HEX[(b & 0xf) as usize]));
        }
        SecretHash(hex)
    }
    /// Accepts a stored hash (64 lowercase hex characters).
    pub fn from_stored(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| HEX.contains(&b))).then(|| SecretHash(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Constant-time comparison.
    pub fn verify(&self, token: &Token) -> bool {
        let candidate = token.hash();
        bool::from(self.0.as_bytes().ct_eq(candidate.0.as_bytes()))
    }
    /// Constant-time comparison of two hashes.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn is_base62(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// CRC32 of `data` as 6 base62 digits, most significant first (62^6 > 2^32).
pub fn checksum(data: &[u8]) -> String {
    let mut n = crc32fast::hash(data) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// `len` uniformly random base62 characters from the OS CSPRNG: `rand`'s `OsRng` (the operating
/// system's generator, no user-space state to leak or fork) and its uniform `Alphanumeric`
/// distribution (rejection sampling: no character is likelier than another).
pub fn random_base62(len: usize) -> String {
    use rand::distr::{Alphanumeric, Distribution};
    use rand::TryRngCore;
    let mut os = rand::rngs::OsRng.unwrap_err();
    Alphanumeric.sample_iter(&mut os).take(len).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let t = Token::generate(KeyKind::Project);
        let s = t.expose();
        assert!(s.starts_with("sk-project-"));
        assert_eq!(s.len(), MAX_TOKEN_LEN);
        assert_eq!(&s[11 + 12..11 + 13], "_");
        let team = Token::generate(KeyKind::Team);
        assert!(team.expose().starts_with("sk-team-"));
        assert_eq!(team.expose().len(), 8 + 12 + 1 + 32 + 6);
    }

    #[test]
    fn parse_round_trips() {
        for kind in [KeyKind::Project, KeyKind::Team] {
            let t = Token::generate(kind);
            let p = Token::parse(t.expose()).unwrap();
            assert_eq!(p, t);
            assert_eq!(p.kind(), kind);
            assert_eq!(p.prefix(), t.prefix());
        }
    }

    #[test]
    fn parse_reports_each_error_class() {
        let t = Token::generate(KeyKind::Project);
        let s = t.expose().to_owned();
        assert_eq!(Token::parse(""), Err(TokenError::Kind));
        assert_eq!(Token::parse(&s.replace("sk-project-", "sk-robot-")), Err(TokenError::Kind));
        assert_eq!(Token::parse(&s[..s.len() - 1]), Err(TokenError::Length));
        assert_eq!(Token::parse(&format!("{s}A")), Err(TokenError::Length));
        let mut sep = s.clone().into_bytes();
        sep[11 + 12] = b'x';
        assert_eq!(Token::parse(std::str::from_utf8(&sep).unwrap()), Err(TokenError::Separator));
        let mut alpha = s.clone().into_bytes();
        alpha[11 + 20] = b'-';
        assert_eq!(Token::parse(std::str::from_utf8(&alpha).unwrap()), Err(TokenError::Alphabet));
        // multi-byte characters never panic on slicing, and are refused by class: 50 bytes
        let uni = format!("sk-project-{}", "é".repeat(25));
        assert_eq!(Token::parse(&uni), Err(TokenError::Length));
        // 51 bytes, the separator's byte inside a two-byte character
        let uni = format!("sk-project-{}a", "é".repeat(25));
        assert_eq!(Token::parse(&uni), Err(TokenError::Separator));
        // 51 bytes with the separator in place, a two-byte character in the secret
        let mut wide = s.clone();
        wide.replace_range(11 + 20..11 + 22, "é");
        assert_eq!(wide.len(), s.len());
        assert_eq!(Token::parse(&wide), Err(TokenError::Alphabet));
        // the same body with the other kind tag has a different checksum
        let swapped = s.replacen("sk-project-", "sk-team-", 1);
        assert_eq!(Token::parse(&swapped), Err(TokenError::Checksum));
    }

    /// Fixed tokens whose checksum and SHA-256 were computed outside this code (Python's
    /// `zlib.crc32` in base62, and `printf %s TOKEN | sha256sum`).
    const KNOWN: [(&str, KeyKind, &str, &str); 2] = [
        (
            "sk-project-AbCdEfGhIjKl_0123456789ABCDEFGHIJKLMNOPQRSTUV2iVI0R",
            KeyKind::Project,
            "AbCdEfGhIjKl",
            "53ab3257ecef3399e395e25a67cd6717aa8af3cbf38fd15185d50649f7eab3d8",
        ),
        (
            "sk-team-Zz9Yy8Xx7Ww6_abcdefghijklmnopqrstuvwxyz0123453YBaQR",
            KeyKind::Team,
            "Zz9Yy8Xx7Ww6",
            "33836b2f16e0a8e40129b56f6b5585c7b896e2733271fac8313353c521eeafca",
        ),
    ];

    #[test]
    fn known_tokens_parse_and_hash_to_their_known_sha256() {
        for (text, kind, prefix, sha256) in KNOWN {
            let t = Token::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(t.kind(), kind);
            assert_eq!(t.prefix().as_str(), prefix);
            assert_eq!(t.expose(), text);
            // the stored form: SHA-256 of the whole token, lowercase hex
            assert_eq!(t.hash().as_str(), sha256);
            assert_eq!(SecretHash::of(text).as_str(), sha256);
            assert_eq!(SecretHash::from_stored(sha256), Some(t.hash()));
            assert!(SecretHash::from_stored(sha256).unwrap().verify(&t));
            assert_eq!(checksum(&text.as_bytes()[..text.len() - 6]), text[text.len() - 6..]);
            assert_eq!(t.preview(), format!("{}...{}", kind.tag(), &text[text.len() - 4..]));
        }
        // the checksum's last digit off by one: refused for its checksum alone
        let (text, ..) = KNOWN[0];
        let off = format!("{}S", &text[..text.len() - 1]);
        assert_eq!(Token::parse(&off), Err(TokenError::Checksum));
    }

    #[test]
    fn hundred_thousand_tokens_are_distinct() {
        let mut seen = HashSet::with_capacity(100_000);
        for _ in 0..100_000 {
            assert!(seen.insert(Token::generate(KeyKind::Team).expose().to_owned()));
        }
    }

    #[test]
    fn hash_verify_and_preview() {
        let t = Token::generate(KeyKind::Project);
        let h = t.hash();
        assert_eq!(h.as_str().len(), 64);
        assert!(h.verify(&t));
        assert!(!h.verify(&Token::generate_for(KeyKind::Project, t.prefix().clone())));
        assert_eq!(SecretHash::from_stored(h.as_str()), Some(h.clone()));
        assert!(!format!("{h:?}{t:?}").contains(&t.expose()[24..]));
        let p = t.preview();
        assert!(p.starts_with("sk-project-..."));
        assert_eq!(&p[p.len() - 4..], &t.expose()[t.expose().len() - 4..]);
    }

    #[test]
    fn prefix_parse_is_strict() {
        assert!(Prefix::parse("abcDEF123456").is_some());
        assert!(Prefix::parse("abcDEF12345").is_none());
        assert!(Prefix::parse("abcDEF12345_").is_none());
        assert!(Prefix::parse("abcDEF12345é").is_none());
    }

    proptest! {
        // Failures are reported with their minimal input; no regression files in the tree.
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::with_cases(256)
        })]

        /// One printable ASCII character changed anywhere: refused, for the reason the place
        /// and the character give — the kind tag, the separator, the alphabet, or else (a
        /// base62 character for another) the checksum, as CRC32 sees every one-byte change.
        #[test]
        fn any_single_character_change_fails(pos in 0usize..MAX_TOKEN_LEN, c in proptest::char::range('!', '~')) {
            let t = Token::generate(KeyKind::Project);
            let mut bytes = t.expose().as_bytes().to_vec();
            prop_assume!(bytes[pos] != c as u8);
            bytes[pos] = c as u8;
            let changed = String::from_utf8(bytes).unwrap();
            let tag = KeyKind::Project.tag().len();
            let want = if pos < tag {
                TokenError::Kind
            } else if pos == tag + PREFIX_LEN {
                TokenError::Separator
            } else if !c.is_ascii_alphanumeric() {
                TokenError::Alphabet
            } else {
                TokenError::Checksum
            };
            prop_assert_eq!(Token::parse(&changed), Err(want));
        }

        /// Any string that does not start with a kind tag is refused for its tag.
        #[test]
        fn no_tag_is_a_kind_error(s in ".{0,80}") {
            prop_assume!(!s.starts_with("sk-project-") && !s.starts_with("sk-team-"));
            prop_assert_eq!(Token::parse(&s), Err(TokenError::Kind));
        }

        /// A kind tag and anything of another byte length: refused for its length.
        #[test]
        fn a_wrong_length_is_a_length_error(team in any::<bool>(), rest in ".{0,80}") {
            prop_assume!(rest.len() != PREFIX_LEN + 1 + SECRET_LEN + CHECKSUM_LEN);
            let tag = if team { KeyKind::Team.tag() } else { KeyKind::Project.tag() };
            prop_assert_eq!(Token::parse(&format!("{tag}{rest}")), Err(TokenError::Length));
        }

        #[test]
        fn round_trip_any_kind(team in any::<bool>()) {
            let kind = if team { KeyKind::Team } else { KeyKind::Project };
            let t = Token::generate(kind);
            prop_assert_eq!(Token::parse(t.expose()).unwrap(), t);
        }
    }
}
