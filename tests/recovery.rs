//! Recovery after a crash: a daemon killed with -9 in the middle of a poll
//! pass loses its leases within seconds (it stops heartbeating), and the next
//! daemon resumes the unfinished pass at once, from its last committed page,
//! with nothing lost and nothing written twice.

mod support;

use hirebridge::connectors::plugin;
use hirebridge_sdk::simulate::SimSpec;
use serde_json::json;
use std::time::{Duration, Instant};
use support::daemon::{wait_until, DaemonConfig};
use support::process::ProcessConfig;

/// The stream's saved progress: (lease owner, pages committed in the pass in
/// progress, whether a pass is unfinished, whether a pass ever completed).
async fn progress(pool: &sqlx::PgPool) -> (Option<String>, i32, bool, bool) {
    sqlx::query_as(
        "select lease_owner, pages_in_pass, pass_id is not null, last_success_at is not null
           from hiring.sync_state where connector_id = 'gf' and stream = 'candidates'",
    )
    .fetch_optional(pool)
    .await
    .expect("sync_state reads")
    .unwrap_or((None, 0, false, false))
}

#[tokio::test]
async fn a_daemon_killed_mid_pass_is_taken_over_within_seconds() {
    let sim = plugin("goodfit")
        .and_then(|p| p.simulator())
        .expect("goodfit has a simulator")
        .start(SimSpec {
            listen: ([127, 0, 0, 1], 0).into(),
            seed: 11,
            records: 5000,
            api_key: "sim-key".into(),
        })
        .await
        .expect("the simulator starts");
    // Slow pages, so the pass is still running when the daemon is killed.
    sim.set_latency(Duration::from_millis(40));
    let base = sim.base_url().expect("goodfit has an API");
    let db = support::TestDb::migrated().await;
    let connector = |schedule: &str| {
        json!({
            "id": "gf", "provider": "goodfit", "base_url": base,
            "credentials": {"api_key": "sim-key"}, "schedule": schedule,
            "streams": {"candidates": {"page_size": 10}},
        })
    };
    // The first daemon polls at once (every second); the second never polls on
    // schedule (once a year), so only the resume of the unfinished pass can
    // move the stream.
    let first = ProcessConfig::write(
        DaemonConfig::default().connector(connector("* * * * * *")),
        &db.url,
    );
    let second = ProcessConfig::write(
        DaemonConfig::default().connector(connector("0 0 1 1 *")),
        &db.url,
    );

    let daemon = first.spawn().await;
    let pool = db.pool.clone();
    wait_until(
        "the first daemon is mid-pass on candidates",
        Duration::from_secs(60),
        || {
            let pool = pool.clone();
            async move {
                let (owner, pages, unfinished, _) = progress(&pool).await;
                owner.is_some() && unfinished && pages >= 2
            }
        },
    )
    .await;
    daemon.kill9();
    let killed_at = Instant::now();
    let (dead_owner, pages_at_kill, _, _) = progress(&db.pool).await;
    let dead_owner = dead_owner.expect("the killed daemon held the lease");

    let restarted = second.spawn().await;
    let restarted_at = Instant::now();
    wait_until(
        "another daemon moves the stream again",
        Duration::from_secs(30),
        || {
            let pool = db.pool.clone();
            let dead_owner = dead_owner.clone();
            async move {
                let (owner, pages, unfinished, _) = progress(&pool).await;
                let taken = owner.is_some_and(|o| o != dead_owner);
                (taken && pages > pages_at_kill) || !unfinished
            }
        },
    )
    .await;
    eprintln!(
        "stream moved again {:.1} s after the kill, {:.1} s after the new daemon was ready",
        killed_at.elapsed().as_secs_f64(),
        restarted_at.elapsed().as_secs_f64()
    );
    // Far below the two minutes a lease used to outlive its dead holder.
    assert!(killed_at.elapsed() < Duration::from_secs(30));

    // The resumed pass finishes: every candidate once, one creation event each.
    wait_until(
        "the resumed pass completes",
        Duration::from_secs(120),
        || {
            let pool = db.pool.clone();
            async move {
                let (_, _, unfinished, completed) = progress(&pool).await;
                !unfinished && completed
            }
        },
    )
    .await;
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from hiring.candidates where connector_id = 'gf' and deleted_at is null",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let created: i64 = sqlx::query_scalar(
        "select count(*) from hiring.events where type = 'candidate.created' and connector_id = 'gf'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let twice: i64 = sqlx::query_scalar(
        "select count(*) from (select entity_id from hiring.events where type = 'candidate.created'
                                group by entity_id having count(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(stored > 0);
    assert_eq!(created, stored, "one creation event per candidate");
    assert_eq!(twice, 0, "no candidate created twice");

    // A clean stop releases the lease at once.
    assert!(restarted.terminate(), "SIGTERM exits cleanly");
    let holder: Option<String> = sqlx::query_scalar(
        "select s.lease_owner from hiring.sync_state s
          where s.lease_owner is not null and exists (
                select 1 from hiring.daemons h where h.owner = s.lease_owner and h.stopped_at is null)",
    )
    .fetch_optional(&db.pool)
    .await
    .unwrap()
    .flatten();
    assert_eq!(holder, None, "no lease outlives a clean stop");
}

#[tokio::test]
async fn inbox_rows_of_a_holder_that_stopped_heartbeating_are_taken_over_at_once() {
    let kit = plugin("kit")
        .and_then(|p| p.simulator())
        .expect("kit has a simulator")
        .start(SimSpec {
            listen: ([127, 0, 0, 1], 0).into(),
            seed: 1,
            records: 0,
            api_key: String::new(),
        })
        .await
        .expect("the simulator starts");
    let daemon = support::daemon::spawn_daemon(
        DaemonConfig::default()
            .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"]})),
    )
    .await;
    // A delivery a killed daemon was processing: its lease's backstop is an
    // hour away, but its holder last heartbeated ten seconds ago.
    let sample = kit.sample_delivery(1, "kit-secret", std::time::SystemTime::now());
    sqlx::query(
        "insert into hiring.daemons (owner, host, pid, version, heartbeat_at)
         values ('ghost', 'gone', 1, 'old', now() - interval '10 seconds')",
    )
    .execute(&daemon.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into hiring.inbox (connector_id, dedup_key, event_type, body, status, attempts,
                                   lease_owner, lease_expires_at)
         values ('kit', 'id:ghost-1', $1, $2, 'processing', 1, 'ghost', now() + interval '1 hour')",
    )
    .bind(
        sample
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-webhook-event"))
            .map(|(_, v)| v.clone()),
    )
    .bind(&sample.body)
    .execute(&daemon.pool)
    .await
    .unwrap();
    let started = Instant::now();
    daemon.drained().await;
    eprintln!(
        "the orphaned delivery was processed {:.1} s later",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        daemon
            .count("select count(*) from hiring.inbox where status = 'done' and dedup_key = 'id:ghost-1'")
            .await,
        1
    );
    daemon.stop().await;
}

#[tokio::test]
async fn a_daemon_killed_while_acknowledging_webhooks_loses_no_acknowledged_delivery() {
    use hirebridge_kit::sim::{KitSender, Sent};
    use std::sync::{Arc, Mutex};

    let db = support::TestDb::migrated().await;
    let config = ProcessConfig::write(
        DaemonConfig::default()
            .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"]})),
        &db.url,
    );
    let daemon = config.spawn().await;
    let kit = KitSender::new(
        format!("http://{}/webhooks/kit", config.webhooks),
        "kit-secret",
    );
    // Eight senders post applications until told to stop; the ids the daemon
    // acknowledged with a 2xx are kept.
    let acked: Arc<Mutex<Vec<i64>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicI64::new(1));
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (kit, acked, next, running) =
            (kit.clone(), acked.clone(), next.clone(), running.clone());
        senders.spawn(async move {
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                let id = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let app = json!({"id": id, "candidate": {"id": 100_000 + id, "name": "Lin Chen", "email": format!("lin{id}@example.com")},
                    "current_stage": "Applied", "rejected": false, "withdrawn": false, "offered": false});
                if let Ok(Sent::Status(200)) = kit.send("application.submitted", app).await {
                    acked.lock().unwrap().push(id);
                }
            }
        });
    }
    let count = || acked.lock().unwrap().len();
    wait_until(
        "deliveries are acknowledged",
        Duration::from_secs(30),
        || async { count() >= 150 },
    )
    .await;
    // kill -9 in the middle of the stream of acknowledgements.
    daemon.kill9();
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    while senders.join_next().await.is_some() {}
    let acked = acked.lock().unwrap().clone();

    // After a restart, every acknowledged delivery is processed, once.
    let restarted = config.spawn().await;
    let pool = db.pool.clone();
    let want = acked.len() as i64;
    wait_until("every acknowledged delivery is processed", Duration::from_secs(60), || {
        let pool = pool.clone();
        let ids: Vec<String> = acked.iter().map(|id| id.to_string()).collect();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from hiring.applications where connector_id = 'kit' and remote_id = any($1)",
            )
            .bind(&ids)
            .fetch_one(&pool)
            .await
            .is_ok_and(|n| n == want)
        }
    })
    .await;
    let twice: i64 = sqlx::query_scalar(
        "select count(*) from (select entity_id from hiring.events where type = 'application.created'
                                group by entity_id having count(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(twice, 0, "no application created twice");
    assert!(restarted.terminate());
}
