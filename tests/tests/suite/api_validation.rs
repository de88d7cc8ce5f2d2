//! Every class of bad input gets the status docs/API.md names, with `errors[]` naming each field;
//! nothing a client sends makes a handler fail the invocation.

use serde_json::{json, Value};
use shared::store::Store;

use integration_tests::api::*;

fn long(n: usize) -> String {
    "x".repeat(n)
}

async fn create_validation_classes<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let create = |body: Value| Call::new("POST", "/keys").by(&team.admin).json(body);
    let future = "2037-03-01T00:00:00Z";
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({}), &["name"]),
        (json!({"name": null}), &["name"]),
        (json!({"name": ""}), &["name"]),
        (json!({"name": "   "}), &["name"]),
        (json!({"name": long(101)}), &["name"]),
        (json!({"name": 7}), &["name"]),
        (json!({"name": "k", "description": long(501)}), &["description"]),
        (json!({"name": "k", "roles": "admin"}), &["roles"]),
        (json!({"name": "k", "roles": ["has space"]}), &["roles"]),
        (json!({"name": "k", "roles": [long(101)]}), &["roles"]),
        (
            json!({"name": "k", "roles": (0..51).map(|i| format!("r{i}")).collect::<Vec<_>>()}),
            &["roles"],
        ),
        (json!({"name": "k", "labels": [long(51)]}), &["labels"]),
        (
            json!({"name": "k", "labels": (0..21).map(|i| format!("l{i}")).collect::<Vec<_>>()}),
            &["labels"],
        ),
        (json!({"name": "k", "labels": [1]}), &["labels"]),
        // a label with a comma: the authorizer's context joins labels with commas
        (json!({"name": "k", "labels": ["a,b"]}), &["labels"]),
        (json!({"name": "k", "labels": ["ok", ","]}), &["labels"]),
        (json!({"name": "k", "webhookUrl": "http://hooks.example.com"}), &["webhookUrl"]),
        (
            json!({"name": "k", "webhookUrl": format!("https://h.example/{}", long(2048))}),
            &["webhookUrl"],
        ),
        (json!({"name": "k", "expiresAt": "2036-01-01T00:00:00Z"}), &["expiresAt"]),
        (json!({"name": "k", "expiresAt": "2047-01-01T00:00:00Z"}), &["expiresAt"]),
        (json!({"name": "k", "expiresAt": "next week"}), &["expiresAt"]),
        (json!({"name": "k", "isHighPriority": "yes"}), &["isHighPriority"]),
        (json!({"name": "k", "keyType": "robot"}), &["keyType"]),
        (json!({"name": "k", "projectId": "a#b"}), &["projectId"]),
        (json!({"name": "k", "keyType": "user", "projectId": "p1"}), &["projectId"]),
        (json!({"name": "k", "projectId": "p1", "userId": "u"}), &["userId"]),
        (json!({"name": "k", "keyType": "system"}), &["projectId"]),
        (json!({"name": "k", "prefix": "abcdefabcdef"}), &["prefix"]),
        (json!({"name": "k", "status": "Active"}), &["status"]),
        (json!({"name": "k", "secretHash": "00"}), &["secretHash"]),
        (json!({"name": "k", "colour": "blue"}), &["colour"]),
        // every error at once, not just the first
        (
            json!({"name": "", "description": long(501), "webhookUrl": "ftp://x", "expiresAt": "x", "extra": 1}),
            &["description", "expiresAt", "extra", "name", "webhookUrl"],
        ),
    ];
    for (body, fields) in cases {
        let a = api.send(create(body.clone())).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        assert_eq!(a.header("content-type"), Some("application/problem+json"));
        let mut got = a.error_fields();
        got.sort();
        assert_eq!(got, fields, "{body}");
        assert!(a.body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // the limits themselves are fine
    let ok = json!({
        "name": long(100),
        "description": long(500),
        "projectId": "p1",
        "roles": (0..50).map(|i| format!("r{i}")).collect::<Vec<_>>(),
        "labels": (0..20).map(|i| format!("{i:02}{}", long(48))).collect::<Vec<_>>(),
        "webhookUrl": format!("https://h.example/{}", long(2000)),
        "expiresAt": future,
        "isHighPriority": true
    });
    let a = api.send(create(ok)).await.expect(201);
    assert_eq!(a.body["roles"].as_array().unwrap().len(), 50);
    assert_eq!(a.body["expiresAt"], "2037-03-01T00:00:00.000Z");
}

async fn update_validation_classes<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    let patch = |body: Value| Call::new("PATCH", path(&k)).by(&team.admin).json(body);
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({}), &["body"]),
        (json!({"prefix": "abcdefabcdef"}), &["prefix"]),
        (json!({"keyType": "user"}), &["keyType"]),
        (json!({"projectId": "p2"}), &["projectId"]),
        (json!({"account": {"id": "team-b"}}), &["account"]),
        (json!({"createdAt": "2036-01-01T00:00:00Z"}), &["createdAt"]),
        (json!({"submittedJobs": 0}), &["submittedJobs"]),
        (json!({"lastActiveDateTime": null}), &["lastActiveDateTime"]),
        (json!({"version": 9}), &["version"]),
        (json!({"hash": "00"}), &["hash"]),
        (json!({"nickname": "x"}), &["nickname"]),
        (json!({"name": null}), &["name"]),
        (json!({"roles": null}), &["roles"]),
        (json!({"labels": ["a,b"]}), &["labels"]),
        (json!({"labels": ["ok", "trailing,"]}), &["labels"]),
        (json!({"status": "Deleted"}), &["status"]),
        (json!({"status": "Bogus"}), &["status"]),
        (json!({"status": "Pending"}), &["status"]), // Active cannot go back to Pending
        (json!({"expiresAt": "2030-01-01T00:00:00Z"}), &["expiresAt"]),
        (
            json!({"name": "ok", "keyType": "user", "submittedJobs": 5}),
            &["keyType", "submittedJobs"],
        ),
    ];
    for (body, fields) in cases {
        let a = api.send(patch(body.clone())).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        let mut got = a.error_fields();
        got.sort();
        assert_eq!(got, fields, "{body}");
    }
    // nothing was written by any of them
    assert_eq!(api.stored(&k).await, k);
    // the comma is what is refused, and said to be
    let a = api.send(patch(json!({"labels": ["ci", "prod,eu"]}))).await.expect(400);
    assert!(
        a.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("comma")),
        "{}",
        a.text
    );
    assert_eq!(api.stored(&k).await, k);
    // null clears what may be cleared
    api.send(patch(json!({"description": "d", "webhookUrl": "https://h.example/x", "expiresAt": "2037-01-01T00:00:00Z"})))
        .await
        .expect(200);
    let a = api
        .send(patch(json!({"description": null, "webhookUrl": null, "expiresAt": null, "status": "Inactive", "labels": ["a"], "isHighPriority": true})))
        .await
        .expect(200);
    assert_eq!(a.body["description"], Value::Null);
    assert_eq!(a.body["webhookUrl"], Value::Null);
    assert_eq!(a.body["expiresAt"], Value::Null);
    assert_eq!(a.body["status"], "Disabled");
    assert_eq!(a.body["labels"], json!(["a"]));
    assert_eq!(a.body["isHighPriority"], true);
    assert_eq!(a.body["version"], 3);
}

async fn replace_and_list_validation<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    for (body, field) in [
        (json!({"gracePeriodSeconds": 86401}), "gracePeriodSeconds"),
        (json!({"gracePeriodSeconds": -1}), "gracePeriodSeconds"),
        (json!({"gracePeriodSeconds": "60"}), "gracePeriodSeconds"),
        (json!({"gracePeriodSeconds": 1.5}), "gracePeriodSeconds"),
        (json!({"grace": 60}), "grace"),
    ] {
        let a =
            api.send(Call::new("POST", replace_path(&k)).by(&team.admin).json(body.clone())).await;
        assert_eq!(a.status, 400, "{body}");
        assert_eq!(a.error_fields(), [field]);
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("status=Gone", "status"),
        ("keyType=robot", "keyType"),
        ("projectId=a%23b", "projectId"),
        ("colour=blue", "colour"),
        ("limit=5&limit=6", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("projectId=p1&cursor=eyJ4IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", "cursor"),
    ] {
        let a = api.list(&team.admin, query).await;
        assert_eq!(a.status, 400, "{query}: {}", a.text);
        assert_eq!(a.error_fields(), [field], "{query}");
    }
    // a cursor of one query does not continue another
    for _ in 0..3 {
        p1_key(&api, &[]).await;
    }
    let page = api.list(&team.admin, "projectId=p1&limit=1").await.expect(200);
    let cursor = page.body["nextCursor"].as_str().unwrap().to_owned();
    api.list(&team.admin, &format!("projectId=p1&limit=1&cursor={cursor}")).await.expect(200);
    api.list(&team.admin, &format!("projectId=p2&limit=1&cursor={cursor}")).await.expect(400);
}

async fn transport_errors<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    let big = json!({"name": "k", "description": long(17 * 1024)}).to_string();
    for call in [
        Call::new("POST", "/keys"),
        Call::new("PATCH", path(&k)),
        Call::new("POST", replace_path(&k)),
    ] {
        let by = |c: Call| c.by(&team.admin);
        // 413 over 16 KiB
        api.send(by(call.clone()).raw(Some("application/json"), &big)).await.expect(413);
        // 415 for anything but JSON, and for a body without a content type
        let a = api.send(by(call.clone()).raw(Some("text/plain"), "{}")).await.expect(415);
        assert_eq!(a.body["status"], 415);
        api.send(by(call.clone()).raw(Some("application/x-www-form-urlencoded"), "name=k"))
            .await
            .expect(415);
        api.send(by(call.clone()).raw(None, "{\"name\":\"k\"}")).await.expect(415);
        // 400 for broken JSON or a body that is not an object
        for bad in ["{", "{\"name\": }", "[1,2]", "\"k\"", "null", "{\"name\":\"\u{0}\"}"] {
            let a = api.send(by(call.clone()).raw(Some("application/json"), bad)).await;
            assert_eq!(a.status, 400, "{bad}: {}", a.text);
            assert!(!a.text.contains(bad) || bad.len() < 3, "the body is not echoed");
        }
    }
    // create and update need a body; replace does not
    api.send(Call::new("POST", "/keys").by(&team.admin)).await.expect(400);
    api.send(Call::new("PATCH", path(&k)).by(&team.admin)).await.expect(400);
    api.send(Call::new("POST", replace_path(&k)).by(&team.admin)).await.expect(200);
    // charset and +json content types are JSON
    api.send(
        Call::new("PATCH", path(&k))
            .by(&team.admin)
            .raw(Some("application/merge-patch+json; charset=UTF-8"), "{\"name\":\"n\"}"),
    )
    .await
    .expect(200);
    // a {prefix} that is not 12 base62 characters is a key that does not exist
    for bad in ["abc", "abcdefabcdef0", "abcdef-bcdef", "%C3%A9bcdefabcde", "ABCDEFABCDEF"] {
        for method in ["GET", "PATCH", "DELETE"] {
            let mut c = Call::new(method, format!("/keys/{bad}")).by(&team.admin);
            if method == "PATCH" {
                c = c.json(json!({"name": "x"}));
            }
            let a = api.send(c).await;
            assert_eq!(a.status, 404, "{method} {bad}: {}", a.text);
            assert_eq!(a.header("content-type"), Some("application/problem+json"));
        }
        api.send(Call::new("POST", format!("/keys/{bad}/replace")).by(&team.admin))
            .await
            .expect(404);
    }
    // a malformed If-Match is a 400 naming the header
    let a = api
        .send(
            Call::new("PATCH", path(&k))
                .by(&team.admin)
                .header("if-match", "\"v1\"")
                .json(json!({"name": "x"})),
        )
        .await
        .expect(400);
    assert_eq!(a.error_fields(), ["If-Match"]);
}

async fn no_caller_context_is_401<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    for call in [
        Call::new("POST", "/keys").json(json!({"name": "k"})),
        Call::new("GET", "/keys"),
        Call::new("GET", path(&k)),
        Call::new("POST", replace_path(&k)),
        Call::new("PATCH", path(&k)).json(json!({"name": "k"})),
        Call::new("DELETE", path(&k)),
    ] {
        // no authorizer context at all
        let a = api.send(call.clone()).await.expect(401);
        assert_eq!(a.body["title"], "Unauthorized");
        assert!(a.body["requestId"].as_str().unwrap().starts_with("req-"));
        // a context without the essentials
        let mut event = call.by(&team.admin).event();
        event["requestContext"]["authorizer"]["lambda"]
            .as_object_mut()
            .unwrap()
            .remove("accountId");
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        let r = shared::api::dispatch(&api.state, req).await.unwrap();
        assert_eq!(r.status(), 401);
    }
}

async fn rest_api_context_is_read_too<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    // a REST API (payload 1.0) proxy event: the context flat under authorizer, every value a string
    let ctx: serde_json::Map<String, Value> = shared::identity::AuthContext::of(&team.admin)
        .to_map()
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, Value::String(s))
        })
        .collect();
    let mut authorizer = ctx;
    authorizer.insert("principalId".into(), json!(team.admin.prefix.as_str()));
    authorizer.insert("integrationLatency".into(), json!(3));
    let event = json!({
        "resource": "/keys/{prefix}",
        "path": format!("/keys/{}", k.prefix),
        "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"prefix": k.prefix.as_str()},
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc",
            "stage": "prod",
            "requestId": "rest-req-1",
            "identity": {"sourceIp": "192.0.2.1"},
            "resourcePath": "/keys/{prefix}",
            "httpMethod": "GET",
            "apiId": "abc",
            "path": format!("/prod/keys/{}", k.prefix),
            "authorizer": authorizer
        },
        "body": null,
        "isBase64Encoded": false
    });
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let r = Answer::from(
        shared::api::serve::<_, shared::api::ListKeys>(&api.state, req).await.unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["prefix"], k.prefix.as_str());
    // and the dispatcher routes it by path despite the stage
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let r = Answer::from(shared::api::dispatch(&api.state, req).await.unwrap());
    assert_eq!(r.status, 200, "{}", r.text);
    // a REST list with query parameters
    let mut list = event.clone();
    list["resource"] = json!("/keys");
    list["path"] = json!("/keys");
    list["pathParameters"] = Value::Null;
    list["queryStringParameters"] = json!({"projectId": "p1", "limit": "5"});
    list["multiValueQueryStringParameters"] = json!({"projectId": ["p1"], "limit": ["5"]});
    let req = lambda_http::request::from_str(&list.to_string()).unwrap();
    let r = Answer::from(
        shared::api::serve::<_, shared::api::ListKeys>(&api.state, req).await.unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"][0]["prefix"], k.prefix.as_str());
}

async fn dispatcher_routes<S: Store>(store: S) {
    let api = Api::new(store);
    let team = Team::seed(&api).await;
    let (k, _) = p1_key(&api, &[]).await;
    // every route through route()
    let created =
        api.create(&team.admin, json!({"name": "r", "projectId": "p1"})).await.expect(201);
    let p = format!("/keys/{}", created.body["prefix"].as_str().unwrap());
    api.send(Call::new("GET", "/keys").by(&team.admin)).await.expect(200);
    api.send(Call::new("GET", &p).by(&team.admin)).await.expect(200);
    api.send(Call::new("PATCH", &p).by(&team.admin).json(json!({"name": "s"}))).await.expect(200);
    api.send(Call::new("POST", format!("{p}/replace")).by(&team.admin)).await.expect(200);
    api.send(Call::new("DELETE", &p).by(&team.admin)).await.expect(204);
    // an HTTP API stage other than $default prefixes the raw path; the dispatcher strips it
    let mut staged = Call::new("GET", path(&k)).by(&team.admin).event();
    staged["rawPath"] = json!(format!("/prod/keys/{}", k.prefix));
    staged["requestContext"]["stage"] = json!("prod");
    staged.as_object_mut().unwrap().remove("pathParameters");
    let req = lambda_http::request::from_str(&staged.to_string()).unwrap();
    let a = Answer::from(shared::api::dispatch(&api.state, req).await.unwrap());
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["prefix"], k.prefix.as_str());
    // unknown paths are 404, wrong methods 405 with Allow, both problem+json
    for unknown in ["/", "/key", "/keys/x/y", "/keys/abc/replace/again", "/other"] {
        let a = api.send(Call::new("GET", unknown).by(&team.admin)).await.expect(404);
        assert_eq!(a.header("content-type"), Some("application/problem+json"));
    }
    for (method, path, allow) in [
        ("DELETE", "/keys".to_owned(), "GET, POST"),
        ("PUT", format!("/keys/{}", k.prefix), "GET, PATCH, DELETE"),
        ("GET", format!("/keys/{}/replace", k.prefix), "POST"),
    ] {
        let a = api.send(Call::new(method, path).by(&team.admin)).await.expect(405);
        assert_eq!(a.header("allow"), Some(allow));
        assert_eq!(a.header("content-type"), Some("application/problem+json"));
    }
}

integration_tests::on_both_stores!(
    create_validation_classes,
    update_validation_classes,
    replace_and_list_validation,
    transport_errors,
    no_caller_context_is_401,
    rest_api_context_is_read_too,
    dispatcher_routes,
);
