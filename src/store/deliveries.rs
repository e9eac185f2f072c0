//! Delivery bookkeeping: each sink reads `hiring.event_log` (the log) by cursor,
//! one cursor per partition (`hiring.sink_cursors`, leased through
//! `store::partition`), and writes rows only for what it could not deliver
//! (`hiring.delivery_holds`).
//!
//! The log is read in (xid, seq) order and only below the oldest transaction
//! still running (`pg_snapshot_xmin`): every event of a transaction older than
//! that is committed or gone for good, so a cursor past it never skips an event
//! that commits late. Within one entity the order is `seq` (its writers hold
//! the entity's row lock); an event whose entity has an earlier event later in
//! the log (an older transaction wrote it after a younger one) is held until
//! that earlier one went first.

use crate::config::SinkStart;
use crate::store::partition::PARTITIONS;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgPool, Row};
use std::time::Duration;

/// SQL: the entity key of the event aliased `e`.
macro_rules! entity_key {
    ($alias:literal) => {
        concat!(
            $alias,
            ".entity_type || ':' || ",
            $alias,
            ".entity_id::text"
        )
    };
}

/// Creates the sink's cursors where `start` says, unless it has them already.
/// Returns true when they were created now.
pub async fn init_cursors(
    pool: &PgPool,
    sink_id: &str,
    start: &SinkStart,
) -> Result<bool, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    sqlx::query("insert into hiring.sink_state (sink_id) values ($1) on conflict do nothing")
        .bind(sink_id)
        .execute(&mut *tx)
        .await?;
    // Per partition: the position just before the first event to deliver.
    const NOW: &str = "(select array[e.xid::text, e.seq::text] from hiring.event_log e
          where e.part = p and e.xid < pg_snapshot_xmin(pg_current_snapshot())
          order by e.xid desc, e.seq desc limit 1)";
    let (position, at) = match start {
        // Past every event whose transaction is over.
        SinkStart::Now => (NOW.to_string(), None),
        SinkStart::Beginning => ("null::text[]".to_string(), None),
        // Just before the first event written at or after the time (the end
        // when there is none yet).
        SinkStart::At(t) => (
            format!(
                "coalesce((select array[e.xid::text, (e.seq - 1)::text] from hiring.event_log e
                            where e.part = p and e.created_at >= $2
                            order by e.xid, e.seq limit 1), {NOW})"
            ),
            Some(*t),
        ),
    };
    let created = sqlx::query(&format!(
        "insert into hiring.sink_cursors (sink_id, part, xid, seq)
         select $1, p, coalesce(pos[1], '0')::xid8, coalesce(pos[2], '0')::bigint
           from (select p::smallint as p, {position} as pos
                   from generate_series(0, {last}) p) x
         on conflict do nothing",
        last = PARTITIONS - 1,
    ))
    .bind(sink_id)
    .bind(at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(created > 0)
}

/// One event read past a cursor.
#[derive(Debug, Clone)]
pub struct LogEvent {
    pub part: i16,
    /// The writing transaction's id (xid8, as text).
    pub xid: String,
    pub seq: i64,
    pub id: String,
    pub entity_key: String,
    /// The sink wants it (its type and connector filters); others are only passed.
    pub wanted: bool,
    /// Its entity has events held for this sink: it waits behind them.
    pub held: bool,
    /// An earlier event of its entity comes later in the log: it waits for it.
    pub waits_for_earlier: bool,
    /// The envelope's parts, for wanted events.
    pub envelope: Option<StoredEnvelope>,
}

/// An event's envelope as the log keeps it: its parts (the columns of
/// `hiring.event_log`; `events::stored_envelope_body` puts them together) or, for
/// events stored before 20261208000001, the envelope itself (`payload`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEnvelope {
    pub id: String,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub connector_id: Option<String>,
    pub provider: Option<String>,
    pub remote_id: Option<String>,
    pub via: String,
    pub data: Option<Value>,
    pub changes: Option<Value>,
    pub payload: Option<Value>,
}

/// Reads up to `limit` events past each cursor of `parts` held by `owner`, in
/// log order per partition, only events every running transaction is younger
/// than. `type_patterns` are SQL LIKE patterns (empty = all), `connectors`
/// empty = all.
pub async fn read(
    pool: &PgPool,
    sink_id: &str,
    owner: &str,
    parts: &[i16],
    limit: i64,
    type_patterns: &[String],
    connectors: &[String],
) -> Result<Vec<LogEvent>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "with snap as materialized (select pg_snapshot_xmin(pg_current_snapshot()) as xmin)
         select c.part, e.xid::text as xid, e.seq, e.id, e.key as entity_key, e.wanted,
                e.wanted and exists (select 1 from hiring.delivery_holds h
                     where h.sink_id = $1 and h.part = c.part and h.entity_key = e.key
                       and h.status <> 'dead') as held,
                e.wanted and exists (select 1 from hiring.event_log o
                     where o.entity_type = e.entity_type and o.entity_id = e.entity_id
                       and o.seq < e.seq and o.xid > e.xid) as waits_for_earlier,
                e.type, e.occurred_at, e.connector_id, e.provider, e.remote_id, e.via,
                case when e.wanted then e.data end as data,
                case when e.wanted then e.changes end as changes,
                case when e.wanted then e.payload end as payload
           from hiring.sink_cursors c
           cross join lateral (
                select l.xid, l.seq, l.id, l.entity_type, l.entity_id, l.type, l.occurred_at,
                       l.connector_id, l.provider, l.remote_id, l.via, l.data, l.changes, l.payload, ",
        entity_key!("l"),
        " as key,
                       coalesce((cardinality($5::text[]) = 0 or l.type like any($5))
                           and (cardinality($6::text[]) = 0 or l.connector_id = any($6)), false) as wanted
                  from hiring.event_log l
                 where l.part = c.part and (l.xid, l.seq) > (c.xid, c.seq)
                   and l.xid < (select xmin from snap)
                 order by l.xid, l.seq
                 limit $4) e
          where c.sink_id = $1 and c.lease_owner = $2 and c.part = any($3)
          order by e.xid, e.seq"
    ))
    .bind(sink_id)
    .bind(owner)
    .bind(parts)
    .bind(limit)
    .bind(type_patterns)
    .bind(connectors)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let wanted: bool = r.try_get("wanted")?;
            Ok(LogEvent {
                part: r.try_get("part")?,
                xid: r.try_get("xid")?,
                seq: r.try_get("seq")?,
                id: r.try_get("id")?,
                entity_key: r.try_get("entity_key")?,
                wanted,
                held: r.try_get("held")?,
                waits_for_earlier: r.try_get("waits_for_earlier")?,
                envelope: if wanted {
                    Some(StoredEnvelope::from_row(&r)?)
                } else {
                    None
                },
            })
        })
        .collect()
}

/// An event to hold for a sink, with what its attempt (if any) said.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub seq: i64,
    pub event_id: String,
    pub entity_key: String,
    pub part: i16,
    /// 0 when it was not attempted (it waits behind its entity).
    pub attempts: i32,
    pub retry_in: Duration,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub dead: bool,
}

/// Commits a batch: the cursors move to `positions` (part, xid, seq) and the
/// events that could not go are held, in one transaction. Returns false (and
/// changes nothing) when a partition's lease is no longer `owner`'s: the new
/// holder sends the batch again.
pub async fn advance(
    pool: &PgPool,
    sink_id: &str,
    owner: &str,
    positions: &[(i16, String, i64)],
    holds: &[NewHold],
) -> Result<bool, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    let parts: Vec<i16> = positions.iter().map(|p| p.0).collect();
    let xids: Vec<&str> = positions.iter().map(|p| p.1.as_str()).collect();
    let seqs: Vec<i64> = positions.iter().map(|p| p.2).collect();
    let moved = sqlx::query(
        "update hiring.sink_cursors c set xid = x.xid::xid8, seq = x.seq, updated_at = now()
           from unnest($3::smallint[], $4::text[], $5::bigint[]) as x(part, xid, seq)
          where c.sink_id = $1 and c.part = x.part and c.lease_owner = $2",
    )
    .bind(sink_id)
    .bind(owner)
    .bind(&parts)
    .bind(&xids)
    .bind(&seqs)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved != positions.len() as u64 {
        tx.rollback().await?;
        return Ok(false);
    }
    insert_holds(&mut tx, sink_id, holds).await?;
    tx.commit().await?;
    Ok(true)
}

async fn insert_holds(
    tx: &mut sqlx::PgConnection,
    sink_id: &str,
    holds: &[NewHold],
) -> Result<(), sqlx::Error> {
    if holds.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = holds.iter().map(|h| h.seq).collect();
    let ids: Vec<&str> = holds.iter().map(|h| h.event_id.as_str()).collect();
    let keys: Vec<&str> = holds.iter().map(|h| h.entity_key.as_str()).collect();
    let parts: Vec<i16> = holds.iter().map(|h| h.part).collect();
    let attempts: Vec<i32> = holds.iter().map(|h| h.attempts).collect();
    let retry_ms: Vec<f64> = holds
        .iter()
        .map(|h| h.retry_in.as_millis() as f64)
        .collect();
    let statuses: Vec<Option<i32>> = holds.iter().map(|h| h.last_status).collect();
    let errors: Vec<Option<&str>> = holds.iter().map(|h| h.last_error.as_deref()).collect();
    let state: Vec<&str> = holds
        .iter()
        .map(|h| match (h.dead, h.attempts) {
            (true, _) => "dead",
            (false, 0) => "waiting",
            _ => "failed",
        })
        .collect();
    sqlx::query(
        "insert into hiring.delivery_holds (sink_id, event_seq, event_id, entity_key, part, status,
                attempts, next_attempt_at, last_status, last_error)
         select $1, x.seq, x.id, x.key, x.part, x.state, x.attempts,
                now() + x.retry_ms * interval '1 millisecond', x.status, x.error
           from unnest($2::bigint[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::int[],
                       $8::float8[], $9::int[], $10::text[])
                as x(seq, id, key, part, state, attempts, retry_ms, status, error)
         on conflict (sink_id, event_seq) do nothing",
    )
    .bind(sink_id)
    .bind(&seqs)
    .bind(&ids)
    .bind(&keys)
    .bind(&parts)
    .bind(&state)
    .bind(&attempts)
    .bind(&retry_ms)
    .bind(&statuses)
    .bind(&errors)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A held event due for an attempt: the oldest held event of its entity.
#[derive(Debug, Clone)]
pub struct HeldEvent {
    pub seq: i64,
    pub event_id: String,
    /// Attempts before this one.
    pub attempts: i32,
    pub envelope: StoredEnvelope,
}

/// The held events of `parts` due now, one per entity (its oldest), and only
/// when no earlier event of the entity is still ahead of the cursor.
pub async fn due_holds(
    pool: &PgPool,
    sink_id: &str,
    parts: &[i16],
    limit: i64,
) -> Result<Vec<HeldEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "select h.event_seq, h.event_id, h.attempts, e.id, e.type, e.occurred_at, e.connector_id,
                e.provider, e.remote_id, e.via, e.data, e.changes, e.payload
           from (select distinct on (entity_key) event_seq, event_id, attempts, part, next_attempt_at
                   from hiring.delivery_holds
                  where sink_id = $1 and part = any($2) and status <> 'dead'
                  order by entity_key, event_seq) h
           join hiring.event_log e on e.seq = h.event_seq
           join hiring.sink_cursors c on c.sink_id = $1 and c.part = h.part
          where h.next_attempt_at <= now()
            and not exists (select 1 from hiring.event_log o
                             where o.entity_type = e.entity_type and o.entity_id = e.entity_id
                               and o.seq < e.seq and (o.xid, o.seq) > (c.xid, c.seq))
          order by h.event_seq
          limit $3",
    )
    .bind(sink_id)
    .bind(parts)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(HeldEvent {
                seq: r.try_get("event_seq")?,
                event_id: r.try_get("event_id")?,
                attempts: r.try_get("attempts")?,
                envelope: StoredEnvelope::from_row(&r)?,
            })
        })
        .collect()
}

/// Whether `parts` have failed events waiting for their next attempt (the
/// probes of a sink that looks down). Events waiting behind their entity do
/// not count: some wait for an event still in the log.
pub async fn has_retrying_holds(
    pool: &PgPool,
    sink_id: &str,
    parts: &[i16],
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from hiring.delivery_holds
                         where sink_id = $1 and part = any($2) and status = 'failed')",
    )
    .bind(sink_id)
    .bind(parts)
    .fetch_one(pool)
    .await
}

/// Held events that were delivered: they are no longer held.
pub async fn held_delivered(pool: &PgPool, sink_id: &str, seqs: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from hiring.delivery_holds where sink_id = $1 and event_seq = any($2)")
        .bind(sink_id)
        .bind(seqs)
        .execute(pool)
        .await?;
    Ok(())
}

/// A held event's attempt failed: retried after `retry_in`, or dead.
pub async fn held_failed(
    pool: &PgPool,
    sink_id: &str,
    seq: i64,
    status: Option<u16>,
    error: &str,
    retry_in: Duration,
    dead: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.delivery_holds set status = case when $6 then 'dead' else 'failed' end,
                attempts = attempts + 1, next_attempt_at = now() + $5 * interval '1 millisecond',
                last_status = $3, last_error = $4
          where sink_id = $1 and event_seq = $2",
    )
    .bind(sink_id)
    .bind(seq)
    .bind(status.map(i32::from))
    .bind(error)
    .bind(retry_in.as_millis() as f64)
    .bind(dead)
    .execute(pool)
    .await?;
    Ok(())
}

/// The error a 410 Gone attempt records.
pub const GONE: &str = "410 Gone: the sink is disabled until an operator re-enables it";

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

/// Re-sends events to a sink with their original ids: the chosen events are
/// held for it, due now (an event held already starts its schedule again).
/// Returns how many.
pub async fn replay(
    pool: &PgPool,
    sink_id: &str,
    where_sql: &str,
    binds: &[String],
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "insert into hiring.delivery_holds (sink_id, event_seq, event_id, entity_key, part)
         select $1, e.seq, e.id, {key}, e.part from hiring.event_log e where {where_sql}
         on conflict (sink_id, event_seq) do update
            set status = 'waiting', attempts = 0, next_attempt_at = now(), last_error = null",
        key = entity_key!("e"),
    );
    let mut q = sqlx::query(&sql).bind(sink_id);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.execute(pool).await?.rows_affected())
}

/// Counting the events behind a cursor stops here (status says "at least").
const LAG_COUNT_LIMIT: i64 = 100_000;

/// Per sink: its position and lag in the log, held and dead events, who
/// delivers its partitions, and whether it is disabled.
pub async fn sink_status(pool: &PgPool) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select s.sink_id, s.disabled_reason, s.disabled_at,
                (select min(c.seq) from hiring.sink_cursors c where c.sink_id = s.sink_id) as position,
                (select coalesce(sum(n), 0)::bigint from hiring.sink_cursors c
                   cross join lateral (select count(*) as n from (
                        select 1 from hiring.event_log e
                         where e.part = c.part and (e.xid, e.seq) > (c.xid, c.seq)
                         limit {LAG_COUNT_LIMIT}) behind) b
                  where c.sink_id = s.sink_id) as behind,
                (select extract(epoch from now() - min(first.created_at))::float8
                   from hiring.sink_cursors c
                   cross join lateral (select e.created_at from hiring.event_log e
                         where e.part = c.part and (e.xid, e.seq) > (c.xid, c.seq)
                         order by e.xid, e.seq limit 1) first
                  where c.sink_id = s.sink_id) as behind_seconds,
                (select count(*) from hiring.delivery_holds h where h.sink_id = s.sink_id and h.status <> 'dead') as held,
                (select count(distinct h.entity_key) from hiring.delivery_holds h
                  where h.sink_id = s.sink_id and h.status <> 'dead') as held_entities,
                (select extract(epoch from now() - min(h.created_at))::float8 from hiring.delivery_holds h
                  where h.sink_id = s.sink_id and h.status <> 'dead') as held_seconds,
                (select count(*) from hiring.delivery_holds h where h.sink_id = s.sink_id and h.status = 'dead') as dead,
                (select coalesce(jsonb_object_agg(o.owner, o.n), '{{}}') from (
                    select c.lease_owner as owner, count(*) as n from hiring.sink_cursors c
                     where c.sink_id = s.sink_id and {held}
                     group by c.lease_owner) o) as partitions
           from hiring.sink_state s order by s.sink_id",
        held = crate::lease_held!("c"),
    ))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let disabled_at: Option<chrono::DateTime<chrono::Utc>> = r.try_get("disabled_at")?;
            let behind: i64 = r.try_get("behind")?;
            let held: i64 = r.try_get("held")?;
            let behind_seconds: Option<f64> = r.try_get("behind_seconds")?;
            let held_seconds: Option<f64> = r.try_get("held_seconds")?;
            let oldest = match (behind_seconds, held_seconds) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            Ok(serde_json::json!({
                "sink": r.try_get::<String, _>("sink_id")?,
                "position": r.try_get::<Option<i64>, _>("position")?,
                "lag_events": behind,
                "lag_seconds": behind_seconds.map(|s| s.max(0.0).round() as i64),
                "pending": behind + held,
                "held": held,
                "held_entities": r.try_get::<i64, _>("held_entities")?,
                "dead": r.try_get::<i64, _>("dead")?,
                "oldest_pending_seconds": oldest.map(|s| s.max(0.0).round() as i64),
                "partitions": r.try_get::<Value, _>("partitions")?,
                "disabled_at": disabled_at,
                "disabled_reason": r.try_get::<Option<String>, _>("disabled_reason")?,
            }))
        })
        .collect()
}

/// A dead letter: (sink, event seq, event id, attempts, last error).
pub type DeadLetter = (String, i64, String, i32, Option<String>);

/// Dead letters of every sink (for `hirebridge dlq`).
pub async fn dead(pool: &PgPool) -> Result<Vec<DeadLetter>, sqlx::Error> {
    sqlx::query_as(
        "select sink_id, event_seq, event_id, attempts, last_error from hiring.delivery_holds
          where status = 'dead' order by sink_id, event_seq",
    )
    .fetch_all(pool)
    .await
}

/// Puts dead letters of `sink_id` back in line, due now.
pub async fn retry_dead(pool: &PgPool, sink_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update hiring.delivery_holds set status = 'waiting', attempts = 0, next_attempt_at = now(), last_error = null
          where sink_id = $1 and status = 'dead'",
    )
    .bind(sink_id)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Re-enables a sink disabled by a 410; what waited is due at once.
pub async fn enable_sink(pool: &PgPool, sink_id: &str) -> Result<u64, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    let enabled = sqlx::query(
        "update hiring.sink_state set disabled_at = null, disabled_reason = null, updated_at = now()
          where sink_id = $1 and disabled_at is not null",
    )
    .bind(sink_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "update hiring.delivery_holds set next_attempt_at = now()
          where sink_id = $1 and status <> 'dead' and next_attempt_at > now()",
    )
    .bind(sink_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(enabled)
}

/// Age in seconds of the oldest event not yet delivered to `sink_id`: the
/// oldest held one or the oldest past its cursors (0 when none).
pub async fn oldest_pending_age(pool: &PgPool, sink_id: &str) -> Result<f64, sqlx::Error> {
    let age: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from now() - least(
                (select min(h.created_at) from hiring.delivery_holds h
                  where h.sink_id = $1 and h.status <> 'dead'),
                (select min(first.created_at) from hiring.sink_cursors c
                   cross join lateral (select e.created_at from hiring.event_log e
                         where e.part = c.part and (e.xid, e.seq) > (c.xid, c.seq)
                           and e.xid < pg_snapshot_xmin(pg_current_snapshot())
                         order by e.xid, e.seq limit 1) first
                  where c.sink_id = $1)))::float8",
    )
    .bind(sink_id)
    .fetch_one(pool)
    .await?;
    Ok(age.unwrap_or(0.0).max(0.0))
}

/// Deletes up to `batch` events older than `older_than` that every sink with
/// cursors in the database has passed (whichever daemon delivers it) and none
/// holds, partition by partition in log order (only events behind every cursor
/// are read). With no sink at all, age alone decides. Returns how many.
pub async fn delete_expired(
    pool: &PgPool,
    older_than: Duration,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    for part in 0..PARTITIONS {
        deleted += sqlx::query(
            "with slowest as (
                select c.xid, c.seq from hiring.sink_cursors c
                 where c.part = $2
                 order by c.xid, c.seq limit 1)
             delete from hiring.event_log where seq in (
                select x.seq from hiring.event_log x
                 where x.part = $2
                   and (not exists (select 1 from slowest)
                        or (x.xid, x.seq) <= (select s.xid, s.seq from slowest s))
                   and x.created_at < now() - $1 * interval '1 millisecond'
                   and not exists (select 1 from hiring.delivery_holds h where h.event_seq = x.seq)
                 order by x.xid, x.seq
                 limit $3)",
        )
        .bind(older_than.as_millis() as f64)
        .bind(part)
        .bind(batch)
        .execute(pool)
        .await?
        .rows_affected();
    }
    Ok(deleted)
}
