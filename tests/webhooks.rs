//! Webhook ingress end to end: the daemon's real listener, real PostgreSQL, and
//! deliveries signed exactly as Kit and Ashby sign them. Verification failures
//! store nothing and are counted; accepted deliveries are stored once and
//! processed once, through the same write path as polling.

mod support;

use support::daemon::{spawn_daemon, wait_until, DaemonConfig, TestDaemon};

use chrono::{Duration as ChronoDuration, Utc};
use hirebridge::app::App;
use hirebridge::config::Config;
use hirebridge_ashby::sim::{SimConfig, SimServer, Simulator};
use hirebridge_kit::sim::{KitSender, Sent};
use hirebridge_sdk::hex_lower;
use hirebridge_sdk::signature::hmac_sha256;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The test kit's daemon, with an Ashby simulator beside it.
struct Daemon {
    inner: TestDaemon,
    sim: Simulator,
    _sim_server: SimServer,
}

impl std::ops::Deref for Daemon {
    type Target = TestDaemon;
    fn deref(&self) -> &TestDaemon {
        &self.inner
    }
}

impl Daemon {
    async fn start() -> Daemon {
        let sim = Simulator::new(SimConfig {
            api_key: "test-key".into(),
            seed: 21,
            records: 200,
            ..SimConfig::default()
        });
        let sim_server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
        let config = DaemonConfig::default()
            .connector(
                json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-old", "kit-new"]}),
            )
            .connector(json!({
                "id": "ashby", "provider": "ashby", "base_url": sim_server.base_url(),
                "schedule": "0 0 0 1 1 *", "credentials": {"api_key": "test-key"},
                "webhook_secrets": ["ashby-secret"],
            }));
        Daemon {
            inner: spawn_daemon(config).await,
            sim,
            _sim_server: sim_server,
        }
    }

    async fn stop(self) {
        self.inner.stop().await;
    }

    async fn post(&self, connector: &str, headers: &[(&str, String)], body: Vec<u8>) -> u16 {
        let mut req = reqwest::Client::new().post(self.url(connector)).body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.send().await.unwrap().status().as_u16()
    }
}

fn application(id: i64, stage: &str) -> Value {
    json!({
        "id": id, "candidate": {"id": 900 + id, "name": "Lin Chen", "email": "lin@example.com"},
        "job_posting": {"id": 3, "title": "Backend Engineer"}, "current_stage": stage,
        "submitted_at": "2026-01-10T09:00:00Z", "rejected": false, "withdrawn": false, "offered": false
    })
}

/// Kit's headers for `body` at `ts`, computed here independently of the
/// connector's signature scheme (seed 002: hex HMAC-SHA256 of "<ts>.<body>").
fn kit_headers(event: &str, ts: &str, secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("x-webhook-event", event.to_string()),
        ("x-webhook-timestamp", ts.to_string()),
        (
            "x-webhook-signature",
            hex_lower(&hmac_sha256(
                secret.as_bytes(),
                &[ts.as_bytes(), b".", body],
            )),
        ),
    ]
}

fn ashby_headers(secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        (
            "ashby-signature",
            format!(
                "sha256={}",
                hex_lower(&hmac_sha256(secret.as_bytes(), &[body]))
            ),
        ),
    ]
}

#[tokio::test]
async fn kit_deliveries_are_verified_stored_once_and_processed() {
    let d = Daemon::start().await;
    let sender = KitSender::new(d.url("kit"), "kit-new");

    // Good signature: stored and processed into a canonical application.
    assert_eq!(
        sender
            .send("application.submitted", application(1, "Applied"))
            .await
            .unwrap(),
        Sent::Status(200)
    );
    d.drained().await;
    assert_eq!(
        d.count("select count(*) from hiring.applications where connector_id = 'kit'")
            .await,
        1
    );
    // A delivery (not only a ping) says when the provider was last heard from;
    // it is written after the delivery's commit, not in it.
    wait_until("kit's last_heard_at", std::time::Duration::from_secs(10), || async {
        d.count("select count(*) from hiring.connector_state where connector_id = 'kit' and last_heard_at is not null").await == 1
    })
    .await;
    assert_eq!(
        d.count("select count(*) from hiring.events where type = 'application.created'")
            .await,
        1
    );

    // Rotation: the old secret is still accepted during the rollover.
    let old = KitSender::new(d.url("kit"), "kit-old");
    assert_eq!(
        old.send("application.advanced", application(2, "Phone Screen"))
            .await
            .unwrap(),
        Sent::Status(200)
    );

    // Every kind of forgery or staleness is refused, stores nothing, and is counted.
    let inbox_before = d.count("select count(*) from hiring.inbox").await;
    let now = Utc::now();
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = KitSender::envelope("application.advanced", now, application(3, "Onsite"));
    let good = kit_headers("application.advanced", &ts, "kit-new", &body);
    let with = |name: &str, value: Option<String>| -> Vec<(&str, String)> {
        let mut h: Vec<(&str, String)> = good.iter().filter(|(k, _)| *k != name).cloned().collect();
        if let Some(v) = value {
            h.push((good.iter().find(|(k, _)| *k == name).unwrap().0, v));
        }
        h
    };
    let wrong_secret = kit_headers("application.advanced", &ts, "not-the-secret", &body);
    let stale_at = now - ChronoDuration::minutes(6);
    let stale_ts = stale_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let stale_body =
        KitSender::envelope("application.advanced", stale_at, application(3, "Onsite"));
    let future_at = now + ChronoDuration::minutes(6);
    let future_ts = future_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let future_body =
        KitSender::envelope("application.advanced", future_at, application(3, "Onsite"));
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<u8>);
    let cases: Vec<Case> = vec![
        ("bad_signature", wrong_secret, body.clone()),
        ("bad_signature", good.clone(), tampered),
        (
            "missing_signature",
            with("x-webhook-signature", None),
            body.clone(),
        ),
        (
            "malformed_signature",
            with("x-webhook-signature", Some("v1=nothex".into())),
            body.clone(),
        ),
        (
            "missing_timestamp",
            with("x-webhook-timestamp", None),
            body.clone(),
        ),
        (
            "stale_timestamp",
            kit_headers("application.advanced", &stale_ts, "kit-new", &stale_body),
            stale_body.clone(),
        ),
        (
            "future_timestamp",
            kit_headers("application.advanced", &future_ts, "kit-new", &future_body),
            future_body.clone(),
        ),
    ];
    for (reason, headers, body) in cases {
        assert_eq!(d.post("kit", &headers, body).await, 401, "{reason}");
        let counted = d
            .count(&format!("select coalesce(sum(count), 0)::bigint from hiring.webhook_rejections where connector_id = 'kit' and reason = '{reason}'"))
            .await;
        assert!(counted >= 1, "{reason} not counted");
    }
    assert_eq!(
        d.count("select count(*) from hiring.inbox").await,
        inbox_before,
        "nothing stored"
    );
    let metrics = d.metrics().await;
    assert!(
        metrics.contains("hirebridge_webhook_rejections_total"),
        "{metrics}"
    );
    assert!(metrics.contains("reason=\"stale_timestamp\""), "{metrics}");

    // Unknown connector and oversized bodies.
    assert_eq!(d.post("nope", &good, body.clone()).await, 404);
    assert_eq!(d.post("kit", &good, vec![b' '; 2 * 1024 * 1024]).await, 413);

    // A provider retry of the same delivery: stored and processed once.
    assert_eq!(d.post("kit", &good, body.clone()).await, 200);
    assert_eq!(d.post("kit", &good, body.clone()).await, 200);
    d.drained().await;
    assert_eq!(
        d.count("select count(*) from hiring.inbox where connector_id = 'kit' and status = 'done'")
            .await,
        3
    );
    assert_eq!(
        d.count(
            "select count(*) from hiring.events where remote_id = '3' and connector_id = 'kit'"
        )
        .await,
        1
    );

    // Pause drops events (Kit does not queue them); resume delivers again.
    sender.pause();
    assert_eq!(
        sender
            .send("application.advanced", application(4, "Onsite"))
            .await
            .unwrap(),
        Sent::Dropped
    );
    sender.resume();
    assert_eq!(
        sender.send("test.ping", json!({})).await.unwrap(),
        Sent::Status(200)
    );
    assert_eq!(
        d.count("select count(*) from hiring.connector_state where connector_id = 'kit' and last_heard_at is not null").await,
        1
    );
    d.stop().await;
}

#[tokio::test]
async fn an_older_update_after_a_newer_one_changes_nothing() {
    let d = Daemon::start().await;
    let sender = KitSender::new(d.url("kit"), "kit-new");
    let now = Utc::now();
    let newer = KitSender::envelope("application.advanced", now, application(7, "Onsite"));
    let older = KitSender::envelope(
        "application.advanced",
        now - ChronoDuration::seconds(60),
        application(7, "Phone Screen"),
    );
    assert_eq!(
        sender
            .send_raw("application.advanced", now, newer)
            .await
            .unwrap(),
        Sent::Status(200)
    );
    d.drained().await;
    assert_eq!(
        sender
            .send_raw("application.advanced", now, older)
            .await
            .unwrap(),
        Sent::Status(200)
    );
    d.drained().await;
    let stage: String =
        sqlx::query_scalar("select stage_name from hiring.applications where remote_id = '7'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(stage, "Onsite");
    assert_eq!(
        d.count("select count(*) from hiring.events where remote_id = '7'")
            .await,
        1
    );
    d.stop().await;
}

#[tokio::test]
async fn ashby_webhooks_verify_process_and_agree_with_polling() {
    let d = Daemon::start().await;
    // A stage change at Ashby, delivered by webhook with the full application.
    let application_id = d.sim.ids("application")[0].clone();
    let current = d.sim.get("application", &application_id).unwrap()["currentInterviewStage"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stage = d
        .sim
        .ids("interviewStage")
        .into_iter()
        .find(|s| *s != current)
        .unwrap();
    d.sim.move_application_stage(&application_id, &stage);
    let app = d.sim.get("application", &application_id).unwrap();
    let body = serde_json::to_vec(
        &json!({"action": "candidateStageChange", "data": {"application": app}}),
    )
    .unwrap();

    let inbox_before = d.count("select count(*) from hiring.inbox").await;
    let mut tampered = body.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    let malformed = vec![("ashby-signature", "sha1=deadbeef".to_string())];
    for (reason, headers, payload) in [
        ("bad_signature", ashby_headers("wrong", &body), body.clone()),
        (
            "bad_signature",
            ashby_headers("ashby-secret", &body),
            tampered,
        ),
        ("missing_signature", vec![], body.clone()),
        ("malformed_signature", malformed, body.clone()),
    ] {
        assert_eq!(d.post("ashby", &headers, payload).await, 401, "{reason}");
        let counted = d
            .count(&format!(
                "select coalesce(sum(count), 0)::bigint from hiring.webhook_rejections where connector_id = 'ashby' and reason = '{reason}'"
            ))
            .await;
        assert!(counted >= 1, "{reason} not counted");
    }
    assert_eq!(
        d.count("select count(*) from hiring.inbox").await,
        inbox_before,
        "nothing stored"
    );
    assert_eq!(
        d.post("ashby", &ashby_headers("ashby-secret", &body), body.clone())
            .await,
        200
    );
    let ping =
        serde_json::to_vec(&json!({"action": "ping", "data": {"webhookActionType": "ping"}}))
            .unwrap();
    assert_eq!(
        d.post("ashby", &ashby_headers("ashby-secret", &ping), ping)
            .await,
        200
    );
    d.drained().await;
    let events_after_webhook = d
        .count(&format!(
            "select count(*) from hiring.events where remote_id = '{application_id}'"
        ))
        .await;
    assert_eq!(events_after_webhook, 1);

    // The poll that later sees the same change emits nothing new for it.
    let engine = hirebridge::engine::Engine::new(
        d.pool.clone(),
        vec![hirebridge::connectors::build(
            &Config::from_str_with_env(
                &format!(
                    "[[connectors]]\nid = \"ashby\"\nprovider = \"ashby\"\nbase_url = \"{}\"\ncredentials = {{ api_key = \"test-key\" }}\n",
                    d._sim_server.base_url()
                ),
                Path::new("t.toml"),
                &|_| None,
            )
            .unwrap()
            .connectors[0],
        )
        .unwrap()],
    )
    .await
    .unwrap();
    let handle = engine.connectors[0].clone();
    let spec = handle
        .enabled_streams()
        .into_iter()
        .find(|s| s.name == "applications")
        .unwrap();
    let report =
        hirebridge::engine::poller::run_pass(&engine, &handle, &spec, &Default::default()).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(
        d.count(&format!(
            "select count(*) from hiring.events where remote_id = '{application_id}'"
        ))
        .await,
        events_after_webhook,
        "webhook then poll of the same change: one event"
    );

    // Malformed JSON with a valid signature is kept, retried and dead-lettered with its reason.
    let garbage = b"{not json".to_vec();
    assert_eq!(
        d.post("ashby", &ashby_headers("ashby-secret", &garbage), garbage)
            .await,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let failing = d
            .count("select count(*) from hiring.inbox where status in ('failed', 'dead') and last_error like '%not JSON%'")
            .await;
        if failing == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the malformed delivery was not kept with its reason"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.stop().await;
}

#[tokio::test]
async fn a_crashed_workers_delivery_is_finished_by_another_after_its_lease() {
    let d = Daemon::start().await;
    // Store a delivery and claim it as a worker that then dies (never finishes).
    let now = Utc::now();
    let body = KitSender::envelope("application.submitted", now, application(11, "Applied"));
    sqlx::query(
        "insert into hiring.inbox (connector_id, dedup_key, event_type, body, status, lease_owner, lease_expires_at, attempts)
         values ('kit', 'crash-1', 'application.submitted', $1, 'processing', 'dead-worker', now() + interval '1 second', 1)",
    )
    .bind(&body)
    .execute(&d.pool)
    .await
    .unwrap();
    d.drained().await;
    assert_eq!(
        d.count(
            "select count(*) from hiring.inbox where dedup_key = 'crash-1' and status = 'done'"
        )
        .await,
        1
    );
    assert_eq!(
        d.count("select count(*) from hiring.applications where remote_id = '11'")
            .await,
        1
    );
    d.stop().await;
}

/// A Goodfit simulator and an engine (no daemon) whose connector `gf`
/// fetches the objects of thin webhooks from it, with a batch lease of `lease`.
struct GoodfitRig {
    sim: hirebridge_goodfit::sim::GoodfitSim,
    _server: hirebridge_goodfit::sim::SimServer,
    db: support::TestDb,
    engine: std::sync::Arc<hirebridge::engine::Engine>,
}

impl GoodfitRig {
    async fn start(lease: Duration) -> GoodfitRig {
        use hirebridge_goodfit::sim::{GoodfitSim, SimConfig as GoodfitConfig};
        let sim = GoodfitSim::new(GoodfitConfig {
            api_key: "gf-key".into(),
            records: 300,
            ..GoodfitConfig::default()
        });
        let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
        let db = support::TestDb::migrated().await;
        let config = DaemonConfig::default()
            .connector(json!({
                "id": "gf", "provider": "goodfit", "base_url": server.base_url(),
                "credentials": {"api_key": "gf-key"}, "webhook_secrets": ["gf-secret"],
                "rate_limit": {"requests": 1000, "per": "1s", "burst": 1000},
            }))
            .parse(&db.url);
        let mut engine = support::daemon::engine_for(&config, &db.pool).await;
        engine.batch_lease = lease;
        GoodfitRig {
            sim,
            _server: server,
            db,
            engine: std::sync::Arc::new(engine),
        }
    }

    /// Stores a thin `candidate.updated` webhook for each of the simulator's
    /// first `n` candidates, in that order.
    async fn store_thin(&self, n: usize) {
        use hirebridge::store::inbox::{self, OwnedDelivery};
        let deliveries: Vec<OwnedDelivery> = self.sim.ids("candidates")[..n]
            .iter()
            .map(|candidate| OwnedDelivery {
                connector_id: "gf".into(),
                dedup_key: format!("evt_{candidate}"),
                event_type: Some("candidate.updated".into()),
                headers: json!({}),
                body: serde_json::to_vec(&json!({
                    "id": format!("evt_{candidate}"), "type": "candidate.updated",
                    "created_at": Utc::now().to_rfc3339(), "data": {"id": candidate},
                }))
                .unwrap(),
                entity_key: Some(candidate.clone()),
            })
            .collect();
        // One at a time, so that ids follow the order given.
        for one in deliveries.chunks(1) {
            inbox::store_batch(&self.db.pool, one).await.unwrap();
        }
    }

    /// One claim and its batch, as a worker over every partition does it.
    async fn drain_once(&self) -> usize {
        let claims = tokio::sync::Mutex::new(());
        let parts: Vec<i16> = (0..8).collect();
        hirebridge::engine::normalizer::drain_once(
            &self.engine,
            &self.engine.owner,
            &parts,
            &claims,
            hirebridge::engine::normalizer::BATCH,
        )
        .await
        .unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }
}

/// A batch that takes longer than its lease (here one thin Goodfit webhook
/// whose candidate takes seconds to fetch) keeps its slot: the normaliser
/// renews the lease while it works, so nobody takes the batch over, does it
/// again and counts the attempt as one that died. Before, a backlog of thin
/// webhooks behind a rate-limited API (Goodfit: ten requests a second, so a
/// batch of 256 takes 26 s against a 20 s lease) could be taken over again and
/// again until its deliveries were dead-lettered.
#[tokio::test]
async fn a_batch_that_outlasts_its_lease_is_renewed_and_not_taken_over() {
    use hirebridge::store::inbox;
    let lease = Duration::from_secs(1);
    let rig = std::sync::Arc::new(GoodfitRig::start(lease).await);
    rig.store_thin(1).await;
    // Fetching the candidate takes four leases.
    rig.sim.faults().set_latency(lease * 4);
    let working = tokio::spawn({
        let rig = rig.clone();
        async move { rig.drain_once().await }
    });

    let expiry = || async {
        sqlx::query_scalar::<_, chrono::DateTime<Utc>>(
            "select lease_expires_at from hiring.inbox_batches where batch is not null",
        )
        .fetch_optional(&rig.db.pool)
        .await
        .unwrap()
    };
    wait_until("the batch is claimed", Duration::from_secs(10), || async {
        expiry().await.is_some()
    })
    .await;
    let first = expiry().await.unwrap();
    wait_until("its lease is renewed", Duration::from_secs(10), || async {
        expiry().await.is_some_and(|e| e > first)
    })
    .await;
    wait_until(
        "the first lease would have lapsed",
        Duration::from_secs(10),
        || async {
            sqlx::query_scalar::<_, bool>("select now() > $1")
                .bind(first)
                .fetch_one(&rig.db.pool)
                .await
                .unwrap()
        },
    )
    .await;
    let parts: Vec<i16> = (0..8).collect();
    let again = inbox::claim(&rig.db.pool, &rig.engine.owner, lease, 100, &parts)
        .await
        .unwrap();
    assert!(!working.is_finished(), "the batch is still being worked on");
    assert!(
        again.is_empty(),
        "the batch was taken over while it was worked on"
    );

    assert_eq!(working.await.unwrap(), 1);
    let (status, attempts): (String, i32) =
        sqlx::query_as("select status, attempts from hiring.inbox")
            .fetch_one(&rig.db.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("done", 1));
    assert_eq!(
        rig.count("select count(*) from hiring.inbox_batches where batch is not null")
            .await,
        0,
        "the finished batch gave its slot back"
    );
}

/// A batch stops fetching after [`normalizer::FETCHES_PER_BATCH`] thin
/// webhooks: it writes what it fetched, and the rest stay pending, not
/// counted as attempted, first in line for the next claim.
#[tokio::test]
async fn a_batch_of_thin_webhooks_writes_after_its_fetch_budget_and_leaves_the_rest_pending() {
    use hirebridge::engine::normalizer::FETCHES_PER_BATCH;
    let rig = GoodfitRig::start(Duration::from_secs(20)).await;
    rig.store_thin(FETCHES_PER_BATCH + 6).await;
    let requests = rig.sim.request_count();

    assert_eq!(rig.drain_once().await, FETCHES_PER_BATCH + 6, "claimed");
    assert_eq!(rig.sim.request_count() - requests, FETCHES_PER_BATCH as u64);
    let by_status = |status: &'static str| {
        let rig = &rig;
        async move {
            rig.count(&format!(
                "select count(*) from hiring.inbox where status = '{status}'"
            ))
            .await
        }
    };
    assert_eq!(by_status("done").await, FETCHES_PER_BATCH as i64);
    assert_eq!(
        rig.count("select count(*) from hiring.inbox where status = 'pending' and attempts = 0")
            .await,
        6
    );
    // The first fetched are the first written.
    assert_eq!(
        rig.count(
            "select count(*) from hiring.inbox d join hiring.inbox p
                on d.status = 'done' and p.status = 'pending' and d.id > p.id"
        )
        .await,
        0
    );
    assert_eq!(
        rig.count("select count(*) from hiring.inbox_batches where batch is not null")
            .await,
        0
    );

    rig.drain_once().await;
    assert_eq!(by_status("done").await, FETCHES_PER_BATCH as i64 + 6);
    assert_eq!(
        rig.count("select count(*) from hiring.candidates where connector_id = 'gf'")
            .await,
        FETCHES_PER_BATCH as i64 + 6
    );
}

/// One poll pass of `stream` against the daemon's simulator, through the engine.
async fn poll(d: &Daemon, stream: &str) -> hirebridge::engine::poller::PassReport {
    let text = format!(
        "[[connectors]]\nid = \"ashby\"\nprovider = \"ashby\"\nbase_url = \"{}\"\ncredentials = {{ api_key = \"test-key\" }}\n",
        d._sim_server.base_url()
    );
    let config = Config::from_str_with_env(&text, Path::new("t.toml"), &|_| None).unwrap();
    let handle = hirebridge::connectors::build(&config.connectors[0]).unwrap();
    let engine = hirebridge::engine::Engine::new(d.pool.clone(), vec![handle.clone()])
        .await
        .unwrap();
    let spec = handle
        .enabled_streams()
        .into_iter()
        .find(|s| s.name == stream)
        .unwrap();
    let report =
        hirebridge::engine::poller::run_pass(&engine, &handle, &spec, &Default::default()).await;
    assert!(report.error.is_none(), "{report:?}");
    report
}

#[tokio::test]
async fn every_simulated_ashby_change_arrives_as_a_signed_webhook_and_becomes_the_right_event() {
    let d = Daemon::start().await;
    for stream in ["jobs", "candidates", "applications"] {
        poll(&d, stream).await;
    }
    let before: i64 = d
        .count("select coalesce(max(seq), 0) from hiring.events")
        .await;
    d.sim.send_webhooks_to(&d.url("ashby"), "ashby-secret");

    let candidates = d.sim.ids("candidate");
    let job = d.sim.ids("job")[0].clone();
    let app = d.sim.create_application(&candidates[0], &job);
    let current = d.sim.get("application", &app).unwrap()["currentInterviewStage"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stages = d.sim.ids("interviewStage");
    let next = stages.iter().find(|s| **s != current).unwrap().clone();
    d.sim.move_application_stage(&app, &next);
    d.sim.hire_application(&app);
    d.sim.merge_candidates(&candidates[1], &candidates[2]);
    d.sim.delete("candidate", &candidates[3]);
    assert!(d.sim.flush_webhooks(Duration::from_secs(10)).await);
    let (fired, delivered, failed) = d.sim.webhook_counts();
    assert_eq!((delivered, failed), (fired, 0));
    d.drained().await;
    assert_eq!(
        d.count("select count(*) from hiring.inbox where status = 'dead'")
            .await,
        0
    );

    let events: Vec<(String, Option<String>)> =
        sqlx::query_as("select type, remote_id from hiring.events where seq > $1 order by seq")
            .bind(before)
            .fetch_all(&d.pool)
            .await
            .unwrap();
    let has = |t: &str, id: &str| {
        events
            .iter()
            .any(|(ty, r)| ty == t && r.as_deref() == Some(id))
    };
    assert!(has("application.created", &app), "{events:?}");
    assert!(has("application.stage_changed", &app), "{events:?}");
    assert!(has("application.hired", &app), "{events:?}");
    assert!(has("candidate.merged", &candidates[2]), "{events:?}");
    assert!(has("candidate.deleted", &candidates[3]), "{events:?}");
    // The duplicate actions Ashby fires alongside (applicationUpdate with the same
    // content) add no events.
    let for_app = events
        .iter()
        .filter(|(_, r)| r.as_deref() == Some(app.as_str()))
        .count();
    assert_eq!(for_app, 3, "{events:?}");
    // The merged candidate's applications now point at the survivor.
    let moved = d
        .count(&format!(
            "select count(*) from hiring.applications where candidate_remote_id = '{}'",
            candidates[1]
        ))
        .await;
    assert_eq!(moved, 0);

    // Polling the same changes afterwards adds nothing for the application.
    poll(&d, "applications").await;
    let after_poll = d
        .count(&format!(
            "select count(*) from hiring.events where remote_id = '{app}'"
        ))
        .await;
    assert_eq!(after_poll, 3);
    d.stop().await;
}

#[tokio::test]
async fn while_the_database_is_down_deliveries_are_spooled_acknowledged_and_land_once() {
    use hirebridge::store::cluster::ManagedCluster;
    use secrecy::ExposeSecret;

    let dir = support::server_reachable_tempdir("hb-dbdown-");
    let options = support::own_cluster_options(dir.path());
    let cluster = ManagedCluster::start(&options).await.unwrap();
    let url = cluster.url().expose_secret().to_string();
    let data_dir = dir.path().join("daemon");
    let text = format!(
        r#"
data_dir = "{data_dir}"
[database]
url = "{url}"
acquire_timeout = "1s"
connect_timeout = "5s"
[server]
admin_listen = "127.0.0.1:0"
webhook_listen = "127.0.0.1:0"
shutdown_grace = "5s"
[[connectors]]
id = "kit"
provider = "kit"
webhook_secrets = ["kit-new"]
"#,
        data_dir = data_dir.display()
    );
    let config = Config::from_str_with_env(&text, Path::new("test.toml"), &|_| None).unwrap();
    let app = App::bind(config).await.unwrap();
    let hook = format!("http://{}/webhooks/kit", app.webhook_addr());
    let readyz = format!("http://{}/readyz", app.admin_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let sender = KitSender::new(hook, "kit-new");
    let ready = |want: u16| {
        let readyz = readyz.clone();
        async move {
            reqwest::get(&readyz)
                .await
                .is_ok_and(|r| r.status().as_u16() == want)
        }
    };
    wait_until("the daemon is ready", Duration::from_secs(30), || {
        ready(200)
    })
    .await;
    assert_eq!(
        sender
            .send("application.submitted", application(21, "Applied"))
            .await
            .unwrap(),
        Sent::Status(200)
    );

    // PostgreSQL crashes. Readiness says so within about a second.
    cluster.crash().await.unwrap();
    let crashed = Instant::now();
    wait_until("readyz turns 503", Duration::from_secs(5), || ready(503)).await;
    eprintln!("readyz turned 503 {:?} after the crash", crashed.elapsed());

    // Every verified delivery is still acknowledged, from the spool, at once.
    let mut slowest = Duration::ZERO;
    let ids: Vec<i64> = (22..=61).collect();
    let mut sends = tokio::task::JoinSet::new();
    for id in ids {
        let sender = sender.clone();
        sends.spawn(async move {
            let started = Instant::now();
            let status = sender
                .send("application.submitted", application(id, "Applied"))
                .await
                .unwrap();
            (status, started.elapsed())
        });
    }
    while let Some(sent) = sends.join_next().await {
        let (status, took) = sent.unwrap();
        assert_eq!(
            status,
            Sent::Status(200),
            "spooled deliveries are acknowledged"
        );
        slowest = slowest.max(took);
    }
    eprintln!("40 deliveries acknowledged during the outage; slowest {slowest:?}");
    let spooled = hirebridge::ingress::spool::stats_on_disk(&data_dir);
    assert_eq!(spooled.records, 40, "{spooled:?}");

    // The database comes back: the drainer moves the spool into the inbox,
    // every delivery exactly once, and the normaliser does the rest.
    let cluster = ManagedCluster::start(&options).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    wait_until(
        "every delivery is normalised",
        Duration::from_secs(60),
        || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "select count(*) from hiring.applications where connector_id = 'kit'",
                )
                .fetch_one(&pool)
                .await
                .is_ok_and(|n| n == 41)
            }
        },
    )
    .await;
    let inbox: i64 =
        sqlx::query_scalar("select count(*) from hiring.inbox where connector_id = 'kit'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(inbox, 41, "each delivery in the inbox exactly once");
    let events: i64 = sqlx::query_scalar(
        "select count(*) from hiring.events where connector_id = 'kit' and type = 'application.created'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(events, 41, "each delivery processed once");
    wait_until("the spool is empty", Duration::from_secs(10), || async {
        hirebridge::ingress::spool::stats_on_disk(&data_dir).records == 0
    })
    .await;
    pool.close().await;
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn a_full_spool_answers_503_at_once() {
    // A database that never answers, and a spool too small for one delivery.
    let port = hirebridge::store::cluster::free_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
data_dir = "{data_dir}"
[database]
url = "postgres://hb:pw@127.0.0.1:{port}/hb"
connect_timeout = "60s"
[server]
admin_listen = "127.0.0.1:0"
webhook_listen = "127.0.0.1:0"
spool_max_bytes = 10
[[connectors]]
id = "kit"
provider = "kit"
webhook_secrets = ["kit-new"]
"#,
        data_dir = dir.path().display()
    );
    let config = Config::from_str_with_env(&text, Path::new("test.toml"), &|_| None).unwrap();
    let app = App::bind(config).await.unwrap();
    let sender = KitSender::new(
        format!("http://{}/webhooks/kit", app.webhook_addr()),
        "kit-new",
    );
    let task = tokio::spawn(app.run(std::future::pending()));
    let started = Instant::now();
    let status = sender
        .send("application.submitted", application(1, "Applied"))
        .await
        .unwrap();
    assert_eq!(status, Sent::Status(503));
    eprintln!("refused in {:?}", started.elapsed());
    task.abort();
}

#[tokio::test]
async fn a_kit_applicant_with_an_ashby_candidates_email_is_one_person() {
    let d = Daemon::start().await;
    // Ashby holds a candidate; a poll of its candidates stores it.
    d.sim
        .create_candidate("Grace Hopper", "Grace.Hopper@Navy.example");
    let (handles, errors) = hirebridge::connectors::build_all(&d.config.connectors);
    assert!(errors.is_empty(), "{errors:?}");
    let ashby = handles.iter().find(|h| h.id == "ashby").unwrap().clone();
    let engine = hirebridge::engine::Engine::new(d.pool.clone(), vec![ashby.clone()])
        .await
        .unwrap();
    let spec = ashby
        .enabled_streams()
        .into_iter()
        .find(|s| s.name == "candidates")
        .unwrap();
    let pass = hirebridge::engine::poller::run_pass(
        &engine,
        &ashby,
        &spec,
        &hirebridge::engine::poller::PassOptions::default(),
    )
    .await;
    assert!(pass.error.is_none(), "{pass:?}");
    assert_eq!(
        d.count(
            "select count(*) from hiring.candidates
              where connector_id = 'ashby' and email_normalized = 'grace.hopper@navy.example'"
        )
        .await,
        1
    );

    // Kit sends an application whose candidate has the same email.
    let kit = KitSender::new(d.url("kit"), "kit-new");
    let mut app = application(77, "Applied");
    app["candidate"] =
        json!({"id": 4242, "name": "Grace Hopper", "email": " grace.hopper@navy.example"});
    assert_eq!(
        kit.send("application.submitted", app).await.unwrap(),
        Sent::Status(200)
    );
    d.drained().await;
    assert_eq!(
        d.count(
            "select count(*) from hiring.candidates where connector_id = 'kit' and remote_id = '4242'"
        )
        .await,
        1,
        "Kit's applicant is a candidate"
    );
    assert_eq!(
        d.count(
            "select count(distinct person_id) from hiring.candidates
              where email_normalized = 'grace.hopper@navy.example'"
        )
        .await,
        1,
        "one person across Ashby and Kit"
    );
    assert_eq!(
        d.count(
            "select count(*) from hiring.events where type = 'person.linked' and connector_id = 'kit'
                and payload->'data'->>'email' = 'grace.hopper@navy.example'"
        )
        .await,
        1
    );
    // The application points at that candidate.
    assert_eq!(
        d.count(
            "select count(*) from hiring.applications a join hiring.candidates c on c.id = a.candidate_id
              where a.connector_id = 'kit' and a.remote_id = '77' and c.remote_id = '4242'"
        )
        .await,
        1
    );
    d.stop().await;
}

/// The stages every application of the ordering tests moves through, in order.
const STAGES: [&str; 5] = ["Applied", "Screen", "Onsite", "Offer", "Hired"];

/// Each of `applications` applications has every move of [`STAGES`], in order,
/// in its stage history and in its events: a move applied after a later one
/// would be dropped as stale, leaving a gap both checks see.
async fn assert_every_application_moved_in_order(pool: &sqlx::PgPool, applications: i64) {
    let histories: Vec<(String, Vec<String>)> = sqlx::query_as(
        "select application_remote_id, array_agg(to_stage order by id)
           from hiring.application_stage_changes group by 1 order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(histories.len(), applications as usize);
    for (app, stages) in &histories {
        assert_eq!(
            stages,
            &STAGES.to_vec(),
            "stage history of application {app}"
        );
    }
    let events: Vec<(String, Vec<String>)> = sqlx::query_as(
        "select remote_id, array_agg(payload->'data'->>'stage_name' order by seq)
           from hiring.events where entity_type = 'application' group by 1 order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(events.len(), applications as usize);
    for (app, stages) in &events {
        assert_eq!(stages, &STAGES.to_vec(), "events of application {app}");
    }
}

/// A backlog a daemon finds when it starts is drained by every worker it runs
/// behind a backlog (two per core: a claim of 256 comes back full), while every
/// entity's changes still apply in arrival order. The moves are stored as the
/// door stores acknowledged deliveries, one round a commit, before the daemon
/// starts; each application's stage history and events must come out in
/// exactly the order stored.
#[tokio::test]
async fn a_backlog_drained_by_every_worker_keeps_each_entitys_order() {
    use hirebridge::store::inbox::{store_batch, OwnedDelivery};
    const APPLICATIONS: i64 = 150;
    let db = support::TestDb::migrated().await;
    let start = Utc::now() - ChronoDuration::seconds(30);
    for (round, stage) in STAGES.iter().enumerate() {
        let at = start + ChronoDuration::seconds(round as i64);
        let deliveries: Vec<OwnedDelivery> = (1..=APPLICATIONS)
            .map(|app| {
                let body = KitSender::envelope("application.advanced", at, application(app, stage));
                OwnedDelivery {
                    connector_id: "kit".into(),
                    dedup_key: format!("{app}-{round}"),
                    event_type: Some("application.advanced".into()),
                    headers: json!({}),
                    entity_key: hirebridge_sdk::entity_key_at(
                        &body,
                        &["/data/candidate/id", "/data/id"],
                    ),
                    body,
                }
            })
            .collect();
        let fresh = store_batch(&db.pool, &deliveries).await.expect("stored");
        assert!(fresh.iter().all(|new| *new));
    }
    let config = DaemonConfig::default()
        .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-new"]}));
    let d = support::daemon::spawn_daemon_on(config, db.clone()).await;
    d.drained().await;

    assert_every_application_moved_in_order(&db.pool, APPLICATIONS).await;
    d.stop().await;
}

/// Two daemons share one connector's deliveries (each leases part of the inbox
/// partitions, and runs a worker per core) while every entity's changes apply
/// in arrival order: the moves of each application are posted alternately to
/// the two daemons, and each application's stage history and events must come
/// out in exactly the order sent. A move applied after a later one would be
/// dropped as stale (the writer keeps the newer), leaving a gap both checks see.
#[tokio::test]
async fn two_daemons_share_a_connectors_deliveries_and_keep_each_entitys_order() {
    let db = support::TestDb::migrated().await;
    let config = DaemonConfig::default()
        .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-new"]}));
    let a = support::daemon::spawn_daemon_on(config.clone(), db.clone()).await;
    let b = support::daemon::spawn_daemon_on(config, db.clone()).await;
    let pool = db.pool.clone();
    wait_until(
        "the two daemons share the inbox partitions",
        Duration::from_secs(20),
        || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "select count(distinct lease_owner) from hiring.inbox_partitions
                      where lease_owner is not null",
                )
                .fetch_one(&pool)
                .await
                .is_ok_and(|n| n == 2)
            }
        },
    )
    .await;

    const APPLICATIONS: i64 = 40;
    let senders = [
        KitSender::new(a.url("kit"), "kit-new"),
        KitSender::new(b.url("kit"), "kit-new"),
    ];
    let start = Utc::now() - ChronoDuration::seconds(30);
    for (round, stage) in STAGES.iter().enumerate() {
        let at = start + ChronoDuration::seconds(round as i64);
        let mut sends = Vec::new();
        for app in 1..=APPLICATIONS {
            let sender = &senders[(app as usize + round) % 2];
            let body = KitSender::envelope("application.advanced", at, application(app, stage));
            sends.push(sender.send_raw("application.advanced", at, body));
        }
        // One round at a time: every move of a round is in the inbox before the next.
        for sent in futures_util::future::join_all(sends).await {
            assert_eq!(sent.expect("delivered"), Sent::Status(200));
        }
    }
    a.drained().await;

    let parts: i64 = a
        .count("select count(distinct part) from hiring.inbox")
        .await;
    assert!(parts > 1, "the deliveries fall in several partitions");
    assert_every_application_moved_in_order(&db.pool, APPLICATIONS).await;
    a.stop().await;
    b.stop().await;
}
