//! The unified schema's migrations on a real, empty PostgreSQL database.

mod support;

use hirebridge::store;

const EXPECTED_TABLES: &[&str] = &[
    "persons",
    "candidates",
    "jobs",
    "job_postings",
    "applications",
    "application_stage_changes",
    "interviews",
    "offers",
    "assessments",
    "reviews",
    "background_checks",
    "sync_state",
    "inbox",
    "events",
    "sink_cursors",
    "delivery_holds",
];

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_are_idempotent() {
    let db = support::test_db().await;
    assert!(store::pending_migrations(&db.pool).await.unwrap() > 0);
    store::migrate(&db.pool).await.unwrap();
    assert_eq!(store::pending_migrations(&db.pool).await.unwrap(), 0);
    // A second run (a restart) applies nothing and fails nothing.
    store::migrate(&db.pool).await.unwrap();
    assert_eq!(store::pending_migrations(&db.pool).await.unwrap(), 0);

    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'hiring'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for t in EXPECTED_TABLES {
        assert!(
            tables.iter().any(|x| x == t),
            "missing table hiring.{t}: {tables:?}"
        );
    }
}

#[tokio::test]
async fn schema_enforces_canonical_values_and_uniqueness() {
    let db = support::TestDb::migrated().await;
    let insert_job = |remote_id: &'static str, status: &'static str| {
        sqlx::query(
            "insert into hiring.jobs (connector_id, remote_id, title, status, content_hash)
             values ('ashby-main', $1, 'Engineer', $2, 'h')",
        )
        .bind(remote_id)
        .bind(status)
    };
    insert_job("j1", "open").execute(&db.pool).await.unwrap();

    let err = insert_job("j2", "sort-of-open")
        .execute(&db.pool)
        .await
        .unwrap_err();
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.to_string());
    assert_eq!(
        code.as_deref(),
        Some("23514"),
        "CHECK violation expected: {err}"
    );

    let err = insert_job("j1", "closed")
        .execute(&db.pool)
        .await
        .unwrap_err();
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.to_string());
    assert_eq!(
        code.as_deref(),
        Some("23505"),
        "(connector_id, remote_id) is unique: {err}"
    );

    // The same remote id under another connector is another record.
    sqlx::query(
        "insert into hiring.jobs (connector_id, remote_id, title, status, content_hash)
         values ('ashby-eu', 'j1', 'Engineer', 'open', 'h')",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    // Every stage category the SDK knows is accepted by the schema, and nothing else.
    for category in hirebridge_sdk::StageCategory::ALL {
        sqlx::query(
            "insert into hiring.applications (connector_id, remote_id, status, stage_category, content_hash)
             values ('c', $1, 'active', $2, 'h')",
        )
        .bind(format!("a-{category}"))
        .bind(category.as_str())
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("category {category} rejected: {e}"));
    }
}
