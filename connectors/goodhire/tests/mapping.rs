//! The GoodHire connector against the seed's own examples (seed
//! `001_9bab87cc4353b0db.txt`): mapping, webhook signatures (hex and base64),
//! and which stream refreshes which check.

use base64::Engine as _;
use hirebridge_goodhire::map;
use hirebridge_goodhire::{GoodhireConnector, GoodhireOptions};
use hirebridge_sdk::http::HttpConfig;
use hirebridge_sdk::{
    BackgroundCheckKind, BackgroundCheckStatus, Connector, Inbound, Record, Secret, Settings,
    WebhookError,
};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

const KEY: &str = "gh-test-key";

/// The seed's "Retrieve a report" response.
fn seed_missing_input() -> Value {
    json!({
       "Id":"283397e8-1323-49dc-9116-b483a2842d2f",
        "Candidate":{"FirstName": "Test", "LastName": "Candidate", "Email": "candidate@example.com"},
       "Status":"MissingInput",
       "StatusDetails":"AwaitingInput",
       "SectionsContainingAlerts":[],
       "ReportViewerUrl":"https://sandbox.goodhire.com/member/?_act=candidateReportAPI&_cndid=7412",
       "RequiredReportActions":[{
            "Description":"Candidate information is incomplete (candidate has been notified to provide info thru self-complete flow)",
            "Type":"IncompleteCandidateInfo",
            "Url":"https://sandbox.goodhire.com/member/?_act=dashboard",
            "UrlCandidate":"https://sandbox.goodhire.com/member/self-complete?_cnduid=9e55a103-bffd-4a92-ba83-d700ec309171&_oid=286503104"
        },
        {
            "Description":"Candidate consent is missing (candidate has been notified to provide consent thru self-complete flow)",
            "Type":"MissingCandidateConsent",
            "Url":"https://sandbox.goodhire.com/member/?_act=dashboard",
            "UrlCandidate":"https://sandbox.goodhire.com/member/self-complete?_cnduid=9e55a103-bffd-4a92-ba83-d700ec309171&_oid=286503104&showConsent=1"
        }]
    })
}

/// The seed's webhook example.
fn seed_webhook() -> Value {
    json!({
      "Id": "aced418a-0fbf-4d46-a63d-6d499b9eff95",
      "ReportStatus": {
        "Id":"e93a6cc9-82b4-4974-b9ed-f6364af8820f",
        "Candidate":{"FirstName": "Test", "LastName": "Candidate", "Email": "candidate@example.com"},
        "Status":"CompletedAlert",
        "StatusDetails":"Alert",
        "SectionsContainingAlerts":[
            "Sex Offender List Check", "National Criminal Records Check",
            "Misc Court Records", "SSN Trace + Address History"
        ],
        "ReportViewerUrl":"https://sandbox.goodhire.com/member/?_act=candidateReportAPI&_cndid=9629",
        "RequiredReportActions":[]
      }
    })
}

fn settings(base_url: Option<String>) -> Settings {
    let mut s = Settings::new("goodhire-test");
    s.base_url = base_url;
    s.api_key = Some(Secret::new(KEY));
    s
}

fn fast() -> HttpConfig {
    HttpConfig {
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retries: 2,
        ..HttpConfig::default()
    }
}

fn connector(base_url: Option<String>) -> GoodhireConnector {
    GoodhireConnector::new(&settings(base_url), &GoodhireOptions::default(), fast()).unwrap()
}

fn headers(list: &[(&str, String)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in list {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

fn mac(key: &str, body: &[u8]) -> [u8; 32] {
    hirebridge_sdk::signature::hmac_sha256(key.as_bytes(), &[body])
}

#[test]
fn the_seeds_report_maps_with_its_required_actions() {
    let c = map::report(&seed_missing_input()).unwrap();
    assert_eq!(c.meta.remote_id, "283397e8-1323-49dc-9116-b483a2842d2f");
    assert_eq!(c.candidate_email.as_deref(), Some("candidate@example.com"));
    assert_eq!(c.kind, Some(BackgroundCheckKind::Report));
    assert_eq!(c.status, Some(BackgroundCheckStatus::PendingInput));
    assert_eq!(c.required_actions.len(), 2);
    assert_eq!(
        c.required_actions[1].r#type.as_deref(),
        Some("MissingCandidateConsent")
    );
    assert!(c.required_actions[1]
        .candidate_url
        .as_deref()
        .unwrap()
        .ends_with("showConsent=1"));
    assert!(c.viewer_url.as_deref().unwrap().contains("_cndid=7412"));
}

#[test]
fn the_seeds_webhook_is_a_completed_alert_with_its_sections() {
    let body = serde_json::to_vec(&seed_webhook()).unwrap();
    let conn = connector(None);
    let sig = hex::encode(mac(KEY, &body));
    let delivery = conn
        .verify(
            &headers(&[("X-Goodhire-Signature", sig)]),
            &body,
            SystemTime::now(),
        )
        .unwrap();
    assert_eq!(
        delivery.delivery_id.as_deref(),
        Some("aced418a-0fbf-4d46-a63d-6d499b9eff95")
    );
    let inbound = conn.parse(&delivery, &body).unwrap();
    let Inbound::Upsert(record) = &inbound[0] else {
        panic!("{inbound:?}")
    };
    let Record::BackgroundCheck(c) = record.as_ref() else {
        panic!()
    };
    assert_eq!(c.status, Some(BackgroundCheckStatus::Alert));
    assert_eq!(c.alert_sections.len(), 4);
    assert!(c.status.unwrap().is_final());
}

#[test]
fn the_seeds_subscription_maps_with_its_results() {
    let raw = json!({
       "Id": "92e54341-710d-427b-8100-93ab4846fd8e",
       "ReportId": "9cfc505e-6d07-4af6-b416-e04c3f5cf553",
       "IsActive": true,
       "StartedOn": "2016-07-25T15:28:14.1312006-07:00",
       "LastStatus": "Clear",
       "ReportUrl": "https://sandbox.goodhire.com/member/?_act=phm_report&_cnduid=24bdd19b-c5fe-4927-b4cc-92e984dcd0e8",
       "Results": [{"Date": "2016-07-25T16:23:04.433-07:00", "Status": "Clear"}]
    });
    let c = map::subscription(&raw, None).unwrap();
    assert_eq!(
        c.meta.remote_id,
        "subscription:92e54341-710d-427b-8100-93ab4846fd8e"
    );
    assert_eq!(c.kind, Some(BackgroundCheckKind::Monitoring));
    // Active monitoring never finishes, so it keeps being refreshed.
    assert_eq!(c.status, Some(BackgroundCheckStatus::Processing));
    assert_eq!(c.results.len(), 1);
    assert!(c.ordered_at.is_some());
    let mut canceled = raw.clone();
    canceled["IsActive"] = json!(false);
    assert_eq!(
        map::subscription(&canceled, None).unwrap().status,
        Some(BackgroundCheckStatus::Canceled)
    );
}

#[test]
fn each_stream_refreshes_its_own_checks() {
    let conn = connector(None);
    assert!(conn.refreshes("reports", "283397e8-1323-49dc-9116-b483a2842d2f"));
    assert!(!conn.refreshes("reports", "subscription:92e54341"));
    assert!(conn.refreshes("subscriptions", "subscription:92e54341"));
    assert!(!conn.refreshes("subscriptions", "283397e8"));
}

#[test]
fn signatures_in_hex_and_base64_verify_and_forgeries_do_not() {
    let conn = connector(None);
    let body = serde_json::to_vec(&seed_webhook()).unwrap();
    let now = SystemTime::now();
    let m = mac(KEY, &body);
    let b64 = base64::engine::general_purpose::STANDARD.encode(m);
    for sig in [hex::encode(m), b64] {
        assert!(conn
            .verify(
                &headers(&[("X-Goodhire-Signature", sig.clone())]),
                &body,
                now
            )
            .is_ok());
        let mut tampered = body.clone();
        tampered.push(b' ');
        assert_eq!(
            conn.verify(&headers(&[("X-Goodhire-Signature", sig)]), &tampered, now),
            Err(WebhookError::BadSignature)
        );
    }
    let wrong = hex::encode(mac("another-key", &body));
    assert_eq!(
        conn.verify(&headers(&[("X-Goodhire-Signature", wrong)]), &body, now),
        Err(WebhookError::BadSignature)
    );
    assert!(matches!(
        conn.verify(&http::HeaderMap::new(), &body, now),
        Err(WebhookError::MissingSignature { .. })
    ));
}
