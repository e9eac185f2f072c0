//! Per connector state beyond its streams: pauses decided by the engine and the
//! notes on what works only partly, read by `status`.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};

/// A pause in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// `None`: until an operator acts.
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
    /// The settings fingerprint it was paused under.
    pub config: Option<String>,
}

/// Pauses a connector until `until` (`None`: until an operator resumes it or
/// its config changes).
pub async fn pause(
    pool: &PgPool,
    connector_id: &str,
    until: Option<DateTime<Utc>>,
    reason: &str,
    config: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into hiring.connector_state (connector_id, paused_until, paused_reason, paused_config, updated_at)
         values ($1, coalesce($2, 'infinity'::timestamptz), $3, $4, now())
         on conflict (connector_id) do update
            set paused_until = excluded.paused_until, paused_reason = excluded.paused_reason,
                paused_config = excluded.paused_config, updated_at = now()",
    )
    .bind(connector_id)
    .bind(until)
    .bind(reason)
    .bind(config)
    .execute(pool)
    .await?;
    Ok(())
}

/// Lifts a pause; true when there was one.
pub async fn resume(pool: &PgPool, connector_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update hiring.connector_state
            set paused_until = null, paused_reason = null, paused_config = null, updated_at = now()
          where connector_id = $1 and paused_until is not null",
    )
    .bind(connector_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The pause in force, if any (an expired window is no pause).
pub async fn pause_of(pool: &PgPool, connector_id: &str) -> Result<Option<Pause>, sqlx::Error> {
    let row = sqlx::query(
        "select case when paused_until = 'infinity' then null else paused_until end as until,
                paused_reason, paused_config
           from hiring.connector_state
          where connector_id = $1 and paused_until > now()",
    )
    .bind(connector_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Pause {
            until: r.try_get("until")?,
            reason: r
                .try_get::<Option<String>, _>("paused_reason")?
                .unwrap_or_default(),
            config: r.try_get("paused_config")?,
        })
    })
    .transpose()
}

/// Replaces the notes on what works only partly.
pub async fn set_degraded(
    pool: &PgPool,
    connector_id: &str,
    notes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into hiring.connector_state (connector_id, degraded_notes, updated_at)
         values ($1, $2, now())
         on conflict (connector_id) do update
            set degraded_notes = excluded.degraded_notes, updated_at = now()
          where hiring.connector_state.degraded_notes is distinct from excluded.degraded_notes",
    )
    .bind(connector_id)
    .bind(notes)
    .execute(pool)
    .await?;
    Ok(())
}

/// What `status` shows per connector.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectorStatus {
    pub connector_id: String,
    pub health: Option<String>,
    pub health_reason: Option<String>,
    pub paused: bool,
    /// `None` while paused: until an operator acts.
    pub paused_until: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
    pub degraded_notes: Vec<String>,
}

pub async fn statuses(pool: &PgPool) -> Result<Vec<ConnectorStatus>, sqlx::Error> {
    let rows = sqlx::query(
        "select connector_id, health, health_reason, coalesce(paused_until > now(), false) as paused,
                case when paused_until = 'infinity' then null else paused_until end as paused_until,
                paused_reason, degraded_notes
           from hiring.connector_state order by connector_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let paused: bool = r.try_get("paused")?;
            Ok(ConnectorStatus {
                connector_id: r.try_get("connector_id")?,
                health: r.try_get("health")?,
                health_reason: r.try_get("health_reason")?,
                paused,
                paused_until: if paused {
                    r.try_get("paused_until")?
                } else {
                    None
                },
                paused_reason: if paused {
                    r.try_get("paused_reason")?
                } else {
                    None
                },
                degraded_notes: r.try_get("degraded_notes")?,
            })
        })
        .collect()
}
