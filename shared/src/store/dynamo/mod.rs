//! The DynamoDB store: every read a GetItem or a Query, every write conditional.
//!
//! - [`layout`]: partition keys and indexes (the only place that knows them);
//! - [`item`]: a key as an item and back;
//! - [`expr`]: update expressions and the "live at this version" guard;
//! - [`transact`]: transactions, with the one retry loop;
//! - [`query`]: a page of an index partition, newest first;
//! - [`audit`]: audit records as items, and their pages;
//! - [`table`]: the table's definition, and `create_table`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use time::OffsetDateTime;

use self::expr::{failed_guard, UpdateExpr, LIVE_AT_VERSION};
use self::item::{from_item, mutable_attributes, number, purge_at, text, to_item, Item};
use self::layout::{
    key_pk, list_partition, owner_partition, sentinel_pk, team_partition, OWNER_PK, PK, TEAM_PK,
    TTL_ATTRIBUTE, WARM_UP_PK,
};
use self::query::{Filter, PageQuery};
use self::transact::{condition_failed, TransactFailure};
use super::{
    Conflict, CursorCodec, KeyLister, KeyReader, KeyWriter, ListQuery, Page, QuotaWrite,
    StoreError, UsageRecorder,
};
use crate::model::{sortable_time, ApiKey, AuditRecord, Status};
use crate::token::{KeyKind, Prefix};

pub mod audit;
pub mod expr;
pub mod item;
pub mod layout;
pub mod limits;
pub mod query;
pub mod table;
pub mod transact;

pub use table::create_table;

/// How long audit records are kept, unless the store is told otherwise.
pub const DEFAULT_AUDIT_RETENTION: time::Duration = time::Duration::days(400);

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
    cursors: CursorCodec,
    audit_retention: time::Duration,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<Arc<str>>, cursors: CursorCodec) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            cursors,
            audit_retention: DEFAULT_AUDIT_RETENTION,
        }
    }
    /// Audit records written from now on are kept `retention` (DynamoDB's TTL removes them).
    pub fn with_audit_retention(mut self, retention: time::Duration) -> Self {
        self.audit_retention = retention;
        self
    }
    pub fn client(&self) -> &Client {
        &self.client
    }
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Sends one request before any caller needs it, so the client's connection (DNS, TCP, TLS)
    /// and its lazily built parts (credentials, endpoint, signing) are ready for the first real
    /// one. On Lambda this runs in the init phase, which gets a whole vCPU, rather than in the
    /// first invocation, which at 128 MB gets a fraction of one. The request is an eventually
    /// consistent GetItem of [`WARM_UP_PK`], which no key uses (½ read unit). Any answer from
    /// DynamoDB counts, an error answer too (say, a role without `dynamodb:GetItem`: the
    /// connection is open all the same); no answer (unreachable, timed out) is the error, and
    /// then the first real request simply connects itself. Returns how long it took.
    #[tracing::instrument(skip(self))]
    pub async fn warm_up(&self) -> Result<Duration, StoreError> {
        let started = std::time::Instant::now();
        let sent = self
            .client
            .get_item()
            .table_name(&*self.table)
            .key(PK, text(WARM_UP_PK))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match sent {
            Ok(_) | Err(SdkError::ServiceError(_)) => Ok(started.elapsed()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn key_of(&self, prefix: &Prefix) -> HashMap<String, AttributeValue> {
        HashMap::from([(PK.to_owned(), text(key_pk(prefix)))])
    }

    fn put_new(&self, item: Item) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&*self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .expect("put is complete"),
            )
            .build()
    }

    fn put_audit(&self, audit: &AuditRecord) -> TransactWriteItem {
        self.put_new(audit::to_item(audit, self.audit_retention))
    }

    /// `items` and then the audit record, in one transaction. A failed condition is told by
    /// `on_condition` from the cancellation reasons of `items` (in their order); a record whose
    /// id exists already fails the whole change.
    async fn change(
        &self, mut items: Vec<TransactWriteItem>, audit: &AuditRecord,
        on_condition: impl FnOnce(&[CancellationReason]) -> StoreError,
    ) -> Result<(), StoreError> {
        let n = items.len();
        items.push(self.put_audit(audit));
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Cancelled(reasons)) => {
                if reasons.get(n).is_some_and(condition_failed) {
                    Err(StoreError::Conflict(Conflict::AuditRecordExists))
                } else {
                    Err(on_condition(&reasons[..n.min(reasons.len())]))
                }
            }
            Err(TransactFailure::Store(e)) => Err(e),
        }
    }

    /// The Update of a key under the "live at this version" guard, as a transaction item.
    fn guarded(&self, prefix: &Prefix, expr: UpdateExpr) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&*self.table)
            .set_key(Some(self.key_of(prefix)))
            .update_expression(expr.expression())
            .condition_expression(LIVE_AT_VERSION)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("update is complete");
        TransactWriteItem::builder().update(update).build()
    }
}

/// A failed guard of the first item (the key's): not found, deleted or another version.
fn key_guard_failed(reasons: &[CancellationReason]) -> StoreError {
    match reasons.first() {
        Some(r) if condition_failed(r) => failed_guard(r.item()),
        _ => StoreError::Corrupt("a transaction failed on an item other than the key".into()),
    }
}

pub(crate) fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(Box::new(e))
}

impl KeyReader for DynamoStore {
    #[tracing::instrument(skip(self), fields(prefix = %prefix))]
    async fn get(&self, prefix: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(self.key_of(prefix)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(from_item).transpose()
    }

    /// One `BatchGetItem` of both keys, strongly consistent; keys DynamoDB leaves unprocessed
    /// (throttling) are asked for again within [`PAIR_BUDGET`], then the store is unavailable.
    #[tracing::instrument(skip(self), fields(first = %first, second = %second))]
    async fn get_pair(
        &self, first: &Prefix, second: &Prefix,
    ) -> Result<(Option<ApiKey>, Option<ApiKey>), StoreError> {
        if first == second {
            let key = self.get(first).await?;
            return Ok((key.clone(), key));
        }
        let started = std::time::Instant::now();
        let mut wanted = KeysAndAttributes::builder()
            .keys(self.key_of(first))
            .keys(self.key_of(second))
            .consistent_read(true)
            .build()
            .expect("keys are given");
        let mut found: Vec<ApiKey> = Vec::with_capacity(2);
        for attempt in 0u32.. {
            let out = self
                .client
                .batch_get_item()
                .request_items(&*self.table, wanted.clone())
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(items) = out.responses().and_then(|r| r.get(&*self.table)) {
                for item in items {
                    found.push(from_item(item)?);
                }
            }
            match out
                .unprocessed_keys()
                .and_then(|u| u.get(&*self.table))
                .filter(|k| !k.keys().is_empty())
            {
                None => break,
                Some(rest) if started.elapsed() + pair_backoff(attempt) < PAIR_BUDGET => {
                    tokio::time::sleep(pair_backoff(attempt)).await;
                    wanted = rest.clone();
                }
                Some(_) => {
                    return Err(StoreError::Unavailable(
                        "DynamoDB left keys of a BatchGetItem unprocessed for 2 s".into(),
                    ))
                }
            }
        }
        let take = |p: &Prefix| found.iter().find(|k| &k.prefix == p).cloned();
        Ok((take(first), take(second)))
    }
}

/// How long a pair read may keep asking for unprocessed keys (the client's own operation
/// timeout is the same).
pub const PAIR_BUDGET: Duration = Duration::from_secs(2);

fn pair_backoff(attempt: u32) -> Duration {
    Duration::from_millis(25 << attempt.min(4))
}

impl KeyWriter for DynamoStore {
    /// The key (and for a team key its user's sentinel) and the audit record: one transaction.
    #[tracing::instrument(skip_all, fields(prefix = %key.prefix))]
    async fn create(&self, key: &ApiKey, audit: &AuditRecord) -> Result<(), StoreError> {
        let mut items = vec![self.put_new(to_item(key))];
        if key.kind == KeyKind::Team {
            let user = key
                .user_id
                .as_ref()
                .ok_or_else(|| StoreError::Corrupt("a team key needs a user".into()))?;
            items.push(self.put_new(HashMap::from([
                (PK.to_owned(), text(sentinel_pk(&key.team_id, user))),
                ("keyPrefix".to_owned(), text(key.prefix.as_str())),
                ("teamId".to_owned(), text(key.team_id.as_str())),
                ("userId".to_owned(), text(user.as_str())),
            ])));
        }
        self.change(items, audit, |reasons| {
            if reasons.first().is_some_and(condition_failed) {
                StoreError::Conflict(Conflict::DuplicatePrefix)
            } else {
                StoreError::Conflict(Conflict::TeamKeyExists)
            }
        })
        .await
    }

    /// The guarded Update of the key's mutable fields and the audit record: one transaction
    /// (which returns no item: the answer is `key` at its new version).
    #[tracing::instrument(skip_all, fields(prefix = %key.prefix, expected_version))]
    async fn update_with(
        &self, key: &ApiKey, expected_version: u64, audit: &AuditRecord, quota: QuotaWrite,
    ) -> Result<ApiKey, StoreError> {
        let mut expr = UpdateExpr::new();
        for (name, value) in mutable_attributes(key) {
            expr.field(name, value);
        }
        match quota {
            QuotaWrite::Keep => {}
            QuotaWrite::Set(q) => {
                for (name, value) in item::quota_counters(&q) {
                    expr.field(name, Some(value));
                }
            }
            QuotaWrite::TopUp(n) => expr.add(item::QUOTA_REMAINING, number(n)),
            QuotaWrite::Remove => {
                expr.field(item::QUOTA_REMAINING, None);
                expr.field(item::QUOTA_REFILLED_AT, None);
            }
        }
        expr.field("version", Some(number(expected_version + 1)));
        expr.only_if_live_at(expected_version);
        self.change(vec![self.guarded(&key.prefix, expr)], audit, key_guard_failed).await?;
        Ok(ApiKey { version: expected_version + 1, ..key.clone() })
    }

    /// The tombstone, the freed team-key slot of a team key, and the audit record: one
    /// transaction.
    #[tracing::instrument(skip_all, fields(prefix = %key.prefix, expected_version))]
    async fn delete(
        &self, key: &ApiKey, expected_version: u64, at: OffsetDateTime, audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut dead = key.clone();
        dead.status = Status::Deleted;
        let mut expr = UpdateExpr::new();
        expr.field("status", Some(text(Status::Deleted.as_str())));
        expr.field("deletedAt", Some(text(sortable_time(at))));
        expr.field("updatedAt", Some(text(sortable_time(at))));
        expr.field(TTL_ATTRIBUTE, Some(number(purge_at(at))));
        expr.field("version", Some(number(expected_version + 1)));
        expr.field(OWNER_PK, Some(text(owner_partition(&dead))));
        expr.field(TEAM_PK, Some(text(team_partition(&dead))));
        expr.only_if_live_at(expected_version);
        let mut items = vec![self.guarded(&key.prefix, expr)];
        if let (KeyKind::Team, Some(u)) = (key.kind, &key.user_id) {
            // The user's team-key slot is freed, unless (impossibly) another key holds it.
            let free_slot = Delete::builder()
                .table_name(&*self.table)
                .set_key(Some(HashMap::from([(PK.to_owned(), text(sentinel_pk(&key.team_id, u)))])))
                .condition_expression("attribute_not_exists(pk) OR keyPrefix = :p")
                .expression_attribute_values(":p", text(key.prefix.as_str()))
                .build()
                .expect("delete is complete");
            items.push(TransactWriteItem::builder().delete(free_slot).build());
        }
        self.change(items, audit, key_guard_failed).await
    }
}

impl KeyLister for DynamoStore {
    #[tracing::instrument(skip_all, fields(limit = query.limit))]
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let fingerprint = query.fingerprint();
        let before = self.cursors.position(&fingerprint, query.cursor.as_deref())?;
        let (index, hash_attribute, partition) = list_partition(&query.scope, query.tombstones());
        let mut filter = Filter::default();
        if let Some(st) = query.status_filter() {
            filter =
                filter.with("#st = :st", &[("#st", "status")], vec![(":st", text(st.as_str()))]);
        }
        if let Some(needle) = query.needle() {
            filter = filter.with(
                "contains(#nl, :nl)",
                &[("#nl", "nameLower")],
                vec![(":nl", text(needle))],
            );
        }
        let q = PageQuery {
            index,
            hash_attribute,
            partition,
            before,
            from: None,
            filter: &filter,
            limit: query.limit,
        };
        self.page(&fingerprint, q, from_item).await
    }
}

impl UsageRecorder for DynamoStore {
    #[tracing::instrument(skip(self), fields(prefix = %prefix))]
    async fn record_usage(
        &self, prefix: &Prefix, calls: u64, at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(self.key_of(prefix)))
            .update_expression("ADD submittedJobs :n SET lastActiveDateTime = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":n", number(calls))
            .expression_attribute_values(":t", text(sortable_time(at)))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
