//! `DELETE /keys/{prefix}`: the key stops working at once and leaves the list (a tombstone stays
//! for the TTL); a second delete is 404.

use lambda_http::Request;

use super::change::KeyChange;
use super::permissions::Action;
use super::request::{origin, IfMatch};
use super::response::no_content;
use super::{AppState, Reply};
use crate::error::ApiError;
use crate::model::{Actor, AuditAction, AuditRecord, Changes};
use crate::store::{Conflict, Store, StoreError};

lambda_function!(DeleteKey => delete, "The function of `DELETE /keys/{prefix}`.");

async fn delete<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let change = KeyChange::of(req)?;
    let now = state.clock.now();
    let (caller, key) = change.load(&state.store, Action::Delete, now).await?;
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
            if matches!(change.precondition, IfMatch::Versions(_)) =>
        {
            return Err(ApiError::PreconditionFailed)
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(prefix = %key.prefix, caller = %caller.prefix(), "key deleted");
    Ok(no_content())
}
