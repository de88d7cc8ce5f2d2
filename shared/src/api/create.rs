//! `POST /keys`: mint a key, store only its hash, show the token once. Also the bootstrap of the
//! first admin key, which writes through the same code without an HTTP caller.

use lambda_http::Request;
use serde_json::Value;
use time::OffsetDateTime;

use super::caller::{Caller, Claim, ADMIN};
use super::fields::{self, Fields, Patch};
use super::permissions::{
    create_status, may_grant, may_set_limits, may_set_priority, within_callers_expiry,
};
use super::request::{json_body, origin};
use super::response::{etag, json_response};
use super::{record_prefix, AppState, Reply};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::model::{
    parse_expiry, Actor, ApiKey, AuditAction, AuditRecord, Changes, Description, FieldError, Ident,
    KeyName, Labels, NewKey, Origin, Quota, RateLimit, Roles, Status, WebhookUrl,
};
use crate::store::{Conflict, KeyWriter, Store, StoreError};
use crate::token::{KeyKind, Token};

const FIELDS: &[&str] = &[
    "name", "description", "keyType", "projectId", "userId", "roles", "labels", "isHighPriority",
    "webhookUrl", "expiresAt", "rateLimit", "quota",
];

/// Writes a new key with its audit record (`action` by `actor`); a prefix collision (62^12
/// makes it all but impossible) gets a new one.
pub async fn store_new<S: KeyWriter>(
    spec: &NewKey, store: &S, now: OffsetDateTime,
    (action, actor, origin): (AuditAction, Actor, Origin),
) -> Result<(ApiKey, Token), ApiError> {
    let mut attempts = 0;
    loop {
        let (key, token) = spec.mint(now);
        let audit =
            AuditRecord::of(action, actor.clone(), None, &key, Changes::new(), origin.clone(), now);
        match store.create(&key, &audit).await {
            Ok(()) => return Ok((key, token)),
            Err(StoreError::Conflict(Conflict::DuplicatePrefix)) if attempts < 2 => {
                attempts += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
/// The body of create and replace: the token, then the key object.
pub fn with_token(key: &ApiKey, token: &Token) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("key".into(), token.expose().into());
    if let Value::Object(fields) = key.to_json() {
        body.extend(fields);
    }
    Value::Object(body)
}

lambda_function!(CreateKey => create, "The function of `POST /keys`.");

async fn create<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let claim = Claim::from_request(req)?;
    let body = json_body(req, true)?.unwrap_or_default();
    let now = state.clock.now();
    let caller = Caller::of(&state.store, &claim, now).await?;
    let spec = parse(&caller, &body, now)?;
    may_grant(&caller, spec.roles.iter())?;
    may_set_priority(&caller, false, spec.is_high_priority)?;
    let audit = (AuditAction::Created, Actor::key(&caller.key), origin(req));
    let (key, token) = store_new(&spec, &state.store, now, audit).await?;
    record_prefix(&key.prefix);
    tracing::info!(
        prefix = %key.prefix,
        caller = %caller.prefix(),
        status = %key.status,
        "key created"
    );
    Ok(json_response(201, &with_token(&key, &token))
        .header("location", format!("/keys/{}", key.prefix))
        .header("etag", etag(key.version))
        .finish())
}

/// The body, validated field by field (every error reported), then who owns the key and the
/// status the caller's roles give it (403 when they give none).
fn parse(
    caller: &Caller, body: &serde_json::Map<String, Value>, now: OffsetDateTime,
) -> Result<NewKey, ApiError> {
    let mut f = Fields::new(body);
    f.allow_only(FIELDS);
    let name = f.required("name", |v| KeyName::parse(fields::text(v)?));
    let description = f.optional("description", |v| Description::parse(fields::text(v)?));
    let kind = f.optional("keyType", |v| {
        KeyKind::from_key_type(fields::text(v)?)
            .ok_or_else(|| "must be \"user\" or \"system\"".to_owned())
    });
    let project_id = f.optional("projectId", |v| Ident::parse(fields::text(v)?));
    let user_id = f.optional("userId", |v| Ident::parse(fields::text(v)?));
    let roles = f.optional("roles", |v| Roles::parse(&fields::texts(v)?));
    let labels = f.optional("labels", |v| Labels::parse(&fields::texts(v)?));
    let is_high_priority = f.optional("isHighPriority", fields::boolean);
    let webhook_url = f.optional("webhookUrl", |v| WebhookUrl::parse(fields::text(v)?));
    let rate_limit = f.optional("rateLimit", RateLimit::parse);
    let quota = f.optional("quota", |v| Quota::parse(v, now));
    // Omitted, it is the caller's own expiry (none for a key that never expires); `null` asks
    // for none, which a caller that expires may not give.
    let expires_at = match f.nullable("expiresAt", |v| parse_expiry(fields::text(v)?, now)) {
        Patch::Keep => caller.key.expires_at,
        Patch::Clear => None,
        Patch::Set(t) => Some(t),
    };
    if !f.has_error("expiresAt") {
        if let Err(ApiError::Validation(errors)) = within_callers_expiry(caller, expires_at) {
            for e in errors {
                f.error(&e.field, e.message);
            }
        }
    }

    // keyType defaults to "system" when a projectId is given, else "user".
    let given_project = body.get("projectId").is_some_and(|v| !v.is_null());
    let given_user = body.get("userId").is_some_and(|v| !v.is_null());
    let kind = kind.unwrap_or(if given_project { KeyKind::Project } else { KeyKind::Team });
    let (user_id, project_id) = match kind {
        KeyKind::Project => {
            if given_user {
                f.error("userId", "is only for keyType \"user\"");
            }
            let project = project_id.or_else(|| caller.only_project().cloned());
            if project.is_none() && !given_project {
                f.error("projectId", "is required for keyType \"system\"");
            }
            (None, project)
        }
        KeyKind::Team => {
            if given_project {
                f.error("projectId", "is only for keyType \"system\"");
            }
            let user = user_id.or_else(|| caller.key.user_id.clone());
            if user.is_none() && !given_user {
                f.error("userId", "is required: the calling key has no user");
            }
            (user, None)
        }
    };
    let done = f.finish();
    let Some(name) = name else {
        // `finish` has reported the name; this only satisfies the types.
        return Err(done
            .err()
            .unwrap_or(ApiError::Validation(vec![FieldError::new("name", "is required")])));
    };
    done?;
    let status = create_status(caller, kind, project_id.as_ref())?;
    if rate_limit.is_some() || quota.is_some() {
        may_set_limits(caller, project_id.as_ref())?;
    }
    Ok(NewKey {
        kind,
        team_id: caller.team().clone(),
        user_id,
        project_id,
        name,
        description,
        status,
        roles: roles.unwrap_or_default(),
        labels: labels.unwrap_or_default(),
        is_high_priority: is_high_priority.unwrap_or(false),
        webhook_url,
        expires_at,
        rate_limit,
        quota,
        created_by: caller.actor(),
    })
}

/// Mints the first `admin` team key of a team (the bootstrap), for an operator with AWS
/// credentials: no HTTP caller, written through the same store code and audited as
/// `bootstrapped` by `operator`. A user who already has a team key in the team gets a
/// 409-class conflict.
pub async fn bootstrap_admin<S: KeyWriter>(
    store: &S, clock: &dyn Clock, team: Ident, user: Ident, name: &str, operator: &str,
) -> Result<(ApiKey, Token), ApiError> {
    let name =
        KeyName::parse(name).map_err(|m| ApiError::Validation(vec![FieldError::new("name", m)]))?;
    let roles = Roles::parse(&[ADMIN]).map_err(|m| ApiError::Internal(m.into()))?;
    let spec = NewKey {
        kind: KeyKind::Team,
        team_id: team,
        user_id: Some(user),
        project_id: None,
        name,
        description: None,
        status: Status::Active,
        roles,
        labels: Labels::default(),
        is_high_priority: false,
        webhook_url: None,
        expires_at: None,
        rate_limit: None,
        quota: None,
        created_by: "bootstrap".into(),
    };
    let audit = (
        AuditAction::Bootstrapped,
        Actor::Operator { name: operator.to_owned() },
        Origin {
            request_id: format!("operator-{}", crate::token::random_base62(12)),
            ..Origin::default()
        },
    );
    let (key, token) = store_new(&spec, store, clock.now(), audit).await?;
    tracing::info!(prefix = %key.prefix, team = %key.team_id, "bootstrap admin key created");
    Ok((key, token))
}
