//! The stored key record and its JSON (the key object): the hashes never leave the server.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::attributes::{Description, Ident, KeyName, Labels, Roles, WebhookUrl};
use super::limits::{Quota, RateLimit, RateWindow};
use super::status::Status;
use super::timestamp::format_time;
use crate::token::{KeyKind, Prefix, SecretHash, Token};

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
    pub rate_limit: Option<RateLimit>,
    /// The rate window as stored: what the authorizers leased of it so far.
    pub rate_window: RateWindow,
    pub quota: Option<Quota>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub last_active: Option<OffsetDateTime>,
    pub submitted_jobs: u64,
    pub retrieved: bool,
    pub preview: String,
    pub version: u64,
    /// Which secret is current: 1 at creation, one more at each replace. The authorizer's
    /// context names the generation of the secret a call presented, so management can tell a
    /// replaced secret from the current one without any hash leaving the authorizer.
    pub generation: u64,
    pub secret_hash: SecretHash,
    /// The secret current before the last replace (generation `generation - 1`).
    pub previous: Option<PreviousSecret>,
    /// Who approved the key, when it was Pending or Rejected and made Active.
    pub approved_by: Option<String>,
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
    /// `isDefault` of the original product: true for team (user) keys.
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

    /// The generation of the secret `matched` names (none for [`SecretMatch::None`]).
    pub fn generation_of(&self, matched: SecretMatch) -> Option<u64> {
        match matched {
            SecretMatch::Current => Some(self.generation),
            SecretMatch::Previous => Some(self.generation.saturating_sub(1)),
            SecretMatch::None => None,
        }
    }

    /// Whether a secret of `generation` still opens the key at `now`: the current one, or the
    /// previous one while its grace period lasts.
    pub fn accepts_generation(&self, generation: u64, now: OffsetDateTime) -> bool {
        generation == self.generation
            || (generation + 1 == self.generation
                && self.previous.as_ref().is_some_and(|p| now < p.valid_until))
    }

    /// Whether the authorizer charges the key's calls (a rate limit or a quota).
    pub fn is_limited(&self) -> bool {
        self.rate_limit.is_some() || self.quota.is_some()
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// The key after a replace at `now`: a new token for the same prefix, the generation one
    /// more, its preview, and the current secret kept as the previous one for `grace_seconds`
    /// (none when 0). One previous secret at most: a second replace ends the first one's grace
    /// period. The API's replace and `keys-admin replace` both make their change with this.
    pub fn replaced(&self, now: OffsetDateTime, grace_seconds: u64) -> (ApiKey, Token) {
        let token = Token::generate_for(self.kind, self.prefix.clone());
        let mut next = self.clone();
        next.previous = (grace_seconds > 0).then(|| PreviousSecret {
            hash: self.secret_hash.clone(),
            valid_until: now + Duration::seconds(grace_seconds.min(i64::MAX as u64) as i64),
        });
        next.secret_hash = token.hash();
        next.generation = self.generation + 1;
        next.preview = token.preview();
        next.retrieved = true;
        next.updated_at = now;
        (next, token)
    }

    /// The key object of docs/API.md, camelCase, without any hash.
    pub fn to_json(&self) -> serde_json::Value {
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
            "rateLimit": self.rate_limit.map(|r| r.to_json()),
            "quota": self.quota.map(|q| q.to_json()),
            "createdAt": format_time(self.created_at),
            "createdBy": self.created_by,
            "updatedAt": format_time(self.updated_at),
            "lastActiveDateTime": self.last_active.map(format_time),
            "submittedJobs": self.submitted_jobs,
            "retrieved": self.retrieved,
            "approvedBy": self.approved_by,
            "account": { "id": self.team_id.as_str() },
            "user": self.user_id.as_ref().map(|u| json!({ "id": u.as_str() })),
            "project": self.project_id.as_ref().map(|p| json!({ "id": p.as_str() })),
            "version": self.version,
        })
    }
}

/// Everything a new key is made of, validated.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub kind: KeyKind,
    pub team_id: Ident,
    pub user_id: Option<Ident>,
    pub project_id: Option<Ident>,
    pub name: KeyName,
    pub description: Option<Description>,
    pub status: Status,
    pub roles: Roles,
    pub labels: Labels,
    pub is_high_priority: bool,
    pub webhook_url: Option<WebhookUrl>,
    pub expires_at: Option<OffsetDateTime>,
    pub rate_limit: Option<RateLimit>,
    pub quota: Option<Quota>,
    pub created_by: String,
}

impl NewKey {
    /// The record and its token: a fresh prefix and secret, only the hash kept.
    pub fn mint(&self, now: OffsetDateTime) -> (ApiKey, Token) {
        let token = Token::generate(self.kind);
        let key = ApiKey {
            prefix: token.prefix().clone(),
            kind: self.kind,
            team_id: self.team_id.clone(),
            user_id: self.user_id.clone(),
            project_id: self.project_id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            status: self.status,
            roles: self.roles.clone(),
            labels: self.labels.clone(),
            is_high_priority: self.is_high_priority,
            webhook_url: self.webhook_url.clone(),
            expires_at: self.expires_at,
            rate_limit: self.rate_limit,
            rate_window: RateWindow::default(),
            quota: self.quota,
            created_at: now,
            created_by: self.created_by.clone(),
            updated_at: now,
            last_active: None,
            submitted_jobs: 0,
            retrieved: true,
            preview: token.preview(),
            version: 1,
            generation: 1,
            secret_hash: token.hash(),
            previous: None,
            approved_by: None,
            deleted_at: None,
        };
        (key, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_key_with_token;

    #[test]
    fn a_replace_keeps_the_prefix_and_the_old_secret_for_its_grace_period() {
        let (key, old) = sample_key_with_token(KeyKind::Project);
        let now = key.created_at + Duration::minutes(5);

        let (next, token) = key.replaced(now, 60);
        assert_eq!(token.prefix(), &key.prefix);
        assert_eq!(next.prefix, key.prefix);
        assert_eq!(next.generation, key.generation + 1);
        assert_eq!(next.preview, token.preview());
        assert_eq!(next.updated_at, now);
        assert_eq!(next.version, key.version, "the store bumps the version");
        assert_eq!(next.match_secret(&token, now), SecretMatch::Current);
        assert_eq!(next.match_secret(&old, now), SecretMatch::Previous);
        let later = now + Duration::seconds(60);
        assert_eq!(next.match_secret(&old, later), SecretMatch::None);
        let changes = super::super::audit::replace_changes(&key, &next, 60);
        assert_eq!(changes["secret"], (json!("generation 1"), json!("generation 2")));
        assert_eq!(changes["gracePeriodSeconds"], (serde_json::Value::Null, json!(60)));

        // no grace: the old secret stops now; a second replace ends the first one's grace
        let (again, _) = next.replaced(now, 0);
        assert!(again.previous.is_none());
        assert_eq!(again.match_secret(&token, now), SecretMatch::None);
        assert_eq!(again.match_secret(&old, now), SecretMatch::None);
    }
}
