//! `hiring.deliveries` and `hiring.sink_state`: one row per (sink, event), claimed
//! with FOR UPDATE SKIP LOCKED and a lease (no transaction is held across the
//! HTTP call), oldest first and never ahead of an undelivered earlier event of
//! the same entity.

use serde_json::Value;
use sqlx::{PgPool, Row};
use std::time::Duration;

/// Events committed longer ago than this are assumed visible: the enqueue
/// watermark only passes them (a slower transaction may commit a lower `seq` late).
const VISIBILITY_SLACK: &str = "2 minutes";

/// Adds deliveries for `sink_id` of events not enqueued yet that match its filters
/// (`type_patterns` are SQL LIKE patterns; empty = all; `connectors` empty = all).
/// The fast path scans only events past `enqueued_seq`; with `recheck` it also
/// rescans from the safe watermark for events whose transaction committed late
/// with a lower seq. Returns how many were added.
pub async fn enqueue(
    pool: &PgPool,
    sink_id: &str,
    type_patterns: &[String],
    connectors: &[String],
    recheck: bool,
) -> Result<u64, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    sqlx::query("insert into hiring.sink_state (sink_id) values ($1) on conflict do nothing")
        .bind(sink_id)
        .execute(&mut *tx)
        .await?;
    let (watermark, scanned): (i64, i64) = sqlx::query_as(
        "select last_seq, enqueued_seq from hiring.sink_state where sink_id = $1 for update",
    )
    .bind(sink_id)
    .fetch_one(&mut *tx)
    .await?;
    let newest: i64 = sqlx::query_scalar("select coalesce(max(seq), 0) from hiring.events")
        .fetch_one(&mut *tx)
        .await?;
    let upto = newest.min(scanned + 20_000);
    let from = if recheck { watermark } else { scanned };
    let added = sqlx::query(
        "insert into hiring.deliveries (sink_id, event_id, event_seq, entity_key)
         select $1, e.id, e.seq, e.entity_type || ':' || e.entity_id
           from hiring.events e
          where e.seq > $2 and e.seq <= $5
            and (cardinality($3::text[]) = 0 or e.type like any($3))
            and (cardinality($4::text[]) = 0 or e.connector_id = any($4))
            and ($6 or not exists (select 1 from hiring.deliveries d where d.sink_id = $1 and d.event_id = e.id))
          order by e.seq
         on conflict (sink_id, event_id) do nothing",
    )
    .bind(sink_id)
    .bind(from)
    .bind(type_patterns)
    .bind(connectors)
    .bind(upto)
    .bind(!recheck)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(&format!(
        "update hiring.sink_state set updated_at = now(), enqueued_seq = greatest(enqueued_seq, $3),
                last_seq = case when $4 then greatest(last_seq, coalesce(
                    (select max(seq) from hiring.events where seq > $2 and seq <= $3
                        and created_at < now() - interval '{VISIBILITY_SLACK}'),
                    last_seq)) else last_seq end
          where sink_id = $1"
    ))
    .bind(sink_id)
    .bind(watermark)
    .bind(upto)
    .bind(recheck)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(added)
}

/// A delivery claimed for sending, with the envelope to send.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub event_id: String,
    pub attempts: i32,
    pub payload: Value,
}

/// Claims up to `limit` deliveries of `sink_id` that are due, each the oldest
/// undelivered event of its entity. Written without correlated subqueries, so it
/// stays fast when the table's statistics are stale (a burst of new events).
pub async fn claim(
    pool: &PgPool,
    sink_id: &str,
    owner: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "update hiring.deliveries d
            set status = 'in_flight', lease_owner = $2,
                lease_expires_at = now() + $3 * interval '1 millisecond', attempts = d.attempts + 1
          where d.id in (
                select x.id from hiring.deliveries x
                 where x.id in (
                        -- the oldest undelivered event of each entity, if it is due
                        select head.id from (
                            select distinct on (entity_key) id, event_seq, status, next_attempt_at,
                                   lease_owner, lease_expires_at
                              from hiring.deliveries
                             where sink_id = $1 and status in ('pending', 'failed', 'in_flight')
                             order by entity_key, event_seq) head
                         where (head.status in ('pending', 'failed') and head.next_attempt_at <= now())
                            or (head.status = 'in_flight' and ",
        crate::lease_free!("head"),
        ")
                         order by head.event_seq
                         limit $4)
                 for update skip locked)
            -- re-checked on the row itself, so a concurrent claimer never takes it twice
            and ((d.status in ('pending', 'failed') and d.next_attempt_at <= now())
                 or (d.status = 'in_flight' and ",
        crate::lease_free!("d"),
        "))
         returning d.id, d.event_id, d.attempts, d.event_seq,
                   (select e.payload from hiring.events e where e.id = d.event_id) as payload"
    ))
    .bind(sink_id)
    .bind(owner)
    .bind(lease.as_millis() as f64)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out: Vec<(i64, Claimed)> = rows
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>("event_seq")?,
                Claimed {
                    id: r.try_get("id")?,
                    event_id: r.try_get("event_id")?,
                    attempts: r.try_get("attempts")?,
                    payload: r
                        .try_get::<Option<Value>, _>("payload")?
                        .unwrap_or(Value::Null),
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// Records a successful delivery.
pub async fn delivered(
    pool: &PgPool,
    id: i64,
    owner: &str,
    status: u16,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.deliveries set status = 'delivered', delivered_at = now(), last_status = $3,
                last_error = null, lease_owner = null, lease_expires_at = null
          where id = $1 and lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(i32::from(status))
    .execute(pool)
    .await?;
    Ok(())
}

/// Records successful deliveries (id, HTTP status) in one statement.
pub async fn delivered_many(
    pool: &PgPool,
    done: &[(i64, i32)],
    owner: &str,
) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = done.iter().map(|(id, _)| *id).collect();
    let statuses: Vec<i32> = done.iter().map(|(_, s)| *s).collect();
    sqlx::query(
        "update hiring.deliveries d set status = 'delivered', delivered_at = now(), last_status = x.status,
                last_error = null, lease_owner = null, lease_expires_at = null
           from unnest($1::bigint[], $2::int[]) as x(id, status)
          where d.id = x.id and d.lease_owner = $3",
    )
    .bind(&ids)
    .bind(&statuses)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a failed attempt: retried after `retry_in`, or dead.
pub async fn failed(
    pool: &PgPool,
    id: i64,
    owner: &str,
    status: Option<u16>,
    error: &str,
    retry_in: Duration,
    dead: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.deliveries set status = case when $6 then 'dead' else 'failed' end,
                next_attempt_at = now() + $5 * interval '1 millisecond', last_status = $3, last_error = $4,
                lease_owner = null, lease_expires_at = null
          where id = $1 and lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(status.map(i32::from))
    .bind(error)
    .bind(retry_in.as_millis() as f64)
    .bind(dead)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a claimed delivery back untouched (the sink was disabled meanwhile).
pub async fn release(pool: &PgPool, id: i64, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.deliveries set status = 'pending', attempts = greatest(attempts - 1, 0),
                lease_owner = null, lease_expires_at = null
          where id = $1 and lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a 410 Gone attempt: it counts, and the delivery waits (pending)
/// for the sink to be re-enabled.
pub async fn gone(pool: &PgPool, id: i64, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.deliveries set status = 'pending', last_status = 410,
                last_error = '410 Gone: the sink is disabled until an operator re-enables it',
                lease_owner = null, lease_expires_at = null
          where id = $1 and lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// Disables a sink (the receiver answered 410 Gone).
pub async fn disable_sink(pool: &PgPool, sink_id: &str, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.sink_state set disabled_at = now(), disabled_reason = $2, updated_at = now()
          where sink_id = $1",
    )
    .bind(sink_id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// Why the sink is disabled, if it is.
pub async fn disabled(pool: &PgPool, sink_id: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("select disabled_reason from hiring.sink_state where sink_id = $1 and disabled_at is not null")
            .bind(sink_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(r,)| r.unwrap_or_default()))
}

/// Re-sends events to a sink with their original ids: the chosen events'
/// deliveries go back to pending (created if missing). Returns how many.
pub async fn replay(
    pool: &PgPool,
    sink_id: &str,
    where_sql: &str,
    binds: &[String],
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "insert into hiring.deliveries (sink_id, event_id, event_seq, entity_key)
         select $1, e.id, e.seq, e.entity_type || ':' || e.entity_id from hiring.events e where {where_sql}
         on conflict (sink_id, event_id) do update
            set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null,
                lease_owner = null, lease_expires_at = null"
    );
    let mut q = sqlx::query(&sql).bind(sink_id);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.execute(pool).await?.rows_affected())
}

/// Per sink: pending, dead, oldest pending age (seconds), disabled reason.
pub async fn sink_status(pool: &PgPool) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "select s.sink_id, s.disabled_reason, s.disabled_at,
                (select count(*) from hiring.deliveries d where d.sink_id = s.sink_id and d.status in ('pending', 'failed', 'in_flight')) as pending,
                (select count(*) from hiring.deliveries d where d.sink_id = s.sink_id and d.status = 'dead') as dead,
                (select count(distinct d.entity_key) from hiring.deliveries d
                  where d.sink_id = s.sink_id and d.status = 'failed') as held,
                (select count(*) from hiring.deliveries d where d.sink_id = s.sink_id and d.status = 'delivered') as delivered,
                (select extract(epoch from now() - min(d.created_at))::bigint from hiring.deliveries d
                  where d.sink_id = s.sink_id and d.status in ('pending', 'failed', 'in_flight')) as oldest_pending_seconds
           from hiring.sink_state s order by s.sink_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let disabled_at: Option<chrono::DateTime<chrono::Utc>> = r.try_get("disabled_at")?;
            Ok(serde_json::json!({
                "sink": r.try_get::<String, _>("sink_id")?,
                "pending": r.try_get::<i64, _>("pending")?,
                "dead": r.try_get::<i64, _>("dead")?,
                "held_entities": r.try_get::<i64, _>("held")?,
                "delivered": r.try_get::<i64, _>("delivered")?,
                "oldest_pending_seconds": r.try_get::<Option<i64>, _>("oldest_pending_seconds")?,
                "disabled_at": disabled_at,
                "disabled_reason": r.try_get::<Option<String>, _>("disabled_reason")?,
            }))
        })
        .collect()
}

/// Dead deliveries (for `hirebridge dlq`): (id, sink, event id, attempts, last error).
pub async fn dead(
    pool: &PgPool,
) -> Result<Vec<(i64, String, String, i32, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "select id, sink_id, event_id, attempts, last_error from hiring.deliveries where status = 'dead' order by id",
    )
    .fetch_all(pool)
    .await
}

/// Puts dead deliveries of `sink_id` back in the queue.
pub async fn retry_dead(pool: &PgPool, sink_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update hiring.deliveries set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null
          where sink_id = $1 and status = 'dead'",
    )
    .bind(sink_id)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Re-enables a sink disabled by a 410.
pub async fn enable_sink(pool: &PgPool, sink_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update hiring.sink_state set disabled_at = null, disabled_reason = null, updated_at = now()
          where sink_id = $1 and disabled_at is not null",
    )
    .bind(sink_id)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Age in seconds of the oldest event not yet delivered to `sink_id` (0 when none).
pub async fn oldest_pending_age(pool: &PgPool, sink_id: &str) -> Result<f64, sqlx::Error> {
    let age: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from now() - min(e.created_at))::float8
           from hiring.deliveries d join hiring.events e on e.id = d.event_id
          where d.sink_id = $1 and d.status in ('pending', 'failed', 'in_flight')",
    )
    .bind(sink_id)
    .fetch_one(pool)
    .await?;
    Ok(age.unwrap_or(0.0))
}
