//! SQL for `hiring.persons` and the links to them: create the persons a page's
//! emails name, lock them, and read who else a person holds (DESIGN.md §4
//! "Persons"). The candidates' own `person_id` is set by their upsert
//! (`store::entities`).
//! Deciding what a link means (the `person.linked` event) is the engine's
//! (`engine::identity`).

use serde_json::Value;
use sqlx::PgConnection;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Creates a person for each normalised email not known yet (`emails[i]` named
/// `names[i]`; one name per email when an email repeats); existing persons are
/// left as they are. Returns the emails of the persons it created.
pub async fn ensure_persons(
    conn: &mut PgConnection,
    emails: &[String],
    names: &[Option<String>],
) -> Result<HashSet<String>, sqlx::Error> {
    let created: Vec<String> = sqlx::query_scalar(
        "insert into hiring.persons (email_normalized, display_name)
         select distinct on (email) email, name from unnest($1::text[], $2::text[]) as x(email, name)
         on conflict (email_normalized) do nothing
         returning email_normalized",
    )
    .bind(emails)
    .bind(names)
    .fetch_all(&mut *conn)
    .await?;
    Ok(created.into_iter().collect())
}

/// Locks the persons of `emails` until the transaction ends, in id order (so
/// two writers never wait for each other in a cycle): the events a link writes
/// for a person then commit in the order of their `seq`, as sinks deliver them.
pub async fn lock_persons(conn: &mut PgConnection, emails: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "select id from hiring.persons where email_normalized = any($1) order by id for update",
    )
    .persistent(false)
    .bind(emails)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Points the background checks of the normalised `emails` at the person of
/// their candidate's email, where one exists: a check joins the person its ATS
/// application made, whichever of the two arrives first (a check never creates
/// a person by itself).
pub async fn link_background_checks(
    conn: &mut PgConnection,
    emails: &[String],
) -> Result<u64, sqlx::Error> {
    if emails.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "update hiring.background_checks b set person_id = p.id
           from hiring.persons p
          where p.email_normalized = any($1)
            and b.candidate_email_normalized = p.email_normalized
            and b.person_id is distinct from p.id",
    )
    .bind(emails)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// For each `(candidate_ids[i], person_ids[i])` just linked, the person's live
/// candidates from connectors other than `connector_id`, oldest first, as
/// `[{"id", "connector_id", "remote_id"}]`; `None` where there are none.
pub async fn other_candidates(
    conn: &mut PgConnection,
    candidate_ids: &[Uuid],
    person_ids: &[Uuid],
    connector_id: &str,
) -> Result<HashMap<Uuid, Option<Value>>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<Value>)> = sqlx::query_as(
        "select l.candidate_id,
                (select jsonb_agg(jsonb_build_object('id', o.id, 'connector_id', o.connector_id,
                                                     'remote_id', o.remote_id) order by o.first_seen_at)
                   from hiring.candidates o
                  where o.person_id = l.person_id and o.connector_id <> $3 and o.deleted_at is null)
           from unnest($1::uuid[], $2::uuid[]) as l(candidate_id, person_id)",
    )
    .persistent(false)
    .bind(candidate_ids)
    .bind(person_ids)
    .bind(connector_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().collect())
}
