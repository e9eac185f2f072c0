//! One poll pass of one (connector, stream): take the stream's lease, page through
//! the provider from the saved cursor, and commit each page's records, events and
//! cursor in one transaction, so a crash at any point resumes from the last
//! committed page with nothing lost and nothing doubled.

use super::events::Via;
use super::writer::{self, WriteContext, WriteCounts};
use super::{ConnectorHandle, Engine};
use crate::store::{entities, sync_state};
use chrono::{DateTime, Utc};
use hirebridge_sdk::{
    Action, Connector, ConnectorError, Cursor, EntityKind, Page, RemoteRef, StreamId, StreamSpec,
    SyncMode,
};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// How many times one pass may start over after the provider rejected its cursor
/// or token, before it gives up until the next schedule.
const MAX_RESTARTS: u32 = 3;

/// A deletion sweep that would remove more than this share of a stream's live
/// records is refused (a provider returning an empty or truncated list must not
/// wipe the table); the operator sees why in the pass's error.
const DELETION_GUARD_RATIO: f64 = 0.5;
/// Below this many live records the guard does not apply.
const DELETION_GUARD_MIN_LIVE: i64 = 20;

/// A batch of pages is committed when it holds this many records, this many
/// pages, or has waited this long (whichever comes first), and always at the end
/// of a pass.
const FLUSH_RECORDS: usize = 100;
/// Objects passed over as held cost an id each to hold: a batch of them is
/// committed by the page count and the interval alone (or at this many), so an
/// unchanged re-poll commits once per `FLUSH_PAGES` pages, not once per 100 ids.
const FLUSH_UNCHANGED: usize = 5_000;
const FLUSH_PAGES: usize = 20;
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Called after each committed page, for progress bars.
pub type ProgressFn = Arc<dyn Fn(&PassReport) + Send + Sync>;

#[derive(Clone, Default)]
pub struct PassOptions {
    /// Ignore the saved cursor and list everything (also re-enables deletion
    /// detection for incremental streams).
    pub full: bool,
    pub progress: Option<ProgressFn>,
    /// For a refresh-known stream: re-read exactly these remote ids (an
    /// operator's import) instead of the unfinished ones held.
    pub only_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PassOutcome {
    #[default]
    Completed,
    /// Another daemon holds the stream's lease.
    Skipped,
    Failed,
}

/// What one pass did; also what `hirebridge sync` prints per stream.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    pub connector_id: String,
    pub stream: String,
    pub outcome: PassOutcome,
    pub full_pass: bool,
    pub pages: u64,
    pub seen: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub stale: u64,
    pub deleted: u64,
    pub events: u64,
    pub rejected: u64,
    pub duration_ms: u64,
    pub error: Option<String>,
    /// Set when a deletion sweep was refused by the guard.
    pub warning: Option<String>,
    /// What the engine does about the provider error that failed the pass
    /// (the scheduler retries early on a wait or a backoff).
    #[serde(skip)]
    pub action: Option<Action>,
    /// Who held the stream when the pass was skipped for its lease.
    #[serde(skip)]
    pub holder: Option<sync_state::Holder>,
}

impl PassReport {
    fn add(&mut self, c: WriteCounts) {
        self.created += c.created;
        self.updated += c.updated;
        self.unchanged += c.unchanged;
        self.stale += c.stale;
        self.deleted += c.deleted;
        self.events += c.events;
    }

    fn counts_json(&self) -> serde_json::Value {
        json!({
            "pages": self.pages, "seen": self.seen, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "stale": self.stale,
            "deleted": self.deleted, "events": self.events, "rejected": self.rejected,
            "full_pass": self.full_pass, "warning": self.warning,
        })
    }
}

#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the stream's lease was lost to another daemon; this pass stops")]
    LeaseLost,
}

/// Runs one pass. Never panics and never returns an error: the outcome and any
/// error are in the report and in `sync_state`.
pub async fn run_pass(
    engine: &Engine,
    handle: &ConnectorHandle,
    stream: &StreamSpec,
    options: &PassOptions,
) -> PassReport {
    let started = Instant::now();
    let mut report = PassReport {
        connector_id: handle.id.clone(),
        stream: stream.name.to_string(),
        ..Default::default()
    };
    if let Err(why) = super::pause::may_call(engine, handle).await {
        tracing::info!(connector = %handle.id, stream = stream.name, "{why}; pass skipped");
        report.outcome = PassOutcome::Skipped;
        report.error = Some(why);
        return report;
    }
    let state = match sync_state::acquire_lease(
        &engine.pool,
        &handle.id,
        stream.name,
        &engine.owner,
        engine.lease_ttl,
    )
    .await
    {
        Ok(sync_state::Leased::Ours(state)) => state,
        Ok(sync_state::Leased::Held(holder)) => {
            let held = holder
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "leased by another daemon".into());
            tracing::info!(connector = %handle.id, stream = stream.name, "pass skipped: {held}");
            report.outcome = PassOutcome::Skipped;
            report.error = Some(held);
            report.holder = holder;
            return report;
        }
        Err(e) => {
            report.outcome = PassOutcome::Failed;
            report.error = Some(format!("taking the stream lease: {e}"));
            return report;
        }
    };

    let result = page_loop(engine, handle, stream, options, state, &mut report).await;
    report.duration_ms = started.elapsed().as_millis() as u64;
    let error = match &result {
        Ok(()) => None,
        Err(e) => {
            report.outcome = PassOutcome::Failed;
            Some(e.to_string())
        }
    };
    report.error = error.clone().or(report.error.take());
    if let Err(PassError::Connector(e)) = &result {
        report.action = Some(e.action());
        super::pause::after_error(engine, handle, e).await;
    }
    super::pause::record_degraded(engine, handle).await;
    let health = match &result {
        Ok(()) => Some(("healthy", None)),
        Err(PassError::Connector(e)) if e.action() == Action::PauseUntilOperator => {
            Some(("unhealthy", Some(e.to_string())))
        }
        Err(PassError::Connector(e)) => Some(("degraded", Some(e.to_string()))),
        Err(_) => None,
    };
    if let Some((health, reason)) = health {
        if let Err(e) =
            sync_state::set_health(&engine.pool, &handle.id, health, reason.as_deref()).await
        {
            tracing::warn!(connector = %handle.id, error = %e, "recording connector health failed");
        }
    }
    let recorded_error = error.or(report.warning.clone());
    if let Err(e) = sync_state::finish_pass(
        &engine.pool,
        &handle.id,
        stream.name,
        &engine.owner,
        started.elapsed(),
        &report.counts_json(),
        recorded_error.as_deref(),
    )
    .await
    {
        tracing::warn!(connector = %handle.id, stream = stream.name, error = %e, "recording the pass failed");
    }
    record_metrics(&report);
    match report.outcome {
        PassOutcome::Failed => tracing::warn!(
            connector = %handle.id, stream = stream.name, error = report.error.as_deref().unwrap_or(""),
            pages = report.pages, "pass failed; it resumes from the last committed page"
        ),
        _ => tracing::info!(
            connector = %handle.id, stream = stream.name, pages = report.pages, seen = report.seen,
            created = report.created, updated = report.updated, deleted = report.deleted,
            events = report.events, duration_ms = report.duration_ms, "pass completed"
        ),
    }
    report
}

/// Runs passes of `streams` the way a schedule tick does: reference lists
/// first, one after another (other streams map through them), then every
/// entity stream at once, so a slow provider's requests overlap up to its rate
/// limit (the connector's limiter is shared by all its streams). Returns each
/// stream's report, reference lists first.
pub async fn run_passes(
    engine: &Arc<Engine>,
    handle: &Arc<ConnectorHandle>,
    streams: &[StreamSpec],
    options: &PassOptions,
) -> Vec<(StreamSpec, PassReport)> {
    let (reference, entities): (Vec<&StreamSpec>, Vec<&StreamSpec>) =
        streams.iter().partition(|s| s.entity.is_none());
    let mut out = Vec::with_capacity(streams.len());
    for stream in reference {
        out.push((
            stream.clone(),
            run_pass(engine, handle, stream, options).await,
        ));
    }
    let mut passes = tokio::task::JoinSet::new();
    for (i, stream) in entities.into_iter().enumerate() {
        let (engine, handle, stream, options) = (
            engine.clone(),
            handle.clone(),
            stream.clone(),
            options.clone(),
        );
        passes.spawn(async move {
            let report = run_pass(&engine, &handle, &stream, &options).await;
            (i, stream, report)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = passes.join_next().await {
        match joined {
            Ok(d) => done.push(d),
            Err(e) => {
                tracing::warn!(connector = %handle.id, error = %e, "a pass task ended abnormally")
            }
        }
    }
    done.sort_by_key(|(i, _, _)| *i);
    out.extend(done.into_iter().map(|(_, s, r)| (s, r)));
    out
}

async fn page_loop(
    engine: &Engine,
    handle: &ConnectorHandle,
    stream: &StreamSpec,
    options: &PassOptions,
    state: sync_state::StreamState,
    report: &mut PassReport,
) -> Result<(), PassError> {
    let mut cursor: Option<Cursor> = if options.full {
        None
    } else {
        state.cursor.clone().map(Cursor)
    };
    // A pass resumed after a crash has not seen its earlier pages in this process,
    // so it cannot tell what is missing: it never deletes.
    let mut resumed = !options.full && state.pages_in_pass > 0;
    let mut pass_id = match (resumed, state.pass_id) {
        (true, Some(id)) => id,
        _ => Uuid::now_v7(),
    };
    // Ids a full pass sees are kept in `hiring.pass_seen` for its sweep; rows
    // of earlier passes of this stream (restarted or abandoned) go now. The
    // pass starts by the database's clock, as rows' `updated_at` go: what any
    // writer (this pass, a webhook) wrote since is never swept.
    let pass_started = {
        let mut conn = engine.pool.acquire().await?;
        sync_state::forget_seen(&mut conn, &handle.id, stream.name, Some(pass_id)).await?;
        PassClock {
            started: sync_state::database_now(&mut conn).await?,
            server_started: sync_state::database_started(&mut conn).await?,
        }
    };
    // Live records before this pass wrote anything: what the deletion guard
    // compares with (records the pass itself creates must not dilute it).
    let mut held_before: Option<i64> = None;
    let mut all_full = true;
    let mut restarts = 0;
    let mut pages = match (stream.mode, stream.entity) {
        (SyncMode::RefreshKnown { final_statuses }, Some(kind)) => {
            let ids = match &options.only_ids {
                Some(ids) => ids.clone(),
                // Several streams of one entity each refresh only their own records.
                None => {
                    entities::unfinished_ids(&engine.pool, kind.table(), &handle.id, final_statuses)
                        .await?
                        .into_iter()
                        .filter(|id| handle.connector.refreshes(stream.name, id))
                        .collect()
                }
            };
            refresh_pages(
                handle.connector.clone(),
                kind,
                ids,
                handle.pages_ahead.clone(),
            )
        }
        _ => fetch_pages(
            handle.connector.clone(),
            stream.name,
            cursor.clone(),
            held_rows(engine, handle, stream),
            handle.pages_ahead.clone(),
        ),
    };
    // Pages fetched but not yet committed.
    let mut buffer: Option<Fetched> = None;
    let mut buffered_pages = 0;
    let mut last_flush = Instant::now();

    loop {
        // The page leaves the read-ahead budget as its writer takes it.
        let fetched = match pages.recv().await {
            Some(ahead) => ahead.fetched,
            None => {
                return Err(PassError::Connector(ConnectorError::retryable(
                    "the page fetcher stopped",
                )))
            }
        };
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(PassError::Connector(e))
                if e.action() == Action::Resync && restarts < MAX_RESTARTS =>
            {
                restarts += 1;
                tracing::warn!(connector = %handle.id, stream = stream.name, error = %e, "incremental state rejected; running a full pass");
                sync_state::reset_cursor(&engine.pool, &handle.id, stream.name, &engine.owner)
                    .await?;
                cursor = None;
                (resumed, pass_id, all_full) = (false, Uuid::now_v7(), true);
                (buffer, buffered_pages) = (None, 0);
                pages = fetch_pages(
                    handle.connector.clone(),
                    stream.name,
                    cursor.clone(),
                    held_rows(engine, handle, stream),
                    handle.pages_ahead.clone(),
                );
                continue;
            }
            Err(PassError::Connector(e))
                if e.action() == Action::RestartPass && restarts < MAX_RESTARTS =>
            {
                restarts += 1;
                tracing::warn!(connector = %handle.id, stream = stream.name, error = %e, "page cursor rejected; restarting the pass");
                cursor = handle.connector.restart_pass(stream.name, cursor.as_ref());
                (resumed, pass_id, all_full) = (false, Uuid::now_v7(), true);
                (buffer, buffered_pages) = (None, 0);
                pages = fetch_pages(
                    handle.connector.clone(),
                    stream.name,
                    cursor.clone(),
                    held_rows(engine, handle, stream),
                    handle.pages_ahead.clone(),
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        let page = &fetched.page;
        all_full &= page.full_pass;
        report.full_pass = all_full;
        let complete = page.complete;
        cursor = Some(page.cursor.clone());
        report.pages += 1;
        buffered_pages += 1;
        let batch = match buffer.take() {
            None => fetched,
            Some(mut b) => {
                let Fetched { page, unchanged } = fetched;
                b.page.records.extend(page.records);
                b.page.rejected.extend(page.rejected);
                b.page.cursor = page.cursor;
                b.page.complete = page.complete;
                b.page.full_pass &= page.full_pass;
                b.unchanged.extend(unchanged);
                b
            }
        };
        let flush = complete
            || batch.page.records.len() >= FLUSH_RECORDS
            || batch.unchanged.len() >= FLUSH_UNCHANGED
            || buffered_pages >= FLUSH_PAGES
            || last_flush.elapsed() >= FLUSH_INTERVAL;
        if !flush {
            buffer = Some(batch);
            continue;
        }
        // Several pages are committed together (fewer round trips and commits);
        // the cursor saved is the last page's, so a crash resumes right after what
        // was committed. Meanwhile the fetcher keeps reading ahead.
        let counts = commit_page(
            engine,
            handle,
            stream,
            batch,
            (pass_id, &pass_started),
            &mut held_before,
            all_full && !resumed,
            report,
        )
        .await?;
        buffered_pages = 0;
        last_flush = Instant::now();
        report.add(counts);
        if let Some(progress) = &options.progress {
            progress(report);
        }
        if complete {
            return Ok(());
        }
    }
}

/// Records re-read per page of a refresh-known pass.
const REFRESH_PAGE: usize = 50;

/// The pages of a refresh-known pass ([`SyncMode::RefreshKnown`]): `ids` read
/// one by one through the connector's `fetch`, in a task of its own. A record
/// the provider no longer has is kept as it was (history is never deleted
/// by a refresh); it is said in the log.
fn refresh_pages(
    connector: Arc<dyn Connector>,
    kind: EntityKind,
    ids: Vec<String>,
    budget: Arc<Semaphore>,
) -> tokio::sync::mpsc::Receiver<Ahead> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        let total = ids.len();
        let mut done = 0;
        let chunks: Vec<&[String]> = if ids.is_empty() {
            vec![&[]]
        } else {
            ids.chunks(REFRESH_PAGE).collect()
        };
        for chunk in chunks {
            let place = budget.clone().acquire_owned().await.ok();
            let mut records = Vec::new();
            for id in chunk {
                let remote = RemoteRef {
                    kind,
                    remote_id: id.clone(),
                };
                match connector.fetch(&remote).await {
                    Ok(Some(record)) => records.push(record),
                    Ok(None) => {
                        tracing::info!(%kind, remote_id = %id, "no longer at the provider; kept as it was")
                    }
                    Err(e) if e.action() == Action::Gone => {
                        tracing::info!(%kind, remote_id = %id, error = %e, "no longer at the provider; kept as it was")
                    }
                    Err(e) => {
                        let _ = tx
                            .send(Ahead {
                                fetched: Err(e.into()),
                                _place: place,
                            })
                            .await;
                        return;
                    }
                }
            }
            done += chunk.len();
            let page = Page {
                records,
                cursor: Cursor(json!({ "refreshed": done, "of": total })),
                complete: done >= total,
                full_pass: false,
                rejected: Vec::new(),
                listed: Vec::new(),
            };
            let page = Fetched {
                page,
                unchanged: Vec::new(),
            };
            let ahead = Ahead {
                fetched: Ok(page),
                _place: place,
            };
            if tx.send(ahead).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// How many pages one stream's fetcher may read ahead of its writer.
const READ_AHEAD: usize = 2;

/// How many pages a connector's streams may hold fetched, or being fetched,
/// ahead of their writers, all streams together. A backfill passes every entity
/// stream at once, so read-ahead bounded only per stream grew with the number of
/// streams (seven in the bench, each with up to three pages of a few MB once
/// mapped). Eight keep a slow provider's requests overlapping (`bench sync --latency`)
/// and every writer fed.
pub const PAGES_AHEAD: usize = 8;

/// A fetched page, or the error that stopped its fetcher, holding its place in
/// the connector's read-ahead budget ([`PAGES_AHEAD`]) until its writer takes it.
struct Ahead {
    fetched: Result<Fetched, PassError>,
    _place: Option<OwnedSemaphorePermit>,
}

/// When a pass began, by the database's clock (rows' `updated_at` go by it),
/// and when the database server had last started then.
struct PassClock {
    started: DateTime<Utc>,
    server_started: DateTime<Utc>,
}

/// A page ready for its transaction. Of the objects the connector listed
/// unmapped, those the database holds as they are were not mapped: their remote
/// ids are in `unchanged`; the others are among the page's records.
struct Fetched {
    page: Page,
    unchanged: Vec<String>,
}

/// Where a fetcher finds the fingerprints of the objects a stream lists
/// unmapped: the connector's rows of the stream's entity table.
#[derive(Clone)]
struct HeldRows {
    pool: sqlx::PgPool,
    table: &'static str,
    connector_id: String,
}

fn held_rows(engine: &Engine, handle: &ConnectorHandle, stream: &StreamSpec) -> Option<HeldRows> {
    Some(HeldRows {
        pool: engine.pool.clone(),
        table: stream.entity?.table(),
        connector_id: handle.id.clone(),
    })
}

/// Reads pages from `cursor` on in a task of its own, so fetching (and mapping)
/// and writing overlap. It stops after the last page, after an error, or when
/// the receiver is dropped (the pass ended or restarted).
fn fetch_pages(
    connector: Arc<dyn Connector>,
    stream: &'static str,
    mut cursor: Option<Cursor>,
    held: Option<HeldRows>,
    budget: Arc<Semaphore>,
) -> tokio::sync::mpsc::Receiver<Ahead> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        loop {
            let place = budget.clone().acquire_owned().await.ok();
            let result = match connector.poll(stream, cursor.as_ref()).await {
                Ok(page) => map_changed(connector.as_ref(), stream, held.as_ref(), page).await,
                Err(e) => Err(e.into()),
            };
            let stop = match &result {
                Ok(fetched) => {
                    cursor = Some(fetched.page.cursor.clone());
                    fetched.page.complete
                }
                Err(_) => true,
            };
            let ahead = Ahead {
                fetched: result,
                _place: place,
            };
            if tx.send(ahead).await.is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// Maps the objects `page` listed unmapped whose fingerprints differ from those
/// stored with their live records (all of them, for a stream of no entity, or
/// when the database cannot be read).
/// The read is outside the page's transaction: an object passed over as held
/// is one a concurrent writer could only have made newer (or deleted: the
/// listing then does not undelete it; the next pass does, if it is still listed).
async fn map_changed(
    connector: &dyn Connector,
    stream: &StreamId,
    held: Option<&HeldRows>,
    mut page: Page,
) -> Result<Fetched, PassError> {
    let listed = std::mem::take(&mut page.listed);
    if listed.is_empty() {
        return Ok(Fetched {
            page,
            unchanged: Vec::new(),
        });
    }
    // Passing over is a saving, never a condition: when the fingerprints cannot
    // be read, everything is mapped and the writer compares as it always does.
    let stored = match held {
        Some(h) => {
            let ids: Vec<String> = listed.iter().map(|l| l.remote_id.clone()).collect();
            entities::live_fingerprints(&h.pool, h.table, &h.connector_id, &ids)
                .await
                .unwrap_or_else(|e| {
                    tracing::debug!(table = h.table, error = %e, "fingerprints not read; mapping the whole page");
                    Default::default()
                })
        }
        None => Default::default(),
    };
    let (held_as_is, changed): (Vec<_>, Vec<_>) = listed
        .into_iter()
        .partition(|l| stored.get(&l.remote_id) == Some(&l.fingerprint));
    page.map_into(connector, stream, changed)?;
    Ok(Fetched {
        page,
        unchanged: held_as_is.into_iter().map(|l| l.remote_id).collect(),
    })
}

/// Writes one page in one transaction: records, events, dead letters, the cursor,
/// and on the last page of a complete full pass, the deletion sweep.
#[allow(clippy::too_many_arguments)]
async fn commit_page(
    engine: &Engine,
    handle: &ConnectorHandle,
    stream: &StreamSpec,
    Fetched { page, unchanged }: Fetched,
    (pass_id, clock): (Uuid, &PassClock),
    held_before: &mut Option<i64>,
    may_delete: bool,
    report: &mut PassReport,
) -> Result<WriteCounts, PassError> {
    let ctx = WriteContext {
        connector_id: &handle.id,
        provider: handle.provider,
        via: Via::Poll,
    };
    report.seen += (page.records.len() + unchanged.len()) as u64;
    report.rejected += page.rejected.len() as u64;
    let mut tx = crate::store::begin(&engine.pool).await?;
    // Counted in the transaction of the pass's first full page, before its writes;
    // only passes that may end in a sweep pay for the count.
    if held_before.is_none() && page.full_pass && may_delete {
        if let Some(kind) = stream.entity {
            *held_before = Some(entities::count_live(&mut tx, kind.table(), &handle.id).await?);
        }
    }
    let mut records = page.records;
    for record in &mut records {
        hirebridge_sdk::redact::redact_record(record, &handle.redact);
    }
    let (mut counts, mut untouched) =
        writer::write_records_noting_untouched(&mut tx, &engine.columns, &ctx, records).await?;
    counts.unchanged += unchanged.len() as u64;
    untouched.extend(unchanged);
    // What the write upserted carries this transaction's `updated_at`, newer than
    // the pass's start: the sweep needs only the ids it left as they were.
    if stream.entity.is_some() && page.full_pass && may_delete {
        sync_state::record_seen(&mut tx, pass_id, &handle.id, stream.name, &untouched).await?;
    }
    for (payload, reason) in &page.rejected {
        // The reason may quote the payload: what is redacted from one is
        // scrubbed from the other.
        let reason = &hirebridge_sdk::redact::scrub_text(reason, payload, &handle.redact);
        let mut payload = payload.clone();
        hirebridge_sdk::redact::redact_value(&mut payload, &handle.redact);
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        sync_state::dead_letter(
            &mut tx,
            &handle.id,
            &format!("poll:{}", stream.name),
            &body,
            reason,
        )
        .await?;
    }
    let sweep = page.complete && page.full_pass && may_delete && report.rejected == 0;
    if sweep && sync_state::database_started(&mut tx).await? != clock.server_started {
        // A crash since the pass began emptied what it saw (unlogged).
        let warning =
            "the database restarted during this full pass; deletions are detected by the next one"
                .to_string();
        tracing::warn!(connector = %handle.id, stream = stream.name, "{warning}");
        report.warning = Some(warning);
    } else if sweep {
        // `held_before` was counted at the latest at the top of this call; without
        // it there is no sweep.
        if let (Some(kind), Some(held)) = (stream.entity, *held_before) {
            let missing = entities::count_live_missing(
                &mut tx,
                kind.table(),
                &handle.id,
                pass_id,
                clock.started,
            )
            .await?;
            if missing > 0
                && held >= DELETION_GUARD_MIN_LIVE
                && (missing as f64) > DELETION_GUARD_RATIO * held as f64
            {
                let warning = format!(
                    "deletion guard: a complete full pass lacked {missing} of the {held} live {} records held before it; none deleted",
                    kind.as_str()
                );
                tracing::warn!(connector = %handle.id, stream = stream.name, missing, held, "{warning}");
                report.warning = Some(warning);
            } else if missing > 0 {
                let deleted = entities::soft_delete_missing(
                    &mut tx,
                    kind.table(),
                    &handle.id,
                    pass_id,
                    clock.started,
                )
                .await?;
                counts.add(writer::emit_deleted(&mut tx, &ctx, kind, deleted).await?);
            }
        }
    }
    if page.complete {
        sync_state::forget_seen(&mut tx, &handle.id, stream.name, None).await?;
    }
    let still_ours = sync_state::save_page(
        &mut tx,
        &handle.id,
        stream.name,
        &engine.owner,
        engine.lease_ttl,
        &page.cursor.0,
        pass_id,
        page.full_pass,
        page.complete,
    )
    .await?;
    if !still_ours {
        tx.rollback().await?;
        return Err(PassError::LeaseLost);
    }
    tx.commit().await?;
    Ok(counts)
}

fn record_metrics(report: &PassReport) {
    let labels = [
        ("connector", report.connector_id.clone()),
        ("stream", report.stream.clone()),
    ];
    for (outcome, n) in [
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("stale", report.stale),
        ("deleted", report.deleted),
        ("rejected", report.rejected),
    ] {
        let mut l = labels.to_vec();
        l.push(("outcome", outcome.to_string()));
        metrics::counter!("hirebridge_sync_records_total", &l).increment(n);
    }
    let mut l = labels.to_vec();
    l.push((
        "outcome",
        match report.outcome {
            PassOutcome::Completed => "completed",
            PassOutcome::Skipped => "skipped",
            PassOutcome::Failed => "failed",
        }
        .to_string(),
    ));
    metrics::counter!("hirebridge_sync_passes_total", &l).increment(1);
    metrics::histogram!("hirebridge_sync_pass_seconds", &labels)
        .record(Duration::from_millis(report.duration_ms).as_secs_f64());
    if report.outcome == PassOutcome::Completed {
        metrics::gauge!("hirebridge_sync_last_success_timestamp_seconds", &labels)
            .set(chrono::Utc::now().timestamp() as f64);
    }
}
