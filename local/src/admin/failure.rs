//! Why a command stopped, on one line for a person: refusals, store and SDK errors.

use std::error::Error as StdError;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use shared::store::{Conflict, StoreError};

use super::{EXIT_REFUSED, EXIT_USAGE};

/// Why a command stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Refused or failed (exit 1).
    Refused(String),
    /// Bad usage found after parsing: the environment's settings (exit 2).
    Usage(String),
}

impl Failure {
    pub fn code(&self) -> i32 {
        match self {
            Failure::Refused(_) => EXIT_REFUSED,
            Failure::Usage(_) => EXIT_USAGE,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            Failure::Refused(m) | Failure::Usage(m) => m,
        }
    }
}

pub(super) fn refused(m: impl Into<String>) -> Failure {
    Failure::Refused(m.into())
}

/// Text on one line: whitespace runs become one space; at most 300 characters.
pub(super) fn squash(text: &str) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > 300 {
        let cut = (0..=300).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

/// One line for an error chain: its messages, without repeats.
pub(super) fn one_line(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        let m = squash(&err.to_string());
        if !m.is_empty() && !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        cur = err.source();
    }
    squash(&parts.join(": "))
}

/// An SDK error as one line: the service's code and message, or what kept the request from it.
pub(super) fn sdk_error<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(s) => match (s.err().code(), s.err().message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_owned(),
            _ => one_line(s.err()),
        },
        SdkError::TimeoutError(_) => "DynamoDB did not answer in time".to_owned(),
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            // The innermost cause says it best: connection refused, no credentials, ...
            let mut cur: &(dyn StdError + 'static) = e;
            while let Some(s) = cur.source() {
                cur = s;
            }
            squash(&cur.to_string())
        }
        other => one_line(other),
    }
}

/// A store error of a command on `prefix` (or the team) as a refusal.
pub(super) fn store_failure(e: StoreError, what: &str) -> Failure {
    match e {
        StoreError::NotFound => refused(format!("{what}: no such key; nothing written")),
        StoreError::Conflict(Conflict::VersionMismatch) => refused(format!(
            "{what}: the key changed while this command ran; nothing written: run it again"
        )),
        StoreError::Conflict(c) => refused(format!("{what}: {c}; nothing written")),
        StoreError::BadCursor => refused(format!("{what}: the table returned a cursor it refuses")),
        StoreError::Unavailable(src) => refused(format!(
            "{what}: the table is unavailable ({}); if this was a change, `keys-admin get` \
             tells whether it was made",
            one_line(&*src)
        )),
        StoreError::Corrupt(m) => refused(format!("{what}: a stored item could not be read: {m}")),
    }
}
