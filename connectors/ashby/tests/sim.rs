//! Tests of the Ashby simulator over real HTTP: auth, envelope, full and incremental
//! paging, token and cursor errors, faults and deterministic seeding.
#![cfg(feature = "sim")]

use hirebridge_ashby::client::AshbyClient;
use hirebridge_ashby::sim::{Faults, SimConfig, SimServer, Simulator};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const KEY: &str = "test-key";

async fn start(records: usize, seed: u64) -> (Simulator, SimServer) {
    start_with(SimConfig {
        api_key: KEY.into(),
        seed,
        records,
        ..SimConfig::default()
    })
    .await
}

async fn start_with(config: SimConfig) -> (Simulator, SimServer) {
    let sim = Simulator::new(config);
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    (sim, server)
}

async fn call(server: &SimServer, route: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/{route}", server.base_url()))
        .basic_auth(KEY, Some(""))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn code(body: &Value) -> &str {
    assert_eq!(body["success"], false, "{body}");
    body["errorInfo"]["code"].as_str().unwrap()
}

/// Pages through a listing; returns the ids in order and the final sync token.
async fn list_all(server: &SimServer, object: &str, mut body: Value) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    loop {
        let (status, page) = call(server, &format!("{object}.list"), body.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(page["success"], true, "{page}");
        for item in page["results"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_string());
        }
        if page["moreDataAvailable"] == true {
            assert!(
                page.get("syncToken").is_none(),
                "syncToken only on the last page"
            );
            body["cursor"] = page["nextCursor"].clone();
        } else {
            assert!(page.get("nextCursor").is_none());
            return (ids, page["syncToken"].as_str().unwrap().to_string());
        }
    }
}

#[tokio::test]
async fn wrong_or_missing_key_is_401() {
    let (sim, server) = start(50, 1).await;
    let client = reqwest::Client::new();
    let url = format!("{}/candidate.list", server.base_url());
    // A wrong username fails whatever the password, even the right key there.
    for auth in [Some(("wrong", "")), Some(("wrong", KEY)), None] {
        let mut request = client.post(&url).json(&json!({}));
        if let Some((user, pass)) = auth {
            request = request.basic_auth(user, Some(pass));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "unauthenticated");
        assert_eq!(body["errors"], json!(["unauthenticated"]));
    }
    assert_eq!(sim.request_count(), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn the_key_is_the_username_whatever_the_password() {
    let (_sim, server) = start(50, 1).await;
    let client = reqwest::Client::new();
    let url = format!("{}/candidate.list", server.base_url());
    // `key:` as Ashby's docs say, `key:key` as airbyte-source-ashby sends.
    for password in ["", KEY, "anything"] {
        let response = client
            .post(&url)
            .basic_auth(KEY, Some(password))
            .json(&json!({"limit": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "password {password:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], true);
    }
}

#[tokio::test]
async fn posts_must_say_their_body_is_json() {
    let (_sim, server) = start(50, 1).await;
    let client = reqwest::Client::new();
    let url = format!("{}/candidate.list", server.base_url());
    let cases: [(Option<&str>, u16); 5] = [
        (None, 400),
        (Some("text/plain"), 400),
        (Some("application/x-www-form-urlencoded"), 400),
        (Some("application/json; charset=utf-8"), 200),
        (Some("Application/JSON"), 200),
    ];
    for (content_type, status) in cases {
        let mut request = client.post(&url).basic_auth(KEY, Some("")).body("{}");
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{content_type:?}");
        let body: Value = response.json().await.unwrap();
        if status == 400 {
            assert_eq!(code(&body), "invalid_input");
        } else {
            assert_eq!(body["success"], true);
        }
    }
    // An empty body needs the header too (a client omitting it got a 400 from Ashby).
    let response = client
        .post(format!("{}/user.list", server.base_url()))
        .basic_auth(KEY, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // Our own client sends `Content-Type: application/json` (and its key through
    // the SDK's auth).
    let http = hirebridge_sdk::http::HttpClient::new(hirebridge_ashby::AshbyConfig::new(KEY).http)
        .unwrap();
    let ours = AshbyClient::new(http, &server.base_url());
    let page = ours
        .list("candidate.list", &json!({"limit": 3}))
        .await
        .unwrap();
    assert_eq!(page.results.len(), 3);
    let empty = ours.call("user.list", &json!({})).await.unwrap();
    assert_eq!(empty["success"], true);
}

#[tokio::test]
async fn coerces_numbers_and_booleans_as_ashby_does() {
    let (sim, server) = start(400, 4).await;
    // Integral floats and numeric strings pass as integers and numbers.
    for limit in [json!("25"), json!(25.0), json!(" 25 ")] {
        let (_, page) = call(&server, "candidate.list", json!({ "limit": limit })).await;
        assert_eq!(page["success"], true, "{limit}: {page}");
        assert_eq!(page["results"].as_array().unwrap().len(), 25, "{limit}");
    }
    let mut created: Vec<i64> = sim
        .ids("candidate")
        .iter()
        .map(|id| {
            let c = sim.get("candidate", id).unwrap();
            chrono::DateTime::parse_from_rfc3339(c["createdAt"].as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    created.sort();
    let cut = created[created.len() / 3];
    let expected = created.iter().filter(|c| **c > cut).count();
    let (as_int, _) = list_all(&server, "candidate", json!({ "createdAfter": cut })).await;
    assert_eq!(as_int.len(), expected);
    // `createdAfter: 1485302400000.0` used to answer invalid_input, which a
    // client reads as an empty stream.
    for after in [json!(cut as f64), json!(cut.to_string())] {
        let (ids, _) = list_all(&server, "candidate", json!({ "createdAfter": after })).await;
        assert_eq!(ids, as_int, "{after}");
    }
    let (_, body) = call(
        &server,
        "candidate.list",
        json!({"createdAfter": 1485302400000.0_f64}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");

    // String booleans.
    let titles = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, with) = call(
        &server,
        "candidateTag.list",
        json!({"includeArchived": "true", "limit": "25"}),
    )
    .await;
    assert!(titles(&with).contains(&"Legacy import".to_string()));
    let (_, without) = call(
        &server,
        "candidateTag.list",
        json!({"includeArchived": "false"}),
    )
    .await;
    assert!(!titles(&without).contains(&"Legacy import".to_string()));
    assert_eq!(titles(&with).len(), titles(&without).len() + 1);
    let (_, users) = call(&server, "user.list", json!({"includeDeactivated": "true"})).await;
    assert_eq!(users["success"], true);

    // What cannot be read as its type is still invalid_input.
    for body in [
        json!({"createdAfter": 1.5}),
        json!({"createdAfter": "soon"}),
        json!({"createdAfter": true}),
        json!({"limit": "many"}),
    ] {
        let (_, answer) = call(&server, "candidate.list", body.clone()).await;
        assert_eq!(code(&answer), "invalid_input", "{body}");
    }
    let (_, answer) = call(
        &server,
        "department.list",
        json!({"includeArchived": "yes"}),
    )
    .await;
    assert_eq!(code(&answer), "invalid_input");
    // Free-text fields keep numeric-looking strings as strings.
    let (_, answer) = call(&server, "candidate.list", json!({"cursor": "12345"})).await;
    assert_eq!(code(&answer), "invalid_next_cursor");
    let (_, answer) = call(&server, "application.list", json!({"jobId": "12345"})).await;
    assert_eq!(answer["results"], json!([]));
}

#[tokio::test]
async fn serves_tags_custom_fields_and_feedback_forms() {
    let (sim, server) = start(300, 6).await;
    // Paginated with cursor and syncToken like the other lists.
    let (tags, tag_token) = list_all(&server, "candidateTag", json!({"limit": 2})).await;
    assert_eq!(tags.len(), 6);
    let (all_tags, _) = list_all(
        &server,
        "candidateTag",
        json!({"limit": 2, "includeArchived": true}),
    )
    .await;
    assert_eq!(all_tags.len(), 7);
    let (ids, _) = list_all(&server, "candidateTag", json!({ "syncToken": tag_token })).await;
    assert!(ids.is_empty(), "nothing changed since the token");

    // Candidates carry tags that candidateTag.list knows.
    let known: BTreeSet<String> = all_tags.into_iter().collect();
    let mut tagged = 0;
    for id in sim.ids("candidate") {
        for tag in sim.get("candidate", &id).unwrap()["tags"]
            .as_array()
            .unwrap()
        {
            assert!(known.contains(tag["id"].as_str().unwrap()));
            tagged += 1;
        }
    }
    assert!(tagged > 0);

    let (fields, _) = list_all(&server, "customField", json!({"limit": 4})).await;
    assert_eq!(fields.len(), 5);
    let (_, page) = call(
        &server,
        "customField.list",
        json!({"includeArchived": true}),
    )
    .await;
    let all = page["results"].as_array().unwrap();
    assert_eq!(all.len(), 6);
    for field in all {
        for key in [
            "id",
            "title",
            "objectType",
            "isArchived",
            "fieldType",
            "isRequired",
        ] {
            assert!(field.get(key).is_some(), "{key} in {field}");
        }
        // The spec lists selectableValues only for MultiValueSelect fields.
        assert_eq!(
            field.get("selectableValues").is_some(),
            field["fieldType"] == "MultiValueSelect",
            "{field}"
        );
    }

    let (forms, _) = list_all(&server, "feedbackFormDefinition", json!({"limit": 1})).await;
    assert_eq!(forms.len(), 2);
    let (_, page) = call(
        &server,
        "feedbackFormDefinition.list",
        json!({"includeArchived": true}),
    )
    .await;
    let all = page["results"].as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|f| f["isDefaultForm"] == true).count(), 1);
    for form in all {
        assert!(form["formDefinition"]["sections"].is_array(), "{form}");
        assert!(form["organizationId"].is_string());
    }
    // Feedback points at a listed form, whose definition it embeds.
    let feedback = sim.ids("applicationFeedback")[0].clone();
    let feedback = sim.get("applicationFeedback", &feedback).unwrap();
    let form_id = feedback["feedbackFormDefinitionId"].as_str().unwrap();
    assert!(forms.iter().any(|f| f == form_id));
    assert!(feedback["formDefinition"]["sections"].is_array());
}

#[tokio::test]
async fn method_errors_fail_one_operation() {
    let (sim, server) = start(50, 1).await;
    sim.set_faults(Faults {
        method_errors: [
            ("interviewPlan.list".to_string(), 403),
            ("source.list".to_string(), 404),
        ]
        .into(),
        ..Faults::default()
    });
    let (status, body) = call(&server, "interviewPlan.list", json!({})).await;
    assert_eq!((status, code(&body)), (403, "missing_endpoint_permission"));
    let (status, body) = call(&server, "source.list", json!({})).await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    let (status, _) = call(&server, "job.list", json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn routes_methods_and_bodies() {
    let (sim, server) = start(50, 1).await;
    let (status, body) = call(&server, "nothing.list", json!({})).await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    let response = reqwest::Client::new()
        .get(format!("{}/candidate.list", server.base_url()))
        .basic_auth(KEY, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let response = reqwest::Client::new()
        .post(format!("{}/candidate.list", server.base_url()))
        .basic_auth(KEY, Some(""))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(code(&response.json().await.unwrap()), "invalid_input");
    let (_, body) = call(&server, "candidate.list", json!({"limit": 0})).await;
    assert_eq!(code(&body), "invalid_input");

    let app = sim.ids("application")[0].clone();
    let (_, body) = call(&server, "application.info", json!({"applicationId": app})).await;
    assert_eq!(body["results"]["id"], app.as_str());
    let (_, body) = call(
        &server,
        "application.info",
        json!({"applicationId": "nope"}),
    )
    .await;
    assert_eq!(code(&body), "application_not_found");

    let (_, body) = call(&server, "interviewStage.list", json!({})).await;
    assert_eq!(code(&body), "invalid_input");
    let plan = sim.ids("interviewPlan")[0].clone();
    let (_, body) = call(
        &server,
        "interviewStage.list",
        json!({"interviewPlanId": plan}),
    )
    .await;
    assert_eq!(body["moreDataAvailable"], false);
    let stages = body["results"].as_array().unwrap();
    assert!((6..=8).contains(&stages.len()));
    let (_, body) = call(&server, "jobPosting.list", json!({})).await;
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        sim.counts()["jobPosting"]
    );
    assert!(body.get("syncToken").is_none());
    let (_, body) = call(&server, "source.list", json!({})).await;
    assert_eq!(body["moreDataAvailable"], false);
}

#[tokio::test]
async fn full_listing_pages_through_every_candidate_once() {
    let (sim, server) = start(1000, 3).await;
    let expected = sim.counts()["candidate"];
    assert_eq!(expected, 400);
    let (ids, token) = list_all(&server, "candidate", json!({"limit": 100})).await;
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), expected);
    assert_eq!(unique.len(), expected);
    assert_eq!(ids, sim.ids("candidate"));
    assert!(!token.is_empty());

    // Limits over 100 are clamped; the default is 100.
    let (_, page) = call(&server, "candidate.list", json!({"limit": 500})).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 100);
    let (_, page) = call(&server, "candidate.list", json!({})).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 100);

    // createdAfter filters on createdAt.
    let all = sim.ids("candidate");
    let created: Vec<i64> = all
        .iter()
        .map(|id| {
            let c = sim.get("candidate", id).unwrap();
            chrono::DateTime::parse_from_rfc3339(c["createdAt"].as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    let cut = sorted[sorted.len() / 2];
    let (after, _) = list_all(&server, "candidate", json!({"createdAfter": cut})).await;
    assert_eq!(after.len(), created.iter().filter(|c| **c > cut).count());
}

#[tokio::test]
async fn incremental_sync_returns_exactly_the_changes() {
    let (sim, server) = start(500, 5).await;
    let (_, token) = list_all(&server, "candidate", json!({})).await;
    let new_id = sim.create_candidate("Grace Hopper", "grace@navy.example");
    let existing = sim.ids("candidate")[7].clone();
    sim.update_candidate(&existing, |c| c["name"] = "Renamed Person".into());
    let (ids, token2) = list_all(
        &server,
        "candidate",
        json!({"syncToken": token, "limit": 1}),
    )
    .await;
    let got: BTreeSet<String> = ids.into_iter().collect();
    assert_eq!(got, BTreeSet::from([new_id.clone(), existing.clone()]));
    assert_eq!(
        sim.get("candidate", &existing).unwrap()["name"],
        "Renamed Person"
    );

    // Nothing changed since: empty, with a fresh token.
    let (ids, _) = list_all(&server, "candidate", json!({"syncToken": token2.clone()})).await;
    assert!(ids.is_empty());

    // Application mutations show up on applications only.
    let job = sim.ids("job")[0].clone();
    let app = sim.create_application(&new_id, &job);
    let created = sim.get("application", &app).unwrap();
    assert_eq!(created["status"], "Active");
    let (_, app_token) = list_all(&server, "application", json!({})).await;
    let stage = sim.ids("interviewStage")[0].clone();
    sim.move_application_stage(&app, &stage);
    let (ids, _) = list_all(&server, "application", json!({"syncToken": app_token})).await;
    assert_eq!(ids, vec![app.clone()]);
    assert_eq!(
        sim.get("candidate", &new_id).unwrap()["applicationIds"],
        json!([app])
    );

    // Deletions are not reported incrementally, but full listings drop the object.
    sim.delete("candidate", &existing);
    let (_, token3) = list_all(&server, "candidate", json!({})).await;
    let (full, _) = list_all(&server, "candidate", json!({})).await;
    assert!(!full.contains(&existing));
    let (ids, _) = list_all(&server, "candidate", json!({"syncToken": token3})).await;
    assert!(ids.is_empty());
}

#[tokio::test]
async fn changes_during_a_full_pass_reach_the_next_incremental() {
    let (sim, server) = start(500, 8).await;
    let (_, first) = call(&server, "candidate.list", json!({"limit": 50})).await;
    let early = sim.ids("candidate")[0].clone(); // already served on page one
    sim.update_candidate(&early, |c| c["position"] = "CTO".into());
    let (rest, token) =
        list_all(&server, "candidate", json!({"cursor": first["nextCursor"]})).await;
    assert_eq!(rest.len() + 50, sim.counts()["candidate"]);
    let (ids, _) = list_all(&server, "candidate", json!({"syncToken": token})).await;
    assert_eq!(ids, vec![early]);
}

#[tokio::test]
async fn bad_and_expired_tokens_and_cursors() {
    let (sim, server) = start(300, 2).await;
    let (_, body) = call(&server, "candidate.list", json!({"syncToken": "garbage!!"})).await;
    assert_eq!(code(&body), "sync_token_invalid");
    let (_, app_token) = list_all(&server, "application", json!({})).await;
    let (_, body) = call(&server, "candidate.list", json!({"syncToken": app_token})).await;
    assert_eq!(code(&body), "sync_token_invalid");

    let (_, body) = call(
        &server,
        "candidate.list",
        json!({"cursor": "%%%not-a-cursor"}),
    )
    .await;
    assert_eq!(code(&body), "invalid_next_cursor");
    let (_, page) = call(&server, "application.list", json!({"limit": 10})).await;
    let (_, body) = call(
        &server,
        "candidate.list",
        json!({"cursor": page["nextCursor"]}),
    )
    .await;
    assert_eq!(code(&body), "invalid_next_cursor");

    let (_, token) = list_all(&server, "candidate", json!({})).await;
    sim.expire_sync_tokens();
    let (_, body) = call(&server, "candidate.list", json!({"syncToken": token})).await;
    assert_eq!(code(&body), "sync_token_expired");
    let (_, fresh) = list_all(&server, "candidate", json!({})).await;
    let (status, body) = call(&server, "candidate.list", json!({"syncToken": fresh})).await;
    assert_eq!((status, body["success"].clone()), (200, json!(true)));

    sim.set_faults(Faults {
        sync_token_ttl: Some(std::time::Duration::from_millis(1)),
        cursor_ttl: Some(std::time::Duration::from_millis(1)),
        ..Faults::default()
    });
    let (_, page) = call(&server, "candidate.list", json!({"limit": 10})).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (_, body) = call(&server, "candidate.list", json!({"syncToken": fresh})).await;
    assert_eq!(code(&body), "sync_token_expired");
    let (_, body) = call(
        &server,
        "candidate.list",
        json!({"cursor": page["nextCursor"]}),
    )
    .await;
    assert_eq!(code(&body), "next_cursor_expired");
}

#[tokio::test]
async fn incremental_sync_too_large() {
    let (sim, server) = start_with(SimConfig {
        api_key: KEY.into(),
        records: 500,
        max_incremental_pages: 2,
        ..SimConfig::default()
    })
    .await;
    let (_, token) = list_all(&server, "candidate", json!({})).await;
    for id in sim.ids("candidate").iter().take(25) {
        sim.update_candidate(id, |c| c["company"] = "Changed".into());
    }
    let (_, body) = call(
        &server,
        "candidate.list",
        json!({"syncToken": token, "limit": 10}),
    )
    .await;
    assert_eq!(code(&body), "incremental_sync_too_large");
    let (ids, _) = list_all(
        &server,
        "candidate",
        json!({"syncToken": token, "limit": 13}),
    )
    .await;
    assert_eq!(ids.len(), 25);
}

#[tokio::test]
async fn storm_429_and_rate_limit() {
    let (sim, server) = start(50, 1).await;
    sim.set_faults(Faults {
        storm_429: 2,
        ..Faults::default()
    });
    for _ in 0..2 {
        let response = reqwest::Client::new()
            .post(format!("{}/candidate.list", server.base_url()))
            .basic_auth(KEY, Some(""))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(code(&response.json().await.unwrap()), "rate_limit_exceeded");
    }
    let (status, _) = call(&server, "candidate.list", json!({})).await;
    assert_eq!(status, 200);

    sim.set_faults(Faults {
        rate_limit_per_sec: Some(3),
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(call(&server, "user.list", json!({})).await.0);
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");

    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let (status, _) = call(&server, "user.list", json!({})).await;
    assert!([500, 502, 503].contains(&status));
    assert_eq!(sim.request_count(), 3 + 5 + 1);

    // A malformed answer: 200, but a body cut short.
    sim.set_faults(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    });
    let (status, body) = call(&server, "user.list", json!({})).await;
    assert_eq!(status, 200);
    assert!(body.is_string(), "not JSON: {body}");
    sim.set_faults(Faults::default());
    let (status, body) = call(&server, "user.list", json!({})).await;
    assert_eq!((status, &body["success"]), (200, &json!(true)));
}

#[tokio::test]
async fn candidates_are_the_shared_fake_people() {
    use hirebridge_sdk::sim::people::person;
    let sim = Simulator::new(SimConfig {
        seed: 7,
        records: 1000,
        ..SimConfig::default()
    });
    let count = sim.counts()["candidate"];
    let by_email: std::collections::BTreeMap<String, u64> =
        (0..count as u64).map(|n| (person(n).email, n)).collect();
    let mut people = BTreeSet::new();
    let mut phones = 0;
    for id in sim.ids("candidate") {
        let c = sim.get("candidate", &id).unwrap();
        // Duplicates repeat an earlier candidate's email, sometimes upper-cased.
        let email = c["primaryEmailAddress"]["value"]
            .as_str()
            .unwrap()
            .to_lowercase();
        let n = by_email[&email];
        let p = person(n);
        assert_eq!(c["name"], p.name().as_str());
        if !c["primaryPhoneNumber"].is_null() {
            assert_eq!(c["primaryPhoneNumber"]["value"], p.phone.as_str());
            phones += 1;
        }
        people.insert(n);
    }
    // Candidate n is person n, but for the few duplicates of an earlier person.
    assert!(people.contains(&0));
    assert!(
        people.len() * 100 >= count * 95,
        "{} of {count}",
        people.len()
    );
    assert!(phones * 10 >= count * 7, "{phones} of {count}");
    // Applications embed the same identity.
    for id in sim.ids("application").iter().take(50) {
        let a = sim.get("application", id).unwrap();
        let c = sim
            .get("candidate", a["candidate"]["id"].as_str().unwrap())
            .unwrap();
        assert_eq!(a["candidate"]["name"], c["name"]);
        assert_eq!(
            a["candidate"]["primaryEmailAddress"],
            c["primaryEmailAddress"]
        );
        assert_eq!(
            a["candidate"]["primaryPhoneNumber"],
            c["primaryPhoneNumber"]
        );
    }
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let a = Simulator::new(SimConfig {
        seed: 42,
        records: 2000,
        ..SimConfig::default()
    });
    let b = Simulator::new(SimConfig {
        seed: 42,
        records: 2000,
        ..SimConfig::default()
    });
    let c = Simulator::new(SimConfig {
        seed: 43,
        records: 2000,
        ..SimConfig::default()
    });
    assert_eq!(a.counts(), b.counts());
    for (object, _) in a.counts() {
        let ids = a.ids(object);
        assert_eq!(ids, b.ids(object), "{object}");
        for id in &ids {
            assert_eq!(a.get(object, id), b.get(object, id), "{object} {id}");
        }
    }
    assert_ne!(a.ids("candidate"), c.ids("candidate"));
    let counts = a.counts();
    assert_eq!(counts["candidate"], 800);
    assert_eq!(counts["application"], 800);
    assert_eq!(counts["job"], 40);
    assert_eq!(counts["interviewSchedule"], 200);
    assert_eq!(counts["offer"], 40);
    assert_eq!(counts["applicationFeedback"], 160);

    // Candidates' applicationIds match the applications.
    let mut linked = 0;
    for id in a.ids("candidate") {
        let candidate = a.get("candidate", &id).unwrap();
        let apps = candidate["applicationIds"].as_array().unwrap();
        assert!(apps.len() <= 3);
        for app in apps {
            let app = a.get("application", app.as_str().unwrap()).unwrap();
            assert_eq!(app["candidate"]["id"], id.as_str());
            linked += 1;
        }
    }
    assert_eq!(linked, counts["application"]);
}
