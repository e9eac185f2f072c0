//! ITManagerJobs in the running daemon, against its simulator (seed
//! `004_7d555ba706a0066d.txt`): a job added in the middle of a pass makes the
//! pass non-full so nothing is deleted; a key without `CvSearch` syncs jobs and
//! webhook applications and `status` says candidates stay unhydrated; an
//! expired job arrives as a job change; fifty concurrent deliveries are all
//! acknowledged well within the provider's ten seconds, so the subscription is
//! never auto-disabled.

mod support;

use hirebridge::engine::poller::{self, PassOptions, PassOutcome};
use hirebridge::engine::Engine;
use hirebridge_itmanagerjobs::connector::NO_CV_SEARCH;
use hirebridge_itmanagerjobs::sim::{ItManagerJobsSim, Scope, SimConfig, SimServer};
use serde_json::json;
use std::time::{Duration, Instant};
use support::daemon::{spawn_daemon, spawn_daemon_on, wait_until, DaemonConfig};

const KEY: &str = "pk_live_itm";
const SECRET: &str = "whsec_itm";

async fn sim(records: usize) -> (ItManagerJobsSim, SimServer) {
    let sim = ItManagerJobsSim::new(SimConfig {
        api_key: KEY.into(),
        seed: 21,
        records,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    (sim, server)
}

fn section(base_url: &str, key: &str) -> serde_json::Value {
    json!({
        "id": "itm", "provider": "itmanagerjobs", "base_url": base_url,
        "credentials": {"api_key": key}, "webhook_secrets": [SECRET],
        "schedule": "0 0 1 1 *",
        "streams": {"jobs": {"page_size": 10}},
    })
}

async fn jobs_pass(engine: &Engine) -> poller::PassReport {
    let handle = engine.connectors[0].clone();
    let stream = handle.enabled_streams()[0].clone();
    poller::run_pass(engine, &handle, &stream, &PassOptions::default()).await
}

#[tokio::test]
async fn a_job_added_mid_pass_deletes_nothing_and_the_next_pass_is_full() {
    let (sim, server) = sim(90).await;
    let db = support::TestDb::migrated().await;
    let config = DaemonConfig::default()
        .connector(section(&server.base_url(), KEY))
        .parse(&db.url);
    let engine = support::daemon::engine_for(&config, &db.pool).await;
    let live = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from hiring.jobs where connector_id = 'itm' and deleted_at is null",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
    };

    let first = jobs_pass(&engine).await;
    assert_eq!(first.outcome, PassOutcome::Completed, "{first:?}");
    assert!(first.full_pass);
    assert_eq!(live().await, sim.ids("jobs").len() as i64);

    sim.add_job_after_page(1);
    let moved = jobs_pass(&engine).await;
    assert_eq!(moved.outcome, PassOutcome::Completed, "{moved:?}");
    assert!(!moved.full_pass, "the list moved mid-pass: {moved:?}");
    assert_eq!(moved.deleted, 0);

    let next = jobs_pass(&engine).await;
    assert!(next.full_pass && next.deleted == 0, "{next:?}");
    assert_eq!(live().await, sim.ids("jobs").len() as i64);
}

#[tokio::test]
async fn a_key_without_cv_search_syncs_jobs_and_applications_and_status_says_why() {
    let (sim, server) = sim(60).await;
    sim.add_key("pk_live_jobs_only", &[Scope::JobPosting], true);
    let d = spawn_daemon(
        DaemonConfig::default().connector(section(&server.base_url(), "pk_live_jobs_only")),
    )
    .await;
    let (handles, _) = hirebridge::connectors::build_all(&d.config.connectors);
    let engine = Engine::new(d.pool.clone(), handles).await.unwrap();
    let report = jobs_pass(&engine).await;
    assert_eq!(report.outcome, PassOutcome::Completed, "{report:?}");
    assert!(report.created > 0);

    sim.send_webhooks_to(&d.url("itm"), SECRET);
    let job = sim
        .ids("jobs")
        .into_iter()
        .rev()
        .find(|id| sim.job(*id).unwrap()["status"] == "Active")
        .unwrap();
    let app = sim.submit_application(job).unwrap();
    sim.set_application_status(app["id"].as_u64().unwrap(), "Screened")
        .unwrap();
    assert!(sim.answered_webhooks(Duration::from_secs(10)).await);
    d.drained().await;
    let candidate = app["candidateId"].to_string();
    assert_eq!(
        d.count(&format!(
            "select count(*) from hiring.applications where connector_id = 'itm' and remote_id = '{}' and stage_category = 'screening'",
            app["id"]
        ))
        .await,
        1,
        "the application and its status change were written"
    );
    assert_eq!(
        d.count(&format!(
            "select count(*) from hiring.candidates where connector_id = 'itm' and remote_id = '{candidate}' and email is null"
        ))
        .await,
        1,
        "the candidate is kept by id, unhydrated"
    );
    let status = hirebridge::commands::status_report(&d.pool, &d.config)
        .await
        .unwrap();
    let notes = status["connectors"][0]["degraded"].to_string();
    assert!(notes.contains("CvSearch"), "{status}");
    assert!(NO_CV_SEARCH.contains("CvSearch"));
    d.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_deliveries_are_acknowledged_quickly_and_never_disable_us() {
    let (sim, server) = sim(30).await;
    // Acknowledgement does not wait for candidate hydration; the operator's rate
    // only lets the test's fifty hydrations finish sooner than 60 per minute.
    let mut s = section(&server.base_url(), KEY);
    s["rate_limit"] = json!({"requests": 600, "per": "1m", "burst": 50});
    let d = spawn_daemon(DaemonConfig::default().connector(s)).await;
    sim.send_webhooks_to(&d.url("itm"), SECRET);
    let sender = sim.webhooks().unwrap();
    let job = sim.ids("jobs")[0];
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..50u64 {
        let sender = sender.clone();
        sends.spawn(async move {
            let started = Instant::now();
            let status = sender
                .deliver_now(
                    "application.submitted",
                    json!({
                        "applicationId": 700_000 + n, "jobPostId": job, "jobTitle": "Cloud Architect",
                        "candidateId": 50_000 + (n % 10), "appliedAt": "2026-05-02T10:00:00Z",
                        "applicationType": "QuickApply",
                    }),
                )
                .await;
            (status, started.elapsed())
        });
    }
    let mut slowest = Duration::ZERO;
    while let Some(sent) = sends.join_next().await {
        let (status, took) = sent.unwrap();
        assert_eq!(status, Ok(200));
        assert!(
            took < Duration::from_secs(10),
            "acknowledged after {took:?}"
        );
        slowest = slowest.max(took);
    }
    eprintln!("50 concurrent deliveries acknowledged; slowest {slowest:?}");
    let counts = sender.counts();
    assert_eq!(counts.consecutive_failures, 0, "{counts:?}");
    assert!(!sender.is_disabled());
    wait_until(
        "every application is written",
        Duration::from_secs(60),
        || async {
            d.count("select count(*) from hiring.applications where connector_id = 'itm'")
                .await
                == 50
        },
    )
    .await;
    d.stop().await;
}

#[tokio::test]
async fn an_expired_job_arrives_as_a_job_change() {
    let (sim, server) = sim(30).await;
    let d = spawn_daemon(DaemonConfig::default().connector(section(&server.base_url(), KEY))).await;
    let (handles, _) = hirebridge::connectors::build_all(&d.config.connectors);
    let engine = Engine::new(d.pool.clone(), handles).await.unwrap();
    jobs_pass(&engine).await;
    let job = sim
        .ids("jobs")
        .into_iter()
        .find(|id| sim.job(*id).unwrap()["status"] == "Active")
        .unwrap();
    sim.send_webhooks_to(&d.url("itm"), SECRET);
    sim.expire_job(job).unwrap();
    assert!(sim.answered_webhooks(Duration::from_secs(10)).await);
    d.drained().await;
    assert_eq!(
        d.count(&format!(
            "select count(*) from hiring.jobs where connector_id = 'itm' and remote_id = '{job}' and status = 'closed'"
        ))
        .await,
        1
    );
    assert_eq!(
        d.count(&format!(
            "select count(*) from hiring.events where entity_type = 'job' and remote_id = '{job}' and type = 'job.closed'"
        ))
        .await,
        1,
        "one job.closed event"
    );
    // The next poll reads the same job: nothing new.
    let report = jobs_pass(&engine).await;
    assert_eq!(report.events, 0, "{report:?}");
    d.stop().await;
}

#[tokio::test]
async fn a_status_change_after_a_restart_keeps_the_applications_candidate_and_job() {
    let (sim, server) = sim(30).await;
    let config = DaemonConfig::default().connector(section(&server.base_url(), KEY));
    let d = spawn_daemon(config.clone()).await;
    sim.send_webhooks_to(&d.url("itm"), SECRET);
    let job = sim
        .ids("jobs")
        .into_iter()
        .find(|id| sim.job(*id).unwrap()["status"] == "Active")
        .unwrap();
    let app = sim.submit_application(job).unwrap();
    assert!(sim.answered_webhooks(Duration::from_secs(10)).await);
    d.drained().await;
    let db = d.stop().await;

    // A new process: it no longer remembers the submission.
    let d = spawn_daemon_on(config, db).await;
    sim.send_webhooks_to(&d.url("itm"), SECRET);
    sim.set_application_status(app["id"].as_u64().unwrap(), "Interviewed")
        .unwrap();
    assert!(sim.answered_webhooks(Duration::from_secs(10)).await);
    d.drained().await;
    let query = format!(
        "select count(*) from hiring.applications where connector_id = 'itm' and remote_id = '{}'
            and stage_category = 'interview' and candidate_remote_id = '{}' and job_remote_id = '{job}'
            and applied_at is not null",
        app["id"], app["candidateId"]
    );
    assert_eq!(
        d.count(&query).await,
        1,
        "the links survived the status change"
    );
    d.stop().await;
}
