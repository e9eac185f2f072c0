//! Normaliser workers: claim inbox deliveries (a leased batch slot per
//! partition, so several daemons share the work and a crashed worker's batch
//! comes back), parse
//! them through their connector, fetch thin objects, and write records and events
//! through the same path as polling, in one transaction with marking them done.
//!
//! Deliveries are partitioned by the entity they change. A daemon leases its
//! fair share of the partitions (`store::partition`) and splits them between
//! its workers, so each partition is drained by one worker at a time, in
//! arrival order, while workers and daemons share the connector.

use super::events::Via;
use super::writer::{self, WriteContext, WriteCounts};
use super::{ConnectorHandle, Engine};
use crate::store::inbox::{self, Claimed};
use crate::store::partition::{INBOX_PARTITIONS, INBOX_SCOPE};
use hirebridge_sdk::{Action, ConnectorError, Delivery, EntityKind, Inbound, Record};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a claimed batch stays ours without its lease being renewed (the
/// default of [`Engine::batch_lease`]).
pub const LEASE: Duration = Duration::from_secs(20);
/// Attempts before a delivery is dead-lettered.
pub const MAX_ATTEMPTS: i32 = 6;
/// Deliveries a worker claims at once: a batch is written in one go, so its
/// first delivery waits for its last, and a stream of webhooks is best served
/// by batches of what is due.
pub const BATCH: i64 = 256;
/// Deliveries a worker claims at once behind a backlog (its last claim came
/// back full) while no webhooks are arriving. In `bench ingest`, draining
/// 50,000 after a burst took 17-22 % less time than with [`BATCH`] (fewer
/// claims and commits per delivery). Only behind a backlog and while no
/// webhook arrives: with 1,024 throughout, the acknowledgements' p99 rose from
/// 13.5 to 17.4 ms; with 1,024 whenever none arrived, the p99 end to end at
/// 1,000 webhooks a second rose from 110-160 to 129-204 ms (a hiccup's backlog
/// then waited for one long batch). The claim also stops at
/// [`inbox::CLAIM_BYTES`] of bodies.
const BACKLOG_BATCH: i64 = 1024;
/// Provider requests (objects of thin webhooks fetched) one batch makes: a
/// batch stops preparing deliveries there and writes what it has, and the rest
/// stay pending, first in line for the next claim. Behind a rate-limited API
/// (ten requests a second, say) a batch then commits within seconds, and a
/// crash costs that much fetching again, not a whole batch's.
pub const FETCHES_PER_BATCH: usize = 64;
/// How often a delivery of a paused connector is looked at again.
const PAUSED_RETRY: Duration = Duration::from_secs(60);

/// The wait before attempt `attempts + 1`: 1s, 4s, 16s, ... capped at 10 minutes.
pub fn retry_delay(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) as u32 - 1;
    Duration::from_secs(4u64.pow(exp)).min(Duration::from_secs(600))
}

/// How often the daemon renews and rebalances its inbox partitions.
const BALANCE_EVERY: Duration = Duration::from_secs(1);

/// Webhook requests in flight at which the door counts as saturated: a burst
/// from many connections at once, not a steady stream (1,000 a second paced
/// keeps one or two in flight).
const SATURATED_DOOR: usize = 16;
/// How long the first worker sits out at the start of a saturated spell.
const BURST_SIT_OUT: Duration = Duration::from_secs(5);
/// How long the door must stay below saturation before a spell ends.
const SPELL_QUIET: Duration = Duration::from_secs(1);

/// Whether the first normaliser worker sits out: during the first
/// [`BURST_SIT_OUT`] of a spell of a saturated door, so a burst of webhooks is
/// acknowledged with the whole machine while its deliveries wait in the inbox.
/// A spell ends once the worker has seen the door below saturation for
/// [`SPELL_QUIET`], with no saturated look between (a batch that takes long,
/// fetching thin webhooks' objects, does not end a spell by itself); under a
/// load that lasts, the worker runs again after the first seconds, as it always
/// ran while webhooks arrived. In `bench ingest` (50,000 webhooks from 64
/// connections, acknowledged in 2-4 s), with the first worker running
/// throughout, acknowledgements ran at 13,414-14,263/s; with it sitting out
/// the whole burst, 19,188-22,626/s.
#[derive(Debug, Default)]
struct BurstGate {
    /// When the current spell started.
    spell: Option<Instant>,
    /// Since when every look has found the door below saturation.
    quiet_since: Option<Instant>,
}

impl BurstGate {
    fn sits_out(&mut self, in_flight: usize, now: Instant) -> bool {
        let saturated = in_flight >= SATURATED_DOOR;
        if saturated {
            self.quiet_since = None;
            self.spell.get_or_insert(now);
        } else if self.spell.is_some() {
            let quiet_since = *self.quiet_since.get_or_insert(now);
            if now.saturating_duration_since(quiet_since) >= SPELL_QUIET {
                self.spell = None;
                self.quiet_since = None;
            }
        }
        saturated
            && self
                .spell
                .is_some_and(|start| now.saturating_duration_since(start) < BURST_SIT_OUT)
    }
}

/// How a daemon's normalisers run.
#[derive(Debug, Clone)]
pub struct Workers {
    /// Workers sharing the daemon's partitions while deliveries arrive at a
    /// pace they keep up with.
    pub count: usize,
    /// Workers sharing them while some worker's last claim came back full (a
    /// backlog): the extra ones sit out otherwise, since more transactions at
    /// once hold back what delivery may read and so add to its latency.
    pub behind_backlog: usize,
    /// How often an idle worker looks for new deliveries.
    pub idle: Duration,
    /// Webhook requests being acknowledged right now: while there are any,
    /// only the first worker runs (over every held partition), and it too sits
    /// out the first seconds of a burst ([`BurstGate`]), so normalising leaves
    /// the acknowledgements their CPU; the inbox holds what waits.
    pub door: Arc<AtomicUsize>,
}

/// Runs the normaliser workers over this daemon's share of the inbox
/// partitions until `stop`, then gives the partitions back.
pub async fn run(engine: Arc<Engine>, workers: Workers, mut stop: watch::Receiver<bool>) {
    let steady = workers.count.max(1);
    let count = workers.behind_backlog.max(steady);
    let (held_tx, held_rx) = watch::channel(Vec::<i16>::new());
    let mut tasks = tokio::task::JoinSet::new();
    let claims = Arc::new(tokio::sync::Mutex::new(()));
    let full_claims = Arc::new(AtomicUsize::new(0));
    for index in 0..count {
        let lane = Lane {
            index,
            steady,
            of: count,
            full_claims: full_claims.clone(),
            held: held_rx.clone(),
            claims: claims.clone(),
        };
        tasks.spawn(work(engine.clone(), workers.clone(), lane, stop.clone()));
    }
    let mut failing = false;
    loop {
        match INBOX_PARTITIONS
            .balance(&engine.pool, INBOX_SCOPE, &engine.owner)
            .await
        {
            Ok(parts) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("leasing inbox partitions works again");
                }
                held_tx.send_if_modified(|held| {
                    let changed = *held != parts;
                    if changed {
                        tracing::info!(partitions = ?parts, "normalising these inbox partitions");
                        *held = parts;
                    }
                    changed
                });
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "leasing inbox partitions failed; retrying quietly until it works");
                    failing = true;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(BALANCE_EVERY) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    while tasks.join_next().await.is_some() {}
    if let Err(e) = INBOX_PARTITIONS
        .release(&engine.pool, INBOX_SCOPE, &engine.owner)
        .await
    {
        tracing::debug!(error = %e, "giving back inbox partitions failed; their leases lapse");
    }
}

/// Which of the daemon's held partitions one worker drains: `p % of == index`,
/// where `of` is `steady`, or every worker's lane behind a backlog (the first
/// worker: all of them while webhooks arrive). A partition that changes lanes
/// meanwhile is safe: its batch slot, not the lane, keeps it one worker's.
struct Lane {
    index: usize,
    steady: usize,
    of: usize,
    /// Workers whose last claim came back full: while any, every lane runs.
    full_claims: Arc<AtomicUsize>,
    held: watch::Receiver<Vec<i16>>,
    /// The daemon's workers claim one at a time: a claim commits its
    /// partitions' batch slots as held before the next claim looks, so two
    /// workers never take one partition while its slot holds, even while lanes
    /// change (a slot that lapsed is taken over, and its old claim commits nothing).
    claims: Arc<tokio::sync::Mutex<()>>,
}

impl Lane {
    /// The held partitions this worker drains now. Every worker but the first
    /// waits (none) while webhooks arrive (`door_busy`), and the first takes
    /// them all; the extra ones wait unless some worker is `behind` a backlog.
    fn parts(&self, held: &[i16], door_busy: bool, behind: bool) -> Vec<i16> {
        let of = if behind { self.of } else { self.steady };
        if door_busy && of > 1 {
            return if self.index == 0 {
                held.to_vec()
            } else {
                Vec::new()
            };
        }
        held.iter()
            .copied()
            .filter(|p| *p as usize % of == self.index)
            .collect()
    }
}

/// One worker: drains its lane; polls every `idle` when it is empty, and
/// waits while webhooks arrive unless it is the first.
async fn work(engine: Arc<Engine>, workers: Workers, lane: Lane, mut stop: watch::Receiver<bool>) {
    let idle = workers.idle;
    // Said once when claiming starts failing (the database went away) and
    // once when it works again, not once per attempt.
    let mut failing = false;
    let mut burst = BurstGate::default();
    // The last claim came back full: more is waiting than one batch takes.
    let mut backlog = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let in_flight = workers.door.load(Ordering::Relaxed);
        let behind = lane.full_claims.load(Ordering::Relaxed) > 0;
        let door_busy = in_flight > 0;
        // The first worker sits out the start of a burst.
        let sit_out = lane.index == 0 && burst.sits_out(in_flight, Instant::now());
        let parts = lane.parts(&lane.held.borrow(), door_busy, behind);
        let drained = if parts.is_empty() || sit_out {
            Ok(0)
        } else {
            let limit = if backlog && in_flight == 0 {
                BACKLOG_BATCH
            } else {
                BATCH
            };
            let drained = drain_once(&engine, &engine.owner, &parts, &lane.claims, limit).await;
            let full = drained.as_ref().is_ok_and(|n| *n as i64 >= limit);
            if full != backlog {
                if full {
                    lane.full_claims.fetch_add(1, Ordering::Relaxed);
                } else {
                    lane.full_claims.fetch_sub(1, Ordering::Relaxed);
                }
            }
            backlog = full;
            drained
        };
        let processed = match drained {
            Ok(n) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("claiming inbox deliveries works again");
                }
                n
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "claiming inbox deliveries failed; retrying quietly until it works");
                    failing = true;
                }
                0
            }
        };
        if processed == 0 {
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

/// Claims and processes one batch of at most `limit` deliveries of the
/// partitions `parts`; returns how many were claimed. The batch is
/// written in one transaction (in delivery order, see [`write_batch`]); if that
/// fails, each delivery is retried on its own so one bad delivery cannot hold
/// back the others. The batch's partitions are free again once it is finished;
/// until then their slots' leases are renewed, however long the batch takes.
pub async fn drain_once(
    engine: &Engine,
    owner: &str,
    parts: &[i16],
    claims: &tokio::sync::Mutex<()>,
    limit: i64,
) -> Result<usize, sqlx::Error> {
    let claimed = {
        let _one_at_a_time = claims.lock().await;
        inbox::claim(&engine.pool, owner, engine.batch_lease, limit, parts).await?
    };
    let n = claimed.len();
    if n == 0 {
        return Ok(0);
    }
    let batch = claimed[0].batch;
    let mut batch_parts: Vec<i16> = claimed.iter().map(|c| c.part).collect();
    batch_parts.sort_unstable();
    batch_parts.dedup();
    tokio::select! {
        () = process_batch(engine, owner, claimed, &batch_parts, batch) => {}
        never = keep_leased(engine, owner, &batch_parts, batch) => match never {},
    }
    Ok(n)
}

/// Renews the leases of a batch's slots every quarter lease, for as long as
/// it is processed (the caller drops this when the batch is finished).
async fn keep_leased(
    engine: &Engine,
    owner: &str,
    parts: &[i16],
    batch: uuid::Uuid,
) -> std::convert::Infallible {
    let every = engine.batch_lease / 4;
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) =
            inbox::renew_batch(&engine.pool, parts, owner, batch, engine.batch_lease).await
        {
            tracing::debug!(error = %e, "renewing the batch's lease failed; trying again");
        }
    }
}

/// Processes the claim `batch` (on the partitions `batch_parts`) and gives its
/// slots back.
async fn process_batch(
    engine: &Engine,
    owner: &str,
    claimed: Vec<Claimed>,
    batch_parts: &[i16],
    batch: uuid::Uuid,
) {
    let n = claimed.len();
    // Parse (and fetch thin payloads) outside any transaction.
    let mut ready: Vec<(Claimed, Vec<Inbound>)> = Vec::with_capacity(n);
    let mut fetched = 0;
    for delivery in claimed {
        if fetched >= FETCHES_PER_BATCH {
            break; // the rest stay pending, in order
        }
        match prepare(engine, &delivery, &mut fetched).await {
            Ok(items) => ready.push((delivery, items)),
            Err(e) => fail(engine, owner, &delivery, e).await,
        }
    }
    // The whole batch written at once gives its partitions back in its commit.
    let finished = !ready.is_empty()
        && match write_batch(engine, owner, batch_parts, &ready, true).await {
            Ok(()) => {
                for (d, _) in &ready {
                    metrics::counter!("hirebridge_inbox_processed_total", "connector" => d.connector_id.clone(), "outcome" => "done")
                    .increment(1);
                }
                true
            }
            Err(ProcessError::LeaseLost) => {
                tracing::warn!(
                    deliveries = ready.len(),
                    "batch taken over by another worker"
                );
                // The slots still this claim's (a batch over several
                // partitions may have lost only one) are given back.
                false
            }
            Err(e) => {
                tracing::debug!(error = %e, "batch write failed; processing its deliveries one by one");
                for (d, items) in ready {
                    let one = [(d.clone(), items)];
                    match write_batch(engine, owner, &[d.part], &one, false).await {
                        Ok(()) => {
                            metrics::counter!("hirebridge_inbox_processed_total", "connector" => d.connector_id.clone(), "outcome" => "done")
                            .increment(1);
                        }
                        Err(ProcessError::LeaseLost) => {
                            tracing::warn!(connector = %d.connector_id, id = d.id, "delivery taken over by another worker");
                        }
                        Err(e) => fail(engine, owner, &d, e).await,
                    }
                }
                false
            }
        };
    if !finished {
        if let Err(e) = inbox::release_batch(&engine.pool, batch_parts, owner, batch).await {
            tracing::warn!(error = %e, "giving back the batch's partitions failed; they are free when its lease lapses");
        }
    }
}

async fn fail(engine: &Engine, owner: &str, d: &Claimed, e: ProcessError) {
    // What the error means decides: a payload that can never be normalised is
    // dead-lettered at once; a refused key or spent quota pauses the connector
    // and the delivery waits without using up its attempts; the rest retry.
    let (dead, delay, refund) = match &e {
        ProcessError::Connector(ce) => {
            if let Some(handle) = engine.connector(&d.connector_id) {
                super::pause::after_error(engine, handle, ce).await;
            }
            match ce.action() {
                Action::DeadLetter | Action::Fail => (true, Duration::ZERO, false),
                Action::PauseUntilOperator | Action::PauseFor(None) => (false, PAUSED_RETRY, true),
                Action::PauseFor(Some(wait)) | Action::WaitThenRetry(wait) => {
                    (false, wait.max(retry_delay(1)), true)
                }
                _ => (d.attempts >= MAX_ATTEMPTS, retry_delay(d.attempts), false),
            }
        }
        _ => (d.attempts >= MAX_ATTEMPTS, retry_delay(d.attempts), false),
    };
    let outcome = if dead { "dead" } else { "failed" };
    metrics::counter!("hirebridge_inbox_processed_total", "connector" => d.connector_id.clone(), "outcome" => outcome)
        .increment(1);
    tracing::warn!(connector = %d.connector_id, id = d.id, attempts = d.attempts, dead, error = %e, "delivery not processed");
    if let Err(db) = inbox::fail(&engine.pool, d, owner, &e.to_string(), delay, dead, refund).await
    {
        tracing::warn!(id = d.id, error = %db, "recording the failure failed; the lease will expire and retry it");
    }
}

/// Parses a delivery through its connector and fetches the objects of thin
/// payloads, counting the fetches in `fetched`.
async fn prepare(
    engine: &Engine,
    claimed: &Claimed,
    fetched: &mut usize,
) -> Result<Vec<Inbound>, ProcessError> {
    let handle: &Arc<ConnectorHandle> = engine
        .connector(&claimed.connector_id)
        .ok_or_else(|| ProcessError::UnknownConnector(claimed.connector_id.clone()))?;
    let delivery = Delivery {
        event_type: claimed.event_type.clone(),
        delivery_id: None,
        sent_at: None,
        is_ping: false,
    };
    let inbound = handle.connector.parse(&delivery, &claimed.body)?;
    let mut resolved: Vec<Inbound> = Vec::with_capacity(inbound.len());
    for item in inbound {
        match item {
            Inbound::Merge(patch) => {
                let merged = merge_with_stored(engine, &handle.id, *patch).await?;
                resolved.push(Inbound::Upsert(Box::new(merged)));
            }
            Inbound::Fetch(remote) => {
                *fetched += 1;
                match handle.connector.fetch(&remote).await {
                    Ok(Some(record)) => resolved.push(Inbound::Upsert(Box::new(record))),
                    Ok(None) => resolved.push(Inbound::Deleted(remote)),
                    Err(e) if e.action() == Action::Gone => resolved.push(Inbound::Deleted(remote)),
                    Err(e) => return Err(e.into()),
                }
            }
            other => resolved.push(other),
        }
    }
    for item in &mut resolved {
        if let Inbound::Upsert(record) = item {
            hirebridge_sdk::redact::redact_record(record, &handle.redact);
        }
    }
    Ok(resolved)
}

/// A partial record ([`Inbound::Merge`]) laid over the stored version of the
/// same object of this connector, deleted or not; as it is when none is stored.
async fn merge_with_stored(
    engine: &Engine,
    connector_id: &str,
    patch: Record,
) -> Result<Record, ProcessError> {
    let kind = patch.kind();
    let remote_id = patch.meta().remote_id.clone();
    let mut conn = engine.pool.acquire().await?;
    let rows = crate::store::entities::stored_rows(
        &mut conn,
        kind.table(),
        connector_id,
        std::slice::from_ref(&remote_id),
    )
    .await?;
    let Some(row) = rows.get(&remote_id) else {
        return Ok(patch);
    };
    let stored = crate::store::entities::stored_json(&mut conn, kind.table(), &[row.id]).await?;
    match stored
        .get(&row.id)
        .and_then(|json| Record::from_normalized(kind, json.clone()).ok())
    {
        Some(base) => Ok(patch.merged_onto(&base)),
        None => Ok(patch),
    }
}

/// Writes prepared deliveries in one transaction and marks them done. Changes are
/// applied in delivery order: consecutive upserts are written together, but a
/// second change of the same record starts a new round, so every change keeps its
/// own event (a stage moved twice is two `stage_changed` events, not one). A
/// repeat with the same content (a candidate every application of theirs
/// carries) is no change: it replaces the earlier copy in the round.
/// `parts` are the partitions whose batch slots the claim holds; with `finish`,
/// this is the rest of the batch and the commit gives them back.
async fn write_batch(
    engine: &Engine,
    owner: &str,
    parts: &[i16],
    batch: &[(Claimed, Vec<Inbound>)],
    finish: bool,
) -> Result<(), ProcessError> {
    let mut tx = crate::store::begin(&engine.pool).await?;
    let mut round: Vec<Record> = Vec::new();
    // Each record in the round: its place, and its content hash once a repeat asked.
    let mut round_keys: HashMap<(EntityKind, String), (usize, Option<String>)> = HashMap::new();
    let mut round_connector: Option<&str> = None;
    for (claimed, items) in batch {
        let handle = engine
            .connector(&claimed.connector_id)
            .ok_or_else(|| ProcessError::UnknownConnector(claimed.connector_id.clone()))?;
        let ctx = WriteContext {
            connector_id: &handle.id,
            provider: handle.provider,
            via: Via::Webhook,
        };
        for item in items {
            let flush_needed = match item {
                Inbound::Upsert(record) => {
                    let key = (record.kind(), record.meta().remote_id.clone());
                    let other_connector = round_connector.is_some_and(|c| c != handle.id);
                    match round_keys.get_mut(&key) {
                        Some((at, held_hash)) if !other_connector => {
                            let held = held_hash.get_or_insert_with(|| round[*at].content_hash());
                            if *held != record.content_hash() {
                                true
                            } else {
                                // No change: the newer copy is written (an older one changes nothing).
                                if !is_older(record, &round[*at]) {
                                    round[*at] = (**record).clone();
                                }
                                continue;
                            }
                        }
                        Some(_) => true,
                        None => other_connector,
                    }
                }
                Inbound::Stored { .. } | Inbound::Fetch(_) | Inbound::Merge(_) => false,
                Inbound::Deleted(_) | Inbound::Merged { .. } => true,
            };
            if flush_needed && !round.is_empty() {
                flush(engine, &mut tx, round_connector, &mut round).await?;
                round_keys.clear();
            }
            match item {
                Inbound::Upsert(record) => {
                    round_keys.insert(
                        (record.kind(), record.meta().remote_id.clone()),
                        (round.len(), None),
                    );
                    round_connector = Some(&handle.id);
                    round.push((**record).clone());
                }
                Inbound::Deleted(remote) => {
                    writer::delete_records(
                        &mut tx,
                        &ctx,
                        remote.kind,
                        std::slice::from_ref(&remote.remote_id),
                    )
                    .await?;
                }
                Inbound::Merged {
                    kind,
                    removed,
                    survivor,
                } => {
                    writer::merge_records(&mut tx, &ctx, *kind, removed, survivor).await?;
                }
                Inbound::Stored { .. } | Inbound::Fetch(_) | Inbound::Merge(_) => {}
            }
        }
    }
    if !round.is_empty() {
        flush(engine, &mut tx, round_connector, &mut round).await?;
    }
    let ids: Vec<i64> = batch.iter().map(|(c, _)| c.id).collect();
    let batch_id = batch.first().map(|(c, _)| c.batch).unwrap_or_default();
    if !inbox::complete_many(&mut tx, &ids, parts, owner, batch_id, finish).await? {
        tx.rollback().await?;
        return Err(ProcessError::LeaseLost);
    }
    tx.commit().await?;
    Ok(())
}

/// Whether `incoming` is older than `held` by the provider's update time.
fn is_older(incoming: &Record, held: &Record) -> bool {
    match (
        incoming.meta().remote_updated_at,
        held.meta().remote_updated_at,
    ) {
        (Some(incoming), Some(held)) => incoming < held,
        _ => false,
    }
}

async fn flush(
    engine: &Engine,
    tx: &mut sqlx::PgConnection,
    connector_id: Option<&str>,
    round: &mut Vec<Record>,
) -> Result<WriteCounts, ProcessError> {
    let Some(handle) = connector_id.and_then(|id| engine.connector(id)) else {
        round.clear();
        return Ok(WriteCounts::default());
    };
    let ctx = WriteContext {
        connector_id: &handle.id,
        provider: handle.provider,
        via: Via::Webhook,
    };
    let records = std::mem::take(round);
    Ok(writer::write_records(tx, &engine.columns, &ctx, records).await?)
}

#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("no connector {0} is configured")]
    UnknownConnector(String),
    #[error("the delivery's lease was lost to another worker")]
    LeaseLost,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_workers_drain_only_behind_a_backlog_and_every_partition_has_one_lane() {
        let held: Vec<i16> = (0..8).collect();
        let (_tx, rx) = watch::channel(Vec::new());
        let lanes: Vec<Lane> = (0..4)
            .map(|index| Lane {
                index,
                steady: 2,
                of: 4,
                full_claims: Arc::new(AtomicUsize::new(0)),
                held: rx.clone(),
                claims: Arc::new(tokio::sync::Mutex::new(())),
            })
            .collect();
        let taken = |door_busy, behind| -> Vec<Vec<i16>> {
            lanes
                .iter()
                .map(|l| l.parts(&held, door_busy, behind))
                .collect()
        };
        let covers_once = |by: &[Vec<i16>]| {
            let mut all: Vec<i16> = by.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, held, "{by:?}");
        };
        // Keeping up: the two steady workers share the partitions.
        let steady = taken(false, false);
        covers_once(&steady);
        assert!(
            steady[0].len() == 4
                && steady[1].len() == 4
                && steady[2].is_empty()
                && steady[3].is_empty()
        );
        // Behind a backlog: all four do.
        let behind = taken(false, true);
        covers_once(&behind);
        assert!(behind.iter().all(|p| p.len() == 2), "{behind:?}");
        // While webhooks arrive the first takes them all, backlog or not.
        for backlog in [false, true] {
            let busy = taken(true, backlog);
            assert_eq!(busy[0], held);
            assert!(busy[1..].iter().all(Vec::is_empty));
        }
    }

    #[test]
    fn the_first_worker_sits_out_the_first_seconds_of_a_burst_and_runs_under_a_load_that_lasts() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut gate = BurstGate::default();
        // A steady stream: never saturated, never sits out.
        assert!(!gate.sits_out(3, at(0)));
        // A burst: sits out for its first five seconds, then runs.
        assert!(gate.sits_out(64, at(100)));
        assert!(gate.sits_out(64, at(5_099)));
        assert!(!gate.sits_out(64, at(5_100)));
        // Dips do not end the spell while saturated looks come between them,
        // however far apart the looks are (a long batch): the load lasts, and
        // the worker goes on running through it.
        assert!(!gate.sits_out(4, at(5_500)));
        assert!(!gate.sits_out(64, at(6_000)));
        assert!(!gate.sits_out(2, at(7_000)));
        assert!(!gate.sits_out(64, at(60_000)));
        assert!(!gate.sits_out(1, at(63_000)));
        assert!(!gate.sits_out(0, at(63_999)));
        assert!(
            !gate.sits_out(64, at(64_000)),
            "quiet for a millisecond short of a second: the spell goes on"
        );
        // A second of quiet looks ends the spell; the next burst is sat out again.
        assert!(!gate.sits_out(0, at(65_000)));
        assert!(!gate.sits_out(0, at(66_000)));
        assert!(gate.sits_out(SATURATED_DOOR, at(66_100)));
        assert!(!gate.sits_out(SATURATED_DOOR - 1, at(66_200)));
    }
}
