//! The caller of a management request: the key that passed the authorizer — re-read from the
//! store on every request, so that no cache (API Gateway's, or the authorizer's own) can delay a
//! revocation of management power.
//!
//! The authorizer's context names the calling key and which of its secrets was presented
//! ([`Claim`]); nothing else of it is trusted. [`Caller::check`] then acts only on the stored key:
//! live, `Active`, unexpired, opened with its current secret (or the previous one while the
//! grace period of a replace lasts), with its *stored* roles.

use std::collections::{BTreeSet, HashMap};

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::identity::AuthContext;
use crate::model::{ApiKey, Ident, Status};
use crate::store::KeyReader;
use crate::token::{KeyKind, Prefix};

pub const ADMIN: &str = "admin";
pub const PROJECT_ADMIN: &str = "project-admin:";
pub const PROJECT_MEMBER: &str = "project-member:";

/// Which key calls, as the authorizer's context names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub prefix: Prefix,
    pub team: Ident,
    pub generation: u64,
}

impl Claim {
    /// The claim of a request: `requestContext.authorizer.lambda` (HTTP API) or
    /// `requestContext.authorizer` (REST API). No or malformed context is a 401.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let fields: Option<&HashMap<String, Value>> = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => c.authorizer.as_ref().map(|a| &a.fields),
            Some(RequestContext::ApiGatewayV1(c)) => Some(&c.authorizer.fields),
            _ => None,
        };
        fields
            .and_then(AuthContext::from_map)
            .map(|ctx| Claim {
                prefix: ctx.key_prefix,
                team: ctx.team_id,
                generation: ctx.secret_generation,
            })
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Who is calling: its stored key, with its roles sorted into what they allow.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
    admin: bool,
    project_admin: BTreeSet<Ident>,
    project_member: BTreeSet<Ident>,
}

impl Caller {
    /// A caller acting with `key`'s roles (the key is taken as checked).
    pub fn new(key: ApiKey) -> Self {
        let mut admin = false;
        let mut project_admin = BTreeSet::new();
        let mut project_member = BTreeSet::new();
        for role in key.roles.iter().map(|r| r.as_str()) {
            if role == ADMIN {
                admin = true;
            } else if let Some(p) = role.strip_prefix(PROJECT_ADMIN) {
                project_admin.extend(Ident::parse(p).ok());
            } else if let Some(p) = role.strip_prefix(PROJECT_MEMBER) {
                project_member.extend(Ident::parse(p).ok());
            }
        }
        Caller { key, admin, project_admin, project_member }
    }

    /// The caller `claim` names, from its key as stored now: 401 unless that key is the claimed
    /// team's, not deleted, `Active`, unexpired, and still opened by the claimed secret.
    pub fn check(
        claim: &Claim, stored: Option<ApiKey>, now: OffsetDateTime,
    ) -> Result<Caller, ApiError> {
        let key = stored.ok_or(ApiError::CallerRefused("deleted"))?;
        if key.team_id != claim.team || key.status == Status::Deleted {
            return Err(ApiError::CallerRefused("deleted"));
        }
        if key.status != Status::Active {
            return Err(ApiError::CallerRefused("not active"));
        }
        if key.is_expired(now) {
            return Err(ApiError::CallerRefused("expired"));
        }
        if !key.accepts_generation(claim.generation, now) {
            return Err(ApiError::CallerRefused("replaced"));
        }
        Ok(Caller::new(key))
    }

    /// The claimed caller, re-read: one GetItem.
    pub async fn of<S: KeyReader>(
        store: &S, claim: &Claim, now: OffsetDateTime,
    ) -> Result<Caller, ApiError> {
        Caller::check(claim, store.get(&claim.prefix).await?, now)
    }

    /// The claimed caller and the key at `target`, read together in one round trip.
    pub async fn with_target<S: KeyReader>(
        store: &S, claim: &Claim, target: &Prefix, now: OffsetDateTime,
    ) -> Result<(Caller, Option<ApiKey>), ApiError> {
        let (stored, key) = store.get_pair(&claim.prefix, target).await?;
        Ok((Caller::check(claim, stored, now)?, key))
    }

    pub fn prefix(&self) -> &Prefix {
        &self.key.prefix
    }
    pub fn team(&self) -> &Ident {
        &self.key.team_id
    }
    pub fn is_admin(&self) -> bool {
        self.admin
    }
    /// Whether `key` is the caller's own key.
    pub fn is(&self, key: &ApiKey) -> bool {
        self.key.prefix == key.prefix
    }
    pub fn is_team_key(&self) -> bool {
        self.key.kind == KeyKind::Team
    }
    /// `project-admin:<project>`, or `admin`.
    pub fn administers(&self, project: &Ident) -> bool {
        self.admin || self.project_admin.contains(project)
    }
    /// May see the project's keys: `project-member:`, `project-admin:` or `admin`.
    pub fn sees(&self, project: &Ident) -> bool {
        self.administers(project) || self.project_member.contains(project)
    }
    /// The projects the caller administers.
    pub fn administered(&self) -> &BTreeSet<Ident> {
        &self.project_admin
    }
    /// The projects the caller is a member of (not an administrator).
    pub fn memberships(&self) -> &BTreeSet<Ident> {
        &self.project_member
    }
    /// The projects the caller's roles name.
    pub fn projects(&self) -> BTreeSet<&Ident> {
        self.project_admin.iter().chain(self.project_member.iter()).collect()
    }
    /// The one project the roles name, when there is exactly one.
    pub fn only_project(&self) -> Option<&Ident> {
        let projects = self.projects();
        if projects.len() == 1 {
            projects.into_iter().next()
        } else {
            None
        }
    }
    /// Who to write into `createdBy` and `approvedBy`: the caller's user, else its key prefix.
    pub fn actor(&self) -> String {
        match &self.key.user_id {
            Some(u) => u.as_str().to_owned(),
            None => format!("key:{}", self.key.prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PreviousSecret;
    use crate::testing::sample_key;
    use crate::token::SecretHash;
    use time::Duration;

    fn claim(key: &ApiKey) -> Claim {
        Claim { prefix: key.prefix.clone(), team: key.team_id.clone(), generation: key.generation }
    }

    #[test]
    fn only_a_live_active_unexpired_key_with_an_accepted_secret_calls() {
        let now = OffsetDateTime::now_utc();
        let key = sample_key(KeyKind::Team);
        assert!(Caller::check(&claim(&key), Some(key.clone()), now).is_ok());
        let refused =
            |stored: Option<ApiKey>, c: &Claim| Caller::check(c, stored, now).unwrap_err().status();
        assert_eq!(refused(None, &claim(&key)), 401);
        for status in [Status::Disabled, Status::Pending, Status::Rejected, Status::Deleted] {
            let mut k = key.clone();
            k.status = status;
            assert_eq!(refused(Some(k), &claim(&key)), 401, "{status}");
        }
        let mut expired = key.clone();
        expired.expires_at = Some(now - Duration::seconds(1));
        assert_eq!(refused(Some(expired), &claim(&key)), 401);
        let mut other_team = claim(&key);
        other_team.team = Ident::parse("team-2").unwrap();
        assert_eq!(refused(Some(key.clone()), &other_team), 401);
        // replaced: the old secret's generation calls only while its grace lasts
        let mut replaced = key.clone();
        replaced.generation += 1;
        assert_eq!(refused(Some(replaced.clone()), &claim(&key)), 401);
        replaced.previous = Some(PreviousSecret {
            hash: SecretHash::of("old"),
            valid_until: now + Duration::minutes(5),
        });
        assert!(Caller::check(&claim(&key), Some(replaced.clone()), now).is_ok());
        let later = now + Duration::minutes(6);
        assert!(Caller::check(&claim(&key), Some(replaced), later).is_err());
    }
}
