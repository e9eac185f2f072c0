//! The polling half end to end: the Ashby simulator over real HTTP, the engine,
//! and a real PostgreSQL. Backfill, idempotent re-polls, exact incremental
//! changes, token expiry, faults, crash-resume and two engines on one database.

mod support;

use hirebridge::config::Config;
use hirebridge::connectors;
use hirebridge::engine::poller::{self, PassOptions, PassOutcome, PassReport};
use hirebridge::engine::{ConnectorHandle, Engine};
use hirebridge_ashby::sim::{Faults, SimConfig, SimServer, Simulator};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

struct Rig {
    sim: Simulator,
    _server: SimServer,
    handle: Arc<ConnectorHandle>,
    engine: Arc<Engine>,
    pool: PgPool,
    _db: support::TestDb,
}

async fn rig(records: usize, seed: u64) -> Rig {
    rig_with(records, seed, |_| {}).await
}

/// A rig whose connector handle `adjust` changes before the engine takes it.
async fn rig_with(records: usize, seed: u64, adjust: impl FnOnce(&mut ConnectorHandle)) -> Rig {
    let db = support::TestDb::migrated().await;
    let sim = Simulator::new(SimConfig {
        api_key: "test-key".into(),
        seed,
        records,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let Ok(mut handle) = Arc::try_unwrap(handle_for(&server, "ashby-test")) else {
        panic!("a new handle has one owner");
    };
    adjust(&mut handle);
    let handle = Arc::new(handle);
    let engine = Arc::new(
        Engine::new(db.pool.clone(), vec![handle.clone()])
            .await
            .unwrap(),
    );
    Rig {
        sim,
        _server: server,
        handle,
        engine,
        pool: db.pool.clone(),
        _db: db,
    }
}

fn handle_for(server: &SimServer, id: &str) -> Arc<ConnectorHandle> {
    let text = format!(
        "[[connectors]]\nid = \"{id}\"\nprovider = \"ashby\"\nbase_url = \"{}\"\ncredentials = {{ api_key = \"test-key\" }}\n",
        server.base_url()
    );
    let config = Config::from_str_with_env(&text, Path::new("test.toml"), &|_| None).unwrap();
    connectors::build(&config.connectors[0]).unwrap()
}

impl Rig {
    async fn pass(&self, stream: &str, full: bool) -> PassReport {
        let options = PassOptions {
            full,
            ..PassOptions::default()
        };
        self.pass_with(stream, &options).await
    }

    /// One completed pass of `stream` with these options.
    async fn pass_with(&self, stream: &str, options: &PassOptions) -> PassReport {
        let spec = self
            .handle
            .enabled_streams()
            .into_iter()
            .find(|s| s.name == stream)
            .unwrap();
        let report = poller::run_pass(&self.engine, &self.handle, &spec, options).await;
        assert_eq!(
            report.outcome,
            PassOutcome::Completed,
            "{stream}: {report:?}"
        );
        report
    }

    /// One pass of every stream; the reports by stream.
    async fn sync_all(&self, full: bool) -> BTreeMap<String, PassReport> {
        let mut out = BTreeMap::new();
        for spec in self.handle.enabled_streams() {
            out.insert(spec.name.to_string(), self.pass(spec.name, full).await);
        }
        out
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn events(&self) -> i64 {
        self.count("select count(*) from hiring.events").await
    }
}

fn totals(reports: &BTreeMap<String, PassReport>) -> (u64, u64, u64, u64) {
    reports.values().fold((0, 0, 0, 0), |acc, r| {
        (
            acc.0 + r.created,
            acc.1 + r.updated,
            acc.2 + r.deleted,
            acc.3 + r.events,
        )
    })
}

const ENTITY_OBJECTS: [(&str, &str); 7] = [
    ("candidate", "candidates"),
    ("application", "applications"),
    ("job", "jobs"),
    ("jobPosting", "job_postings"),
    ("interviewSchedule", "interviews"),
    ("offer", "offers"),
    ("applicationFeedback", "reviews"),
];

#[tokio::test]
async fn backfill_lands_every_record_once_with_references_then_repolls_write_nothing() {
    let rig = rig(6000, 7).await;
    let counts = rig.sim.counts();
    let reports = rig.sync_all(false).await;
    let (created, updated, deleted, events) = totals(&reports);

    let mut expected_total = 0;
    for (object, table) in ENTITY_OBJECTS {
        let held = rig
            .count(&format!(
                "select count(*) from hiring.{table} where deleted_at is null"
            ))
            .await;
        assert_eq!(held as usize, counts[object], "{table}");
        expected_total += counts[object];
    }
    assert!(
        counts["candidate"] >= 2000,
        "thousands per entity: {counts:?}"
    );
    assert_eq!(created as usize, expected_total);
    assert_eq!((updated, deleted), (0, 0));
    assert_eq!(rig.events().await as u64, events);
    assert!(events >= created, "one created event per record at least");

    // References resolved, whatever order the streams ran in.
    let dangling = rig
        .count(
            "select count(*) from hiring.applications where candidate_id is null or job_id is null",
        )
        .await;
    assert_eq!(dangling, 0);
    let persons = rig.count("select count(*) from hiring.persons").await;
    assert!(persons > 0 && persons <= counts["candidate"] as i64);

    // Unchanged data: an incremental pass and a full pass write and emit nothing.
    let before = rig.events().await;
    for full in [false, true] {
        let again = rig.sync_all(full).await;
        assert_eq!(totals(&again), (0, 0, 0, 0), "full={full}: {again:?}");
    }
    assert_eq!(rig.events().await, before);
}

#[tokio::test]
async fn incremental_pass_touches_exactly_what_changed() {
    let rig = rig(800, 11).await;
    rig.sync_all(false).await;
    let seq: i64 = rig
        .count("select coalesce(max(seq), 0) from hiring.events")
        .await;

    let new_id = rig
        .sim
        .create_candidate("Grace Hopper", "grace@navy.example");
    let existing = rig.sim.ids("candidate")[3].clone();
    rig.sim
        .update_candidate(&existing, |c| c["name"] = "Renamed Person".into());
    let application = rig.sim.ids("application")[5].clone();
    let current_stage = rig.sim.get("application", &application).unwrap()["currentInterviewStage"]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stages = rig.sim.ids("interviewStage");
    let other_stage = stages
        .iter()
        .find(|s| **s != current_stage)
        .unwrap()
        .clone();
    rig.sim.move_application_stage(&application, &other_stage);
    let posting = rig.sim.ids("jobPosting")[0].clone();
    rig.sim.delete("jobPosting", &posting);

    let c = rig.pass("candidates", false).await;
    assert_eq!(
        (c.seen, c.created, c.updated, c.events),
        (2, 1, 1, 2),
        "{c:?}"
    );
    let a = rig.pass("applications", false).await;
    assert_eq!((a.seen, a.updated), (1, 1), "{a:?}");
    let p = rig.pass("job_postings", false).await;
    assert_eq!((p.created, p.updated, p.deleted), (0, 0, 1), "{p:?}");

    let events: Vec<(String, Option<String>, serde_json::Value)> = sqlx::query_as(
        "select type, remote_id, coalesce(changes, 'null'::jsonb) from hiring.events where seq > $1 order by seq",
    )
    .bind(seq)
    .fetch_all(&rig.pool)
    .await
    .unwrap();
    let types: Vec<&str> = events.iter().map(|(t, _, _)| t.as_str()).collect();
    assert!(types.contains(&"candidate.created"), "{types:?}");
    assert!(types.contains(&"job_posting.deleted"), "{types:?}");
    let renamed = events
        .iter()
        .find(|(t, r, _)| t == "candidate.updated" && r.as_deref() == Some(existing.as_str()))
        .unwrap_or_else(|| panic!("no candidate.updated for {existing}: {events:?}"));
    assert!(
        renamed.2.to_string().contains("name"),
        "changed fields: {}",
        renamed.2
    );
    assert!(
        events
            .iter()
            .any(|(t, r, _)| t == "application.stage_changed"
                && r.as_deref() == Some(application.as_str())),
        "{types:?}"
    );
    let new_row = rig
        .count(&format!(
            "select count(*) from hiring.candidates where remote_id = '{new_id}'"
        ))
        .await;
    assert_eq!(new_row, 1);
    let stage_changes = rig
        .count("select count(*) from hiring.application_stage_changes")
        .await;
    assert!(stage_changes >= 1);
}

#[tokio::test]
async fn expired_sync_token_runs_a_full_pass_without_duplicates_or_events() {
    let rig = rig(600, 3).await;
    rig.sync_all(false).await;
    let events = rig.events().await;
    rig.sim.expire_sync_tokens();
    let r = rig.pass("candidates", false).await;
    assert!(r.full_pass, "{r:?}");
    assert_eq!(r.seen as usize, rig.sim.counts()["candidate"]);
    assert_eq!((r.created, r.updated, r.deleted, r.events), (0, 0, 0, 0));
    assert_eq!(rig.events().await, events);
    let dupes = rig
        .count("select count(*) from (select remote_id from hiring.candidates group by 1 having count(*) > 1) d")
        .await;
    assert_eq!(dupes, 0);
    // The next pass is incremental again.
    let next = rig.pass("candidates", false).await;
    assert!(!next.full_pass && next.seen == 0, "{next:?}");
}

#[tokio::test]
async fn rate_limit_storms_errors_and_latency_still_complete_with_correct_counts() {
    let rig = rig(1500, 5).await;
    rig.sim.set_faults(Faults {
        error_rate: 0.15,
        latency: Duration::from_millis(5),
        storm_429: 6,
        ..Faults::default()
    });
    let reports = rig.sync_all(false).await;
    let counts = rig.sim.counts();
    assert_eq!(reports["candidates"].created as usize, counts["candidate"]);
    assert_eq!(
        reports["applications"].created as usize,
        counts["application"]
    );
    let stats = rig.sim.request_count();
    assert!(stats > 0);
    rig.sim.set_faults(Faults::default());
    let again = rig.sync_all(false).await;
    assert_eq!(totals(&again), (0, 0, 0, 0));
}

#[tokio::test]
async fn a_pass_killed_after_some_pages_resumes_without_loss_or_doubles() {
    let rig = Arc::new(rig(3000, 9).await);
    let candidates = rig.sim.counts()["candidate"];
    assert!(candidates > 500);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let progress: poller::ProgressFn = Arc::new(move |r: &PassReport| {
        let _ = tx.send(r.pages);
    });
    let spec = rig
        .handle
        .enabled_streams()
        .into_iter()
        .find(|s| s.name == "candidates")
        .unwrap();
    let task = {
        let rig = rig.clone();
        let spec = spec.clone();
        tokio::spawn(async move {
            rig.sim.set_faults(Faults {
                latency: Duration::from_millis(30),
                ..Faults::default()
            });
            poller::run_pass(
                &rig.engine,
                &rig.handle,
                &spec,
                &PassOptions {
                    progress: Some(progress),
                    ..PassOptions::default()
                },
            )
            .await
        })
    };
    while let Some(pages) = rx.recv().await {
        if pages >= 3 {
            break;
        }
    }
    task.abort();
    let _ = task.await;
    rig.sim.set_faults(Faults::default());
    let committed = rig.count("select count(*) from hiring.candidates").await;
    assert!(
        committed >= 300 && (committed as usize) < candidates,
        "{committed}"
    );

    let rest = rig.pass("candidates", false).await;
    let held = rig.count("select count(*) from hiring.candidates").await;
    assert_eq!(held as usize, candidates);
    assert_eq!(
        committed as u64 + rest.created,
        candidates as u64,
        "{rest:?}"
    );
    let events = rig
        .count("select count(*) from hiring.events where type = 'candidate.created'")
        .await;
    assert_eq!(
        events as usize, candidates,
        "one created event per candidate, none doubled"
    );
}

#[tokio::test]
async fn two_engines_on_one_database_poll_each_stream_once() {
    let rig = rig(2000, 13).await;
    rig.sim.set_faults(Faults {
        latency: Duration::from_millis(20),
        ..Faults::default()
    });
    let other = Engine::new(rig.pool.clone(), vec![rig.handle.clone()])
        .await
        .unwrap();
    assert_ne!(other.owner, rig.engine.owner);
    let spec = rig
        .handle
        .enabled_streams()
        .into_iter()
        .find(|s| s.name == "candidates")
        .unwrap();
    let options = PassOptions::default();
    let (a, b) = tokio::join!(
        poller::run_pass(&rig.engine, &rig.handle, &spec, &options),
        poller::run_pass(&other, &rig.handle, &spec, &options)
    );
    let outcomes = [a.outcome, b.outcome];
    assert!(outcomes.contains(&PassOutcome::Completed), "{a:?} {b:?}");
    assert!(
        outcomes.contains(&PassOutcome::Skipped),
        "the second engine must find the lease taken: {a:?} {b:?}"
    );
    let candidates = rig.sim.counts()["candidate"] as i64;
    assert_eq!(
        rig.count("select count(*) from hiring.candidates").await,
        candidates
    );
    assert_eq!(
        rig.count("select count(*) from hiring.events where type = 'candidate.created'")
            .await,
        candidates
    );
}

#[tokio::test]
async fn a_candidate_from_another_connector_joins_the_same_person() {
    let db = support::TestDb::migrated().await;
    let mut handles = Vec::new();
    let mut sims = Vec::new();
    let mut servers = Vec::new();
    for (id, seed) in [("ashby-eu", 31), ("ashby-us", 32)] {
        let sim = Simulator::new(SimConfig {
            api_key: "test-key".into(),
            seed,
            records: 50,
            ..SimConfig::default()
        });
        let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
        handles.push(handle_for(&server, id));
        sims.push(sim);
        servers.push(server);
    }
    sims[0].create_candidate("Ada Lovelace", "Ada.Lovelace@Example.com");
    sims[1].create_candidate("Ada King", " ada.lovelace@example.com ");
    let engine = Engine::new(db.pool.clone(), handles.clone()).await.unwrap();
    for handle in &handles {
        let spec = handle
            .enabled_streams()
            .into_iter()
            .find(|s| s.name == "candidates")
            .unwrap();
        let r = poller::run_pass(&engine, handle, &spec, &PassOptions::default()).await;
        assert_eq!(r.outcome, PassOutcome::Completed, "{r:?}");
    }
    let linked: Vec<(String, serde_json::Value)> = sqlx::query_as(
        // Both simulators also hold the shared fake people, who link too; this
        // test follows the one candidate it created.
        "select connector_id, payload from hiring.events where type = 'person.linked'
            and payload->'data'->>'email' = 'ada.lovelace@example.com'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0].0, "ashby-us");
    assert_eq!(linked[0].1["data"]["email"], "ada.lovelace@example.com");
    let persons: i64 = sqlx::query_scalar(
        "select count(distinct person_id) from hiring.candidates where email_normalized = 'ada.lovelace@example.com'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(persons, 1);
}

/// Live candidate rows of the rig's connector with these remote ids.
async fn live_candidates(rig: &Rig, ids: &[String]) -> i64 {
    sqlx::query_scalar(
        "select count(*) from hiring.candidates
          where connector_id = $1 and remote_id = any($2) and deleted_at is null",
    )
    .bind(&rig.handle.id)
    .bind(ids)
    .fetch_one(&rig.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn deletion_guard_counts_what_was_held_before_the_pass_not_what_it_created() {
    let rig = rig(300, 21).await;
    rig.pass("candidates", false).await;
    let old = rig.sim.ids("candidate");
    assert!(
        old.len() >= 40,
        "enough records for the guard: {}",
        old.len()
    );
    assert_eq!(live_candidates(&rig, &old).await as usize, old.len());

    // The provider now answers with an entirely different set of ids (a wrong
    // account, a botched migration on its side): every old id is gone.
    for id in &old {
        rig.sim.delete("candidate", id);
    }
    for i in 0..old.len() {
        rig.sim
            .create_candidate(&format!("New Person {i}"), &format!("new{i}@example.com"));
    }
    let deleted_events = rig
        .count("select count(*) from hiring.events where type = 'candidate.deleted'")
        .await;

    let r = rig.pass("candidates", true).await;
    assert!(r.full_pass, "{r:?}");
    assert_eq!(r.created as usize, old.len(), "{r:?}");
    assert_eq!(r.deleted, 0, "the guard must hold: {r:?}");
    let warning = r.warning.clone().unwrap_or_default();
    assert!(warning.contains("deletion guard"), "{r:?}");
    assert!(
        warning.contains(&format!("{} of the {}", old.len(), old.len())),
        "the warning compares with what was held before the pass: {warning}"
    );
    assert_eq!(live_candidates(&rig, &old).await as usize, old.len());
    assert_eq!(
        rig.count("select count(*) from hiring.events where type = 'candidate.deleted'")
            .await,
        deleted_events
    );
    // The operator sees why in the stream's state.
    let recorded: Option<String> = sqlx::query_scalar(
        "select last_error from hiring.sync_state where connector_id = $1 and stream = 'candidates'",
    )
    .bind(&rig.handle.id)
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert!(
        recorded.unwrap_or_default().contains("deletion guard"),
        "recorded in sync_state"
    );
    // ...as a warning of the pass, which `status` and `top` show as WARNING,
    // not as "ok (full)".
    let warning: Option<String> = sqlx::query_scalar(
        "select last_counts->>'warning' from hiring.sync_state where connector_id = $1 and stream = 'candidates'",
    )
    .bind(&rig.handle.id)
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert!(warning.unwrap_or_default().contains("deletion guard"));
}

#[tokio::test]
async fn deletion_guard_lets_a_small_deletion_through_even_with_new_records() {
    let rig = rig(300, 22).await;
    rig.pass("candidates", false).await;
    let held = rig.sim.ids("candidate");
    assert!(held.len() >= 40, "{}", held.len());
    let gone: Vec<String> = held.iter().take(3).cloned().collect();
    for id in &gone {
        rig.sim.delete("candidate", id);
    }
    for i in 0..5 {
        rig.sim.create_candidate(
            &format!("Fresh Person {i}"),
            &format!("fresh{i}@example.com"),
        );
    }

    let r = rig.pass("candidates", true).await;
    assert_eq!((r.created, r.deleted), (5, 3), "{r:?}");
    assert!(r.warning.is_none(), "{r:?}");
    assert_eq!(live_candidates(&rig, &gone).await, 0);
    assert_eq!(
        live_candidates(&rig, &held).await as usize,
        held.len() - gone.len()
    );
    let deleted: Vec<String> = sqlx::query_scalar(
        "select remote_id from hiring.events where type = 'candidate.deleted' order by remote_id",
    )
    .fetch_all(&rig.pool)
    .await
    .unwrap();
    let mut expected = gone.clone();
    expected.sort();
    assert_eq!(deleted, expected);
    // The ids the pass saw were kept in the database for the sweep, not in
    // memory, and are gone once the pass is.
    assert_eq!(rig.count("select count(*) from hiring.pass_seen").await, 0);
}

/// `xmin` of every candidate row: unchanged exactly when nothing was written.
async fn candidate_row_versions(rig: &Rig) -> Vec<(String, String)> {
    sqlx::query_as("select remote_id, xmin::text from hiring.candidates order by remote_id")
        .fetch_all(&rig.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_raw_only_change_refreshes_remote_data_without_an_event_and_a_repoll_writes_nothing() {
    use chrono::{DateTime, Utc};
    use hirebridge::engine::events::Via;
    use hirebridge::engine::writer::{self, WriteContext};

    let rig = rig(300, 23).await;
    rig.pass("candidates", false).await;
    let id = rig.sim.ids("candidate")[2].clone();
    let stored = |rig: &Rig, id: String| {
        let pool = rig.pool.clone();
        async move {
            sqlx::query_as::<_, (serde_json::Value, Option<DateTime<Utc>>)>(
                "select remote_data, remote_updated_at from hiring.candidates where remote_id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (raw_before, updated_before) = stored(&rig, id.clone()).await;
    let events = rig.events().await;

    // `timezone` is not mapped to any canonical field; the edit also bumps `updatedAt`.
    tokio::time::sleep(Duration::from_millis(5)).await;
    rig.sim
        .update_candidate(&id, |c| c["timezone"] = "Pacific/Auckland".into());
    let raw = rig.sim.get("candidate", &id).unwrap();
    let r = rig.pass("candidates", false).await;
    assert_eq!(
        (r.seen, r.created, r.updated, r.events),
        (1, 0, 0, 0),
        "{r:?}"
    );

    let (raw_after, updated_after) = stored(&rig, id.clone()).await;
    assert_ne!(raw_after, raw_before);
    assert_eq!(
        raw_after, raw,
        "remote_data is the provider's latest object"
    );
    assert_eq!(raw_after["timezone"], "Pacific/Auckland");
    let expected_updated = DateTime::parse_from_rfc3339(raw["updatedAt"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(updated_after, Some(expected_updated));
    assert!(updated_after > updated_before);
    assert_eq!(rig.events().await, events, "no event for a raw-only change");

    // The same data again (a full pass reads every record): not one row written.
    let versions = candidate_row_versions(&rig).await;
    for full in [false, true] {
        let again = rig.pass("candidates", full).await;
        assert_eq!(
            (again.created, again.updated, again.deleted, again.events),
            (0, 0, 0, 0),
            "{again:?}"
        );
    }
    assert_eq!(candidate_row_versions(&rig).await, versions);
    assert_eq!(rig.events().await, events);

    // A late delivery of an older raw object must not overwrite the newer one.
    let mut older = raw.clone();
    older["timezone"] = "Etc/UTC".into();
    older["updatedAt"] = (expected_updated - chrono::Duration::hours(1))
        .to_rfc3339()
        .into();
    let record =
        hirebridge_ashby::connector::map_object("candidates", older.clone(), &Default::default())
            .unwrap();
    let ctx = WriteContext {
        connector_id: &rig.handle.id,
        provider: rig.handle.provider,
        via: Via::Webhook,
    };
    let mut tx = rig.pool.begin().await.unwrap();
    let counts = writer::write_records(&mut tx, &rig.engine.columns, &ctx, vec![record])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((counts.stale, counts.events), (1, 0), "{counts:?}");
    assert_eq!(
        stored(&rig, id.clone()).await,
        (raw, Some(expected_updated))
    );
    assert_eq!(candidate_row_versions(&rig).await, versions);
}

/// A full pass passes over every object the provider sends as it was stored,
/// before mapping it: its record is not compared, not written, and (shown here
/// by a content hash spoiled behind the writer's back) not even recomputed. An
/// object whose record was deleted meanwhile is mapped and written again.
#[tokio::test]
async fn a_full_pass_passes_over_objects_held_as_they_are_before_mapping_them() {
    let rig = rig(300, 24).await;
    rig.pass("candidates", true).await;
    let ids = rig.sim.ids("candidate");
    let (spoiled, deleted) = (ids[0].clone(), ids[1].clone());
    sqlx::query("update hiring.candidates set content_hash = 'spoiled' where remote_id = $1")
        .bind(&spoiled)
        .execute(&rig.pool)
        .await
        .unwrap();
    sqlx::query("update hiring.candidates set deleted_at = now() where remote_id = $1")
        .bind(&deleted)
        .execute(&rig.pool)
        .await
        .unwrap();
    let events = rig.events().await;

    let again = rig.pass("candidates", true).await;
    assert_eq!(again.seen as usize, ids.len());
    assert_eq!(
        (again.created, again.updated, again.unchanged, again.deleted),
        (0, 1, ids.len() as u64 - 1, 0),
        "{again:?}"
    );
    let hash: String =
        sqlx::query_scalar("select content_hash from hiring.candidates where remote_id = $1")
            .bind(&spoiled)
            .fetch_one(&rig.pool)
            .await
            .unwrap();
    assert_eq!(hash, "spoiled", "an object held as it is was not mapped");
    let back: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select type, changes from hiring.events where seq > (select coalesce(max(seq), 0) from hiring.events) - $1",
    )
    .bind(rig.events().await - events)
    .fetch_all(&rig.pool)
    .await
    .unwrap();
    assert_eq!(
        back,
        vec![(
            "candidate.updated".to_string(),
            serde_json::json!({"deleted": {"from": true, "to": false}})
        )]
    );
    assert_eq!(
        rig.count("select count(*) from hiring.candidates where deleted_at is not null")
            .await,
        0
    );
}

/// What mapping reads besides an object is part of its fingerprint: after a
/// department is renamed, the next full pass maps every job again although no
/// job changed, and the department's jobs carry the new name with an event
/// each; the other jobs get no event.
#[tokio::test]
async fn a_renamed_department_reaches_its_unchanged_jobs_in_the_next_full_pass() {
    let rig = rig(300, 25).await;
    rig.sync_all(true).await;
    let (name, jobs): (String, i64) = sqlx::query_as(
        "select department, count(*) from hiring.jobs where department is not null
          group by department order by 2 desc, 1 limit 1",
    )
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    let department = rig
        .sim
        .ids("department")
        .into_iter()
        .find(|id| {
            let d = rig.sim.get("department", id).unwrap();
            d.get("externalName").unwrap_or(&d["name"]) == name.as_str()
        })
        .unwrap();
    rig.sim.update("department", &department, |d| {
        d["name"] = "Renamed".into();
        d["externalName"] = "Renamed".into();
    });
    let events = rig.events().await;

    let reports = rig.sync_all(true).await;
    assert_eq!(
        reports["jobs"].updated, jobs as u64,
        "{:?}",
        reports["jobs"]
    );
    assert_eq!(
        rig.count("select count(*) from hiring.jobs where department = 'Renamed'")
            .await,
        jobs
    );
    let changes: Vec<serde_json::Value> = sqlx::query_scalar(
        "select changes->'department' from hiring.events where seq > (select max(seq) from hiring.events) - $1",
    )
    .bind(rig.events().await - events)
    .fetch_all(&rig.pool)
    .await
    .unwrap();
    assert_eq!(changes.len() as i64, jobs);
    assert!(changes
        .iter()
        .all(|c| *c == serde_json::json!({"from": name, "to": "Renamed"})));
}

/// A record another writer (here a webhook) wrote while a full pass ran is not
/// swept at its end although the pass never listed it: the provider may have
/// created it behind the pass's position. The same pass still deletes what it
/// should.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_by_a_webhook_during_a_full_pass_is_not_swept() {
    use hirebridge::engine::events::Via;
    use hirebridge::engine::writer::{self, WriteContext};
    use std::sync::atomic::{AtomicBool, Ordering};

    let rig = rig(600, 24).await;
    let first = rig.pass("candidates", false).await;
    assert!(first.seen > 100, "more than one commit per pass: {first:?}");
    let gone = rig.sim.ids("candidate")[0].clone();
    rig.sim.delete("candidate", &gone);

    // A candidate the provider announces by webhook, created where the pass's
    // listing has already been: the pass never sees it.
    let raw: serde_json::Value =
        sqlx::query_scalar("select remote_data from hiring.candidates where remote_id = $1")
            .bind(&rig.sim.ids("candidate")[1])
            .fetch_one(&rig.pool)
            .await
            .unwrap();
    let mut fresh = raw.clone();
    fresh["id"] = "b9f1c2de-0000-4000-8000-00000000feed".into();
    fresh["primaryEmailAddress"] =
        serde_json::json!({"value": "mid.pass@example.com", "type": "Work", "isPrimary": true});
    let record =
        hirebridge_ashby::connector::map_object("candidates", fresh.clone(), &Default::default())
            .unwrap();
    let fresh_id = record.meta().remote_id.clone();

    let written = Arc::new(AtomicBool::new(false));
    let (pool, columns, connector) = (
        rig.pool.clone(),
        rig.engine.columns.clone(),
        rig.handle.id.clone(),
    );
    let provider = rig.handle.provider;
    let flag = written.clone();
    let runtime = tokio::runtime::Handle::current();
    let progress: poller::ProgressFn = Arc::new(move |_report| {
        if flag.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::task::block_in_place(|| {
            runtime.block_on(async {
                let ctx = WriteContext {
                    connector_id: &connector,
                    provider,
                    via: Via::Webhook,
                };
                let mut tx = pool.begin().await.unwrap();
                let counts = writer::write_records(&mut tx, &columns, &ctx, vec![record.clone()])
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                assert_eq!(counts.created, 1, "{counts:?}");
            })
        });
    });
    let options = PassOptions {
        full: true,
        progress: Some(progress),
        ..PassOptions::default()
    };
    let r = rig.pass_with("candidates", &options).await;
    assert!(written.load(Ordering::SeqCst), "written mid-pass");
    assert_eq!(r.deleted, 1, "only what the provider deleted: {r:?}");
    assert_eq!(
        (r.created, r.updated),
        (0, 0),
        "nothing changed at the provider: {r:?}"
    );
    assert_eq!(live_candidates(&rig, &[gone]).await, 0);
    assert_eq!(live_candidates(&rig, &[fresh_id]).await, 1);
}

/// A record written before the records it references already carries their
/// final ids (derived from their remote ids), so when they arrive nothing is
/// rewritten; a reference to a row stored before ids were derived keeps that
/// row's random id. The SQL twin of the derivation agrees with the writer's.
#[tokio::test]
async fn references_written_before_their_rows_name_them_without_a_second_write() {
    let rig = rig(300, 31).await;
    let connector = rig.handle.id.clone();
    // A candidate stored the old way (random id), before any pass.
    let old_remote = rig.sim.ids("candidate")[0].clone();
    let old_id: uuid::Uuid = sqlx::query_scalar(
        "insert into hiring.candidates (connector_id, remote_id, content_hash)
         values ($1, $2, 'old') returning id",
    )
    .bind(&connector)
    .bind(&old_remote)
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    // A database that never held random ids looks no reference up; the
    // migration's look (run again here, as an upgrade would find it) lists the
    // target that holds one.
    let listed = || async {
        sqlx::query_scalar::<_, String>("select table_name from hiring.random_id_tables order by 1")
            .fetch_all(&rig.pool)
            .await
            .unwrap()
    };
    assert!(listed().await.is_empty());
    let noted: Vec<String> = sqlx::query_scalar("select hiring.note_random_id_tables()")
        .fetch_all(&rig.pool)
        .await
        .unwrap();
    assert_eq!(noted, ["candidates"]);
    assert_eq!(listed().await, ["candidates"]);

    let apps = rig.pass("applications", false).await;
    assert!(apps.created > 100, "{apps:?}");
    let versions = || async {
        sqlx::query_as::<_, (String, String, Option<uuid::Uuid>)>(
            "select remote_id, xmin::text, candidate_id from hiring.applications order by remote_id",
        )
        .fetch_all(&rig.pool)
        .await
        .unwrap()
    };
    let before = versions().await;
    assert!(
        before.iter().all(|(_, _, c)| c.is_some()),
        "every application names its candidate before the candidates arrive"
    );
    let to_old: i64 = rig
        .count(&format!(
            "select count(*) from hiring.applications where candidate_remote_id = '{old_remote}' and candidate_id = '{old_id}'"
        ))
        .await;
    let of_old: i64 = rig
        .count(&format!(
            "select count(*) from hiring.applications where candidate_remote_id = '{old_remote}'"
        ))
        .await;
    assert_eq!(to_old, of_old, "a stored row's own id wins");

    rig.pass("candidates", false).await;
    rig.pass("jobs", false).await;
    assert_eq!(versions().await, before, "no application was written again");
    let dangling = rig
        .count(
            "select count(*) from hiring.applications a
              where not exists (select 1 from hiring.candidates c where c.id = a.candidate_id)
                 or not exists (select 1 from hiring.jobs j where j.id = a.job_id)",
        )
        .await;
    assert_eq!(dangling, 0, "every reference names the row that arrived");

    // The writer's derivation and its SQL twin agree on every new row.
    let rows: Vec<(String, uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
        "select remote_id, id, hiring.entity_id(connector_id, 'candidates', remote_id)
           from hiring.candidates where remote_id <> $1",
    )
    .bind(&old_remote)
    .fetch_all(&rig.pool)
    .await
    .unwrap();
    assert!(rows.len() > 100);
    for (remote_id, id, in_sql) in rows {
        assert_eq!(id, in_sql, "{remote_id}");
        assert_eq!(
            id,
            hirebridge::store::entities::entity_id(&connector, "candidates", &remote_id)
        );
        assert_eq!(id.get_version_num(), 8);
    }
}

type StoredCandidate = (
    Vec<String>,
    serde_json::Value,
    Option<String>,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// Every kind of value the writer sends reaches its typed column intact: text
/// arrays with quotes, backslashes, commas, braces and non-ASCII text; raw JSON
/// with the same; times; empty arrays; absent values as NULL.
#[tokio::test]
async fn values_reach_their_typed_columns_intact() {
    use hirebridge::engine::events::Via;
    use hirebridge::engine::writer::{self, WriteContext};
    use hirebridge_sdk::{Candidate, Record, RecordMeta};

    let rig = rig(10, 5).await;
    let tags = vec![
        r#"say "hi""#.to_string(),
        r"back\slash".to_string(),
        "a,b".to_string(),
        "{braces}".to_string(),
        "NULL".to_string(),
        "Zoë Ångström 日本".to_string(),
        String::new(),
    ];
    let raw = serde_json::json!({"id": "tricky-1", "note": "quote \" and \\ and é", "n": 1.5, "list": [1, null]});
    let updated = chrono::DateTime::parse_from_rfc3339("2026-03-04T05:06:07.891Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let record = |tags: Vec<String>| {
        Record::Candidate(Candidate {
            meta: RecordMeta {
                remote_id: "tricky-1".into(),
                remote_created_at: None,
                remote_updated_at: Some(updated),
                remote_data: raw.clone(),
                fingerprint: None,
            },
            name: Some("O'Brien \"Bob\"".into()),
            tags,
            ..Default::default()
        })
    };
    let ctx = WriteContext {
        connector_id: &rig.handle.id,
        provider: rig.handle.provider,
        via: Via::Webhook,
    };
    for batch in [vec![record(tags.clone())], vec![record(Vec::new())]] {
        let mut tx = rig.pool.begin().await.unwrap();
        writer::write_records(&mut tx, &rig.engine.columns, &ctx, batch)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let row: StoredCandidate = sqlx::query_as(
            "select tags, remote_data, name, email, remote_updated_at, remote_created_at
                   from hiring.candidates where remote_id = 'tricky-1'",
        )
        .fetch_one(&rig.pool)
        .await
        .unwrap();
        if row.0.is_empty() {
            assert_eq!(rig.count("select count(*) from hiring.candidates where remote_id = 'tricky-1' and tags = '{}'").await, 1);
        } else {
            assert_eq!(row.0, tags);
        }
        assert_eq!(row.1, raw);
        assert_eq!(row.2.as_deref(), Some("O'Brien \"Bob\""));
        assert_eq!((row.3, row.4, row.5), (None, updated, None));
    }
}

/// The writer sends rows column by column, each cast to its column's type; what
/// every column of every entity table holds afterwards is what PostgreSQL's own
/// `jsonb_populate_record` reads from the same row as JSON (how rows travelled
/// before), for a value of each type the schema has (tricky text, times with
/// nanoseconds, JSON, text arrays, floats, exact decimals, dates, booleans) and
/// for nulls.
#[tokio::test]
async fn every_column_type_reads_its_cells_as_postgresql_reads_json() {
    use hirebridge::store::entities::{self, EntityRow, SchemaColumns};
    use hirebridge_sdk::EntityKind;
    use serde_json::{json, Map, Value};

    let db = support::TestDb::migrated().await;
    let columns = SchemaColumns::load(&db.pool).await.unwrap();
    let raw = json!({"note": "quote \" and \\ and é", "n": 1.5, "list": [1, null], "s": "x"});
    for kind in EntityKind::ALL.iter().copied() {
        let table = kind.table();
        // The values are about types, not about what a status may be.
        let checks: Vec<String> = sqlx::query_scalar(
            "select conname::text from pg_constraint
              where conrelid = ('hiring.' || $1)::regclass and contype = 'c'",
        )
        .bind(table)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        for check in checks {
            sqlx::query(&format!(
                "alter table hiring.{table} drop constraint {check}"
            ))
            .execute(&db.pool)
            .await
            .unwrap();
        }
        let types: Vec<(String, String, bool)> = sqlx::query_as(
            "select column_name::text, udt_name::text, is_nullable = 'YES'
               from information_schema.columns
              where table_schema = 'hiring' and table_name = $1
                and column_name not in ('first_seen_at', 'updated_at', 'deleted_at',
                                        'person_id', 'remote_data')",
        )
        .bind(table)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let row = |remote_id: &str, null: bool| -> Map<String, Value> {
            let mut map = Map::new();
            for (column, udt, nullable) in &types {
                let value = match (column.as_str(), udt.as_str()) {
                    ("connector_id", _) => json!("conn-typed"),
                    ("remote_id", _) => json!(remote_id),
                    ("content_hash", _) => json!("hash"),
                    (_, "_text") if null => json!([]),
                    _ if null && *nullable => Value::Null,
                    (_, "text") => json!("O'Brien \"x\" \\ {a,b} é 日本"),
                    (_, "uuid") => json!("0195f3a2-0000-7000-8000-000000000001"),
                    (_, "timestamptz") => json!("2026-03-04T05:06:07.891234567Z"),
                    (_, "jsonb") => raw.clone(),
                    (_, "_text") => {
                        json!(["a,b", "{x}", "say \"hi\"", "back\\slash", null, "NULL", ""])
                    }
                    (_, "float8") => json!(0.1),
                    (_, "numeric") => json!(12345678901234567890_u64),
                    (_, "date") => json!("2028-02-29"),
                    (_, "bool") => json!(true),
                    (_, "int2" | "int4" | "int8") => json!(7),
                    (_, other) => panic!("{table}.{column}: no test value for type {other}"),
                };
                map.insert(column.clone(), value);
            }
            map
        };
        // A raw object is never null; a JSON string is JSON too.
        let null_raw = json!("a string, not an object");
        let mut rows = [
            EntityRow {
                columns: row("full", false),
                remote_data: &raw,
            },
            EntityRow {
                columns: row("nulls", true),
                remote_data: &null_raw,
            },
        ];
        let mut tx = db.pool.begin().await.unwrap();
        let written =
            entities::upsert_rows(&mut tx, &columns, table, &mut rows, &Default::default())
                .await
                .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(written.len(), 2, "{table}");
        for row in &rows {
            let mut sent = row.columns.clone();
            sent.insert("remote_data".into(), row.remote_data.clone());
            let (stored, read): (Value, Value) = sqlx::query_as(&format!(
                "select to_jsonb(t), to_jsonb(jsonb_populate_record(null::hiring.{table}, $2))
                   from hiring.{table} t where t.connector_id = 'conn-typed' and t.remote_id = $1"
            ))
            .bind(sent["remote_id"].as_str())
            .bind(Value::Object(sent.clone()))
            .fetch_one(&db.pool)
            .await
            .unwrap();
            for column in sent.keys() {
                assert_eq!(
                    stored[column], read[column],
                    "{table}.{column} of row {}",
                    sent["remote_id"]
                );
            }
        }
    }
}

/// A merge whose candidates have not arrived yet still repoints what referenced
/// the removed one: at the id the survivor will have, which it gets when it comes.
#[tokio::test]
async fn a_merge_before_either_candidate_arrives_repoints_to_the_survivors_future_id() {
    use hirebridge::engine::events::Via;
    use hirebridge::engine::writer::{self, WriteContext};
    use hirebridge_sdk::{Application, EntityKind, Record, RecordMeta};

    let rig = rig(10, 7).await;
    let ctx = WriteContext {
        connector_id: &rig.handle.id,
        provider: rig.handle.provider,
        via: Via::Webhook,
    };
    let meta = |id: &str| RecordMeta {
        remote_id: id.into(),
        remote_data: serde_json::json!({ "id": id }),
        ..Default::default()
    };
    let write = |records: Vec<Record>| async {
        let mut tx = rig.pool.begin().await.unwrap();
        writer::write_records(&mut tx, &rig.engine.columns, &ctx, records)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    write(vec![Record::Application(Application {
        meta: meta("app-1"),
        candidate_remote_id: Some("cand-removed".into()),
        ..Default::default()
    })])
    .await;
    let mut tx = rig.pool.begin().await.unwrap();
    writer::merge_records(
        &mut tx,
        &ctx,
        EntityKind::Candidate,
        "cand-removed",
        "cand-survivor",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    write(vec![named_candidate("cand-survivor", "Ada")]).await;

    let (remote, joined): (String, Option<String>) = sqlx::query_as(
        "select a.candidate_remote_id, c.name from hiring.applications a
           left join hiring.candidates c on c.id = a.candidate_id
          where a.remote_id = 'app-1'",
    )
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert_eq!(
        (remote.as_str(), joined.as_deref()),
        ("cand-survivor", Some("Ada"))
    );
}

/// A candidate with this remote id and name, and a raw object to match.
fn named_candidate(remote_id: &str, name: &str) -> hirebridge_sdk::Record {
    hirebridge_sdk::Record::Candidate(hirebridge_sdk::Candidate {
        meta: hirebridge_sdk::RecordMeta {
            remote_id: remote_id.into(),
            remote_data: serde_json::json!({ "id": remote_id, "name": name }),
            ..Default::default()
        },
        name: Some(name.into()),
        ..Default::default()
    })
}

/// Writes `record` as `via` on a task of its own, in a transaction of its own
/// that runs `setup` first (a `set local`) and commits after the write.
fn spawn_write(
    rig: &Rig,
    record: hirebridge_sdk::Record,
    via: hirebridge::engine::events::Via,
    setup: Option<&'static str>,
) -> tokio::task::JoinHandle<Result<hirebridge::engine::writer::WriteCounts, sqlx::Error>> {
    use hirebridge::engine::writer::{self, WriteContext};
    let pool = rig.pool.clone();
    let connector = rig.handle.id.clone();
    let provider = rig.handle.provider;
    let columns = rig.engine.columns.clone();
    tokio::spawn(async move {
        let ctx = WriteContext {
            connector_id: &connector,
            provider,
            via,
        };
        let mut tx = pool.begin().await?;
        if let Some(sql) = setup {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        let counts = writer::write_records(&mut tx, &columns, &ctx, vec![record]).await?;
        tx.commit().await?;
        Ok(counts)
    })
}

/// Writes `first` (as a webhook) in a transaction left open, starts writing
/// `second` (as a poll, the same record) in a transaction of its own, waits
/// until that one waits for the first, and commits the first; returns what the
/// second writer did.
async fn write_while_another_commits(
    rig: &Rig,
    first: hirebridge_sdk::Record,
    second: hirebridge_sdk::Record,
) -> hirebridge::engine::writer::WriteCounts {
    use hirebridge::engine::events::Via;
    use hirebridge::engine::writer::{self, WriteContext};

    let mut tx = rig.pool.begin().await.unwrap();
    let ctx = WriteContext {
        connector_id: &rig.handle.id,
        provider: rig.handle.provider,
        via: Via::Webhook,
    };
    writer::write_records(&mut tx, &rig.engine.columns, &ctx, vec![first])
        .await
        .unwrap();
    let second = spawn_write(rig, second, Via::Poll, None);
    support::daemon::wait_until(
        "the second writer waits for the first",
        Duration::from_secs(10),
        || async {
            rig.count("select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")
                .await
                > 0
        },
    )
    .await;
    tx.commit().await.unwrap();
    second.await.unwrap().expect("the second writer succeeds")
}

/// The candidate `remote_id` is stored once, and named `name`.
async fn assert_one_candidate_named(rig: &Rig, remote_id: &str, name: &str) {
    let names: Vec<Option<String>> =
        sqlx::query_scalar("select name from hiring.candidates where remote_id = $1")
            .bind(remote_id)
            .fetch_all(&rig.pool)
            .await
            .unwrap();
    assert_eq!(names, vec![Some(name.to_string())]);
}

/// The events of candidate `remote_id`: created as `first`, then renamed to
/// `second` (the later writer's change measured against what the earlier stored).
async fn assert_created_then_renamed(rig: &Rig, remote_id: &str, first: &str, second: &str) {
    let events: Vec<(String, Option<serde_json::Value>, serde_json::Value)> = sqlx::query_as(
        "select type, changes->'name', payload->'data'->'name' from hiring.events
          where remote_id = $1 order by seq",
    )
    .bind(remote_id)
    .fetch_all(&rig.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            (
                "candidate.created".to_string(),
                None,
                serde_json::json!(first)
            ),
            (
                "candidate.updated".to_string(),
                Some(serde_json::json!({"from": first, "to": second})),
                serde_json::json!(second)
            ),
        ],
        "one event per writer, the second against the first's content"
    );
}

/// Two writers that create the same new record at once (a webhook and a poll
/// pass, say) both succeed: the second waits for the first, reads what it
/// inserted, and writes its own content over it as an update with its event,
/// although derived ids give both rows the same id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_creating_the_same_record_at_once_both_succeed() {
    let rig = rig(10, 9).await;
    // The second writer starts before the first commits, so it also finds
    // nothing stored and inserts; its insert waits for the first.
    write_while_another_commits(
        &rig,
        named_candidate("same-new-1", "First"),
        named_candidate("same-new-1", "Second"),
    )
    .await;
    assert_one_candidate_named(&rig, "same-new-1", "Second").await;
    assert_created_then_renamed(&rig, "same-new-1", "First", "Second").await;
}

/// Two writers that change one stored record at once: the later one read the
/// record before the earlier one committed, but its change is written, and
/// announced, against what the earlier one stored, never against what it read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_changing_one_record_at_once_each_announce_their_own_change() {
    use hirebridge::engine::events::Via;

    let rig = rig(10, 12).await;
    spawn_write(&rig, named_candidate("changed-1", "Zero"), Via::Poll, None)
        .await
        .unwrap()
        .unwrap();
    let counts = write_while_another_commits(
        &rig,
        named_candidate("changed-1", "First"),
        named_candidate("changed-1", "Second"),
    )
    .await;
    assert_eq!((counts.updated, counts.events), (1, 1), "{counts:?}");
    assert_one_candidate_named(&rig, "changed-1", "Second").await;
    let changes: Vec<serde_json::Value> = sqlx::query_scalar(
        "select changes->'name' from hiring.events where remote_id = $1 and type = 'candidate.updated' order by seq",
    )
    .bind("changed-1")
    .fetch_all(&rig.pool)
    .await
    .unwrap();
    assert_eq!(
        changes,
        vec![
            serde_json::json!({"from": "Zero", "to": "First"}),
            serde_json::json!({"from": "First", "to": "Second"}),
        ]
    );
}

/// The narrow case of two writers creating one record: the later writer checks
/// the conflict key before the earlier writer's entry is in it, so its insert
/// meets the earlier row in the primary key (the same derived id), which ON
/// CONFLICT does not arbitrate. The window is widened here with a slow index
/// placed between the two unique ones. The later writer still succeeds, the
/// row is written once, and each writer's change has its event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_meets_a_concurrent_insert_in_the_primary_key_retries_and_succeeds() {
    use hirebridge::engine::events::Via;

    let rig = rig(10, 11).await;
    for sql in [
        "create function hiring.test_slow(text) returns text immutable language plpgsql as $$
         begin
           if current_setting('hb.slow', true) = 'on' then perform pg_sleep(1); end if;
           return $1;
         end $$",
        "create index candidates_test_slow on hiring.candidates (hiring.test_slow(remote_id))",
        // Recreated, so that its index comes after the slow one: a row's entries
        // go in as primary key, slow index, conflict key.
        "alter table hiring.candidates drop constraint candidates_connector_id_remote_id_key,
           add constraint candidates_connector_id_remote_id_key unique (connector_id, remote_id)",
    ] {
        sqlx::query(sql).execute(&rig.pool).await.unwrap();
    }
    let first = spawn_write(
        &rig,
        named_candidate("raced-1", "First"),
        Via::Webhook,
        Some("set local hb.slow = 'on'"),
    );
    support::daemon::wait_until("the first writer is inside its insert", Duration::from_secs(10), || async {
        rig.count("select count(*) from pg_stat_activity where wait_event = 'PgSleep' and datname = current_database()").await > 0
    })
    .await;
    let second = spawn_write(&rig, named_candidate("raced-1", "Second"), Via::Poll, None);
    first.await.unwrap().expect("the first writer succeeds");
    second.await.unwrap().expect("the second writer succeeds");
    assert_one_candidate_named(&rig, "raced-1", "Second").await;
    assert_created_then_renamed(&rig, "raced-1", "First", "Second").await;
}

/// A full pass during which the database server crashed and came back does not
/// sweep: the crash emptied the ids it saw (`hiring.pass_seen` is unlogged), and
/// a sweep would take the records of its first pages for deleted. It says why,
/// and the next full pass sweeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pass_across_a_database_crash_deletes_nothing_and_the_next_one_sweeps() {
    use hirebridge::store::cluster::ManagedCluster;
    use secrecy::ExposeSecret;

    let dir = support::server_reachable_tempdir("hb-sweep-crash-");
    let options = support::own_cluster_options(dir.path());
    let cluster = ManagedCluster::start(&options).await.unwrap();
    let pool = PgPool::connect(cluster.url().expose_secret())
        .await
        .unwrap();
    hirebridge::store::migrate(&pool).await.unwrap();
    let sim = Simulator::new(SimConfig {
        api_key: "test-key".into(),
        seed: 26,
        records: 300,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let text = format!(
        "[[connectors]]\nid = \"ashby-crash\"\nprovider = \"ashby\"\nbase_url = \"{}\"\ncredentials = {{ api_key = \"test-key\" }}\n[connectors.streams.candidates]\npage_size = 10\n",
        server.base_url()
    );
    let config = Config::from_str_with_env(&text, Path::new("test.toml"), &|_| None).unwrap();
    let handle = connectors::build(&config.connectors[0]).unwrap();
    let engine = Arc::new(
        Engine::new(pool.clone(), vec![handle.clone()])
            .await
            .unwrap(),
    );
    let stream = handle
        .enabled_streams()
        .into_iter()
        .find(|s| s.name == "candidates")
        .unwrap();
    let full = PassOptions {
        full: true,
        ..PassOptions::default()
    };
    let backfill = poller::run_pass(&engine, &handle, &stream, &full).await;
    assert_eq!(backfill.outcome, PassOutcome::Completed, "{backfill:?}");
    let pages = backfill.pages;
    assert!(pages >= 6, "{pages} pages");
    let gone = sim.ids("candidate")[0].clone();
    sim.delete("candidate", &gone);

    // Each page takes over a second, so the pass commits page by page; it stops
    // after its first commit until the server has crashed and come back.
    sim.set_faults(Faults {
        latency: Duration::from_millis(1100),
        ..Faults::default()
    });
    let (committed_tx, committed_rx) = std::sync::mpsc::channel::<u64>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let committed_tx = std::sync::Mutex::new(Some(committed_tx));
    let progress: poller::ProgressFn = Arc::new(move |report: &PassReport| {
        if let Some(tx) = committed_tx.lock().unwrap().take() {
            tx.send(report.pages).unwrap();
            // Hands this worker's share of the runtime (timers, sockets) on
            // while it waits, so the test can crash and restart the server.
            tokio::task::block_in_place(|| go_rx.lock().unwrap().recv().unwrap());
        }
    });
    let pass = {
        let (engine, handle, stream) = (engine.clone(), handle.clone(), stream.clone());
        let options = PassOptions {
            progress: Some(progress),
            ..full.clone()
        };
        tokio::spawn(async move { poller::run_pass(&engine, &handle, &stream, &options).await })
    };
    let consumed = tokio::task::spawn_blocking(move || committed_rx.recv().unwrap())
        .await
        .unwrap();
    assert!(
        consumed * 2 < pages,
        "the first commit holds less than half the pass: {consumed} of {pages} pages"
    );
    cluster.crash().await.unwrap();
    let cluster = ManagedCluster::start(&options).await.unwrap();
    go_tx.send(()).unwrap();
    let report = pass.await.unwrap();
    assert_eq!(report.outcome, PassOutcome::Completed, "{report:?}");
    assert_eq!(report.deleted, 0, "{report:?}");
    assert!(
        report
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("database restarted")),
        "{report:?}"
    );
    let live: i64 =
        sqlx::query_scalar("select count(*) from hiring.candidates where deleted_at is null")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(live as u64, backfill.created);

    sim.set_faults(Faults::default());
    let next = poller::run_pass(&engine, &handle, &stream, &full).await;
    assert_eq!(
        (next.outcome, next.deleted),
        (PassOutcome::Completed, 1),
        "{next:?}"
    );
    let deleted: Vec<String> =
        sqlx::query_scalar("select remote_id from hiring.candidates where deleted_at is not null")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(deleted, vec![gone]);
    pool.close().await;
    cluster.stop().await.unwrap();
}

/// Every entity stream passes at once (as a schedule tick runs them) while the
/// connector's read-ahead budget is a single page: the streams share it, and a
/// writer gives a page's place back as it takes the page, even while it gathers
/// several pages into one commit (a re-poll gathers up to twenty). Were a place
/// kept until the commit, the second pass would wait for itself.
#[tokio::test]
async fn all_streams_pass_at_once_within_a_read_ahead_budget_of_one_page() {
    let rig = rig_with(1_500, 11, |handle| {
        handle.pages_ahead = Arc::new(tokio::sync::Semaphore::new(1));
    })
    .await;
    let (engine, handle) = (&rig.engine, &rig.handle);
    let streams = handle.enabled_streams();
    for full in [false, true] {
        let options = PassOptions {
            full,
            ..PassOptions::default()
        };
        let reports = tokio::time::timeout(
            Duration::from_secs(120),
            poller::run_passes(engine, handle, &streams, &options),
        )
        .await
        .expect("the passes finish within the budget");
        for (spec, report) in &reports {
            assert_eq!(
                report.outcome,
                PassOutcome::Completed,
                "{}: {report:?}",
                spec.name
            );
        }
        let seen: u64 = reports.iter().map(|(_, r)| r.seen).sum();
        assert!(seen >= 1_500, "{seen} records seen");
        assert_eq!(
            handle.pages_ahead.available_permits(),
            1,
            "every place given back"
        );
    }
    assert!(rig.count("select count(*) from hiring.candidates").await > 0);
}
