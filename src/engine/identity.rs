//! Cross-provider person linking: every candidate joins one `hiring.persons` row by
//! normalised email, so one human is one person across every connector. When a
//! record from another connector joins an existing person, a `person.linked`
//! event says so. The writer calls this; it never calls back: its SQL is in
//! `store::persons` and its events come from the one builder in `events`.

use super::events::{NewEvent, Via, WriteContext};
use crate::store::persons;
use chrono::Utc;
use hirebridge_sdk::{normalize_email, Record};
use serde_json::json;
use uuid::Uuid;

/// Links written background checks to the persons of their candidates' emails
/// (persons come from candidates only).
pub async fn link_background_checks(
    conn: &mut sqlx::PgConnection,
    checks: &[&Record],
) -> Result<(), sqlx::Error> {
    let emails: Vec<String> = checks
        .iter()
        .filter_map(|r| match r {
            Record::BackgroundCheck(b) => b.candidate_email.as_deref().and_then(normalize_email),
            _ => None,
        })
        .collect();
    persons::link_background_checks(conn, &emails).await?;
    Ok(())
}

/// Links the written candidates to persons (creating persons as needed) and
/// appends a `person.linked` event for each candidate that joined a person already
/// known through another connector.
pub async fn link_candidates(
    conn: &mut sqlx::PgConnection,
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
    persons::ensure_persons(conn, &emails, &names).await?;
    // Two connectors linking one person take turns: its events keep their order.
    persons::lock_persons(conn, &emails).await?;
    // Background checks that arrived before their candidate join the person now.
    persons::link_background_checks(conn, &emails).await?;
    // Link, and learn which persons now also hold candidates of other connectors.
    let linked = persons::link_candidates(conn, &ids, ctx.connector_id).await?;
    // `person.linked` is never sourced `replay`: a replayed write reports its links
    // as `system`.
    let source = WriteContext {
        via: if ctx.via == Via::Replay {
            Via::System
        } else {
            ctx.via
        },
        ..ctx.clone()
    };
    let now = Utc::now();
    for link in linked {
        let Some(others) = link
            .others
            .filter(|o| o.as_array().is_some_and(|a| !a.is_empty()))
        else {
            continue;
        };
        new_events.push(NewEvent::new(
            &source,
            "person.linked".into(),
            "person",
            link.person_id,
            &link.remote_id,
            now,
            json!({
                "id": link.person_id,
                "email": link.email_normalized,
                "linked": {"id": link.candidate_id, "connector_id": ctx.connector_id, "remote_id": link.remote_id},
                "candidates": others,
            }),
        ));
    }
    Ok(())
}
