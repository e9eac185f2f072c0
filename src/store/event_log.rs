//! Writes to `hiring.event_log`: a batch of events in one statement, each column
//! sent as an array of its own type, so PostgreSQL parses JSON only where the
//! log keeps JSON (an event's data and changes).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A row of `hiring.event_log`, borrowed from the event it records.
#[derive(Debug, serde::Serialize)]
pub struct EventRow<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub connector_id: &'a str,
    pub provider: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Uuid,
    pub remote_id: Option<&'a str>,
    pub via: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub data: &'a Value,
    pub changes: Option<&'a Value>,
}

/// Inserts `rows` in one statement; returns how many. Sent as JSON, the
/// columns other than data and changes were a third of the bytes PostgreSQL
/// parsed per event (`jsonb_recv` was a quarter of its CPU draining webhooks).
pub async fn insert(conn: &mut PgConnection, rows: &[EventRow<'_>]) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    fn column<'a>(rows: &[EventRow<'a>], f: impl Fn(&EventRow<'a>) -> &'a str) -> Vec<&'a str> {
        rows.iter().map(f).collect()
    }
    let done = sqlx::query(
        "insert into hiring.event_log
                (id, type, connector_id, provider, entity_type, entity_id, remote_id, via,
                 occurred_at, data, changes)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::uuid[], $7::text[], $8::text[], $9::timestamptz[],
                              $10::jsonb[], $11::jsonb[])",
    )
    .bind(column(rows, |r| r.id))
    .bind(column(rows, |r| r.event_type))
    .bind(column(rows, |r| r.connector_id))
    .bind(column(rows, |r| r.provider))
    .bind(column(rows, |r| r.entity_type))
    .bind(rows.iter().map(|r| r.entity_id).collect::<Vec<Uuid>>())
    .bind(
        rows.iter()
            .map(|r| r.remote_id)
            .collect::<Vec<Option<&str>>>(),
    )
    .bind(column(rows, |r| r.via))
    .bind(
        rows.iter()
            .map(|r| r.occurred_at)
            .collect::<Vec<DateTime<Utc>>>(),
    )
    // A JSON null is stored as SQL NULL, as the rows' JSON used to give it.
    .bind(
        rows.iter()
            .map(|r| Some(r.data).filter(|v| !v.is_null()))
            .collect::<Vec<Option<&Value>>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.changes.filter(|v| !v.is_null()))
            .collect::<Vec<Option<&Value>>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
