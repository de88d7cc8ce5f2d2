//! No token, secret or hash reaches a log line: a whole key lifecycle, errors included, runs
//! under a JSON subscriber at TRACE (more than production logs), and the captured lines are
//! scanned. The memory store is used so that only this service's own lines are captured (the
//! AWS SDK logs request bodies at TRACE, which production never enables).

use serde_json::json;
use shared::store::{KeyLister, ListQuery, ListScope};
use shared::token::Token;

use integration_tests::api::*;

#[test]
fn no_secret_in_any_log_line() {
    let capture = integration_tests::capture_logs();
    let mut secrets: Vec<String> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut requests = 0;
    // (what, answer) of every answer but create's and replace's, whose `key` is the token
    let mut answers: Vec<(String, String)> = Vec::new();
    {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let api = Api::new(integration_tests::memory_store());
            let team = Team::seed(&api).await;
            for t in &team.tokens {
                secrets.push(t.expose().to_owned());
            }
            let created = api
                .create(&team.admin, json!({"name": "logged", "projectId": "p1"}))
                .await
                .expect(201);
            let mut rest = created.body.clone();
            rest.as_object_mut().unwrap().remove("key");
            answers.push(("create (without its key)".into(), rest.to_string()));
            let token = created.body["key"].as_str().unwrap().to_owned();
            let prefix = created.body["prefix"].as_str().unwrap().to_owned();
            prefixes.push(prefix.clone());
            secrets.push(token.clone());
            let p = format!("/keys/{prefix}");
            let grace = json!({"gracePeriodSeconds": 60});
            let replaced = api.replace(&team.pa_p1, &prefix, grace).await.expect(200);
            let mut rest = replaced.body.clone();
            rest.as_object_mut().unwrap().remove("key");
            answers.push(("replace (without its key)".into(), rest.to_string()));
            secrets.push(replaced.body["key"].as_str().unwrap().to_owned());
            let calls = [
                (Call::new("GET", &p).by(&team.pm_p1), 200),
                (Call::new("GET", "/keys").by(&team.admin), 200),
                (
                    Call::new("PATCH", &p)
                        .by(&team.admin)
                        .json(json!({"name": "renamed", "hash": "x"})),
                    400,
                ),
                // a name is free text: the key is renamed (and the name is not logged)
                (Call::new("PATCH", &p).by(&team.admin).json(json!({"name": token.clone()})), 200),
                (
                    Call::new("PATCH", &p)
                        .by(&team.admin)
                        .raw(Some("application/json"), &format!("{{\"name\": \"{token}")),
                    400,
                ),
                // a token as a body field's name and as a query parameter's name
                (Call::new("PATCH", &p).by(&team.admin).json(json!({ &token: 1 })), 400),
                (Call::new("GET", "/keys").query(&format!("{token}=1")).by(&team.admin), 400),
                (Call::new("POST", format!("{p}/replace")).by(&team.pm_p1), 403),
                (Call::new("POST", "/keys").by(&team.admin).raw(Some("text/plain"), &token), 415),
                (Call::new("DELETE", &p).by(&team.admin), 204),
                (Call::new("DELETE", &p).by(&team.admin), 404),
                (Call::new("GET", &p), 401),
            ];
            // create and replace, then these: one "request answered" or "request refused"
            // line each
            requests = 2 + calls.len();
            for (call, want) in calls {
                let what = format!("{} {}?{}", call.method, call.path, call.query);
                // the one step whose answer shows the token: the client made it the key's name
                let named_by_client = call.body.as_deref().is_some_and(|b| {
                    serde_json::from_str::<serde_json::Value>(b).ok()
                        == Some(json!({"name": token.clone()}))
                });
                let a = api.send(call).await;
                assert_eq!(a.status, want, "{what}: {}", a.text);
                if !named_by_client {
                    answers.push((what, a.text));
                }
            }
            for k in api
                .store()
                .list(&ListQuery {
                    status: Some(shared::model::Status::Deleted),
                    ..ListQuery::new(ListScope::WholeTeam(id(TEAM)))
                })
                .await
                .unwrap()
                .items
                .into_iter()
                .chain(
                    api.store()
                        .list(&ListQuery::new(ListScope::WholeTeam(id(TEAM))))
                        .await
                        .unwrap()
                        .items,
                )
            {
                secrets.push(k.secret_hash.as_str().to_owned());
                if let Some(prev) = k.previous {
                    secrets.push(prev.hash.as_str().to_owned());
                }
            }
        });
    }
    let logs = capture.text();
    // the capture works: the key's prefix and the outcomes are there
    assert!(logs.contains(&prefixes[0]), "{logs}");
    assert!(logs.contains("key created") && logs.contains("key replaced"));
    // no answer carries a token, its secret part or a hash either
    assert_eq!(answers.len(), requests - 1, "every answer but one was kept");
    for (what, text) in &answers {
        for s in &secrets {
            let secret_part =
                Token::parse(s).map(|t| t.expose()[t.expose().len() - 38..].to_owned());
            assert!(!text.contains(s.as_str()), "{what} carries a secret: {text}");
            if let Ok(part) = &secret_part {
                assert!(!text.contains(part.as_str()), "{what} carries a secret: {text}");
            }
        }
    }
    let outcomes = logs
        .lines()
        .filter(|l| {
            l.contains("\"message\":\"request answered\"")
                || l.contains("\"message\":\"request refused\"")
        })
        .count();
    assert_eq!(outcomes, requests, "one outcome line per request:\n{logs}");
    for s in &secrets {
        let secret_part = Token::parse(s).map(|t| t.expose()[t.expose().len() - 38..].to_owned());
        for line in logs.lines() {
            assert!(!line.contains(s.as_str()), "a log line carries a secret: {line}");
            if let Ok(part) = &secret_part {
                assert!(!line.contains(part.as_str()), "a log line carries a secret: {line}");
            }
        }
    }
}
