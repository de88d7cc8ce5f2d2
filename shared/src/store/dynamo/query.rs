//! One page of an index partition, newest first: a Query read backwards from a position.
//!
//! Without a filter a page is one Query of `limit + 1` items (the extra one tells whether there
//! is a next page). DynamoDB applies a filter after its `Limit`, so a filtered page reads up to
//! [`MAX_QUERIES_PER_PAGE`] Queries of [`FILTERED_QUERY_LIMIT`] items each; when that budget
//! runs out first, the page is shorter than `limit` and its cursor resumes where the reading
//! stopped.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{text, Item};
use super::layout::CREATED_SK;
use super::{unavailable, DynamoStore};
use crate::store::{Page, StoreError, MAX_PAGE};

/// Items a filtered Query evaluates per call, and how many calls one page may take.
const FILTERED_QUERY_LIMIT: i32 = 200;
const MAX_QUERIES_PER_PAGE: usize = 10;

/// A filter applied after the key condition: `expression` over `#`/`:` placeholders of its own.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub clauses: Vec<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Filter {
    /// Adds `clause`, naming its attribute `#name_placeholder` and value `:value_placeholder`.
    pub fn with(
        mut self, clause: &str, names: &[(&str, &str)], values: Vec<(&str, AttributeValue)>,
    ) -> Self {
        self.clauses.push(clause.to_owned());
        for (k, v) in names {
            self.names.insert((*k).to_owned(), (*v).to_owned());
        }
        for (k, v) in values {
            self.values.insert(k.to_owned(), v);
        }
        self
    }
    fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

/// What to read.
pub struct PageQuery<'a> {
    pub index: &'static str,
    pub hash_attribute: &'static str,
    pub partition: String,
    /// Only sort keys strictly before this one (a cursor's position).
    pub before: Option<String>,
    /// Only sort keys at or after this one.
    pub from: Option<String>,
    pub filter: &'a Filter,
    pub limit: usize,
}

/// The raw items of a page, and the position a next page starts before (if any).
pub struct RawPage {
    pub items: Vec<Item>,
    pub next: Option<String>,
}

impl DynamoStore {
    /// One page of `q` decoded as `T`s, its next cursor bound to the query's `fingerprint`.
    pub(super) async fn page<T>(
        &self, fingerprint: &str, q: PageQuery<'_>, decode: impl Fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let raw = self.query_page(q).await?;
        Ok(Page {
            items: raw.items.iter().map(decode).collect::<Result<_, _>>()?,
            next_cursor: raw.next.map(|p| self.cursors.encode(fingerprint, &p)),
        })
    }

    async fn query_page(&self, q: PageQuery<'_>) -> Result<RawPage, StoreError> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        let mut before = q.before;
        let mut items: Vec<Item> = Vec::with_capacity(limit);
        let filtered = !q.filter.is_empty();
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let mut names = HashMap::from([("#h".to_owned(), q.hash_attribute.to_owned())]);
            let mut values = HashMap::from([(":h".to_owned(), text(&q.partition))]);
            let mut condition = "#h = :h".to_owned();
            if q.from.is_some() || before.is_some() {
                names.insert("#r".into(), CREATED_SK.into());
                condition.push_str(match (&q.from, &before) {
                    (Some(_), Some(_)) => " AND #r BETWEEN :from AND :before",
                    (Some(_), None) => " AND #r >= :from",
                    _ => " AND #r < :before",
                });
            }
            if let Some(from) = &q.from {
                values.insert(":from".into(), text(from));
            }
            if let Some(b) = &before {
                // BETWEEN is inclusive: step just below the position.
                let bound = if q.from.is_some() { just_below(b) } else { b.clone() };
                values.insert(":before".into(), text(bound));
            }
            let mut req = self
                .client
                .query()
                .table_name(&*self.table)
                .index_name(q.index)
                .scan_index_forward(false)
                .key_condition_expression(condition);
            if filtered {
                names.extend(q.filter.names.clone());
                values.extend(q.filter.values.clone());
                req = req
                    .filter_expression(q.filter.clauses.join(" AND "))
                    .limit(FILTERED_QUERY_LIMIT);
            } else {
                req = req.limit((limit + 1 - items.len()) as i32);
            }
            let req = req
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values));
            let out = req.send().await.map_err(unavailable)?;
            for raw in out.items() {
                if items.len() == limit {
                    // One more than the page: the next page starts before the last one kept.
                    let next = position_of(items.last())?;
                    return Ok(RawPage { items, next });
                }
                items.push(raw.clone());
            }
            match out.last_evaluated_key() {
                None => return Ok(RawPage { items, next: None }),
                Some(lek) => before = Some(position_of(Some(lek))?.unwrap_or_default()),
            }
        }
        // The evaluation budget ran out before the page filled: continue where it stopped.
        Ok(RawPage { items, next: before })
    }
}

/// The sort key of an item (or of a `LastEvaluatedKey`).
fn position_of(item: Option<&Item>) -> Result<Option<String>, StoreError> {
    match item.map(|i| i.get(CREATED_SK)) {
        None => Ok(None),
        Some(Some(AttributeValue::S(sk))) => Ok(Some(sk.clone())),
        Some(_) => Err(StoreError::Corrupt("a page item without a sort key".into())),
    }
}

/// The greatest string below `s` that any sort key could be (`s` with its last character
/// stepped down and the rest padded), for inclusive ranges that must exclude `s`.
fn just_below(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    match chars.pop() {
        Some(c) if c > '\u{1}' => {
            chars.push(char::from_u32(c as u32 - 1).unwrap_or('\u{1}'));
            chars.push('\u{10FFFF}');
            chars.into_iter().collect()
        }
        _ => chars.into_iter().collect(),
    }
}
