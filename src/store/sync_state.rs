//! `hiring.sync_state` and `hiring.connector_state`: per (connector, stream) the
//! resume cursor, the lease that keeps two daemons from polling the same stream,
//! and the outcome of the last pass; per connector its health.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use std::time::Duration;
use uuid::Uuid;

pub use super::lease::Holder;

/// The state a pass starts from, read when the lease is taken.
#[derive(Debug, Clone, Default)]
pub struct StreamState {
    pub cursor: Option<Value>,
    /// Pages already committed in the pass in progress (0: a new pass starts).
    pub pages_in_pass: i32,
    pub pass_id: Option<Uuid>,
}

/// Whether [`acquire_lease`] got the stream.
#[derive(Debug, Clone)]
pub enum Leased {
    Ours(StreamState),
    /// Another live daemon holds it (who, as read just after).
    Held(Option<Holder>),
}

/// Takes the lease on a stream for `ttl` (the backstop: the lease lapses sooner
/// when this daemon stops heartbeating, see [`super::lease`]) unless another
/// live owner holds it.
pub async fn acquire_lease(
    pool: &PgPool,
    connector_id: &str,
    stream: &str,
    owner: &str,
    ttl: Duration,
) -> Result<Leased, sqlx::Error> {
    let row = sqlx::query(concat!(
        "insert into hiring.sync_state (connector_id, stream, lease_owner, lease_expires_at, last_attempt_at, updated_at)
         values ($1, $2, $3, now() + $4 * interval '1 millisecond', now(), now())
         on conflict (connector_id, stream) do update
            set lease_owner = excluded.lease_owner,
                lease_expires_at = excluded.lease_expires_at,
                last_attempt_at = now(), updated_at = now()
          where sync_state.lease_owner = excluded.lease_owner or ",
        crate::lease_free!("sync_state"),
        " returning cursor, pages_in_pass, pass_id"
    ))
    .bind(connector_id)
    .bind(stream)
    .bind(owner)
    .bind(ttl.as_millis() as f64)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(Leased::Ours(StreamState {
            cursor: row.try_get("cursor")?,
            pages_in_pass: row.try_get("pages_in_pass")?,
            pass_id: row.try_get("pass_id")?,
        })),
        None => Ok(Leased::Held(holder(pool, connector_id, stream).await?)),
    }
}

/// Who holds a stream's lease now.
pub async fn holder(
    pool: &PgPool,
    connector_id: &str,
    stream: &str,
) -> Result<Option<Holder>, sqlx::Error> {
    let sql = format!(
        "select {} from hiring.sync_state s left join hiring.daemons h on h.owner = s.lease_owner
          where s.connector_id = $1 and s.stream = $2",
        super::lease::HOLDER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(connector_id)
        .bind(stream)
        .fetch_optional(pool)
        .await?;
    match row {
        Some(row) => super::lease::holder_from(&row),
        None => Ok(None),
    }
}

/// Streams of `connector_id` whose last pass did not finish (a pass id is
/// saved, or a lease is still recorded): a starting daemon resumes them at
/// once instead of waiting for the schedule.
pub async fn interrupted_streams(
    pool: &PgPool,
    connector_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select stream from hiring.sync_state
          where connector_id = $1 and (pass_id is not null or lease_owner is not null)",
    )
    .bind(connector_id)
    .fetch_all(pool)
    .await
}

/// Saves the cursor after a page, in the page's transaction, and extends the lease.
/// Returns false when the lease is no longer ours (it expired and another daemon
/// took the stream): the caller must roll back.
#[allow(clippy::too_many_arguments)]
pub async fn save_page(
    conn: &mut PgConnection,
    connector_id: &str,
    stream: &str,
    owner: &str,
    ttl: Duration,
    cursor: &Value,
    pass_id: Uuid,
    full_pass: bool,
    pass_complete: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update hiring.sync_state
            set cursor = $4,
                pass_id = case when $7 then null else $5 end,
                pass_kind = case when $6 then 'full' else 'incremental' end,
                pass_started_at = case when pass_id is distinct from $5 then now() else pass_started_at end,
                pages_in_pass = case when $7 then 0 else pages_in_pass + 1 end,
                lease_expires_at = now() + $8 * interval '1 millisecond',
                updated_at = now()
          where connector_id = $1 and stream = $2 and lease_owner = $3",
    )
    .bind(connector_id)
    .bind(stream)
    .bind(owner)
    .bind(cursor)
    .bind(pass_id)
    .bind(full_pass)
    .bind(pass_complete)
    .bind(ttl.as_millis() as f64)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets the saved cursor (an expired sync token: the next pass is full).
pub async fn reset_cursor(
    pool: &PgPool,
    connector_id: &str,
    stream: &str,
    owner: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.sync_state set cursor = null, pass_id = null, pages_in_pass = 0, updated_at = now()
          where connector_id = $1 and stream = $2 and lease_owner = $3",
    )
    .bind(connector_id)
    .bind(stream)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a finished pass (success or failure) and releases the lease.
pub async fn finish_pass(
    pool: &PgPool,
    connector_id: &str,
    stream: &str,
    owner: &str,
    duration: Duration,
    counts: &Value,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update hiring.sync_state
            set last_duration_ms = $4,
                last_counts = $5,
                last_success_at = case when $6::text is null then now() else last_success_at end,
                last_error = case when $6::text is null then last_error else $6 end,
                last_error_at = case when $6::text is null then last_error_at else now() end,
                consecutive_failures = case when $6::text is null then 0 else consecutive_failures + 1 end,
                lease_owner = null, lease_expires_at = null, updated_at = now()
          where connector_id = $1 and stream = $2 and lease_owner = $3",
    )
    .bind(connector_id)
    .bind(stream)
    .bind(owner)
    .bind(duration.as_millis() as i64)
    .bind(counts)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Sets a connector's health (`healthy`, `degraded`, `unhealthy`) with a reason.
pub async fn set_health(
    pool: &PgPool,
    connector_id: &str,
    health: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into hiring.connector_state (connector_id, health, health_reason, updated_at)
         values ($1, $2, $3, now())
         on conflict (connector_id) do update
            set health = excluded.health, health_reason = excluded.health_reason, updated_at = now()",
    )
    .bind(connector_id)
    .bind(health)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// One row of `hirebridge status`.
#[derive(Debug, Clone)]
pub struct StreamStatus {
    pub connector_id: String,
    pub stream: String,
    pub health: Option<String>,
    pub health_reason: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_duration_ms: Option<i64>,
    pub last_counts: Value,
    /// Who holds the stream's lease, if anyone (possibly a silent holder).
    pub leased_by: Option<Holder>,
}

pub async fn stream_statuses(pool: &PgPool) -> Result<Vec<StreamStatus>, sqlx::Error> {
    let sql = format!(
        "select s.connector_id, s.stream, c.health, c.health_reason, s.last_success_at, s.last_attempt_at,
                s.last_error, s.last_error_at, s.consecutive_failures, s.last_duration_ms, s.last_counts,
                {holder}
           from hiring.sync_state s
           left join hiring.connector_state c using (connector_id)
           left join hiring.daemons h on h.owner = s.lease_owner
          order by s.connector_id, s.stream",
        holder = super::lease::HOLDER_COLUMNS
    );
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.into_iter()
        .map(|r| {
            Ok(StreamStatus {
                connector_id: r.try_get("connector_id")?,
                stream: r.try_get("stream")?,
                health: r.try_get("health")?,
                health_reason: r.try_get("health_reason")?,
                last_success_at: r.try_get("last_success_at")?,
                last_attempt_at: r.try_get("last_attempt_at")?,
                last_error: r.try_get("last_error")?,
                last_error_at: r.try_get("last_error_at")?,
                consecutive_failures: r.try_get("consecutive_failures")?,
                last_duration_ms: r.try_get("last_duration_ms")?,
                last_counts: r.try_get("last_counts")?,
                leased_by: super::lease::holder_from(&r)?,
            })
        })
        .collect()
}

/// Keeps a payload that could not be normalised, with its reason, as a dead letter
/// in the inbox (where `hirebridge dlq` finds webhook failures too).
pub async fn dead_letter(
    conn: &mut PgConnection,
    connector_id: &str,
    source: &str,
    body: &[u8],
    reason: &str,
) -> Result<(), sqlx::Error> {
    let key = hirebridge_sdk::hex_lower(&sha2::Digest::finalize(
        <sha2::Sha256 as sha2::Digest>::new_with_prefix(body),
    ));
    sqlx::query(
        "insert into hiring.inbox (connector_id, dedup_key, event_type, body, status, last_error)
         values ($1, $2, $3, $4, 'dead', $5)
         on conflict (connector_id, dedup_key) do update set last_error = excluded.last_error",
    )
    .bind(connector_id)
    .bind(format!("poll:{key}"))
    .bind(source)
    .bind(body)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The database's clock: what rows' `updated_at` are compared with.
pub async fn database_now(
    conn: &mut sqlx::PgConnection,
) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
    sqlx::query_scalar("select now()")
        .fetch_one(&mut *conn)
        .await
}

/// When the database server last started: a full pass sweeps only while it is
/// the time the pass began with, since a crash empties `hiring.pass_seen`
/// (unlogged) and a sweep would then take what the pass saw for missing.
pub async fn database_started(
    conn: &mut sqlx::PgConnection,
) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
    sqlx::query_scalar("select pg_postmaster_start_time()")
        .fetch_one(&mut *conn)
        .await
}

/// Records remote ids a full pass saw (for its deletion sweep), in the page's
/// transaction: one row for the batch.
pub async fn record_seen(
    conn: &mut sqlx::PgConnection,
    pass_id: uuid::Uuid,
    connector_id: &str,
    stream: &str,
    remote_ids: &[String],
) -> Result<(), sqlx::Error> {
    if remote_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into hiring.pass_seen (pass_id, connector_id, stream, remote_ids)
         values ($1, $2, $3, $4::text[])",
    )
    .bind(pass_id)
    .bind(connector_id)
    .bind(stream)
    .bind(remote_ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets the seen ids of the stream's passes other than `keep` (a finished
/// pass, or one that was restarted or abandoned).
pub async fn forget_seen(
    conn: &mut sqlx::PgConnection,
    connector_id: &str,
    stream: &str,
    keep: Option<uuid::Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from hiring.pass_seen
          where connector_id = $1 and stream = $2 and ($3::uuid is null or pass_id <> $3)",
    )
    .bind(connector_id)
    .bind(stream)
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
