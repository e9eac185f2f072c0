//! The unified schema's migrations on a real, empty PostgreSQL database.

mod support;

use chrono::{TimeZone, Utc};
use hirebridge::engine::events::{self, NewEvent, Via, WriteContext};
use hirebridge::engine::writer;
use hirebridge::store::{self, deliveries::StoredEnvelope};
use serde_json::{json, Value};
use uuid::Uuid;

const EXPECTED_TABLES: &[&str] = &[
    "persons",
    "candidates",
    "jobs",
    "job_postings",
    "applications",
    "application_stage_changes",
    "interviews",
    "offers",
    "assessments",
    "reviews",
    "background_checks",
    "sync_state",
    "inbox",
    "event_log",
    "events",
    "sink_cursors",
    "delivery_holds",
];

/// Applies the migrations older than `version`: the schema an upgrade starts from.
async fn migrate_before(pool: &sqlx::PgPool, version: i64) {
    let mut before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            store::MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.set_ignore_missing(true);
    before.run(pool).await.unwrap();
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_are_idempotent() {
    let db = support::test_db().await;
    assert!(store::pending_migrations(&db.pool).await.unwrap() > 0);
    store::migrate(&db.pool).await.unwrap();
    assert_eq!(store::pending_migrations(&db.pool).await.unwrap(), 0);
    // A second run (a restart) applies nothing and fails nothing.
    store::migrate(&db.pool).await.unwrap();
    assert_eq!(store::pending_migrations(&db.pool).await.unwrap(), 0);

    let tables: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, table_type::text from information_schema.tables where table_schema = 'hiring'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for t in EXPECTED_TABLES {
        assert!(
            tables.iter().any(|(x, _)| x == t),
            "missing table hiring.{t}: {tables:?}"
        );
    }
    let kind = |name: &str| {
        tables
            .iter()
            .find(|(x, _)| x == name)
            .map(|(_, k)| k.as_str())
    };
    assert_eq!(
        kind("events"),
        Some("VIEW"),
        "hiring.events is the log's view"
    );
    assert_eq!(kind("event_log"), Some("BASE TABLE"));
}

#[tokio::test]
async fn schema_enforces_canonical_values_and_uniqueness() {
    let db = support::TestDb::migrated().await;
    let insert_job = |remote_id: &'static str, status: &'static str| {
        sqlx::query(
            "insert into hiring.jobs (connector_id, remote_id, title, status, content_hash)
             values ('ashby-main', $1, 'Engineer', $2, 'h')",
        )
        .bind(remote_id)
        .bind(status)
    };
    insert_job("j1", "open").execute(&db.pool).await.unwrap();

    let err = insert_job("j2", "sort-of-open")
        .execute(&db.pool)
        .await
        .unwrap_err();
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.to_string());
    assert_eq!(
        code.as_deref(),
        Some("23514"),
        "CHECK violation expected: {err}"
    );

    let err = insert_job("j1", "closed")
        .execute(&db.pool)
        .await
        .unwrap_err();
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.to_string());
    assert_eq!(
        code.as_deref(),
        Some("23505"),
        "(connector_id, remote_id) is unique: {err}"
    );

    // The same remote id under another connector is another record.
    sqlx::query(
        "insert into hiring.jobs (connector_id, remote_id, title, status, content_hash)
         values ('ashby-eu', 'j1', 'Engineer', 'open', 'h')",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    // Every stage category the SDK knows is accepted by the schema, and nothing else.
    for category in hirebridge_sdk::StageCategory::ALL {
        sqlx::query(
            "insert into hiring.applications (connector_id, remote_id, status, stage_category, content_hash)
             values ('c', $1, 'active', $2, 'h')",
        )
        .bind(format!("a-{category}"))
        .bind(category.as_str())
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("category {category} rejected: {e}"));
    }
}

#[tokio::test]
async fn an_existing_delivery_queue_becomes_cursors_and_holds() {
    // The schema as it was before sinks read the log by cursor.
    let db = support::test_db().await;
    migrate_before(&db.pool, 20261201000001).await;
    sqlx::raw_sql(
        "insert into hiring.events (id, type, entity_type, entity_id, via, occurred_at, payload)
         select 'evt_' || g, 'application.created', 'application', gen_random_uuid(), 'system', now(), '{}'
           from generate_series(1, 4) g;
         insert into hiring.sink_state (sink_id, last_seq, enqueued_seq) values ('receiver', 4, 4);
         insert into hiring.deliveries (sink_id, event_id, event_seq, entity_key, status, attempts, last_error)
         select 'receiver', e.id, e.seq, e.entity_type || ':' || e.entity_id,
                (array['delivered', 'pending', 'failed', 'dead'])[e.seq], e.seq - 1, 'HTTP 500'
           from hiring.events e;
         -- Written after the last enqueue: in no sink's queue yet.
         insert into hiring.events (id, type, entity_type, entity_id, via, occurred_at, payload)
         values ('evt_5', 'application.created', 'application', gen_random_uuid(), 'system', now(), '{}');",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    store::migrate(&db.pool).await.unwrap();
    let holds: Vec<(String, String, i32)> = sqlx::query_as(
        "select event_id, status, attempts from hiring.delivery_holds where sink_id = 'receiver' order by event_seq",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        holds,
        [
            ("evt_2".to_string(), "waiting".to_string(), 1),
            ("evt_3".to_string(), "failed".to_string(), 2),
            ("evt_4".to_string(), "dead".to_string(), 3),
        ],
        "what was not delivered is held; delivered events are not"
    );
    let cursors: Vec<(i16, i64)> = sqlx::query_as(
        "select part, seq from hiring.sink_cursors where sink_id = 'receiver' order by part",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        cursors,
        (0..8).map(|p| (p, 4)).collect::<Vec<_>>(),
        "where every earlier event was queued for certain"
    );
    let behind = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from hiring.events e join hiring.sink_cursors c
                on c.sink_id = 'receiver' and c.part = e.part and (e.xid, e.seq) > (c.xid, c.seq)",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
    };
    assert_eq!(
        behind().await,
        1,
        "the event the old queue had not taken yet is read from the log"
    );
    // A new event comes after the cursors.
    sqlx::query(
        "insert into hiring.event_log (id, type, entity_type, entity_id, via, occurred_at, payload)
         values ('evt_6', 'application.created', 'application', gen_random_uuid(), 'system', now(), '{}')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(behind().await, 2);
}

/// An upgrade lists the reference targets that still hold random ids (stored
/// before ids were derived), so the writer looks references up only there.
#[tokio::test]
async fn an_upgrade_lists_the_tables_that_still_hold_random_ids() {
    let db = support::test_db().await;
    migrate_before(&db.pool, 20261207000001).await;
    sqlx::raw_sql(
        "-- A candidate with a random id (written before ids were derived) ...
         insert into hiring.candidates (connector_id, remote_id, content_hash) values ('c', 'old', 'h');
         -- ... and a job and an application with derived ones.
         insert into hiring.jobs (id, connector_id, remote_id, title, status, content_hash)
         values (hiring.entity_id('c', 'jobs', 'j1'), 'c', 'j1', 'Engineer', 'open', 'h');
         insert into hiring.applications (id, connector_id, remote_id, status, stage_category, content_hash)
         values (hiring.entity_id('c', 'applications', 'a1'), 'c', 'a1', 'active', 'applied', 'h');",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    store::migrate(&db.pool).await.unwrap();
    let listed = || async {
        sqlx::query_scalar::<_, String>("select table_name from hiring.random_id_tables order by 1")
            .fetch_all(&db.pool)
            .await
            .unwrap()
    };
    assert_eq!(listed().await, ["candidates"]);

    // Once the random-id row is gone, a look finds none left.
    sqlx::query("delete from hiring.candidates where remote_id = 'old'")
        .execute(&db.pool)
        .await
        .unwrap();
    let noted: Vec<String> = sqlx::query_scalar("select hiring.note_random_id_tables()")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(noted.is_empty(), "{noted:?}");
    assert!(listed().await.is_empty());
}

/// Events keep their data once: the view `hiring.events` rebuilds each envelope
/// exactly as the daemon builds it (the same jsonb, so the same bytes to sinks),
/// and events stored before the change keep their stored envelope.
#[tokio::test]
async fn the_event_log_rebuilds_each_envelope_exactly() {
    let db = support::test_db().await;
    migrate_before(&db.pool, 20261208000001).await;
    // A reader role (roles belong to the cluster: a name of its own) keeps its
    // reading of hiring.events across the upgrade.
    let reader = format!("reader_{}", Uuid::new_v4().simple());
    for statement in [
        format!("create role {reader}"),
        format!("grant usage on schema hiring to {reader}"),
        format!("grant select on hiring.events to {reader}"),
    ] {
        sqlx::query(&statement).execute(&db.pool).await.unwrap();
    }
    let stored = json!({"id": "evt_old", "type": "candidate.created", "timestamp": "2026-01-01T00:00:00.000Z",
        "source": {"connector": "kit", "provider": "kit", "remote_id": "9", "via": "webhook"},
        "data": {"email": "ada@example.com"}, "changes": null, "extra": "kept as stored"});
    sqlx::query(
        "insert into hiring.events (id, type, entity_type, entity_id, via, occurred_at, payload)
         values ('evt_old', 'candidate.created', 'candidate', gen_random_uuid(), 'webhook', now(), $1)",
    )
    .bind(&stored)
    .execute(&db.pool)
    .await
    .unwrap();
    store::migrate(&db.pool).await.unwrap();
    let can_read: bool =
        sqlx::query_scalar("select has_table_privilege($1, 'hiring.events', 'select')")
            .bind(&reader)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(can_read, "the view keeps the table's readers");
    for statement in [
        format!("drop owned by {reader}"),
        format!("drop role {reader}"),
    ] {
        sqlx::query(&statement).execute(&db.pool).await.unwrap();
    }

    let source = WriteContext {
        connector_id: "ashby-main",
        provider: "ashby",
        via: Via::Webhook,
    };
    // Nanoseconds: PostgreSQL would round them up to the next millisecond, the
    // envelope's milliseconds truncate them; the event keeps microseconds.
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
        + chrono::Duration::nanoseconds(999_999_600);
    let entity = Uuid::new_v4();
    let data = json!({"id": entity, "stage_name": "Offer", "score": 4.5, "big": 12345678901234567890u64,
        "tags": ["a", "ü"], "hiring_team": [{"name": "Jamie", "email": null}], "quote": "\"x\"\n"});
    let created = NewEvent::new(
        &source,
        "application.created".into(),
        "application",
        entity,
        "app_1",
        at,
        data.clone(),
    );
    let changed = NewEvent::new(
        &source,
        "application.stage_changed".into(),
        "application",
        entity,
        "app_1",
        at,
        data,
    )
    .with_changes(Some(
        json!({"stage_name": {"from": "Screen", "to": "Offer"}}),
    ));
    let mut conn = db.pool.acquire().await.unwrap();
    writer::insert_events(&mut conn, &[created.clone(), changed.clone()])
        .await
        .unwrap();
    drop(conn);

    for event in [&created, &changed] {
        let (payload, equal, kept): (Value, bool, Option<Value>) = sqlx::query_as(
            "select e.payload, e.payload = $2, l.payload
               from hiring.events e join hiring.event_log l on l.seq = e.seq where e.id = $1",
        )
        .bind(event.id())
        .bind(event.envelope())
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(payload, event.envelope());
        assert!(equal, "the view's jsonb equals the daemon's envelope");
        assert_eq!(kept, None, "new events store no envelope");
        assert_eq!(payload["timestamp"], "2026-01-02T03:04:05.999Z");
        // What the sinks are sent: the same envelope, put together by the daemon,
        // byte for byte as the envelope serialised as a value.
        let body = events::stored_envelope_body(&log_row(&db.pool, event.id()).await);
        assert_eq!(body, serde_json::to_vec(&payload).unwrap());
    }
    let old: Value = sqlx::query_scalar("select payload from hiring.events where id = 'evt_old'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        old, stored,
        "an envelope stored before the upgrade is read as it was"
    );
    assert_eq!(
        events::stored_envelope_body(&log_row(&db.pool, "evt_old").await),
        serde_json::to_vec(&stored).unwrap()
    );
}

/// An event's row of the log, as the sinks read it.
async fn log_row(pool: &sqlx::PgPool, id: &str) -> StoredEnvelope {
    sqlx::query_as("select * from hiring.event_log where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The re-poll's fingerprint lookup probes the unique index once per id even
/// where the planner would rather scan the table (stale statistics during a
/// backfill; here, index pages made to look dear).
#[tokio::test]
async fn the_fingerprint_lookup_probes_the_index_whatever_the_planner_thinks() {
    let db = support::TestDb::migrated().await;
    sqlx::raw_sql(
        "insert into hiring.jobs (connector_id, remote_id, title, status, content_hash, remote_data_hash, deleted_at)
         select 'c', 'j' || g, 'Engineer', 'open', 'h', 'fp' || g, case when g = 2 then now() end
           from generate_series(1, 2000) g;
         insert into hiring.jobs (connector_id, remote_id, title, status, content_hash, remote_data_hash)
         values ('other', 'j1', 'Engineer', 'open', 'h', 'theirs'), ('c', 'j3000', 'Engineer', 'open', 'h', null);
         analyze hiring.jobs;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let ids: Vec<String> = ["j1", "j2", "j3", "j3000", "missing"]
        .map(String::from)
        .to_vec();

    // Live rows of this connector with a fingerprint; deleted, unknown and
    // fingerprint-less rows are absent.
    let found = store::entities::live_fingerprints(&db.pool, "jobs", "c", &ids)
        .await
        .unwrap();
    let mut found: Vec<(String, String)> = found.into_iter().collect();
    found.sort();
    assert_eq!(
        found,
        [("j1".into(), "fp1".into()), ("j3".into(), "fp3".into())]
    );

    // Scans of hiring.jobs in one transaction where index pages look dear, on a
    // connection of its own: a backend sends its counts to the shared statistics
    // at most once a second, and until then pg_stat_xact_user_tables adds an
    // earlier transaction's scans to this one's.
    let scans = |sql: &'static str| {
        let (url, ids) = (db.url.clone(), ids.clone());
        async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("set local random_page_cost = 1000")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query(sql)
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            let counts: (i64, i64) = sqlx::query_as(
                "select seq_scan, coalesce(idx_scan, 0) from pg_stat_xact_user_tables
                  where schemaname = 'hiring' and relname = 'jobs'",
            )
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            tx.rollback().await.unwrap();
            counts
        }
    };
    let (seq, _) = scans(
        "select t.remote_id from unnest($1::text[]) as r(remote_id)
           cross join lateral (select t.remote_id from hiring.jobs t
                                where t.connector_id = 'c' and t.remote_id = r.remote_id limit 1) t",
    )
    .await;
    assert!(seq > 0, "the same lookup, planned freely, scans the table");
    let (seq, idx) = scans("select * from hiring.live_fingerprints('jobs', 'c', $1)").await;
    assert_eq!((seq, idx), (0, 5), "one index probe per id, no scan");

    // Every table that keeps fingerprints has its branch in the function.
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.columns
          where table_schema = 'hiring' and column_name = 'remote_data_hash'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(tables.len() >= 9, "{tables:?}");
    for table in &tables {
        let found = store::entities::live_fingerprints(&db.pool, table, "c", &ids).await;
        assert!(found.is_ok(), "hiring.{table}: {found:?}");
    }
    let unknown = store::entities::live_fingerprints(&db.pool, "persons", "c", &ids).await;
    assert!(
        unknown.is_err_and(|e| e.to_string().contains("no branch for the table persons")),
        "a table without a branch is an error that names it"
    );
}
