//! Normaliser workers: claim inbox deliveries (SKIP LOCKED plus a lease, so
//! several daemons share the work and a crashed worker's rows come back), parse
//! them through their connector, fetch thin objects, and write records and events
//! through the same path as polling, in one transaction with marking them done.

use super::events::Via;
use super::writer::{self, WriteContext, WriteCounts};
use super::{ConnectorHandle, Engine};
use crate::store::inbox::{self, Claimed};
use hirebridge_sdk::{ConnectorError, Delivery, Inbound, Record};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a claimed delivery stays ours without being finished.
pub const LEASE: Duration = Duration::from_secs(60);
/// Attempts before a delivery is dead-lettered.
pub const MAX_ATTEMPTS: i32 = 6;
const BATCH: i64 = 32;

/// The wait before attempt `attempts + 1`: 1s, 4s, 16s, ... capped at 10 minutes.
pub fn retry_delay(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) as u32 - 1;
    Duration::from_secs(4u64.pow(exp)).min(Duration::from_secs(600))
}

/// Processes deliveries until `stop`; polls the inbox every `idle` when empty.
pub async fn run(engine: Arc<Engine>, idle: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let processed = match drain_once(&engine, &engine.owner).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "claiming inbox deliveries failed; retrying");
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

/// Claims and processes one batch; returns how many were claimed.
pub async fn drain_once(engine: &Engine, owner: &str) -> Result<usize, sqlx::Error> {
    let claimed = inbox::claim(&engine.pool, owner, LEASE, BATCH).await?;
    let n = claimed.len();
    for delivery in claimed {
        process(engine, owner, delivery).await;
    }
    Ok(n)
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

async fn process(engine: &Engine, owner: &str, claimed: Claimed) {
    let id = claimed.id;
    let connector_id = claimed.connector_id.clone();
    let attempts = claimed.attempts;
    match process_one(engine, owner, claimed).await {
        Ok(counts) => {
            metrics::counter!("hirebridge_inbox_processed_total", "connector" => connector_id.clone(), "outcome" => "done")
                .increment(1);
            tracing::debug!(connector = %connector_id, id, events = counts.events, "delivery processed");
        }
        Err(ProcessError::LeaseLost) => {
            tracing::warn!(connector = %connector_id, id, "delivery taken over by another worker");
        }
        Err(e) => {
            let dead = attempts >= MAX_ATTEMPTS;
            let outcome = if dead { "dead" } else { "failed" };
            metrics::counter!("hirebridge_inbox_processed_total", "connector" => connector_id.clone(), "outcome" => outcome)
                .increment(1);
            tracing::warn!(connector = %connector_id, id, attempts, dead, error = %e, "delivery not processed");
            let message = e.to_string();
            if let Err(db) = inbox::fail(
                &engine.pool,
                id,
                owner,
                &message,
                retry_delay(attempts),
                dead,
            )
            .await
            {
                tracing::warn!(id, error = %db, "recording the failure failed; the lease will expire and retry it");
            }
        }
    }
}

async fn process_one(
    engine: &Engine,
    owner: &str,
    claimed: Claimed,
) -> Result<WriteCounts, ProcessError> {
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
    // Fetch thin objects before the transaction: no transaction waits on HTTP.
    let mut resolved: Vec<Inbound> = Vec::with_capacity(inbound.len());
    for item in inbound {
        match item {
            Inbound::Fetch(remote) => match handle.connector.fetch(&remote).await? {
                Some(record) => resolved.push(Inbound::Upsert(Box::new(record))),
                None => resolved.push(Inbound::Deleted(remote)),
            },
            other => resolved.push(other),
        }
    }
    let ctx = WriteContext {
        connector_id: &handle.id,
        provider: handle.provider,
        via: Via::Webhook,
    };
    let mut tx = engine.pool.begin().await?;
    let mut counts = WriteCounts::default();
    let mut upserts: Vec<Record> = Vec::new();
    for item in resolved {
        match item {
            Inbound::Upsert(record) => upserts.push(*record),
            Inbound::Deleted(remote) => {
                counts.add(
                    writer::delete_records(
                        &mut tx,
                        &engine.columns,
                        &ctx,
                        remote.kind,
                        &[remote.remote_id],
                    )
                    .await?,
                );
            }
            Inbound::Merged {
                kind,
                removed,
                survivor,
            } => {
                counts.add(
                    writer::merge_records(
                        &mut tx,
                        &engine.columns,
                        &ctx,
                        kind,
                        &removed,
                        &survivor,
                    )
                    .await?,
                );
            }
            Inbound::Stored { .. } | Inbound::Fetch(_) => {}
        }
    }
    if !upserts.is_empty() {
        counts.add(writer::write_records(&mut tx, &engine.columns, &ctx, upserts).await?);
    }
    if !inbox::complete(&mut tx, claimed.id, owner).await? {
        tx.rollback().await?;
        return Err(ProcessError::LeaseLost);
    }
    tx.commit().await?;
    Ok(counts)
}
