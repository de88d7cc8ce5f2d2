//! The table a command works on: checked to exist, created only for DynamoDB Local.

use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::error::SdkError;

use shared::aws::{dynamo_client, Timeouts};
use shared::config::Config;
use shared::store::dynamo::create_table;
use shared::store::{CursorCodec, DynamoStore};

use super::args::Common;
use super::failure::{one_line, refused, sdk_error, Failure};

/// The CLI's client timeouts: more patient than the authorizer's (a person waits, not a call).
pub(super) const TIMEOUTS: Timeouts = Timeouts {
    operation: StdDuration::from_secs(15),
    attempt: StdDuration::from_secs(5),
    connect: StdDuration::from_secs(3),
    max_attempts: 3,
    initial_backoff: StdDuration::from_millis(100),
};

/// The store on `--table`, and words for messages.
pub struct Table {
    pub store: DynamoStore,
    pub name: String,
}

/// Opens the table after checking it exists (DescribeTable). Only `bootstrap` against DynamoDB
/// Local (`AWS_ENDPOINT_URL_DYNAMODB` set) creates a missing table; against AWS a missing table
/// is a typo or the wrong account or region, and is refused.
pub async fn open(common: &Common, create_locally: bool) -> Result<Table, Failure> {
    let retention = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(common.table.clone()),
        "AUDIT_RETENTION_DAYS" => std::env::var(k).ok(),
        _ => None,
    })
    .map_err(|e| Failure::Usage(e.to_string()))?
    .audit_retention;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok().filter(|v| !v.trim().is_empty());
    let client = dynamo_client(TIMEOUTS).await;
    let Some(region) = client.config().region().map(|r| r.to_string()) else {
        return Err(refused(
            "no AWS region: set AWS_REGION, or AWS_PROFILE to a profile with a region",
        ));
    };
    let place = match &endpoint {
        Some(url) => format!("{url} ({region})"),
        None => format!("region {region}"),
    };
    let table = &common.table;
    match client.describe_table().table_name(table).send().await {
        Ok(_) => {}
        Err(SdkError::ServiceError(s)) if s.err().is_resource_not_found_exception() => {
            if !(create_locally && endpoint.is_some()) {
                return Err(refused(format!(
                    "no table {table} in {place}: use the stack's TableName output (and its \
                     account and region)"
                )));
            }
            create_table(&client, table).await.map_err(|e| {
                refused(format!("cannot create table {table} at {place}: {}", one_line(&e)))
            })?;
        }
        Err(e) => {
            return Err(refused(format!("cannot read table {table} in {place}: {}", sdk_error(&e))))
        }
    }
    let store = DynamoStore::new(client, table.as_str(), CursorCodec::for_table(table))
        .with_audit_retention(retention);
    Ok(Table { store, name: table.clone() })
}
