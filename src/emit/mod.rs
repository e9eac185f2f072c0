//! Downstream delivery: each sink reads the event log (`hiring.event_log`) by
//! cursor and delivers what it wants, at least once, in log order per entity.
//! Webhook sinks are signed per Standard Webhooks, jsonl sinks append to a
//! file, nats sinks publish to JetStream.
//!
//! A sink's log is read in partitions (`store::partition`), each leased to one
//! daemon; a worker reads a batch past its cursors, sends the events of
//! different entities in parallel (one entity's events one at a time), and
//! moves the cursors once per batch. An event that fails holds its entity: it
//! and the entity's later events wait in `hiring.delivery_holds` and go on the
//! sink's retry schedule, while the cursor moves on for everything else.

pub mod signing;
mod transport;

use crate::config::{EventsConfig, SinkConfig};
use crate::engine::events;
use crate::store::deliveries::{self, LogEvent, NewHold, StoredEnvelope};
use crate::store::partition::SINK_CURSORS;
use rand::Rng;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use transport::{ChainResult, Item, Outcome, Transport};

/// Events read per partition per batch.
const BATCH_PER_PARTITION: i64 = 500;
/// How often an idle sink looks for new events.
const IDLE: Duration = Duration::from_millis(50);
/// How often a disabled sink (or one without partitions) looks again.
const DISABLED_CHECK: Duration = Duration::from_millis(500);
/// How often a worker renews and rebalances its partition leases.
const BALANCE_EVERY: Duration = Duration::from_secs(1);
/// After this many failed attempts in a row the sink looks down: new events
/// stay in the log (not held one by one) until a held event goes through.
const CIRCUIT_OPEN_AFTER: u32 = 20;

/// `application.*` style globs to SQL LIKE patterns.
fn like_patterns(globs: &[String]) -> Vec<String> {
    if globs.iter().any(|g| g == "*") {
        return Vec::new();
    }
    globs
        .iter()
        .map(|g| {
            g.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
                .replace('*', "%")
        })
        .collect()
}

/// The wait before the next attempt after `attempts` failed ones, with ±20% jitter;
/// `None` when the schedule is used up (the delivery is dead-lettered).
pub fn retry_delay(schedule: &[Duration], attempts: i32) -> Option<Duration> {
    let base = *schedule.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    Some(base.mul_f64(jitter))
}

/// Creates every sink's cursors where its `start` says (those it has stay).
/// The daemon calls it before anything writes events, so "now" means the
/// daemon's start, not whenever a sink's worker got going.
pub async fn init_sinks(pool: &PgPool, sinks: &[SinkConfig]) -> Result<(), sqlx::Error> {
    for sink in sinks {
        if deliveries::init_cursors(pool, &sink.id, &sink.start).await? {
            tracing::info!(sink = %sink.id, start = ?sink.start, "new sink: reading the event log from its start position");
        }
    }
    Ok(())
}

/// Runs every sink, and the event log's retention, until `stop`. The sinks'
/// cursors exist already ([`init_sinks`], at start-up).
pub async fn run(
    pool: PgPool,
    sinks: Vec<SinkConfig>,
    events: EventsConfig,
    owner: String,
    stop: watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for sink in sinks {
        tasks.spawn(run_sink(
            pool.clone(),
            Arc::new(sink),
            owner.clone(),
            stop.clone(),
        ));
    }
    if let Some(retention) = events.retention {
        let pool = pool.clone();
        tasks.spawn(crate::retention::run(
            crate::retention::Retention {
                what: "expired events (every sink has passed them and none holds them)",
                keep: retention,
                passes_metric: "hirebridge_retention_passes_total",
                deleted_metric: "hirebridge_events_expired_total",
            },
            stop.clone(),
            move || {
                let pool = pool.clone();
                async move { deliveries::delete_expired(&pool, retention, 10_000).await }
            },
        ));
    }
    while tasks.join_next().await.is_some() {}
}

/// The receiver asked us to slow down for this long.
struct Slow(Duration);

struct Worker {
    pool: PgPool,
    sink: Arc<SinkConfig>,
    transport: Arc<Transport>,
    owner: String,
    patterns: Vec<String>,
    /// The partitions of this sink's log this daemon holds.
    parts: Vec<i16>,
    /// Failed attempts since the last delivered one.
    failures_in_a_row: u32,
}

async fn run_sink(
    pool: PgPool,
    sink: Arc<SinkConfig>,
    owner: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut w = Worker {
        transport: Arc::new(Transport::new(&sink)),
        patterns: like_patterns(&sink.events),
        pool,
        sink,
        owner,
        parts: Vec::new(),
        failures_in_a_row: 0,
    };
    let mut last_balance: Option<Instant> = None;
    let mut was_disabled = false;
    let mut db_failing = false;
    loop {
        if *stop.borrow() {
            break;
        }
        if last_balance.is_none_or(|t| t.elapsed() >= BALANCE_EVERY) {
            last_balance = Some(Instant::now());
            match SINK_CURSORS.balance(&w.pool, &w.sink.id, &w.owner).await {
                Ok(parts) => {
                    if parts != w.parts {
                        tracing::info!(sink = %w.sink.id, partitions = ?parts, "delivering these partitions of the sink's log");
                    }
                    w.parts = parts;
                }
                Err(e) => {
                    tracing::debug!(sink = %w.sink.id, error = %e, "balancing partitions failed");
                    w.parts.clear();
                }
            }
            if let Ok(age) = deliveries::oldest_pending_age(&w.pool, &w.sink.id).await {
                metrics::gauge!("hirebridge_sink_oldest_undelivered_seconds", "sink" => w.sink.id.clone()).set(age);
            }
        }
        let pause = match deliveries::disabled(&w.pool, &w.sink.id).await {
            Ok(Some(reason)) => {
                if !was_disabled {
                    tracing::error!(sink = %w.sink.id, %reason, "sink is disabled; events wait for it in the log until an operator re-enables it (hirebridge dlq retry --sink)");
                    was_disabled = true;
                }
                DISABLED_CHECK
            }
            Ok(None) => {
                if std::mem::take(&mut was_disabled) {
                    tracing::info!(sink = %w.sink.id, "sink re-enabled; delivering what waited");
                }
                if db_failing {
                    tracing::info!(sink = %w.sink.id, "the sink's state is readable again");
                    db_failing = false;
                }
                // The leases are renewed while a long batch is in flight; a
                // partition lost meanwhile (this daemon missed its heartbeats)
                // stops the batch: its new holder sends it.
                let (pool, id, owner) = (w.pool.clone(), w.sink.id.clone(), w.owner.clone());
                let held = w.parts.clone();
                tokio::select! {
                    pause = w.step() => pause,
                    () = SINK_CURSORS.keep(&pool, &id, &owner, &held) => {
                        tracing::warn!(sink = %id, "a partition lease passed to another daemon mid-batch; it sends the batch again");
                        w.parts.clear();
                        last_balance = None;
                        DISABLED_CHECK
                    }
                }
            }
            Err(e) => {
                // The database is away: said once, then a quieter, slower loop.
                if !db_failing {
                    tracing::warn!(sink = %w.sink.id, error = %e, "reading the sink's state failed; retrying every second");
                    db_failing = true;
                }
                Duration::from_secs(1)
            }
        };
        if pause > Duration::ZERO {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
    }
    let _ = SINK_CURSORS.release(&w.pool, &w.sink.id, &w.owner).await;
}

impl Worker {
    /// One round: held events that are due, then a batch from the log.
    /// Returns how long to pause before the next round.
    async fn step(&mut self) -> Duration {
        if self.parts.is_empty() {
            return DISABLED_CHECK;
        }
        let mut worked = 0;
        match self.holds_round().await {
            Ok(n) => worked += n,
            Err(Slow(wait)) => return wait,
        }
        if self.failures_in_a_row >= CIRCUIT_OPEN_AFTER {
            // The sink looks down: failed events probe it on their schedule;
            // the log waits unless nothing is left to probe with.
            match deliveries::has_retrying_holds(&self.pool, &self.sink.id, &self.parts).await {
                Ok(false) => {}
                _ => return if worked > 0 { Duration::ZERO } else { IDLE },
            }
        }
        match self.log_round().await {
            Ok(n) => worked += n,
            Err(Slow(wait)) => return wait,
        }
        if worked > 0 {
            Duration::ZERO
        } else {
            IDLE
        }
    }

    /// Sends chains of items (each one entity's events in order) in parallel,
    /// up to the sink's `max_in_flight`; a slow-down answer stops the chains
    /// before their next item.
    async fn send_chains(&self, chains: Vec<Vec<Item>>) -> Vec<ChainResult> {
        let halt = Arc::new(AtomicBool::new(false));
        let permits = Arc::new(tokio::sync::Semaphore::new(
            self.sink.max_in_flight().max(1) as usize,
        ));
        let mut tasks = tokio::task::JoinSet::new();
        let n = chains.len();
        for (i, chain) in chains.into_iter().enumerate() {
            let (transport, sink, halt, permits) = (
                self.transport.clone(),
                self.sink.clone(),
                halt.clone(),
                permits.clone(),
            );
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = transport.send_chain(&sink, &chain, &halt).await;
                if let Some(
                    Outcome::Gone
                    | Outcome::Failed {
                        retry_after: Some(_),
                        ..
                    },
                ) = &result.failed
                {
                    halt.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                (i, result)
            });
        }
        let mut results: Vec<Option<ChainResult>> = (0..n).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, result)) = joined {
                results[i] = Some(result);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or(ChainResult {
                    delivered: 0,
                    failed: None,
                })
            })
            .collect()
    }

    /// Counts outcomes; returns the wait before the next attempt (None: dead)
    /// and what to record of a failed attempt.
    fn judge(&mut self, outcome: &Outcome, attempts: i32, event_id: &str) -> Judged {
        let label = |o: &'static str| {
            metrics::counter!("hirebridge_deliveries_total", "sink" => self.sink.id.clone(), "outcome" => o)
                .increment(1);
        };
        match outcome {
            Outcome::Delivered => Judged::default(),
            Outcome::Gone => {
                self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
                label("gone");
                tracing::error!(sink = %self.sink.id, event = %event_id, "the receiver answered 410 Gone: the sink is disabled until an operator re-enables it");
                Judged {
                    retry_in: Duration::ZERO,
                    dead: false,
                    status: Some(410),
                    error: deliveries::GONE.to_string(),
                    slow: None,
                    gone: true,
                }
            }
            Outcome::Failed {
                status,
                error,
                retry_after,
            } => {
                self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
                let scheduled = retry_delay(&self.sink.retry_schedule, attempts);
                let dead = scheduled.is_none();
                label(if dead { "dead" } else { "failed" });
                if dead {
                    tracing::warn!(sink = %self.sink.id, event = %event_id, attempts, %error, "delivery dead-lettered after its last attempt");
                }
                Judged {
                    retry_in: match (scheduled, retry_after) {
                        (Some(s), Some(r)) => s.max(*r),
                        (Some(s), None) => s,
                        (None, _) => Duration::ZERO,
                    },
                    dead,
                    status: *status,
                    error: error.clone(),
                    slow: *retry_after,
                    gone: false,
                }
            }
        }
    }

    fn delivered(&mut self, n: usize) {
        if n > 0 {
            self.failures_in_a_row = 0;
            metrics::counter!("hirebridge_deliveries_total", "sink" => self.sink.id.clone(), "outcome" => "delivered")
                .increment(n as u64);
        }
    }

    /// Sends due held events (the oldest of each held entity).
    async fn holds_round(&mut self) -> Result<usize, Slow> {
        let limit = i64::from(self.sink.max_in_flight().max(16));
        let due = match deliveries::due_holds(&self.pool, &self.sink.id, &self.parts, limit).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(sink = %self.sink.id, error = %e, "reading held events failed");
                return Ok(0);
            }
        };
        if due.is_empty() {
            return Ok(0);
        }
        let items: Vec<Item> = due
            .iter()
            .map(|h| item(&h.event_id, Some(&h.envelope)))
            .collect();
        let chains: Vec<Vec<Item>> = if self.transport.one_chain() {
            vec![items]
        } else {
            items.into_iter().map(|i| vec![i]).collect()
        };
        let results = self.send_chains(chains).await;
        // Which held event each result position stands for.
        let mut outcomes: Vec<(usize, Option<Outcome>)> = Vec::new();
        if self.transport.one_chain() {
            let r = &results[0];
            outcomes.extend((0..r.delivered).map(|i| (i, None)));
            if let Some(f) = &r.failed {
                outcomes.push((r.delivered, Some(f.clone())));
            }
        } else {
            for (i, r) in results.iter().enumerate() {
                match &r.failed {
                    Some(f) => outcomes.push((i, Some(f.clone()))),
                    None if r.delivered == 1 => outcomes.push((i, None)),
                    None => {}
                }
            }
        }
        let mut done = Vec::new();
        let mut slow: Option<Duration> = None;
        let mut gone = false;
        for (i, outcome) in outcomes {
            let h = &due[i];
            let Some(outcome) = outcome else {
                done.push(h.seq);
                continue;
            };
            let judged = self.judge(&outcome, h.attempts + 1, &h.event_id);
            slow = slow.max(judged.slow);
            gone |= judged.gone;
            if let Err(e) = deliveries::held_failed(
                &self.pool,
                &self.sink.id,
                h.seq,
                judged.status,
                &judged.error,
                judged.retry_in,
                judged.dead,
            )
            .await
            {
                tracing::warn!(sink = %self.sink.id, error = %e, "recording a failed attempt failed; it is retried");
            }
        }
        self.delivered(done.len());
        if let Err(e) = deliveries::held_delivered(&self.pool, &self.sink.id, &done).await {
            tracing::warn!(sink = %self.sink.id, error = %e, "recording delivered held events failed; they are sent again");
        }
        if gone {
            self.disable().await;
        }
        match slow {
            Some(wait) => Err(Slow(wait)),
            None => Ok(due.len()),
        }
    }

    /// Reads a batch past the cursors, sends it, and moves the cursors.
    async fn log_round(&mut self) -> Result<usize, Slow> {
        let events = match deliveries::read(
            &self.pool,
            &self.sink.id,
            &self.owner,
            &self.parts,
            BATCH_PER_PARTITION,
            &self.patterns,
            &self.sink.connectors,
        )
        .await
        {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(sink = %self.sink.id, error = %e, "reading the event log failed");
                return Ok(0);
            }
        };
        metrics::counter!("hirebridge_sink_log_reads_total", "sink" => self.sink.id.clone())
            .increment(1);
        if events.is_empty() {
            return Ok(0);
        }
        // Where each partition's cursor goes: its last event in the batch.
        let mut positions: BTreeMap<i16, (String, i64)> = BTreeMap::new();
        for e in &events {
            positions.insert(e.part, (e.xid.clone(), e.seq));
        }
        // Chains per entity in log order; an entity with held events (or an
        // earlier event still to come) has everything of it held in order.
        let mut holds: Vec<NewHold> = Vec::new();
        let mut held_now: HashSet<&str> = HashSet::new();
        let mut chain_of: HashMap<&str, usize> = HashMap::new();
        let mut chains: Vec<Vec<usize>> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if !e.wanted {
                continue;
            }
            if e.held || e.waits_for_earlier || held_now.contains(e.entity_key.as_str()) {
                held_now.insert(&e.entity_key);
                holds.push(waiting(e));
                continue;
            }
            let c = *chain_of.entry(&e.entity_key).or_insert_with(|| {
                chains.push(Vec::new());
                chains.len() - 1
            });
            chains[c].push(i);
        }
        if self.transport.one_chain() && chains.len() > 1 {
            let mut all: Vec<usize> = chains.concat();
            all.sort_unstable();
            chains = vec![all];
        }
        let payloads: Vec<Vec<Item>> = chains
            .iter()
            .map(|c| {
                c.iter()
                    .map(|&i| {
                        let e = &events[i];
                        item(&e.id, e.envelope.as_ref())
                    })
                    .collect()
            })
            .collect();
        let results = self.send_chains(payloads).await;
        let mut slow: Option<Duration> = None;
        let mut gone = false;
        let mut delivered = 0;
        for (chain, result) in chains.iter().zip(&results) {
            delivered += result.delivered;
            let rest = &chain[result.delivered..];
            let Some((&first, later)) = rest.split_first() else {
                continue;
            };
            let e = &events[first];
            match &result.failed {
                Some(outcome) => {
                    let judged = self.judge(outcome, 1, &e.id);
                    slow = slow.max(judged.slow);
                    gone |= judged.gone;
                    holds.push(NewHold {
                        attempts: 1,
                        retry_in: judged.retry_in,
                        last_status: judged.status.map(i32::from),
                        last_error: Some(judged.error),
                        dead: judged.dead,
                        ..waiting(e)
                    });
                }
                None => holds.push(waiting(e)),
            }
            holds.extend(later.iter().map(|&i| waiting(&events[i])));
        }
        self.delivered(delivered);
        let positions: Vec<(i16, String, i64)> =
            positions.into_iter().map(|(p, (x, s))| (p, x, s)).collect();
        match deliveries::advance(&self.pool, &self.sink.id, &self.owner, &positions, &holds).await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(sink = %self.sink.id, "a partition lease passed to another daemon mid-batch; it delivers the batch again");
                self.parts.clear();
            }
            Err(e) => {
                tracing::warn!(sink = %self.sink.id, error = %e, "moving the cursor failed; the batch is sent again");
            }
        }
        if gone {
            self.disable().await;
        }
        match slow {
            Some(wait) => Err(Slow(wait)),
            None => Ok(events.len()),
        }
    }

    async fn disable(&self) {
        if let Err(e) =
            deliveries::disable_sink(&self.pool, &self.sink.id, "the receiver answered 410 Gone")
                .await
        {
            tracing::warn!(sink = %self.sink.id, error = %e, "disabling the sink failed");
        }
    }
}

/// What a failed attempt means for its event and the sink.
#[derive(Default)]
struct Judged {
    retry_in: Duration,
    dead: bool,
    status: Option<u16>,
    error: String,
    /// The receiver asked to slow down (Retry-After).
    slow: Option<Duration>,
    gone: bool,
}

/// An event held without an attempt: it waits behind its entity.
fn waiting(e: &LogEvent) -> NewHold {
    NewHold {
        seq: e.seq,
        event_id: e.id.clone(),
        entity_key: e.entity_key.clone(),
        part: e.part,
        attempts: 0,
        retry_in: Duration::ZERO,
        last_status: None,
        last_error: None,
        dead: false,
    }
}

/// What a sink is sent for an event: its envelope, put together from the log.
fn item(event_id: &str, stored: Option<&StoredEnvelope>) -> Item {
    Item {
        event_id: event_id.to_string(),
        event_type: stored.map_or("unknown", |s| &s.event_type).to_string(),
        body: stored.map(events::stored_envelope_body).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_like_patterns() {
        assert!(like_patterns(&["*".into()]).is_empty());
        assert_eq!(
            like_patterns(&["application.*".into()]),
            vec!["application.%"]
        );
        assert_eq!(
            like_patterns(&["job_posting.*".into()]),
            vec!["job\\_posting.%"]
        );
    }

    #[test]
    fn the_schedule_runs_out_into_a_dead_letter() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(300)];
        let first = retry_delay(&schedule, 1).unwrap();
        assert!(first >= Duration::from_secs(4) && first <= Duration::from_secs(6));
        assert!(retry_delay(&schedule, 2).is_some());
        assert!(retry_delay(&schedule, 3).is_none());
    }
}
