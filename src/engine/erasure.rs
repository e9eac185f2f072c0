//! Erasure of one person's personal data (a candidate's right to be
//! forgotten): `hirebridge erase --person EMAIL` and the admin API's
//! `POST /api/erase`. In one transaction it removes the person's personal
//! data from every table (candidate fields, every raw `remote_data` linked to
//! them, their background checks' emails, alerts, actions, viewer links and
//! results, the persons row), from the event log's
//! payloads and from stored webhook bodies (the inbox, dead letters
//! included); it appends a `person.erased` tombstone event with no personal
//! data, which the sinks deliver so downstream copies can be erased too; and
//! it records what it did in `hiring.erasures` (the email only as a hash).
//!
//! Rows are kept, emptied, so counts and history stay whole. A provider that
//! still holds the person sends them again on its next change or poll:
//! erasure must also happen there.

use super::events::{NewEvent, Via, WriteContext};
use super::writer;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// A candidate row of the person: id, name, phone, phones.
type HeldCandidate = (Uuid, Option<String>, Option<String>, Vec<String>);

/// What an erasure did.
#[derive(Debug, Clone, Serialize)]
pub struct Erasure {
    pub id: i64,
    pub person_ids: Vec<Uuid>,
    /// Rows changed per table.
    pub counts: serde_json::Map<String, serde_json::Value>,
    /// The `person.erased` event, when a person was found.
    pub event_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("not an email address")]
    NotAnEmail,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Erases everything held about the person with `email`; `requested_by` says
/// who asked (`cli`, `admin-api`), for the audit row.
pub async fn erase(pool: &PgPool, email: &str, requested_by: &str) -> Result<Erasure, EraseError> {
    let email = hirebridge_sdk::normalize_email(email).ok_or(EraseError::NotAnEmail)?;
    let mut tx = crate::store::begin(pool).await?;
    let person_ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from hiring.persons where email_normalized = $1
         union select person_id from hiring.candidates
                where email_normalized = $1 and person_id is not null",
    )
    .bind(&email)
    .fetch_all(&mut *tx)
    .await?;
    // Persons first, in id order, as the writer locks them before it writes
    // candidates: neither waits for the other in a cycle, and no candidate joins
    // these persons while they are erased.
    sqlx::query("select id from hiring.persons where id = any($1) order by id for update")
        .bind(&person_ids)
        .execute(&mut *tx)
        .await?;
    let candidates: Vec<HeldCandidate> = sqlx::query_as(
        "select id, name, phone, phones from hiring.candidates
          where email_normalized = $1 or person_id = any($2)",
    )
    .bind(&email)
    .bind(&person_ids)
    .fetch_all(&mut *tx)
    .await?;
    let candidate_ids: Vec<Uuid> = candidates.iter().map(|c| c.0).collect();
    // What identifies them in free text (bodies, payloads): the email, their
    // phones, their full names.
    let mut needles = vec![email.clone()];
    for (_, name, phone, phones) in &candidates {
        needles.extend(
            name.iter()
                .filter(|n| n.contains(' ') && n.len() >= 5)
                .cloned(),
        );
        needles.extend(
            phone
                .iter()
                .chain(phones.iter())
                .filter(|p| p.len() >= 6)
                .cloned(),
        );
    }
    needles.sort();
    needles.dedup();
    let patterns: Vec<String> = needles
        .iter()
        .map(|n| {
            format!(
                "%{}%",
                n.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        })
        .collect();

    let mut counts = serde_json::Map::new();
    let mut count = |table: &str, n: u64| {
        counts.insert(table.to_string(), json!(n));
    };
    let application_ids: Vec<Uuid> =
        sqlx::query_scalar("select id from hiring.applications where candidate_id = any($1)")
            .bind(&candidate_ids)
            .fetch_all(&mut *tx)
            .await?;
    let n = sqlx::query(
        "update hiring.candidates
            set name = null, first_name = null, last_name = null, email = null, emails = '{}',
                phone = null, phones = '{}', company = null, title = null, location = null,
                profile_url = null, linkedin_url = null, email_normalized = null, referrer = null,
                person_id = null, remote_data = '{}', content_hash = 'erased', updated_at = now()
          where id = any($1)",
    )
    .bind(&candidate_ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    count("candidates", n);
    let n = sqlx::query(
        "update hiring.applications set remote_data = '{}', updated_at = now() where id = any($1)",
    )
    .bind(&application_ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    count("applications", n);
    for table in ["interviews", "assessments"] {
        let n = sqlx::query(&format!(
            "update hiring.{table} set remote_data = '{{}}', updated_at = now()
              where candidate_id = any($1) or application_id = any($2)"
        ))
        .bind(&candidate_ids)
        .bind(&application_ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        count(table, n);
    }
    for table in ["offers", "reviews"] {
        let n = sqlx::query(&format!(
            "update hiring.{table} set remote_data = '{{}}', updated_at = now() where application_id = any($1)"
        ))
        .bind(&application_ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        count(table, n);
    }
    let n = sqlx::query(
        "update hiring.background_checks
            set candidate_email = null, candidate_email_normalized = null, person_id = null,
                alert_sections = '{}', required_actions = '[]', viewer_url = null, results = '[]',
                remote_data = '{}', content_hash = 'erased', updated_at = now()
          where candidate_id = any($1) or candidate_email_normalized = $2 or person_id = any($3)",
    )
    .bind(&candidate_ids)
    .bind(&email)
    .bind(&person_ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    count("background_checks", n);
    // Events: the entities' own, and any other whose envelope names them (the
    // data of new events; the stored payload of events from before 20261208).
    let n = sqlx::query(
        "update hiring.event_log l
            set data = jsonb_build_object('erased', true),
                payload = (l.payload - 'changes') || jsonb_build_object('data', jsonb_build_object('erased', true), 'changes', null),
                changes = null
           from hiring.events e
          where e.seq = l.seq and (e.entity_id = any($1) or lower(e.payload::text) like any($2))",
    )
    .bind(
        candidate_ids
            .iter()
            .chain(&application_ids)
            .chain(&person_ids)
            .copied()
            .collect::<Vec<Uuid>>(),
    )
    .bind(&patterns)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    count("events", n);
    // Stored webhook bodies (and dead letters) that mention them.
    let n = sqlx::query(
        "update hiring.inbox set body = convert_to('{\"erased\":true}', 'UTF8'), headers = '{}'
          where lower(encode(body, 'escape')) like any($1)",
    )
    .bind(&patterns)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    count("inbox", n);
    let n = sqlx::query("delete from hiring.persons where id = any($1)")
        .bind(&person_ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    count("persons", n);

    // The tombstone, for the sinks: who (by our id only), nothing personal.
    let event = person_ids.first().map(|person| {
        let source = WriteContext {
            connector_id: "hirebridge",
            provider: "hirebridge",
            via: Via::System,
        };
        NewEvent::new(
            &source,
            "person.erased".into(),
            "person",
            *person,
            &person.to_string(),
            chrono::Utc::now(),
            json!({"id": person, "person_ids": person_ids, "candidate_ids": candidate_ids}),
        )
    });
    if let Some(event) = &event {
        writer::insert_events(&mut tx, std::slice::from_ref(event)).await?;
    }
    let id: i64 = sqlx::query_scalar(
        "insert into hiring.erasures (email_sha256, person_ids, counts, event_id, requested_by)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(hirebridge_sdk::hex_lower(&Sha256::digest(email.as_bytes())))
    .bind(&person_ids)
    .bind(serde_json::Value::Object(counts.clone()))
    .bind(event.as_ref().map(|e| e.id().to_string()))
    .bind(requested_by)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        erasure = id,
        persons = person_ids.len(),
        "personal data erased"
    );
    Ok(Erasure {
        id,
        person_ids,
        counts,
        event_id: event.map(|e| e.id().to_string()),
    })
}
