//! `PATCH /keys/{prefix}`: change the mutable fields; anything else in the body is a 400 naming it.
//! `If-Match: "<version>"` makes the change conditional (412 when stale).

use lambda_http::Request;

use super::change::KeyChange;
use super::fields::{self, Fields, Patch};
use super::permissions::{
    approves, may_approve, may_change_itself, may_grant, may_rearm, may_set_limits,
    may_set_priority, within_callers_expiry, Action,
};
use super::request::{json_body, origin, IfMatch};
use super::response::{etag, json_response};
use super::{AppState, Reply};
use crate::error::ApiError;
use crate::model::{
    parse_expiry, Actor, ApiKey, AuditAction, AuditRecord, Description, FieldError, KeyName,
    Labels, Quota, RateLimit, Roles, Status, WebhookUrl, QUOTA_MAX,
};
use crate::store::{Conflict, QuotaWrite, Store, StoreError};

pub const FIELDS: &[&str] = &[
    "name", "description", "status", "roles", "labels", "isHighPriority", "webhookUrl",
    "expiresAt", "rateLimit", "quota", "quotaTopUp",
];

lambda_function!(UpdateKey => update, "The function of `PATCH /keys/{prefix}`.");

/// The validated body.
struct Patched {
    name: Option<KeyName>,
    description: Patch<Description>,
    status: Option<Status>,
    roles: Option<Roles>,
    labels: Option<Labels>,
    is_high_priority: Option<bool>,
    webhook_url: Patch<WebhookUrl>,
    expires_at: Patch<time::OffsetDateTime>,
    rate_limit: Patch<RateLimit>,
    quota: Patch<Quota>,
    quota_top_up: Option<u64>,
}

fn apply<T>(patch: Patch<T>, field: &mut Option<T>) {
    match patch {
        Patch::Keep => {}
        Patch::Clear => *field = None,
        Patch::Set(v) => *field = Some(v),
    }
}

fn parse(
    body: &serde_json::Map<String, serde_json::Value>, now: time::OffsetDateTime,
) -> Result<Patched, ApiError> {
    let mut f = Fields::new(body);
    f.allow_only(FIELDS);
    if body.is_empty() {
        f.error("body", format!("must name at least one of: {}", FIELDS.join(", ")));
    }
    let changes = Patched {
        name: f.non_null("name", |v| KeyName::parse(fields::text(v)?)),
        description: f.nullable("description", |v| Description::parse(fields::text(v)?)),
        status: f.non_null("status", |v| match Status::parse(fields::text(v)?) {
            Some(Status::Deleted) => Err("cannot be set to Deleted: use DELETE".to_owned()),
            Some(s) => Ok(s),
            None => Err("must be one of Active, Disabled, Pending, Rejected".to_owned()),
        }),
        roles: f.non_null("roles", |v| Roles::parse(&fields::texts(v)?)),
        labels: f.non_null("labels", |v| Labels::parse(&fields::texts(v)?)),
        is_high_priority: f.non_null("isHighPriority", fields::boolean),
        webhook_url: f.nullable("webhookUrl", |v| WebhookUrl::parse(fields::text(v)?)),
        expires_at: f.nullable("expiresAt", |v| parse_expiry(fields::text(v)?, now)),
        rate_limit: f.nullable("rateLimit", RateLimit::parse),
        quota: f.nullable("quota", |v| Quota::parse(v, now)),
        quota_top_up: f.non_null("quotaTopUp", |v| fields::integer(v, 1, QUOTA_MAX)),
    };
    if changes.quota_top_up.is_some() && !matches!(changes.quota, Patch::Keep) {
        f.error("quotaTopUp", "cannot go with quota in one request");
    }
    f.finish()?;
    Ok(changes)
}

async fn update<S: Store>(state: &AppState<S>, req: &Request) -> Reply {
    let change = KeyChange::of(req)?;
    let body = json_body(req, true)?.unwrap_or_default();
    let now = state.clock.now();
    let changes = parse(&body, now)?;

    let (caller, current) = change.load(&state.store, Action::Update, now).await?;
    if let Some(to) = changes.status {
        if !current.status.can_become(to) {
            return Err(ApiError::Validation(vec![FieldError::new(
                "status",
                format!("cannot change from {} to {to}", current.status),
            )]));
        }
    }
    if let Some(roles) = &changes.roles {
        may_grant(&caller, roles.iter().filter(|r| !current.roles.contains(r.as_str())))?;
    }

    let mut next = current.clone();
    if let Some(name) = changes.name {
        next.name = name;
    }
    apply(changes.description, &mut next.description);
    if let Some(status) = changes.status {
        next.status = status;
    }
    if let Some(roles) = changes.roles {
        next.roles = roles;
    }
    if let Some(labels) = changes.labels {
        next.labels = labels;
    }
    if let Some(high) = changes.is_high_priority {
        next.is_high_priority = high;
    }
    apply(changes.webhook_url, &mut next.webhook_url);
    let limits_named = !matches!(changes.rate_limit, Patch::Keep)
        || !matches!(changes.quota, Patch::Keep)
        || changes.quota_top_up.is_some();
    apply(changes.rate_limit, &mut next.rate_limit);
    let quota_write = match (changes.quota, changes.quota_top_up) {
        (Patch::Set(q), _) => {
            next.quota = Some(q);
            QuotaWrite::Set(q)
        }
        (Patch::Clear, _) => {
            next.quota = None;
            QuotaWrite::Remove
        }
        (Patch::Keep, Some(n)) => match &mut next.quota {
            Some(q) => {
                q.remaining += n;
                QuotaWrite::TopUp(n)
            }
            None => {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "quotaTopUp",
                    "needs a quota to top up: set quota first",
                )]))
            }
        },
        (Patch::Keep, None) => QuotaWrite::Keep,
    };
    if limits_named {
        may_set_limits(&caller, current.project_id.as_ref())?;
    }
    let expiry_named = !matches!(changes.expires_at, Patch::Keep);
    apply(changes.expires_at, &mut next.expires_at);
    next.updated_at = now;
    may_change_itself(&caller, &current, &next)?;
    may_set_priority(&caller, current.is_high_priority, next.is_high_priority)?;
    let approval = approves(&current, &next);
    if approval {
        may_approve(&caller, &next)?;
        next.approved_by = Some(caller.actor());
    }
    if expiry_named || approval {
        within_callers_expiry(&caller, next.expires_at)?;
    }
    may_rearm(&caller, &current, &next)?;
    let audit = AuditRecord::of(
        AuditAction::of_update(&current, &next),
        Actor::key(&caller.key),
        Some(&current),
        &next,
        crate::model::Changes::new(),
        origin(req),
        now,
    );
    let stored =
        write(state, &next, current.version, &change.precondition, &audit, quota_write).await?;
    tracing::info!(
        prefix = %stored.prefix,
        caller = %caller.prefix(),
        status = %stored.status,
        "key updated"
    );
    Ok(json_response(200, &stored.to_json()).header("etag", etag(stored.version)).finish())
}

/// The conditional write of update and replace, with its audit record. A change that slipped in
/// between the read and the write is a 412 when the client named a version in `If-Match` (it is
/// stale now), else 409.
pub(crate) async fn write<S: Store>(
    state: &AppState<S>, next: &ApiKey, expected_version: u64, precondition: &IfMatch,
    audit: &AuditRecord, quota: QuotaWrite,
) -> Result<ApiKey, ApiError> {
    match state.store.update_with(next, expected_version, audit, quota).await {
        Ok(k) => Ok(k),
        Err(StoreError::Conflict(Conflict::VersionMismatch))
            if matches!(precondition, IfMatch::Versions(_)) =>
        {
            Err(ApiError::PreconditionFailed)
        }
        Err(e) => Err(e.into()),
    }
}
