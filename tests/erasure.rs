//! Erasure: after `POST /api/erase` (what `hirebridge erase --person` does),
//! nothing findable remains by the person's email, name or phone in any table
//! of the schema, stored webhook bodies and dead letters included; another
//! person's data stays; the sinks receive a `person.erased` tombstone.

mod support;

use hirebridge_kit::sim::{KitSender, Sent};
use serde_json::json;
use std::time::Duration;
use support::daemon::{spawn_daemon, wait_until, DaemonConfig};

const EMAIL: &str = "Zelda.Quintessa@example.org";
const NAME: &str = "Zelda Quintessa";
const PHONE: &str = "+44 20 7946 0958";

#[tokio::test]
async fn an_erased_person_is_findable_nowhere_and_sinks_hear_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("events.jsonl");
    let d = spawn_daemon(
        DaemonConfig::default()
            .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"]}))
            .sink(json!({"id": "lake", "kind": "jsonl", "path": jsonl.display().to_string()})),
    )
    .await;
    let kit = KitSender::new(d.url("kit"), "kit-secret");
    let application = |id: i64, candidate: i64, name: &str, email: &str| {
        json!({"id": id, "candidate": {"id": candidate, "name": name, "email": email, "phone": PHONE},
            "current_stage": "Applied", "rejected": false, "withdrawn": false, "offered": false})
    };
    for (id, stage) in [(1, "application.submitted"), (1, "application.advanced")] {
        assert_eq!(
            kit.send(stage, application(id, 10, NAME, EMAIL))
                .await
                .unwrap(),
            Sent::Status(200)
        );
    }
    // Someone else, who must be left alone.
    assert_eq!(
        kit.send(
            "application.submitted",
            json!({"id": 2, "candidate": {"id": 20, "name": "Other Person", "email": "other@example.org"},
                "current_stage": "Applied"})
        )
        .await
        .unwrap(),
        Sent::Status(200)
    );
    // A delivery that cannot be normalised, mentioning them: a dead letter.
    assert_eq!(
        kit.send("application.teleported", application(3, 10, NAME, EMAIL))
            .await
            .unwrap(),
        Sent::Status(200)
    );
    d.drained().await;
    assert!(
        d.count("select count(*) from hiring.inbox where status = 'dead'")
            .await
            >= 1
    );

    // A background check of theirs (as a GoodHire report would be stored).
    sqlx::query(
        "insert into hiring.background_checks
            (connector_id, remote_id, content_hash, candidate_email, candidate_email_normalized,
             status, alert_sections, viewer_url, required_actions, remote_data)
         values ('checks', 'r1', 'h', $1, lower($1), 'alert', array['Court records: ' || $2],
                 'https://viewer.example/' || $2, jsonb_build_array(jsonb_build_object('Description', $2)),
                 jsonb_build_object('Candidate', $2))",
    )
    .bind(EMAIL)
    .bind(NAME)
    .execute(&d.pool)
    .await
    .unwrap();

    let erased: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{}/api/erase", d.admin))
        .json(&json!({"email": EMAIL}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(erased["event_id"].is_string(), "{erased}");

    // Every table of the schema, every row as text; the inbox's bodies as text.
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'hiring'",
    )
    .fetch_all(&d.pool)
    .await
    .unwrap();
    let needles = [EMAIL.to_lowercase(), NAME.to_lowercase(), PHONE.to_string()];
    let patterns: Vec<String> = needles.iter().map(|n| format!("%{n}%")).collect();
    for table in &tables {
        let found: i64 = sqlx::query_scalar(&format!(
            "select count(*) from hiring.{table} t where lower(t::text) like any($1)"
        ))
        .bind(&patterns)
        .fetch_one(&d.pool)
        .await
        .unwrap();
        assert_eq!(found, 0, "hiring.{table} still holds the person");
    }
    let bodies: i64 = sqlx::query_scalar(
        "select count(*) from hiring.inbox where lower(encode(body, 'escape')) like any($1)",
    )
    .bind(&patterns)
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!(bodies, 0, "a stored webhook body still holds the person");
    // The other person is untouched.
    assert_eq!(
        d.count(
            "select count(*) from hiring.candidates where email_normalized = 'other@example.org'"
        )
        .await,
        1
    );
    // The sinks hear of it, without personal data.
    wait_until(
        "the tombstone reaches the sink",
        Duration::from_secs(20),
        || async { std::fs::read_to_string(&jsonl).is_ok_and(|t| t.contains("person.erased")) },
    )
    .await;
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    let tombstone = lines.lines().find(|l| l.contains("person.erased")).unwrap();
    for needle in &needles {
        assert!(!tombstone.to_lowercase().contains(needle), "{tombstone}");
    }
    d.stop().await;
}
