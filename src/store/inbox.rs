//! `hiring.inbox`: webhook deliveries committed before they are acknowledged,
//! claimed by normaliser workers with FOR UPDATE SKIP LOCKED and a lease, retried
//! with backoff, and dead-lettered with their reason when they cannot be processed.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Row};
use std::borrow::Borrow;
use std::time::Duration;
use uuid::Uuid;

/// A delivery to store, owned (for the group-committing writer).
#[derive(Debug, Clone)]
pub struct OwnedDelivery {
    pub connector_id: String,
    pub dedup_key: String,
    pub event_type: Option<String>,
    pub headers: Value,
    pub body: Vec<u8>,
    /// The entity it changes, from the connector (its inbox partition).
    pub entity_key: Option<String>,
}

/// Stores many deliveries in one statement and one commit (group commit for
/// concurrent requests). Returns, per delivery in input order, whether it was new.
/// It writes nothing else: a row every commit updated (the connector's
/// `last_heard_at` used to be) would make concurrent commits wait for each other
/// (the ingress records that separately, see [`heard_from`]).
///
/// Rows are inserted in (connector_id, dedup_key) order: two daemons storing the
/// same deliveries at once then take the unique index's locks in the same order,
/// so one waits for the other instead of both deadlocking.
pub async fn store_batch<D: Borrow<OwnedDelivery>>(
    pool: &PgPool,
    batch: &[D],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    // A stable sort: of identical deliveries, the first in the batch is inserted.
    let mut sorted: Vec<&OwnedDelivery> = batch.iter().map(Borrow::borrow).collect();
    sorted.sort_by(|a, b| {
        (a.connector_id.as_str(), a.dedup_key.as_str())
            .cmp(&(b.connector_id.as_str(), b.dedup_key.as_str()))
    });
    let connectors: Vec<&str> = sorted.iter().map(|d| d.connector_id.as_str()).collect();
    let keys: Vec<&str> = sorted.iter().map(|d| d.dedup_key.as_str()).collect();
    let types: Vec<Option<&str>> = sorted.iter().map(|d| d.event_type.as_deref()).collect();
    let headers: Vec<&Value> = sorted.iter().map(|d| &d.headers).collect();
    let bodies: Vec<&[u8]> = sorted.iter().map(|d| d.body.as_slice()).collect();
    let entities: Vec<Option<&str>> = sorted.iter().map(|d| d.entity_key.as_deref()).collect();
    let inserted: Vec<(String, String)> = sqlx::query_as(
        "insert into hiring.inbox (connector_id, dedup_key, event_type, headers, body, part)
         select c, k, t, h, b, hiring.partition_of(c || ':' || coalesce(e, ''))
           from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bytea[], $6::text[])
                with ordinality as u(c, k, t, h, b, e, n)
          order by n
         on conflict (connector_id, dedup_key) do nothing
         returning connector_id, dedup_key",
    )
    .bind(&connectors)
    .bind(&keys)
    .bind(&types)
    .bind(&headers)
    .bind(&bodies)
    .bind(&entities)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut fresh: std::collections::HashSet<(String, String)> = inserted.into_iter().collect();
    // The first of several identical deliveries in one batch is the new one.
    Ok(batch
        .iter()
        .map(Borrow::borrow)
        .map(|d: &OwnedDelivery| fresh.remove(&(d.connector_id.clone(), d.dedup_key.clone())))
        .collect())
}

async fn heard_from_in(
    conn: &mut sqlx::PgConnection,
    connector_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into hiring.connector_state (connector_id, last_heard_at, updated_at) values ($1, now(), now())
         on conflict (connector_id) do update set last_heard_at = now(), updated_at = now()",
    )
    .bind(connector_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that the provider reached us (a ping).
pub async fn heard_from(pool: &PgPool, connector_id: &str) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    heard_from_in(&mut conn, connector_id).await
}

/// Counts a rejected delivery by reason (nothing of the delivery is stored).
pub async fn count_rejection(
    pool: &PgPool,
    connector_id: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into hiring.webhook_rejections (connector_id, reason, count, last_at) values ($1, $2, 1, now())
         on conflict (connector_id, reason) do update
            set count = hiring.webhook_rejections.count + 1, last_at = now()",
    )
    .bind(connector_id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// SQL: the inbox row `c` is a due delivery of the partition `$part` (an SQL
/// expression): pending, or failed and due for a retry, or marked 'processing'
/// by an older daemon whose lease lapsed; and no delivery of its partition is
/// marked 'processing' under a lease that holds (that older daemon's fence).
macro_rules! due_in_partition {
    ($part:literal) => {
        concat!(
            "c.part = ",
            $part,
            "
               and c.status in ('pending', 'failed', 'processing')
               and ((c.status in ('pending', 'failed') and c.next_attempt_at <= now())
                    or (c.status = 'processing' and ",
            crate::lease_free!("c"),
            "))
               and not exists (
                    select 1 from hiring.inbox p
                     where p.part = ",
            $part,
            " and p.status = 'processing' and ",
            crate::lease_held!("p"),
            ")"
        )
    };
}

/// SQL: the inbox row, found by id, is still pending or failed (not done,
/// dead-lettered, or marked 'processing' by an older daemon). Written so that
/// it does not imply the predicate of the claim's partial index: as
/// `status in ('pending', 'failed')` it did, and with statistics that said the
/// index held almost nothing, the planner scanned all of it for the ids
/// instead of probing the primary key (marking 256 deliveries done took 10 ms,
/// 89-110 µs a delivery, with 3 million processed deliveries in the inbox).
macro_rules! open_by_id {
    () => {
        "status not in ('done', 'dead', 'processing')"
    };
}

/// The claim's read: the oldest `$2` due deliveries of the partitions `$1`
/// (at most [`PARTITIONS`](super::partition::PARTITIONS), a partition per
/// branch; a branch past the array's end reads nothing), as many of them as
/// fit in `$3` bytes of bodies (at least one). Each branch reads its
/// partition in id order by the `(part, id)` index, and PostgreSQL merges the
/// branches and stops at `$2` rows, so the read touches about `$2` rows (taking
/// each partition's `$2` oldest and sorting them read up to eight times that).
static CLAIM_READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let branch = concat!(
        "(select c.id, c.part, c.connector_id, c.event_type, c.body, c.attempts + 1 as attempts, c.received_at
            from hiring.inbox c
           where ",
        due_in_partition!("{part}"),
        "
           order by c.id
           limit $2)"
    );
    let branches: Vec<String> = (1..=super::partition::PARTITIONS)
        .map(|k| branch.replace("{part}", &format!("($1::smallint[])[{k}]")))
        .collect();
    format!(
        "select id, part, connector_id, event_type, body, attempts, received_at
           from (select r.*, row_number() over (order by r.id) as n,
                        sum(octet_length(r.body)) over (order by r.id) as upto
                   from ({}\n order by id\n limit $2) r) w
          where w.n = 1 or w.upto <= $3
          order by w.id",
        branches.join("\n union all\n")
    )
});

/// The most body bytes a claim takes (and at least one delivery): what a
/// batch holds in memory, whatever the size of the deliveries.
pub const CLAIM_BYTES: i64 = 8 << 20;

/// The partitions of `$1` with a due delivery (see [`claim`]).
#[doc(hidden)]
pub const BUSY_PARTITIONS: &str = concat!(
    "select q.part from unnest($1::smallint[]) as q(part)
          cross join lateral (select 1 from hiring.inbox c where ",
    due_in_partition!("q.part"),
    " limit 1) as due"
);

/// A delivery claimed for processing.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    /// Its partition, whose batch slot the claim holds.
    pub part: i16,
    /// The claim that took it (one per batch): what the slot must still name
    /// when the delivery is finished.
    pub batch: Uuid,
    pub connector_id: String,
    pub event_type: Option<String>,
    pub body: Vec<u8>,
    /// This attempt's number (the attempts before it, plus one).
    pub attempts: i32,
    pub received_at: DateTime<Utc>,
}

/// Claims up to `limit` due deliveries (pending, or failed and due for a
/// retry) of the partitions `parts` (leased to this worker), oldest first, and
/// no more than [`CLAIM_BYTES`] of bodies but for the first.
///
/// The claim leases the batch slot (`hiring.inbox_batches`) of each partition
/// it takes deliveries from and leaves the deliveries' rows alone: marking each
/// row cost a rewrite of the row and its index entries. A partition whose slot
/// is held by a live holder is skipped (a partition handed over between daemons
/// waits for the old holder's batch), so two changes of one entity are never
/// applied out of order by two workers. A slot whose holder stopped is taken
/// over with its deliveries, which count the attempt that died with it.
/// Deliveries an older daemon marked 'processing' fence their partition the
/// same way while their lease holds, and are claimed once it lapses.
pub async fn claim(
    pool: &PgPool,
    owner: &str,
    lease: Duration,
    limit: i64,
    parts: &[i16],
) -> Result<Vec<Claimed>, sqlx::Error> {
    // Which partitions have work, read without locking anything: an idle
    // worker's look then commits nothing (a lock would cost a WAL flush).
    // Each partition is probed on its own (a lateral subquery with a limit is
    // run once per partition, by the `(part, id)` index, and stops at the
    // first due delivery). Written as `exists`, with statistics taken while
    // the inbox held millions of processed deliveries and no due ones, the
    // planner read every partition's due deliveries in one scan and matched
    // them to the partitions afterwards: 7.5-12 ms a look during a burst, a fifth
    // of the drain's statement time.
    let busy: Vec<i16> = sqlx::query_scalar(BUSY_PARTITIONS)
        .bind(parts)
        .fetch_all(pool)
        .await?;
    if busy.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = super::begin(pool).await?;
    let slots: Vec<(i16, Option<String>, Vec<i64>)> = sqlx::query_as(concat!(
        "select b.part, b.lease_owner, b.ids from hiring.inbox_batches b
          where b.part = any($1) and ",
        crate::lease_free!("b"),
        " order by b.part for update skip locked"
    ))
    .bind(&busy)
    .fetch_all(&mut *tx)
    .await?;
    if slots.is_empty() {
        return Ok(Vec::new());
    }
    let free: Vec<i16> = slots.iter().map(|(part, _, _)| *part).collect();
    // The batches of holders that stopped: their attempt counts.
    let died: Vec<i64> = slots
        .iter()
        .filter(|(_, holder, _)| holder.is_some())
        .flat_map(|(_, _, ids)| ids.iter().copied())
        .collect();
    if !died.is_empty() {
        sqlx::query(concat!(
            "update hiring.inbox set attempts = attempts + 1
              where id = any($1) and ",
            open_by_id!()
        ))
        .bind(&died)
        .execute(&mut *tx)
        .await?;
    }
    // Deliveries an older daemon marked 'processing' and left: pending again,
    // so that daemon's late completion (it checks its row lease) writes nothing.
    sqlx::query(concat!(
        "update hiring.inbox c set status = 'pending', lease_owner = null, lease_expires_at = null
          where c.part = any($1) and c.status = 'processing' and ",
        crate::lease_free!("c")
    ))
    .bind(&free)
    .execute(&mut *tx)
    .await?;
    // A plan made for the parameters would cost more to make (several ms for
    // the branches) than the read itself; the generic plan suits every call.
    sqlx::query("set local plan_cache_mode = force_generic_plan")
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(CLAIM_READ.as_str())
        .bind(&free)
        .bind(limit)
        .bind(CLAIM_BYTES)
        .fetch_all(&mut *tx)
        .await?;
    let batch = Uuid::now_v7();
    let claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("id")?,
                part: r.try_get("part")?,
                batch,
                connector_id: r.try_get("connector_id")?,
                event_type: r.try_get("event_type")?,
                body: r.try_get("body")?,
                attempts: r.try_get("attempts")?,
                received_at: r.try_get("received_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    // Each slot that changes: leased with its deliveries, or, a dead holder's
    // without any now, freed; a free slot without any stays as it is.
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    let of: Vec<i16> = claimed.iter().map(|c| c.part).collect();
    let changed: Vec<i16> = slots
        .iter()
        .filter(|(part, holder, _)| holder.is_some() || of.contains(part))
        .map(|(part, _, _)| *part)
        .collect();
    sqlx::query(
        "update hiring.inbox_batches b
            set ids = coalesce(x.ids, '{}'),
                batch = case when x.ids is null then null else $6 end,
                lease_owner = case when x.ids is null then null else $4 end,
                lease_expires_at = case when x.ids is null then null
                                        else now() + $5 * interval '1 millisecond' end
           from unnest($1::smallint[]) as f(part)
           left join (select u.part, array_agg(u.id order by u.id) as ids
                        from unnest($2::bigint[], $3::smallint[]) as u(id, part)
                       group by u.part) x on x.part = f.part
          where b.part = f.part",
    )
    .bind(&changed)
    .bind(&ids)
    .bind(&of)
    .bind(owner)
    .bind(lease.as_millis() as f64)
    .bind(batch)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Deletes up to `batch` processed deliveries received more than `older_than`
/// ago, oldest first; returns how many. Deliveries not yet processed, retrying
/// or dead-lettered stay whatever their age.
///
/// It needs no index of its own (one on `received_at` would cost every
/// delivery an index entry when it is marked done): ids grow with arrival, so
/// the first id received within the window, found by walking the primary key
/// from its start, bounds the walk that picks the rows to delete. That walk
/// passes only the old deliveries still kept (dead letters, mostly) and those
/// it deletes; `received_at` is still compared row by row, since concurrent
/// commits can take their ids slightly out of order.
pub async fn delete_processed(
    pool: &PgPool,
    older_than: Duration,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "with bound as (
            select coalesce(
                (select id from hiring.inbox
                  where received_at >= now() - $1 * interval '1 millisecond'
                  order by id limit 1),
                9223372036854775807) as id)
         delete from hiring.inbox where id in (
            select i.id from hiring.inbox i
             where i.id < (select id from bound)
               and i.status = 'done'
               and i.received_at < now() - $1 * interval '1 millisecond'
             order by i.id
             limit $2)",
    )
    .bind(older_than.as_millis() as f64)
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Marks claimed deliveries done (keeping their keys, not their payloads: see
/// [`MARK_DONE`]) in the transaction that wrote their records,
/// if the batch slots of their partitions `parts` still name this claim
/// (`owner`'s `batch`; locked until the transaction ends, so nobody takes them
/// over meanwhile). With `finish`, the deliveries are the rest of the batch:
/// the slots are given back in the same commit; otherwise the deliveries leave
/// the slots' lists. Returns false, writing nothing, when a slot was lost.
pub async fn complete_many(
    conn: &mut sqlx::PgConnection,
    ids: &[i64],
    parts: &[i16],
    owner: &str,
    batch: Uuid,
    finish: bool,
) -> Result<bool, sqlx::Error> {
    let mut parts = parts.to_vec();
    parts.sort_unstable();
    parts.dedup();
    let held = sqlx::query(
        "update hiring.inbox_batches
            set lease_owner = case when $3 then null else lease_owner end,
                lease_expires_at = case when $3 then null else lease_expires_at end,
                batch = case when $3 then null else batch end,
                ids = case when $3 then '{}'
                           else array(select x from unnest(ids) as x where x <> all($5)) end
          where part = any($1) and lease_owner = $2 and batch = $4",
    )
    .bind(&parts)
    .bind(owner)
    .bind(finish)
    .bind(batch)
    .bind(ids)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if held != parts.len() as u64 {
        return Ok(false);
    }
    sqlx::query(MARK_DONE).bind(ids).execute(&mut *conn).await?;
    Ok(true)
}

/// Marks the deliveries `$1` done (see [`complete_many`]), emptying their body
/// and headers: a processed delivery's records hold its data, and the row stays
/// for `[inbox] retention` only so that a redelivery is recognised by its key.
/// Written without them, the row is a sixth of its size: the update writes 390
/// bytes of WAL instead of 860 and took 13 µs a delivery instead of 16
/// (`pg_stat_statements`, `bench ingest`), and the retention window keeps no
/// personal data that the records do not.
#[doc(hidden)]
pub const MARK_DONE: &str = concat!(
    "update hiring.inbox set status = 'done', processed_at = now(), lease_owner = null,
        lease_expires_at = null, last_error = null, attempts = attempts + 1,
        headers = '{}', body = ''::bytea
  where id = any($1) and ",
    open_by_id!()
);

/// Extends, to `lease` from now, the leases of the batch slots of `parts` that
/// still name this claim: a batch that takes longer than its lease (thin
/// webhooks whose objects are fetched from a rate-limited API, one by one)
/// stays its claim's, instead of being taken over, done again and counted as
/// an attempt that died. A slot locked right now is skipped, so a renewal
/// never waits: only the claim's own writes lock a held slot (a failed
/// delivery leaving it, or the commit that finishes the batch).
/// Returns how many slots it extended.
pub async fn renew_batch(
    pool: &PgPool,
    parts: &[i16],
    owner: &str,
    batch: Uuid,
    lease: Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update hiring.inbox_batches b
            set lease_expires_at = now() + $4 * interval '1 millisecond'
           from (select part from hiring.inbox_batches
                  where part = any($1) and lease_owner = $2 and batch = $3
                  for update skip locked) held
          where b.part = held.part",
    )
    .bind(parts)
    .bind(owner)
    .bind(batch)
    .bind(lease.as_millis() as f64)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Gives back the batch slots of `parts` that still name this claim (its
/// batch is finished: done, failed or left to another worker).
pub async fn release_batch(
    pool: &PgPool,
    parts: &[i16],
    owner: &str,
    batch: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.inbox_batches
            set lease_owner = null, lease_expires_at = null, batch = null, ids = '{}'
          where part = any($1) and lease_owner = $2 and batch = $3",
    )
    .bind(parts)
    .bind(owner)
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a failed attempt of a claimed delivery: retried after `retry_in`,
/// or dead when `dead`; a refunded attempt is not counted. Only while its
/// partition's batch slot still names the claim, which it then leaves (so a
/// takeover does not count this attempt again); a claim that lost its slot
/// writes nothing.
pub async fn fail(
    pool: &PgPool,
    claimed: &Claimed,
    owner: &str,
    error: &str,
    retry_in: Duration,
    dead: bool,
    refund_attempt: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "with slot as (
                update hiring.inbox_batches set ids = array_remove(ids, $1)
                 where part = $6 and lease_owner = $7 and batch = $8
                returning part)
         update hiring.inbox set status = case when $3 then 'dead' else 'failed' end,
                next_attempt_at = now() + $2 * interval '1 millisecond', last_error = $4,
                lease_owner = null, lease_expires_at = null,
                attempts = attempts + case when $5 then 0 else 1 end
          where id = $1 and ",
        open_by_id!(),
        " and exists (select 1 from slot)"
    ))
    .bind(claimed.id)
    .bind(retry_in.as_millis() as f64)
    .bind(dead)
    .bind(error)
    .bind(refund_attempt)
    .bind(claimed.part)
    .bind(owner)
    .bind(claimed.batch)
    .execute(pool)
    .await?;
    Ok(())
}

/// One dead (or failing) delivery, for `hirebridge dlq`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub connector_id: String,
    /// The event name stored at receipt (from the provider's header).
    pub event_type: Option<String>,
    /// The event name the body itself gives, when it is JSON with one (see
    /// [`body_event_type`]); it can differ from the header's.
    pub body_event_type: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub received_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// The top-level fields a provider's JSON body names its event in, in the order tried.
pub const BODY_EVENT_FIELDS: &[&str] = &["event", "action", "type", "eventType"];

/// The event name a delivery's body gives: the first of [`BODY_EVENT_FIELDS`]
/// that is a top-level string of a JSON object body.
pub fn body_event_type(body: &[u8]) -> Option<String> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    BODY_EVENT_FIELDS
        .iter()
        .find_map(|field| object.get(*field).and_then(Value::as_str))
        .map(str::to_string)
}

fn dead_letter(r: &sqlx::postgres::PgRow, body: &[u8]) -> Result<DeadLetter, sqlx::Error> {
    Ok(DeadLetter {
        id: r.try_get("id")?,
        connector_id: r.try_get("connector_id")?,
        event_type: r.try_get("event_type")?,
        body_event_type: body_event_type(body),
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        received_at: r.try_get("received_at")?,
        last_error: r.try_get("last_error")?,
    })
}

pub async fn dead_letters(
    pool: &PgPool,
    connector: Option<&str>,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, connector_id, event_type, status, attempts, received_at, last_error, body
           from hiring.inbox where status = 'dead' and ($1::text is null or connector_id = $1)
          order by id",
    )
    .bind(connector)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let body: Vec<u8> = r.try_get("body")?;
            dead_letter(r, &body)
        })
        .collect()
}

/// The stored body of one inbox row.
pub async fn body(pool: &PgPool, id: i64) -> Result<Option<(DeadLetter, Vec<u8>)>, sqlx::Error> {
    let row = sqlx::query(
        "select id, connector_id, event_type, status, attempts, received_at, last_error, body
           from hiring.inbox where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        let body: Vec<u8> = r.try_get("body")?;
        Ok((dead_letter(&r, &body)?, body))
    })
    .transpose()
}

/// Puts dead deliveries back in the queue (all of them when `ids` is empty).
pub async fn retry_dead(pool: &PgPool, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let n = sqlx::query(
        "update hiring.inbox set status = 'pending', attempts = 0, next_attempt_at = now()
          where status = 'dead' and (cardinality($1::bigint[]) = 0 or id = any($1))",
    )
    .bind(ids)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n)
}

/// Per connector: inbox backlog, dead letters, rejected deliveries by reason and
/// when the provider was last heard from (for `hirebridge status`).
pub async fn ingress_status(pool: &PgPool) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "select c.connector_id,
                (select count(*) from hiring.inbox i where i.connector_id = c.connector_id
                    and i.status in ('pending', 'processing', 'failed')) as backlog,
                (select count(*) from hiring.inbox i where i.connector_id = c.connector_id
                    and i.status = 'dead') as dead,
                (select extract(epoch from now() - min(i.received_at))::float8 from hiring.inbox i
                  where i.connector_id = c.connector_id
                    and i.status in ('pending', 'processing', 'failed')) as oldest,
                (select coalesce(jsonb_object_agg(r.reason, r.count), '{}'::jsonb)
                   from hiring.webhook_rejections r where r.connector_id = c.connector_id) as rejected,
                c.last_heard_at
           from (select connector_id, max(last_heard_at) as last_heard_at from (
                    select connector_id, last_heard_at from hiring.connector_state
                    union all select connector_id, null from hiring.inbox
                    union all select connector_id, null from hiring.webhook_rejections) u
                  group by connector_id) c
          order by c.connector_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let last: Option<DateTime<Utc>> = r.try_get("last_heard_at")?;
            Ok(serde_json::json!({
                "connector": r.try_get::<String, _>("connector_id")?,
                "inbox_backlog": r.try_get::<i64, _>("backlog")?,
                "dead_letters": r.try_get::<i64, _>("dead")?,
                "oldest_pending_seconds": r.try_get::<Option<f64>, _>("oldest")?,
                "rejected": r.try_get::<Value, _>("rejected")?,
                "last_heard_at": last,
            }))
        })
        .collect()
}
