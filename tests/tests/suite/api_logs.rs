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
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let api = Api::new(integration_tests::memory_store());
            let team = Team::seed(&api).await;
            for t in &team.tokens {
                secrets.push(t.expose().to_owned());
            }
            let created = api
                .send(
                    Call::new("POST", "/keys")
                        .by(&team.admin)
                        .json(json!({"name": "logged", "projectId": "p1"})),
                )
                .await
                .expect(201);
            let token = created.body["key"].as_str().unwrap().to_owned();
            let prefix = created.body["prefix"].as_str().unwrap().to_owned();
            prefixes.push(prefix.clone());
            secrets.push(token.clone());
            let p = format!("/keys/{prefix}");
            let replaced = api
                .send(
                    Call::new("POST", format!("{p}/replace"))
                        .by(&team.pa_p1)
                        .json(json!({"gracePeriodSeconds": 60})),
                )
                .await
                .expect(200);
            secrets.push(replaced.body["key"].as_str().unwrap().to_owned());
            for call in [
                Call::new("GET", &p).by(&team.pm_p1),
                Call::new("GET", "/keys").by(&team.admin),
                Call::new("PATCH", &p)
                    .by(&team.admin)
                    .json(json!({"name": "renamed", "hash": "x"})),
                Call::new("PATCH", &p)
                    .by(&team.admin)
                    .json(json!({"name": token.clone()})),
                Call::new("PATCH", &p)
                    .by(&team.admin)
                    .raw(Some("application/json"), &format!("{{\"name\": \"{token}")),
                Call::new("POST", format!("{p}/replace")).by(&team.pm_p1),
                Call::new("POST", "/keys")
                    .by(&team.admin)
                    .raw(Some("text/plain"), &token),
                Call::new("DELETE", &p).by(&team.admin),
                Call::new("DELETE", &p).by(&team.admin),
                Call::new("GET", &p),
            ] {
                api.send(call).await;
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
    assert!(logs.lines().count() > 10, "too few lines captured:\n{logs}");
    for s in &secrets {
        let secret_part = Token::parse(s).map(|t| t.expose()[t.expose().len() - 38..].to_owned());
        for line in logs.lines() {
            assert!(
                !line.contains(s.as_str()),
                "a log line carries a secret: {line}"
            );
            if let Ok(part) = &secret_part {
                assert!(
                    !line.contains(part.as_str()),
                    "a log line carries a secret: {line}"
                );
            }
        }
    }
}
