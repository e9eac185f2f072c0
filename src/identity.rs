//! Cross-provider person linking: every candidate joins one `hiring.persons` row by
//! normalised email, so one human is one person across every connector. When a
//! record from another connector joins an existing person, a `person.linked`
//! event says so.

use crate::engine::events::{NewEvent, Via};
use crate::engine::writer::WriteContext;
use chrono::Utc;
use hirebridge_sdk::{normalize_email, Record};
use serde_json::json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// Links the written candidates to persons (creating persons as needed) and
/// appends a `person.linked` event for each candidate that joined a person already
/// known through another connector.
pub async fn link_candidates(
    conn: &mut PgConnection,
    ctx: &WriteContext<'_>,
    candidates: &[(Uuid, &Record)],
    new_events: &mut Vec<NewEvent>,
) -> Result<(), sqlx::Error> {
    let mut ids = Vec::new();
    let mut emails = Vec::new();
    let mut names = Vec::new();
    for (id, record) in candidates {
        let Record::Candidate(c) = record else {
            continue;
        };
        let Some(email) = c.email.as_deref().and_then(normalize_email) else {
            continue;
        };
        ids.push(*id);
        emails.push(email);
        names.push(c.name.clone());
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into hiring.persons (email_normalized, display_name)
         select distinct on (email) email, name from unnest($1::text[], $2::text[]) as x(email, name)
         on conflict (email_normalized) do nothing",
    )
    .bind(&emails)
    .bind(&names)
    .execute(&mut *conn)
    .await?;
    // Link, and learn which persons now also hold candidates of other connectors.
    let linked = sqlx::query(
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
    .bind(&ids)
    .bind(ctx.connector_id)
    .fetch_all(&mut *conn)
    .await?;
    let now = Utc::now();
    for row in linked {
        let others: Option<serde_json::Value> = row.try_get("others")?;
        let Some(others) = others.filter(|o| o.as_array().is_some_and(|a| !a.is_empty())) else {
            continue;
        };
        let person_id: Uuid = row.try_get("person_id")?;
        let candidate_id: Uuid = row.try_get("candidate_id")?;
        let remote_id: String = row.try_get("remote_id")?;
        let email: Option<String> = row.try_get("email_normalized")?;
        new_events.push(NewEvent {
            id: NewEvent::new_id(),
            event_type: "person.linked".into(),
            connector_id: ctx.connector_id.to_string(),
            provider: ctx.provider,
            entity_type: "person",
            entity_id: person_id,
            remote_id: Some(remote_id.clone()),
            via: if ctx.via == Via::Replay { Via::System } else { ctx.via },
            occurred_at: now,
            data: json!({
                "id": person_id,
                "email": email,
                "linked": {"id": candidate_id, "connector_id": ctx.connector_id, "remote_id": remote_id},
                "candidates": others,
            }),
            changes: None,
        });
    }
    Ok(())
}
