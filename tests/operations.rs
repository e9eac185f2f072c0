//! What the provider contract decides in the running daemon: a refused key
//! pauses a connector until its config changes or an operator resumes it; a
//! payload that can never be normalised is dead-lettered at once; a field a
//! connector redacts never reaches any table.

mod support;

use hirebridge::connectors::{self, plugin};
use hirebridge::engine::poller::{self, PassOptions, PassOutcome};
use hirebridge::engine::Engine;
use hirebridge::store::connector_state;
use hirebridge_kit::sim::KitSender;
use hirebridge_sdk::simulate::SimSpec;
use serde_json::json;
use support::daemon::{spawn_daemon, DaemonConfig};

/// A Goodfit connector against `base_url` with `key`.
fn goodfit(base_url: &str, key: &str) -> serde_json::Value {
    json!({
        "id": "gf", "provider": "goodfit", "base_url": base_url,
        "credentials": {"api_key": key}, "schedule": "0 0 1 1 *",
    })
}

/// One pass of the connector's first stream.
async fn pass(engine: &Engine) -> poller::PassReport {
    let handle = engine.connectors[0].clone();
    let stream = handle.enabled_streams()[0].clone();
    poller::run_pass(engine, &handle, &stream, &PassOptions::default()).await
}

#[tokio::test]
async fn a_refused_key_pauses_the_connector_until_its_config_changes_or_it_is_resumed() {
    let sim = plugin("goodfit")
        .and_then(|p| p.simulator())
        .expect("goodfit has a simulator")
        .start(SimSpec {
            listen: ([127, 0, 0, 1], 0).into(),
            seed: 5,
            records: 40,
            api_key: "right-key".into(),
        })
        .await
        .unwrap();
    let base = sim.base_url().unwrap();
    let db = support::TestDb::migrated().await;
    let engine_for = |key: &str| {
        let config = DaemonConfig::default()
            .connector(goodfit(&base, key))
            .parse(&db.url);
        let (handles, errors) = connectors::build_all(&config.connectors);
        assert!(errors.is_empty(), "{errors:?}");
        (config, handles)
    };

    // A wrong key: the pass fails with an auth error and the connector pauses.
    let (config, handles) = engine_for("wrong-key");
    let engine = Engine::new(db.pool.clone(), handles).await.unwrap();
    let first = pass(&engine).await;
    assert_eq!(first.outcome, PassOutcome::Failed, "{first:?}");
    let pause = connector_state::pause_of(&db.pool, "gf").await.unwrap();
    let pause = pause.expect("paused after the provider refused the key");
    assert_eq!(pause.until, None, "until an operator acts");
    assert!(pause.reason.contains("authentication"), "{}", pause.reason);
    // No spinning: the next pass does not call the provider.
    let second = pass(&engine).await;
    assert_eq!(second.outcome, PassOutcome::Skipped, "{second:?}");
    assert!(second.error.unwrap_or_default().contains("paused"));
    // `status` says so.
    let status = hirebridge::commands::status_report(&db.pool, &config)
        .await
        .unwrap();
    assert_eq!(status["connectors"][0]["paused"], true, "{status}");

    // An operator resumes it (same config): it calls again, fails, pauses again.
    assert!(connector_state::resume(&db.pool, "gf").await.unwrap());
    assert_eq!(pass(&engine).await.outcome, PassOutcome::Failed);
    assert!(connector_state::pause_of(&db.pool, "gf")
        .await
        .unwrap()
        .is_some());

    // The config changes (the right key): the pause lifts by itself.
    let (_, handles) = engine_for("right-key");
    let fixed = Engine::new(db.pool.clone(), handles).await.unwrap();
    let third = pass(&fixed).await;
    assert_eq!(third.outcome, PassOutcome::Completed, "{third:?}");
    assert!(connector_state::pause_of(&db.pool, "gf")
        .await
        .unwrap()
        .is_none());
    sim.shutdown().await;
}

const PHONE: &str = "+1-555-0100-9876";

#[tokio::test]
async fn a_redacted_field_never_reaches_any_table_and_bad_payloads_die_at_once() {
    let d = spawn_daemon(DaemonConfig::default().connector(json!({
        "id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"],
        "redact": ["data.candidate.phone"],
    })))
    .await;
    let kit = KitSender::new(d.url("kit"), "kit-secret");
    let application = |id: Option<i64>| {
        let mut data = json!({
            "candidate": {"id": 77, "name": "Grace Hopper", "email": "grace@example.com", "phone": PHONE},
            "job_posting": {"id": 3, "title": "Engineer"}, "current_stage": "Applied",
            "rejected": false, "withdrawn": false, "offered": false,
        });
        if let Some(id) = id {
            data["id"] = json!(id);
        }
        data
    };
    kit.send("application.submitted", application(Some(1)))
        .await
        .unwrap();
    // Without an id it can never be normalised.
    kit.send("application.submitted", application(None))
        .await
        .unwrap();
    d.drained().await;

    assert_eq!(
        d.count("select count(*) from hiring.applications where connector_id = 'kit' and remote_data->'candidate'->>'email' = 'grace@example.com'")
            .await,
        1,
        "the rest of the delivery was processed"
    );
    let dead: (String, i32) =
        sqlx::query_as("select status, attempts from hiring.inbox where status <> 'done'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(
        dead,
        ("dead".to_string(), 1),
        "dead-lettered at the first attempt"
    );

    // Not in any row of any table, raw or normalised.
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables
          where table_schema = 'hiring' and table_type = 'BASE TABLE'",
    )
    .fetch_all(&d.pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let digits = PHONE.replace(['+', '-'], "");
    for table in tables {
        let hits = d
            .count(&format!(
                "select count(*) from hiring.{table} t
                  where t::text like '%{PHONE}%' or regexp_replace(t::text, '[^0-9]', '', 'g') like '%{digits}%'"
            ))
            .await;
        assert_eq!(hits, 0, "the redacted phone reached hiring.{table}");
    }
    d.stop().await;
}

#[tokio::test]
async fn status_lists_every_configured_connector_before_it_hears_anything() {
    let db = support::TestDb::migrated().await;
    let config = DaemonConfig::default()
        .connector(serde_json::json!({"id": "kit", "provider": "kit", "webhook_secrets": ["s"]}))
        .parse(&db.url);
    let status = hirebridge::commands::status_report(&db.pool, &config)
        .await
        .unwrap();
    let ingress = status["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 1, "{status}");
    assert_eq!(ingress[0]["connector"], "kit");
    assert_eq!(ingress[0]["last_heard_at"], serde_json::Value::Null);
    assert_eq!(status["spool"]["records"], 0, "{status}");
}

#[tokio::test]
async fn no_credits_pauses_polling_and_status_says_why() {
    use hirebridge_itmanagerjobs::sim::{ItManagerJobsSim, SimConfig};
    let sim = ItManagerJobsSim::new(SimConfig {
        api_key: "pk_live_ops".into(),
        records: 30,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let db = support::TestDb::migrated().await;
    let config = DaemonConfig::default()
        .connector(json!({
            "id": "itm", "provider": "itmanagerjobs", "base_url": server.base_url(),
            "credentials": {"api_key": "pk_live_ops"}, "schedule": "0 0 1 1 *",
        }))
        .parse(&db.url);
    let engine = support::daemon::engine_for(&config, &db.pool).await;

    // The account's contract or balance is exhausted: 402 no_credits
    // (seed 004_7d555ba706a0066d.txt, "Errors").
    sim.fail_next(402, "no_credits", 1);
    let first = pass(&engine).await;
    assert_eq!(first.outcome, PassOutcome::Failed, "{first:?}");
    let pause = connector_state::pause_of(&db.pool, "itm")
        .await
        .unwrap()
        .expect("paused after 402");
    assert_eq!(
        pause.until, None,
        "no documented wait: until an operator acts"
    );
    assert!(pause.reason.contains("no_credits"), "{}", pause.reason);
    let requests = sim.request_count();
    let second = pass(&engine).await;
    assert_eq!(second.outcome, PassOutcome::Skipped, "{second:?}");
    assert_eq!(sim.request_count(), requests, "no calls while paused");
    let status = hirebridge::commands::status_report(&db.pool, &config)
        .await
        .unwrap();
    let c = &status["connectors"][0];
    assert_eq!(c["paused"], true, "{status}");
    assert!(c.to_string().contains("no_credits"), "{status}");

    // Credits topped up, the operator resumes: polling goes on.
    assert!(connector_state::resume(&db.pool, "itm").await.unwrap());
    assert_eq!(pass(&engine).await.outcome, PassOutcome::Completed);
    server.shutdown().await;
}
