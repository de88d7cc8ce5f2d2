//! The identity the authorizer hands to the protected API, in one place: the authorizer builds it
//! from a key; the management handlers read back which key (and which of its secrets) called,
//! and then re-read that key's stored state (`api::caller`).

use std::collections::HashMap;

use serde_json::Value;

use crate::model::{ApiKey, Ident, Roles};
use crate::token::{KeyKind, Prefix};

/// The context keys, as the protected API receives them.
pub mod keys {
    pub const KEY_PREFIX: &str = "keyPrefix";
    pub const KEY_NAME: &str = "keyName";
    pub const KEY_TYPE: &str = "keyType";
    pub const ACCOUNT_ID: &str = "accountId";
    pub const PROJECT_ID: &str = "projectId";
    pub const USER_ID: &str = "userId";
    pub const ROLES: &str = "roles";
    pub const LABELS: &str = "labels";
    pub const IS_HIGH_PRIORITY: &str = "isHighPriority";
    pub const WEBHOOK_URL: &str = "webhookUrl";
    pub const ORIGIN: &str = "origin";
    pub const SECRET_GENERATION: &str = "secretGeneration";
    pub const RATE_LIMIT_REMAINING: &str = "rateLimitRemaining";
    pub const QUOTA_REMAINING: &str = "quotaRemaining";
}

/// What an allowed key tells the API behind the authorizer. Every value is a string, number
/// or boolean (API Gateway allows nothing else); lists are comma-joined, absent ids are "".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub key_prefix: Prefix,
    pub key_name: String,
    pub kind: KeyKind,
    pub team_id: Ident,
    pub project_id: Option<Ident>,
    pub user_id: Option<Ident>,
    pub roles: Roles,
    pub labels: Vec<String>,
    pub is_high_priority: bool,
    pub webhook_url: Option<String>,
    /// Which of the key's secrets the call presented ([`ApiKey::generation`]): management
    /// accepts only the current one, or the previous one while its grace lasts.
    pub secret_generation: u64,
    /// For a key with a rate limit: about how many calls its window has left.
    pub rate_limit_remaining: Option<u64>,
    /// For a key with a quota: about how many calls it has left.
    pub quota_remaining: Option<u64>,
}

impl AuthContext {
    /// The context of `key`, opened with its current secret.
    pub fn of(key: &ApiKey) -> Self {
        Self::opened_with(key, key.generation)
    }

    /// The context of `key`, opened with the secret of `generation`.
    pub fn opened_with(key: &ApiKey, generation: u64) -> Self {
        AuthContext {
            key_prefix: key.prefix.clone(),
            key_name: key.name.as_str().to_owned(),
            kind: key.kind,
            team_id: key.team_id.clone(),
            project_id: key.project_id.clone(),
            user_id: key.user_id.clone(),
            roles: key.roles.clone(),
            labels: key.labels.as_slice().to_vec(),
            is_high_priority: key.is_high_priority,
            webhook_url: key.webhook_url.as_ref().map(|w| w.as_str().to_owned()),
            secret_generation: generation,
            rate_limit_remaining: None,
            quota_remaining: None,
        }
    }

    /// The context map of an authorizer response.
    pub fn to_map(&self) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        let id = |i: &Option<Ident>| Value::from(i.as_ref().map(Ident::as_str).unwrap_or(""));
        m.insert(keys::KEY_PREFIX.into(), self.key_prefix.as_str().into());
        m.insert(keys::KEY_NAME.into(), self.key_name.clone().into());
        m.insert(keys::KEY_TYPE.into(), self.kind.key_type().into());
        m.insert(keys::ACCOUNT_ID.into(), self.team_id.as_str().into());
        m.insert(keys::PROJECT_ID.into(), id(&self.project_id));
        m.insert(keys::USER_ID.into(), id(&self.user_id));
        m.insert(keys::ROLES.into(), self.roles.as_strs().join(",").into());
        m.insert(keys::LABELS.into(), self.labels.join(",").into());
        m.insert(keys::IS_HIGH_PRIORITY.into(), self.is_high_priority.into());
        m.insert(keys::WEBHOOK_URL.into(), self.webhook_url.clone().unwrap_or_default().into());
        m.insert(keys::ORIGIN.into(), "API".into());
        m.insert(keys::SECRET_GENERATION.into(), self.secret_generation.into());
        if let Some(n) = self.rate_limit_remaining {
            m.insert(keys::RATE_LIMIT_REMAINING.into(), n.into());
        }
        if let Some(n) = self.quota_remaining {
            m.insert(keys::QUOTA_REMAINING.into(), n.into());
        }
        m
    }

    /// Reads a context back, as HTTP API (typed values) or REST API (every value a string)
    /// delivers it. `None` when anything essential is missing or malformed.
    pub fn from_map(m: &HashMap<String, Value>) -> Option<Self> {
        let text = |k: &str| -> Option<&str> {
            match m.get(k)? {
                Value::String(s) => Some(s.as_str()),
                _ => None,
            }
        };
        let opt_id = |k: &str| -> Option<Option<Ident>> {
            match text(k) {
                None | Some("") => Some(None),
                Some(s) => Ident::parse(s).ok().map(Some),
            }
        };
        let list = |k: &str| -> Vec<String> {
            text(k).unwrap_or("").split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
        };
        let number = |v: &Value| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        let secret_generation = number(m.get(keys::SECRET_GENERATION)?)?;
        let is_high_priority = match m.get(keys::IS_HIGH_PRIORITY) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        Some(AuthContext {
            key_prefix: Prefix::parse(text(keys::KEY_PREFIX)?)?,
            key_name: text(keys::KEY_NAME).unwrap_or("").to_owned(),
            kind: KeyKind::from_key_type(text(keys::KEY_TYPE)?)?,
            team_id: Ident::parse(text(keys::ACCOUNT_ID)?).ok()?,
            project_id: opt_id(keys::PROJECT_ID)?,
            user_id: opt_id(keys::USER_ID)?,
            roles: Roles::parse(&list(keys::ROLES)).ok()?,
            labels: list(keys::LABELS),
            is_high_priority,
            webhook_url: text(keys::WEBHOOK_URL).filter(|s| !s.is_empty()).map(str::to_owned),
            secret_generation,
            rate_limit_remaining: m.get(keys::RATE_LIMIT_REMAINING).and_then(number),
            quota_remaining: m.get(keys::QUOTA_REMAINING).and_then(number),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_key;

    #[test]
    fn round_trips_typed_and_stringly() {
        let key = sample_key(KeyKind::Project);
        let ctx = AuthContext::of(&key);
        let typed: HashMap<String, Value> = ctx.to_map().into_iter().collect();
        assert_eq!(AuthContext::from_map(&typed), Some(ctx.clone()));
        // REST delivers every value as a string
        let strings: HashMap<String, Value> = typed
            .iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(s))
            })
            .collect();
        assert_eq!(AuthContext::from_map(&strings), Some(ctx));
        assert_eq!(typed["origin"], "API");
    }

    #[test]
    fn missing_or_malformed_is_none() {
        assert_eq!(AuthContext::from_map(&HashMap::new()), None);
        let key = sample_key(KeyKind::Team);
        let mut m: HashMap<String, Value> = AuthContext::of(&key).to_map().into_iter().collect();
        m.insert("accountId".into(), "a#b".into());
        assert_eq!(AuthContext::from_map(&m), None);
    }
}
