//! The key model: validated field types (parsed once at the edge) and the key record.

use std::fmt;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::token::{KeyKind, Prefix, SecretHash};

/// One field's validation failure, reported to the client in `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
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
/// How far in the future `expiresAt` may be.
pub const EXPIRY_MAX: Duration = Duration::days(3653);

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
        if s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
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
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        let shown: Vec<String> = extra.iter().map(|b| char::from(*b).to_string()).collect();
        return Err(format!(
            "may contain only letters, digits and {}",
            shown.join(" ")
        ));
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

/// At most 50 distinct roles, kept in the order given (duplicates dropped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        if items.len() > ROLES_MAX {
            return Err(format!("at most {ROLES_MAX} roles"));
        }
        let mut out: Vec<Role> = Vec::with_capacity(items.len());
        for (i, s) in items.iter().enumerate() {
            let r = Role::parse(s.as_ref()).map_err(|m| format!("role {i}: {m}"))?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(Roles(out))
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
        if items.len() > LABELS_MAX {
            return Err(format!("at most {LABELS_MAX} labels"));
        }
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for (i, s) in items.iter().enumerate() {
            let s = s.as_ref();
            let n = s.chars().count();
            if n == 0 || n > LABEL_MAX {
                return Err(format!("label {i}: must be 1 to {LABEL_MAX} characters"));
            }
            if has_control(s) || s.contains(',') {
                return Err(format!(
                    "label {i}: must not contain commas or control characters"
                ));
            }
            if !out.iter().any(|l| l == s) {
                out.push(s.to_owned());
            }
        }
        Ok(Labels(out))
    }
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// An `https://` URL of at most 2048 characters with a host.
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
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host_name = host.rsplit('@').next().unwrap_or("");
        if host_name.is_empty() || host_name.starts_with(':') {
            return Err("must name a host".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        Ok(WebhookUrl(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses an RFC 3339 `expiresAt` that lies in the future and at most 10 years ahead.
pub fn parse_expiry(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let t = parse_time(s).ok_or("must be an RFC 3339 timestamp")?;
    if t <= now {
        return Err("must be in the future".into());
    }
    if t - now > EXPIRY_MAX {
        return Err("must be at most 10 years ahead".into());
    }
    Ok(t)
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

/// A key's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Disabled,
    Pending,
    Rejected,
    Deleted,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Active,
        Status::Disabled,
        Status::Pending,
        Status::Rejected,
        Status::Deleted,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Disabled => "Disabled",
            Status::Pending => "Pending",
            Status::Rejected => "Rejected",
            Status::Deleted => "Deleted",
        }
    }
    /// Parses a status; `Inactive` and `Blocked` are accepted as `Disabled`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(Status::Active),
            "Disabled" | "Inactive" | "Blocked" => Some(Status::Disabled),
            "Pending" => Some(Status::Pending),
            "Rejected" => Some(Status::Rejected),
            "Deleted" => Some(Status::Deleted),
            _ => None,
        }
    }
    /// Whether an update may move a key from `self` to `to`. Deleting is not an update.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        match (self, to) {
            (a, b) if a == b => a != Deleted,
            (Active, Disabled) | (Disabled, Active) => true,
            (Pending, Active) | (Pending, Rejected) => true,
            (Rejected, Active) => true,
            _ => false,
        }
    }
    /// Whether moving to `to` is an approval decision (needs a project admin or admin).
    pub fn is_decision(self, to: Status) -> bool {
        matches!(self, Status::Pending | Status::Rejected) && self != to
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The secret that was current before a replace, valid until its grace period ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub hash: SecretHash,
    pub valid_until: OffsetDateTime,
}

/// A stored API key. The hashes never leave the server: [`ApiKey::to_json`] leaves them out.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub prefix: Prefix,
    pub kind: KeyKind,
    /// The team (`account.id`).
    pub team_id: Ident,
    /// The owning user, for team keys.
    pub user_id: Option<Ident>,
    /// The owning project, for project keys.
    pub project_id: Option<Ident>,
    pub name: KeyName,
    pub description: Option<Description>,
    pub status: Status,
    pub roles: Roles,
    pub labels: Labels,
    pub is_high_priority: bool,
    pub webhook_url: Option<WebhookUrl>,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub last_active: Option<OffsetDateTime>,
    pub submitted_jobs: u64,
    pub retrieved: bool,
    pub preview: String,
    pub version: u64,
    pub secret_hash: SecretHash,
    pub previous: Option<PreviousSecret>,
    pub deleted_at: Option<OffsetDateTime>,
}

/// How a key's secret matched, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMatch {
    Current,
    Previous,
    None,
}

impl ApiKey {
    /// `isDefault` of the seeds: true for team (user) keys.
    pub fn is_default(&self) -> bool {
        self.kind == KeyKind::Team
    }

    /// Checks a presented token against the current hash, or the previous one within its
    /// grace period. Both comparisons always run, in constant time.
    pub fn match_secret(&self, token: &crate::token::Token, now: OffsetDateTime) -> SecretMatch {
        let presented = token.hash();
        let current = self.secret_hash.ct_eq(&presented);
        let previous = match &self.previous {
            Some(p) => p.hash.ct_eq(&presented) && now < p.valid_until,
            None => false,
        };
        if current {
            SecretMatch::Current
        } else if previous {
            SecretMatch::Previous
        } else {
            SecretMatch::None
        }
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// The key object of DESIGN §4, camelCase, without any hash.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        json!({
            "prefix": self.prefix.as_str(),
            "preview": self.preview,
            "name": self.name.as_str(),
            "description": self.description.as_ref().map(Description::as_str),
            "keyType": self.kind.key_type(),
            "isDefault": self.is_default(),
            "isHighPriority": self.is_high_priority,
            "status": self.status.as_str(),
            "roles": self.roles.as_strs(),
            "labels": self.labels.as_slice(),
            "webhookUrl": self.webhook_url.as_ref().map(WebhookUrl::as_str),
            "expiresAt": self.expires_at.map(format_time),
            "createdAt": format_time(self.created_at),
            "createdBy": self.created_by,
            "updatedAt": format_time(self.updated_at),
            "lastActiveDateTime": self.last_active.map(format_time),
            "submittedJobs": self.submitted_jobs,
            "retrieved": self.retrieved,
            "account": { "id": self.team_id.as_str() },
            "user": self.user_id.as_ref().map(|u| json!({ "id": u.as_str() })),
            "project": self.project_id.as_ref().map(|p| json!({ "id": p.as_str() })),
            "version": self.version,
        })
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-22T03:49:19.123Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A fixed-width, lexicographically ordered form of a time (nanoseconds), for sort keys.
pub fn sortable_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
        let long = format!("https://e.com/{}", "a".repeat(2048));
        assert!(WebhookUrl::parse(&long).is_err());
    }

    #[test]
    fn expiry() {
        let now = datetime!(2026-01-01 0:00 UTC);
        assert!(parse_expiry("2026-06-01T00:00:00Z", now).is_ok());
        assert!(parse_expiry("2025-06-01T00:00:00Z", now).is_err());
        assert!(parse_expiry("2040-06-01T00:00:00Z", now).is_err());
        assert!(parse_expiry("tomorrow", now).is_err());
        assert!(parse_expiry("2026-06-01T02:00:00+02:00", now).is_ok());
    }

    #[test]
    fn idents() {
        assert!(Ident::parse("team-1").is_ok());
        assert!(Ident::parse("a#b").is_err());
        assert!(Ident::parse("a:b").is_err());
        assert!(Ident::parse("").is_err());
    }

    #[test]
    fn status_transitions() {
        use Status::*;
        assert!(Active.can_become(Disabled));
        assert!(Disabled.can_become(Active));
        assert!(Pending.can_become(Active));
        assert!(Pending.can_become(Rejected));
        assert!(!Active.can_become(Pending));
        assert!(!Active.can_become(Deleted));
        assert!(!Disabled.can_become(Pending));
        assert!(!Deleted.can_become(Active));
        assert!(Pending.is_decision(Active));
        assert!(!Active.is_decision(Disabled));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("Inactive"), Some(Disabled));
        assert_eq!(Status::parse("active"), None);
    }

    #[test]
    fn times_format_and_sort() {
        let t = datetime!(2026-11-22 03:49:19.123456789 UTC);
        assert_eq!(format_time(t), "2026-11-22T03:49:19.123Z");
        assert_eq!(sortable_time(t), "2026-11-22T03:49:19.123456789Z");
        assert_eq!(parse_time("2026-11-22T03:49:19.123456789Z"), Some(t));
        let earlier = datetime!(2026-11-22 03:49:19.12345678 UTC);
        assert!(sortable_time(earlier) < sortable_time(t));
    }
}
