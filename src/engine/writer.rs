//! The one write path for polls and webhooks alike: compare incoming canonical
//! records with what is stored, write only what changed, and emit the events for
//! those changes, all inside the caller's transaction (DESIGN.md §5). Candidates it
//! writes are linked to persons by `identity`, which never calls back here.

use super::events::{self, NewEvent};
use super::identity;
use crate::store::entities::{self, SchemaColumns, StoredRow};
use chrono::Utc;
use hirebridge_sdk::{content_hash_of, hex_lower, normalize_email, EntityKind, Record};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::collections::HashMap;

/// Who is writing, and how the data reached us (defined beside the events it
/// sources, so that `identity` needs nothing from here).
pub use super::events::WriteContext;

/// What one write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Older than what we hold (by the provider's update time): not applied.
    pub stale: u64,
    pub deleted: u64,
    pub events: u64,
}

impl WriteCounts {
    pub fn add(&mut self, other: WriteCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.stale += other.stale;
        self.deleted += other.deleted;
        self.events += other.events;
    }
}

/// Writes `records` (any mix of kinds) and their events; returns what it did.
pub async fn write_records(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    ctx: &WriteContext<'_>,
    records: Vec<Record>,
) -> Result<WriteCounts, sqlx::Error> {
    Ok(write_records_noting_untouched(conn, columns, ctx, records)
        .await?
        .0)
}

/// [`write_records`], also returning the remote ids of the records it did not
/// write (unchanged, stale, or overtaken by a concurrent writer). Every record
/// not among them was upserted by this transaction, so its row's `updated_at`
/// is this transaction's time: a full pass needs to remember only the others
/// for its deletion sweep. An id may be listed although written; never the
/// reverse.
pub async fn write_records_noting_untouched(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    ctx: &WriteContext<'_>,
    records: Vec<Record>,
) -> Result<(WriteCounts, Vec<String>), sqlx::Error> {
    let mut counts = WriteCounts::default();
    let mut untouched = Vec::new();
    let mut new_events: Vec<NewEvent> = Vec::new();
    for (kind, batch) in group_by_kind(records) {
        let c = write_kind(
            conn,
            columns,
            ctx,
            kind,
            batch,
            &mut new_events,
            &mut untouched,
        )
        .await?;
        counts.add(c);
    }
    counts.events = insert_events(conn, &new_events).await?;
    Ok((counts, untouched))
}

/// Groups records by kind in order of first appearance; within a kind the last
/// record of a remote id wins (a page may repeat an object that changed mid-pass).
fn group_by_kind(records: Vec<Record>) -> Vec<(EntityKind, Vec<Record>)> {
    let mut groups: Vec<(EntityKind, Vec<Record>)> = Vec::new();
    for record in records {
        let kind = record.kind();
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, batch)) => batch.push(record),
            None => groups.push((kind, vec![record])),
        }
    }
    for (_, batch) in &mut groups {
        let mut last: HashMap<String, usize> = HashMap::new();
        for (i, r) in batch.iter().enumerate() {
            last.insert(r.meta().remote_id.clone(), i);
        }
        if last.len() != batch.len() {
            let mut i = 0;
            batch.retain(|r| {
                let keep = last.get(&r.meta().remote_id) == Some(&i);
                i += 1;
                keep
            });
        }
    }
    groups
}

/// A record that will be written, with what it replaces.
struct Pending {
    record: Record,
    /// `record.normalized()`, until it becomes the row written.
    normalized: Value,
    hash: String,
    raw_hash: String,
    old: Option<Record>,
    changes: Option<Value>,
    undeleted: bool,
    /// Same canonical content, newer raw object: refresh `remote_data` and
    /// `remote_updated_at` only, with no event.
    raw_only: bool,
    /// The person the stored row is linked to (candidates).
    old_person: Option<uuid::Uuid>,
}

/// Rounds of [`write_kind_once`] before a batch that keeps meeting concurrent
/// writers is given up (its transaction fails and is retried). The second round
/// always settles: the first leaves every row it was overtaken on locked.
const MAX_ROUNDS: usize = 3;

/// Writes one kind's records; records a concurrent writer changed after they
/// were read are read again and compared with what that writer stored, so each
/// change is written, and announced, against the content it replaces.
async fn write_kind(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    ctx: &WriteContext<'_>,
    kind: EntityKind,
    mut batch: Vec<Record>,
    new_events: &mut Vec<NewEvent>,
    untouched: &mut Vec<String>,
) -> Result<WriteCounts, sqlx::Error> {
    let mut counts = WriteCounts::default();
    for _ in 0..MAX_ROUNDS {
        batch = write_kind_once(
            conn,
            columns,
            ctx,
            kind,
            batch,
            new_events,
            untouched,
            &mut counts,
        )
        .await?;
        if batch.is_empty() {
            return Ok(counts);
        }
    }
    Err(sqlx::Error::Protocol(format!(
        "{} {} records kept changing under concurrent writers; the transaction is retried",
        batch.len(),
        kind.table()
    )))
}

/// One round of [`write_kind`]; returns the records overtaken by a concurrent
/// writer between the read and the upsert, which were not written.
#[allow(clippy::too_many_arguments)]
async fn write_kind_once(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    ctx: &WriteContext<'_>,
    kind: EntityKind,
    batch: Vec<Record>,
    new_events: &mut Vec<NewEvent>,
    untouched: &mut Vec<String>,
    counts: &mut WriteCounts,
) -> Result<Vec<Record>, sqlx::Error> {
    let table = kind.table();
    let remote_ids: Vec<String> = batch.iter().map(|r| r.meta().remote_id.clone()).collect();
    let stored = entities::stored_rows(conn, table, ctx.connector_id, &remote_ids).await?;
    // Hash comparison first; the stored content is read only for records that
    // changed. The normalised value hashed becomes the row written.
    let batch: Vec<(Record, Value, String, String)> = batch
        .into_iter()
        .map(|r| {
            let normalized = r.normalized();
            let hash = content_hash_of(&normalized);
            let raw_hash = raw_hash(&r);
            (r, normalized, hash, raw_hash)
        })
        .collect();
    let changed_ids: Vec<uuid::Uuid> = batch
        .iter()
        .filter_map(|(r, _, hash, _)| {
            let row = stored.get(&r.meta().remote_id)?;
            (!is_stale(row, r) && (&row.content_hash != hash || row.deleted_at.is_some()))
                .then_some(row.id)
        })
        .collect();
    let mut before = entities::stored_json(conn, table, &changed_ids).await?;

    let mut pending: Vec<Pending> = Vec::new();
    for (record, normalized, hash, raw_hash) in batch {
        match stored.get(&record.meta().remote_id) {
            None => pending.push(Pending {
                record,
                normalized,
                hash,
                raw_hash,
                old: None,
                changes: None,
                undeleted: false,
                raw_only: false,
                old_person: None,
            }),
            Some(row) => {
                if is_stale(row, &record) {
                    counts.stale += 1;
                    untouched.push(record.meta().remote_id.clone());
                } else if row.content_hash == hash && row.deleted_at.is_none() {
                    if raw_changed(row, &record, &raw_hash) {
                        // Counted once written (a concurrent newer write wins).
                        pending.push(Pending {
                            record,
                            normalized,
                            hash,
                            raw_hash,
                            old: None,
                            changes: None,
                            undeleted: false,
                            raw_only: true,
                            old_person: row.person_id,
                        });
                    } else {
                        counts.unchanged += 1;
                        untouched.push(record.meta().remote_id.clone());
                    }
                } else {
                    let old = before
                        .remove(&row.id)
                        .and_then(|json| Record::from_normalized(kind, json).ok());
                    let changes = old.as_ref().and_then(|old| events::diff(old, &record));
                    let undeleted = row.deleted_at.is_some();
                    if changes.is_none() && !undeleted && old.is_some() {
                        // Same content by field comparison (e.g. hashed by an older
                        // build): refresh the hash quietly, no event.
                        counts.unchanged += 1;
                        pending.push(Pending {
                            record,
                            normalized,
                            hash,
                            raw_hash,
                            old,
                            changes: None,
                            undeleted,
                            raw_only: false,
                            old_person: row.person_id,
                        });
                        continue;
                    }
                    pending.push(Pending {
                        record,
                        normalized,
                        hash,
                        raw_hash,
                        old,
                        changes,
                        undeleted,
                        raw_only: false,
                        old_person: row.person_id,
                    });
                }
            }
        }
    }
    if pending.is_empty() {
        return Ok(Vec::new());
    }

    // Candidates find their persons in their own upsert: create and lock them first.
    let created_persons = if kind == EntityKind::Candidate {
        let records: Vec<&Record> = pending.iter().map(|p| &p.record).collect();
        identity::prepare_persons(conn, &records).await?
    } else {
        Default::default()
    };
    // Two passes: the columns take each record's normalised value, then the
    // rows borrow each record's raw object.
    let row_fields: Vec<serde_json::Map<String, Value>> = pending
        .iter_mut()
        .map(|p| {
            let normalized = std::mem::take(&mut p.normalized);
            row_columns(
                ctx.connector_id,
                &p.record,
                normalized,
                &p.hash,
                &p.raw_hash,
            )
        })
        .collect();
    let mut rows: Vec<entities::EntityRow<'_>> = row_fields
        .into_iter()
        .zip(&pending)
        .map(|(columns, p)| entities::EntityRow {
            columns,
            remote_data: &p.record.meta().remote_data,
        })
        .collect();
    // What each record was compared with: the upsert leaves alone a row that
    // holds anything else by now (or exists at all, for a record read as new).
    let expected: HashMap<&str, &str> = pending
        .iter()
        .filter_map(|p| {
            let row = stored.get(&p.record.meta().remote_id)?;
            Some((row.remote_id.as_str(), row.content_hash.as_str()))
        })
        .collect();
    let written = entities::upsert_rows(conn, columns, table, &mut rows, &expected).await?;
    // Each row's columns become its event's data.
    let row_fields: Vec<serde_json::Map<String, Value>> =
        rows.into_iter().map(|row| row.columns).collect();
    // Not written: a concurrent writer's version came first. Read again, it is
    // either newer (stale) or what this record's change is measured against.
    let (mut pending, overtaken): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .zip(row_fields)
        .partition(|(p, _)| written.contains_key(&p.record.meta().remote_id));

    let now = Utc::now();
    let mut stage_changes: Vec<Value> = Vec::new();
    let mut links: Vec<identity::NewLink> = Vec::new();
    for (p, row_fields) in &mut pending {
        let p = &*p;
        let Some(w) = written.get(&p.record.meta().remote_id).copied() else {
            continue;
        };
        let (id, inserted) = (w.id, w.inserted);
        if p.raw_only && !inserted {
            // The canonical content is unchanged: no event, nothing to link.
            counts.unchanged += 1;
            continue;
        }
        if let (Some(person_id), Record::Candidate(c)) = (w.person_id, &p.record) {
            if p.old_person != Some(person_id) {
                links.push(identity::NewLink {
                    candidate_id: id,
                    remote_id: &c.meta.remote_id,
                    person_id,
                    email: c
                        .email
                        .as_deref()
                        .and_then(normalize_email)
                        .unwrap_or_default(),
                });
            }
        }
        // The upsert wrote over exactly the row compared with, so a record read
        // as new was inserted.
        let is_create = inserted;
        if !is_create && p.changes.is_none() && !p.undeleted {
            continue; // quiet hash refresh
        }
        if is_create {
            counts.created += 1;
        } else {
            counts.updated += 1;
        }
        let changes = if p.undeleted {
            let mut c = p.changes.clone().unwrap_or_else(|| json!({}));
            if let Value::Object(map) = &mut c {
                map.insert("deleted".into(), json!({"from": true, "to": false}));
            }
            Some(c)
        } else {
            p.changes.clone()
        };
        let event = NewEvent::new(
            ctx,
            events::event_type(p.old.as_ref(), &p.record, changes.as_ref()),
            events::entity_type(kind),
            id,
            &p.record.meta().remote_id,
            now,
            event_data_of_row(table, id, std::mem::take(row_fields)),
        )
        .with_changes(changes);
        if let Some(change) = stage_change(id, ctx.connector_id, p, &event) {
            stage_changes.push(change);
        }
        new_events.push(event);
    }
    entities::insert_rows(conn, columns, "application_stage_changes", &stage_changes).await?;
    identity::announce_links(conn, ctx, &links, &created_persons, new_events).await?;
    Ok(overtaken.into_iter().map(|(p, _)| p.record).collect())
}

/// Columns [`row_columns`] adds to a record's normalised fields.
const ROW_ONLY: &[&str] = &[
    "content_hash",
    "remote_data_hash",
    "email_normalized",
    "candidate_email_normalized",
];

/// An event's `data` ([`events::event_data`]) from the columns of the row
/// written for it (`id` the row's): the record's normalised fields are there
/// already, so it is not serialised a second time (perf: a tenth of the
/// daemon's backfill samples went to `Record::normalized`).
fn event_data_of_row(
    table: &str,
    id: uuid::Uuid,
    mut columns: serde_json::Map<String, Value>,
) -> Value {
    for column in ROW_ONLY
        .iter()
        .copied()
        .chain(entities::derived_id_columns(table))
    {
        columns.remove(column);
    }
    columns.insert("id".into(), json!(id));
    Value::Object(columns)
}

/// An older version than the one stored, by the provider's own update time: a late
/// webhook or a retried delivery must never overwrite newer data.
fn is_stale(row: &StoredRow, record: &Record) -> bool {
    match (row.remote_updated_at, record.meta().remote_updated_at) {
        (Some(stored), Some(incoming)) => incoming < stored,
        _ => false,
    }
}

/// Whether the provider's raw object differs from the one stored although the
/// canonical content is the same (only `updatedAt` or unmapped fields changed).
fn raw_changed(row: &StoredRow, record: &Record, raw_hash: &str) -> bool {
    match &row.remote_data_hash {
        Some(stored) => stored != raw_hash,
        // Written before raw hashes were kept: refresh only when the provider says
        // the object is newer, so an upgrade does not rewrite every row at once.
        None => match (row.remote_updated_at, record.meta().remote_updated_at) {
            (Some(stored), Some(incoming)) => incoming > stored,
            (None, Some(_)) => true,
            (_, None) => false,
        },
    }
}

/// Hash of the raw object as stored in `remote_data` (serde_json maps are
/// ordered, so equal objects serialise alike), or, for a record mapped from a
/// listed object, that object's fingerprint: what the next pass compares the
/// provider's bytes with before it maps them (a record written otherwise, by a
/// webhook say, is mapped once more by the next pass, which writes its raw
/// object and fingerprint quietly, or the change with its event if it differs).
fn raw_hash(record: &Record) -> String {
    if let Some(fingerprint) = &record.meta().fingerprint {
        return fingerprint.clone();
    }
    let bytes = serde_json::to_vec(&record.meta().remote_data).unwrap_or_default();
    hex_lower(&Sha256::digest(bytes))
}

/// The columns to upsert, but `remote_data`: the normalised fields
/// (`normalized`, `record.normalized()`, an object for every record) plus the
/// columns every entity carries.
fn row_columns(
    connector_id: &str,
    record: &Record,
    normalized: Value,
    hash: &str,
    raw_hash: &str,
) -> serde_json::Map<String, Value> {
    let Value::Object(mut map) = normalized else {
        return serde_json::Map::new();
    };
    map.remove("entity");
    map.insert("connector_id".into(), json!(connector_id));
    map.insert("content_hash".into(), json!(hash));
    map.insert("remote_data_hash".into(), json!(raw_hash));
    match record {
        Record::Candidate(c) => {
            let normalized = c.email.as_deref().and_then(normalize_email);
            map.insert("email_normalized".into(), json!(normalized));
        }
        Record::BackgroundCheck(b) => {
            let normalized = b.candidate_email.as_deref().and_then(normalize_email);
            map.insert("candidate_email_normalized".into(), json!(normalized));
        }
        _ => {}
    }
    map
}

/// The history row for an application whose stage changed (or that arrived in one).
fn stage_change(
    id: uuid::Uuid,
    connector_id: &str,
    p: &Pending,
    event: &NewEvent,
) -> Option<Value> {
    let Record::Application(app) = &p.record else {
        return None;
    };
    let old = match &p.old {
        Some(Record::Application(old)) => Some(old),
        _ => None,
    };
    let moved = match old {
        None => app.stage_name.is_some(),
        Some(old) => old.stage_name != app.stage_name || old.stage_category != app.stage_category,
    };
    if !moved {
        return None;
    }
    Some(json!({
        "connector_id": connector_id,
        "application_id": id,
        "application_remote_id": app.meta.remote_id,
        "from_stage": old.and_then(|o| o.stage_name.clone()),
        "from_category": old.and_then(|o| o.stage_category),
        "to_stage": app.stage_name,
        "to_category": app.stage_category,
        "changed_at": app.meta.remote_updated_at.unwrap_or(event.occurred_at()),
        "event_id": event.id(),
    }))
}

/// Inserts events in one statement; returns how many.
pub async fn insert_events(
    conn: &mut PgConnection,
    new_events: &[NewEvent],
) -> Result<u64, sqlx::Error> {
    let rows: Vec<events::EventRow<'_>> = new_events.iter().map(NewEvent::row).collect();
    crate::store::event_log::insert(conn, &rows).await
}

/// Soft-deletes records by remote id and emits `<kind>.deleted` for each.
pub async fn delete_records(
    conn: &mut PgConnection,
    ctx: &WriteContext<'_>,
    kind: EntityKind,
    remote_ids: &[String],
) -> Result<WriteCounts, sqlx::Error> {
    let deleted = entities::soft_delete(conn, kind.table(), ctx.connector_id, remote_ids).await?;
    emit_deleted(conn, ctx, kind, deleted).await
}

/// Emits `<kind>.deleted` events for rows just soft-deleted.
pub async fn emit_deleted(
    conn: &mut PgConnection,
    ctx: &WriteContext<'_>,
    kind: EntityKind,
    deleted: Vec<entities::DeletedRow>,
) -> Result<WriteCounts, sqlx::Error> {
    let now = Utc::now();
    let new_events: Vec<NewEvent> = deleted
        .into_iter()
        .map(|row| {
            let data = match Record::from_normalized(kind, row.row) {
                Ok(record) => events::event_data(row.id, ctx.connector_id, &record),
                Err(_) => json!({"id": row.id, "connector_id": ctx.connector_id}),
            };
            NewEvent::new(
                ctx,
                format!("{}.deleted", kind.as_str()),
                events::entity_type(kind),
                row.id,
                &row.remote_id,
                now,
                data,
            )
            .with_changes(Some(json!({"deleted": {"from": false, "to": true}})))
        })
        .collect();
    let deleted_count = new_events.len() as u64;
    let events = insert_events(conn, &new_events).await?;
    Ok(WriteCounts {
        deleted: deleted_count,
        events,
        ..Default::default()
    })
}

/// Two remote objects became one at the provider: the removed row is
/// soft-deleted, everything that pointed at it now points at the survivor (so the
/// survivor keeps the history), and one `<kind>.merged` event says so.
pub async fn merge_records(
    conn: &mut PgConnection,
    ctx: &WriteContext<'_>,
    kind: EntityKind,
    removed: &str,
    survivor: &str,
) -> Result<WriteCounts, sqlx::Error> {
    let table = kind.table();
    let ids = entities::ids_by_remote_id(
        conn,
        table,
        ctx.connector_id,
        &[removed.to_string(), survivor.to_string()],
    )
    .await?;
    let survivor_id = ids.get(survivor).copied();
    entities::repoint_references(
        conn,
        table,
        ctx.connector_id,
        (removed, ids.get(removed).copied()),
        (survivor, survivor_id),
    )
    .await?;
    let deleted =
        entities::soft_delete(conn, table, ctx.connector_id, &[removed.to_string()]).await?;
    let Some(entity_id) = survivor_id.or(ids.get(removed).copied()) else {
        return Ok(WriteCounts::default());
    };
    let event = NewEvent::new(
        ctx,
        format!("{}.merged", kind.as_str()),
        events::entity_type(kind),
        entity_id,
        survivor,
        Utc::now(),
        json!({
            "id": entity_id,
            "connector_id": ctx.connector_id,
            "remote_id": survivor,
            "merged_remote_id": removed,
            "merged_id": ids.get(removed),
        }),
    );
    let events = insert_events(conn, &[event]).await?;
    Ok(WriteCounts {
        deleted: deleted.len() as u64,
        events,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::EntityKind;

    /// An event's data taken from its row is exactly what the record itself
    /// gives, for every kind, with every reference and email the rows add to.
    #[test]
    fn event_data_of_a_row_is_the_records_own() {
        let fields = json!({
            "remote_id": "r-1",
            "remote_created_at": "2026-01-02T03:04:05.678Z",
            "remote_updated_at": "2026-02-03T04:05:06.789Z",
            "candidate_remote_id": "c-1",
            "job_remote_id": "j-1",
            "application_remote_id": "a-1",
            "interview_remote_id": "i-1",
            "email": "Ada@Example.com",
            "candidate_email": "Bo@Example.com",
            "first_name": "Ada",
            "title": "Engineer",
        });
        for kind in EntityKind::ALL.iter().copied() {
            let record = Record::from_normalized(kind, fields.clone()).unwrap();
            let normalized = record.normalized();
            let hash = content_hash_of(&normalized);
            let mut row = row_columns("conn-1", &record, normalized, &hash, "raw");
            entities::add_derived_ids(kind.table(), &mut row);
            // A row stored before ids were derived keeps its own id.
            let id = uuid::Uuid::now_v7();
            assert_eq!(
                event_data_of_row(kind.table(), id, row),
                events::event_data(id, "conn-1", &record),
                "{kind:?}"
            );
        }
    }
}
