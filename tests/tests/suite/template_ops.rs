//! `template.yaml` can be operated: every alarm watches a metric CloudWatch really publishes, for a
//! resource of the stack, and tells the alarm topic; the alarm e-mail is optional; every function
//! logs to a log group of its own that keeps `LogRetentionDays`; the access log is JSON with what
//! an operator needs and nothing that could hold a key; throttling and the authorizer's reserved
//! concurrency come from their parameters.
//!
//! Each check is a function returning the problems it finds, and a test below mutates the parsed
//! template to prove the check bites.

use std::collections::{BTreeMap, BTreeSet};

use integration_tests::cfn;
use serde_json::{json, Map, Value};

type Problems = Vec<String>;

// ---- what CloudWatch publishes ----------------------------------------------------------------

/// A namespace, metric names in it, and the dimension sets CloudWatch publishes them with.
type Published = (&'static str, &'static [&'static str], &'static [&'static [&'static str]]);

/// Metrics CloudWatch publishes, per namespace, with the dimension sets it publishes them with
/// (AWS documentation: Lambda function metrics; HTTP API metrics; REST API metrics; DynamoDB
/// metrics and dimensions). An alarm on any other combination watches nothing.
const PUBLISHED: &[Published] = &[
    (
        "AWS/Lambda",
        &["Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"],
        &[&["FunctionName"], &["FunctionName", "Resource"]],
    ),
    // HTTP APIs (ApiId); `Route` needs detailed metrics, which this stack does not turn on
    (
        "AWS/ApiGateway",
        &["4xx", "5xx", "Count", "Latency", "IntegrationLatency", "DataProcessed"],
        &[&["ApiId"], &["ApiId", "Stage"]],
    ),
    // REST APIs (ApiName): other metric names
    (
        "AWS/ApiGateway",
        &["4XXError", "5XXError", "Count", "Latency", "IntegrationLatency"],
        &[&["ApiName"], &["ApiName", "Stage"]],
    ),
    (
        "AWS/DynamoDB",
        &[
            "ReadThrottleEvents",
            "WriteThrottleEvents",
            "ConsumedReadCapacityUnits",
            "ConsumedWriteCapacityUnits",
        ],
        &[&["TableName"], &["TableName", "GlobalSecondaryIndexName"]],
    ),
    (
        "AWS/DynamoDB",
        &["SystemErrors", "ThrottledRequests", "SuccessfulRequestLatency"],
        &[&["TableName", "Operation"]],
    ),
];

/// The resource type a dimension's `Ref` must name.
const DIMENSION_TARGETS: &[(&str, &str)] = &[
    ("FunctionName", "AWS::Serverless::Function"),
    ("TableName", "AWS::DynamoDB::Table"),
    ("ApiId", "AWS::Serverless::HttpApi"),
];

/// CloudWatch Logs' allowed retention periods, in days.
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn resource<'a>(t: &'a Value, id: &str) -> Option<&'a Value> {
    t["Resources"].get(id)
}

/// The logical id a `{"Ref": id}` names.
fn ref_of(v: &Value) -> Option<&str> {
    v.get("Ref").and_then(Value::as_str)
}

// ---- alarms ---------------------------------------------------------------------------------

/// One metric an alarm reads: namespace, name, dimensions (name -> value).
struct Watched {
    namespace: String,
    name: String,
    dimensions: BTreeMap<String, Value>,
}

fn dimensions(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .map(|ds| {
            ds.iter()
                .map(|d| (d["Name"].as_str().unwrap_or("").to_owned(), d["Value"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The metrics an alarm reads (its own, or those of its metric math), and the problems of its
/// metric math: one result, and every metric used by the expression.
fn watched(id: &str, alarm: &Value, problems: &mut Problems) -> Vec<Watched> {
    let p = &alarm["Properties"];
    if let Some(metrics) = p["Metrics"].as_array() {
        let returned: Vec<&Value> = metrics.iter().filter(|m| m["ReturnData"] != false).collect();
        if returned.len() != 1 {
            problems.push(format!("{id}: {} metrics return data, not 1", returned.len()));
        }
        let expression = returned.first().and_then(|m| m["Expression"].as_str()).unwrap_or("");
        let mut out = Vec::new();
        for m in metrics.iter().filter(|m| m.get("MetricStat").is_some()) {
            let metric_id = m["Id"].as_str().unwrap_or("");
            if !expression.is_empty() && !mentions(expression, metric_id) {
                problems.push(format!("{id}: the expression leaves out {metric_id}"));
            }
            let metric = &m["MetricStat"]["Metric"];
            out.push(Watched {
                namespace: metric["Namespace"].as_str().unwrap_or("").to_owned(),
                name: metric["MetricName"].as_str().unwrap_or("").to_owned(),
                dimensions: dimensions(&metric["Dimensions"]),
            });
        }
        out
    } else {
        vec![Watched {
            namespace: p["Namespace"].as_str().unwrap_or("").to_owned(),
            name: p["MetricName"].as_str().unwrap_or("").to_owned(),
            dimensions: dimensions(&p["Dimensions"]),
        }]
    }
}

/// Whether `expression` uses the metric id `id` (as a whole word).
fn mentions(expression: &str, id: &str) -> bool {
    expression.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w == id)
}

/// The DynamoDB operations the stack's functions may call (their policies' `dynamodb:` actions).
fn granted_operations(t: &Value) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for f in cfn::functions(t) {
        for policy in f.resource["Properties"]["Policies"].as_array().into_iter().flatten() {
            for st in policy["Statement"].as_array().into_iter().flatten() {
                let actions = match &st["Action"] {
                    Value::Array(a) => a.clone(),
                    a => vec![a.clone()],
                };
                for a in actions {
                    if let Some(op) = a.as_str().and_then(|a| a.strip_prefix("dynamodb:")) {
                        ops.insert(op.to_owned());
                    }
                }
            }
        }
    }
    ops
}

/// Every alarm: watches a metric CloudWatch publishes with that dimension set, for a resource of
/// the stack of the right type (an index of that table, an operation the functions call, the HTTP
/// API's `$default` stage); says what it means; notifies the alarm topic when it fires and when
/// it is OK again; treats missing data as not breaching.
fn alarm_problems(t: &Value) -> Problems {
    let mut problems = Problems::new();
    let alarms = cfn::resources(t, "AWS::CloudWatch::Alarm");
    if alarms.is_empty() {
        problems.push("no alarms".into());
    }
    let topics = cfn::resources(t, "AWS::SNS::Topic");
    let operations = granted_operations(t);
    for (id, alarm) in &alarms {
        let p = &alarm["Properties"];
        for actions in ["AlarmActions", "OKActions"] {
            let notifies: Vec<&str> =
                p[actions].as_array().into_iter().flatten().filter_map(ref_of).collect();
            if notifies.is_empty() || !notifies.iter().all(|n| topics.contains_key(n)) {
                problems.push(format!("{id}: {actions} is not the alarm topic: {}", p[actions]));
            }
        }
        if p["TreatMissingData"] != "notBreaching" {
            problems.push(format!("{id}: TreatMissingData is not notBreaching"));
        }
        if p["AlarmDescription"].as_str().is_none_or(|d| d.len() < 80) {
            problems.push(format!("{id}: no description of what it means and what to do"));
        }
        for w in watched(id, alarm, &mut problems) {
            let what = format!("{id}: {}/{}", w.namespace, w.name);
            let names: Vec<&str> = w.dimensions.keys().map(String::as_str).collect();
            let published = PUBLISHED.iter().any(|(ns, metrics, sets)| {
                *ns == w.namespace
                    && metrics.contains(&w.name.as_str())
                    && sets.iter().any(|set| {
                        let mut set = set.to_vec();
                        set.sort_unstable();
                        set == names
                    })
            });
            if !published {
                problems.push(format!(
                    "{what} with dimensions {names:?} is not a metric CloudWatch publishes"
                ));
            }
            for (name, value) in &w.dimensions {
                match name.as_str() {
                    "GlobalSecondaryIndexName" => {
                        let table = w
                            .dimensions
                            .get("TableName")
                            .and_then(ref_of)
                            .and_then(|r| resource(t, r));
                        let indexes: Vec<&Value> = table
                            .map(|tb| {
                                tb["Properties"]["GlobalSecondaryIndexes"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .map(|g| &g["IndexName"])
                                    .collect()
                            })
                            .unwrap_or_default();
                        if !indexes.contains(&value) {
                            problems.push(format!("{what}: {value} is no index of its table"));
                        }
                    }
                    "Stage" => {
                        if value != "$default" {
                            problems.push(format!("{what}: stage {value} is not $default"));
                        }
                    }
                    "Operation" => {
                        if !value.as_str().is_some_and(|op| operations.contains(op)) {
                            problems.push(format!(
                                "{what}: {value} is no DynamoDB operation the functions call"
                            ));
                        }
                    }
                    _ => match DIMENSION_TARGETS.iter().find(|(d, _)| d == name) {
                        Some((_, kind)) => {
                            let target = ref_of(value).and_then(|r| resource(t, r));
                            if target.is_none_or(|r| r["Type"] != *kind) {
                                problems.push(format!("{what}: {name} {value} is no {kind} here"));
                            }
                        }
                        None => problems.push(format!("{what}: unexpected dimension {name}")),
                    },
                }
            }
        }
    }
    problems
}

/// What must be watched: the authorizer's errors, throttles and duration; the HTTP API's 5xx
/// rate; throttling of the table and of every one of its indexes, reads and writes; DynamoDB's
/// internal errors. And the duration alarm fires at 80 % of the authorizer's timeout.
fn coverage_problems(t: &Value) -> Problems {
    let mut problems = Problems::new();
    let mut all: Vec<(String, Watched)> = Vec::new();
    let mut ignored = Problems::new();
    for (id, alarm) in cfn::resources(t, "AWS::CloudWatch::Alarm") {
        for w in watched(id, alarm, &mut ignored) {
            all.push((id.to_owned(), w));
        }
    }
    let authorizer = cfn::function_by_binary(t, "authorize").logical_id;
    let is = |w: &Watched, ns: &str, name: &str, dims: &[(&str, Value)]| {
        w.namespace == ns
            && w.name == name
            && w.dimensions.len() == dims.len()
            && dims.iter().all(|(k, v)| w.dimensions.get(*k) == Some(v))
    };
    let mut need =
        |label: String, ns: &str, name: &str, dims: &[(&str, Value)]| -> Option<String> {
            let found = all.iter().find(|(_, w)| is(w, ns, name, dims)).map(|(id, _)| id.clone());
            if found.is_none() {
                problems.push(format!("nothing watches {label}"));
            }
            found
        };
    let function = [("FunctionName", cfn::reference(authorizer))];
    need("the authorizer's Errors".into(), "AWS/Lambda", "Errors", &function);
    need("the authorizer's Throttles".into(), "AWS/Lambda", "Throttles", &function);
    let duration = need("the authorizer's Duration".into(), "AWS/Lambda", "Duration", &function);
    let api = cfn::resources(t, "AWS::Serverless::HttpApi");
    for api_id in api.keys() {
        let stage = [("ApiId", cfn::reference(api_id)), ("Stage", json!("$default"))];
        need(format!("{api_id}'s 5xx"), "AWS/ApiGateway", "5xx", &stage);
        need(format!("{api_id}'s Count"), "AWS/ApiGateway", "Count", &stage);
    }
    for (table_id, table) in cfn::resources(t, "AWS::DynamoDB::Table") {
        let table_ref = cfn::reference(table_id);
        for metric in ["ReadThrottleEvents", "WriteThrottleEvents"] {
            need(
                format!("{table_id}'s {metric}"),
                "AWS/DynamoDB",
                metric,
                &[("TableName", table_ref.clone())],
            );
            for index in
                table["Properties"]["GlobalSecondaryIndexes"].as_array().into_iter().flatten()
            {
                need(
                    format!("{table_id}'s {metric} of index {}", index["IndexName"]),
                    "AWS/DynamoDB",
                    metric,
                    &[
                        ("TableName", table_ref.clone()),
                        ("GlobalSecondaryIndexName", index["IndexName"].clone()),
                    ],
                );
            }
        }
        for op in
            ["GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "TransactWriteItems"]
        {
            need(
                format!("{table_id}'s SystemErrors of {op}"),
                "AWS/DynamoDB",
                "SystemErrors",
                &[("TableName", table_ref.clone()), ("Operation", json!(op))],
            );
        }
    }

    // the duration alarm's threshold and the authorizer's timeout, tied by one mapping
    let limits = &t["Mappings"]["Authorizer"]["Limits"];
    let timeout = cfn::function_by_binary(t, "authorize").resource["Properties"]["Timeout"].clone();
    if timeout != json!({ "Fn::FindInMap": ["Authorizer", "Limits", "TimeoutSeconds"] }) {
        problems.push(format!("the authorizer's Timeout {timeout} is not the mapping's"));
    }
    if let Some(id) = duration {
        let alarm = &t["Resources"][id.as_str()]["Properties"];
        let threshold =
            json!({ "Fn::FindInMap": ["Authorizer", "Limits", "DurationAlarmMilliseconds"] });
        if alarm["Threshold"] != threshold || alarm["Statistic"] != "Maximum" {
            problems.push(format!("{id}: not the Maximum against the mapping's threshold"));
        }
    }
    match (limits["TimeoutSeconds"].as_i64(), limits["DurationAlarmMilliseconds"].as_i64()) {
        (Some(s), Some(ms)) if ms * 10 == s * 1000 * 8 => {}
        (s, ms) => problems.push(format!(
            "the duration alarm ({ms:?} ms) is not 80 % of the authorizer's timeout ({s:?} s)"
        )),
    }
    problems
}

/// The alarm topic: every subscription is the optional e-mail one, made only when `AlarmEmail`
/// is set (default empty); the topic is an output.
fn notification_problems(t: &Value) -> Problems {
    let mut problems = Problems::new();
    let topics = cfn::resources(t, "AWS::SNS::Topic");
    if topics.len() != 1 {
        problems.push(format!("{} SNS topics, not 1", topics.len()));
    }
    if t["Parameters"]["AlarmEmail"]["Default"] != "" {
        problems.push("AlarmEmail's default is not empty".into());
    }
    let subscriptions = cfn::resources(t, "AWS::SNS::Subscription");
    if subscriptions.is_empty() {
        problems.push("no e-mail subscription".into());
    }
    for (id, s) in subscriptions {
        let p = &s["Properties"];
        if ref_of(&p["TopicArn"]).is_none_or(|r| !topics.contains_key(r)) {
            problems.push(format!("{id}: not a subscription of the alarm topic"));
        }
        if p["Endpoint"] != cfn::reference("AlarmEmail") || p["Protocol"] != "email" {
            problems.push(format!("{id}: not the AlarmEmail address"));
        }
        let condition = s["Condition"].as_str().unwrap_or("");
        let expected = json!({ "Fn::Not": [{ "Fn::Equals": [cfn::reference("AlarmEmail"), ""] }] });
        if t["Conditions"][condition] != expected {
            problems.push(format!(
                "{id}: not made only when AlarmEmail is set (Condition {condition:?})"
            ));
        }
    }
    let output = &t["Outputs"]["AlarmTopicArn"]["Value"];
    if ref_of(output).is_none_or(|r| !topics.contains_key(r)) {
        problems.push("no AlarmTopicArn output".into());
    }
    problems
}

// ---- logs -----------------------------------------------------------------------------------

/// A log group that keeps `LogRetentionDays`, under a name of this stack.
fn log_group_problems_of(t: &Value, id: &str, who: &str) -> Problems {
    let mut problems = Problems::new();
    match resource(t, id) {
        Some(g) if g["Type"] == "AWS::Logs::LogGroup" => {
            let p = &g["Properties"];
            if p["RetentionInDays"] != cfn::reference("LogRetentionDays") {
                problems.push(format!("{who}: {id} does not keep LogRetentionDays"));
            }
            let name = p["LogGroupName"]["Fn::Sub"].as_str().unwrap_or("");
            if !name.starts_with("/${AWS::StackName}/") {
                problems.push(format!("{who}: {id} is not named after the stack: {name:?}"));
            }
        }
        _ => problems.push(format!("{who}: {id} is no AWS::Logs::LogGroup of the template")),
    }
    problems
}

/// Every function logs to a log group of its own (none shared), wired through its
/// `LoggingConfig.LogGroup` (the Globals keep the JSON format), that keeps `LogRetentionDays`,
/// a parameter of CloudWatch's allowed values; so do the access logs.
fn log_problems(t: &Value) -> Problems {
    let mut problems = Problems::new();
    let retention = &t["Parameters"]["LogRetentionDays"];
    let allowed: Vec<i64> = retention["AllowedValues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    if allowed.is_empty() || !allowed.iter().all(|d| RETENTION_DAYS.contains(d)) {
        problems.push(format!("LogRetentionDays allows {allowed:?}, not CloudWatch's values"));
    }
    if !retention["Default"].as_i64().is_some_and(|d| allowed.contains(&d)) {
        problems.push("LogRetentionDays' default is not one of its values".into());
    }
    if t["Globals"]["Function"]["LoggingConfig"]["LogFormat"] != "JSON" {
        problems.push("the Globals' LoggingConfig lost LogFormat JSON".into());
    }
    let mut owners: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for f in cfn::functions(t) {
        let group = &f.resource["Properties"]["LoggingConfig"]["LogGroup"];
        match ref_of(group) {
            Some(id) => {
                problems.extend(log_group_problems_of(t, id, f.logical_id));
                owners.entry(id.to_owned()).or_default().push(f.logical_id);
            }
            None => problems.push(format!(
                "{}: LoggingConfig.LogGroup is not a Ref to a log group: {group}",
                f.logical_id
            )),
        }
    }
    for (group, functions) in owners {
        if functions.len() > 1 {
            problems.push(format!("{group} is shared by {functions:?}"));
        }
    }
    for (api_id, api) in cfn::resources(t, "AWS::Serverless::HttpApi") {
        let arn = &api["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"];
        match arn.as_array().map(Vec::as_slice) {
            Some([id, attribute]) if attribute == "Arn" => {
                let id = id.as_str().unwrap_or("");
                problems.extend(log_group_problems_of(t, id, api_id));
                if t["Outputs"]["AccessLogGroupName"]["Value"] != cfn::reference(id) {
                    problems.push("no AccessLogGroupName output".into());
                }
            }
            _ => problems.push(format!("{api_id}: no access log group")),
        }
    }
    problems
}

/// The `$...` variables of an access log format, in order.
fn variables(format: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = format;
    while let Some(at) = rest.find('$') {
        let tail = &rest[at..];
        let end = tail[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
            .map_or(tail.len(), |e| e + 1);
        out.push(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

/// The access log's fields and the variable each must hold.
const ACCESS_LOG_FIELDS: &[(&str, &str)] = &[
    ("requestId", "$context.requestId"),
    ("routeKey", "$context.routeKey"),
    ("status", "$context.status"),
    ("responseLatency", "$context.responseLatency"),
    ("integrationError", "$context.integrationErrorMessage"),
    ("authorizerError", "$context.authorizer.error"),
    ("ip", "$context.identity.sourceIp"),
    ("method", "$context.httpMethod"),
    ("path", "$context.path"),
    ("protocol", "$context.protocol"),
    ("integrationStatus", "$context.integrationStatus"),
    ("integrationLatency", "$context.integrationLatency"),
    ("keyPrefix", "$context.authorizer.keyPrefix"),
];

/// The authorizer context's fields an access log may hold: its error and the key's public prefix.
const AUTHORIZER_FIELDS: &[&str] = &["$context.authorizer.error", "$context.authorizer.keyPrefix"];

/// The access log format is JSON once its variables are filled in (each inside a string), has the
/// fields an operator needs, and holds nothing that could carry a key: no header, no
/// `Authorization`, no identity but the caller's IP and user agent, nothing of the authorizer's
/// context but its error and the key's prefix.
fn access_log_problems(t: &Value) -> Problems {
    let mut problems = Problems::new();
    let apis = cfn::resources(t, "AWS::Serverless::HttpApi");
    if apis.is_empty() {
        problems.push("no HTTP API".into());
    }
    for (api_id, api) in apis {
        let Some(format) = api["Properties"]["AccessLogSettings"]["Format"].as_str() else {
            problems.push(format!("{api_id}: no access log format"));
            continue;
        };
        for v in variables(format) {
            let lower = v.to_ascii_lowercase();
            let identity_ok = ["$context.identity.sourceIp", "$context.identity.userAgent"];
            if !v.starts_with("$context.")
                || lower.contains("header")
                || lower.contains("authorization")
                || (v.starts_with("$context.identity.") && !identity_ok.contains(&v))
                || (v.starts_with("$context.authorizer.") && !AUTHORIZER_FIELDS.contains(&v))
            {
                problems.push(format!("{api_id}: the access log holds {v}"));
            }
        }
        if format.to_ascii_lowercase().contains("authorization") {
            problems.push(format!("{api_id}: the access log names Authorization"));
        }
        let mut filled = format.to_owned();
        for v in variables(format) {
            filled = filled.replacen(v, "x", 1);
        }
        let doc: Map<String, Value> = match serde_json::from_str(&filled) {
            Ok(Value::Object(m)) => m,
            Ok(other) => {
                problems.push(format!("{api_id}: the access log is no JSON object: {other}"));
                continue;
            }
            Err(e) => {
                problems.push(format!("{api_id}: the access log is no JSON ({e}): {filled}"));
                continue;
            }
        };
        let parsed: Map<String, Value> = serde_json::from_str(
            &variables(format)
                .iter()
                .fold(format.to_owned(), |f, v| f.replacen(v, &v.replace('$', "#"), 1)),
        )
        .unwrap_or_default();
        for (field, variable) in ACCESS_LOG_FIELDS {
            let expected = variable.replace('$', "#");
            if parsed.get(*field).and_then(Value::as_str) != Some(expected.as_str()) {
                problems.push(format!("{api_id}: the access log's {field} is not {variable}"));
            }
        }
        for (field, value) in doc {
            if !value.is_string() {
                problems.push(format!("{api_id}: the access log's {field} is no string"));
            }
        }
    }
    problems
}

// ---- capacity -------------------------------------------------------------------------------

/// The HTTP API's stage throttling comes from its parameters (500/s and a burst of 1,000 by
/// default), and the authorizer's reserved concurrency is set only when its parameter is not 0.
fn capacity_problems(t: &Value) -> Problems {
    let mut problems = Problems::new();
    for (api_id, api) in cfn::resources(t, "AWS::Serverless::HttpApi") {
        let s = &api["Properties"]["DefaultRouteSettings"];
        for (property, parameter, default) in [
            ("ThrottlingRateLimit", "ApiThrottlingRateLimit", 500),
            ("ThrottlingBurstLimit", "ApiThrottlingBurstLimit", 1000),
        ] {
            if s[property] != cfn::reference(parameter) {
                problems.push(format!("{api_id}: {property} is not {parameter}: {}", s[property]));
            }
            let p = &t["Parameters"][parameter];
            if p["Type"] != "Number" || p["Default"] != default {
                problems.push(format!("{parameter}: not a Number defaulting to {default}"));
            }
        }
    }
    let auth = cfn::function_by_binary(t, "authorize");
    let reserved = &auth.resource["Properties"]["ReservedConcurrentExecutions"];
    let choice = reserved["Fn::If"].as_array().map(Vec::as_slice);
    match choice {
        Some([condition, value, otherwise])
            if *value == cfn::reference("AuthorizerReservedConcurrency")
                && *otherwise == cfn::reference("AWS::NoValue") =>
        {
            let expected = json!({
                "Fn::Not": [{ "Fn::Equals": [cfn::reference("AuthorizerReservedConcurrency"), "0"] }]
            });
            let name = condition.as_str().unwrap_or("");
            if t["Conditions"][name] != expected {
                problems.push(format!(
                    "the reservation's condition {name:?} is not AuthorizerReservedConcurrency != 0"
                ));
            }
        }
        _ => problems.push(format!(
            "{}: ReservedConcurrentExecutions is not conditional on its parameter: {reserved}",
            auth.logical_id
        )),
    }
    if t["Parameters"]["AuthorizerReservedConcurrency"]["Default"] != 0 {
        problems.push("AuthorizerReservedConcurrency's default is not 0 (not reserved)".into());
    }
    problems
}

fn all_problems(t: &Value) -> Problems {
    [
        alarm_problems(t),
        coverage_problems(t),
        notification_problems(t),
        log_problems(t),
        access_log_problems(t),
        capacity_problems(t),
    ]
    .concat()
}

// ---- the template passes; each check bites ---------------------------------------------------

#[test]
fn the_template_can_be_operated() {
    let problems = all_problems(&cfn::template());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `template.yaml`, with `change` made to it.
fn mutated(change: impl FnOnce(&mut Value)) -> Value {
    let mut t = cfn::template();
    change(&mut t);
    t
}

fn at<'a>(t: &'a mut Value, pointer: &str) -> &'a mut Value {
    t.pointer_mut(pointer).unwrap_or_else(|| panic!("the template has no {pointer}"))
}

#[track_caller]
fn bites(problems: Problems, says: &str) {
    assert!(problems.iter().any(|p| p.contains(says)), "no problem says {says:?}: {problems:#?}");
}

fn remove(t: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    at(t, parent).as_object_mut().unwrap().remove(key);
}

#[test]
fn a_missing_or_shared_log_group_bites() {
    let t = mutated(|t| remove(t, "/Resources/CreateKeyLogGroup"));
    bites(log_problems(&t), "CreateKeyFunction: CreateKeyLogGroup is no AWS::Logs::LogGroup");

    let t = mutated(|t| {
        *at(t, "/Resources/ListKeysFunction/Properties/LoggingConfig/LogGroup") =
            cfn::reference("CreateKeyLogGroup");
    });
    bites(log_problems(&t), "CreateKeyLogGroup is shared");

    let t = mutated(|t| remove(t, "/Resources/ConsoleFunction/Properties/LoggingConfig"));
    bites(log_problems(&t), "ConsoleFunction: LoggingConfig.LogGroup is not a Ref");

    let t = mutated(|t| {
        *at(t, "/Resources/AuthorizeLogGroup/Properties/RetentionInDays") = json!(7);
    });
    bites(log_problems(&t), "AuthorizeLogGroup does not keep LogRetentionDays");

    let t = mutated(|t| {
        *at(t, "/Resources/AuthorizeLogGroup/Properties/LogGroupName") =
            json!({ "Fn::Sub": "/aws/lambda/authorize" });
    });
    bites(log_problems(&t), "is not named after the stack");

    let t = mutated(|t| {
        at(t, "/Parameters/LogRetentionDays/AllowedValues").as_array_mut().unwrap().push(json!(42));
    });
    bites(log_problems(&t), "not CloudWatch's values");

    let t = mutated(|t| remove(t, "/Resources/AccessLogGroup"));
    bites(log_problems(&t), "KeysApi: AccessLogGroup is no AWS::Logs::LogGroup");
}

#[test]
fn an_alarm_on_something_that_is_not_there_bites() {
    // a function that does not exist, and a resource of another type
    let t = mutated(|t| {
        *at(t, "/Resources/AuthorizerErrorsAlarm/Properties/Dimensions/0/Value") =
            cfn::reference("NoSuchFunction");
    });
    bites(alarm_problems(&t), "AuthorizerErrorsAlarm: AWS/Lambda/Errors: FunctionName");
    bites(coverage_problems(&t), "nothing watches the authorizer's Errors");
    let t = mutated(|t| {
        *at(t, "/Resources/AuthorizerThrottlesAlarm/Properties/Dimensions/0/Value") =
            cfn::reference("KeysTable");
    });
    bites(alarm_problems(&t), "is no AWS::Serverless::Function here");

    // an index the table does not have
    let t = mutated(|t| {
        let metrics = at(t, "/Resources/DynamoDbThrottlesAlarm/Properties/Metrics");
        metrics[2]["MetricStat"]["Metric"]["Dimensions"][1]["Value"] = json!("byNothing");
    });
    bites(alarm_problems(&t), "\"byNothing\" is no index of its table");

    // a REST API metric name on the HTTP API, and a dimension set CloudWatch does not publish
    let t = mutated(|t| {
        let metrics = at(t, "/Resources/Api5xxRateAlarm/Properties/Metrics");
        metrics[0]["MetricStat"]["Metric"]["MetricName"] = json!("5XXError");
    });
    bites(alarm_problems(&t), "AWS/ApiGateway/5XXError with dimensions");
    let t = mutated(|t| {
        let metrics = at(t, "/Resources/DynamoDbSystemErrorsAlarm/Properties/Metrics");
        let dims = metrics[0]["MetricStat"]["Metric"]["Dimensions"].as_array_mut().unwrap();
        dims.pop();
    });
    bites(alarm_problems(&t), "SystemErrors with dimensions [\"TableName\"]");
    let t = mutated(|t| {
        let metrics = at(t, "/Resources/DynamoDbSystemErrorsAlarm/Properties/Metrics");
        metrics[0]["MetricStat"]["Metric"]["Dimensions"][1]["Value"] = json!("Scan");
    });
    bites(alarm_problems(&t), "\"Scan\" is no DynamoDB operation the functions call");

    // a metric the expression leaves out
    let t = mutated(|t| {
        let metrics = at(t, "/Resources/DynamoDbThrottlesAlarm/Properties/Metrics");
        metrics[8]["Expression"] = json!("SUM([table_reads, table_writes])");
    });
    bites(alarm_problems(&t), "the expression leaves out owner_reads");
}

#[test]
fn an_alarm_that_tells_nobody_bites() {
    let t = mutated(|t| remove(t, "/Resources/AuthorizerDurationAlarm/Properties/OKActions"));
    bites(alarm_problems(&t), "AuthorizerDurationAlarm: OKActions is not the alarm topic");
    let t = mutated(|t| {
        *at(t, "/Resources/Api5xxRateAlarm/Properties/AlarmActions") =
            json!(["arn:aws:sns:us-east-1:123456789012:elsewhere"]);
    });
    bites(alarm_problems(&t), "Api5xxRateAlarm: AlarmActions is not the alarm topic");
    let t = mutated(|t| {
        *at(t, "/Resources/DynamoDbThrottlesAlarm/Properties/TreatMissingData") =
            json!("breaching");
    });
    bites(alarm_problems(&t), "TreatMissingData is not notBreaching");
}

#[test]
fn what_must_be_watched_is_watched() {
    // a new index of the table without its throttling in the alarm
    let t = mutated(|t| {
        at(t, "/Resources/KeysTable/Properties/GlobalSecondaryIndexes")
            .as_array_mut()
            .unwrap()
            .push(json!({ "IndexName": "byLabel" }));
    });
    bites(coverage_problems(&t), "ReadThrottleEvents of index \"byLabel\"");
    // the duration alarm out of step with the timeout
    let t = mutated(|t| {
        *at(t, "/Mappings/Authorizer/Limits/DurationAlarmMilliseconds") = json!(5000);
    });
    bites(coverage_problems(&t), "is not 80 % of the authorizer's timeout");
    let t = mutated(|t| {
        *at(t, "/Resources/AuthorizeFunction/Properties/Timeout") = json!(8);
    });
    bites(coverage_problems(&t), "the authorizer's Timeout 8 is not the mapping's");
    let t = mutated(|t| remove(t, "/Resources/Api5xxRateAlarm"));
    bites(coverage_problems(&t), "nothing watches KeysApi's 5xx");
}

#[test]
fn an_unconditional_subscription_bites() {
    let t = mutated(|t| remove(t, "/Resources/AlarmEmailSubscription/Condition"));
    bites(notification_problems(&t), "not made only when AlarmEmail is set");
    let t = mutated(|t| {
        *at(t, "/Conditions/HasAlarmEmail") = json!(true);
    });
    bites(notification_problems(&t), "not made only when AlarmEmail is set");
    let t = mutated(|t| {
        *at(t, "/Parameters/AlarmEmail/Default") = json!("ops@example.com");
    });
    bites(notification_problems(&t), "AlarmEmail's default is not empty");
    let t = mutated(|t| remove(t, "/Outputs/AlarmTopicArn"));
    bites(notification_problems(&t), "no AlarmTopicArn output");
}

fn with_format(change: impl FnOnce(&str) -> String) -> Value {
    mutated(|t| {
        let format = at(t, "/Resources/KeysApi/Properties/AccessLogSettings/Format");
        let new = change(format.as_str().unwrap());
        *format = json!(new);
    })
}

#[test]
fn an_access_log_that_could_hold_a_key_bites() {
    let added = |field: &str| {
        let field = field.to_owned();
        with_format(move |f| f.replacen('{', &format!("{{{field},"), 1))
    };
    let t = added(r#""apiKey":"$context.identity.apiKey""#);
    bites(access_log_problems(&t), "the access log holds $context.identity.apiKey");
    let t = added(r#""auth":"$request.header.Authorization""#);
    bites(access_log_problems(&t), "the access log holds $request.header.Authorization");
    let t = added(r#""name":"$context.authorizer.keyName""#);
    bites(access_log_problems(&t), "the access log holds $context.authorizer.keyName");
    let t = added(r#""agent":"$context.identity.userAgent""#);
    assert!(access_log_problems(&t).is_empty(), "the user agent is allowed");

    // a variable outside a string: not JSON once filled in
    let t = with_format(|f| f.replace(r#""$context.status""#, "$context.status"));
    bites(access_log_problems(&t), "the access log is no JSON");
    // a required field dropped, or holding another variable
    let t = with_format(|f| f.replace(r#""ip":"#, r#""client":"#));
    bites(access_log_problems(&t), "the access log's ip is not $context.identity.sourceIp");
    let t =
        with_format(|f| f.replace("$context.authorizer.keyPrefix", "$context.authorizer.error"));
    bites(
        access_log_problems(&t),
        "the access log's keyPrefix is not $context.authorizer.keyPrefix",
    );
}

#[test]
fn capacity_not_from_the_parameters_bites() {
    let t = mutated(|t| {
        *at(t, "/Resources/KeysApi/Properties/DefaultRouteSettings/ThrottlingRateLimit") =
            json!(100);
    });
    bites(capacity_problems(&t), "ThrottlingRateLimit is not ApiThrottlingRateLimit");
    let t = mutated(|t| remove(t, "/Resources/KeysApi/Properties/DefaultRouteSettings"));
    bites(capacity_problems(&t), "ThrottlingBurstLimit is not ApiThrottlingBurstLimit");
    let t = mutated(|t| {
        *at(t, "/Resources/AuthorizeFunction/Properties/ReservedConcurrentExecutions") =
            cfn::reference("AuthorizerReservedConcurrency");
    });
    bites(capacity_problems(&t), "ReservedConcurrentExecutions is not conditional");
    let t = mutated(|t| {
        *at(t, "/Conditions/ReserveAuthorizerConcurrency") = json!(true);
    });
    bites(capacity_problems(&t), "is not AuthorizerReservedConcurrency != 0");
}

#[test]
fn variables_are_found_whole() {
    assert_eq!(
        variables(r#"{"a":"$context.identity.sourceIp","b":"$context.status"} $request.header.x"#),
        ["$context.identity.sourceIp", "$context.status", "$request.header.x"]
    );
    assert!(mentions("SUM([a_1, b])", "a_1") && !mentions("SUM([a_12])", "a_1"));
}
