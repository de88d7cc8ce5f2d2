//! The Lambda authorizer: validates API keys in front of API Gateway and hands the key's identity
//! to the protected API.
//!
//! [`Authorizer::decide`] is the core, shared by the Lambda ([`Authorizer::handle`], all three
//! API Gateway formats) and the local dev server. Per call, in order:
//!
//! 0. the key from exactly where API Gateway caches on ([`headers`]); two places that disagree
//!    are refused;
//! 1. format + checksum ([`Token::parse`]); a malformed key costs no store call;
//! 2. one consistent GetItem ([`KeyReader::get`]), bounded by [`STORE_TIMEOUT`];
//! 3. constant-time hash compare with the current secret, or the previous one within its grace
//!    period ([`crate::model::ApiKey::match_secret`]);
//! 4. status `Active`; 5. not expired; then allow with [`AuthContext`].
//!
//! A store error or timeout is an `Err`, never an allow (the Lambda fails the invocation, API
//! Gateway answers 500). Usage is counted in memory and written at most once a minute per key
//! ([`usage`]). Allowed decisions are cached only when a TTL is configured ([`cache`]).
//! Tokens are never logged; prefixes are.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::chain;
use crate::identity::AuthContext;
use crate::model::{ApiKey, SecretMatch, Status};
use crate::store::{Charged, KeyReader, Limiter, StoreError, UsageRecorder};
use crate::token::{Prefix, Token};

mod cache;
mod event;
mod headers;
pub mod limits;
mod usage;

pub use event::stage_resource;
pub use headers::{bearer, identity_source_key, presented_key, Headers, Presented};
pub use usage::USAGE_INTERVAL;

/// The longest the authorizer waits for its one GetItem (the DynamoDB client's own operation
/// timeout is the same; this bounds any store).
pub const STORE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the shutdown hook waits for the last usage writes: Lambda gives the hook about
/// 500 ms after `SIGTERM`.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_millis(300);
/// How long [`Authorizer::handle`] waits, before answering, for the usage writes in flight, so
/// they finish before Lambda freezes the instance. Only the first call of a key in a minute
/// starts one; a write still running after this keeps going in the background.
pub const USAGE_WAIT: Duration = Duration::from_millis(50);

/// What to do with a request.
// One decision a call, moved once: boxing the context would only add an allocation to the
// hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A good key: pass this identity on.
    Allow(AuthContext),
    /// A key was presented and refused (malformed, unknown, wrong secret, not active, expired): 403.
    Deny,
    /// No key was presented (or an empty one): 401.
    Missing,
}

/// The authorizer could not decide: fail closed.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    #[error("the key store is unavailable")]
    Store(#[source] StoreError),
    #[error("the key store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the event is not an API Gateway authorizer event this function understands")]
    UnknownEvent,
    #[error("the event's methodArn is not an execute-api method ARN")]
    BadMethodArn,
}

/// The error a REST authorizer returns for a missing or malformed key; API Gateway answers 401.
#[derive(Debug, thiserror::Error)]
#[error("Unauthorized")]
pub struct Unauthorized;

/// Why a presented key was refused (for the log and the REST answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Unknown,
    Secret,
    Status(Status),
    Expired,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown prefix",
            Refusal::Secret => "wrong secret",
            Refusal::Status(_) => "not active",
            Refusal::Expired => "expired",
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Outcome {
    Allow(AuthContext),
    /// No key, or a blank one.
    Missing,
    /// Not a token (format or checksum): refused without a store call.
    Malformed,
    /// Two places carried different keys: refused without a store call.
    Conflicting,
    /// A well-formed token the stored key does not allow (the reason is logged).
    Refused(Prefix),
}

impl From<Outcome> for Decision {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Allow(ctx) => Decision::Allow(ctx),
            Outcome::Missing => Decision::Missing,
            Outcome::Malformed | Outcome::Conflicting | Outcome::Refused(_) => Decision::Deny,
        }
    }
}

/// Built once at cold start; shared by every invocation.
pub struct Authorizer<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    cache: Option<cache::AllowCache>,
    usage: Arc<usage::UsageTracker>,
    limits: limits::Limits,
}

impl<S> Authorizer<S>
where
    S: KeyReader + UsageRecorder + Limiter + 'static,
{
    /// `cache_ttl` zero (the default configuration) turns positive caching off.
    pub fn new(store: S, clock: Arc<dyn Clock>, cache_ttl: Duration) -> Self {
        Authorizer {
            store: Arc::new(store),
            clock,
            cache: cache::AllowCache::new(cache_ttl),
            usage: Arc::default(),
            limits: limits::Limits::default(),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Decides on a presented key (`None` or blank: no key). Usage writes it starts run in
    /// the background.
    pub async fn decide(&self, token: Option<&str>) -> Result<Decision, AuthorizerError> {
        let presented = token.map_or(Presented::Nothing, Presented::Key);
        self.evaluate(presented).await.map(Decision::from)
    }

    /// Answers an API Gateway authorizer event in the format it came in (see [`event`]).
    pub async fn handle(&self, event: Value) -> Result<Value, lambda_runtime::Error> {
        let request = event::Request::parse(&event).inspect_err(|e| {
            tracing::error!(error = %e, "refusing to answer an unrecognised event");
        })?;
        let outcome = self.evaluate(request.key()).await?;
        tracing::debug!(format = request.format(), "answering");
        let response = match request {
            event::Request::HttpV2 { .. } => match outcome {
                Outcome::Allow(ctx) => event::simple_response(true, ctx.to_map()),
                _ => event::simple_response(false, Map::new()),
            },
            event::Request::Policy { resource, .. } => match outcome {
                Outcome::Allow(ctx) => {
                    event::policy_response(ctx.key_prefix.as_str(), true, &resource, ctx.to_map())
                }
                // API Gateway answers 401 to exactly this error message.
                Outcome::Missing | Outcome::Malformed => return Err(Box::new(Unauthorized)),
                Outcome::Refused(prefix) => {
                    event::policy_response(prefix.as_str(), false, &resource, Map::new())
                }
                Outcome::Conflicting => {
                    event::policy_response("conflicting-keys", false, &resource, Map::new())
                }
            },
        };
        self.usage.idle(USAGE_WAIT).await;
        Ok(response)
    }

    /// Writes every pending usage count now, whatever its age, and waits (bounded) for all
    /// writes in flight: for tests.
    pub async fn flush(&self) {
        self.flush_within(STORE_TIMEOUT + Duration::from_millis(500)).await;
    }

    /// [`Self::flush`], waiting at most `bound`; true when every write finished in time. Calls
    /// of quota leases not spent are given back too.
    pub async fn flush_within(&self, bound: Duration) -> bool {
        let writes = self.usage.take_all(self.clock.now());
        self.usage.spawn_writes(&self.store, writes);
        let give_back = async {
            for (prefix, calls) in self.limits.unspent() {
                if let Err(e) = self.store.return_quota(&prefix, calls).await {
                    tracing::warn!(%prefix, calls, error = %chain(&e), "unspent quota calls not given back");
                }
            }
        };
        let (_, idle) =
            tokio::join!(tokio::time::timeout(bound, give_back), self.usage.idle(bound));
        idle
    }

    async fn evaluate(&self, presented: Presented<'_>) -> Result<Outcome, AuthorizerError> {
        if presented == Presented::Conflict {
            tracing::info!(reason = "two places carry different keys", "request refused");
            return Ok(Outcome::Conflicting);
        }
        let Some(raw) = presented.key().map(str::trim).filter(|s| !s.is_empty()) else {
            tracing::info!(reason = "no key", "request refused");
            return Ok(Outcome::Missing);
        };
        let token = match Token::parse(raw) {
            Ok(t) => t,
            Err(e) => {
                // The input is untrusted and may be a real key with a typo: log only the class.
                tracing::info!(reason = "malformed", error = %e, "key refused");
                return Ok(Outcome::Malformed);
            }
        };
        let prefix = token.prefix();
        let hash = self.cache.as_ref().map(|_| token.hash());
        if let (Some(cache), Some(hash)) = (&self.cache, &hash) {
            let now = self.clock.now();
            if let Some(ctx) = cache.get(hash, now) {
                tracing::debug!(%prefix, cached = true, "key allowed");
                self.count(prefix, now);
                return Ok(Outcome::Allow(ctx));
            }
        }
        // A key with a small quota: one conditional write charges the call and reads the key.
        let read = if self.limits.exact(prefix) {
            let now = self.clock.now();
            let charged =
                bounded(prefix, self.store.charge_one(prefix, &token.hash(), now)).await?;
            match charged {
                Charged::Yes(key) => {
                    return Ok(self.allow_charged(&key, &token, now));
                }
                Charged::No(key) => key,
            }
        } else {
            bounded(prefix, self.store.get(prefix)).await?
        };
        let now = self.clock.now();
        let (key, matched) = match check(read.as_ref(), &token, now) {
            Ok(found) => found,
            Err(reason) => {
                match reason {
                    Refusal::Status(status) => {
                        tracing::info!(%prefix, reason = reason.as_str(), %status, "key refused")
                    }
                    _ => tracing::info!(%prefix, reason = reason.as_str(), "key refused"),
                }
                return Ok(Outcome::Refused(prefix.clone()));
            }
        };
        let generation = key.generation_of(matched).unwrap_or(key.generation);
        let mut ctx = AuthContext::opened_with(key, generation);
        if key.is_limited() {
            // Never cached: every call is charged.
            match bounded(prefix, self.limits.charge(&*self.store, key, now)).await? {
                Ok(remaining) => {
                    ctx.rate_limit_remaining = remaining.rate;
                    ctx.quota_remaining = remaining.quota;
                }
                Err(limited) => {
                    tracing::info!(%prefix, reason = limited.as_str(), "key refused");
                    return Ok(Outcome::Refused(prefix.clone()));
                }
            }
        } else {
            self.limits.not_exact(prefix);
            if let (Some(cache), Some(hash)) = (&self.cache, &hash) {
                let grace = match matched {
                    SecretMatch::Previous => key.previous.as_ref().map(|p| p.valid_until),
                    _ => None,
                };
                let limit = [key.expires_at, grace].into_iter().flatten().min();
                cache.put(hash, &ctx, now, limit);
            }
        }
        tracing::debug!(%prefix, previous_secret = matched == SecretMatch::Previous, "key allowed");
        self.count(prefix, now);
        Ok(Outcome::Allow(ctx))
    }

    /// A call charged in place of the read: the key as the charge left it (its own check again,
    /// which the write's condition already made).
    fn allow_charged(&self, key: &ApiKey, token: &Token, now: OffsetDateTime) -> Outcome {
        match check(Some(key), token, now) {
            Ok((key, matched)) => {
                let generation = key.generation_of(matched).unwrap_or(key.generation);
                let mut ctx = AuthContext::opened_with(key, generation);
                ctx.quota_remaining = self.limits.charged_one(key, now).quota;
                tracing::debug!(prefix = %key.prefix, charged = true, "key allowed");
                self.count(&key.prefix, now);
                Outcome::Allow(ctx)
            }
            Err(reason) => {
                tracing::info!(prefix = %key.prefix, reason = reason.as_str(), "key refused");
                Outcome::Refused(key.prefix.clone())
            }
        }
    }

    fn count(&self, prefix: &Prefix, now: OffsetDateTime) {
        let due = self.usage.note(prefix, now);
        if !due.is_empty() {
            self.usage.spawn_writes(&self.store, due);
        }
    }
}

/// A store call bounded by [`STORE_TIMEOUT`]; an error or a timeout fails closed.
async fn bounded<T>(
    prefix: &Prefix, call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, AuthorizerError> {
    match tokio::time::timeout(STORE_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!(%prefix, error = %chain(&e), "key store failed; failing closed");
            Err(AuthorizerError::Store(e))
        }
        Err(_) => {
            tracing::error!(%prefix, timeout = ?STORE_TIMEOUT, "key store timed out; failing closed");
            Err(AuthorizerError::Timeout(STORE_TIMEOUT))
        }
    }
}

/// Steps 3–5: secret (current, or previous within grace), status, expiry.
fn check<'k>(
    key: Option<&'k ApiKey>, token: &Token, now: OffsetDateTime,
) -> Result<(&'k ApiKey, SecretMatch), Refusal> {
    let key = key.ok_or(Refusal::Unknown)?;
    let matched = key.match_secret(token, now);
    // The hash covers the kind tag, so a kind mismatch cannot match; checked anyway.
    if matched == SecretMatch::None || key.kind != token.kind() {
        return Err(Refusal::Secret);
    }
    if key.status != Status::Active {
        return Err(Refusal::Status(key.status));
    }
    if key.is_expired(now) {
        return Err(Refusal::Expired);
    }
    Ok((key, matched))
}

#[cfg(test)]
mod tests;
