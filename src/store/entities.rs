//! SQL for the entity tables of schema `hiring`: read the stored rows of a page,
//! upsert the changed ones in one statement (with their derived ids and the ids of
//! the rows they reference), and soft-delete.
//!
//! Canonical field names are the column names (see `hirebridge_sdk::model`), so one
//! generic statement per operation serves every table: rows travel column by
//! column, one array a column cast to the column's type ([`TypedColumns`]), so
//! only JSON columns are parsed as JSON server-side.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use std::borrow::Cow;
use std::collections::HashMap;
use uuid::Uuid;

/// The columns of every table in schema `hiring` and their types, read once
/// from the catalogue so statements only name columns that exist.
#[derive(Debug, Clone, Default)]
pub struct SchemaColumns {
    /// Table → column → its type as SQL writes it (`format_type`).
    by_table: HashMap<String, HashMap<String, String>>,
}

impl SchemaColumns {
    pub async fn load(pool: &PgPool) -> Result<SchemaColumns, sqlx::Error> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "select c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
               from pg_attribute a
               join pg_class c on c.oid = a.attrelid
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'hiring' and c.relkind in ('r', 'p', 'v')
                and a.attnum > 0 and not a.attisdropped",
        )
        .fetch_all(pool)
        .await?;
        let mut by_table: HashMap<String, HashMap<String, String>> = HashMap::new();
        for (table, column, sql_type) in rows {
            by_table.entry(table).or_default().insert(column, sql_type);
        }
        Ok(SchemaColumns { by_table })
    }

    pub fn has(&self, table: &str, column: &str) -> bool {
        self.sql_type(table, column).is_some()
    }

    /// The column's type as SQL writes it (`timestamp with time zone`, `text[]`).
    pub fn sql_type(&self, table: &str, column: &str) -> Option<&str> {
        self.by_table.get(table)?.get(column).map(String::as_str)
    }
}

/// Rows of one table sent column by column: an array a column, cast
/// server-side to the column's type. Scalar columns travel as `text[]`, each
/// cell the text its type reads; JSON and array columns as `jsonb[]`, each
/// cell written straight from the row's value. Sent as one JSON array instead
/// (`jsonb_populate_recordset`), every row was parsed as JSON, its keys sorted
/// and each field looked up again: `jsonb_recv` was a quarter of PostgreSQL's
/// CPU draining webhooks (perf). The cells read as `jsonb_populate_recordset`
/// read the same JSON: a null is NULL, a string its text, a number or boolean
/// its JSON text, and a JSON array's elements those of an array column.
struct TypedColumns<'r> {
    names: Vec<String>,
    /// `r.name` cast to the column's type, for the rows' subquery.
    casts: Vec<String>,
    cells: Vec<Cells<'r>>,
}

enum Cells<'r> {
    Text(Vec<Option<Cow<'r, str>>>),
    Json(Vec<Option<&'r Value>>),
}

impl<'r> TypedColumns<'r> {
    /// `names` (columns of `table` that exist) of `rows`, each row's cell
    /// taken by `cell(row, name)`.
    fn new<R>(
        columns: &SchemaColumns,
        table: &str,
        names: &[&str],
        rows: &'r [R],
        cell: impl Fn(&'r R, &str) -> Option<&'r Value>,
    ) -> TypedColumns<'r> {
        let mut out = TypedColumns {
            names: Vec::with_capacity(names.len()),
            casts: Vec::with_capacity(names.len()),
            cells: Vec::with_capacity(names.len()),
        };
        for name in names {
            let sql_type = columns.sql_type(table, name).unwrap_or("text");
            let values = rows
                .iter()
                .map(|row| cell(row, name).filter(|v| !v.is_null()));
            let (cast, cells) = if sql_type.ends_with("[]") {
                (
                    format!(
                        "case when r.{name} is null then null
                              else array(select jsonb_array_elements_text(r.{name}))::{sql_type} end"
                    ),
                    Cells::Json(values.collect()),
                )
            } else if matches!(sql_type, "jsonb" | "json") {
                (
                    format!("r.{name}::{sql_type}"),
                    Cells::Json(values.collect()),
                )
            } else {
                (
                    format!("r.{name}::{sql_type}"),
                    Cells::Text(values.map(|v| v.map(scalar_text)).collect()),
                )
            };
            out.casts.push(cast);
            out.cells.push(cells);
            out.names.push(name.to_string());
        }
        out
    }

    /// The rows as a subquery of typed columns, aliased `r`; its arrays are
    /// parameters `$first` on, bound by [`TypedColumns::bind`].
    fn rows_sql(&self, first: usize) -> String {
        let arrays: Vec<String> = self
            .cells
            .iter()
            .enumerate()
            .map(|(i, cells)| match cells {
                Cells::Text(_) => format!("${}::text[]", first + i),
                Cells::Json(_) => format!("${}::jsonb[]", first + i),
            })
            .collect();
        format!(
            "(select {casts} from unnest({arrays}) as r({names})) r",
            casts = self
                .names
                .iter()
                .zip(&self.casts)
                .map(|(name, cast)| format!("{cast} as {name}"))
                .collect::<Vec<_>>()
                .join(", "),
            arrays = arrays.join(", "),
            names = self.names.join(", "),
        )
    }

    fn bind<'q>(
        &'q self,
        mut query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        for cells in &self.cells {
            query = match cells {
                Cells::Text(cells) => query.bind(cells),
                Cells::Json(cells) => query.bind(cells),
            };
        }
        query
    }
}

/// The text a scalar column reads for `value` (see [`TypedColumns`]).
fn scalar_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        other => Cow::Owned(serde_json::to_string(other).unwrap_or_default()),
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
    // One index probe per id (see [`by_index_probes`]).
    let person = if person_link(table).is_some() {
        "t.person_id"
    } else {
        "null::uuid as person_id"
    };
    let sql = format!(
        "select t.id, t.remote_id, t.content_hash, t.remote_data_hash, t.remote_updated_at, t.deleted_at, {person}
           from unnest($2::text[]) as r(remote_id)
           cross join lateral (select * from hiring.{table} t
                                where t.connector_id = $1 and t.remote_id = r.remote_id limit 1) t"
    );
    let rows = by_index_probes(&mut *conn, &sql, connector_id, remote_ids).await?;
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

/// The fingerprints ([`hirebridge_sdk::Listed`]) stored with the live rows of
/// `table` with these remote ids of one connector, keyed by remote id; rows
/// written otherwise hold a raw object hash, which no fingerprint equals.
pub async fn live_fingerprints(
    pool: &PgPool,
    table: &str,
    connector_id: &str,
    remote_ids: &[String],
) -> Result<HashMap<String, String>, sqlx::Error> {
    // One index probe per id, planned as [`by_index_probes`] plans it, in one
    // round trip (the function sets the planner paths itself).
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "select remote_id, remote_data_hash from hiring.live_fingerprints($1, $2, $3)",
    )
    .bind(table)
    .bind(connector_id)
    .bind(remote_ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, hash)| Some((id, hash?)))
        .collect())
}

/// Runs `sql`, a lookup of rows by remote id (`$1` the connector, `$2` the
/// ids, each joined laterally so the join cannot be flattened), as one index
/// probe per id whatever the table's statistics say, in the caller's
/// transaction. While a table grows fast (a backfill), its statistics lag far
/// behind it; planned with them, the lookup of a page's 100 ids scanned every
/// row the connector held and compared each with every id (13-18 ms a page
/// instead of under one, and growing with the table).
async fn by_index_probes(
    conn: &mut PgConnection,
    sql: &str,
    connector_id: &str,
    remote_ids: &[String],
) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
    planner_paths(&mut *conn, PROBE_ONLY, "off").await?;
    let rows = sqlx::query(sql)
        .persistent(false)
        .bind(connector_id)
        .bind(remote_ids)
        .fetch_all(&mut *conn)
        .await?;
    planner_paths(&mut *conn, PROBE_ONLY, "on").await?;
    Ok(rows)
}

/// The planner paths off for [`by_index_probes`]: all but index scans in
/// nested loops.
const PROBE_ONLY: &[&str] = &[
    "enable_seqscan",
    "enable_bitmapscan",
    "enable_hashjoin",
    "enable_mergejoin",
];

/// Turns the planner's `paths` (`enable_*` settings) off or on again until the
/// transaction ends.
async fn planner_paths(
    conn: &mut PgConnection,
    paths: &[&str],
    setting: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config(p, $2, true) from unnest($1::text[]) p")
        .bind(paths)
        .bind(setting)
        .execute(&mut *conn)
        .await?;
    Ok(())
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
const DATABASE_OWNED: &[&str] = &["first_seen_at", "updated_at", "deleted_at"];

/// Columns an upsert never changes on a row that exists: its identity.
const IDENTITY: &[&str] = &["id", "connector_id", "remote_id"];

/// Our id of the row of `table` with this remote id of one connector, for rows
/// first written since ids were derived (older rows keep their random ids; a
/// reference finds those by lookup, in the tables `hiring.random_id_tables`
/// lists). Derived, not drawn, so that a reference can
/// name its row before the row arrives: a record written before the records it
/// points at carries their final ids at once and is never rewritten when they come.
/// The same function is `hiring.entity_id` in SQL (migration
/// `20261204000001_derived_entity_ids.sql`): the first 16 bytes of SHA-256 of
/// `connector_id \n table \n remote_id`, marked as a version-8 (custom) UUID.
pub fn entity_id(connector_id: &str, table: &str, remote_id: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (i, part) in [connector_id, table, remote_id].into_iter().enumerate() {
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The columns [`upsert_rows`] adds to a row of `table`: its `id` and the id
/// of every reference it names by remote id.
pub fn derived_id_columns(table: &str) -> impl Iterator<Item = &'static str> + '_ {
    std::iter::once("id").chain(
        REFERENCES
            .iter()
            .filter(move |r| r.table == table)
            .map(|r| r.id_column),
    )
}

/// Adds to `row` (of `table`) its derived `id` and the derived id of every
/// reference it names by remote id ([`entity_id`]).
pub(crate) fn add_derived_ids(table: &str, map: &mut serde_json::Map<String, Value>) {
    let Some(connector_id) = map.get("connector_id").and_then(Value::as_str) else {
        return;
    };
    let connector_id = connector_id.to_string();
    let mut ids = Vec::new();
    if let Some(remote_id) = map.get("remote_id").and_then(Value::as_str) {
        ids.push(("id", Some(entity_id(&connector_id, table, remote_id))));
    }
    for r in REFERENCES.iter().filter(|r| r.table == table) {
        // Every row of a batch gets the same keys: the statement's columns are
        // the first row's.
        if let Some(remote) = map.get(r.remote_column) {
            let id = remote
                .as_str()
                .map(|remote_id| entity_id(&connector_id, r.target, remote_id));
            ids.push((r.id_column, id));
        }
    }
    for (column, id) in ids {
        let value = id.map_or(Value::Null, |id| Value::String(id.to_string()));
        map.insert(column.to_string(), value);
    }
}

/// A row for [`upsert_rows`]: its columns, and the provider's raw object
/// borrowed from the record (a copy of it was the writer's largest allocation).
#[derive(Debug)]
pub struct EntityRow<'a> {
    pub columns: serde_json::Map<String, Value>,
    pub remote_data: &'a Value,
}

impl serde::Serialize for EntityRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.columns.len() + 1))?;
        for (k, v) in &self.columns {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("remote_data", self.remote_data)?;
        map.end()
    }
}

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
/// written by remote id. A new row's `id` is derived from its remote id
/// ([`entity_id`]); each reference `*_id` is the id of the row stored under its
/// `*_remote_id`, or, while that row has not arrived, the id it will have: the
/// derived one (only a target that still holds random ids is looked up). The
/// person link is resolved in the same statement. A row older (by the provider's
/// update time) than the stored one is not written, even when a concurrent
/// writer committed the newer one after this writer read it: the check runs on
/// the row version the conflict sees.
///
/// `expected` holds, by remote id, the `content_hash` the caller read for each
/// row it read as stored; a row whose stored hash is another by now (or that
/// exists at all, when the caller read none) was changed by a concurrent writer
/// since, and is not written (but stays locked until the transaction ends, so
/// the caller can read it again and write against what it holds).
/// The rows keep the derived ids it added (see [`derived_id_columns`]).
pub async fn upsert_rows(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    table: &str,
    rows: &mut [EntityRow<'_>],
    expected: &HashMap<&str, &str>,
) -> Result<HashMap<String, WrittenRow>, sqlx::Error> {
    for row in rows.iter_mut() {
        add_derived_ids(table, &mut row.columns);
    }
    let Some(first) = rows.first() else {
        return Ok(HashMap::new());
    };
    let first = &first.columns;
    // The person of the row's email (created beforehand by the writer for
    // candidates; a background check only ever joins an existing one).
    let link = person_link(table).filter(|l| first.contains_key(l.email_column));
    let mut insert_cols: Vec<String> = first
        .keys()
        .map(String::as_str)
        .chain(["remote_data"])
        .filter(|c| columns.has(table, c) && !DATABASE_OWNED.contains(c))
        .filter(|c| !(link.is_some() && *c == "person_id"))
        .map(str::to_string)
        .collect();
    let names: Vec<&str> = insert_cols.iter().map(String::as_str).collect();
    let typed = TypedColumns::new(columns, table, &names, rows, |row, name| {
        if name == "remote_data" {
            Some(row.remote_data)
        } else {
            row.columns.get(name)
        }
    });
    let mut select_exprs: Vec<String> = insert_cols
        .iter()
        .map(|c| match REFERENCES.iter().find(|r| r.table == table && r.id_column == c) {
            // A row stored under the remote id wins over the derived id: rows
            // written before ids were derived keep their random ones. Only a
            // target that still holds such rows is looked up (the uncorrelated
            // `exists` runs once per statement, and `case` skips the probe).
            Some(r) => format!(
                "case when exists (select from hiring.random_id_tables where table_name = '{target}')
                      then coalesce((select d.id from hiring.{target} d where d.connector_id = r.connector_id and d.remote_id = r.{remote}), r.{c})
                      else r.{c} end",
                target = r.target,
                remote = r.remote_column
            ),
            None => format!("r.{c}"),
        })
        .collect();
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
        .filter(|c| !IDENTITY.contains(&c.as_str()))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "insert into hiring.{table} ({insert_list})
         select {select_list} from {rows}
         on conflict (connector_id, remote_id) do update
            set {updates}, updated_at = now(), deleted_at = null
          where ($1::jsonb ->> excluded.remote_id) is not distinct from hiring.{table}.content_hash
            and (excluded.remote_updated_at is null
             or hiring.{table}.remote_updated_at is null
             or excluded.remote_updated_at >= hiring.{table}.remote_updated_at)
         returning id, remote_id, (xmax = 0) as inserted, {returning_person}",
        insert_list = insert_cols.join(", "),
        select_list = select_exprs.join(", "),
        rows = typed.rows_sql(2),
        updates = updates.join(", ")
    );
    // Two writers creating the same record at once derive the same id. When the
    // later one checked the conflict key before the earlier one's entry was in
    // it, its insert meets the earlier row in the primary key instead, which ON
    // CONFLICT does not arbitrate: a unique violation once the earlier commits.
    // Run again, the statement finds the row in the conflict key (and, as the
    // caller read none, leaves it to the caller); a savepoint keeps the caller's
    // transaction alive for that one retry.
    async fn run(
        conn: &mut PgConnection,
        sql: &str,
        typed: &TypedColumns<'_>,
        expected: &HashMap<&str, &str>,
    ) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
        typed
            .bind(sqlx::query(sql).bind(sqlx::types::Json(expected)))
            .fetch_all(conn)
            .await
    }
    sqlx::query("savepoint upsert_rows")
        .execute(&mut *conn)
        .await?;
    let result = match run(&mut *conn, &sql, &typed, expected).await {
        Err(e) if is_id_conflict(&e, table) => {
            sqlx::query("rollback to savepoint upsert_rows")
                .execute(&mut *conn)
                .await?;
            run(&mut *conn, &sql, &typed, expected).await?
        }
        other => other?,
    };
    sqlx::query("release savepoint upsert_rows")
        .execute(&mut *conn)
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

/// A unique violation of `table`'s primary key (its `id`).
fn is_id_conflict(error: &sqlx::Error, table: &str) -> bool {
    error.as_database_error().is_some_and(|e| {
        e.code().as_deref() == Some("23505") && e.constraint() == Some(&format!("{table}_pkey"))
    })
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

/// Inserts rows (JSON objects keyed by column name) into an append-only table
/// in one statement; columns the table does not have are ignored. The columns
/// are the first row's keys.
pub async fn insert_rows(
    conn: &mut PgConnection,
    columns: &SchemaColumns,
    table: &str,
    rows: &[Value],
) -> Result<u64, sqlx::Error> {
    let Some(Value::Object(first)) = rows.first() else {
        return Ok(0);
    };
    let names: Vec<&str> = first
        .keys()
        .map(String::as_str)
        .filter(|c| columns.has(table, c))
        .collect();
    let typed = TypedColumns::new(columns, table, &names, rows, |row, name| row.get(name));
    let col_list = names.join(", ");
    let sql = format!(
        "insert into hiring.{table} ({col_list}) select {col_list} from {rows}",
        rows = typed.rows_sql(1)
    );
    let done = typed.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
    Ok(done.rows_affected())
}

/// A reference kept as a remote id and as our id of the row it names (derived
/// from the remote id when that row has not arrived yet).
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
        "{SEEN} select count(*) from hiring.{table} t
          where t.connector_id = $1 and t.deleted_at is null and t.updated_at < $3
            and not exists (select 1 from seen where seen.remote_id = t.remote_id)"
    );
    let query = sqlx::query_scalar(&sql)
        .persistent(false)
        .bind(connector_id)
        .bind(pass_id)
        .bind(started);
    planner_paths(&mut *conn, &["enable_nestloop"], "off").await?;
    let missing = query.fetch_one(&mut *conn).await?;
    planner_paths(&mut *conn, &["enable_nestloop"], "on").await?;
    Ok(missing)
}

/// The ids pass `$2` saw, for the sweep's anti-join. Planned without nested
/// loops (see [`planner_paths`]): the statistics know the batches, not how many
/// ids each holds, and a nested loop over a million seen ids would compare each
/// held row with every one.
const SEEN: &str = "with seen as materialized (
    select unnest(s.remote_ids) as remote_id from hiring.pass_seen s where s.pass_id = $2)";

/// Soft-deletes the rows [`count_live_missing`] counts.
pub async fn soft_delete_missing(
    conn: &mut PgConnection,
    table: &str,
    connector_id: &str,
    pass_id: Uuid,
    started: DateTime<Utc>,
) -> Result<Vec<DeletedRow>, sqlx::Error> {
    let sql = format!(
        "{SEEN} update hiring.{table} t set deleted_at = now(), updated_at = now()
          where t.connector_id = $1 and t.deleted_at is null and t.updated_at < $3
            and not exists (select 1 from seen where seen.remote_id = t.remote_id)
          returning id, remote_id, to_jsonb(t) as row"
    );
    let query = sqlx::query(&sql).persistent(false);
    planner_paths(&mut *conn, &["enable_nestloop"], "off").await?;
    let query = query.bind(connector_id).bind(pass_id).bind(started);
    let deleted = deleted_rows(query, &mut *conn).await?;
    planner_paths(&mut *conn, &["enable_nestloop"], "on").await?;
    Ok(deleted)
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
/// instead, for merges: at the survivor's row when it is stored, else at the id
/// it will have when it arrives. References are found by id (`removed_id`, the
/// removed row's, stored or derived), which every reference carries since it is
/// set when written.
pub async fn repoint_references(
    conn: &mut PgConnection,
    target: &str,
    connector_id: &str,
    (removed, removed_id): (&str, Option<Uuid>),
    (survivor, survivor_id): (&str, Option<Uuid>),
) -> Result<(), sqlx::Error> {
    let removed_id = removed_id.unwrap_or_else(|| entity_id(connector_id, target, removed));
    let survivor_id = survivor_id.unwrap_or_else(|| entity_id(connector_id, target, survivor));
    for r in REFERENCES.iter().filter(|r| r.target == target) {
        let sql = format!(
            "update hiring.{t} set {remote_col} = $3, {id_col} = $4, updated_at = now()
              where {id_col} = $2 and connector_id = $1",
            t = r.table,
            remote_col = r.remote_column,
            id_col = r.id_column,
        );
        sqlx::query(&sql)
            .bind(connector_id)
            .bind(removed_id)
            .bind(survivor)
            .bind(survivor_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
