//! `POST /keys/{prefix}/replace`: a new secret for the same prefix. The old secret stops working
//! now, or at the end of `gracePeriodSeconds` (its hash is kept as the previous secret until then).

use std::future::Future;

use lambda_http::{Body, Request, Response};

use super::caller::{Caller, Claim};
use super::create::with_token;
use super::fields::{self, Fields};
use super::permissions::{authorize, visible, Action};
use super::request::{if_match, json_body, origin, prefix};
use super::response::{etag, json_response};
use super::{record_prefix, AppState, Function, Handler, Route};
use crate::error::ApiError;
use crate::model::{Actor, AuditAction, AuditRecord};
use crate::store::Store;

/// The longest grace period: one day.
pub const MAX_GRACE_SECONDS: u64 = 86_400;

/// The function of `POST /keys/{prefix}/replace`.
pub struct ReplaceKey;

impl<S: Store> Handler<S> for ReplaceKey {
    const FUNCTION: Function = Function::ReplaceKey;
    fn handle<'a>(
        state: &'a AppState<S>,
        _route: Route,
        req: &'a Request,
    ) -> impl Future<Output = Result<Response<Body>, ApiError>> + Send + 'a {
        replace(state, req)
    }
}

async fn replace<S: Store>(state: &AppState<S>, req: &Request) -> Result<Response<Body>, ApiError> {
    let claim = Claim::from_request(req)?;
    let prefix = prefix(req)?;
    record_prefix(&prefix);
    let precondition = if_match(req)?;
    let grace = match json_body(req, false)? {
        None => 0,
        Some(body) => {
            let mut f = Fields::new(&body);
            f.allow_only(&["gracePeriodSeconds"]);
            let grace = f.optional("gracePeriodSeconds", |v| {
                fields::integer(v, 0, MAX_GRACE_SECONDS)
            });
            f.finish()?;
            grace.unwrap_or(0)
        }
    };
    let now = state.clock.now();
    let (caller, target) = Caller::with_target(&state.store, &claim, &prefix, now).await?;
    let current = visible(&caller, target).ok_or(ApiError::NotFound)?;
    authorize(&caller, Action::Replace, &current)?;
    precondition.check(current.version)?;

    let (next, token) = current.replaced(now, grace);
    let changes = current.replace_changes(&next, grace);
    let audit = AuditRecord::of(
        AuditAction::Replaced,
        Actor::key(&caller.key),
        Some(&current),
        &next,
        changes,
        origin(req),
        now,
    );
    let stored = super::update::write(
        state,
        &next,
        current.version,
        &precondition,
        &audit,
        crate::store::QuotaWrite::Keep,
    )
    .await?;
    tracing::info!(
        prefix = %stored.prefix,
        caller = %caller.prefix(),
        grace_seconds = grace,
        "key replaced"
    );
    Ok(json_response(200, &with_token(&stored, &token))
        .header("etag", etag(stored.version))
        .finish())
}
