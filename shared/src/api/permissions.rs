//! Who may do what to which key. Every rule is here, in plain functions over the caller (its
//! stored key, re-read for the request) and the key, so the matrix test and the handlers agree by
//! construction.
//!
//! The rules, where the product description leaves room:
//! - Team confinement comes first: a key of another team, or a tombstone, is "not found" (404),
//!   decided by [`visible`] before any rule below; a key of the caller's team that the caller may
//!   not touch is 403.
//! - `admin`: everything in the team.
//! - Project keys of project P: `project-admin:P` may view, create (Active), replace, update
//!   (including approve/reject) and delete; `project-member:P` may view, and create (Pending).
//! - Team keys: created only by `admin`; a team key may view, replace and delete itself (not
//!   update: that would let it change its own roles or status). Other team keys are admin-only.
//! - Roles: a non-admin may grant only roles it holds; on update only the added roles count.
//!   Replacing hands out a working secret, so a non-admin may replace only a key whose roles it
//!   holds itself (otherwise a project admin could mint itself the token of a key an admin
//!   gave more power). Re-arming a key — enabling a Disabled key, or moving its expiry later or
//!   clearing it — hands its roles out again just the same, so it needs them too (otherwise a
//!   project admin holding the token of an admin-powered key that an admin disabled or let
//!   expire could switch it back on). Approving a Pending (or Rejected) key needs every role of
//!   the key too, and records who approved it.
//! - Self-limits: no key changes its own expiry, status or roles; a caller whose key expires
//!   gives no key a later expiry, or none; only an admin changes `isHighPriority`.

use time::OffsetDateTime;

use crate::error::ApiError;
use crate::model::{format_time, ApiKey, FieldError, Ident, Role, Status};
use crate::token::KeyKind;

use super::caller::Caller;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    View,
    Replace,
    Update,
    Delete,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Replace => "replace",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// A stored key as the caller may know it: `None` (404) when it is another team's, or deleted.
pub fn visible(caller: &Caller, key: Option<ApiKey>) -> Option<ApiKey> {
    key.filter(|k| &k.team_id == caller.team() && k.status != Status::Deleted)
}

/// Whether `caller` may do `action` to `key` (a key of the caller's team).
pub fn may(caller: &Caller, action: Action, key: &ApiKey) -> bool {
    if caller.is_admin() {
        return true;
    }
    match key.kind {
        KeyKind::Project => match &key.project_id {
            Some(p) => match action {
                Action::View => caller.sees(p),
                Action::Replace | Action::Update | Action::Delete => caller.administers(p),
            },
            None => false,
        },
        KeyKind::Team => {
            let itself = caller.is_team_key() && caller.is(key);
            itself && matches!(action, Action::View | Action::Replace | Action::Delete)
        }
    }
}

/// [`may`] as a 403, and for replace the no-escalation rule.
pub fn authorize(caller: &Caller, action: Action, key: &ApiKey) -> Result<(), ApiError> {
    if !may(caller, action, key) {
        return Err(ApiError::Forbidden(format!(
            "This key may not {} key {}.",
            action.verb(),
            key.prefix
        )));
    }
    if action == Action::Replace {
        must_hold(caller, key.roles.iter(), |missing| {
            format!(
                "Replacing key {} would hand out roles this key does not hold: {}.",
                key.prefix, missing
            )
        })?;
    }
    Ok(())
}

/// Whether an update from `current` to `next` makes the key usable again: Disabled to Active,
/// or an expiry that is later than it was, or none where there was one. (Approving a Pending or
/// Rejected key is a decision on a request its creator made with roles it held: not this.)
pub fn rearms(current: &ApiKey, next: &ApiKey) -> bool {
    let reactivated = next.status == Status::Active && current.status == Status::Disabled;
    let extended = match (current.expires_at, next.expires_at) {
        (Some(was), Some(now)) => now > was,
        (Some(_), None) => true,
        (None, _) => false,
    };
    reactivated || extended
}

/// 403 when a non-admin re-arms (see [`rearms`]) a key holding roles it does not hold: that
/// would hand those roles out again, as a replace would.
pub fn may_rearm(caller: &Caller, current: &ApiKey, next: &ApiKey) -> Result<(), ApiError> {
    if !rearms(current, next) {
        return Ok(());
    }
    must_hold(caller, next.roles.iter(), |missing| {
        format!(
            "Making key {} usable again would hand out roles this key does not hold: {}.",
            current.prefix, missing
        )
    })
}

/// The status a new key starts in, or 403 when the caller may not create it.
pub fn create_status(
    caller: &Caller, kind: KeyKind, project: Option<&Ident>,
) -> Result<Status, ApiError> {
    if caller.is_admin() {
        return Ok(Status::Active);
    }
    match (kind, project) {
        (KeyKind::Project, Some(p)) if caller.administers(p) => Ok(Status::Active),
        (KeyKind::Project, Some(p)) if caller.sees(p) => Ok(Status::Pending),
        (KeyKind::Project, Some(p)) => {
            Err(ApiError::Forbidden(format!("This key may not create keys in project {p}.")))
        }
        _ => Err(ApiError::Forbidden("Only an admin may create team keys.".into())),
    }
}

/// 403 unless the caller holds every role among `roles` (an admin holds them all); `why` words
/// the refusal from the roles not held, comma-separated.
fn must_hold<'r>(
    caller: &Caller, roles: impl Iterator<Item = &'r Role>, why: impl FnOnce(String) -> String,
) -> Result<(), ApiError> {
    if caller.is_admin() {
        return Ok(());
    }
    let missing: Vec<&str> =
        roles.map(Role::as_str).filter(|r| !caller.key.roles.contains(r)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(why(missing.join(", "))))
    }
}

/// 403 unless the caller holds every role it grants.
pub fn may_grant<'r>(
    caller: &Caller, roles: impl Iterator<Item = &'r Role>,
) -> Result<(), ApiError> {
    must_hold(caller, roles, |missing| {
        format!("A key can grant only roles it holds itself; not held: {missing}.")
    })
}

/// 403 when a key changes its own expiry, status or roles (replacing or deleting itself stays
/// allowed): a key that could would outlive, re-enable or empower itself.
pub fn may_change_itself(caller: &Caller, current: &ApiKey, next: &ApiKey) -> Result<(), ApiError> {
    if !caller.is(current) {
        return Ok(());
    }
    let changed: Vec<&str> = [
        ("expiresAt", current.expires_at != next.expires_at),
        ("status", current.status != next.status),
        ("roles", current.roles != next.roles),
        ("rateLimit", current.rate_limit != next.rate_limit),
        ("quota", current.quota != next.quota),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "A key cannot change its own expiry, status, roles or limits ({}).",
            changed.join(", ")
        )))
    }
}

/// 400 when a caller whose own key expires would give a key an expiry later than its own, or
/// none (`expires` is the expiry the key would have).
pub fn within_callers_expiry(
    caller: &Caller, expires: Option<OffsetDateTime>,
) -> Result<(), ApiError> {
    let Some(cap) = caller.key.expires_at else {
        return Ok(());
    };
    let message = match expires {
        None => format!(
            "must be set: this key expires ({}), and a key cannot give another key more time than it has",
            format_time(cap)
        ),
        Some(t) if t > cap => format!(
            "must be no later than this key's own expiry ({})",
            format_time(cap)
        ),
        Some(_) => return Ok(()),
    };
    Err(ApiError::Validation(vec![FieldError::new("expiresAt", message)]))
}

/// 403 when a caller other than an admin sets `isHighPriority` to anything but what it is: the
/// priority reaches every protected API.
pub fn may_set_priority(caller: &Caller, current: bool, next: bool) -> Result<(), ApiError> {
    if current == next || caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only an admin may change isHighPriority.".into()))
    }
}

/// 403 unless the caller may set a key's limits: an admin, or the project's admin for a project
/// key (a member's requested key, or a team key, gets its limits from an admin).
pub fn may_set_limits(caller: &Caller, project: Option<&Ident>) -> Result<(), ApiError> {
    if caller.is_admin() || project.is_some_and(|p| caller.administers(p)) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only an admin, or the project's admin, may set a key's rate limit or quota.".into(),
        ))
    }
}

/// Whether an update from `current` to `next` approves the key: Pending or Rejected to Active.
pub fn approves(current: &ApiKey, next: &ApiKey) -> bool {
    matches!(current.status, Status::Pending | Status::Rejected) && next.status == Status::Active
}

/// 403 unless the approver holds every role of the key it approves: approving hands those roles
/// to whoever holds the key's token.
pub fn may_approve(caller: &Caller, next: &ApiKey) -> Result<(), ApiError> {
    must_hold(caller, next.roles.iter(), |missing| {
        format!("Approving key {} needs every role it holds; not held: {}.", next.prefix, missing)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Roles;
    use crate::testing::sample_key;

    fn caller(kind: KeyKind, roles: &[&str]) -> (Caller, ApiKey) {
        let mut key = sample_key(kind);
        key.roles = Roles::parse(roles).unwrap();
        (Caller::new(key.clone()), key)
    }

    fn project_key(project: &str) -> ApiKey {
        let mut k = sample_key(KeyKind::Project);
        k.project_id = Some(Ident::parse(project).unwrap());
        k.roles = Roles::default();
        k
    }

    #[test]
    fn project_roles() {
        let p1 = project_key("p1");
        let (pa, _) = caller(KeyKind::Team, &["project-admin:p1"]);
        let (pm, _) = caller(KeyKind::Team, &["project-member:p1"]);
        let (other, _) = caller(KeyKind::Team, &["project-admin:p2"]);
        for a in [Action::View, Action::Replace, Action::Update, Action::Delete] {
            assert!(may(&pa, a, &p1), "{a:?}");
            assert!(!may(&other, a, &p1), "{a:?}");
            assert_eq!(may(&pm, a, &p1), a == Action::View, "{a:?}");
        }
        let p = Ident::parse("p1").unwrap();
        assert_eq!(create_status(&pa, KeyKind::Project, Some(&p)).unwrap(), Status::Active);
        assert_eq!(create_status(&pm, KeyKind::Project, Some(&p)).unwrap(), Status::Pending);
        assert_eq!(create_status(&other, KeyKind::Project, Some(&p)).unwrap_err().status(), 403);
        assert!(create_status(&pa, KeyKind::Team, None).is_err());
    }

    #[test]
    fn team_keys_on_themselves() {
        let (me, my_key) = caller(KeyKind::Team, &[]);
        let other = sample_key(KeyKind::Team);
        for a in [Action::View, Action::Replace, Action::Delete] {
            assert!(may(&me, a, &my_key));
            assert!(!may(&me, a, &other));
        }
        assert!(!may(&me, Action::Update, &my_key));
        // a project key is not "itself" through the team-key rule
        let (pk, pk_key) = caller(KeyKind::Project, &[]);
        assert!(!may(&pk, Action::View, &pk_key));
    }

    #[test]
    fn admin_does_everything_and_grants_anything() {
        let (admin, _) = caller(KeyKind::Team, &["admin"]);
        let k = project_key("any");
        assert!(may(&admin, Action::Delete, &k));
        let roles = Roles::parse(&["admin", "x"]).unwrap();
        assert!(may_grant(&admin, roles.iter()).is_ok());
        assert_eq!(create_status(&admin, KeyKind::Team, None).unwrap(), Status::Active);
    }

    #[test]
    fn no_escalation() {
        let (pa, _) = caller(KeyKind::Team, &["project-admin:p1", "jobs:read"]);
        let ok = Roles::parse(&["jobs:read", "project-admin:p1"]).unwrap();
        assert!(may_grant(&pa, ok.iter()).is_ok());
        let bad = Roles::parse(&["jobs:read", "admin"]).unwrap();
        assert_eq!(may_grant(&pa, bad.iter()).unwrap_err().status(), 403);
        // replacing a key with more power than the caller's is refused
        let mut strong = project_key("p1");
        strong.roles = Roles::parse(&["admin"]).unwrap();
        assert_eq!(authorize(&pa, Action::Replace, &strong).unwrap_err().status(), 403);
        assert!(authorize(&pa, Action::Update, &strong).is_ok());
    }

    #[test]
    fn rearming_a_stronger_key_is_refused() {
        let (pa, _) = caller(KeyKind::Team, &["project-admin:p1", "jobs:run"]);
        let mut strong = project_key("p1");
        strong.roles = Roles::parse(&["admin"]).unwrap();
        strong.status = Status::Disabled;
        let mut on = strong.clone();
        on.status = Status::Active;
        assert_eq!(may_rearm(&pa, &strong, &on).unwrap_err().status(), 403);
        // renaming it, or disabling it further, is not re-arming
        let mut renamed = strong.clone();
        renamed.name = crate::model::KeyName::parse("r").unwrap();
        assert!(may_rearm(&pa, &strong, &renamed).is_ok());
        // an expiry moved later, or cleared, re-arms; moved earlier does not
        let t = time::macros::datetime!(2030-01-01 0:00 UTC);
        let mut expiring = strong.clone();
        expiring.status = Status::Active;
        expiring.expires_at = Some(t);
        for (later, rearmed) in [
            (Some(t + time::Duration::days(1)), true),
            (None, true),
            (Some(t - time::Duration::days(1)), false),
        ] {
            let mut next = expiring.clone();
            next.expires_at = later;
            assert_eq!(rearms(&expiring, &next), rearmed, "{later:?}");
            assert_eq!(may_rearm(&pa, &expiring, &next).is_err(), rearmed);
        }
        // with the key's roles held (or as admin) it is fine
        let mut weak = strong.clone();
        weak.roles = Roles::parse(&["jobs:run"]).unwrap();
        let mut weak_on = weak.clone();
        weak_on.status = Status::Active;
        assert!(may_rearm(&pa, &weak, &weak_on).is_ok());
        let (admin, _) = caller(KeyKind::Team, &["admin"]);
        assert!(may_rearm(&admin, &strong, &on).is_ok());
        // approving a Pending key is a decision, not re-arming
        let mut pending = strong.clone();
        pending.status = Status::Pending;
        assert!(!rearms(&pending, &on));
    }

    #[test]
    fn other_teams_and_tombstones_are_invisible() {
        let (admin, _) = caller(KeyKind::Team, &["admin"]);
        let mut k = project_key("p1");
        assert!(visible(&admin, Some(k.clone())).is_some());
        k.team_id = Ident::parse("team-2").unwrap();
        assert!(visible(&admin, Some(k.clone())).is_none());
        k.team_id = admin.team().clone();
        k.status = Status::Deleted;
        assert!(visible(&admin, Some(k)).is_none());
    }
}
