//! `TransactWriteItems`, with the one retry loop: a transaction cancelled only because another
//! transaction touched the same items (`TransactionConflict`) is tried again a few times.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};

use super::{unavailable, DynamoStore};
use crate::store::StoreError;

/// How often a transaction that lost a race is retried before the conflict is reported.
const TRANSACTION_RETRIES: u32 = 8;

/// Why a transaction did not happen.
pub enum TransactFailure {
    /// A condition failed: one reason per item, in the order the items were given.
    Cancelled(Vec<CancellationReason>),
    Store(StoreError),
}

/// The code of one item's cancellation reason (`"None"` for an item that was fine).
pub fn reason_code(r: &CancellationReason) -> &str {
    r.code().unwrap_or("None")
}

pub fn condition_failed(r: &CancellationReason) -> bool {
    reason_code(r) == "ConditionalCheckFailed"
}

impl DynamoStore {
    /// Writes `items` in one transaction.
    pub(super) async fn transact(
        &self, items: Vec<TransactWriteItem>,
    ) -> Result<(), TransactFailure> {
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if let Some(TransactWriteItemsError::TransactionCanceledException(t)) =
                err.as_service_error()
            {
                let reasons = t.cancellation_reasons();
                let raced = reasons.iter().any(|r| reason_code(r) == "TransactionConflict");
                if !reasons.iter().any(condition_failed) && raced && attempt < TRANSACTION_RETRIES {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                if reasons.iter().any(condition_failed) {
                    return Err(TransactFailure::Cancelled(reasons.to_vec()));
                }
            }
            return Err(TransactFailure::Store(unavailable(err)));
        }
    }
}

/// A short, jittered backoff for transaction conflicts.
fn backoff(attempt: u32) -> Duration {
    use rand::TryRngCore;
    let jitter = rand::rngs::OsRng.try_next_u32().map_or(10, |r| u64::from(r % 20));
    Duration::from_millis(10 * attempt as u64 + jitter)
}
