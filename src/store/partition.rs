//! The one partition scheme of the partitioned queues: an entity key
//! (`entity_type:entity_id`) falls in one of [`PARTITIONS`] partitions (SQL
//! `hiring.partition_of`), and each partition of a queue is leased to one
//! daemon at a time, so work of one entity stays in order while daemons share
//! the rest. Live daemons balance the partitions between them: each takes its
//! fair share of free ones and gives back what it holds beyond it. The leases
//! are the lease module's: a killed daemon's partitions are free once it stops
//! heartbeating.

use sqlx::PgPool;
use std::time::Duration;

/// How many partitions every partitioned queue has; `hiring.partition_of`
/// computes the same (a test checks they agree).
pub const PARTITIONS: i16 = 8;

/// How long a partition lease lasts without renewal, even while its holder
/// heartbeats (the backstop for a holder that lives but hangs).
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// A queue whose rows are partitions: `table` has `(scope_column, part)` as
/// its key plus `lease_owner` and `lease_expires_at`.
#[derive(Debug, Clone, Copy)]
pub struct PartitionedQueue {
    pub table: &'static str,
    pub scope_column: &'static str,
}

/// Sinks' cursors: one row per (sink, partition).
pub const SINK_CURSORS: PartitionedQueue = PartitionedQueue {
    table: "hiring.sink_cursors",
    scope_column: "sink_id",
};

/// Webhook deliveries in the inbox: one row per partition of the one scope
/// [`INBOX_SCOPE`] (the partition is of `connector:entity key`).
pub const INBOX_PARTITIONS: PartitionedQueue = PartitionedQueue {
    table: "hiring.inbox_partitions",
    scope_column: "queue",
};
/// The inbox's one scope in [`INBOX_PARTITIONS`].
pub const INBOX_SCOPE: &str = "webhooks";

impl PartitionedQueue {
    /// Renews the leases `owner` holds in `scope`, gives back those beyond its
    /// fair share (partitions ÷ live daemons, rounded up) and takes free ones
    /// up to it. Returns the partitions `owner` holds now, in order. Call it
    /// between batches (a partition given back then has no work in flight), or
    /// from beside the workers when the queue's rows fence a partition with work
    /// in flight themselves, as the inbox's do.
    pub async fn balance(
        &self,
        pool: &PgPool,
        scope: &str,
        owner: &str,
    ) -> Result<Vec<i16>, sqlx::Error> {
        let Self {
            table,
            scope_column,
        } = self;
        let ttl_ms = LEASE_TTL.as_millis() as f64;
        let mut held = self.renew(pool, scope, owner).await?;
        // Members of this queue's scope whose daemon is alive share it.
        sqlx::query(
            "insert into hiring.partition_members (queue, scope, owner) values ($1, $2, $3)
             on conflict do nothing",
        )
        .bind(table)
        .bind(scope)
        .bind(owner)
        .execute(pool)
        .await?;
        let live: i64 = sqlx::query_scalar(
            "select count(*) from hiring.partition_members m join hiring.daemons h on h.owner = m.owner
              where m.queue = $1 and m.scope = $2
                and h.stopped_at is null and h.heartbeat_at > now() - interval '3 seconds'",
        )
        .bind(table)
        .bind(scope)
        .fetch_one(pool)
        .await?;
        let live = live.max(1) as usize;
        let fair = (PARTITIONS as usize).div_ceil(live);
        if held.len() > fair {
            let extra = held.split_off(fair);
            sqlx::query(&format!(
                "update {table} set lease_owner = null, lease_expires_at = null
                  where {scope_column} = $1 and lease_owner = $2 and part = any($3)"
            ))
            .bind(scope)
            .bind(owner)
            .bind(&extra)
            .execute(pool)
            .await?;
        } else if held.len() < fair {
            let taken: Vec<i16> = sqlx::query_scalar(&format!(
                "update {table} c set lease_owner = $2, lease_expires_at = now() + $4 * interval '1 millisecond'
                  where ({scope_column}, part) in (
                        select x.{scope_column}, x.part from {table} x
                         where x.{scope_column} = $1 and {free_x}
                         order by x.part limit $3
                           for update skip locked)
                    -- re-checked on the row itself, so two daemons never both take it
                    and {free_c}
                 returning c.part",
                free_x = crate::lease_free!("x"),
                free_c = crate::lease_free!("c"),
            ))
            .bind(scope)
            .bind(owner)
            .bind((fair - held.len()) as i64)
            .bind(ttl_ms)
            .fetch_all(pool)
            .await?;
            held.extend(taken);
            held.sort_unstable();
        }
        Ok(held)
    }

    /// Renews the leases `owner` holds in `scope`; returns those partitions.
    pub async fn renew(
        &self,
        pool: &PgPool,
        scope: &str,
        owner: &str,
    ) -> Result<Vec<i16>, sqlx::Error> {
        let Self {
            table,
            scope_column,
        } = self;
        let mut held: Vec<i16> = sqlx::query_scalar(&format!(
            "update {table} set lease_expires_at = now() + $3 * interval '1 millisecond'
              where {scope_column} = $1 and lease_owner = $2 returning part"
        ))
        .bind(scope)
        .bind(owner)
        .bind(LEASE_TTL.as_millis() as f64)
        .fetch_all(pool)
        .await?;
        held.sort_unstable();
        Ok(held)
    }

    /// Renews `owner`'s leases in `scope` every second, for as long as it is
    /// polled (alongside work that may outlast [`LEASE_TTL`]); returns when one
    /// of `held` is no longer `owner`'s, so that work can stop.
    pub async fn keep(&self, pool: &PgPool, scope: &str, owner: &str, held: &[i16]) {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(now) = self.renew(pool, scope, owner).await {
                if held.iter().any(|p| !now.contains(p)) {
                    return;
                }
            }
        }
    }

    /// Gives back every partition of `scope` that `owner` holds.
    pub async fn release(
        &self,
        pool: &PgPool,
        scope: &str,
        owner: &str,
    ) -> Result<(), sqlx::Error> {
        let Self {
            table,
            scope_column,
        } = self;
        sqlx::query(&format!(
            "update {table} set lease_owner = null, lease_expires_at = null
              where {scope_column} = $1 and lease_owner = $2"
        ))
        .bind(scope)
        .bind(owner)
        .execute(pool)
        .await?;
        Ok(())
    }
}
