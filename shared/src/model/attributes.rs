//! The validated attributes of a key (parsed once at the edge, valid past it): name,
//! description, roles, labels, webhook URL, and the team, user and project ids.

use std::fmt;

use serde::Serialize;

/// One field's validation failure, reported to the client in `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 500;
pub const ROLES_MAX: usize = 50;
pub const ROLE_MAX: usize = 100;
pub const LABELS_MAX: usize = 20;
pub const LABEL_MAX: usize = 50;
pub const WEBHOOK_MAX: usize = 2048;
pub const ID_MAX: usize = 128;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A key's name: 1–100 characters, no control characters, not blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let n = s.chars().count();
        if s.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if n > NAME_MAX {
            return Err(format!("must be at most {NAME_MAX} characters"));
        }
        if has_control(s) {
            return Err("must not contain control characters".into());
        }
        Ok(KeyName(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.chars().count() > DESCRIPTION_MAX {
            return Err(format!("must be at most {DESCRIPTION_MAX} characters"));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
            return Err("must not contain control characters".into());
        }
        Ok(Description(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `s` if it is 1 to `max` bytes of ASCII letters, digits and the bytes of `extra`; the error
/// names the allowed characters.
fn restricted(s: &str, max: usize, extra: &[u8]) -> Result<String, String> {
    if s.is_empty() || s.len() > max {
        return Err(format!("must be 1 to {max} characters"));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b)) {
        let shown: Vec<String> = extra.iter().map(|b| char::from(*b).to_string()).collect();
        return Err(format!("may contain only letters, digits and {}", shown.join(" ")));
    }
    Ok(s.to_owned())
}

/// `as_str` and `Display` of a checked string newtype.
macro_rules! string_newtype {
    ($t:ident) => {
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A role: `[A-Za-z0-9:_.*-]{1,100}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role(String);

impl Role {
    pub fn parse(s: &str) -> Result<Self, String> {
        restricted(s, ROLE_MAX, b":_.*-").map(Role)
    }
}
string_newtype!(Role);

/// At most `max` items, each parsed by `parse` (an error names the item: "role 3: …"), kept in
/// the order given with duplicates dropped.
fn distinct<S: AsRef<str>, T: PartialEq>(
    items: &[S], max: usize, noun: &str, parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    if items.len() > max {
        return Err(format!("at most {max} {noun}s"));
    }
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for (i, s) in items.iter().enumerate() {
        let item = parse(s.as_ref()).map_err(|m| format!("{noun} {i}: {m}"))?;
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(out)
}

/// One label: 1 to 50 characters, no comma (the authorizer's context joins labels with commas)
/// and no control character.
fn label(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n == 0 || n > LABEL_MAX {
        return Err(format!("must be 1 to {LABEL_MAX} characters"));
    }
    if has_control(s) || s.contains(',') {
        return Err("must not contain commas or control characters".into());
    }
    Ok(s.to_owned())
}

/// At most 50 distinct roles, kept in the order given (duplicates dropped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        distinct(items, ROLES_MAX, "role", Role::parse).map(Roles)
    }
    pub fn iter(&self) -> impl Iterator<Item = &Role> {
        self.0.iter()
    }
    pub fn contains(&self, role: &str) -> bool {
        self.0.iter().any(|r| r.0 == role)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn as_strs(&self) -> Vec<&str> {
        self.0.iter().map(Role::as_str).collect()
    }
}

/// At most 20 labels of 1–50 characters each (duplicates dropped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels(Vec<String>);

impl Labels {
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        distinct(items, LABELS_MAX, "label", label).map(Labels)
    }
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// An `https://` URL of at most 2048 characters with a host, no credentials (`user:pass@`)
/// and no fragment: it is shown to every project member and handed to every protected API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > WEBHOOK_MAX {
            return Err(format!("must be at most {WEBHOOK_MAX} characters"));
        }
        let Some(rest) = s.strip_prefix("https://") else {
            return Err("must be an https:// URL".into());
        };
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err("must not contain credentials (user:password@)".into());
        }
        if authority.is_empty() || authority.starts_with(':') {
            return Err("must name a host".into());
        }
        if s.contains('#') {
            return Err("must not contain a fragment (#...)".into());
        }
        Ok(WebhookUrl(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A team, user or project id: 1–128 characters of `[A-Za-z0-9._@+-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

impl Ident {
    pub fn parse(s: &str) -> Result<Self, String> {
        restricted(s, ID_MAX, b"._@+-").map(Ident)
    }
}
string_newtype!(Ident);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(KeyName::parse("ci deploy").is_ok());
        assert!(KeyName::parse("").is_err());
        assert!(KeyName::parse("   ").is_err());
        assert!(KeyName::parse(&"a".repeat(100)).is_ok());
        assert!(KeyName::parse(&"é".repeat(100)).is_ok());
        assert!(KeyName::parse(&"a".repeat(101)).is_err());
        assert!(KeyName::parse("a\u{0}b").is_err());
    }
    #[test]
    fn descriptions() {
        assert!(Description::parse(&"x".repeat(500)).is_ok());
        assert!(Description::parse(&"x".repeat(501)).is_err());
        assert!(Description::parse("line\nline").is_ok());
    }
    #[test]
    fn roles() {
        assert!(Role::parse("project-admin:p1").is_ok());
        assert!(Role::parse("jobs.*").is_ok());
        assert!(Role::parse("").is_err());
        assert!(Role::parse("has space").is_err());
        assert!(Role::parse(&"r".repeat(101)).is_err());
        let many: Vec<String> = (0..51).map(|i| format!("r{i}")).collect();
        assert!(Roles::parse(&many).is_err());
        let r = Roles::parse(&["a", "b", "a"]).unwrap();
        assert_eq!(r.as_strs(), ["a", "b"]);
    }
    #[test]
    fn labels() {
        assert!(Labels::parse(&["prod", "ci"]).is_ok());
        assert!(Labels::parse(&[""]).is_err());
        assert!(Labels::parse(&["x".repeat(51)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
        assert!(Labels::parse(&many).is_err());
    }
    #[test]
    fn webhooks() {
        assert!(WebhookUrl::parse("https://example.com/hook?x=1").is_ok());
        assert!(WebhookUrl::parse("http://example.com").is_err());
        assert!(WebhookUrl::parse("https://").is_err());
        assert!(WebhookUrl::parse("https:///path").is_err());
        assert!(WebhookUrl::parse("https://exa mple.com").is_err());
        assert!(WebhookUrl::parse("https://user:pw@example.com/hook").is_err());
        assert!(WebhookUrl::parse("https://user@example.com").is_err());
        assert!(WebhookUrl::parse("https://example.com/hook#frag").is_err());
        assert!(WebhookUrl::parse("https://example.com:8443/a@b").is_ok());
        let long = format!("https://e.com/{}", "a".repeat(2048));
        assert!(WebhookUrl::parse(&long).is_err());
    }
    #[test]
    fn idents() {
        assert!(Ident::parse("team-1").is_ok());
        assert!(Ident::parse("a#b").is_err());
        assert!(Ident::parse("a:b").is_err());
        assert!(Ident::parse("").is_err());
    }
}
