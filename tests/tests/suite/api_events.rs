//! The events in `events/` (one API Gateway HTTP API payload 2.0 event per management route, as
//! `sam local invoke -e` and `cargo lambda invoke --data-file` take them) parse with lambda_http
//! and get the answer their route promises from the handler their function runs.

use std::collections::HashMap;

use serde_json::Value;
use shared::api;
use shared::identity::AuthContext;
use shared::store::Store;
use shared::token::Prefix;

use integration_tests::api::*;

/// `(file, route key, handler's expected status)`, in an order where each leaves the key in a
/// state the next one can use.
const EVENTS: [(&str, &str, &str, u16); 8] = [
    ("get-key", include_str!("../../../events/get-key.json"), "GET /keys/{prefix}", 200),
    ("update-key", include_str!("../../../events/update-key.json"), "PATCH /keys/{prefix}", 200),
    (
        "replace-key",
        include_str!("../../../events/replace-key.json"),
        "POST /keys/{prefix}/replace",
        200,
    ),
    ("list-keys", include_str!("../../../events/list-keys.json"), "GET /keys", 200),
    ("create-key", include_str!("../../../events/create-key.json"), "POST /keys", 201),
    ("team-audit", include_str!("../../../events/team-audit.json"), "GET /audit", 200),
    ("delete-key", include_str!("../../../events/delete-key.json"), "DELETE /keys/{prefix}", 204),
    ("key-audit", include_str!("../../../events/key-audit.json"), "GET /keys/{prefix}/audit", 200),
];

#[test]
fn events_are_http_api_v2_with_an_authorizer_context() {
    for (name, text, route_key, _) in EVENTS {
        let event: Value = serde_json::from_str(text).unwrap();
        assert_eq!(event["version"], "2.0", "{name}");
        assert_eq!(event["routeKey"], route_key, "{name}");
        assert_eq!(event["requestContext"]["routeKey"], route_key, "{name}");
        let method = route_key.split(' ').next().unwrap();
        assert_eq!(event["requestContext"]["http"]["method"], method, "{name}");
        assert_eq!(event["rawPath"], event["requestContext"]["http"]["path"], "{name}");
        let ctx: HashMap<String, Value> =
            serde_json::from_value(event["requestContext"]["authorizer"]["lambda"].clone())
                .unwrap();
        assert!(AuthContext::from_map(&ctx).is_some(), "{name}");
        if route_key.contains("{prefix}") {
            let p = event["pathParameters"]["prefix"].as_str().unwrap();
            assert!(Prefix::parse(p).is_some(), "{name}");
            assert!(event["rawPath"].as_str().unwrap().contains(p), "{name}");
        }
        // lambda_http reads it as an HTTP API request
        let req = lambda_http::request::from_str(text).unwrap();
        assert_eq!(req.method().as_str(), method, "{name}");
    }
}

async fn events_run_through_their_handlers<S: Store>(store: S) {
    let api = Api::new(store);
    // given the caller the events carry, and the key they name, in the events' team and project
    let (target, _) = project_key("team-1", "project-1", &[]);
    let mut target = target;
    target.prefix = Prefix::parse("7Fq2LwP9xZk1").unwrap();
    api.put(&target).await;
    api.put(&events_caller()).await;
    // problems that carried their event's request id
    let mut request_ids_checked = 0;
    for (name, text, route_key, status) in EVENTS {
        // when the event reaches the handler its function runs
        let req = lambda_http::request::from_str(text).unwrap();
        let r = match route_key {
            "POST /keys" => api::serve::<_, api::CreateKey>(&api.state, req).await,
            "GET /keys" | "GET /keys/{prefix}" => {
                api::serve::<_, api::ListKeys>(&api.state, req).await
            }
            "POST /keys/{prefix}/replace" => {
                api::serve::<_, api::ReplaceKey>(&api.state, req).await
            }
            "PATCH /keys/{prefix}" => api::serve::<_, api::UpdateKey>(&api.state, req).await,
            "DELETE /keys/{prefix}" => api::serve::<_, api::DeleteKey>(&api.state, req).await,
            "GET /keys/{prefix}/audit" | "GET /audit" => {
                api::serve::<_, api::ListAudit>(&api.state, req).await
            }
            other => panic!("no handler for {other}"),
        };
        let a = Answer::from(r.unwrap());
        // then it gets the answer its route promises
        assert_eq!(a.status, status, "{name}: {}", a.text);
        let event: Value = serde_json::from_str(text).unwrap();
        match name {
            "list-keys" => {
                assert_eq!(a.body["items"][0]["prefix"], target.prefix.as_str());
            }
            "create-key" => {
                assert_eq!(a.body["project"]["id"], "project-1");
                assert_eq!(a.body["createdBy"], "ada");
            }
            "update-key" => assert_eq!(a.body["name"], "CI deploy (main)"),
            "replace-key" => assert!(a.body["key"].as_str().unwrap().contains("7Fq2LwP9xZk1")),
            // the update event's change, found by the project's activity filtered to updates
            "team-audit" => {
                assert_eq!(a.body["items"][0]["action"], "updated");
                assert_eq!(a.body["items"][0]["actor"]["prefix"], "AdminA1b2C3d");
            }
            // a deleted key's history stays readable: the event run's every change, newest first
            "key-audit" => {
                let actions = a.item_strs("action");
                // (the oldest: the test's own seeding of the key)
                assert_eq!(actions, ["deleted", "replaced", "updated", "updated"]);
            }
            _ => {}
        }
        // and the same event through the dev server's dispatcher answers the same
        if name == "get-key" {
            let req = lambda_http::request::from_str(text).unwrap();
            let again = Answer::from(api::dispatch(&api.state, req).await.unwrap());
            assert_eq!(again.body, a.body);
        }
        if a.status >= 400 {
            assert_eq!(a.body["requestId"], event["requestContext"]["requestId"], "{name}");
            request_ids_checked += 1;
        }
        // the same event without the authorizer's context: a 401 problem that names the
        // event's request id (the Lambda invocation's, in production)
        let mut bare = event.clone();
        bare["requestContext"].as_object_mut().unwrap().remove("authorizer");
        let req = lambda_http::request::from_str(&bare.to_string()).unwrap();
        let refused = Answer::from(api::dispatch(&api.state, req).await.unwrap());
        assert_eq!(refused.status, 401, "{name} without a caller: {}", refused.text);
        assert_eq!(refused.header("content-type"), Some("application/problem+json"), "{name}");
        let rid = event["requestContext"]["requestId"].as_str().unwrap();
        assert!(!rid.is_empty(), "{name}");
        assert_eq!(refused.body["requestId"], rid, "{name} without a caller");
        request_ids_checked += 1;
    }
    assert_eq!(
        request_ids_checked,
        EVENTS.len(),
        "one problem per event named the event's request id"
    );
    // the delete event left a tombstone: a second run of it is a 404 with the event's request id
    let text = include_str!("../../../events/delete-key.json");
    let a = Answer::from(
        api::serve::<_, api::DeleteKey>(&api.state, lambda_http::request::from_str(text).unwrap())
            .await
            .unwrap(),
    );
    assert_eq!(a.status, 404);
    assert_eq!(a.body["requestId"], "3b4c1f0e-0006-4a6f-9d7e-0f1e2d3c4b5a");
}

integration_tests::on_both_stores!(events_run_through_their_handlers);
