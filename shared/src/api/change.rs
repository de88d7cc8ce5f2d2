//! A change to one key, as every handler of `/keys/{prefix}` that writes starts it: the request's
//! claim, prefix and `If-Match` first (nothing read yet), then the caller and the key in one round
//! trip, checked for visibility, permission and version.

use lambda_http::Request;
use time::OffsetDateTime;

use super::caller::{Caller, Claim};
use super::permissions::{authorize, visible, Action};
use super::request::IfMatch;
use crate::error::ApiError;
use crate::model::ApiKey;
use crate::store::KeyReader;
use crate::token::Prefix;

/// A change to one key (`PATCH` or `DELETE /keys/{prefix}`, `POST /keys/{prefix}/replace`) as the
/// request states it, read before anything else: who claims to call, which key, and `If-Match`.
pub struct KeyChange {
    pub claim: Claim,
    pub prefix: Prefix,
    pub precondition: IfMatch,
}

impl KeyChange {
    pub fn of(req: &Request) -> Result<Self, ApiError> {
        let claim = Claim::from_request(req)?;
        let prefix = super::request::prefix(req)?;
        super::record_prefix(&prefix);
        let precondition = super::request::if_match(req)?;
        Ok(KeyChange { claim, prefix, precondition })
    }

    /// The caller and the key, re-read together in one round trip: the key as the caller may see
    /// it (else 404), that the caller may `action` (else 403), at the version `If-Match` names
    /// (else 412).
    pub async fn load<S: KeyReader>(
        &self, store: &S, action: Action, now: OffsetDateTime,
    ) -> Result<(Caller, ApiKey), ApiError> {
        let (caller, target) = Caller::with_target(store, &self.claim, &self.prefix, now).await?;
        let key = visible(&caller, target).ok_or(ApiError::NotFound)?;
        authorize(&caller, action, &key)?;
        self.precondition.check(key.version)?;
        Ok((caller, key))
    }
}
