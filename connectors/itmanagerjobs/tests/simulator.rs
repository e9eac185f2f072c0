//! The simulator speaks the seed's contract (`004_7d555ba706a0066d.txt`) over
//! HTTP: create then publish (one credit; 402 `no_credits` without), soft-close
//! by `DELETE`, the error envelope, 401 with no body for unknown or unapproved
//! keys, 403 for a missing scope, and per-family windows.
#![cfg(feature = "sim")]

mod support;

use hirebridge_itmanagerjobs::sim::Scope;
use serde_json::{json, Value};
use support::*;

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut req = client.request(method, url).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn create_publish_soft_close_and_credits() {
    let (sim, server) = start(sim_config(30, 1)).await;
    let base = server.base_url();
    let c = reqwest::Client::new();
    sim.set_credits(1);
    // "# 201 Created  {"id":1234,"status":"Draft", ... }"
    let (status, body) = call(
        &c,
        reqwest::Method::POST,
        format!("{base}/api/v1/jobs"),
        KEY,
        Some(json!({"title": "Senior Platform Engineer", "reference": "PL-001", "city": "London", "country": "United Kingdom", "employmentType": "FullTime", "remoteType": "HybridRemote", "applyMethod": "EmailApply"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let job: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(job["status"], "Draft");
    let id = job["id"].as_u64().unwrap();
    let publish = format!("{base}/api/v1/jobs/{id}/publish");
    let (status, body) = call(
        &c,
        reqwest::Method::POST,
        publish.clone(),
        KEY,
        Some(json!({"expiryDate": "2026-06-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"Active\"") && body.contains("postedDate"));
    assert_eq!(sim.credits(), 0, "publishing costs one credit");

    // Out of credits: 402 with the envelope, nothing spent.
    let draft = sim.create_job(&json!({"title": "Second"}));
    let (status, body) = call(
        &c,
        reqwest::Method::POST,
        format!("{base}/api/v1/jobs/{}/publish", draft["id"]),
        KEY,
        None,
    )
    .await;
    assert_eq!(status, 402);
    let envelope: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope["code"], "no_credits");
    // Listing stays free.
    let (status, _) = call(
        &c,
        reqwest::Method::GET,
        format!("{base}/api/v1/jobs?page=1&pageSize=5"),
        KEY,
        None,
    )
    .await;
    assert_eq!(status, 200);

    // DELETE soft-closes.
    let (status, body) = call(
        &c,
        reqwest::Method::DELETE,
        format!("{base}/api/v1/jobs/{id}"),
        KEY,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("\"Inactive\""), "{body}");
    assert!(sim.job(id).is_some(), "still there");
}

#[tokio::test]
async fn keys_scopes_and_the_error_envelope() {
    let (sim, server) = start(sim_config(30, 2)).await;
    let base = server.base_url();
    let c = reqwest::Client::new();
    let get = |path: &str, key: &str| {
        let (c, url, key) = (c.clone(), format!("{base}{path}"), key.to_string());
        async move { call(&c, reqwest::Method::GET, url, &key, None).await }
    };
    // Unknown key and a key in review: 401, no body.
    assert_eq!(get("/api/v1/jobs", "nope").await, (401, String::new()));
    sim.add_key("pending", &[Scope::JobPosting, Scope::CvSearch], false);
    assert_eq!(get("/api/v1/jobs", "pending").await, (401, String::new()));
    // X-Api-Key works too.
    let resp = c
        .get(format!("{base}/api/v1/jobs"))
        .header("X-Api-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list["page"], 1);
    assert_eq!(list["pageSize"], 50);
    assert_eq!(list["total"], sim.ids("jobs").len());
    // A key without CvSearch: 403 naming the scope.
    sim.add_key("jobs-only", &[Scope::JobPosting], true);
    let (status, body) = get("/api/v1/candidates/50000", "jobs-only").await;
    assert_eq!(status, 403);
    assert!(body.contains("CvSearch"), "{body}");
    // Not found, tenant-scoped.
    let (status, body) = get("/api/v1/jobs/424242", KEY).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "not_found"
    );
    // A page size out of range.
    let (status, body) = get("/api/v1/jobs?pageSize=1000", KEY).await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid_query"));
    // The candidates family has its own window, with Retry-After when spent.
    sim.set_rate_limit(
        hirebridge_itmanagerjobs::plugin::FAMILY_CANDIDATES,
        1,
        std::time::Duration::from_secs(60),
    );
    assert_eq!(get("/api/v1/candidates/50000", KEY).await.0, 200);
    let resp = c
        .get(format!("{base}/api/v1/candidates/50000"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // Jobs are another family: unaffected.
    assert_eq!(get("/api/v1/jobs", KEY).await.0, 200);
}
