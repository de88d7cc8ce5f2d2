//! The audit trail's reads: `GET /keys/{prefix}/audit` (one key's history, for whoever may read
//! the key) and `GET /audit` (a team's or a project's records, for its admin), newest first.
//!
//! A deleted key's history stays readable after its tombstone is gone: who may read it is
//! decided from its records (their team, the key's kind and project), not from the key.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use time::OffsetDateTime;

use super::caller::{Caller, Claim};
use super::fields::QueryParams;
use super::permissions::{authorize, Action};
use super::request::{prefix, query};
use super::response::json_response;
use super::{record_prefix, AppState, Reply, Route};
use crate::error::ApiError;
use crate::model::{parse_time, AuditAction, FieldError, Ident, Status};
use crate::store::{AuditQuery, AuditScope, Store};
use crate::token::{KeyKind, Prefix};

const DEFAULT_LIMIT: usize = 20;

lambda_function!(
    ListAudit { Route::KeyAudit => key_history, _ => team_activity },
    "The function of the audit trail's reads."
);

/// The filters of `GET /audit` (a key's history takes only `limit` and `cursor`).
struct Filters {
    project: Option<Ident>,
    actor: Option<String>,
    action: Option<AuditAction>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    limit: usize,
    cursor: Option<String>,
}

fn filters(req: &Request, allowed: &[&str]) -> Result<Filters, ApiError> {
    let q = QueryParams::of(&query(req), allowed);
    let mut f = q.fields();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let time = |v: &serde_json::Value| {
        parse_time(&text(v)).ok_or_else(|| "must be an RFC 3339 timestamp".to_owned())
    };
    let project = f.optional("projectId", |v| Ident::parse(&text(v)));
    let actor = f.optional("actor", |v| {
        let a = text(v);
        if a == "operator" || Prefix::parse(&a).is_some() {
            Ok(a)
        } else {
            Err("must be a key's prefix (12 letters and digits) or \"operator\"".to_owned())
        }
    });
    let action = f.optional("action", |v| {
        AuditAction::parse(&text(v)).ok_or_else(|| {
            let all: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
            format!("must be one of {}", all.join(", "))
        })
    });
    let since = f.optional("since", time);
    let until = f.optional("until", time);
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            f.error("since", "must not be after until");
        }
    }
    let (limit, cursor) = f.paging();
    f.finish()?;
    Ok(Filters {
        project,
        actor,
        action,
        since,
        until,
        limit: limit.unwrap_or(DEFAULT_LIMIT),
        cursor,
    })
}

fn page_response(page: crate::store::AuditPage) -> Response<Body> {
    let items: Vec<_> = page.items.iter().map(|r| r.to_json()).collect();
    json_response(200, &json!({ "items": items, "nextCursor": page.next_cursor })).finish()
}

/// `GET /keys/{prefix}/audit`.
async fn key_history<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let claim = Claim::from_request(req)?;
    let prefix = prefix(req)?;
    record_prefix(&prefix);
    let p = filters(req, &["limit", "cursor"])?;
    let now = state.clock.now();
    let (caller, target) = Caller::with_target(&state.store, &claim, &prefix, now).await?;
    let scope = AuditScope::Key(caller.team().clone(), prefix.clone());
    match target {
        Some(key) if key.status != Status::Deleted => {
            if &key.team_id != caller.team() {
                return Err(ApiError::NotFound);
            }
            authorize(&caller, Action::View, &key)?;
        }
        // Deleted (a tombstone, or gone): the records say whose key it was.
        _ => {
            let newest = state
                .store
                .audit(&AuditQuery { limit: 1, ..AuditQuery::new(scope.clone()) })
                .await?;
            let record = newest.items.first().ok_or(ApiError::NotFound)?;
            let may = caller.is_admin()
                || (record.key_kind == KeyKind::Project
                    && record.project.as_ref().is_some_and(|p| caller.sees(p)));
            if !may {
                return Err(ApiError::Forbidden(format!(
                    "This key may not view the history of key {prefix}."
                )));
            }
        }
    }
    let page = state
        .store
        .audit(&AuditQuery { limit: p.limit, cursor: p.cursor, ..AuditQuery::new(scope) })
        .await?;
    tracing::info!(caller = %caller.prefix(), count = page.items.len(), "key history listed");
    Ok(page_response(page))
}

/// `GET /audit`: an admin's whole team (or one project), a project admin's project.
async fn team_activity<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let claim = Claim::from_request(req)?;
    let p = filters(req, &["projectId", "actor", "action", "since", "until", "limit", "cursor"])?;
    let caller = Caller::of(&state.store, &claim, state.clock.now()).await?;
    let team = caller.team().clone();
    let project = match (&p.project, caller.is_admin()) {
        (Some(project), _) if caller.administers(project) => Some(project.clone()),
        (Some(project), _) => {
            return Err(ApiError::Forbidden(format!(
                "This key may not read the activity of project {project}."
            )))
        }
        (None, true) => None,
        (None, false) => match caller.administered().iter().collect::<Vec<_>>().as_slice() {
            [only] => Some((*only).clone()),
            [] => {
                return Err(ApiError::Forbidden(
                    "Only an admin or a project admin may read the activity.".into(),
                ))
            }
            _ => {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "projectId",
                    "is required: this key administers more than one project",
                )]))
            }
        },
    };
    let scope = match project {
        Some(project) => AuditScope::Project(team, project),
        None => AuditScope::Team(team),
    };
    let page = state
        .store
        .audit(&AuditQuery {
            scope,
            actor: p.actor,
            action: p.action,
            since: p.since,
            until: p.until,
            limit: p.limit,
            cursor: p.cursor,
        })
        .await?;
    tracing::info!(caller = %caller.prefix(), count = page.items.len(), "activity listed");
    Ok(page_response(page))
}
