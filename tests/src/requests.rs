//! DynamoDB requests counted by an SDK interceptor on the client's config: one count per request
//! sent (so a retry counts again), by operation name; UpdateItem by the item's key (the usage
//! writes are counted per API key); and every read that was not strongly consistent, named by
//! operation — DynamoDB Local always reads consistently, so only the request shows whether a
//! read asked to be.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// What the input said, noted before serialisation (the input is gone by transmit): the `pk`
/// of an UpdateItem, and for a read whether it asked for a consistent read.
#[derive(Debug, Clone)]
struct UpdatedItem(Option<String>, Option<Consistency>);

/// A read's consistency, and the item (GetItem's `pk`) or index (Query's) it read.
#[derive(Debug, Clone)]
struct Consistency {
    consistent: bool,
    what: String,
}

impl Storable for UpdatedItem {
    type Storer = StoreReplace<Self>;
}

/// Requests sent so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// By operation name (`GetItem`, `Query`, `PutItem`, `UpdateItem`, `TransactWriteItems`…).
    pub by_operation: BTreeMap<String, u64>,
    /// UpdateItem requests by the item's `pk`.
    pub updates_by_item: BTreeMap<String, u64>,
    /// Reads of the table sent without `ConsistentRead: true`, as `Operation what` (the `pk` of
    /// a GetItem). Queries of an index are not among them: an index is never read consistently.
    pub eventually_consistent: Vec<String>,
}

impl Counts {
    pub fn get(&self, operation: &str) -> u64 {
        self.by_operation.get(operation).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u64 {
        self.by_operation.values().sum()
    }
    /// Reads: GetItem, Query, Scan, BatchGetItem, TransactGetItems.
    pub fn reads(&self) -> u64 {
        self.by_operation.iter().filter(|(op, _)| is_read(op)).map(|(_, n)| n).sum()
    }
    pub fn writes(&self) -> u64 {
        self.total() - self.reads()
    }
    /// `GetItem 1, UpdateItem 1`, or `none`.
    pub fn describe(&self) -> String {
        if self.by_operation.is_empty() {
            return "none".into();
        }
        self.by_operation.iter().map(|(op, n)| format!("{op} {n}")).collect::<Vec<_>>().join(", ")
    }
}

fn is_read(operation: &str) -> bool {
    matches!(operation, "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems")
}

/// The interceptor; clones share the counts.
#[derive(Debug, Default, Clone)]
pub struct CallCounter(Arc<Mutex<Counts>>);

impl CallCounter {
    pub fn take(&self) -> Counts {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
    pub fn reset(&self) {
        self.take();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "integration_tests::CallCounter"
    }

    // Client interceptors see `read_before_execution` before the operation's config (its
    // `Metadata`) is applied, so the input is read here and the name at transmit.
    fn read_before_serialization(
        &self, context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents, cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let pk = |k: Option<&std::collections::HashMap<String, AttributeValue>>| {
            k.and_then(|k| k.get("pk")).and_then(|v| match v {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
        };
        let item = pk(input.downcast_ref::<UpdateItemInput>().and_then(|i| i.key()));
        let read = if let Some(i) = input.downcast_ref::<GetItemInput>() {
            Some(Consistency {
                consistent: i.consistent_read() == Some(true),
                what: pk(i.key()).unwrap_or_default(),
            })
        } else if let Some(i) = input.downcast_ref::<BatchGetItemInput>() {
            Some(Consistency {
                consistent: i
                    .request_items()
                    .is_some_and(|t| t.values().all(|k| k.consistent_read() == Some(true))),
                what: "batch".into(),
            })
        } else if let Some(i) = input.downcast_ref::<QueryInput>() {
            // A global secondary index cannot be read consistently: only the table's reads count.
            i.index_name().is_none().then(|| Consistency {
                consistent: i.consistent_read() == Some(true),
                what: "table".into(),
            })
        } else {
            input.downcast_ref::<ScanInput>().map(|i| Consistency {
                consistent: i.consistent_read() == Some(true),
                what: i.index_name().unwrap_or("table").to_owned(),
            })
        };
        cfg.interceptor_state().store_put(UpdatedItem(item, read));
        Ok(())
    }

    fn read_before_transmit(
        &self, _context: &BeforeTransmitInterceptorContextRef<'_>, _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation =
            cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_else(|| "unknown".into());
        let noted = cfg.load::<UpdatedItem>().cloned();
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(UpdatedItem(item, read)) = noted {
            if let Some(item) = item {
                *counts.updates_by_item.entry(item).or_default() += 1;
            }
            if let Some(read) = read.filter(|r| !r.consistent) {
                counts.eventually_consistent.push(format!("{operation} {}", read.what));
            }
        }
        *counts.by_operation.entry(operation).or_default() += 1;
        Ok(())
    }
}

/// The same client (config, timeouts, connection pool) with the counter added.
pub fn counting_client(
    client: &aws_sdk_dynamodb::Client, counter: &CallCounter,
) -> aws_sdk_dynamodb::Client {
    let config = client.config().to_builder().interceptor(counter.clone()).build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
