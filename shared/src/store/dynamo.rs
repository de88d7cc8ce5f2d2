//! The DynamoDB store: every read a GetItem or a Query, every write conditional.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use time::OffsetDateTime;

use super::cursor::Position;
use super::item::{
    self, from_item, key_pk, mutable_attributes, n, owner_pk, purge_at, s, sentinel_pk,
    team_partition, to_item, Item,
};
use super::table::{CREATED_SK, PK};
use super::{
    Conflict, CursorCodec, KeyLister, KeyReader, KeyWriter, ListQuery, Page, StoreError,
    UsageRecorder, MAX_PAGE,
};
use crate::model::{sortable_time, ApiKey, Status};
use crate::token::{KeyKind, Prefix};

/// Items a filtered Query evaluates per call, and how many calls one page may take.
const FILTERED_QUERY_LIMIT: i32 = 200;
const MAX_QUERIES_PER_PAGE: usize = 10;
/// A transaction that lost a race is retried this often before the conflict is reported.
const TRANSACTION_RETRIES: u32 = 8;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
    cursors: CursorCodec,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<Arc<str>>, cursors: CursorCodec) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            cursors,
        }
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
            .key(PK, s(WARM_UP_PK))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match sent {
            Ok(_) | Err(SdkError::ServiceError(_)) => Ok(started.elapsed()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The partition key [`DynamoStore::warm_up`] reads: not `KEY#…`, `TEAMKEY#…` or an index
/// partition, so no item ever has it.
pub const WARM_UP_PK: &str = "WARMUP";

fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(Box::new(e))
}

fn pk_of(prefix: &Prefix) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(key_pk(prefix)))])
}

/// Classifies a failed "exists, not deleted, version matches" condition from the old item.
fn classify(old: Option<&Item>) -> StoreError {
    match old {
        None => StoreError::NotFound,
        Some(i) if i.get("status") == Some(&s(Status::Deleted.as_str())) => StoreError::NotFound,
        Some(i) if i.is_empty() => StoreError::NotFound,
        Some(_) => StoreError::Conflict(Conflict::VersionMismatch),
    }
}

const LIVE_AT_VERSION: &str =
    "attribute_exists(pk) AND #version = :expected AND #status <> :deleted";

fn reason_code(r: &CancellationReason) -> &str {
    r.code().unwrap_or("None")
}

/// An update expression over named attributes: SET what has a value, REMOVE what has none.
struct Expr {
    sets: Vec<String>,
    removes: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn new() -> Self {
        Expr {
            sets: Vec::new(),
            removes: Vec::new(),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }
    fn field(&mut self, name: &str, value: Option<AttributeValue>) {
        let i = self.names.len();
        let n = format!("#f{i}");
        self.names.insert(n.clone(), name.to_owned());
        match value {
            Some(v) => {
                let p = format!(":f{i}");
                self.sets.push(format!("{n} = {p}"));
                self.values.insert(p, v);
            }
            None => self.removes.push(n),
        }
    }
    fn guard(&mut self, expected_version: u64) {
        self.names.insert("#version".into(), "version".into());
        self.names.insert("#status".into(), "status".into());
        self.values.insert(":expected".into(), n(expected_version));
        self.values
            .insert(":deleted".into(), s(Status::Deleted.as_str()));
    }
    fn expression(&self) -> String {
        let mut e = format!("SET {}", self.sets.join(", "));
        if !self.removes.is_empty() {
            e.push_str(" REMOVE ");
            e.push_str(&self.removes.join(", "));
        }
        e
    }
}

impl KeyReader for DynamoStore {
    #[tracing::instrument(skip(self), fields(prefix = %prefix))]
    async fn get(&self, prefix: &Prefix) -> Result<Option<ApiKey>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(pk_of(prefix)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(from_item).transpose()
    }
}

impl DynamoStore {
    /// One UpdateItem under the "live at this version" guard; a failed guard is classified
    /// from the old item DynamoDB returns with it (not found, deleted, or another version).
    async fn guarded_update(
        &self,
        prefix: &Prefix,
        expr: Expr,
        returns: ReturnValue,
    ) -> Result<Option<Item>, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(pk_of(prefix)))
            .update_expression(expr.expression())
            .condition_expression(LIVE_AT_VERSION)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .return_values(returns)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out.attributes),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Err(classify(c.item()))
                }
                _ => Err(unavailable(e)),
            },
        }
    }

    async fn create_team_key(&self, key: &ApiKey, item: Item) -> Result<(), StoreError> {
        let user = key
            .user_id
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("a team key needs a user".into()))?;
        let sentinel: Item = HashMap::from([
            (PK.to_owned(), s(sentinel_pk(&key.team_id, user))),
            ("keyPrefix".to_owned(), s(key.prefix.as_str())),
            ("teamId".to_owned(), s(key.team_id.as_str())),
            ("userId".to_owned(), s(user.as_str())),
        ]);
        let put = |item: Item| {
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
        };
        let mut attempt = 0;
        loop {
            let res = self
                .client
                .transact_write_items()
                .transact_items(put(item.clone()))
                .transact_items(put(sentinel.clone()))
                .send()
                .await;
            let err = match res {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if let Some(tce) = err.as_service_error().and_then(|e| {
                if let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) = e { Some(t) } else { None }
            }) {
                let reasons = tce.cancellation_reasons();
                let code = |i: usize| reasons.get(i).map(reason_code).unwrap_or("None");
                if code(0) == "ConditionalCheckFailed" {
                    return Err(StoreError::Conflict(Conflict::DuplicatePrefix));
                }
                if code(1) == "ConditionalCheckFailed" {
                    return Err(StoreError::Conflict(Conflict::TeamKeyExists));
                }
                if reasons.iter().any(|r| reason_code(r) == "TransactionConflict")
                    && attempt < TRANSACTION_RETRIES
                {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            }
            return Err(unavailable(err));
        }
    }
}

/// A short, jittered backoff for transaction conflicts.
fn backoff(attempt: u32) -> Duration {
    let mut b = [0u8; 1];
    let jitter = if getrandom::fill(&mut b).is_ok() {
        b[0] as u64 % 20
    } else {
        10
    };
    Duration::from_millis(10 * attempt as u64 + jitter)
}

impl KeyWriter for DynamoStore {
    #[tracing::instrument(skip_all, fields(prefix = %key.prefix))]
    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        let item = to_item(key);
        if key.kind == KeyKind::Team {
            return self.create_team_key(key, item).await;
        }
        match self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict(Conflict::DuplicatePrefix))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    #[tracing::instrument(skip_all, fields(prefix = %key.prefix, expected_version))]
    async fn update(&self, key: &ApiKey, expected_version: u64) -> Result<ApiKey, StoreError> {
        let mut expr = Expr::new();
        for (name, value) in mutable_attributes(key) {
            expr.field(name, value);
        }
        expr.field("version", Some(n(expected_version + 1)));
        expr.guard(expected_version);
        let new = self
            .guarded_update(&key.prefix, expr, ReturnValue::AllNew)
            .await?;
        from_item(&new.unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(prefix = %key.prefix, expected_version))]
    async fn delete(
        &self,
        key: &ApiKey,
        expected_version: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut dead = key.clone();
        dead.status = Status::Deleted;
        let mut expr = Expr::new();
        expr.field("status", Some(s(Status::Deleted.as_str())));
        expr.field("deletedAt", Some(s(sortable_time(at))));
        expr.field("updatedAt", Some(s(sortable_time(at))));
        expr.field("purgeAt", Some(n(purge_at(at))));
        expr.field("version", Some(n(expected_version + 1)));
        expr.field("ownerPk", Some(s(owner_pk(&dead))));
        expr.field("teamPk", Some(s(team_partition(&dead))));
        expr.guard(expected_version);
        let sentinel = match (key.kind, &key.user_id) {
            (KeyKind::Team, Some(u)) => Some(sentinel_pk(&key.team_id, u)),
            _ => None,
        };
        let Some(sentinel) = sentinel else {
            self.guarded_update(&key.prefix, expr, ReturnValue::None)
                .await?;
            return Ok(());
        };
        let update = Update::builder()
            .table_name(&*self.table)
            .set_key(Some(pk_of(&key.prefix)))
            .update_expression(expr.expression())
            .condition_expression(LIVE_AT_VERSION)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("update is complete");
        let free_slot = Delete::builder()
            .table_name(&*self.table)
            .set_key(Some(HashMap::from([(PK.to_owned(), s(sentinel))])))
            .condition_expression("attribute_not_exists(pk) OR keyPrefix = :p")
            .expression_attribute_values(":p", s(key.prefix.as_str()))
            .build()
            .expect("delete is complete");
        let mut attempt = 0;
        loop {
            let res = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(update.clone()).build())
                .transact_items(
                    TransactWriteItem::builder()
                        .delete(free_slot.clone())
                        .build(),
                )
                .send()
                .await;
            let err = match res {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t)) = err.as_service_error() {
                let reasons = t.cancellation_reasons();
                if let Some(r) = reasons.first().filter(|r| reason_code(r) == "ConditionalCheckFailed") {
                    return Err(classify(r.item()));
                }
                if reasons.iter().any(|r| reason_code(r) == "TransactionConflict") && attempt < TRANSACTION_RETRIES {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            }
            return Err(unavailable(err));
        }
    }
}

impl KeyLister for DynamoStore {
    #[tracing::instrument(skip_all, fields(index = query.index(), limit = query.limit))]
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let fingerprint = query.fingerprint();
        let mut start = query
            .cursor
            .as_deref()
            .map(|c| self.cursors.decode(&fingerprint, c))
            .transpose()?
            .map(|p| p.sort_key);
        let limit = query.limit.clamp(1, MAX_PAGE);
        let partition = query.partition();
        let hash_attr = match query.index() {
            super::table::BY_TEAM => super::table::TEAM_PK,
            _ => super::table::OWNER_PK,
        };
        let status = query.status_filter();
        let needle = query.needle();
        let filtered = status.is_some() || needle.is_some();

        let mut items: Vec<ApiKey> = Vec::with_capacity(limit);
        let mut more = false;
        let mut exhausted = false;
        let mut resume: Option<Position> = None;
        'pages: for _ in 0..MAX_QUERIES_PER_PAGE {
            let mut req = self
                .client
                .query()
                .table_name(&*self.table)
                .index_name(query.index())
                .scan_index_forward(false)
                .expression_attribute_names("#h", hash_attr)
                .expression_attribute_values(":h", s(&partition));
            req = match &start {
                Some(sk) => req
                    .key_condition_expression("#h = :h AND #r < :r")
                    .expression_attribute_names("#r", CREATED_SK)
                    .expression_attribute_values(":r", s(sk)),
                None => req.key_condition_expression("#h = :h"),
            };
            let mut filters = Vec::new();
            if let Some(st) = status {
                filters.push("#st = :st");
                req = req
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_values(":st", s(st.as_str()));
            }
            if let Some(needle) = &needle {
                filters.push("contains(#nl, :nl)");
                req = req
                    .expression_attribute_names("#nl", "nameLower")
                    .expression_attribute_values(":nl", s(needle));
            }
            if filtered {
                req = req
                    .filter_expression(filters.join(" AND "))
                    .limit(FILTERED_QUERY_LIMIT);
            } else {
                // One more than the page tells whether there is a next page, in the same call.
                req = req.limit((limit + 1 - items.len()) as i32);
            }
            let out = req.send().await.map_err(unavailable)?;
            for raw in out.items() {
                if items.len() == limit {
                    more = true;
                    break 'pages;
                }
                items.push(from_item(raw)?);
            }
            match out.last_evaluated_key() {
                None => {
                    exhausted = true;
                    break;
                }
                Some(lek) => {
                    let sk = match lek.get(CREATED_SK) {
                        Some(AttributeValue::S(sk)) => sk.clone(),
                        _ => return Err(StoreError::Corrupt("page key without sort key".into())),
                    };
                    let prefix = match lek.get(PK) {
                        Some(AttributeValue::S(pk)) => pk
                            .strip_prefix("KEY#")
                            .and_then(Prefix::parse)
                            .ok_or_else(|| StoreError::Corrupt("page key".into()))?,
                        _ => return Err(StoreError::Corrupt("page key without pk".into())),
                    };
                    start = Some(sk.clone());
                    resume = Some(Position {
                        sort_key: sk,
                        prefix,
                    });
                }
            }
        }
        let next = if more {
            items.last().map(|k| Position {
                sort_key: item::sort_key(k),
                prefix: k.prefix.clone(),
            })
        } else if !exhausted {
            // The evaluation budget ran out before the page filled: continue where it stopped.
            resume
        } else {
            None
        };
        Ok(Page {
            items,
            next_cursor: next.map(|p| self.cursors.encode(&fingerprint, &p)),
        })
    }
}

impl UsageRecorder for DynamoStore {
    #[tracing::instrument(skip(self), fields(prefix = %prefix))]
    async fn record_usage(
        &self,
        prefix: &Prefix,
        calls: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(pk_of(prefix)))
            .update_expression("ADD submittedJobs :n SET lastActiveDateTime = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":n", n(calls))
            .expression_attribute_values(":t", s(sortable_time(at)))
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
