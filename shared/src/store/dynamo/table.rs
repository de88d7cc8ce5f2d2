//! The table definition, in one place: keys, indexes and TTL (named in [`super::layout`]).
//! `template.yaml` must agree (a test compares them); [`create_table`] builds it for tests and
//! the dev server.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;

use super::layout::{CREATED_SK, INDEXES, PK, TTL_ATTRIBUTE};
use crate::store::StoreError;

/// Creates the table (on-demand, with its indexes and TTL) unless it exists.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let unavailable = |e: aws_sdk_dynamodb::Error| StoreError::Unavailable(Box::new(e));
    let exists = client.describe_table().table_name(name).send().await;
    if exists.is_ok() {
        return Ok(());
    }
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition is complete")
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .expect("key schema element is complete")
    };
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash))
        .attribute_definitions(attr(PK))
        .attribute_definitions(attr(CREATED_SK));
    for (index, hash, range) in INDEXES {
        req = req.attribute_definitions(attr(hash)).global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .key_schema(key(hash, KeyType::Hash))
                .key_schema(key(range, KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("index definition is complete"),
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) => {
            let e = aws_sdk_dynamodb::Error::from(e);
            // The table exists after all: someone else is creating it, or our own first attempt
            // created it but timed out before answering and the SDK's retry met the table. Either
            // way nobody may have set the TTL yet.
            if matches!(e, aws_sdk_dynamodb::Error::ResourceInUseException(_)) {
                return ensure_ttl(client, name).await;
            }
            return Err(unavailable(e));
        }
    }
    enable_ttl(client, name).await
}

/// Turns on the TTL unless it is on (or turning on) already.
async fn ensure_ttl(client: &Client, name: &str) -> Result<(), StoreError> {
    if ttl_is_set(client, name).await? {
        return Ok(());
    }
    enable_ttl(client, name).await
}

/// UpdateTimeToLive. It fails when the TTL is on already (another creator, or our own first
/// attempt that timed out before answering): fine if the TTL is on afterwards.
async fn enable_ttl(client: &Client, name: &str) -> Result<(), StoreError> {
    let res = client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .expect("TTL specification is complete"),
        )
        .send()
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(_) if ttl_is_set(client, name).await? => Ok(()),
        Err(e) => Err(StoreError::Unavailable(Box::new(aws_sdk_dynamodb::Error::from(e)))),
    }
}

async fn ttl_is_set(client: &Client, name: &str) -> Result<bool, StoreError> {
    let d = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| StoreError::Unavailable(Box::new(aws_sdk_dynamodb::Error::from(e))))?;
    Ok(d.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(TTL_ATTRIBUTE)
            && matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    }))
}
