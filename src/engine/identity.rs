//! Cross-provider person linking: every candidate joins one `hiring.persons` row by
//! normalised email, so one human is one person across every connector. When a
//! record from another connector joins an existing person, a `person.linked`
//! event says so. The writer calls this before and after a candidates upsert
//! (which sets `person_id` itself); it never calls back: its SQL is in
//! `store::persons` and its events come from the one builder in `events`.

use super::events::{NewEvent, Via, WriteContext};
use crate::store::persons;
use chrono::Utc;
use hirebridge_sdk::{normalize_email, Record};
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

/// Makes sure every candidate about to be written has its person: creates the
/// persons of new emails and locks the others until the transaction ends (two
/// connectors linking one person take turns, so its events keep their order).
/// The candidates' upsert then sets `person_id` itself. Returns the emails of
/// the persons created: no other connector can hold a candidate of those yet.
pub async fn prepare_persons(
    conn: &mut sqlx::PgConnection,
    candidates: &[&Record],
) -> Result<HashSet<String>, sqlx::Error> {
    let mut emails = Vec::new();
    let mut names = Vec::new();
    for record in candidates {
        let Record::Candidate(c) = record else {
            continue;
        };
        if let Some(email) = c.email.as_deref().and_then(normalize_email) {
            emails.push(email);
            names.push(c.name.clone());
        }
    }
    if emails.is_empty() {
        return Ok(HashSet::new());
    }
    let created = persons::ensure_persons(conn, &emails, &names).await?;
    // The persons this transaction created are its own until it commits (another
    // writer of the same email waits at its insert); only those that existed
    // need locking. In a backfill that is almost none.
    let existing: Vec<String> = emails
        .into_iter()
        .filter(|email| !created.contains(email))
        .collect();
    if !existing.is_empty() {
        persons::lock_persons(conn, &existing).await?;
    }
    Ok(created)
}

/// A written candidate that now points at a person it did not point at before.
pub struct NewLink<'a> {
    pub candidate_id: Uuid,
    pub remote_id: &'a str,
    pub person_id: Uuid,
    pub email: String,
}

/// After the candidates' upsert: background checks that arrived before their
/// candidate join its person, and a `person.linked` event is appended for each
/// candidate that joined a person already known through another connector.
pub async fn announce_links(
    conn: &mut sqlx::PgConnection,
    ctx: &WriteContext<'_>,
    links: &[NewLink<'_>],
    created: &HashSet<String>,
    new_events: &mut Vec<NewEvent>,
) -> Result<(), sqlx::Error> {
    if links.is_empty() {
        return Ok(());
    }
    let emails: Vec<String> = links.iter().map(|l| l.email.clone()).collect();
    persons::link_background_checks(conn, &emails).await?;
    // Persons created by this write hold no other connector's candidates.
    let known: Vec<&NewLink> = links
        .iter()
        .filter(|l| !created.contains(&l.email))
        .collect();
    if known.is_empty() {
        return Ok(());
    }
    let candidate_ids: Vec<Uuid> = known.iter().map(|l| l.candidate_id).collect();
    let person_ids: Vec<Uuid> = known.iter().map(|l| l.person_id).collect();
    let mut others =
        persons::other_candidates(conn, &candidate_ids, &person_ids, ctx.connector_id).await?;
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
    for link in known {
        let Some(others) = others
            .remove(&link.candidate_id)
            .flatten()
            .filter(|o| o.as_array().is_some_and(|a| !a.is_empty()))
        else {
            continue;
        };
        new_events.push(NewEvent::new(
            &source,
            "person.linked".into(),
            "person",
            link.person_id,
            link.remote_id,
            now,
            json!({
                "id": link.person_id,
                "email": link.email,
                "linked": {"id": link.candidate_id, "connector_id": ctx.connector_id, "remote_id": link.remote_id},
                "candidates": others,
            }),
        ));
    }
    Ok(())
}
