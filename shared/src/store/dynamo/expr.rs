//! Update expressions over named attributes, and the guard every change of a key carries.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{number, text, Item};
use crate::model::Status;
use crate::store::{Conflict, StoreError};

/// The condition of every change to a key: it exists, is not deleted, and is at the version
/// the change was computed from.
pub const LIVE_AT_VERSION: &str =
    "attribute_exists(pk) AND #version = :expected AND #status <> :deleted";

/// What a failed [`LIVE_AT_VERSION`] means, told from the old item DynamoDB returns with the
/// failure: no item or a tombstone is "not found"; any other item changed in between.
pub fn failed_guard(old: Option<&Item>) -> StoreError {
    match old {
        None => StoreError::NotFound,
        Some(i) if i.is_empty() => StoreError::NotFound,
        Some(i) if i.get("status") == Some(&text(Status::Deleted.as_str())) => StoreError::NotFound,
        Some(_) => StoreError::Conflict(Conflict::VersionMismatch),
    }
}

/// `SET` what has a value, `REMOVE` what has none; names and values as placeholders.
#[derive(Debug, Clone, Default)]
pub struct UpdateExpr {
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl UpdateExpr {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, or removes it when `value` is `None`.
    pub fn field(&mut self, name: &str, value: Option<AttributeValue>) {
        let i = self.names.len();
        let placeholder = format!("#f{i}");
        self.names.insert(placeholder.clone(), name.to_owned());
        match value {
            Some(v) => {
                let p = format!(":f{i}");
                self.sets.push(format!("{placeholder} = {p}"));
                self.values.insert(p, v);
            }
            None => self.removes.push(placeholder),
        }
    }

    /// Adds `value` to the number `name` (atomically, whatever others add meanwhile).
    pub fn add(&mut self, name: &str, value: AttributeValue) {
        let i = self.names.len();
        let placeholder = format!("#f{i}");
        self.names.insert(placeholder.clone(), name.to_owned());
        let p = format!(":f{i}");
        self.adds.push(format!("{placeholder} {p}"));
        self.values.insert(p, value);
    }

    /// Adds the placeholders of [`LIVE_AT_VERSION`] for `expected_version`.
    pub fn only_if_live_at(&mut self, expected_version: u64) {
        self.names.insert("#version".into(), "version".into());
        self.names.insert("#status".into(), "status".into());
        self.values.insert(":expected".into(), number(expected_version));
        self.values.insert(":deleted".into(), text(Status::Deleted.as_str()));
    }

    pub fn expression(&self) -> String {
        let mut e = format!("SET {}", self.sets.join(", "));
        if !self.removes.is_empty() {
            e.push_str(" REMOVE ");
            e.push_str(&self.removes.join(", "));
        }
        if !self.adds.is_empty() {
            e.push_str(" ADD ");
            e.push_str(&self.adds.join(", "));
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_removes() {
        let mut e = UpdateExpr::new();
        e.field("name", Some(text("n")));
        e.field("description", None);
        e.only_if_live_at(3);
        assert_eq!(e.expression(), "SET #f0 = :f0 REMOVE #f1");
        assert_eq!(e.names["#f1"], "description");
        assert_eq!(e.values[":expected"], number(3));
    }

    #[test]
    fn a_failed_guard_is_told_from_the_old_item() {
        assert!(matches!(failed_guard(None), StoreError::NotFound));
        let mut old = Item::new();
        old.insert("status".into(), text("Deleted"));
        assert!(matches!(failed_guard(Some(&old)), StoreError::NotFound));
        old.insert("status".into(), text("Active"));
        assert!(matches!(
            failed_guard(Some(&old)),
            StoreError::Conflict(Conflict::VersionMismatch)
        ));
    }
}
