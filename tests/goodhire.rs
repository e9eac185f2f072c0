//! GoodHire through the whole daemon, run as a process with `RUST_LOG=debug`:
//! checks become known by webhook and by `hirebridge import`, a scheduled
//! refresh pass moves them on, a delivery fails on purpose into a dead letter
//! that is retried, events are replayed to a sink; and THE privacy check:
//! no SSN, date of birth, driver's licence number or street address (seed
//! `001_9bab87cc4353b0db.txt`, "Candidate") is found in any table of schema
//! `hiring`, any log line, or the sink's file.

mod support;

use hirebridge_goodhire::sim::{report_json, sensitive_values, GoodhireSim, SimConfig, SimReport};
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::daemon::{wait_until, DaemonConfig};
use support::process::ProcessConfig;

const BIN: &str = env!("CARGO_BIN_EXE_hirebridge");
const KEY: &str = "goodhire-privacy-key";

/// Runs a hirebridge command to completion; returns its stdout and stderr.
fn run(args: &[&str], config: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "debug")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "hirebridge {args:?} failed:\n{text}");
    text
}

async fn scalar(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

// Multi-threaded: the simulator serves on this runtime while the test blocks
// on hirebridge commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_candidate_data_is_never_stored_or_logged() {
    let sim = GoodhireSim::new(SimConfig {
        api_key: KEY.into(),
        reports: 6,
        retry_hour: Duration::from_millis(2),
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let db = support::TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("events.jsonl");
    let config = DaemonConfig::default()
        .connector(json!({
            "id": "goodhire",
            "provider": "goodhire",
            "base_url": server.base_url(),
            "credentials": {"api_key": KEY},
            // A refresh pass every second.
            "schedule": "* * * * * *",
        }))
        .sink(json!({"id": "lake", "kind": "jsonl", "path": jsonl.display().to_string()}));
    let process = ProcessConfig::write(config, &db.url);
    let log_path = dir.path().join("daemon.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&process.path)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the daemon starts");
    let ready = format!("http://{}/readyz", process.admin);
    wait_until("the daemon is ready", Duration::from_secs(60), || async {
        reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().as_u16() == 200)
    })
    .await;
    let pool = db.pool.clone();
    let ids = sim.report_ids();

    // 1. A webhook: report 0 moves on and GoodHire tells us, signed.
    sim.send_webhooks_to(&format!("http://{}/webhooks/goodhire", process.webhooks));
    let report = sim.advance(0).unwrap();
    sim.notify(&report).await.unwrap();

    // 2. A delivery that cannot be mapped (its report has no `Id`): a dead letter.
    let mut broken = report_json(&SimReport {
        id: "broken".into(),
        person: 5,
        last_name: "Alert".into(),
        step: 1,
        ending: "Completed",
    });
    broken.as_object_mut().unwrap().remove("Id");
    let body = GoodhireSim::webhook_body("dead-letter-1", &broken);
    let sig = hirebridge_sdk::signature::hmac_sha256(KEY.as_bytes(), &[&body]);
    let status = reqwest::Client::new()
        .post(format!("http://{}/webhooks/goodhire", process.webhooks))
        .header("content-type", "application/json")
        .header("X-Goodhire-Signature", hirebridge_sdk::hex_lower(&sig))
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200, "a verified delivery is acknowledged");
    wait_until("the dead letter", Duration::from_secs(30), || async {
        scalar(
            &pool,
            "select count(*) from hiring.inbox where status = 'dead'",
        )
        .await
            > 0
    })
    .await;

    // 3. `hirebridge import`: two reports and a subscription become known.
    let subs = sim.subscription_ids();
    let ids_file = dir.path().join("ids.txt");
    std::fs::write(
        &ids_file,
        format!(
            "{}\n{}  # a second\nsubscription:{}\n",
            ids[1], ids[2], subs[0]
        ),
    )
    .unwrap();
    sim.run_subscription(0);
    let mut logs = run(
        &[
            "import",
            "--connector",
            "goodhire",
            "--ids",
            ids_file.to_str().unwrap(),
        ],
        &process.path,
    );
    assert_eq!(
        scalar(&pool, "select count(*) from hiring.background_checks").await,
        4,
        "the webhook's report, two imported reports and a subscription"
    );

    // 4. A scheduled refresh pass: report 1 completes at GoodHire without a
    //    webhook, and the daemon finds out by itself.
    for _ in 0..5 {
        sim.advance(1);
    }
    let sql = format!(
        "select count(*) from hiring.background_checks where remote_id = '{}' and status in ('clear', 'alert')",
        ids[1]
    );
    wait_until("the refresh pass", Duration::from_secs(30), || async {
        scalar(&pool, &sql).await == 1
    })
    .await;
    // The subscriptions stream refreshes the subscription: a new run appears.
    sim.run_subscription(0);
    let sql = format!(
        "select count(*) from hiring.background_checks where remote_id = 'subscription:{}' and jsonb_array_length(results) = 2",
        subs[0]
    );
    wait_until(
        "the subscription's refresh",
        Duration::from_secs(30),
        || async { scalar(&pool, &sql).await == 1 },
    )
    .await;
    assert!(
        scalar(
            &pool,
            "select count(*) from hiring.events where type = 'background_check.completed'"
        )
        .await
            >= 1
    );
    // The check carries the candidate's email, which links it to the person
    // an ATS application made (the writer links by it).
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from hiring.background_checks where candidate_email_normalized is null"
        )
        .await,
        0
    );

    // 5. The dead letter is retried (and fails again), events are replayed.
    logs.push_str(&run(&["dlq", "retry", "--all"], &process.path));
    logs.push_str(&run(
        &[
            "replay",
            "--sink",
            "lake",
            "--since",
            "2000-01-01T00:00:00Z",
        ],
        &process.path,
    ));
    wait_until(
        "the retried dead letter",
        Duration::from_secs(30),
        || async {
            scalar(
                &pool,
                "select count(*) from hiring.inbox where status = 'dead'",
            )
            .await
                > 0
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    server.shutdown().await;

    // Every table of schema `hiring`, every row as text.
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'hiring' and table_type = 'BASE TABLE'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let mut stored = String::new();
    for table in &tables {
        let text: String = sqlx::query_scalar(&format!(
            "select coalesce(string_agg(t::text, E'\\n'), '') from hiring.\"{table}\" t"
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        stored.push_str(&text);
    }
    logs.push_str(&std::fs::read_to_string(&log_path).unwrap());
    let sink = std::fs::read_to_string(&jsonl).unwrap_or_default();
    assert!(logs.contains("DEBUG"), "the daemon logged at debug");
    assert!(stored.contains("Candidate"), "remote data is stored");
    let mut searched = 0;
    for n in 0..7 {
        for value in sensitive_values(n) {
            for (place, text) in [
                ("the database", &stored),
                ("the logs", &logs),
                ("the sink", &sink),
            ] {
                assert!(
                    !text.contains(&value),
                    "{value:?} (person {n}) found in {place}"
                );
            }
            searched += 1;
        }
    }
    assert!(searched >= 20);
}

/// The check for a candidate who applied through an ATS lands on the same
/// person, by the candidate's email (the SDK's shared fake people).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goodhire_check_lands_on_the_person_of_the_ats_application() {
    use hirebridge::engine::poller::{self, PassOptions};
    use hirebridge::engine::Engine;
    use hirebridge_sdk::simulate::SimSpec;
    use hirebridge_sdk::Plugin;
    let goodfit = hirebridge_goodfit::PLUGIN
        .simulator()
        .unwrap()
        .start(SimSpec {
            listen: ([127, 0, 0, 1], 0).into(),
            seed: 3,
            records: 60,
            api_key: "goodfit-key".into(),
        })
        .await
        .unwrap();
    let sim = GoodhireSim::new(SimConfig {
        api_key: KEY.into(),
        reports: 3,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let config = DaemonConfig::default()
        .connector(json!({
            "id": "goodfit", "provider": "goodfit", "schedule": "0 0 1 1 *",
            "base_url": goodfit.base_url(), "credentials": {"api_key": "goodfit-key"},
        }))
        .connector(json!({
            "id": "goodhire", "provider": "goodhire", "schedule": "0 0 1 1 *",
            "base_url": server.base_url(), "credentials": {"api_key": KEY},
        }));
    let d = support::daemon::spawn_daemon(config).await;
    let (handles, errors) = hirebridge::connectors::build_all(&d.config.connectors);
    assert!(errors.is_empty(), "{errors:?}");
    let engine = Engine::new(d.pool.clone(), handles.clone()).await.unwrap();
    for handle in handles.iter().filter(|h| h.id == "goodfit") {
        for stream in handle.enabled_streams() {
            poller::run_pass(&engine, handle, &stream, &PassOptions::default()).await;
        }
    }
    // Report 0 is for shared person 0, who applied through Goodfit.
    sim.send_webhooks_to(&d.url("goodhire"));
    let report = sim.advance(0).unwrap();
    sim.notify(&report).await.unwrap();
    d.drained().await;
    let linked = d
        .count(
            "select count(*) from hiring.background_checks b join hiring.candidates c
               on c.person_id = b.person_id
             where b.connector_id = 'goodhire' and c.connector_id = 'goodfit'",
        )
        .await;
    assert_eq!(linked, 1, "the check and the application are one person");
    d.stop().await;
    goodfit.shutdown().await;
    server.shutdown().await;
}
