//! Capacity units, as DynamoDB reports them: an SDK interceptor asks every request for
//! `ReturnConsumedCapacity: INDEXES` and adds up what the answers say, table and indexes apart.
//! DynamoDB Local computes these figures as DynamoDB does (item sizes rounded up to 1 KB a write
//! unit, 4 KB a read unit; transactions count double), so they price a change without AWS.
//! A write refused by its condition reports nothing here (DynamoDB still charges it).

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Units consumed so far.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Units {
    /// Write units on the table itself, and on its indexes.
    pub table_writes: f64,
    pub index_writes: f64,
    /// Read units (table and indexes).
    pub reads: f64,
}

impl Units {
    pub fn writes(&self) -> f64 {
        self.table_writes + self.index_writes
    }
    fn add(&mut self, c: &ConsumedCapacity, write: bool) {
        let table = c.table().and_then(|t| t.capacity_units()).or_else(|| {
            // Without an itemised table figure, the total less the indexes'.
            let indexes: f64 = c
                .global_secondary_indexes()
                .map(|m| m.values().filter_map(|i| i.capacity_units()).sum())
                .unwrap_or(0.0);
            c.capacity_units().map(|t| t - indexes)
        });
        let indexes: f64 = c
            .global_secondary_indexes()
            .map(|m| m.values().filter_map(|i| i.capacity_units()).sum())
            .unwrap_or(0.0);
        if write {
            self.table_writes += table.unwrap_or(0.0);
            self.index_writes += indexes;
        } else {
            self.reads += table.unwrap_or(0.0) + indexes;
        }
    }
}

/// The interceptor; clones share the totals.
#[derive(Debug, Default, Clone)]
pub struct Capacity(Arc<Mutex<Units>>);

impl Capacity {
    pub fn take(&self) -> Units {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Intercept for Capacity {
    fn name(&self) -> &'static str {
        "bench::Capacity"
    }

    fn modify_before_serialization(
        &self, context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents, _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        macro_rules! ask {
            ($($input:ty),+) => {
                $(if let Some(i) = input.downcast_mut::<$input>() {
                    i.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
                })+
            };
        }
        ask!(PutItemInput, UpdateItemInput, DeleteItemInput, TransactWriteItemsInput);
        ask!(GetItemInput, BatchGetItemInput, QueryInput);
        Ok(())
    }

    fn read_after_execution(
        &self, context: &FinalizerInterceptorContextRef<'_>, _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Ok(out)) = context.output_or_error() else {
            return Ok(());
        };
        let mut units = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut add = |c: &ConsumedCapacity, write| units.add(c, write);
        // (one consumed capacity, or a list of them: one per table of a transaction or batch)
        macro_rules! add {
            ($write:expr; $($output:ty),+) => {
                $(if let Some(o) = out.downcast_ref::<$output>() {
                    o.consumed_capacity().iter().for_each(|c| add(c, $write));
                })+
            };
        }
        add!(true; PutItemOutput, UpdateItemOutput, DeleteItemOutput, TransactWriteItemsOutput);
        add!(false; GetItemOutput, BatchGetItemOutput, QueryOutput);
        Ok(())
    }
}
