//! The simulator through the SDK's contract (what `simulate`, `demo` and
//! `bench` use) and its write endpoints: changes are visible to polling and
//! arrive as signed webhooks; sample deliveries are distinct and verify.
#![cfg(feature = "sim")]

mod support;

use hirebridge_goodfit::{GoodfitOptions, PLUGIN};
use hirebridge_sdk::simulate::SimSpec;
use hirebridge_sdk::{EntityKind, Inbound, Plugin, Record, Secret, Settings};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};
use support::*;

async fn started() -> Box<dyn hirebridge_sdk::simulate::RunningSimulator> {
    PLUGIN
        .simulator()
        .unwrap()
        .start(SimSpec {
            listen: ([127, 0, 0, 1], 0).into(),
            seed: 7,
            records: 120,
            api_key: KEY.into(),
        })
        .await
        .unwrap()
}

fn plugin_settings(base_url: &str) -> Settings {
    let mut s = Settings::new("goodfit-sim");
    s.base_url = Some(base_url.to_string());
    s.api_key = Some(Secret::new(KEY));
    s.webhook_secrets = vec![Secret::new("demo-secret")];
    s
}

#[tokio::test]
async fn changes_are_polled_and_sent_as_signed_webhooks() {
    let sim = started().await;
    let base = sim.base_url().unwrap();
    assert!(base.ends_with("/v1"));
    assert!(sim.describe().iter().any(|l| l.contains("x-api-key")));
    let settings = plugin_settings(&base);
    let options = PLUGIN.parse_options(None).unwrap();
    let c = PLUGIN.build(&settings, &options).unwrap();
    let (url, receiver) = receiver(connector(&settings, &GoodfitOptions::default())).await;
    sim.send_webhooks_to(&url, "demo-secret");

    // Backfill, keeping each stream's cursor.
    let mut cursors = Vec::new();
    for stream in c.streams().to_vec() {
        let mut cursor = None;
        loop {
            let page = c.poll(stream.name, cursor.as_ref()).await.unwrap();
            cursor = Some(page.cursor);
            if page.complete {
                break;
            }
        }
        cursors.push((stream.name, cursor));
    }

    let n_changes = 13u64;
    for n in 0..n_changes {
        sim.change(n).await.unwrap();
    }
    // change() returned after each webhook was answered.
    let got = receiver.received();
    assert!(got.len() as u64 >= n_changes, "{} deliveries", got.len());
    let mut events = BTreeSet::new();
    // The last version pushed of each record, by content hash.
    let mut pushed = BTreeMap::new();
    for r in &got {
        assert_eq!(r.status, 204, "{:?}", r.delivery);
        let d = r.delivery.clone().unwrap();
        assert!(d.delivery_id.is_some());
        events.insert(d.event_type.unwrap());
        for i in r.inbound.clone().unwrap().unwrap() {
            if let Inbound::Upsert(rec) = i {
                pushed.insert(
                    (rec.kind().as_str(), rec.meta().remote_id.clone()),
                    rec.content_hash(),
                );
            }
        }
    }
    for e in [
        "application.stage_changed",
        "candidate.updated",
        "candidate.created",
        "application.created",
        "assessment.completed",
        "interview.completed",
    ] {
        assert!(events.contains(e), "{e} missing from {events:?}");
    }
    assert!(
        events.contains("job.closed") || events.contains("job.published"),
        "{events:?}"
    );

    // Every change is visible to the next (incremental) poll.
    let mut polled = BTreeMap::new();
    for (stream, cursor) in cursors {
        let mut cursor = cursor;
        loop {
            let page = c.poll(stream, cursor.as_ref()).await.unwrap();
            assert!(stream == "job_pipeline" || !page.full_pass);
            for rec in &page.records {
                polled.insert(
                    (rec.kind().as_str(), rec.meta().remote_id.clone()),
                    rec.content_hash(),
                );
            }
            cursor = Some(page.cursor);
            if page.complete {
                break;
            }
        }
    }
    // ...and maps to the same content as its webhook did, so a record does not
    // flip between the two (Goodfit has no interview list to poll).
    let differing: Vec<_> = pushed
        .iter()
        .filter(|((kind, _), _)| *kind != EntityKind::Interview.as_str())
        .filter(|(k, hash)| polled.get(*k) != Some(*hash))
        .map(|(k, _)| k)
        .collect();
    assert!(
        differing.is_empty(),
        "pushed but not polled alike: {differing:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sample_deliveries_are_distinct_and_verify() {
    let sim = started().await;
    let settings = plugin_settings(&sim.base_url().unwrap());
    let c = PLUGIN
        .build(&settings, &PLUGIN.parse_options(None).unwrap())
        .unwrap();
    let now = SystemTime::now();
    let mut ids = BTreeSet::new();
    for n in [1u64, 2, 1_000_000] {
        let s = sim.sample_delivery(n, "demo-secret", now);
        let mut h = http::HeaderMap::new();
        for (k, v) in &s.headers {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let d = c.verify(&h, &s.body, now).unwrap();
        assert_eq!(d.delivery_id, Some(format!("dlv_sample_{n}")));
        match c.parse(&d, &s.body).unwrap().as_slice() {
            [Inbound::Upsert(r)] => {
                assert_eq!(r.meta().remote_id, s.remote_id);
                assert!(matches!(&**r, Record::Candidate(c) if c.email.is_some()));
            }
            other => panic!("{other:?}"),
        }
        ids.insert(s.remote_id);
        assert!(c
            .verify(&h, &s.body, now + Duration::from_secs(3600))
            .is_err());
    }
    assert_eq!(ids.len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_write_endpoints_drive_stage_changes_and_notes() {
    let (sim, server) = start(sim_config(60, 8)).await;
    let (url, receiver) = receiver(connector(&settings(&server), &GoodfitOptions::default())).await;
    sim.send_webhooks_to(&url, "new-secret");
    let app = sim.ids("applications")[0].clone();
    let http = reqwest::Client::new();
    let base = server.base_url();
    let r = http
        .patch(format!("{base}/applications/{app}"))
        .header("x-api-key", KEY)
        .json(&json!({"stage_id": "stg_interview"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["data"]["stage"]["name"], "Technical Interview");
    let r = http
        .post(format!("{base}/applications/notes"))
        .header("x-api-key", KEY)
        .json(&json!({"application_id": app, "body": "Strong systems answers."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let notes = sim.get("applications", &app).unwrap()["notes"].clone();
    assert!(notes
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["body"] == "Strong systems answers."));
    // Errors come in the envelope.
    for (request, status, code) in [
        (
            http.patch(format!("{base}/applications/ap_none"))
                .json(&json!({"stage_id": "stg_offer"})),
            404,
            "not_found",
        ),
        (
            http.patch(format!("{base}/applications/{app}"))
                .json(&json!({"stage_id": "stg_nowhere"})),
            422,
            "validation_error",
        ),
        (
            http.post(format!("{base}/applications/notes"))
                .json(&json!({"body": "x"})),
            422,
            "validation_error",
        ),
        (http.get(format!("{base}/offers")), 404, "not_found"),
    ] {
        let r = request.header("x-api-key", KEY).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].is_string());
    }
    let r = http.get(format!("{base}/jobs")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_api_key");
    assert!(sim.flush_webhooks(Duration::from_secs(5)).await);
    let got = receiver.received();
    assert_eq!(got.len(), 1, "only the stage change fires an event");
    assert_eq!(
        got[0].delivery.as_ref().unwrap().event_type.as_deref(),
        Some("application.stage_changed")
    );
}
