//! `template.yaml` and the code agree: the table's keys, indexes and TTL attribute are those of
//! `shared::store::dynamo::layout` (and of the table `create_table` really makes in DynamoDB
//! Local); the HTTP API's routes are the route table `shared::api::ROUTES` (which the handlers
//! and the dev server's gateway read too) and `openapi.yaml`'s operations; every function builds a
//! real binary of the workspace, for the runtime and architecture the design names, and gets
//! `TABLE_NAME`; the default authorizer is the `authorize` binary, reading a header it reads.
//!
//! Which binary answers which route is checked by running them: `tests/tests/e2e_emulator`.

use integration_tests::cfn;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use shared::api::{match_route, RouteMatch, ROUTES};
use shared::store::dynamo::create_table;
use shared::store::dynamo::item::{QUOTA_REFILLED_AT, QUOTA_REMAINING, RL_USED, RL_WINDOW};
use shared::store::dynamo::layout::{
    AUDIT_PK_PREFIX, CREATED_SK, INDEXES, PK, TTL_ATTRIBUTE, WARM_UP_PK,
};

/// `(method, path)` of every route the template's HTTP API sends to a function, with the binary
/// of that function and whether the API's default authorizer guards it.
fn template_routes(t: &Value) -> BTreeMap<(String, String), (String, bool)> {
    let mut routes = BTreeMap::new();
    for f in cfn::functions(t) {
        for (name, event) in cfn::object(&f.resource["Properties"]["Events"]) {
            assert_eq!(event["Type"], "HttpApi", "{}.{name}", f.logical_id);
            let p = &event["Properties"];
            assert_eq!(p["ApiId"], cfn::reference("KeysApi"), "{}.{name}", f.logical_id);
            assert_eq!(p["PayloadFormatVersion"], "2.0", "{}.{name}", f.logical_id);
            // a route sits behind the API's default authorizer unless it says `Authorizer: NONE`
            let authorized = match p.get("Auth") {
                None => true,
                Some(auth) => {
                    assert_eq!(auth, &json!({ "Authorizer": "NONE" }), "{}.{name}", f.logical_id);
                    false
                }
            };
            let key = (
                p["Method"].as_str().expect("Method").to_uppercase(),
                p["Path"].as_str().expect("Path").to_owned(),
            );
            let previous = routes.insert(key.clone(), (f.binary.to_owned(), authorized));
            assert!(previous.is_none(), "{key:?} is routed twice");
        }
    }
    routes
}

/// `(method, path)` of every operation of `openapi.yaml`.
fn openapi_routes() -> BTreeSet<(String, String)> {
    let spec: Value = serde_yaml::from_str(include_str!("../../../openapi.yaml")).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
                .contains(&method.as_str())
            {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// `actual` (a JSON array) holds the same items as `expected`, in any order, each once.
#[track_caller]
fn assert_same_set(actual: &Value, expected: &[Value], what: &str) {
    let actual = actual.as_array().unwrap_or_else(|| panic!("{what} is no list"));
    let once = |items: &[Value], v: &Value| items.iter().filter(|i| *i == v).count() == 1;
    let ok = actual.len() == expected.len()
        && actual.iter().all(|v| once(expected, v))
        && expected.iter().all(|v| once(actual, v));
    assert!(
        ok,
        "{what}:\n  template: {}\n  code:     {}",
        Value::from(actual.clone()),
        Value::from(expected.to_vec())
    );
}

/// A template path with its `{parameters}` filled in with valid values.
fn concrete(path: &str) -> String {
    path.replace("{prefix}", "7Fq2LwP9xZk1")
}

#[test]
fn the_http_api_routes_are_the_routes_the_code_serves() {
    let t = cfn::template();
    let template = template_routes(&t);

    // the one route table (which the handlers, the dev server's gateway and this test read):
    // the same routes, each served by the function of the same binary, guarded as the table says
    let table: BTreeSet<(String, String)> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    let routed: BTreeSet<(String, String)> = template.keys().cloned().collect();
    assert_eq!(routed, table, "template.yaml vs shared::api::ROUTES");
    for r in ROUTES {
        let (binary, authorized) = &template[&(r.method.to_owned(), r.path.to_owned())];
        assert_eq!(binary, r.function.binary(), "the binary of {}", r.route_key());
        assert_eq!(*authorized, r.authorized, "the authorizer of {}", r.route_key());
    }

    // the OpenAPI document: every guarded route (the console's pages are not the API)
    let guarded: BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|r| r.authorized)
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(openapi_routes(), guarded, "openapi.yaml vs shared::api::ROUTES");

    // a path's 405 `Allow` lists exactly the methods the template routes for it
    let mut methods_by_path: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (method, path) in template.keys() {
        methods_by_path.entry(path).or_default().insert(method);
    }
    for (path, methods) in methods_by_path {
        let RouteMatch::WrongMethod { allow } = match_route("PUT", &concrete(path)) else {
            panic!("PUT {path} is not a 405");
        };
        let allow: BTreeSet<&str> = allow.split(", ").collect();
        assert_eq!(allow, methods, "Allow of {path}");
    }
}

#[test]
fn the_table_is_the_code_table() {
    let t = cfn::template();
    let tables = cfn::resources(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.keys().copied().collect::<Vec<_>>(), ["KeysTable"]);
    let p = &tables["KeysTable"]["Properties"];

    assert_eq!(p["KeySchema"], json!([{ "AttributeName": PK, "KeyType": "HASH" }]));

    let mut attributes: BTreeSet<&str> = BTreeSet::from([PK, CREATED_SK]);
    for (_, hash, range) in INDEXES {
        attributes.extend([hash, range]);
    }
    let expected: Vec<Value> =
        attributes.iter().map(|a| json!({ "AttributeName": a, "AttributeType": "S" })).collect();
    assert_same_set(&p["AttributeDefinitions"], &expected, "AttributeDefinitions");

    let expected: Vec<Value> = INDEXES
        .iter()
        .map(|(name, hash, range)| {
            json!({
                "IndexName": name,
                "KeySchema": [
                    { "AttributeName": hash, "KeyType": "HASH" },
                    { "AttributeName": range, "KeyType": "RANGE" },
                ],
                "Projection": { "ProjectionType": "ALL" },
            })
        })
        .collect();
    assert_same_set(&p["GlobalSecondaryIndexes"], &expected, "GlobalSecondaryIndexes");

    assert_eq!(
        p["TimeToLiveSpecification"],
        json!({ "AttributeName": TTL_ATTRIBUTE, "Enabled": true })
    );
    // the table (docs/ARCHITECTURE.md): on-demand, point-in-time recovery, encrypted
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true);
}

/// A template list of objects (`[{a: x, b: y}, …]`) as (x, y) pairs, in its order.
fn pairs_of(list: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let field = |name: &str| o[name].as_str().unwrap().to_owned();
            (field(a), field(b))
        })
        .collect()
}

/// The constants above are what `create_table` uses; this compares the template with the table
/// it really creates (DescribeTable and DescribeTimeToLive of DynamoDB Local).
#[tokio::test]
async fn the_table_is_the_table_create_table_makes() {
    if !integration_tests::dynamodb_local() {
        integration_tests::skip(
            "the_table_is_the_table_create_table_makes",
            "DynamoDB Local is not running",
            "DYNAMODB_LOCAL_REQUIRED",
        );
        return;
    }
    let t = cfn::template();
    let p = &t["Resources"]["KeysTable"]["Properties"];
    let client = shared::aws::dynamo_client(shared::aws::Timeouts::default()).await;
    let name = integration_tests::table_name("template");
    create_table(&client, &name).await.unwrap();
    let d = client.describe_table().table_name(&name).send().await.unwrap();
    let d = d.table().unwrap();

    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    let described: Vec<(String, String)> =
        d.key_schema().iter().map(|k| pair(k.attribute_name(), k.key_type().as_str())).collect();
    let declared = pairs_of(&p["KeySchema"], "AttributeName", "KeyType");
    assert_eq!(described, declared, "KeySchema");

    let described: BTreeSet<(String, String)> = d
        .attribute_definitions()
        .iter()
        .map(|a| pair(a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    let declared: BTreeSet<(String, String)> =
        pairs_of(&p["AttributeDefinitions"], "AttributeName", "AttributeType")
            .into_iter()
            .collect();
    assert_eq!(described, declared, "AttributeDefinitions");

    let described: Vec<Value> = d
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            json!({
                "IndexName": g.index_name().unwrap(),
                "KeySchema": g.key_schema().iter().map(|k| json!({
                    "AttributeName": k.attribute_name(),
                    "KeyType": k.key_type().as_str(),
                })).collect::<Vec<_>>(),
                "Projection": {
                    "ProjectionType": g.projection().unwrap().projection_type().unwrap().as_str(),
                },
            })
        })
        .collect();
    assert_same_set(&p["GlobalSecondaryIndexes"], &described, "GlobalSecondaryIndexes");

    let billing = d.billing_mode_summary().and_then(|b| b.billing_mode());
    assert_eq!(billing.map(|b| b.as_str()), p["BillingMode"].as_str(), "BillingMode");

    let ttl = client.describe_time_to_live().table_name(&name).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(
        ttl.attribute_name(),
        p["TimeToLiveSpecification"]["AttributeName"].as_str(),
        "TTL attribute"
    );
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
    client.delete_table().table_name(&name).send().await.unwrap();
}

/// What the CreateTable attempts of one client met, seen by an SDK interceptor: attempts sent,
/// and answers that were `ResourceInUseException` (the table was there already).
#[derive(Debug, Default, Clone)]
struct CreateTableAttempts(std::sync::Arc<std::sync::Mutex<(usize, usize)>>);

impl CreateTableAttempts {
    fn take(&self) -> (usize, usize) {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef as AfterDeserialization,
    BeforeTransmitInterceptorContextRef as BeforeTransmit,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

fn is_create_table(cfg: &ConfigBag) -> bool {
    use aws_smithy_runtime_api::client::orchestrator::Metadata;
    cfg.load::<Metadata>().is_some_and(|m| m.name() == "CreateTable")
}

impl Intercept for CreateTableAttempts {
    fn name(&self) -> &'static str {
        "template::CreateTableAttempts"
    }
    fn read_before_transmit(
        &self, _: &BeforeTransmit<'_>, _: &RuntimeComponents, cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if is_create_table(cfg) {
            self.0.lock().unwrap().0 += 1;
        }
        Ok(())
    }
    fn read_after_deserialization(
        &self, context: &AfterDeserialization<'_>, _: &RuntimeComponents, cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::create_table::CreateTableError;
        let in_use = context
            .output_or_error()
            .err()
            .and_then(|e| e.as_operation_error())
            .and_then(|e| e.downcast_ref::<CreateTableError>())
            .is_some_and(CreateTableError::is_resource_in_use_exception);
        if is_create_table(cfg) && in_use {
            self.0.lock().unwrap().1 += 1;
        }
        Ok(())
    }
}

/// When an attempt of `create_table`'s CreateTable times out after DynamoDB Local made the table,
/// the SDK's retry meets the table (ResourceInUse); the TTL must be turned on all the same. Short
/// attempt timeouts make that happen often (it left about one table in three without a TTL).
/// Tables are made until three of them went through that retry (the answers are seen on the
/// wire), within a deadline; every table made has its TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_table_sets_the_ttl_even_when_its_own_retry_finds_the_table() {
    if !integration_tests::dynamodb_local() {
        integration_tests::skip(
            "create_table_sets_the_ttl_even_when_its_own_retry_finds_the_table",
            "DynamoDB Local is not running",
            "DYNAMODB_LOCAL_REQUIRED",
        );
        return;
    }
    const WANTED: usize = 3;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let hurried = shared::aws::Timeouts {
        attempt: std::time::Duration::from_millis(15),
        operation: std::time::Duration::from_secs(10),
        max_attempts: 10,
        ..Default::default()
    };
    let client = shared::aws::dynamo_client(shared::aws::Timeouts::default()).await;
    let (mut tries, mut created, mut through_retry, mut gave_up) = (0, 0, 0, 0);
    while through_retry < WANTED {
        assert!(
            std::time::Instant::now() < deadline,
            "after {tries} tables ({created} created, {gave_up} given up), only {through_retry} \
             went through a retry that met the table: the path this test is about did not run"
        );
        tries += 1;
        // a client of its own each time: a fresh retry budget
        let attempts = CreateTableAttempts::default();
        let base = shared::aws::dynamo_client(hurried).await;
        let conf = base.config().to_builder().interceptor(attempts.clone()).build();
        let hurried_client = aws_sdk_dynamodb::Client::from_conf(conf);
        let name = integration_tests::table_name("ttl-retry");
        let made = create_table(&hurried_client, &name).await;
        let (sent, in_use) = attempts.take();
        if made.is_err() {
            gave_up += 1; // gave up within its timeouts: not what this is about
        } else {
            created += 1;
            if in_use > 0 {
                assert!(sent >= 2, "{name}: ResourceInUse on the first attempt");
                through_retry += 1;
            }
            let ttl = client.describe_time_to_live().table_name(&name).send().await.unwrap();
            let ttl = ttl.time_to_live_description().unwrap();
            assert_eq!(
                ttl.attribute_name(),
                Some(TTL_ATTRIBUTE),
                "{name} (CreateTable sent {sent} times, {in_use} met the table): {ttl:?}"
            );
        }
        let _ = client.delete_table().table_name(&name).send().await;
    }
    eprintln!(
        "{tries} tables tried with 15 ms attempts: {created} created, each with its TTL, \
         {through_retry} of them through a retry that met the table; {gave_up} given up"
    );
}

#[test]
fn every_function_builds_a_workspace_binary_with_the_table_name() {
    let t = cfn::template();
    let globals = &t["Globals"]["Function"];
    let bins = cfn::workspace_bins();
    let root = cfn::workspace_root();
    let functions = cfn::functions(&t);

    // one function per binary under functions/ (none forgotten, none extra)
    let function_bins: BTreeSet<&str> = bins
        .iter()
        .filter(|b| b.manifest_path.starts_with(root.join("functions")))
        .map(|b| b.name.as_str())
        .collect();
    let template_bins: BTreeSet<&str> = functions.iter().map(|f| f.binary).collect();
    assert_eq!(template_bins.len(), functions.len(), "a binary built twice");
    assert_eq!(template_bins, function_bins, "template.yaml vs functions/*");
    assert_eq!(function_bins.len(), 8);

    for f in &functions {
        let id = f.logical_id;
        let r = f.resource;
        assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        // cargo lambda build --bin <Binary> runs where CodeUri points: the workspace root
        let code_uri = r["Properties"]["CodeUri"].as_str().expect("CodeUri");
        let dir = root.join(code_uri).canonicalize().unwrap();
        assert_eq!(dir, root.canonicalize().unwrap(), "{id} CodeUri");
        let bin = bins.iter().find(|b| b.name == f.binary);
        assert!(bin.is_some(), "{id}: {} is no binary of the workspace", f.binary);

        // the deployed shape (docs/DEPLOY.md), set globally and not overridden
        let prop = |name: &str| {
            let own = &r["Properties"][name];
            if own.is_null() {
                globals[name].clone()
            } else {
                own.clone()
            }
        };
        assert_eq!(prop("Runtime"), "provided.al2023", "{id}");
        assert_eq!(prop("Architectures"), json!(["arm64"]), "{id}");
        assert_eq!(prop("Handler"), "bootstrap", "{id}");

        // SAM merges the Globals' environment variables with the function's own
        let mut env = cfn::object(&globals["Environment"]["Variables"]);
        env.extend(cfn::object(&r["Properties"]["Environment"]["Variables"]));
        assert_eq!(env.get("TABLE_NAME"), Some(&cfn::reference("KeysTable")), "{id}");
    }
}

/// The DynamoDB actions each function's code sends (the store's operations it runs), and none
/// more: `(binary, actions)`. A transaction's items need their own actions (PutItem,
/// UpdateItem, DeleteItem) beside TransactWriteItems.
const PERMISSIONS: &[(&str, &[&str])] = &[
    ("create-key", &["GetItem", "TransactWriteItems", "PutItem"]),
    ("list-keys", &["GetItem", "BatchGetItem", "Query"]),
    ("replace-key", &["GetItem", "BatchGetItem", "TransactWriteItems", "UpdateItem", "PutItem"]),
    ("update-key", &["GetItem", "BatchGetItem", "TransactWriteItems", "UpdateItem", "PutItem"]),
    (
        "delete-key",
        &["GetItem", "BatchGetItem", "TransactWriteItems", "UpdateItem", "DeleteItem", "PutItem"],
    ),
    ("list-audit", &["GetItem", "BatchGetItem", "Query"]),
    ("authorize", &["GetItem", "UpdateItem"]),
    ("console", &[]),
];

#[test]
fn every_function_has_exactly_the_permissions_it_uses() {
    let t = cfn::template();
    let table = json!({ "Fn::GetAtt": ["KeysTable", "Arn"] });
    let indexes = json!({ "Fn::Sub": "${KeysTable.Arn}/index/*" });
    for f in cfn::functions(&t) {
        let id = f.logical_id;
        let expected: BTreeSet<String> = PERMISSIONS
            .iter()
            .find(|(b, _)| *b == f.binary)
            .unwrap_or_else(|| panic!("{id}: no expected permissions for {}", f.binary))
            .1
            .iter()
            .map(|a| format!("dynamodb:{a}"))
            .collect();
        let policies = f.resource["Properties"]["Policies"].as_array().cloned().unwrap_or_default();
        // every function that touches the table carries the audit records' denial
        if !expected.is_empty() {
            assert!(
                policies.contains(&cfn::reference("AuditRecordsImmutable")),
                "{id} lacks the audit records' denial"
            );
        }
        let mut granted = BTreeSet::new();
        for policy in policies.iter().filter(|p| p.get("Statement").is_some()) {
            for st in policy["Statement"].as_array().expect("statements") {
                assert_eq!(st["Effect"], "Allow", "{id}");
                let actions = match &st["Action"] {
                    Value::String(a) => vec![a.clone()],
                    v => v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap().to_owned())
                        .collect(),
                };
                let resources = match &st["Resource"] {
                    Value::Array(r) => r.clone(),
                    r => vec![r.clone()],
                };
                for r in &resources {
                    assert!(*r == table || *r == indexes, "{id}: {r}");
                }
                granted.extend(actions);
            }
        }
        assert_eq!(granted, expected, "{id}'s actions");
    }

    // the authorizer: reads keys only, writes only their usage counters, gets nothing back
    let auth = cfn::function_by_binary(&t, "authorize");
    let statements: Vec<&Value> = auth.resource["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.get("Statement"))
        .flat_map(|s| s.as_array().unwrap())
        .collect();
    let of = |action: &str| {
        statements
            .iter()
            .find(|s| s["Action"] == action)
            .unwrap_or_else(|| panic!("no statement for {action}"))
    };
    assert_eq!(
        of("dynamodb:GetItem")["Condition"],
        json!({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["KEY#*", WARM_UP_PK] } })
    );
    assert_eq!(
        of("dynamodb:UpdateItem")["Condition"],
        json!({
            "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["KEY#*"] },
            "ForAllValues:StringEquals": {
                "dynamodb:Attributes": [
                    PK, "submittedJobs", "lastActiveDateTime", RL_WINDOW, RL_USED, "rlLimit",
                    QUOTA_REMAINING, QUOTA_REFILLED_AT, "secretHash", "previousHash",
                    "previousHashUntil", "status", "expiresAt"
                ]
            },
            "StringEqualsIfExists": {
                "dynamodb:ReturnValues": ["NONE", "UPDATED_NEW", "ALL_NEW"]
            },
        })
    );

    // nobody changes or removes an audit record
    let deny = &t["Resources"]["AuditRecordsImmutable"];
    assert_eq!(deny["Type"], "AWS::IAM::ManagedPolicy");
    let st = &deny["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(st["Effect"], "Deny");
    let actions: BTreeSet<&str> =
        st["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    for a in [
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    ] {
        assert!(actions.contains(a), "the denial misses {a}");
    }
    assert_eq!(
        st["Condition"],
        json!({ "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": [format!("{AUDIT_PK_PREFIX}*")] } })
    );
    // and audit records are kept as long as the template says, by the functions' environment
    assert_eq!(
        t["Globals"]["Function"]["Environment"]["Variables"]["AUDIT_RETENTION_DAYS"],
        cfn::reference("AuditRetentionDays")
    );
    assert_eq!(t["Parameters"]["AuditRetentionDays"]["Default"], 400);
}

#[test]
fn the_default_authorizer_is_the_authorize_binary() {
    let t = cfn::template();
    let auth = &t["Resources"]["KeysApi"]["Properties"]["Auth"];
    let default = auth["DefaultAuthorizer"].as_str().expect("DefaultAuthorizer");
    let a = &auth["Authorizers"][default];
    let function = cfn::function_by_binary(&t, "authorize");
    assert_eq!(a["FunctionArn"], json!({ "Fn::GetAtt": [function.logical_id, "Arn"] }));
    assert_eq!(a["AuthorizerPayloadFormatVersion"], "2.0");
    assert_eq!(a["EnableSimpleResponses"], true);
    // the identity sources are headers the authorizer reads the key from
    let headers = a["Identity"]["Headers"].as_array().expect("Identity.Headers");
    assert!(!headers.is_empty());
    for h in headers {
        let h = h.as_str().unwrap();
        let mut map = std::collections::HashMap::new();
        let value = if h.eq_ignore_ascii_case("authorization") { "Bearer k" } else { "k" };
        map.insert(h.to_owned(), value.to_owned());
        assert_eq!(shared::authorizer::presented_key(&map).key(), Some("k"), "{h}");
    }
    // no caching unless asked for
    assert_eq!(t["Parameters"]["AuthorizerCacheTtl"]["Default"], 0);
    // the authorizer is no route of its own
    assert!(function.resource["Properties"]["Events"].is_null());
}
