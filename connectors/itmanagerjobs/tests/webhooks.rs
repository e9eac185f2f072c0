//! Webhook signatures as the seed (`004_7d555ba706a0066d.txt`, "Verifying
//! signatures") describes them, signed by the simulator's sender and verified
//! by the connector; and the sender's documented retries and auto-disable.
#![cfg(feature = "sim")]

mod support;

use axum::http::StatusCode;
use hirebridge_itmanagerjobs::sim::sender::{self, ItManagerJobsSender};
use hirebridge_itmanagerjobs::ItManagerJobsOptions;
use hirebridge_sdk::{Connector, Secret, Settings, WebhookError};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn headers(pairs: &[(String, String)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

fn connector(secret: &str) -> hirebridge_itmanagerjobs::ItManagerJobsConnector {
    let mut s = Settings::new("itm");
    s.api_key = Some(Secret::new("k"));
    s.webhook_secrets = vec![Secret::new(secret)];
    hirebridge_itmanagerjobs::ItManagerJobsConnector::from_settings(
        &s,
        &ItManagerJobsOptions::default(),
    )
    .unwrap()
}

#[tokio::test]
async fn signed_by_the_sender_verified_by_the_connector_forgeries_refused() {
    let s = ItManagerJobsSender::start("http://127.0.0.1:9/", "whsec_1", Vec::new());
    let (body, id) = sender::envelope(
        "job.expired",
        json!({"jobPostId": 1234, "expiredAt": "2026-06-01T00:00:00Z"}),
        SystemTime::now(),
    );
    let now = SystemTime::now();
    let signed =
        s.webhook_sender()
            .headers(&body, now, Some(&id), &sender::event_header("job.expired"));
    let sig = signed
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-webhook-signature"))
        .unwrap();
    assert!(
        sig.1.starts_with("t=") && sig.1.contains(",v1="),
        "{}",
        sig.1
    );
    let c = connector("whsec_1");
    let d = c.verify(&headers(&signed), &body, now).unwrap();
    assert_eq!(d.event_type.as_deref(), Some("job.expired"));
    assert_eq!(d.delivery_id.as_deref(), Some(id.as_str()));
    assert!(d.sent_at.is_some());

    assert_eq!(
        connector("whsec_other").verify(&headers(&signed), &body, now),
        Err(WebhookError::BadSignature)
    );
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert_eq!(
        c.verify(&headers(&signed), &tampered, now),
        Err(WebhookError::BadSignature)
    );
    let missing: Vec<(String, String)> = signed
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("x-webhook-signature"))
        .cloned()
        .collect();
    assert!(matches!(
        c.verify(&headers(&missing), &body, now),
        Err(WebhookError::MissingSignature { .. })
    ));
    // Older than five minutes: a replay.
    let later = now + Duration::from_secs(301);
    assert_eq!(
        c.verify(&headers(&signed), &body, later),
        Err(WebhookError::StaleTimestamp)
    );
    assert!(c
        .verify(&headers(&signed), &body, now + Duration::from_secs(299))
        .is_ok());
}

/// A receiver answering `fail_first` requests with 500, then 200.
async fn receiver(fail_first: u32) -> (String, Arc<AtomicU32>) {
    let seen = Arc::new(AtomicU32::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) < fail_first {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn failed_deliveries_retry_on_the_documented_schedule_scaled_down() {
    let (url, seen) = receiver(3).await;
    let s = ItManagerJobsSender::start(&url, "whsec", sender::schedule(100_000));
    s.fire(
        "job.expired",
        json!({"jobPostId": 1, "expiredAt": "2026-06-01T00:00:00Z"}),
    );
    for _ in 0..500 {
        if s.counts().delivered == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let c = s.counts();
    assert_eq!((c.delivered, c.retries), (1, 3), "{c:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    assert!(!c.disabled);
}

#[tokio::test]
async fn ten_consecutive_failures_disable_the_subscription() {
    let (url, _) = receiver(u32::MAX).await;
    let s = ItManagerJobsSender::start(&url, "whsec", Vec::new());
    for n in 0..10 {
        assert_eq!(
            s.deliver_now("job.expired", json!({"jobPostId": n})).await,
            Ok(500)
        );
    }
    assert!(s.is_disabled());
    s.fire("job.expired", json!({"jobPostId": 11}));
    assert_eq!(
        s.counts().dropped,
        1,
        "a disabled subscription sends nothing"
    );
    s.re_enable();
    assert!(!s.is_disabled());
}
