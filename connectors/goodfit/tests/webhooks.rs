//! Goodfit webhooks: the assumed `X-Goodfit-Signature: t=..,v1=..` scheme signed
//! and verified, every forgery refused, and live deliveries from the
//! simulator's sender (retries with the same delivery id, secret rotation)
//! verified and parsed by the connector over real HTTP.
#![cfg(feature = "sim")]

mod support;

use hirebridge_goodfit::plugin::{signature_scheme, SIGNATURE_HEADER};
use hirebridge_goodfit::sim::GoodfitSender;
use hirebridge_goodfit::GoodfitOptions;
use hirebridge_sdk::{Connector, Inbound, Record, Secret, Settings, StageCategory, WebhookError};
use serde_json::json;
use std::time::{Duration, SystemTime};
use support::*;

fn offline(secrets: &[&str]) -> hirebridge_goodfit::GoodfitConnector {
    let mut s = Settings::new("goodfit-test");
    s.api_key = Some(Secret::new(KEY));
    s.webhook_secrets = secrets.iter().map(|x| Secret::new(*x)).collect();
    hirebridge_goodfit::GoodfitConnector::from_settings(&s, &GoodfitOptions::default()).unwrap()
}

fn headers(list: Vec<(String, String)>) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in list {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

fn body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "evt_1", "type": "candidate.created", "created_at": "2026-03-01T10:00:00.000Z",
        "data": {"id": "cd_1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    }))
    .unwrap()
}

#[test]
fn sign_then_verify_round_trips_with_any_configured_secret() {
    let c = offline(&["old-secret", "new-secret"]);
    let now = SystemTime::now();
    let body = body();
    for secret in ["old-secret", "new-secret"] {
        let signed = signature_scheme().sign(secret.as_bytes(), &body, now, Some("dlv_42"));
        let header = &signed
            .iter()
            .find(|(k, _)| k == SIGNATURE_HEADER)
            .unwrap()
            .1;
        assert!(
            header.starts_with("t=") && header.contains(",v1="),
            "{header}"
        );
        let d = c.verify(&headers(signed), &body, now).unwrap();
        assert_eq!(d.delivery_id.as_deref(), Some("dlv_42"));
        assert_eq!(d.event_type.as_deref(), Some("candidate.created"));
        assert!(d.sent_at.is_some());
        let parsed = c.parse(&d, &body).unwrap();
        assert!(
            matches!(parsed.as_slice(), [Inbound::Upsert(r)] if matches!(**r, Record::Candidate(_)))
        );
    }
    // Without a delivery id header the daemon deduplicates by body hash.
    let signed = signature_scheme().sign(b"new-secret", &body, now, None);
    assert_eq!(
        c.verify(&headers(signed), &body, now).unwrap().delivery_id,
        None
    );
}

#[test]
fn forgeries_and_replays_are_refused() {
    let c = offline(&["old-secret", "new-secret"]);
    let now = SystemTime::now();
    let body = body();
    let good = || headers(signature_scheme().sign(b"new-secret", &body, now, Some("dlv_1")));
    let wrong = headers(signature_scheme().sign(b"guess", &body, now, None));
    assert_eq!(
        c.verify(&wrong, &body, now),
        Err(WebhookError::BadSignature)
    );
    let mut tampered = body.clone();
    tampered[20] ^= 1;
    assert_eq!(
        c.verify(&good(), &tampered, now),
        Err(WebhookError::BadSignature)
    );
    let mut missing = good();
    missing.remove(SIGNATURE_HEADER);
    assert!(matches!(
        c.verify(&missing, &body, now),
        Err(WebhookError::MissingSignature { .. })
    ));
    let stale = headers(signature_scheme().sign(
        b"new-secret",
        &body,
        now - Duration::from_secs(301),
        None,
    ));
    assert_eq!(
        c.verify(&stale, &body, now),
        Err(WebhookError::StaleTimestamp)
    );
    let future = headers(signature_scheme().sign(
        b"new-secret",
        &body,
        now + Duration::from_secs(301),
        None,
    ));
    assert_eq!(
        c.verify(&future, &body, now),
        Err(WebhookError::FutureTimestamp)
    );
    // The timestamp is signed: moving it breaks the signature.
    let mut moved = good();
    let value = moved
        .get(SIGNATURE_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let (t, rest) = value.split_once(',').unwrap();
    let t: i64 = t.trim_start_matches("t=").parse().unwrap();
    moved.insert(
        SIGNATURE_HEADER,
        format!("t={},{rest}", t - 1).parse().unwrap(),
    );
    assert_eq!(
        c.verify(&moved, &body, now),
        Err(WebhookError::BadSignature)
    );
    let mut no_ts = good();
    no_ts.insert(SIGNATURE_HEADER, rest.parse().unwrap());
    assert!(matches!(
        c.verify(&no_ts, &body, now),
        Err(WebhookError::MissingTimestamp { .. })
    ));
    assert_eq!(
        offline(&[]).verify(&good(), &body, now),
        Err(WebhookError::NoSecretConfigured)
    );
}

#[test]
fn the_whole_scheme_can_be_replaced_by_options() {
    let options: GoodfitOptions = toml_edit::de::from_str(
        r#"
        [signature]
        header = "X-Goodfit-Signature"
        layout = { kind = "plain", prefix = "sha256=" }
        encoding = "base64"
        signed = "body"
        timestamp = { kind = "none" }
        id_header = "X-Goodfit-Delivery"
        "#,
    )
    .unwrap();
    let mut s = Settings::new("goodfit-test");
    s.webhook_secrets = vec![Secret::new("k")];
    let c = hirebridge_goodfit::GoodfitConnector::from_settings(&s, &options).unwrap();
    let body = body();
    let now = SystemTime::now();
    let signed = c.scheme().sign(b"k", &body, now, Some("dlv_9"));
    assert!(signed
        .iter()
        .any(|(k, v)| k == SIGNATURE_HEADER && v.starts_with("sha256=")));
    assert_eq!(
        c.verify(&headers(signed), &body, now)
            .unwrap()
            .delivery_id
            .as_deref(),
        Some("dlv_9")
    );
    // The default scheme's headers do not verify under the override.
    let default = headers(signature_scheme().sign(b"k", &body, now, None));
    assert!(c.verify(&default, &body, now).is_err());
}

#[tokio::test]
async fn live_deliveries_verify_parse_and_retry_with_the_same_delivery_id() {
    let (sim, server) = start(sim_config(80, 21)).await;
    let (url, receiver) = receiver(connector(&settings(&server), &GoodfitOptions::default())).await;
    sim.send_webhooks_to(&url, "new-secret");
    receiver
        .fail_first
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let app = sim.ids("applications")[3].clone();
    sim.move_application(&app, "stg_hired").unwrap();
    assert!(sim.flush_webhooks(Duration::from_secs(10)).await);
    let got = receiver.received();
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 503, 204]
    );
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.delivery.clone().unwrap().delivery_id.unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| id == &ids[0] && id.starts_with("dlv_")),
        "{ids:?}"
    );
    assert_eq!(got[0].body, got[2].body, "a retry resends the same body");
    let counts = sim.webhooks().unwrap().counts();
    assert_eq!(
        (
            counts.fired,
            counts.delivered,
            counts.retries,
            counts.failed
        ),
        (1, 1, 2, 0)
    );
    match got[2].inbound.clone().unwrap().unwrap().as_slice() {
        [Inbound::Upsert(r), ..] => match &**r {
            Record::Application(a) => {
                assert_eq!(a.meta.remote_id, app);
                assert_eq!(a.stage_category, Some(StageCategory::Hired));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }

    // Per-endpoint rotation: the sender moves to a secret the connector also holds.
    sim.webhooks().unwrap().rotate_secret("old-secret");
    sim.complete_assessment(&app).unwrap();
    assert!(sim.flush_webhooks(Duration::from_secs(10)).await);
    // A secret the connector does not hold is refused.
    sim.webhooks().unwrap().rotate_secret("leaked");
    sim.set_job_open(&sim.ids("jobs")[0], false).unwrap();
    assert!(sim.flush_webhooks(Duration::from_secs(10)).await);
    let got = receiver.received();
    assert_eq!(got[3].status, 204);
    assert!(matches!(
        got[3].delivery.as_ref().unwrap().event_type.as_deref(),
        Some("assessment.completed")
    ));
    assert_eq!(got[4].delivery, Err(WebhookError::BadSignature));
    assert_eq!(got[4].status, 401);
}

#[tokio::test]
async fn stale_and_replayed_deliveries_from_the_sender() {
    let (_sim, server) = start(sim_config(20, 22)).await;
    let (url, receiver) = receiver(connector(&settings(&server), &GoodfitOptions::default())).await;
    let sender = GoodfitSender::start(&url, "new-secret", Vec::new());
    let (body, id) = GoodfitSender::envelope(
        "job.closed",
        json!({"id": "jb_1", "status": "closed"}),
        SystemTime::now(),
    );
    let raw = sender.webhook_sender();
    let old = SystemTime::now() - Duration::from_secs(3600);
    raw.send_once(&body, &[], Some(&id), old).await.unwrap();
    raw.send_once(&body, &[], Some(&id), SystemTime::now())
        .await
        .unwrap();
    // A dashboard replay: the same body and delivery id, signed afresh.
    raw.send_once(&body, &[], Some(&id), SystemTime::now())
        .await
        .unwrap();
    let got = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(got[0].delivery, Err(WebhookError::StaleTimestamp));
    let a = got[1].delivery.clone().unwrap();
    let b = got[2].delivery.clone().unwrap();
    assert_eq!(
        a.delivery_id, b.delivery_id,
        "the inbox deduplicates the replay by its id"
    );
    assert_eq!(got[1].body, got[2].body);
}
