//! The webhook inbox's store: the grouped insert under concurrency (two
//! daemons storing the same deliveries at once, in opposite orders, must
//! neither deadlock nor store a delivery twice), and the normalisers' claim by
//! partition batch slots.

mod support;

use hirebridge::store::inbox::{self, store_batch, OwnedDelivery};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;

fn delivery(round: usize, n: usize, body: &str) -> OwnedDelivery {
    OwnedDelivery {
        // Two connectors, so the order is by connector and then key.
        connector_id: if n % 2 == 0 { "kit-a" } else { "kit-b" }.to_string(),
        dedup_key: format!("r{round}-k{n:03}"),
        event_type: Some("subscriber.created".into()),
        headers: json!({}),
        body: body.as_bytes().to_vec(),
        entity_key: Some(format!("/data/id={n}")),
    }
}

/// Delivery `key` of connector `kit-a`.
fn keyed(key: &str) -> OwnedDelivery {
    OwnedDelivery {
        connector_id: "kit-a".into(),
        dedup_key: key.into(),
        event_type: Some("subscriber.created".into()),
        headers: json!({}),
        body: b"{}".to_vec(),
        entity_key: Some(format!("/data/id={key}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_batches_in_opposite_orders_on_two_pools_neither_fail_nor_duplicate() {
    const ROUNDS: usize = 50;
    const KEYS: usize = 200;
    let db = support::TestDb::migrated().await;
    let other = PgPoolOptions::new()
        .max_connections(4)
        .connect(&db.url)
        .await
        .expect("a second pool, as a second daemon");

    for round in 0..ROUNDS {
        let forward: Vec<OwnedDelivery> = (0..KEYS).map(|n| delivery(round, n, "{}")).collect();
        let backward: Vec<OwnedDelivery> = forward.iter().rev().cloned().collect();
        let (pool_a, pool_b) = (db.pool.clone(), other.clone());
        let a = tokio::spawn(async move { store_batch(&pool_a, &forward).await });
        let b = tokio::spawn(async move { store_batch(&pool_b, &backward).await });
        let a = a
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("round {round}, forward batch: {e}"));
        let b = b
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("round {round}, backward batch: {e}"));
        assert_eq!((a.len(), b.len()), (KEYS, KEYS));
        for n in 0..KEYS {
            // b is in reverse order: its item KEYS-1-n is key n.
            assert!(
                a[n] != b[KEYS - 1 - n],
                "round {round}, key {n}: exactly one of the two stores it as new ({} and {})",
                a[n],
                b[KEYS - 1 - n]
            );
        }
    }

    let (rows, keys): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct (connector_id, dedup_key)) from hiring.inbox",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(
        (rows, keys),
        ((ROUNDS * KEYS) as i64, (ROUNDS * KEYS) as i64)
    );
    other.close().await;
}

#[tokio::test]
async fn the_first_of_duplicates_in_one_batch_is_the_new_one_and_results_keep_input_order() {
    let db = support::TestDb::migrated().await;
    // Out of key order, with a duplicate of the last key and one already stored.
    let stored = store_batch(&db.pool, &[delivery(0, 3, "earlier")])
        .await
        .expect("store");
    assert_eq!(stored, [true]);
    let batch = [
        delivery(0, 9, "first 9"),
        delivery(0, 1, "first 1"),
        delivery(0, 3, "again 3"),
        delivery(0, 9, "second 9"),
        delivery(0, 5, "first 5"),
        delivery(0, 1, "second 1"),
    ];
    let fresh = store_batch(&db.pool, &batch).await.expect("store");
    assert_eq!(fresh, [true, true, false, false, true, false]);
    let bodies: Vec<(String, Vec<u8>)> =
        sqlx::query_as("select dedup_key, body from hiring.inbox order by dedup_key")
            .fetch_all(&db.pool)
            .await
            .expect("bodies");
    let bodies: Vec<(String, String)> = bodies
        .into_iter()
        .map(|(k, b)| (k, String::from_utf8_lossy(&b).into_owned()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("r0-k001".to_string(), "first 1".to_string()),
            ("r0-k003".to_string(), "earlier".to_string()),
            ("r0-k005".to_string(), "first 5".to_string()),
            ("r0-k009".to_string(), "first 9".to_string()),
        ]
    );
}

/// `hirebridge dlq list` and `show` on dead letters whose header and body
/// disagree on the event, and one whose body is not UTF-8.
#[tokio::test]
async fn dlq_shows_the_bodys_event_and_never_raw_bytes() {
    let db = support::TestDb::migrated().await;
    let mismatched = OwnedDelivery {
        event_type: Some("candidate.updated".into()),
        ..delivery(0, 1, r#"{"action": "application.created", "id": 7}"#)
    };
    let binary = OwnedDelivery {
        body: b"\xff\xfe raw \x1b[2J".to_vec(),
        ..delivery(0, 2, "")
    };
    store_batch(&db.pool, &[mismatched, binary])
        .await
        .expect("store");
    let dead: Vec<(String, i64)> = sqlx::query_as(
        "update hiring.inbox set status = 'dead', last_error = 'test'
         returning dedup_key, id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("dead");
    let id_of = |key: &str| {
        dead.iter()
            .find(|(k, _)| k == key)
            .map(|(_, id)| id.to_string())
            .expect("stored")
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hirebridge.toml");
    std::fs::write(&config, format!("[database]\nurl = \"{}\"\n", db.url)).expect("config");
    let run = |args: Vec<String>| {
        let config = config.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hirebridge"))
                .arg("dlq")
                .args(&args)
                .arg("--config")
                .arg(&config)
                .output()
                .await
                .expect("run hirebridge");
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Nothing on the terminal that is not UTF-8, and no escape sequences.
            String::from_utf8(out.stdout).expect("stdout is UTF-8")
        }
    };

    let list = run(vec!["list".into()]).await;
    assert!(
        list.contains("application.created (header said: candidate.updated)"),
        "{list}"
    );
    let show = run(vec!["show".into(), id_of("r0-k001")]).await;
    assert!(
        show.contains("event:     application.created (header said: candidate.updated)"),
        "{show}"
    );
    let show = run(vec!["show".into(), id_of("r0-k002")]).await;
    assert!(show.contains("11 bytes, not valid UTF-8"), "{show}");
    assert!(show.contains("\\xff\\xfe raw \\u{1b}[2J"), "{show}");
    assert!(
        !show.contains('\u{1b}') && !show.contains('\u{fffd}'),
        "{show}"
    );
}

#[tokio::test]
async fn read_only_commands_never_migrate_and_print_no_daemon_logs() {
    // A database without the schema: `status`, `dlq list` and `replay` refuse
    // with what to run, and leave it as it was.
    let db = support::test_db().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hirebridge.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[database]\nurl = \"{}\"\n[telemetry]\nlog_format = \"json\"\n[[sinks]]\nid = \"lake\"\nkind = \"jsonl\"\npath = \"{}\"\n",
            dir.path().join("var").display(),
            db.url,
            dir.path().join("events.jsonl").display()
        ),
    )
    .expect("config");
    for args in [
        vec!["status"],
        vec!["dlq", "list"],
        vec![
            "replay",
            "--sink",
            "lake",
            "--since",
            "2026-01-01T00:00:00Z",
        ],
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hirebridge"))
            .args(&args)
            .arg("--config")
            .arg(&config)
            .output()
            .await
            .expect("run hirebridge");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{args:?} ran on an unmigrated database"
        );
        assert!(stderr.contains("hirebridge migrate"), "{args:?}: {stderr}");
        assert!(!stderr.contains("\"level\":\"INFO\""), "{args:?}: {stderr}");
    }
    let schema: bool = sqlx::query_scalar("select to_regclass('hiring.inbox') is not null")
        .fetch_one(&db.pool)
        .await
        .expect("query");
    assert!(!schema, "a read-only command created the schema");
}

/// Inserts a pending delivery of partition `part` and returns its id.
async fn pending_in(pool: &sqlx::PgPool, key: &str, part: i16) -> i64 {
    sqlx::query_scalar(
        "insert into hiring.inbox (connector_id, dedup_key, body, part) values ('kit', $1, '{}', $2)
         returning id",
    )
    .bind(key)
    .bind(part)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Registers `owners` as daemons whose heartbeat stays live for the test (an
/// hour ahead of now).
async fn heartbeating(pool: &sqlx::PgPool, owners: &[&str]) {
    sqlx::query(
        "insert into hiring.daemons (owner, host, pid, version, heartbeat_at)
         select o, 'h', 1, 't', now() + interval '1 hour' from unnest($1::text[]) as o",
    )
    .bind(owners)
    .execute(pool)
    .await
    .unwrap();
}

/// Lets every batch slot's lease run past its backstop (holders stay alive).
async fn lapse_batches(pool: &sqlx::PgPool) {
    sqlx::query("update hiring.inbox_batches set lease_expires_at = now() - interval '1 second'")
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_held_batch_fences_its_partition_and_a_lapsed_claim_is_taken_over_and_commits_nothing() {
    let db = support::TestDb::migrated().await;
    let lease = std::time::Duration::from_secs(20);
    let holders_claim = uuid::Uuid::now_v7();
    // A live holder has partition 0's batch in flight.
    heartbeating(&db.pool, &["holder", "me"]).await;
    let in_flight = pending_in(&db.pool, "in-flight", 0).await;
    let later = pending_in(&db.pool, "later-same-entity", 0).await;
    let other = pending_in(&db.pool, "other-partition", 1).await;
    sqlx::query(
        "update hiring.inbox_batches set lease_owner = 'holder', batch = $2,
                lease_expires_at = now() + interval '1 hour', ids = array[$1::bigint]
          where part = 0",
    )
    .bind(in_flight)
    .bind(holders_claim)
    .execute(&db.pool)
    .await
    .unwrap();
    let complete = |ids: Vec<i64>, part: i16, owner: &'static str, batch: uuid::Uuid| {
        let pool = db.pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            let held = inbox::complete_many(&mut tx, &ids, &[part], owner, batch, true)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            held
        }
    };

    // Only the free partition is claimed; its slot is now this claim's.
    let first = inbox::claim(&db.pool, "me", lease, 100, &[0, 1])
        .await
        .unwrap();
    let ids: Vec<(i64, i16, i32)> = first.iter().map(|c| (c.id, c.part, c.attempts)).collect();
    assert_eq!(ids, vec![(other, 1, 1)]);
    // A second look finds nothing: partition 0 is fenced, partition 1 is in flight.
    assert!(inbox::claim(&db.pool, "me", lease, 100, &[0, 1])
        .await
        .unwrap()
        .is_empty());
    // A slot another holder has completes nothing; its own completes and frees it.
    assert!(!complete(vec![in_flight], 0, "me", first[0].batch).await);
    assert!(complete(vec![other], 1, "me", first[0].batch).await);

    // The holder stops heartbeating: its batch is taken over, in order, and
    // the attempt that died with it counts; the later delivery is a first attempt.
    sqlx::query("update hiring.daemons set heartbeat_at = now() - interval '10 seconds' where owner = 'holder'")
        .execute(&db.pool)
        .await
        .unwrap();
    let second = inbox::claim(&db.pool, "me", lease, 100, &[0, 1])
        .await
        .unwrap();
    let ids: Vec<(i64, i16, i32)> = second.iter().map(|c| (c.id, c.part, c.attempts)).collect();
    assert_eq!(ids, vec![(in_flight, 0, 2), (later, 0, 1)]);
    let slot: (Option<String>, Option<uuid::Uuid>, Vec<i64>) =
        sqlx::query_as("select lease_owner, batch, ids from hiring.inbox_batches where part = 0")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        slot,
        (
            Some("me".to_string()),
            Some(second[0].batch),
            vec![in_flight, later]
        )
    );
    // The holder comes back to life too late: its completion writes nothing.
    assert!(!complete(vec![in_flight], 0, "holder", holders_claim).await);

    // This claim's slot lapses (its backstop) while it is still at work, and
    // another worker of the same daemon (the same owner) takes the batch over.
    lapse_batches(&db.pool).await;
    let third = inbox::claim(&db.pool, "me", lease, 100, &[0])
        .await
        .unwrap();
    let ids: Vec<(i64, i32)> = third.iter().map(|c| (c.id, c.attempts)).collect();
    assert_eq!(ids, vec![(in_flight, 3), (later, 2)]);
    // The lapsed claim commits nothing and fails nothing, though its owner is the same.
    assert!(!complete(vec![in_flight], 0, "me", second[0].batch).await);
    inbox::fail(&db.pool, &second[1], "me", "late", lease, true, false)
        .await
        .unwrap();
    assert!(complete(vec![in_flight, later], 0, "me", third[0].batch).await);

    let done: Vec<(i64, String, i32)> =
        sqlx::query_as("select id, status, attempts from hiring.inbox order by id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        done,
        vec![
            (in_flight, "done".to_string(), 3),
            (later, "done".to_string(), 2),
            (other, "done".to_string(), 1)
        ]
    );
    let held: i64 = sqlx::query_scalar(
        "select count(*) from hiring.inbox_batches where lease_owner is not null",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(held, 0);
}

#[tokio::test]
async fn a_failed_delivery_leaves_its_batch_and_is_not_counted_again_when_the_batch_dies() {
    let db = support::TestDb::migrated().await;
    let lease = std::time::Duration::from_secs(20);
    heartbeating(&db.pool, &["me"]).await;
    let failing = pending_in(&db.pool, "fails", 3).await;
    let dies = pending_in(&db.pool, "dies-with-the-worker", 3).await;
    let claimed = inbox::claim(&db.pool, "me", lease, 100, &[3])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    // The first fails and is due again at once; then the worker's slot lapses.
    inbox::fail(
        &db.pool,
        &claimed[0],
        "me",
        "boom",
        std::time::Duration::ZERO,
        false,
        false,
    )
    .await
    .unwrap();
    lapse_batches(&db.pool).await;
    let again = inbox::claim(&db.pool, "me", lease, 100, &[3])
        .await
        .unwrap();
    let attempts: Vec<(i64, i32)> = again.iter().map(|c| (c.id, c.attempts)).collect();
    // The failure counted once; the delivery that died with the worker counts that attempt.
    assert_eq!(attempts, vec![(failing, 2), (dies, 2)]);
}

/// A processed delivery keeps what recognises a redelivery (its key, times and
/// status) but not the payload: its records hold the data, and the body and
/// headers (personal data, most of the row) would otherwise stay for the whole
/// retention window. A dead letter keeps both, for `dlq` and its retry.
#[tokio::test]
async fn a_processed_delivery_keeps_its_key_but_not_its_payload_and_a_dead_letter_keeps_both() {
    let db = support::TestDb::migrated().await;
    let lease = std::time::Duration::from_secs(20);
    heartbeating(&db.pool, &["me"]).await;
    let with_payload = |key: &str| OwnedDelivery {
        headers: json!({"x-kit-id": key, "user-agent": "Kit"}),
        body: format!(r#"{{"subscriber":{{"email":"{key}@example.com"}}}}"#).into_bytes(),
        ..keyed(key)
    };
    let batch = [with_payload("processed"), with_payload("dead")];
    assert_eq!(store_batch(&db.pool, &batch).await.unwrap(), [true, true]);
    let parts: Vec<i16> = (0..8).collect();
    let claimed = inbox::claim(&db.pool, "me", lease, 100, &parts)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let carrying = |key: &str| {
        claimed
            .iter()
            .find(|c| String::from_utf8_lossy(&c.body).contains(key))
            .expect("claimed")
    };
    let processed = carrying("processed@");
    let (done_id, done_part) = (processed.id, processed.part);
    let dead = carrying("dead@");
    inbox::fail(
        &db.pool,
        dead,
        "me",
        "cannot be normalised",
        std::time::Duration::ZERO,
        true,
        false,
    )
    .await
    .unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    assert!(inbox::complete_many(
        &mut tx,
        &[done_id],
        &[done_part],
        "me",
        claimed[0].batch,
        true
    )
    .await
    .unwrap());
    tx.commit().await.unwrap();

    let rows: Vec<(String, String, serde_json::Value, Vec<u8>, bool)> = sqlx::query_as(
        "select dedup_key, status, headers, body, processed_at is not null
           from hiring.inbox order by dedup_key",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (
                "dead".to_string(),
                "dead".to_string(),
                json!({"x-kit-id": "dead", "user-agent": "Kit"}),
                br#"{"subscriber":{"email":"dead@example.com"}}"#.to_vec(),
                false
            ),
            (
                "processed".to_string(),
                "done".to_string(),
                json!({}),
                Vec::new(),
                true
            ),
        ]
    );
    // Both are still recognised when the provider sends them again.
    assert_eq!(store_batch(&db.pool, &batch).await.unwrap(), [false, false]);
}

/// A claim holds at most `CLAIM_BYTES` of bodies, and always one delivery
/// however large: a worker's batch stays within bounds whatever providers send.
#[tokio::test]
async fn a_claim_stops_at_its_byte_budget_but_always_takes_one() {
    let db = support::TestDb::migrated().await;
    let lease = std::time::Duration::from_secs(20);
    heartbeating(&db.pool, &["me"]).await;
    let quarter = (inbox::CLAIM_BYTES / 4) as usize;
    let sized = |key: &str, bytes: usize| OwnedDelivery {
        body: vec![b' '; bytes],
        ..keyed(key)
    };
    // 1/4 + 1/4 + 1/4 fit; the fourth quarter and a bit would not.
    let batch = [
        sized("a", quarter),
        sized("b", quarter),
        sized("c", quarter),
        sized("d", quarter + 1),
        sized("e", 10),
    ];
    for one in batch.chunks(1) {
        store_batch(&db.pool, one).await.unwrap();
    }
    let parts: Vec<i16> = (0..8).collect();
    let sizes = |claimed: &[inbox::Claimed]| -> Vec<usize> {
        claimed.iter().map(|c| c.body.len()).collect()
    };
    let first = inbox::claim(&db.pool, "me", lease, 100, &parts)
        .await
        .unwrap();
    assert_eq!(sizes(&first), [quarter, quarter, quarter]);
    lapse_batches(&db.pool).await;
    sqlx::query("update hiring.inbox set status = 'done' where id = any($1)")
        .bind(first.iter().map(|c| c.id).collect::<Vec<_>>())
        .execute(&db.pool)
        .await
        .unwrap();
    // One larger than the whole budget is still taken, alone.
    sqlx::query("update hiring.inbox set body = $1 where dedup_key = 'd'")
        .bind(vec![b' '; inbox::CLAIM_BYTES as usize + 1])
        .execute(&db.pool)
        .await
        .unwrap();
    let second = inbox::claim(&db.pool, "me", lease, 100, &parts)
        .await
        .unwrap();
    assert_eq!(sizes(&second), [inbox::CLAIM_BYTES as usize + 1]);
}

#[tokio::test]
async fn a_claim_takes_the_oldest_deliveries_of_its_partitions_up_to_its_limit() {
    let db = support::TestDb::migrated().await;
    let lease = std::time::Duration::from_secs(20);
    heartbeating(&db.pool, &["me"]).await;
    // Five deliveries in each of the eight partitions, their ids interleaved.
    let mut by_part: Vec<Vec<i64>> = vec![Vec::new(); 8];
    for n in 0..40 {
        let part = (n * 3 % 8) as i16;
        by_part[part as usize].push(pending_in(&db.pool, &format!("d{n}"), part).await);
    }

    // Two partitions, named out of order: their seven oldest, oldest first,
    // whatever the partition (the claim merges the partitions by id).
    let first = inbox::claim(&db.pool, "me", lease, 7, &[6, 2])
        .await
        .unwrap();
    let mut expected: Vec<i64> = by_part[2].iter().chain(&by_part[6]).copied().collect();
    expected.sort_unstable();
    let ids: Vec<i64> = first.iter().map(|c| c.id).collect();
    assert_eq!(ids, expected[..7]);

    // Every partition: the two whose slots that claim holds are skipped, and
    // the limit is larger than what the other six hold, so all of theirs come.
    let second = inbox::claim(&db.pool, "me", lease, 100, &[0, 1, 2, 3, 4, 5, 6, 7])
        .await
        .unwrap();
    let mut expected: Vec<i64> = [0, 1, 3, 4, 5, 7]
        .iter()
        .flat_map(|p| by_part[*p].iter().copied())
        .collect();
    expected.sort_unstable();
    let ids: Vec<i64> = second.iter().map(|c| c.id).collect();
    assert_eq!(ids, expected);
    assert!(second.iter().all(|c| c.part != 2 && c.part != 6));
}

/// Stores delivery `key` ([`keyed`]) and sets its status and age.
async fn delivery_aged(pool: &sqlx::PgPool, key: &str, status: &str, days_ago: i32) {
    assert_eq!(
        store_batch(pool, &[keyed(key)]).await.unwrap(),
        vec![true],
        "{key}"
    );
    sqlx::query(
        "update hiring.inbox set status = $2, received_at = now() - $3 * interval '1 day'
          where dedup_key = $1",
    )
    .bind(key)
    .bind(status)
    .bind(days_ago)
    .execute(pool)
    .await
    .unwrap();
}

async fn kept_keys(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar("select dedup_key from hiring.inbox order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn retention_deletes_processed_deliveries_past_the_window_in_batches_and_nothing_else() {
    let db = support::TestDb::migrated().await;
    let pool = &db.pool;
    let window = std::time::Duration::from_secs(14 * 86400);
    // Old and processed: deleted. Old but dead-lettered, retrying or not yet
    // processed: kept. Processed within the window: kept.
    delivery_aged(pool, "old-done-1", "done", 30).await;
    delivery_aged(pool, "old-dead", "dead", 30).await;
    delivery_aged(pool, "old-done-2", "done", 20).await;
    delivery_aged(pool, "old-failed", "failed", 20).await;
    delivery_aged(pool, "old-pending", "pending", 20).await;
    delivery_aged(pool, "old-done-3", "done", 15).await;
    delivery_aged(pool, "recent-done", "done", 13).await;
    // Received long ago but stored after a recent one (ids out of arrival
    // order): the walk stops at the first recent id, so this waits for it.
    delivery_aged(pool, "late-old-done", "done", 20).await;
    delivery_aged(pool, "new-pending", "pending", 0).await;

    assert_eq!(inbox::delete_processed(pool, window, 2).await.unwrap(), 2);
    assert_eq!(inbox::delete_processed(pool, window, 2).await.unwrap(), 1);
    assert_eq!(inbox::delete_processed(pool, window, 2).await.unwrap(), 0);
    assert_eq!(
        kept_keys(pool).await,
        [
            "old-dead",
            "old-failed",
            "old-pending",
            "recent-done",
            "late-old-done",
            "new-pending"
        ]
    );

    // A redelivery of a kept delivery is still recognised; one of a deleted
    // delivery is stored again as new.
    assert_eq!(
        store_batch(pool, &[keyed("recent-done"), keyed("old-done-1")])
            .await
            .unwrap(),
        vec![false, true]
    );

    // Once the recent delivery before it ages out too, the late one goes with it.
    sqlx::query(
        "update hiring.inbox set received_at = now() - interval '15 days' where dedup_key = 'recent-done'",
    )
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(inbox::delete_processed(pool, window, 100).await.unwrap(), 2);
    assert_eq!(
        kept_keys(pool).await,
        [
            "old-dead",
            "old-failed",
            "old-pending",
            "new-pending",
            "old-done-1"
        ]
    );
}

#[tokio::test]
async fn a_daemon_deletes_processed_deliveries_older_than_two_weeks_by_default() {
    let db = support::TestDb::migrated().await;
    delivery_aged(&db.pool, "month-old", "done", 30).await;
    delivery_aged(&db.pool, "month-old-dead", "dead", 30).await;
    delivery_aged(&db.pool, "week-old", "done", 7).await;
    let d = support::daemon::spawn_daemon_on(support::daemon::DaemonConfig::default(), db).await;
    // The first retention pass runs as the daemon starts; its count comes
    // after its deletes.
    support::daemon::wait_until(
        "a retention pass that deleted one delivery",
        std::time::Duration::from_secs(30),
        || async {
            d.metrics()
                .await
                .lines()
                .any(|l| l == "hirebridge_inbox_deliveries_deleted_total 1")
        },
    )
    .await;
    assert_eq!(kept_keys(&d.pool).await, ["month-old-dead", "week-old"]);
    d.stop().await;
}

/// The generic plan PostgreSQL makes for `sql` with `value` bound as `$1`, as text.
async fn plan_of<T>(pool: &sqlx::PgPool, sql: &str, value: T) -> String
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
{
    // The daemon's statements are prepared, and PostgreSQL may go on with
    // their generic plan: that is the plan that must read by index.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local plan_cache_mode = force_generic_plan")
        .execute(&mut *tx)
        .await
        .unwrap();
    let explain = format!("explain (costs off) {sql}");
    let lines: Vec<String> = sqlx::query_scalar(&explain)
        .bind(value)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    lines.join("\n")
}

#[tokio::test]
async fn with_statistics_that_saw_no_due_delivery_the_drain_still_reads_by_index_keys() {
    // Statistics taken while the inbox held only processed deliveries say the
    // claim's partial index is empty; then a burst arrives.
    let db = support::TestDb::migrated().await;
    let pool = &db.pool;
    sqlx::query(
        "insert into hiring.inbox (connector_id, dedup_key, body, part, status)
         select 'kit-a', 'old-' || g, '\\x7b7d', (g % 8)::smallint, 'done'
           from generate_series(1, 50000) g",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("analyze hiring.inbox")
        .execute(pool)
        .await
        .unwrap();
    let burst: Vec<OwnedDelivery> = (0..2000).map(|n| delivery(9, n, "{}")).collect();
    store_batch(pool, &burst).await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar(
        "select id from hiring.inbox where status = 'pending' order by id limit 256",
    )
    .fetch_all(pool)
    .await
    .unwrap();

    // Marking a batch done probes the primary key for its ids.
    let plan = plan_of(pool, inbox::MARK_DONE, ids).await;
    assert!(
        plan.contains("inbox_pkey") && !plan.contains("inbox_part_due"),
        "{plan}"
    );

    // The look for partitions with work probes the claim's index once per
    // partition, by its key; written as `exists` it read the whole index once
    // and matched rows to partitions in a join filter.
    let parts: Vec<i16> = (0..8).collect();
    let plan = plan_of(pool, inbox::BUSY_PARTITIONS, parts).await;
    let lines: Vec<&str> = plan.lines().map(str::trim).collect();
    let scan = lines
        .iter()
        .position(|l| l.contains("using inbox_part_due on inbox c"))
        .unwrap_or_else(|| panic!("no scan of the claim's index: {plan}"));
    assert_eq!(
        lines.get(scan + 1).copied(),
        Some("Index Cond: (part = q.part)"),
        "{plan}"
    );
}
