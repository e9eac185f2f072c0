//! SQL for `hiring.persons` and the candidates' link to them: create the persons a
//! page's emails name, and point candidates at their person (DESIGN.md §4 "Persons").
//! Deciding what a link means (the `person.linked` event) is the engine's
//! (`engine::identity`).

use serde_json::Value;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// Creates a person for each normalised email not known yet (`emails[i]` named
/// `names[i]`; one name per email when an email repeats); existing persons are
/// left as they are.
pub async fn ensure_persons(
    conn: &mut PgConnection,
    emails: &[String],
    names: &[Option<String>],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into hiring.persons (email_normalized, display_name)
         select distinct on (email) email, name from unnest($1::text[], $2::text[]) as x(email, name)
         on conflict (email_normalized) do nothing",
    )
    .bind(emails)
    .bind(names)
    .execute(&mut *conn)
    .await?;
    Ok(())
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

/// A candidate that was just linked to a person (or moved to another one).
#[derive(Debug, Clone)]
pub struct LinkedCandidate {
    pub candidate_id: Uuid,
    pub remote_id: String,
    pub person_id: Uuid,
    pub email_normalized: Option<String>,
    /// The person's live candidates from other connectors, oldest first, as
    /// `[{"id", "connector_id", "remote_id"}]`; `None` when there are none.
    pub others: Option<Value>,
}

/// Points the candidates `candidate_ids` at the person of their normalised email
/// where they do not point there yet, and returns those, each with the person's
/// live candidates from connectors other than `connector_id`.
pub async fn link_candidates(
    conn: &mut PgConnection,
    candidate_ids: &[Uuid],
    connector_id: &str,
) -> Result<Vec<LinkedCandidate>, sqlx::Error> {
    let rows = sqlx::query(
        "with linked as (
            update hiring.candidates c set person_id = p.id
              from hiring.persons p
             where c.id = any($1) and p.email_normalized = c.email_normalized
               and c.person_id is distinct from p.id
         returning c.id as candidate_id, c.remote_id, p.id as person_id, p.email_normalized
         )
         select l.candidate_id, l.remote_id, l.person_id, l.email_normalized,
                (select jsonb_agg(jsonb_build_object('id', o.id, 'connector_id', o.connector_id,
                                                     'remote_id', o.remote_id) order by o.first_seen_at)
                   from hiring.candidates o
                  where o.person_id = l.person_id and o.connector_id <> $2 and o.deleted_at is null
                ) as others
           from linked l",
    )
    .bind(candidate_ids)
    .bind(connector_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(LinkedCandidate {
                candidate_id: row.try_get("candidate_id")?,
                remote_id: row.try_get("remote_id")?,
                person_id: row.try_get("person_id")?,
                email_normalized: row.try_get("email_normalized")?,
                others: row.try_get("others")?,
            })
        })
        .collect()
}
