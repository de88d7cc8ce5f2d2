//! `DELETE /keys/{prefix}`: the key stops working at once and leaves the list (a tombstone stays
//! for the TTL); a second delete is 404.

use std::future::Future;

use lambda_http::{Body, Request, Response};

use super::caller::{Caller, Claim};
use super::permissions::{authorize, visible, Action};
use super::request::{if_match, origin, prefix, IfMatch};
use super::response::no_content;
use super::{record_prefix, AppState, Function, Handler, Route};
use crate::error::ApiError;
use crate::model::{Actor, AuditAction, AuditRecord, Changes};
use crate::store::{Conflict, Store, StoreError};

/// The function of `DELETE /keys/{prefix}`.
pub struct DeleteKey;

impl<S: Store> Handler<S> for DeleteKey {
    const FUNCTION: Function = Function::DeleteKey;
    fn handle<'a>(
        state: &'a AppState<S>,
        _route: Route,
        req: &'a Request,
    ) -> impl Future<Output = Result<Response<Body>, ApiError>> + Send + 'a {
        delete(state, req)
    }
}

async fn delete<S: Store>(state: &AppState<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let claim = Claim::from_request(req)?;
    let prefix = prefix(req)?;
    record_prefix(&prefix);
    let precondition = if_match(req)?;
    let now = state.clock.now();
    let (caller, target) = Caller::with_target(&state.store, &claim, &prefix, now).await?;
    let key = visible(&caller, target).ok_or(ApiError::NotFound)?;
    authorize(&caller, Action::Delete, &key)?;
    precondition.check(key.version)?;
    let mut dead = key.clone();
    dead.status = crate::model::Status::Deleted;
    let audit = AuditRecord::of(
        AuditAction::Deleted,
        Actor::key(&caller.key),
        Some(&key),
        &dead,
        Changes::new(),
        origin(req),
        now,
    );
    match state.store.delete(&key, key.version, now, &audit).await {
        Ok(()) => {}
        Err(StoreError::Conflict(Conflict::VersionMismatch))
            if matches!(precondition, IfMatch::Versions(_)) =>
        {
            return Err(ApiError::PreconditionFailed)
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(prefix = %key.prefix, caller = %caller.prefix(), "key deleted");
    Ok(no_content())
}
