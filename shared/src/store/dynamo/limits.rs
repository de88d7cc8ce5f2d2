//! The authorizer's charges for keys with limits: one conditional `UpdateItem` each, on the
//! key's live counters only (`rlWindow`, `rlUsed`, `quotaRemaining`, `quotaRefilledAt`), never
//! its version. A condition that fails returns the old counters (`ALL_OLD`), so a lease that lost
//! a race retries once with what is left, without another read.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::OffsetDateTime;

use super::item::{
    from_item, number, number_i, text, Item, ItemExt, QUOTA_REFILLED_AT, QUOTA_REMAINING, RL_USED,
    RL_WINDOW,
};
use super::{unavailable, DynamoStore};
use crate::model::{sortable_time, RateWindow, Status};
use crate::store::{Charged, Lease, Limiter, StoreError};
use crate::token::{Prefix, SecretHash};

/// How often a lease that lost a race is tried again with what is left.
const LEASE_ATTEMPTS: usize = 3;

/// What a conditional update did: its new values, or (the condition failed) the old item.
enum Conditional {
    Done(Item),
    Failed(Option<Item>),
}

impl DynamoStore {
    fn counters_update(&self, prefix: &Prefix) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(self.key_of(prefix)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    async fn conditional(&self, req: UpdateItemFluentBuilder) -> Result<Conditional, StoreError> {
        match req.send().await {
            Ok(out) => Ok(Conditional::Done(out.attributes.unwrap_or_default())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Conditional::Failed(c.item().cloned()))
                }
                _ => Err(unavailable(e)),
            },
        }
    }
}

fn window_of(item: &Item) -> Result<RateWindow, StoreError> {
    Ok(RateWindow {
        start: item.opt_number_i(RL_WINDOW)?.unwrap_or(0),
        used: item.number(RL_USED)?,
    })
}

impl Limiter for DynamoStore {
    #[tracing::instrument(skip(self, seen), fields(prefix = %prefix))]
    async fn lease_rate(
        &self, prefix: &Prefix, window: i64, want: u64, limit: u64, seen: RateWindow,
    ) -> Result<Option<Lease>, StoreError> {
        let mut seen = seen;
        for _ in 0..LEASE_ATTEMPTS {
            if seen.start > window {
                // Another instance's clock is already in the next window.
                return Ok(None);
            }
            let fresh = seen.start < window;
            let used = if fresh { 0 } else { seen.used };
            let granted = want.min(limit.saturating_sub(used));
            if granted == 0 {
                return Ok(None);
            }
            let req = self
                .counters_update(prefix)
                .expression_attribute_names("#w", RL_WINDOW)
                .expression_attribute_names("#u", RL_USED)
                .expression_attribute_values(":w", number_i(window))
                .expression_attribute_values(":n", number(granted))
                .return_values(ReturnValue::UpdatedNew);
            let req = if fresh {
                // A new window: it starts with this lease.
                req.update_expression("SET #w = :w, #u = :n").condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(#w) OR #w < :w)",
                )
            } else {
                // The window goes on: never past the limit, whoever leased meanwhile.
                req.update_expression("SET #u = #u + :n")
                    .condition_expression("#w = :w AND #u <= :max")
                    .expression_attribute_values(":max", number(limit - granted))
            };
            match self.conditional(req).await? {
                Conditional::Done(new) => {
                    return Ok(Some(Lease { granted, after: new.number(RL_USED)? }))
                }
                Conditional::Failed(None) => return Err(StoreError::NotFound),
                Conditional::Failed(Some(old)) => seen = window_of(&old)?,
            }
        }
        Ok(None)
    }

    #[tracing::instrument(skip(self), fields(prefix = %prefix))]
    async fn lease_quota(&self, prefix: &Prefix, want: u64) -> Result<Option<Lease>, StoreError> {
        let mut want = want;
        for _ in 0..LEASE_ATTEMPTS {
            let req = self
                .counters_update(prefix)
                .update_expression("ADD #q :minus")
                .condition_expression("#q >= :n")
                .expression_attribute_names("#q", QUOTA_REMAINING)
                .expression_attribute_values(":minus", number_i(-(want as i64)))
                .expression_attribute_values(":n", number(want))
                .return_values(ReturnValue::UpdatedNew);
            match self.conditional(req).await? {
                Conditional::Done(new) => {
                    let after = new.opt_number_i(QUOTA_REMAINING)?.unwrap_or(0).max(0) as u64;
                    return Ok(Some(Lease { granted: want, after }));
                }
                Conditional::Failed(None) => return Err(StoreError::NotFound),
                Conditional::Failed(Some(old)) => {
                    let left = old.opt_number_i(QUOTA_REMAINING)?.unwrap_or(0).max(0) as u64;
                    if left == 0 {
                        return Ok(None);
                    }
                    want = want.min(left);
                }
            }
        }
        Ok(None)
    }

    #[tracing::instrument(skip(self), fields(prefix = %prefix))]
    async fn return_quota(&self, prefix: &Prefix, calls: u64) -> Result<(), StoreError> {
        let req = self
            .counters_update(prefix)
            .update_expression("ADD #q :n")
            .condition_expression("attribute_exists(#q)")
            .expression_attribute_names("#q", QUOTA_REMAINING)
            .expression_attribute_values(":n", number(calls));
        // A key whose quota is gone has nothing to give back to.
        self.conditional(req).await.map(|_| ())
    }

    #[tracing::instrument(skip(self), fields(prefix = %prefix))]
    async fn refill_quota(
        &self, prefix: &Prefix, amount: u64, last: Option<OffsetDateTime>, now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let req = self
            .counters_update(prefix)
            .update_expression("SET #q = :amount, #r = :now")
            .expression_attribute_names("#q", QUOTA_REMAINING)
            .expression_attribute_names("#r", QUOTA_REFILLED_AT)
            .expression_attribute_values(":amount", number(amount))
            .expression_attribute_values(":now", text(sortable_time(now)));
        let req = match last {
            Some(t) => req
                .condition_expression("attribute_exists(#q) AND #r = :last")
                .expression_attribute_values(":last", text(sortable_time(t))),
            None => req.condition_expression("attribute_exists(#q) AND attribute_not_exists(#r)"),
        };
        Ok(matches!(self.conditional(req).await?, Conditional::Done(_)))
    }

    #[tracing::instrument(skip(self, hash), fields(prefix = %prefix))]
    async fn charge_one(
        &self, prefix: &Prefix, hash: &SecretHash, now: OffsetDateTime,
    ) -> Result<Charged, StoreError> {
        let now_s = text(sortable_time(now));
        let req = self
            .counters_update(prefix)
            .update_expression("ADD #q :minus")
            .condition_expression(
                "(#h = :h OR (#ph = :h AND #pu > :now)) AND #s = :active \
                 AND (attribute_not_exists(#e) OR #e > :now) \
                 AND #q >= :one AND attribute_not_exists(#rl)",
            )
            .expression_attribute_names("#q", QUOTA_REMAINING)
            .expression_attribute_names("#h", "secretHash")
            .expression_attribute_names("#ph", "previousHash")
            .expression_attribute_names("#pu", "previousHashUntil")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#e", "expiresAt")
            .expression_attribute_names("#rl", "rlLimit")
            .expression_attribute_values(":minus", number_i(-1))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":h", text(hash.as_str()))
            .expression_attribute_values(":now", now_s)
            .expression_attribute_values(":active", text(Status::Active.as_str()))
            .return_values(ReturnValue::AllNew);
        match self.conditional(req).await? {
            Conditional::Done(new) => Ok(Charged::Yes(from_item(&new)?)),
            Conditional::Failed(None) => Ok(Charged::No(None)),
            Conditional::Failed(Some(old)) if old.is_empty() => Ok(Charged::No(None)),
            Conditional::Failed(Some(old)) => Ok(Charged::No(Some(from_item(&old)?))),
        }
    }
}
