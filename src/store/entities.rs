//! SQL for the entity tables of schema `hiring`: read the stored rows of a page,
//! upsert the changed ones in one statement, resolve references that arrived out
//! of order, and soft-delete.
//!
//! Canonical field names are the column names (see `hirebridge_sdk::model`), so one
//! generic statement per operation serves every table: rows travel as one JSON
//! array and `jsonb_populate_recordset` turns them into typed rows server-side.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The columns of every table in schema `hiring`, read once from the catalogue so
/// statements only name columns that exist.
#[derive(Debug, Clone, Default)]
pub struct SchemaColumns {
    by_table: HashMap<String, HashSet<String>>,
}

impl SchemaColumns {
    pub async fn load(pool: &PgPool) -> Result<SchemaColumns, sqlx::Error> {
        let rows = sqlx::query(
            "select table_name::text as t, column_name::text as c
               from information_schema.columns where table_schema = 'hiring'",
        )
        .fetch_all(pool)
        .await?;
        let mut by_table: HashMap<String, HashSet<String>> = HashMap::new();
        for row in rows {
            by_table
                .entry(row.try_get("t")?)
                .or_default()
                .insert(row.try_get("c")?);
        }
        Ok(SchemaColumns { by_table })
    }

    pub fn has(&self, table: &str, column: &str) -> bool {
        self.by_table
            .get(table)
            .is_some_and(|cols| cols.contains(column))
    }
}

/// A stored row as the writer compares it with an incoming record.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub id: Uuid,
    pub remote_id: String,
    pub content_hash: String,
    /// Hash of the raw object last written; None for rows written before it was kept.
    pub remote_data_hash: Option<String>,
    pub remote_updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The person the row is linked to, for tables with a [`PersonLink`].
    pub person_id: Option<Uuid>,
}

/// The stored rows of `table` for these remote ids of one connector, in one round trip.
pub async fn stored_rows(
    conn: &mut PgConnection,
    table: &str,
    connector_id: &str,
    remote_ids: &[String],
) -> Result<HashMap<String, StoredRow>, sqlx::Error> {
    // Planned on every call (not a cached generic plan): a plan made while the
    // table was small hash-joined the whole table per batch as it grew (the
    // webhook drain fell from thousands to hundreds per second).
    let person = if person_link(table).is_some() {
        "t.person_id"
    } else {
        "null::uuid as person_id"
    };
    let sql = format!(
        "select t.id, t.remote_id, t.content_hash, t.remote_data_hash, t.remote_updated_at, t.deleted_at, {person}
           from unnest($2::text[]) as r(remote_id)
           join hiring.{table} t on t.connector_id = $1 and t.remote_id = r.remote_id"
    );
    let rows = sqlx::query(&sql)
        .persistent(false)
        .bind(connector_id)
        .bind(remote_ids)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let stored = StoredRow {
            id: row.try_get("id")?,
            remote_id: row.try_get("remote_id")?,
            content_hash: row.try_get("content_hash")?,
            remote_data_hash: row.try_get("remote_data_hash")?,
            remote_updated_at: row.try_get("remote_updated_at")?,
            deleted_at: row.try_get("deleted_at")?,
            person_id: row.try_get("person_id")?,
        };
        out.insert(stored.remote_id.clone(), stored);
    }
    Ok(out)
}

/// Our ids of the rows of `table` with these remote ids of one connector (deleted
/// ones included), keyed by remote id.
pub async fn ids_by_remote_id(
    conn: &mut PgConnection,
    table: &str,
    connector_id: &str,
    remote_ids: &[String],
) -> Result<HashMap<String, Uuid>, sqlx::Error> {
    let sql = format!(
        "select t.remote_id, t.id from unnest($2::text[]) as r(remote_id)
           join hiring.{table} t on t.connector_id = $1 and t.remote_id = r.remote_id"
    );
    let rows: Vec<(String, Uuid)> = sqlx::query_as(&sql)
        .persistent(false)
        .bind(connector_id)
        .bind(remote_ids)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The stored rows `ids` of `table` as JSON (column names as keys, without the
/// raw provider object): the "before" of changed records, fetched only for those.
pub async fn stored_json(
    conn: &mut PgConnection,
    table: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Value>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "select t.id, to_jsonb(t) - 'remote_data' as row
           from unnest($1::uuid[]) as r(id) join hiring.{table} t on t.id = r.id"
    );
    let rows: Vec<(Uuid, Value)> = sqlx::query_as(&sql)
        .persistent(false)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Columns the database owns: never written from a record.
const DATABASE_OWNED: &[&str] = &["id", "first_seen_at", "updated_at", "deleted_at"];

/// A row [`upsert_rows`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct WrittenRow {
    pub id: Uuid,
    /// Inserted (not updated).
    pub inserted: bool,
    /// The person it is linked to now, for tables with a [`PersonLink`].
    pub person_id: Option<Uuid>,
}

/// Inserts or updates `rows` (JSON objects whose keys are column names) in one
/// statement, undeleting any that were soft-deleted, and returns the rows
/// written by remote id. References (`*_id` from `*_remote_id`) and the person
/// link are resolved in the same statement. A row older (by the provider's
/// update time) than the stored one is not written, even when a concurrent
/// writer committed the newer one after this writer read it: the check runs on
/// the row version the conflict sees.
pub async fn upsert_rows(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    table: &str,
    rows: &[Value],
) -> Result<HashMap<String, WrittenRow>, sqlx::Error> {
    let Some(Value::Object(first)) = rows.first() else {
        return Ok(HashMap::new());
    };
    let cols: Vec<&str> = first
        .keys()
        .map(String::as_str)
        .filter(|c| columns.has(table, c) && !DATABASE_OWNED.contains(c))
        .collect();
    // References are resolved in the same statement: each `*_id` is looked up
    // from its `*_remote_id` (NULL while the other side has not arrived yet).
    let refs: Vec<&Reference> = REFERENCES
        .iter()
        .filter(|r| {
            r.table == table && cols.contains(&r.remote_column) && columns.has(table, r.id_column)
        })
        .collect();
    let mut insert_cols: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    let mut select_exprs: Vec<String> = cols.iter().map(|c| format!("r.{c}")).collect();
    for r in &refs {
        insert_cols.push(r.id_column.to_string());
        select_exprs.push(format!(
            "(select d.id from hiring.{target} d where d.connector_id = r.connector_id and d.remote_id = r.{remote})",
            target = r.target,
            remote = r.remote_column
        ));
    }
    // The person of the row's email (created beforehand by the writer for
    // candidates; a background check only ever joins an existing one).
    let link = person_link(table).filter(|l| cols.contains(&l.email_column));
    if let Some(l) = link {
        insert_cols.push("person_id".to_string());
        select_exprs.push(format!(
            "(select p.id from hiring.persons p where p.email_normalized = r.{})",
            l.email_column
        ));
    }
    let returning_person = if link.is_some() {
        "person_id"
    } else {
        "null::uuid as person_id"
    };
    let updates: Vec<String> = insert_cols
        .iter()
        .filter(|c| !matches!(c.as_str(), "connector_id" | "remote_id"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "insert into hiring.{table} ({insert_list})
         select {select_list} from jsonb_populate_recordset(null::hiring.{table}, $1) r
         on conflict (connector_id, remote_id) do update
            set {updates}, updated_at = now(), deleted_at = null
          where excluded.remote_updated_at is null
             or hiring.{table}.remote_updated_at is null
             or excluded.remote_updated_at >= hiring.{table}.remote_updated_at
         returning id, remote_id, (xmax = 0) as inserted, {returning_person}",
        insert_list = insert_cols.join(", "),
        select_list = select_exprs.join(", "),
        updates = updates.join(", ")
    );
    let result = sqlx::query(&sql)
        .bind(sqlx::types::Json(rows))
        .fetch_all(&mut *conn)
        .await?;
    let mut out = HashMap::with_capacity(result.len());
    for row in result {
        out.insert(
            row.try_get::<String, _>("remote_id")?,
            WrittenRow {
                id: row.try_get("id")?,
                inserted: row.try_get("inserted")?,
                person_id: row.try_get("person_id")?,
            },
        );
    }
    Ok(out)
}

/// A table whose rows join the person of an email column (`person_id`).
#[derive(Debug, Clone, Copy)]
pub struct PersonLink {
    pub table: &'static str,
    pub email_column: &'static str,
}

const PERSON_LINKS: &[PersonLink] = &[
    PersonLink {
        table: "candidates",
        email_column: "email_normalized",
    },
    PersonLink {
        table: "background_checks",
        email_column: "candidate_email_normalized",
    },
];

/// The person link of `table`, if its rows have one.
pub fn person_link(table: &str) -> Option<PersonLink> {
    PERSON_LINKS.iter().find(|l| l.table == table).copied()
}

/// Inserts rows (JSON objects keyed by column name) into an append-only table in one
/// statement; columns the table does not have are ignored.
pub async fn insert_rows(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    table: &str,
    rows: &[Value],
) -> Result<u64, sqlx::Error> {
    let Some(Value::Object(first)) = rows.first() else {
        return Ok(0);
    };
    let cols: Vec<&str> = first
        .keys()
        .map(String::as_str)
        .filter(|c| columns.has(table, c))
        .collect();
    let col_list = cols.join(", ");
    let sql = format!(
        "insert into hiring.{table} ({col_list})
         select {col_list} from jsonb_populate_recordset(null::hiring.{table}, $1)"
    );
    let done = sqlx::query(&sql)
        .bind(sqlx::types::Json(rows))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// A reference kept as a remote id and resolved to our id when both sides are here.
struct Reference {
    table: &'static str,
    remote_column: &'static str,
    id_column: &'static str,
    target: &'static str,
}

const REFERENCES: &[Reference] = &[
    Reference {
        table: "applications",
        remote_column: "candidate_remote_id",
        id_column: "candidate_id",
        target: "candidates",
    },
    Reference {
        table: "applications",
        remote_column: "job_remote_id",
        id_column: "job_id",
        target: "jobs",
    },
    Reference {
        table: "job_postings",
        remote_column: "job_remote_id",
        id_column: "job_id",
        target: "jobs",
    },
    Reference {
        table: "interviews",
        remote_column: "application_remote_id",
        id_column: "application_id",
        target: "applications",
    },
    Reference {
        table: "interviews",
        remote_column: "candidate_remote_id",
        id_column: "candidate_id",
        target: "candidates",
    },
    Reference {
        table: "offers",
        remote_column: "application_remote_id",
        id_column: "application_id",
        target: "applications",
    },
    Reference {
        table: "assessments",
        remote_column: "application_remote_id",
        id_column: "application_id",
        target: "applications",
    },
    Reference {
        table: "assessments",
        remote_column: "candidate_remote_id",
        id_column: "candidate_id",
        target: "candidates",
    },
    Reference {
        table: "reviews",
        remote_column: "application_remote_id",
        id_column: "application_id",
        target: "applications",
    },
    Reference {
        table: "reviews",
        remote_column: "interview_remote_id",
        id_column: "interview_id",
        target: "interviews",
    },
    Reference {
        table: "background_checks",
        remote_column: "candidate_remote_id",
        id_column: "candidate_id",
        target: "candidates",
    },
];

/// Resolves references to the newly inserted rows `ids` of `table` from rows
/// stored earlier that were waiting for them (their own references were resolved
/// by [`upsert_rows`]).
pub async fn resolve_waiting_references(
    conn: &mut PgConnection,
    table: &str,
    ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    for r in REFERENCES.iter().filter(|r| r.target == table) {
        let sql = format!(
            "update hiring.{t} s set {id_col} = d.id
               from hiring.{target} d
              where d.id = any($1) and s.connector_id = d.connector_id
                and s.{remote_col} = d.remote_id and s.{id_col} is distinct from d.id",
            t = r.table,
            id_col = r.id_column,
            target = r.target,
            remote_col = r.remote_column
        );
        sqlx::query(&sql).bind(ids).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A row that was soft-deleted, with its state before.
#[derive(Debug, Clone)]
pub struct DeletedRow {
    pub id: Uuid,
    pub remote_id: String,
    pub row: Value,
}

/// Soft-deletes the live rows of `table` with these remote ids.
pub async fn soft_delete(
    conn: &mut PgConnection,
    table: &str,
    connector_id: &str,
    remote_ids: &[String],
) -> Result<Vec<DeletedRow>, sqlx::Error> {
    let sql = format!(
        "update hiring.{table} t set deleted_at = now(), updated_at = now()
          where connector_id = $1 and deleted_at is null and remote_id = any($2)
          returning id, remote_id, to_jsonb(t) as row"
    );
    deleted_rows(sqlx::query(&sql).bind(connector_id).bind(remote_ids), conn).await
}

/// How many live rows of `table` this connector holds: taken before a full pass
/// writes, it is what the deletion guard compares the missing rows with.
pub async fn count_live(
    conn: &mut PgConnection,
    table: &str,
    connector_id: &str,
) -> Result<i64, sqlx::Error> {
    let sql = format!(
        "select count(*) from hiring.{table} where connector_id = $1 and deleted_at is null"
    );
    sqlx::query_scalar(&sql)
        .bind(connector_id)
        .fetch_one(&mut *conn)
        .await
}

/// Remote ids of this connector's live rows of `table` whose `status` is not
/// one of `final_statuses` (what a refresh-known pass re-reads).
pub async fn unfinished_ids(
    pool: &sqlx::PgPool,
    table: &str,
    connector_id: &str,
    final_statuses: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "select remote_id from hiring.{table}
          where connector_id = $1 and deleted_at is null
            and (status is null or not (status = any($2)))
          order by remote_id"
    );
    sqlx::query_scalar(&sql)
        .bind(connector_id)
        .bind(final_statuses)
        .fetch_all(pool)
        .await
}

/// How many live rows of `table` for this connector a complete full pass
/// (`pass_id`, begun at `started` by the database's clock) did not see: rows
/// no writer touched since it began and whose ids are not in its seen ids
/// (`hiring.pass_seen`). The candidates for deletion.
pub async fn count_live_missing(
    conn: &mut PgConnection,
    table: &str,
    connector_id: &str,
    pass_id: Uuid,
    started: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    analyze_pass_seen(conn).await?;
    let sql = format!(
        "select count(*) from hiring.{table} t
          where t.connector_id = $1 and t.deleted_at is null and t.updated_at < $3
            and not exists (select 1 from hiring.pass_seen s
                             where s.pass_id = $2 and s.remote_id = t.remote_id)"
    );
    sqlx::query_scalar(&sql)
        .persistent(false)
        .bind(connector_id)
        .bind(pass_id)
        .bind(started)
        .fetch_one(&mut *conn)
        .await
}

/// Soft-deletes the rows [`count_live_missing`] counts.
pub async fn soft_delete_missing(
    conn: &mut PgConnection,
    table: &str,
    connector_id: &str,
    pass_id: Uuid,
    started: DateTime<Utc>,
) -> Result<Vec<DeletedRow>, sqlx::Error> {
    let sql = format!(
        "update hiring.{table} t set deleted_at = now(), updated_at = now()
          where t.connector_id = $1 and t.deleted_at is null and t.updated_at < $3
            and not exists (select 1 from hiring.pass_seen s
                             where s.pass_id = $2 and s.remote_id = t.remote_id)
          returning id, remote_id, to_jsonb(t) as row"
    );
    let query = sqlx::query(&sql).persistent(false);
    deleted_rows(query.bind(connector_id).bind(pass_id).bind(started), conn).await
}

/// Refreshes the planner's statistics of `hiring.pass_seen` before a sweep reads
/// it. The table fills from empty during every pass; planned with the stats of an
/// empty table, the anti-join probed it by sequential scan once per stored row
/// (30 s for 25,000 candidates, past the statement timeout). Sampling it costs a
/// few milliseconds once per pass.
async fn analyze_pass_seen(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("analyze hiring.pass_seen")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn deleted_rows(
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    conn: &mut PgConnection,
) -> Result<Vec<DeletedRow>, sqlx::Error> {
    query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|row| {
            Ok(DeletedRow {
                id: row.try_get("id")?,
                remote_id: row.try_get("remote_id")?,
                row: row.try_get("row")?,
            })
        })
        .collect()
}

/// Points every reference to `removed` (remote id in `target`) at `survivor`
/// instead, for merges.
pub async fn repoint_references(
    conn: &mut PgConnection,
    target: &str,
    connector_id: &str,
    removed: &str,
    survivor: &str,
    survivor_id: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    for r in REFERENCES.iter().filter(|r| r.target == target) {
        let sql = format!(
            "update hiring.{t} set {remote_col} = $3, {id_col} = $4, updated_at = now()
              where connector_id = $1 and {remote_col} = $2",
            t = r.table,
            remote_col = r.remote_column,
            id_col = r.id_column,
        );
        sqlx::query(&sql)
            .bind(connector_id)
            .bind(removed)
            .bind(survivor)
            .bind(survivor_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
