//! `POST /keys/{prefix}/replace`: a new secret for the same prefix. The old secret stops working
//! now, or at the end of `gracePeriodSeconds` (its hash is kept as the previous secret until then).

use lambda_http::Request;

use super::change::KeyChange;
use super::create::with_token;
use super::fields::{self, Fields};
use super::permissions::Action;
use super::request::{json_body, origin};
use super::response::{etag, json_response};
use super::{AppState, Reply};
use crate::model::{Actor, AuditAction, AuditRecord};
use crate::store::Store;

/// The longest grace period: one day.
pub const MAX_GRACE_SECONDS: u64 = 86_400;

lambda_function!(ReplaceKey => replace, "The function of `POST /keys/{prefix}/replace`.");

async fn replace<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let change = KeyChange::of(req)?;
    let grace = match json_body(req, false)? {
        None => 0,
        Some(body) => {
            let mut f = Fields::new(&body);
            f.allow_only(&["gracePeriodSeconds"]);
            let grace =
                f.optional("gracePeriodSeconds", |v| fields::integer(v, 0, MAX_GRACE_SECONDS));
            f.finish()?;
            grace.unwrap_or(0)
        }
    };
    let now = state.clock.now();
    let (caller, current) = change.load(&state.store, Action::Replace, now).await?;

    let (next, token) = current.replaced(now, grace);
    let changes = crate::model::replace_changes(&current, &next, grace);
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
        &change.precondition,
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
