//! What the audit trail costs a change, in write units: each change through its handler with
//! DynamoDB's own consumed-capacity figures, beside the same change's key item written alone
//! (what the change cost before it was audited) and its audit record written alone.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::Body;
use serde_json::{json, Value};
use shared::api::{self, AppState};
use shared::clock::SystemClock;
use shared::identity::AuthContext;
use shared::store::dynamo::{audit, item, layout};
use shared::store::{AuditQuery, AuditReader, AuditScope, DynamoStore, KeyReader};
use shared::token::Prefix;

use crate::capacity::{Capacity, Units};
use crate::events::request;

/// One kind of change's write units per call.
pub struct ChangeCost {
    pub name: &'static str,
    pub calls: usize,
    /// The change as it runs now (one TransactWriteItems: the key's write and its record),
    /// units per call; `uniform` when every call cost the same.
    pub now: Units,
    pub uniform: bool,
    /// The key item alone, as one plain write (what the change cost unaudited).
    pub key_alone: Units,
    /// The audit record alone, as one plain write.
    pub record_alone: Units,
}

async fn put_alone(store: &DynamoStore, capacity: &Capacity, mut it: item::Item) -> Units {
    // A copy under a partition no one reads: the same attributes, so the same size and indexes.
    it.insert(
        layout::PK.to_owned(),
        AttributeValue::S(format!("BENCHCOPY#{}", shared::token::random_base62(12))),
    );
    capacity.take();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(it))
        .send()
        .await
        .expect("writing a copy");
    capacity.take()
}

pub async fn run(store: DynamoStore, capacity: &Capacity, n: usize) -> Vec<ChangeCost> {
    let admin = crate::manage::seed_admin(&store, "audit-bench", "audit-admin").await;
    let by = AuthContext::of(&admin);
    let state = AppState::new(store.clone(), Arc::new(SystemClock));

    let create = |i: usize| {
        json!({
            "name": format!("audited key {i}"),
            "keyType": "system",
            "projectId": "p-audit",
            "roles": ["jobs:submit", "jobs:read"],
            "labels": ["bench", "audit"],
            "description": "a key of the audit bench"
        })
    };
    // (name, method, path suffix after /keys/{prefix} or "" for POST /keys, body)
    type Make = Box<dyn Fn(usize) -> (String, &'static str, Option<Value>)>;
    let steps: Vec<(&'static str, &'static str, Make)> = vec![
        (
            "create (project key)",
            "POST",
            Box::new(move |i| (String::new(), "POST", Some(create(i)))),
        ),
        (
            "update (description)",
            "PATCH",
            Box::new(|i| {
                (String::new(), "PATCH", Some(json!({ "description": format!("revision {i}") })))
            }),
        ),
        (
            "disable",
            "PATCH",
            Box::new(|_| (String::new(), "PATCH", Some(json!({ "status": "Disabled" })))),
        ),
        (
            "replace",
            "POST",
            Box::new(|_| ("/replace".to_owned(), "POST", Some(json!({ "gracePeriodSeconds": 0 })))),
        ),
        ("delete", "DELETE", Box::new(|_| (String::new(), "DELETE", None))),
    ];
    let mut prefixes: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (name, _, make) in steps {
        let mut per_call: Vec<Units> = Vec::with_capacity(n);
        for i in 0..n {
            let (suffix, method, body) = make(i);
            let path = if name.starts_with("create") {
                "/keys".to_owned()
            } else {
                format!("/keys/{}{suffix}", prefixes[i])
            };
            let req = request(method, &path, "", body.as_ref(), &by);
            capacity.take();
            let r = api::dispatch(&state, req).await.unwrap_or_else(|e| match e {});
            let units = capacity.take();
            assert!(r.status().is_success(), "{name}: answered {}", r.status());
            if name.starts_with("create") {
                let Body::Text(t) = r.body() else { panic!("{name}: no JSON body") };
                let v: Value = serde_json::from_str(t).expect("a JSON body");
                prefixes.push(v["prefix"].as_str().expect("a prefix").to_owned());
            }
            per_call.push(units);
        }
        // The last call's key and record, each written alone.
        let prefix = Prefix::parse(prefixes.last().expect("a key")).expect("a prefix");
        let key = store.get(&prefix).await.expect("reading the key").expect("the key");
        let page = store
            .audit(&AuditQuery::new(AuditScope::Key(key.team_id.clone(), prefix)))
            .await
            .expect("reading its history");
        let record = page.items.first().expect("a record").clone();
        let key_alone = put_alone(&store, capacity, item::to_item(&key)).await;
        let record_alone =
            put_alone(&store, capacity, audit::to_item(&record, time::Duration::days(400))).await;
        let first = per_call[0];
        out.push(ChangeCost {
            name,
            calls: n,
            now: first,
            uniform: per_call.iter().all(|u| *u == first),
            key_alone,
            record_alone,
        });
    }
    out
}
