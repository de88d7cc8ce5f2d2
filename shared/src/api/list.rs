//! The reads: `GET /keys` (a page of the keys the caller may see), `GET /keys/{prefix}` (one
//! key) and `GET /me` (the calling key) — one function, as API Gateway routes all three to it.

use lambda_http::Request;
use serde_json::json;

use super::caller::{Caller, Claim};
use super::fields::QueryParams;
use super::permissions::{authorize, visible, Action};
use super::request::{prefix, query};
use super::response::{etag, json_response};
use super::{record_prefix, AppState, Reply, Route};
use crate::error::ApiError;
use crate::model::Status;
use crate::model::{FieldError, Ident, NAME_MAX};
use crate::store::{ListQuery, ListScope, Store};
use crate::token::KeyKind;

const PARAMS: &[&str] = &["projectId", "keyType", "status", "search", "limit", "cursor"];
const DEFAULT_LIMIT: usize = 20;

lambda_function!(
    ListKeys { Route::GetKey => get_one, Route::Me => me, _ => list },
    "The function of `GET /keys`, `GET /keys/{prefix}` and `GET /me`."
);

async fn get_one<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let claim = Claim::from_request(req)?;
    let prefix = prefix(req)?;
    record_prefix(&prefix);
    let now = state.clock.now();
    let (caller, target) = Caller::with_target(&state.store, &claim, &prefix, now).await?;
    let key = visible(&caller, target).ok_or(ApiError::NotFound)?;
    authorize(&caller, Action::View, &key)?;
    Ok(json_response(200, &key.to_json()).header("etag", etag(key.version)).finish())
}

/// `GET /me`: the calling key as it is stored now, and what its roles let it do.
async fn me<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let claim = Claim::from_request(req)?;
    let caller = Caller::of(&state.store, &claim, state.clock.now()).await?;
    record_prefix(caller.prefix());
    let k = &caller.key;
    let ids = |set: &std::collections::BTreeSet<Ident>| -> Vec<String> {
        set.iter().map(|p| p.as_str().to_owned()).collect()
    };
    let body = json!({
        "prefix": k.prefix.as_str(),
        "preview": k.preview,
        "name": k.name.as_str(),
        "keyType": k.kind.key_type(),
        "account": { "id": k.team_id.as_str() },
        "user": k.user_id.as_ref().map(|u| json!({ "id": u.as_str() })),
        "project": k.project_id.as_ref().map(|p| json!({ "id": p.as_str() })),
        "roles": k.roles.as_strs(),
        "expiresAt": k.expires_at.map(crate::model::format_time),
        "access": {
            "admin": caller.is_admin(),
            "projectAdmin": ids(caller.administered()),
            "projectMember": ids(caller.memberships()),
        },
    });
    Ok(json_response(200, &body).finish())
}

/// The validated query string.
struct Params {
    project: Option<Ident>,
    kind: Option<KeyKind>,
    status: Option<Status>,
    search: Option<String>,
    limit: usize,
    cursor: Option<String>,
}

fn params(req: &Request) -> Result<Params, ApiError> {
    let q = QueryParams::of(&query(req), PARAMS);
    let mut f = q.fields();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let project = f.optional("projectId", |v| Ident::parse(&text(v)));
    let kind = f.optional("keyType", |v| {
        KeyKind::from_key_type(&text(v)).ok_or_else(|| "must be \"user\" or \"system\"".to_owned())
    });
    let status = f.optional("status", |v| {
        Status::parse(&text(v))
            .ok_or_else(|| "must be one of Active, Disabled, Pending, Rejected, Deleted".to_owned())
    });
    let search = f.optional("search", |v| {
        let s = text(v);
        if s.chars().count() > NAME_MAX || s.chars().any(char::is_control) {
            Err(format!("must be at most {NAME_MAX} characters without control characters"))
        } else {
            Ok(s)
        }
    });
    let (limit, cursor) = f.paging();
    f.finish()?;
    Ok(Params {
        project,
        kind,
        status,
        search: search.filter(|s| !s.is_empty()),
        limit: limit.unwrap_or(DEFAULT_LIMIT),
        cursor,
    })
}

/// What a list covers for this caller.
enum Scope {
    Keys(ListScope),
    /// A team key without project roles sees only itself.
    Itself,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new(field, message)])
}

fn scope(caller: &Caller, p: &Params) -> Result<Scope, ApiError> {
    let team = caller.team().clone();
    let ambiguous =
        || invalid("projectId", "is required: this key's roles name more than one project");
    match (&p.project, p.kind) {
        (Some(_), Some(KeyKind::Team)) => {
            Err(invalid("projectId", "is only for keyType \"system\""))
        }
        (Some(project), _) if caller.sees(project) => {
            Ok(Scope::Keys(ListScope::Project(team, project.clone())))
        }
        (Some(project), _) => Err(ApiError::Forbidden(format!(
            "This key may not list the keys of project {project}."
        ))),
        _ if caller.is_admin() => match p.kind {
            None => Ok(Scope::Keys(ListScope::WholeTeam(team))),
            Some(KeyKind::Team) => Ok(Scope::Keys(ListScope::TeamKeys(team))),
            Some(KeyKind::Project) => {
                Err(invalid("projectId", "is required with keyType \"system\""))
            }
        },
        (None, Some(KeyKind::Team)) => own_key_only(caller),
        (None, kind) => match caller.only_project() {
            Some(project) => Ok(Scope::Keys(ListScope::Project(team, project.clone()))),
            None if caller.projects().len() > 1 => Err(ambiguous()),
            None if kind.is_none() => own_key_only(caller),
            None => Err(ApiError::Forbidden("This key may not list project keys.".into())),
        },
    }
}

fn own_key_only(caller: &Caller) -> Result<Scope, ApiError> {
    if caller.is_team_key() {
        Ok(Scope::Itself)
    } else {
        Err(ApiError::Forbidden("This key may not list keys.".into()))
    }
}

async fn list<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let claim = Claim::from_request(req)?;
    let p = params(req)?;
    let caller = Caller::of(&state.store, &claim, state.clock.now()).await?;
    let (items, next_cursor) = match scope(&caller, &p)? {
        Scope::Keys(scope) => {
            let query = ListQuery {
                scope,
                status: p.status,
                search: p.search,
                limit: p.limit,
                cursor: p.cursor,
            };
            let page = state.store.list(&query).await?;
            (page.items, page.next_cursor)
        }
        Scope::Itself => {
            if p.cursor.is_some() {
                return Err(invalid("cursor", "is not a cursor this list returned"));
            }
            let own = visible(&caller, Some(caller.key.clone()));
            let needle = p.search.as_deref().map(str::to_lowercase);
            let items = own
                .filter(|k| p.status.is_none_or(|s| k.status == s))
                .filter(|k| {
                    needle.as_deref().is_none_or(|n| k.name.as_str().to_lowercase().contains(n))
                })
                .into_iter()
                .collect();
            (items, None)
        }
    };
    tracing::info!(caller = %caller.prefix(), count = items.len(), "keys listed");
    let items: Vec<_> = items.iter().map(|k| k.to_json()).collect();
    Ok(json_response(200, &json!({ "items": items, "nextCursor": next_cursor })).finish())
}
