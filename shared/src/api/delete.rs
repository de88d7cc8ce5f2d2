//! `DELETE /keys/{prefix}`: the key stops working at once and leaves the list (a tombstone stays
//! for the TTL); a second delete is 404.

use std::convert::Infallible;

use lambda_http::{Body, Request, Response};
use tracing::instrument;

use super::caller::Caller;
use super::http::{if_match, no_content, prefix, request_id, IfMatch};
use super::permissions::{authorize, visible, Action};
use super::{record_prefix, respond, AppState};
use crate::error::ApiError;
use crate::store::{Conflict, Store, StoreError};

/// `DELETE /keys/{prefix}`.
#[instrument(name = "delete_key", skip_all, fields(request_id, prefix))]
pub async fn delete_key<S: Store>(
    state: &AppState<S>,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let rid = request_id(&req);
    tracing::Span::current().record("request_id", rid.as_str());
    Ok(respond(&rid, delete(state, &req).await))
}

async fn delete<S: Store>(state: &AppState<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = Caller::from_request(req)?;
    let prefix = prefix(req)?;
    record_prefix(&prefix);
    let precondition = if_match(req)?;
    let key = visible(&caller, state.store.get(&prefix).await?).ok_or(ApiError::NotFound)?;
    authorize(&caller, Action::Delete, &key)?;
    precondition.check(key.version)?;
    match state
        .store
        .delete(&key, key.version, state.clock.now())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(Conflict::VersionMismatch))
            if matches!(precondition, IfMatch::Versions(_)) =>
        {
            return Err(ApiError::PreconditionFailed)
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(prefix = %key.prefix, caller = %caller.ctx.key_prefix, "key deleted");
    Ok(no_content())
}
