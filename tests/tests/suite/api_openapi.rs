//! `openapi.yaml` is kept true: real answers of the handlers, for every route and every status the
//! document lists, are checked against it (the status is documented for the operation, the
//! content type is, required headers are present, and the body fits the schema); and every
//! documented status of every route is produced by some request here.
//!
//! The schema check is small and hand-written: `$ref`, `allOf`, `type` (with `null`), `required`,
//! `properties`, `additionalProperties`/`unevaluatedProperties: false`, `items`, `enum`, `const`,
//! `minimum`/`maximum`, `minLength`/`maxLength`, `maxItems`. Patterns and formats are not checked.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use shared::store::Store;

use integration_tests::api::*;
use integration_tests::wrap::{failing, Fail, Race, Wrapped};
use shared::api::ROUTES;

fn spec() -> Value {
    let text = include_str!("../../../openapi.yaml");
    serde_yaml::from_str(text).expect("openapi.yaml is valid YAML")
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            let target = spec.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {r}"));
            resolve(spec, target)
        }
        None => v,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The property names a schema evaluates, its `allOf` branches included.
fn evaluated(spec: &Value, schema: &Value, out: &mut BTreeSet<String>) {
    let schema = resolve(spec, schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    for sub in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        evaluated(spec, sub, out);
    }
}

/// Every way `value` breaks `schema`, as "path: problem".
fn check(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    for sub in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        check(spec, sub, value, at, errors);
    }
    if let Some(t) = schema.get("type") {
        let allowed: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = type_name(value);
        let ok = allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !ok {
            errors.push(format!("{at}: is {actual}, schema says {allowed:?}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            errors.push(format!("{at}: {value} is not {c}"));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema.get("minimum").and_then(Value::as_f64).is_some_and(|m| n < m) {
            errors.push(format!("{at}: {n} is below the minimum"));
        }
        if schema.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m) {
            errors.push(format!("{at}: {n} is above the maximum"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if schema.get("minLength").and_then(Value::as_u64).is_some_and(|m| len < m) {
            errors.push(format!("{at}: shorter than minLength"));
        }
        if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|m| len > m) {
            errors.push(format!("{at}: longer than maxLength"));
        }
    }
    if let Some(items) = value.as_array() {
        if schema.get("maxItems").and_then(Value::as_u64).is_some_and(|m| items.len() as u64 > m) {
            errors.push(format!("{at}: more than maxItems"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(spec, item_schema, item, &format!("{at}[{i}]"), errors);
            }
        }
    }
    if let Some(obj) = value.as_object() {
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                errors.push(format!("{at}: required property {name} is missing"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (name, v) in obj {
            if let Some(p) = props.and_then(|p| p.get(name)) {
                check(spec, p, v, &format!("{at}.{name}"), errors);
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false))
            || schema.get("unevaluatedProperties") == Some(&Value::Bool(false));
        if closed {
            let mut known = BTreeSet::new();
            evaluated(spec, schema, &mut known);
            for name in obj.keys().filter(|n| !known.contains(*n)) {
                errors.push(format!("{at}: property {name} is not in the document"));
            }
        }
    }
}

/// The documented operation of a request: `(path template, method)`, by the route table.
fn operation(call: &Call) -> (&'static str, String) {
    let template = match shared::api::match_route(call.method, &call.path) {
        shared::api::RouteMatch::Found { def, .. } => def.path,
        shared::api::RouteMatch::WrongMethod { .. } => ROUTES
            .iter()
            .find(|r| matches!(shared::api::match_route(r.method, &call.path), shared::api::RouteMatch::Found { def, .. } if def.path == r.path))
            .map(|r| r.path)
            .unwrap_or_else(|| panic!("not a documented path: {}", call.path)),
        shared::api::RouteMatch::NotFound => panic!("not a documented path: {}", call.path),
    };
    (template, call.method.to_lowercase())
}

/// Checks one real answer against the document; returns the `(path, method, status)` it covers.
fn conforms(spec: &Value, call: &Call, a: &Answer) -> (String, String, String) {
    let (template, method) = operation(call);
    let op = spec["paths"][template]
        .get(&method)
        .unwrap_or_else(|| panic!("{method} {template} is not documented"));
    let status = a.status.to_string();
    let response = op["responses"].get(&status).map(|r| resolve(spec, r)).unwrap_or_else(|| {
        panic!("{method} {template} answered {status}, which is not documented: {}", a.text)
    });
    for (name, header) in response.get("headers").and_then(Value::as_object).into_iter().flatten() {
        let header = resolve(spec, header);
        if header["required"] == true {
            let got = a.header(name).unwrap_or_else(|| {
                panic!("{method} {template} {status}: required header {name} is missing")
            });
            let mut errors = Vec::new();
            let as_json = got.parse::<Value>().ok().filter(|v| v.is_number());
            let v = as_json.unwrap_or_else(|| json!(got));
            check(spec, &header["schema"], &v, name, &mut errors);
            assert!(errors.is_empty(), "{method} {template} {status}: {errors:?}");
        }
    }
    match response.get("content").and_then(Value::as_object) {
        None => assert!(
            a.text.is_empty(),
            "{method} {template} {status}: a body where none is documented"
        ),
        Some(content) => {
            let ct = a.header("content-type").unwrap_or_default();
            let media = content.get(ct).unwrap_or_else(|| {
                panic!("{method} {template} {status}: content type {ct} is not documented")
            });
            let mut errors = Vec::new();
            check(spec, &media["schema"], &a.body, "body", &mut errors);
            assert!(
                errors.is_empty(),
                "{method} {template} {status} does not fit the document: {errors:?}\n{}",
                a.text
            );
        }
    }
    (template.to_owned(), method, status)
}

/// Every `(path, method, status)` the document promises.
fn documented(spec: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            for status in op["responses"].as_object().unwrap().keys() {
                out.insert((path.clone(), method.clone(), status.clone()));
            }
        }
    }
    out
}

#[test]
fn the_document_is_openapi_3_1_and_its_refs_resolve() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["components"]["securitySchemes"]["bearerKey"].is_object());
    fn walk(spec: &Value, v: &Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("$ref") {
                    resolve(spec, v);
                }
                m.values().for_each(|x| walk(spec, x));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(spec, x)),
            _ => {}
        }
    }
    walk(&spec, &spec);
    let ids: BTreeSet<_> = documented(&spec)
        .into_iter()
        .map(|(p, m, _)| format!("{} {p}", m.to_uppercase()))
        .collect();
    // every guarded route of the route table, and nothing else
    let routes: BTreeSet<String> =
        ROUTES.iter().filter(|r| r.authorized).map(|r| r.route_key()).collect();
    assert_eq!(ids, routes);
}

async fn answers_match_the_document<S: Store>(store: S) {
    let spec = spec();
    let mut covered = BTreeSet::new();
    let api = Api::new(Wrapped::new(store, Race::default()));
    let race = api.store().hooks.clone();
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    let (victim, _) = p1_key(&api, &[]).await;
    let p = path(&k);
    let r = replace_path(&k);
    let big = json!({"name": "x".repeat(17_000)});
    let admin = &team.admin;
    let calls: Vec<Call> = vec![
        // listKeys
        Call::new("GET", "/keys").by(admin),
        Call::new("GET", "/me").by(admin),
        Call::new("GET", "/me").by(&team.pm_p1),
        Call::new("GET", "/me"),
        // listKeyAudit, listAudit
        Call::new("PATCH", &p).by(admin).json(json!({"name": "audited"})),
        Call::new("GET", format!("{p}/audit")).by(admin),
        Call::new("GET", format!("{p}/audit")).query("limit=0").by(admin),
        Call::new("GET", format!("{p}/audit")),
        Call::new("GET", format!("{p}/audit")).by(&team.pa_p2),
        Call::new("GET", "/keys/AAAAAAAAAAAA/audit").by(admin),
        Call::new("GET", "/audit").by(admin),
        Call::new("GET", "/audit").query("projectId=p1&action=updated").by(&team.pa_p1),
        Call::new("GET", "/audit").query("action=nope").by(admin),
        Call::new("GET", "/audit"),
        Call::new("GET", "/audit").by(&team.user1),
        Call::new("GET", "/keys").query("projectId=p1&limit=1").by(admin),
        Call::new("GET", "/keys").by(&team.user1),
        Call::new("GET", "/keys").query("limit=0").by(admin),
        Call::new("GET", "/keys"),
        Call::new("GET", "/keys").query("projectId=p1").by(&team.pa_p2),
        // createKey
        Call::new("POST", "/keys")
            .by(admin)
            .json(json!({"name": "doc", "projectId": "p1", "labels": ["a"], "expiresAt": "2036-12-01T00:00:00Z"})),
        Call::new("POST", "/keys").by(admin).json(json!({"name": ""})),
        Call::new("POST", "/keys").json(json!({"name": "x"})),
        Call::new("POST", "/keys").by(&team.pa_p2).json(json!({"name": "x", "projectId": "p1"})),
        Call::new("POST", "/keys").by(admin).json(json!({"name": "x", "userId": "uma"})),
        Call::new("POST", "/keys").by(admin).raw(Some("application/json"), &big.to_string()),
        Call::new("POST", "/keys").by(admin).raw(Some("text/plain"), "name=x"),
        // getKey
        Call::new("GET", &p).by(admin),
        Call::new("GET", &p),
        Call::new("GET", &p).by(&team.user1),
        Call::new("GET", "/keys/nope").by(admin),
        // updateKey
        Call::new("PATCH", &p).by(admin).json(json!({"name": "documented", "webhookUrl": "https://h.example/x"})),
        Call::new("PATCH", &p).by(admin).json(json!({"version": 3})),
        Call::new("PATCH", &p).json(json!({"name": "x"})),
        Call::new("PATCH", &p).by(&team.pm_p1).json(json!({"name": "x"})),
        Call::new("PATCH", "/keys/AAAAAAAAAAAA").by(admin).json(json!({"name": "x"})),
        Call::new("PATCH", &p).by(admin).header("if-match", "\"1\"").json(json!({"name": "x"})),
        Call::new("PATCH", &p).by(admin).raw(Some("application/json"), &big.to_string()),
        Call::new("PATCH", &p).by(admin).raw(Some("text/plain"), "x"),
        // replaceKey
        Call::new("POST", &r).by(admin).json(json!({"gracePeriodSeconds": 60})),
        Call::new("POST", &r).by(admin).json(json!({"gracePeriodSeconds": 86401})),
        Call::new("POST", &r),
        Call::new("POST", &r).by(&team.pm_p1),
        Call::new("POST", "/keys/AAAAAAAAAAAA/replace").by(admin),
        Call::new("POST", &r).by(admin).header("if-match", "\"1\""),
        Call::new("POST", &r).by(admin).raw(Some("application/json"), &big.to_string()),
        Call::new("POST", &r).by(admin).raw(Some("text/csv"), "a,b"),
        // deleteKey
        Call::new("DELETE", &p).by(admin).header("if-match", "nope"),
        Call::new("DELETE", &p),
        Call::new("DELETE", &p).by(&team.pm_p1),
        Call::new("DELETE", &p).by(admin).header("if-match", "\"1\""),
        Call::new("DELETE", &p).by(admin),
        Call::new("DELETE", &p).by(admin),
    ];
    for call in calls {
        let a = api.send(call.clone()).await;
        covered.insert(conforms(&spec, &call, &a));
    }
    // lost races: 409 on every writing route
    for call in [
        Call::new("PATCH", path(&victim)).json(json!({"name": "x"})),
        Call::new("POST", replace_path(&victim)),
        Call::new("DELETE", path(&victim)),
    ] {
        race.arm();
        let call = call.by(admin);
        let a = api.send(call.clone()).await.expect(409);
        covered.insert(conforms(&spec, &call, &a));
    }
    // a store that is down (503) or corrupt (500), on every route
    for how in [Fail::Down, Fail::Corrupt] {
        let broken = Api::new(failing(how));
        for call in [
            Call::new("GET", "/me"),
            Call::new("GET", format!("{p}/audit")),
            Call::new("GET", "/audit"),
            Call::new("GET", "/keys").query("projectId=p1"),
            Call::new("POST", "/keys").json(json!({"name": "x", "projectId": "p1"})),
            Call::new("GET", &p),
            Call::new("PATCH", &p).json(json!({"name": "x"})),
            Call::new("POST", &r),
            Call::new("DELETE", &p),
        ] {
            let call = call.by(admin);
            let a = broken.send(call.clone()).await;
            assert!(!a.text.contains("INTERNAL-DETAIL"), "{}", a.text);
            covered.insert(conforms(&spec, &call, &a));
        }
    }
    // then every documented status of every route was produced and checked — but for the
    // refusals only API Gateway answers (GET /me reads no other key, so no handler forbids it)
    let gateway_only = (String::from("/me"), String::from("get"), String::from("403"));
    let missing: Vec<_> =
        documented(&spec).difference(&covered).filter(|op| **op != gateway_only).cloned().collect();
    assert!(missing.is_empty(), "documented but never produced: {missing:?}");
}

integration_tests::on_both_stores!(answers_match_the_document);

#[test]
fn the_checker_catches_drift() {
    let spec = spec();
    let key = json!({"$ref": "#/components/schemas/Key"});
    let good = shared::testing::sample_key(shared::token::KeyKind::Project).to_json();
    let errors_of = |v: &Value| {
        let mut e = Vec::new();
        check(&spec, &key, v, "body", &mut e);
        e
    };
    assert_eq!(errors_of(&good), Vec::<String>::new());
    let mut extra = good.clone();
    extra["secretHash"] = json!("00");
    assert!(errors_of(&extra)[0].contains("secretHash is not in the document"));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("version");
    assert!(errors_of(&missing)[0].contains("version is missing"));
    let mut wrong = good.clone();
    wrong["status"] = json!("Gone");
    wrong["roles"] = json!([1]);
    wrong["user"] = json!({"id": "u", "name": "x"});
    assert_eq!(errors_of(&wrong).len(), 3, "{:?}", errors_of(&wrong));
    // the token is allowed only where the document says so
    let mut with_token = good.clone();
    with_token["key"] = json!("sk-project-...");
    assert!(!errors_of(&with_token).is_empty());
    let mut e = Vec::new();
    check(
        &spec,
        &json!({"$ref": "#/components/schemas/KeyWithToken"}),
        &with_token,
        "body",
        &mut e,
    );
    assert!(e.is_empty(), "{e:?}");
}
