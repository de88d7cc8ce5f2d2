//! Builders shared by unit tests, the integration suite and benchmarks.

use time::OffsetDateTime;

use crate::model::{
    Actor, ApiKey, AuditAction, AuditRecord, Changes, Ident, KeyName, Labels, NewKey, Origin,
    Roles, Status,
};
use crate::token::{KeyKind, Token};

/// A valid key record and the token that opens it, minted as `POST /keys` mints one: team
/// `team-1`, a team key for `user-1` or a project key of `project-1`, role `jobs:submit`.
pub fn sample_key_with_token(kind: KeyKind) -> (ApiKey, Token) {
    let (user_id, project_id) = match kind {
        KeyKind::Team => (Some(Ident::parse("user-1").unwrap()), None),
        KeyKind::Project => (None, Some(Ident::parse("project-1").unwrap())),
    };
    NewKey {
        kind,
        team_id: Ident::parse("team-1").unwrap(),
        user_id,
        project_id,
        name: KeyName::parse("sample key").unwrap(),
        description: None,
        status: Status::Active,
        roles: Roles::parse(&["jobs:submit"]).unwrap(),
        labels: Labels::parse(&["test"]).unwrap(),
        is_high_priority: false,
        webhook_url: None,
        expires_at: None,
        rate_limit: None,
        quota: None,
        created_by: "user-1".into(),
    }
    .mint(OffsetDateTime::now_utc())
}

/// An audit record for a change a test writes straight to the store (by the operator `tests`).
pub fn audit_of(key: &ApiKey) -> AuditRecord {
    AuditRecord::of(
        AuditAction::Updated,
        Actor::Operator { name: "tests".into() },
        None,
        key,
        Changes::new(),
        Origin::default(),
        OffsetDateTime::now_utc(),
    )
}

pub fn sample_key(kind: KeyKind) -> ApiKey {
    sample_key_with_token(kind).0
}

/// A log sink for tests that scan what was logged: a `MakeWriter` (clone it into
/// `.with_writer(move || buf.clone())`) that keeps every byte.
#[derive(Clone, Default)]
pub struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An environment of `pairs`, as a lookup for the `from_lookup` constructors of the
/// configuration types.
pub fn env_of<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| pairs.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned())
}
