//! Sinks reading the event log by cursor, against real PostgreSQL, real
//! daemons (in-process and as killed processes), a verifying HTTP receiver and
//! a real nats-server: late commits, entity order across transactions, where a
//! new sink starts, partition takeover, retention, and the JetStream sink.

mod support;

use serde_json::{json, Value};
use sqlx::PgExecutor;
use std::path::Path;
use std::time::Duration;
use support::daemon::{spawn_daemon, spawn_daemon_on, wait_until, DaemonConfig, TestDaemon};
use support::process::ProcessConfig;
use support::receiver::VerifyingReceiver;
use uuid::Uuid;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Inserts `n` `application.created` events named `<tag>_<i>` (of fresh
/// entities, or all of `entity`), created `age_secs` ago, as one statement.
async fn insert_events<'e>(
    db: impl PgExecutor<'e>,
    tag: &str,
    n: i64,
    entity: Option<Uuid>,
    age_secs: f64,
) {
    sqlx::query(
        "insert into hiring.event_log (id, type, entity_type, entity_id, via, occurred_at, payload, created_at)
         select $1 || '_' || g, 'application.created', 'application', coalesce($3, gen_random_uuid()),
                'system', now(), jsonb_build_object('id', $1 || '_' || g, 'type', 'application.created', 'n', g),
                now() - $4 * interval '1 second'
           from generate_series(1, $2) g order by g",
    )
    .bind(tag)
    .bind(n)
    .bind(entity)
    .bind(age_secs)
    .execute(db)
    .await
    .expect("events inserted");
}

/// The event ids a jsonl sink wrote, in order.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("a JSON line")["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn jsonl(id: &str, path: &Path) -> Value {
    json!({"id": id, "kind": "jsonl", "path": path.display().to_string()})
}

/// A counter's value on the daemon's /metrics (0 when absent).
async fn counter(d: &TestDaemon, series: &str) -> f64 {
    d.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn wait_for_lines(path: &Path, n: usize) -> Vec<String> {
    wait_until(
        &format!("{} lines in {}", n, path.display()),
        Duration::from_secs(30),
        || async { lines(path).len() >= n },
    )
    .await;
    lines(path)
}

async fn cursors_ready(d: &TestDaemon, sink: &str) {
    let pool = d.pool.clone();
    let sql = format!(
        "select count(*) from hiring.sink_cursors where sink_id = '{sink}' and lease_owner is not null"
    );
    wait_until(
        "the sink holds its partitions",
        Duration::from_secs(20),
        || {
            let (pool, sql) = (pool.clone(), sql.clone());
            async move {
                sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_one(&pool)
                    .await
                    .is_ok_and(|n| n == i64::from(hirebridge::store::partition::PARTITIONS))
            }
        },
    )
    .await;
}

#[tokio::test]
async fn the_partition_scheme_is_the_same_in_sql_and_rust() {
    let db = support::TestDb::migrated().await;
    let parts: Vec<i16> = sqlx::query_scalar(
        "select distinct hiring.partition_of('application:' || gen_random_uuid()::text)
           from generate_series(1, 2000) order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let all: Vec<i16> = (0..hirebridge::store::partition::PARTITIONS).collect();
    assert_eq!(
        parts, all,
        "2000 random entities fall in every partition and no other"
    );
}

#[tokio::test]
async fn an_event_committed_late_with_a_lower_seq_is_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake.jsonl");
    let d = spawn_daemon(DaemonConfig::default().sink(jsonl("lake", &lake))).await;
    cursors_ready(&d, "lake").await;
    let entity = Uuid::new_v4();

    // A takes the lowest seq and stays uncommitted while B and C commit.
    let mut open = d.pool.begin().await.unwrap();
    insert_events(&mut *open, "a", 1, Some(entity), 0.0).await;
    insert_events(&d.pool, "b", 1, Some(entity), 0.0).await;
    insert_events(&d.pool, "c", 1, Some(entity), 0.0).await;
    let reads = r#"hirebridge_sink_log_reads_total{sink="lake"}"#;
    let before = counter(&d, reads).await;
    wait_until(
        "the sink read the log three more times",
        Duration::from_secs(20),
        || async { counter(&d, reads).await >= before + 3.0 },
    )
    .await;
    assert!(
        lines(&lake).is_empty(),
        "nothing past a running transaction is read: {:?}",
        lines(&lake)
    );
    open.commit().await.unwrap();

    let got = wait_for_lines(&lake, 3).await;
    assert_eq!(got, ["a_1", "b_1", "c_1"], "all three, in seq order");
    d.stop().await;
}

#[tokio::test]
async fn an_older_transaction_writing_an_entity_last_is_delivered_last() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake.jsonl");
    let d = spawn_daemon(DaemonConfig::default().sink(jsonl("lake", &lake))).await;
    cursors_ready(&d, "lake").await;
    let entity = Uuid::new_v4();

    // The older transaction takes its id first, but writes the entity after
    // the younger one committed: log order (xid) and entity order (seq) differ.
    let mut older = d.pool.begin().await.unwrap();
    sqlx::query("select pg_current_xact_id()")
        .execute(&mut *older)
        .await
        .unwrap();
    let mut younger = d.pool.begin().await.unwrap();
    sqlx::query("select pg_current_xact_id()")
        .execute(&mut *younger)
        .await
        .unwrap();
    insert_events(&mut *younger, "first", 1, Some(entity), 0.0).await;
    younger.commit().await.unwrap();
    insert_events(&mut *older, "second", 1, Some(entity), 0.0).await;
    older.commit().await.unwrap();

    let got = wait_for_lines(&lake, 2).await;
    assert_eq!(got, ["first_1", "second_1"], "the entity's order is kept");
    // A held event is released just after it is written out, not before.
    let pool = d.pool.clone();
    wait_until("nothing stays held", Duration::from_secs(20), || {
        let pool = pool.clone();
        async move {
            let held: i64 = sqlx::query_scalar("select count(*) from hiring.delivery_holds")
                .fetch_one(&pool)
                .await
                .unwrap();
            held == 0
        }
    })
    .await;
    d.stop().await;
}

#[tokio::test]
async fn a_new_sink_starts_now_at_the_beginning_or_at_a_time() {
    let db = support::TestDb::migrated().await;
    insert_events(&db.pool, "old", 10, None, 7200.0).await;
    insert_events(&db.pool, "recent", 10, None, 60.0).await;
    let since = chrono::Utc::now() - chrono::Duration::minutes(30);
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(format!("{name}.jsonl"));
    let mut from_time = jsonl("from_time", &path("from_time"));
    from_time["start"] = json!(since.to_rfc3339());
    let mut from_beginning = jsonl("from_beginning", &path("from_beginning"));
    from_beginning["start"] = json!("beginning");
    let config = DaemonConfig::default()
        .sink(jsonl("from_now", &path("from_now")))
        .sink(from_beginning)
        .sink(from_time);
    let d = spawn_daemon_on(config, db).await;
    for sink in ["from_now", "from_beginning", "from_time"] {
        cursors_ready(&d, sink).await;
    }
    insert_events(&d.pool, "new", 5, None, 0.0).await;

    let all = wait_for_lines(&path("from_beginning"), 25).await;
    let recent = wait_for_lines(&path("from_time"), 15).await;
    let new = wait_for_lines(&path("from_now"), 5).await;
    assert_eq!(all.len(), 25);
    assert!(all.iter().filter(|id| id.starts_with("old_")).count() == 10);
    assert_eq!(recent.len(), 15, "{recent:?}");
    assert!(
        recent.iter().all(|id| !id.starts_with("old_")),
        "{recent:?}"
    );
    assert_eq!(new.len(), 5, "{new:?}");
    assert!(new.iter().all(|id| id.starts_with("new_")), "{new:?}");

    // status: every sink caught up, nothing held.
    let pool = d.pool.clone();
    wait_until("every sink shows no lag", Duration::from_secs(20), || {
        let pool = pool.clone();
        async move {
            let status = hirebridge::store::deliveries::sink_status(&pool)
                .await
                .unwrap();
            status.len() == 3
                && status
                    .iter()
                    .all(|s| s["lag_events"] == 0 && s["pending"] == 0 && s["position"].is_i64())
        }
    })
    .await;
    d.stop().await;
}

#[tokio::test]
async fn retention_never_deletes_what_a_sink_has_not_delivered() {
    let db = support::TestDb::migrated().await;
    insert_events(&db.pool, "e", 50, None, 3600.0).await;
    // The `receiver` sink is disabled before the daemon first sees it: its
    // cursors stand at the beginning and do not move.
    sqlx::query(
        "insert into hiring.sink_state (sink_id, disabled_at, disabled_reason)
         values ('receiver', now(), 'test: disabled from the start')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let receiver = VerifyingReceiver::start(SECRET).await;
    receiver.refuse.lock().unwrap().insert("e_7".into());
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake.jsonl");
    let mut lake_sink = jsonl("lake", &lake);
    lake_sink["start"] = json!("beginning");
    let mut config = DaemonConfig::default().sink(lake_sink).sink(json!({
        "id": "receiver", "kind": "webhook", "url": receiver.url(), "secrets": [SECRET],
        "start": "beginning", "retry_schedule": ["100ms"],
    }));
    config.events.insert("retention".into(), json!("1s"));
    let d = spawn_daemon_on(config, db).await;

    wait_for_lines(&lake, 50).await;
    let passes = "hirebridge_retention_passes_total";
    let before = counter(&d, passes).await;
    wait_until(
        "two more retention passes",
        Duration::from_secs(20),
        || async { counter(&d, passes).await >= before + 2.0 },
    )
    .await;
    assert_eq!(
        d.count("select count(*) from hiring.events").await,
        50,
        "the disabled sink has not passed them: all kept"
    );

    // The receiver sink is enabled: it delivers all but e_7, which it
    // dead-letters; everything delivered everywhere is then deleted.
    hirebridge::store::deliveries::enable_sink(&d.pool, "receiver")
        .await
        .unwrap();
    wait_until(
        "49 delivered to the receiver",
        Duration::from_secs(30),
        || async { receiver.ids().len() >= 49 },
    )
    .await;
    wait_until(
        "delivered events are deleted",
        Duration::from_secs(30),
        || async { d.count("select count(*) from hiring.events").await == 1 },
    )
    .await;
    let kept: String = sqlx::query_scalar("select id from hiring.events")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(kept, "e_7", "the dead letter's event is kept");
    assert_eq!(
        d.count("select count(*) from hiring.delivery_holds where status = 'dead'")
            .await,
        1
    );
    assert!(!receiver.ids().contains(&"e_7".to_string()));
    d.stop().await;
}

#[tokio::test]
async fn a_killed_daemons_partitions_are_taken_over() {
    let db = support::TestDb::migrated().await;
    let receiver = VerifyingReceiver::start(SECRET).await;
    let config = DaemonConfig::default().sink(json!({
        "id": "receiver", "kind": "webhook", "url": receiver.url(), "secrets": [SECRET],
    }));
    let a = ProcessConfig::write(config.clone(), &db.url);
    let b = ProcessConfig::write(config, &db.url);
    let first = a.spawn().await;
    let second = b.spawn().await;
    let owners = "select count(distinct lease_owner) from hiring.sink_cursors
                   where sink_id = 'receiver' and lease_owner is not null";
    let pool = db.pool.clone();
    wait_until(
        "the two daemons share the partitions",
        Duration::from_secs(20),
        || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(owners)
                    .fetch_one(&pool)
                    .await
                    .is_ok_and(|n| n == 2)
            }
        },
    )
    .await;

    first.kill9();
    insert_events(&db.pool, "t", 200, None, 0.0).await;
    wait_until(
        "every event delivered after the takeover",
        Duration::from_secs(30),
        || async { receiver.ids().len() >= 200 },
    )
    .await;
    let mut ids = receiver.ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    assert_eq!(receiver.ids().len(), 200, "each once");
    let held_by_one: i64 = sqlx::query_scalar(
        "select count(*) from hiring.sink_cursors c join hiring.daemons h on h.owner = c.lease_owner
          where c.sink_id = 'receiver' and h.stopped_at is null and h.heartbeat_at > now() - interval '3 seconds'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        held_by_one,
        i64::from(hirebridge::store::partition::PARTITIONS),
        "the survivor holds every partition"
    );
    assert!(second.terminate());
}

#[tokio::test]
async fn jetstream_gets_each_event_once_in_entity_order() {
    use async_nats::jetstream;
    use futures_util::StreamExt;

    let nats = support::nats::NatsServer::start();
    let config = DaemonConfig::default().sink(json!({
        "id": "stream", "kind": "nats", "url": nats.url, "subject_prefix": "hb", "stream": "HB",
    }));
    let d = spawn_daemon(config).await;
    cursors_ready(&d, "stream").await;
    // Three entities, three events each, of two types.
    let entities: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    for round in 0..3 {
        for (n, entity) in entities.iter().enumerate() {
            let kind = if round == 0 {
                "created"
            } else {
                "stage_changed"
            };
            sqlx::query(
                // As the daemon writes them: the data, the envelope rebuilt on delivery.
                "insert into hiring.event_log (id, type, entity_type, entity_id, via, occurred_at, data)
                 values ($1, 'application.' || $2, 'application', $3, 'system', now(),
                         jsonb_build_object('round', $4::int, 'entity', $3::text))",
            )
            .bind(format!("evt_{n}_{round}"))
            .bind(kind)
            .bind(entity)
            .bind(round)
            .execute(&d.pool)
            .await
            .unwrap();
        }
    }
    let client = async_nats::connect(&nats.url).await.unwrap();
    let js = jetstream::new(client);
    let count = || async {
        match js.get_stream("HB").await {
            Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        }
    };
    wait_until(
        "nine messages in the stream",
        Duration::from_secs(30),
        || async { count().await >= 9 },
    )
    .await;

    // Replayed events are published again with the same message ids: the
    // stream drops them as duplicates.
    let replayed = hirebridge::store::deliveries::replay(&d.pool, "stream", "true", &[])
        .await
        .unwrap();
    assert_eq!(replayed, 9);
    wait_until("the replay was sent", Duration::from_secs(30), || async {
        d.count("select count(*) from hiring.delivery_holds").await == 0
    })
    .await;
    assert_eq!(
        count().await,
        9,
        "redeliveries are deduplicated by message id"
    );

    // Read the stream back: per entity, the rounds arrive in order, on the
    // subject of their type, with the event id as the message id.
    let stream = js.get_stream("HB").await.unwrap();
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap().take(9);
    let mut rounds: std::collections::HashMap<String, Vec<i64>> = Default::default();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(
            message.subject.as_str(),
            format!("hb.{}", body["type"].as_str().unwrap())
        );
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_string());
        assert_eq!(id.as_deref(), body["id"].as_str());
        assert_eq!(body["source"]["via"], "system");
        rounds
            .entry(body["data"]["entity"].as_str().unwrap().to_string())
            .or_default()
            .push(body["data"]["round"].as_i64().unwrap());
    }
    assert_eq!(rounds.len(), 3);
    for (entity, seen) in rounds {
        assert_eq!(seen, [0, 1, 2], "entity {entity}");
    }
    d.stop().await;
}

#[tokio::test]
async fn a_connector_filter_passes_events_without_a_connector() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake.jsonl");
    let mut sink = jsonl("lake", &lake);
    sink["connectors"] = json!(["kit"]);
    let config = DaemonConfig::default()
        .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"]}))
        .sink(sink);
    let d = spawn_daemon(config).await;
    cursors_ready(&d, "lake").await;
    // An event of no connector (a system event), then one of `kit`.
    insert_events(&d.pool, "none", 1, None, 0.0).await;
    sqlx::query(
        "insert into hiring.event_log (id, type, connector_id, entity_type, entity_id, via, occurred_at, payload)
         values ('kit_1', 'application.created', 'kit', 'application', gen_random_uuid(), 'webhook', now(),
                 '{\"id\": \"kit_1\"}')",
    )
    .execute(&d.pool)
    .await
    .unwrap();
    let got = wait_for_lines(&lake, 1).await;
    assert_eq!(
        got,
        ["kit_1"],
        "the other event is passed, not delivered, and does not stop the sink"
    );
    d.stop().await;
}
