//! Failure over real HTTP: 429 storms and 5xx that a pass rides out, truncated
//! bodies, Goodfit's error envelope mapped to typed errors, and the proactive
//! pacing by `X-RateLimit-*` headers that never earns a 429.
#![cfg(feature = "sim")]

mod support;

use hirebridge_goodfit::GoodfitOptions;
use hirebridge_sdk::http::HttpConfig;
use hirebridge_sdk::{Action, Connector, ConnectorError, Cursor, EntityKind, RemoteRef, Secret};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::*;

#[tokio::test]
async fn a_pass_completes_through_429_storms_and_server_errors() {
    let (sim, server) = start(sim_config(300, 11)).await;
    let mut settings = settings(&server);
    settings.page_sizes = BTreeMap::from([("applications".to_string(), 10)]);
    let c = connector(&settings, &GoodfitOptions::default());
    sim.faults().storm(6);
    // Two certain 500s, then random ones: at 20 % a short pass could draw none.
    sim.faults().server_errors(2);
    sim.faults().set_error_per_mille(200);
    sim.faults().set_malformed_per_mille(50);
    let (pages, _) = pass(&c, "applications", None).await;
    let got = ids_of(&records(&pages), EntityKind::Application);
    assert_eq!(got, sim.ids("applications"));
    assert!(sim.throttled_count() >= 6, "{}", sim.throttled_count());
    let stats = c.client().http().stats.snapshot();
    assert!(stats.throttled >= 6 && stats.retries > 0, "{stats:?}");
}

#[tokio::test]
async fn the_provider_headers_pace_requests_so_no_429_is_earned() {
    let mut config = sim_config(150, 12);
    config.rate_limit = 4;
    config.rate_window = Duration::from_secs(1);
    let (sim, server) = start(config).await;
    let mut settings = settings(&server);
    settings.page_sizes = BTreeMap::from([("candidates".to_string(), 6)]);
    // No client-side limit: only X-RateLimit-Remaining/Reset pace the client.
    let c = connector(&settings, &GoodfitOptions::default());
    let started = Instant::now();
    let (pages, _) = pass(&c, "candidates", None).await;
    assert!(pages.len() >= 10, "{} pages", pages.len());
    assert_eq!(sim.throttled_count(), 0, "a 429 was earned");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the client was not paced"
    );
    assert_eq!(
        ids_of(&records(&pages), EntityKind::Candidate).len(),
        sim.ids("candidates").len()
    );
}

/// A connector that hands every error back at once.
fn no_retries(server: &hirebridge_goodfit::sim::SimServer) -> hirebridge_goodfit::GoodfitConnector {
    let http = HttpConfig {
        max_retries: 0,
        max_rate_limit_waits: 0,
        rate_limit: None,
        ..HttpConfig::default()
    };
    hirebridge_goodfit::GoodfitConnector::new(&settings(server), &GoodfitOptions::default(), http)
        .unwrap()
}

#[tokio::test]
async fn the_error_envelope_decides_the_typed_error() {
    let (sim, server) = start(sim_config(60, 13)).await;
    let c = no_retries(&server);
    // (status, code, the error's kind)
    let cases = [
        (401, "invalid_api_key", "auth"),
        (403, "plan_limit_reached", "quota"),
        (402, "quota_exceeded", "quota"),
        (404, "not_found", "not_found"),
        (422, "validation_error", "rejected"),
        (400, "invalid_cursor", "restart_pass"),
        (503, "service_unavailable", "retryable"),
        (500, "internal_error", "retryable"),
        (429, "rate_limited", "retryable"),
    ];
    for (status, code, kind) in cases {
        sim.fail_next(status, code, 1);
        let err = c.poll("jobs", None).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status} {code}: {err:?}");
        if code == "rate_limited" {
            assert!(matches!(err.action(), Action::WaitThenRetry(_)), "{err:?}");
        }
    }
}

#[tokio::test]
async fn real_refusals_of_the_simulator_map_too() {
    let (sim, server) = start(sim_config(60, 14)).await;
    // A wrong key.
    let mut wrong = settings(&server);
    wrong.api_key = Some(Secret::new("nope"));
    let c = connector(&wrong, &GoodfitOptions::default());
    let err = c.poll("jobs", None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Auth { message } if message.contains("invalid_api_key")),
        "{err:?}"
    );
    assert_eq!(err.action(), Action::PauseUntilOperator);

    let c = connector(&settings(&server), &GoodfitOptions::default());
    // A candidate that does not exist is gone, not an error.
    let missing = RemoteRef {
        kind: EntityKind::Candidate,
        remote_id: "cd_nobody".into(),
    };
    assert_eq!(c.fetch(&missing).await.unwrap(), None);
    let id = sim.ids("candidates")[0].clone();
    let found = c
        .fetch(&RemoteRef {
            kind: EntityKind::Candidate,
            remote_id: id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.meta().remote_id.clone()), Some(id));
    // A page size the API refuses.
    let mut big = settings(&server);
    big.page_sizes = BTreeMap::from([("jobs".to_string(), 5000)]);
    let err = connector(&big, &GoodfitOptions::default())
        .poll("jobs", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected { message } if message.contains("validation_error")),
        "{err:?}"
    );
    // A cursor the API never issued restarts the pass.
    let forged = Cursor(json!({"next": "not-a-cursor", "since": null, "newest": null}));
    let err = c.poll("jobs", Some(&forged)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::RestartPass { .. }), "{err:?}");
    // A window spent for longer than the client may wait comes back with the wait.
    sim.set_rate_limit(1, Duration::from_secs(60));
    let impatient = hirebridge_goodfit::GoodfitConnector::new(
        &settings(&server),
        &GoodfitOptions::default(),
        HttpConfig {
            max_rate_limit_wait: Duration::from_millis(200),
            rate_limit: None,
            ..HttpConfig::default()
        },
    )
    .unwrap();
    impatient.poll("jobs", None).await.unwrap();
    let err = impatient.poll("jobs", None).await.unwrap_err();
    match err.action() {
        Action::WaitThenRetry(wait) => assert!(wait > Duration::from_secs(1), "{wait:?}"),
        other => panic!("{other:?} for {err:?}"),
    }
}

#[tokio::test]
async fn a_refused_pipeline_degrades_stage_mapping_instead_of_failing() {
    let (sim, server) = start(sim_config(60, 15)).await;
    let c = no_retries(&server);
    sim.fail_next(403, "forbidden", 1);
    let page = c.poll("job_pipeline", None).await.unwrap();
    assert!(page.complete && page.records.is_empty());
    assert_eq!(c.degraded().len(), 1, "{:?}", c.degraded());
    // Applications still map, by the stage the application carries.
    let (pages, _) = pass(&c, "applications", None).await;
    assert_eq!(
        ids_of(&records(&pages), EntityKind::Application),
        sim.ids("applications")
    );
    // Read again later, the pipeline clears the note.
    c.poll("job_pipeline", None).await.unwrap();
    assert!(c.degraded().is_empty());
    // A bad key is not a degradation: it fails.
    sim.fail_next(401, "invalid_api_key", 1);
    assert_eq!(
        c.poll("job_pipeline", None).await.unwrap_err().kind(),
        "auth"
    );
}
