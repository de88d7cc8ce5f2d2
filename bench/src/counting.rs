//! DynamoDB calls counted by an SDK interceptor on the client's config: one count per request
//! sent (so a retry counts again), by operation name, and for UpdateItem by the item's key
//! (the usage writes are counted per API key).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

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

/// The `pk` of an UpdateItem, noted before serialisation (the input is gone by transmit).
#[derive(Debug, Clone)]
struct UpdatedItem(Option<String>);

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
        self.by_operation
            .iter()
            .filter(|(op, _)| is_read(op))
            .map(|(_, n)| n)
            .sum()
    }
    pub fn writes(&self) -> u64 {
        self.total() - self.reads()
    }
    /// `GetItem 1, UpdateItem 1`, or `none`.
    pub fn describe(&self) -> String {
        if self.by_operation.is_empty() {
            return "none".into();
        }
        self.by_operation
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn is_read(operation: &str) -> bool {
    matches!(
        operation,
        "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems"
    )
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
        "bench::CallCounter"
    }

    // Client interceptors see `read_before_execution` before the operation's config (its
    // `Metadata`) is applied, so the input is read here and the name at transmit.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let item = context
            .input()
            .downcast_ref::<UpdateItemInput>()
            .and_then(|i| i.key())
            .and_then(|k| k.get("pk"))
            .and_then(|v| match v {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            });
        cfg.interceptor_state().store_put(UpdatedItem(item));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let item = cfg.load::<UpdatedItem>().and_then(|i| i.0.clone());
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *counts.by_operation.entry(operation).or_default() += 1;
        if let Some(item) = item {
            *counts.updates_by_item.entry(item).or_default() += 1;
        }
        Ok(())
    }
}

/// The same client (config, timeouts, connection pool) with the counter added.
pub fn counting_client(
    client: &aws_sdk_dynamodb::Client,
    counter: &CallCounter,
) -> aws_sdk_dynamodb::Client {
    let config = client
        .config()
        .to_builder()
        .interceptor(counter.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
