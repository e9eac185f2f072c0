//! The GoodHire connector against its simulator over real HTTP (seed
//! `001_9bab87cc4353b0db.txt`): redaction of the sandbox's sensitive
//! candidate fields, refresh by id, the error envelope, and the signed webhook
//! sender with GoodHire's retry schedule.
#![cfg(feature = "sim")]

use hirebridge_goodhire::sim::{GoodhireSim, SimConfig};
use hirebridge_goodhire::{GoodhireConnector, GoodhireOptions, PLUGIN};
use hirebridge_sdk::http::HttpConfig;
use hirebridge_sdk::{
    Action, BackgroundCheckStatus, Connector, EntityKind, Record, RemoteRef, Secret, Settings,
};
use serde_json::json;
use std::time::{Duration, SystemTime};

const KEY: &str = "gh-test-key";

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

#[test]
fn the_plugin_redacts_what_must_never_be_stored() {
    let caps = hirebridge_sdk::Plugin::capabilities(&PLUGIN);
    let mut all: Vec<String> = caps.redact.iter().map(|s| s.to_string()).collect();
    all.extend(connector(None).redact());
    let mut body = json!({"Id": "w", "ReportStatus": hirebridge_goodhire::sim::report_json(
    &hirebridge_goodhire::sim::SimReport {
        id: "r".into(), person: 3, last_name: "Hopper".into(), step: 0, ending: "Completed",
    })});
    let text = body.to_string();
    for v in hirebridge_goodhire::sim::sensitive_values(3) {
        assert!(text.contains(&v), "the sample carries {v}");
    }
    hirebridge_sdk::redact::redact_value(&mut body, &all);
    let text = body.to_string();
    for v in hirebridge_goodhire::sim::sensitive_values(3) {
        assert!(!text.contains(&v), "{v} was redacted");
    }
    assert!(text.contains("Email"));
    // An operator who keeps the city keeps only the city.
    let options: GoodhireOptions =
        toml_edit::de::from_str("keep_address_fields = [\"city\"]").unwrap();
    assert_eq!(options.address_redactions().len(), 3);
}

#[tokio::test]
async fn refresh_reads_reports_and_subscriptions_by_id_and_errors_are_classified() {
    let sim = GoodhireSim::new(SimConfig {
        api_key: KEY.into(),
        reports: 8,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let conn = connector(Some(server.base_url()));
    let id = sim.report_ids()[0].clone();
    let fetch = |remote_id: String| RemoteRef {
        kind: EntityKind::BackgroundCheck,
        remote_id,
    };
    let Some(Record::BackgroundCheck(r)) = conn.fetch(&fetch(id.clone())).await.unwrap() else {
        panic!("the report is there")
    };
    assert_eq!(r.status, Some(BackgroundCheckStatus::Processing));
    for _ in 0..5 {
        sim.advance(0);
    }
    let Some(Record::BackgroundCheck(r)) = conn.fetch(&fetch(id.clone())).await.unwrap() else {
        panic!()
    };
    assert!(r.status.unwrap().is_final(), "{:?}", r.status);

    let sub = sim.subscription_ids()[0].clone();
    sim.run_subscription(0);
    let Some(Record::BackgroundCheck(s)) = conn
        .fetch(&fetch(format!("subscription:{sub}")))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(s.results.len(), 1);
    // The subscription lands on the report's candidate.
    assert_eq!(s.candidate_email, r.candidate_email);

    // 404: gone for us (the refresh keeps what it holds).
    assert_eq!(
        conn.fetch(&fetch("00000000-0000".into())).await.unwrap(),
        None
    );
    // 401 and 403 pause; the 403 says why.
    let bad = GoodhireConnector::new(
        &{
            let mut s = settings(Some(server.base_url()));
            s.api_key = Some(Secret::new("wrong"));
            s
        },
        &GoodhireOptions::default(),
        fast(),
    )
    .unwrap();
    let e = bad.fetch(&fetch(id.clone())).await.unwrap_err();
    assert_eq!(e.action(), Action::PauseUntilOperator);
    sim.set_flagged(true);
    let e = conn.fetch(&fetch(id.clone())).await.unwrap_err();
    assert_eq!(e.action(), Action::PauseUntilOperator);
    assert!(e.to_string().contains("flagged for review"), "{e}");
    server.shutdown().await;
}

/// A receiver that verifies with the connector and answers 500 to the first
/// `fail` deliveries, counting attempts and verified ones.
#[tokio::test]
async fn webhooks_are_signed_with_the_api_key_and_retried_until_answered_200() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    struct Receiver {
        conn: GoodhireConnector,
        attempts: AtomicU32,
        verified: AtomicU32,
    }
    let receiver = Arc::new(Receiver {
        conn: connector(None),
        attempts: AtomicU32::new(0),
        verified: AtomicU32::new(0),
    });
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(r): axum::extract::State<Arc<Receiver>>,
                 headers: axum::http::HeaderMap,
                 body: axum::body::Bytes| async move {
                    let n = r.attempts.fetch_add(1, Ordering::SeqCst);
                    if r.conn.verify(&headers, &body, SystemTime::now()).is_ok() {
                        r.verified.fetch_add(1, Ordering::SeqCst);
                    }
                    if n < 2 {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                },
            ),
        )
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let sim = GoodhireSim::new(SimConfig {
        api_key: KEY.into(),
        reports: 2,
        retry_hour: Duration::from_millis(1),
        ..SimConfig::default()
    });
    sim.send_webhooks_to(&format!("http://{addr}/hook"));
    let report = sim.advance(0).unwrap();
    sim.notify(&report).await.unwrap();
    // Two refusals, then 200: three attempts, each verifying.
    assert_eq!(receiver.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(receiver.verified.load(Ordering::SeqCst), 3);
    // GoodHire's schedule: 2, 4, 6, 8, then 12 "hours".
    let schedule = hirebridge_goodhire::sim::retry_schedule(Duration::from_secs(3600));
    assert_eq!(schedule[1], Duration::from_secs(4 * 3600));
    assert_eq!(schedule[4], Duration::from_secs(12 * 3600));
}
