//! Downstream delivery against a real receiver that verifies every signature on
//! its own (hmac, sha2 and base64 over the raw request), with a real daemon and
//! PostgreSQL: retries with the same `webhook-id`, order per entity, 410, 429 and
//! Retry-After, jsonl files.

mod support;

use support::daemon::{spawn_daemon_on, DaemonConfig, TestDaemon};
use support::process::ProcessConfig;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use hirebridge_kit::sim::{KitSender, Sent};
use serde_json::{json, Value};
use std::future::IntoFuture;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=";

#[derive(Default)]
struct Receiver {
    /// Answer this status to the first `fail_first` requests.
    fail_first: usize,
    fail_status: u16,
    retry_after: Option<&'static str>,
    seen: usize,
    /// (webhook-id, event body, arrival) of accepted and verified deliveries.
    accepted: Vec<(String, Value, Instant)>,
    /// Every attempt's webhook-id.
    attempts: Vec<(String, Instant)>,
    bad_signatures: usize,
    /// Hold the first `stall_first` requests longer than the sink's timeout.
    stall_first: usize,
}

fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    support::receiver::verify_standard_webhooks(
        &support::receiver::secret_key(secret),
        headers,
        body,
    )
}

async fn receive(
    State(r): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let stall = {
        let mut r = r.lock().unwrap();
        r.stall_first > 0 && {
            r.stall_first -= 1;
            r.attempts.push(("stalled".into(), Instant::now()));
            true
        }
    };
    if stall {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let mut r = r.lock().unwrap();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    r.attempts.push((id.clone(), Instant::now()));
    r.seen += 1;
    if r.seen <= r.fail_first {
        let mut h = HeaderMap::new();
        if let Some(ra) = r.retry_after {
            h.insert("retry-after", ra.parse().unwrap());
        }
        return (StatusCode::from_u16(r.fail_status).unwrap(), h, "no");
    }
    if !(verify(SECRET_A, &headers, &body) && verify(SECRET_B, &headers, &body)) {
        r.bad_signatures += 1;
        return (StatusCode::BAD_REQUEST, HeaderMap::new(), "bad signature");
    }
    let value: Value = serde_json::from_slice(&body).unwrap();
    r.accepted.push((id, value, Instant::now()));
    (StatusCode::OK, HeaderMap::new(), "ok")
}

struct Rig {
    receiver: Arc<Mutex<Receiver>>,
    kit: KitSender,
    pool: sqlx::PgPool,
    jsonl: std::path::PathBuf,
    daemon: TestDaemon,
    _dir: tempfile::TempDir,
}

/// Starts a daemon (the test kit's) on `db` with the receiver and jsonl sinks,
/// and a Kit sender aimed at it.
async fn daemon(
    db: &support::TestDb,
    receiver: std::net::SocketAddr,
    jsonl: &Path,
) -> (KitSender, TestDaemon) {
    let config = DaemonConfig {
        server: [("shutdown_grace".to_string(), json!("1s"))]
            .into_iter()
            .collect(),
        ..DaemonConfig::default()
    }
    .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"]}))
    .sink(json!({
        "id": "receiver", "kind": "webhook", "url": format!("http://{receiver}/hooks"),
        "secrets": [SECRET_A, SECRET_B], "events": ["application.*"], "timeout": "2s",
        "retry_schedule": ["100ms", "100ms", "100ms", "100ms", "100ms"],
    }))
    .sink(json!({
        "id": "lake", "kind": "jsonl", "path": jsonl.display().to_string(),
        "events": ["application.*"],
    }));
    let daemon = spawn_daemon_on(config, db.clone()).await;
    let kit = KitSender::new(daemon.url("kit"), "kit-secret");
    (kit, daemon)
}

async fn serve_receiver(receiver: Arc<Mutex<Receiver>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(receiver);
    tokio::spawn(axum::serve(listener, app).into_future());
    addr
}

async fn rig(receiver: Receiver) -> Rig {
    let db = support::TestDb::migrated().await;
    let receiver = Arc::new(Mutex::new(receiver));
    let addr = serve_receiver(receiver.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("events.jsonl");
    let (kit, daemon) = daemon(&db, addr, &jsonl).await;
    Rig {
        receiver,
        kit,
        pool: db.pool.clone(),
        jsonl,
        daemon,
        _dir: dir,
    }
}

impl Rig {
    async fn send_stage(&self, application: i64, stage: &str) {
        let data = json!({"id": application, "candidate": {"id": 1, "name": "Lin Chen", "email": "lin@example.com"},
            "current_stage": stage, "rejected": false, "withdrawn": false, "offered": false});
        assert_eq!(
            self.kit.send("application.advanced", data).await.unwrap(),
            Sent::Status(200)
        );
        // Distinct provider times, so every change is newer than the last.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }

    async fn wait_accepted(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.receiver.lock().unwrap().accepted.len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} delivered",
                self.receiver.lock().unwrap().accepted.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) {
        self.daemon.stop().await;
    }
}

#[tokio::test]
async fn events_arrive_signed_once_per_secret_in_entity_order_despite_failures() {
    let r = rig(Receiver {
        fail_first: 3,
        fail_status: 500,
        ..Default::default()
    })
    .await;
    r.send_stage(1, "Applied").await;
    r.send_stage(1, "Phone Screen").await;
    r.send_stage(1, "Onsite").await;
    r.wait_accepted(3, Duration::from_secs(30)).await;
    {
        let rec = r.receiver.lock().unwrap();
        assert_eq!(rec.bad_signatures, 0);
        let types: Vec<&str> = rec
            .accepted
            .iter()
            .map(|(_, v, _)| v["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "application.created",
                "application.stage_changed",
                "application.stage_changed"
            ]
        );
        let stages: Vec<&str> = rec
            .accepted
            .iter()
            .map(|(_, v, _)| v["data"]["stage_name"].as_str().unwrap())
            .collect();
        assert_eq!(
            stages,
            ["Applied", "Phone Screen", "Onsite"],
            "order per entity"
        );
        // The failed attempts were redeliveries of the first event with the same webhook-id.
        let first_id = &rec.accepted[0].0;
        assert!(
            rec.attempts.iter().take(4).all(|(id, _)| id == first_id),
            "{:?}",
            rec.attempts
        );
        assert_eq!(
            rec.accepted[0].1["id"].as_str(),
            Some(first_id.as_str()),
            "webhook-id is the event id"
        );
    }

    // Every event also lands in the jsonl file, once.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = std::fs::read_to_string(&r.jsonl).unwrap_or_default();
        if lines.lines().count() >= 3 {
            assert_eq!(lines.lines().count(), 3);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jsonl sink wrote {} lines",
            lines.lines().count()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    r.stop().await;
}

#[tokio::test]
async fn retry_after_is_honoured_and_410_disables_the_sink() {
    let r = rig(Receiver {
        fail_first: 1,
        fail_status: 429,
        retry_after: Some("2"),
        ..Default::default()
    })
    .await;
    r.send_stage(7, "Applied").await;
    r.wait_accepted(1, Duration::from_secs(20)).await;
    {
        let rec = r.receiver.lock().unwrap();
        let gap = rec.attempts[1].1 - rec.attempts[0].1;
        assert!(
            gap >= Duration::from_millis(1900),
            "retried after {gap:?} despite Retry-After: 2"
        );
    }
    // Now the receiver is gone for good.
    {
        let mut rec = r.receiver.lock().unwrap();
        rec.fail_first = usize::MAX;
        rec.fail_status = 410;
        rec.retry_after = None;
    }
    r.send_stage(8, "Applied").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let disabled: Option<String> = sqlx::query_scalar(
            "select disabled_reason from hiring.sink_state where sink_id = 'receiver'",
        )
        .fetch_one(&r.pool)
        .await
        .unwrap();
        if disabled.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "410 did not disable the sink");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held: Vec<(i32, Option<i32>)> = sqlx::query_as(
        "select attempts, last_status from hiring.delivery_holds
          where sink_id = 'receiver' and status <> 'dead'",
    )
    .fetch_all(&r.pool)
    .await
    .unwrap();
    // The undelivered event is kept, not dropped; its 410 attempt counts and says why.
    assert_eq!(held, [(1, Some(410))]);

    // While disabled, new events wait in the log: the backlog is the true one.
    for id in 9..12 {
        r.send_stage(id, "Applied").await;
    }
    let pool = r.pool.clone();
    support::daemon::wait_until(
        "the backlog counts every waiting event",
        Duration::from_secs(20),
        || {
            let pool = pool.clone();
            async move {
                let status = hirebridge::store::deliveries::sink_status(&pool)
                    .await
                    .unwrap();
                let sink = status
                    .iter()
                    .find(|s| s["sink"] == "receiver")
                    .unwrap()
                    .clone();
                sink["held"] == 1
                    && sink["lag_events"].as_i64().unwrap() >= 3
                    && sink["pending"].as_i64().unwrap() >= 4
            }
        },
    )
    .await;

    // The receiver is back; the operator re-enables the sink; delivery resumes
    // at once (it used to wait up to 30 s).
    r.receiver.lock().unwrap().fail_first = 0;
    let accepted_before = r.receiver.lock().unwrap().accepted.len();
    hirebridge::store::deliveries::enable_sink(&r.pool, "receiver")
        .await
        .unwrap();
    r.wait_accepted(accepted_before + 4, Duration::from_secs(10))
        .await;
    r.stop().await;
}

fn application(id: i64, stage: &str) -> Value {
    json!({"id": id, "candidate": {"id": 1, "name": "Lin Chen", "email": "lin@example.com"},
        "current_stage": stage, "rejected": false, "withdrawn": false, "offered": false})
}

#[tokio::test]
async fn two_daemons_on_one_database_deliver_each_event_once() {
    let db = support::TestDb::migrated().await;
    let receiver = Arc::new(Mutex::new(Receiver::default()));
    let addr = serve_receiver(receiver.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let a = daemon(&db, addr, &dir.path().join("a.jsonl")).await;
    let b = daemon(&db, addr, &dir.path().join("b.jsonl")).await;
    for i in 0..20 {
        let sender = if i % 2 == 0 { &a.0 } else { &b.0 };
        assert_eq!(
            sender
                .send("application.submitted", application(100 + i, "Applied"))
                .await
                .unwrap(),
            Sent::Status(200)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.lock().unwrap().accepted.len() < 20 {
        assert!(Instant::now() < deadline, "not all delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let rec = receiver.lock().unwrap();
        let mut ids: Vec<&String> = rec.accepted.iter().map(|(id, _, _)| id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 20);
        assert_eq!(rec.accepted.len(), 20, "each event delivered once");
    }
    for (_, daemon) in [a, b] {
        daemon.stop().await;
    }
}

/// The receiver holds the first request open, so the daemon is stopped in the
/// middle of a delivery.
async fn slow_then_ok(
    State(r): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let first = {
        let mut r = r.lock().unwrap();
        r.seen += 1;
        r.seen == 1
    };
    if first {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let mut r = r.lock().unwrap();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !(verify(SECRET_A, &headers, &body) && verify(SECRET_B, &headers, &body)) {
        r.bad_signatures += 1;
        return StatusCode::BAD_REQUEST;
    }
    r.accepted
        .push((id, serde_json::from_slice(&body).unwrap(), Instant::now()));
    StatusCode::OK
}

#[tokio::test]
async fn a_daemon_killed_mid_delivery_loses_nothing_after_restart() {
    let db = support::TestDb::migrated().await;
    let receiver = Arc::new(Mutex::new(Receiver::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(slow_then_ok))
        .with_state(receiver.clone());
    tokio::spawn(axum::serve(listener, app).into_future());
    let config = ProcessConfig::write(
        DaemonConfig::default()
            .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"]}))
            .sink(json!({
                "id": "receiver", "kind": "webhook", "url": format!("http://{addr}/hooks"),
                "secrets": [SECRET_A, SECRET_B], "timeout": "60s",
                "events": ["application.*"],
            })),
        &db.url,
    );
    let kit = KitSender::new(
        format!("http://{}/webhooks/kit", config.webhooks),
        "kit-secret",
    );

    let first = config.spawn().await;
    assert_eq!(
        kit.send("application.submitted", application(500, "Applied"))
            .await
            .unwrap(),
        Sent::Status(200)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.lock().unwrap().seen == 0 {
        assert!(Instant::now() < deadline, "first delivery never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL while the receiver still holds the request open.
    first.kill9();
    // Nothing was recorded: the batch in flight is not behind the cursor yet.
    let held: i64 = sqlx::query_scalar("select count(*) from hiring.delivery_holds")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(held, 0);
    // No help with the lease: the killed daemon stopped heartbeating, so the
    // next one takes the delivery over within seconds (its 60 s timeout and
    // the lease's backstop are far longer).
    let second = config.spawn().await;
    let restarted = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.lock().unwrap().accepted.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the interrupted delivery was never retried"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    {
        let rec = receiver.lock().unwrap();
        assert_eq!(rec.bad_signatures, 0);
        assert_eq!(rec.accepted[0].1["type"], "application.created");
    }
    eprintln!(
        "the interrupted delivery was retried {:.1} s after the restart",
        restarted.elapsed().as_secs_f64()
    );
    assert!(second.terminate());
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried_and_a_dead_letter_can_be_replayed() {
    let r = rig(Receiver {
        stall_first: 1,
        ..Default::default()
    })
    .await;
    r.send_stage(40, "Applied").await;
    r.wait_accepted(1, Duration::from_secs(20)).await;
    {
        let rec = r.receiver.lock().unwrap();
        assert_eq!(rec.attempts[0].0, "stalled");
        assert!(
            rec.attempts.len() >= 2,
            "the timed-out attempt was retried: {:?}",
            rec.attempts
        );
    }

    // A receiver that keeps failing: the delivery runs out of retries and is dead-lettered.
    {
        let mut rec = r.receiver.lock().unwrap();
        rec.fail_first = usize::MAX;
        rec.fail_status = 500;
    }
    r.send_stage(41, "Applied").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let event_id: String = loop {
        let dead: Option<String> = sqlx::query_scalar(
            "select event_id from hiring.delivery_holds where sink_id = 'receiver' and status = 'dead'",
        )
        .fetch_optional(&r.pool)
        .await
        .unwrap();
        if let Some(id) = dead {
            break id;
        }
        assert!(Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let attempts: i32 = sqlx::query_scalar(
        "select attempts from hiring.delivery_holds where event_id = $1 and sink_id = 'receiver'",
    )
    .bind(&event_id)
    .fetch_one(&r.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 6, "one attempt plus the five scheduled retries");

    // The receiver recovers; the operator replays the event with its original id.
    r.receiver.lock().unwrap().fail_first = 0;
    let replayed = hirebridge::store::deliveries::replay(
        &r.pool,
        "receiver",
        "e.id = $2",
        std::slice::from_ref(&event_id),
    )
    .await
    .unwrap();
    assert_eq!(replayed, 1);
    r.wait_accepted(2, Duration::from_secs(20)).await;
    assert_eq!(r.receiver.lock().unwrap().accepted[1].0, event_id);
    r.stop().await;
}

/// A receiver on raw TCP: the first `drop_first` connections are closed after the
/// request is read, without an answer; later requests are verified and answered.
async fn raw_receiver(
    drop_first: usize,
    accepted: Arc<Mutex<Vec<String>>>,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut connections = 0;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            connections += 1;
            let drop_it = connections <= drop_first;
            let accepted = accepted.clone();
            tokio::spawn(async move {
                loop {
                    // Read one request: headers, then Content-Length bytes.
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let header_end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
                    let mut headers = HeaderMap::new();
                    for line in head.lines().skip(1) {
                        if let Some((k, v)) = line.split_once(':') {
                            if let (Ok(k), Ok(v)) = (
                                axum::http::HeaderName::from_bytes(k.trim().as_bytes()),
                                axum::http::HeaderValue::from_str(v.trim()),
                            ) {
                                headers.insert(k, v);
                            }
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < header_end + len {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    if drop_it {
                        return; // close without answering
                    }
                    let body = &buf[header_end..header_end + len];
                    let ok = verify(SECRET_A, &headers, body) && verify(SECRET_B, &headers, body);
                    if ok {
                        let id = headers
                            .get("webhook-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        accepted.lock().unwrap().push(id.to_string());
                    }
                    let answer: &[u8] = if ok {
                        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
                    } else {
                        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
                    };
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_receiver_that_closes_the_connection_gets_every_event_once_it_recovers() {
    let db = support::TestDb::migrated().await;
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let addr = raw_receiver(2, accepted.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let (kit, daemon) = daemon(&db, addr, &dir.path().join("a.jsonl")).await;
    for i in 0..3 {
        assert_eq!(
            kit.send("application.submitted", application(900 + i, "Applied"))
                .await
                .unwrap(),
            Sent::Status(200)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while accepted.lock().unwrap().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "only {} delivered",
            accepted.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut ids = accepted.lock().unwrap().clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    daemon.stop().await;
}

/// Fails every delivery of one entity (application 13), accepts the rest.
async fn one_entity_fails(
    State(r): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut r = r.lock().unwrap();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    r.attempts.push((id.clone(), Instant::now()));
    if value["source"]["remote_id"] == "13" {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.accepted.push((id, value, Instant::now()));
    StatusCode::OK
}

#[tokio::test]
async fn a_failing_event_holds_back_only_its_own_entity() {
    let db = support::TestDb::migrated().await;
    let receiver = Arc::new(Mutex::new(Receiver::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(one_entity_fails))
        .with_state(receiver.clone());
    tokio::spawn(axum::serve(listener, app).into_future());
    let dir = tempfile::tempdir().unwrap();
    let (kit, daemon) = daemon(&db, addr, &dir.path().join("a.jsonl")).await;
    // Entity 13 first (it will keep failing), then two changes of 13 and other entities.
    assert_eq!(
        kit.send("application.submitted", application(13, "Applied"))
            .await
            .unwrap(),
        Sent::Status(200)
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        kit.send("application.advanced", application(13, "Onsite"))
            .await
            .unwrap(),
        Sent::Status(200)
    );
    for i in 20..25 {
        assert_eq!(
            kit.send("application.submitted", application(i, "Applied"))
                .await
                .unwrap(),
            Sent::Status(200)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.lock().unwrap().accepted.len() < 5 {
        assert!(Instant::now() < deadline, "other entities were held back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Entity 13's second event was not attempted until its first one was given up
    // (dead-lettered after the retry schedule): order within the entity held.
    let deadline = Instant::now() + Duration::from_secs(20);
    let ids: Vec<String> = loop {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "select e.id, d.status from hiring.delivery_holds d join hiring.events e on e.id = d.event_id
              where d.sink_id = 'receiver' and e.remote_id = '13' order by e.seq",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        if rows.len() == 2 && rows[0].1 == "dead" && rows[1].1 != "waiting" {
            break rows.into_iter().map(|(id, _)| id).collect();
        }
        assert!(Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    {
        let rec = receiver.lock().unwrap();
        let last_of_first = rec
            .attempts
            .iter()
            .rposition(|(id, _)| *id == ids[0])
            .unwrap();
        let first_of_second = rec
            .attempts
            .iter()
            .position(|(id, _)| *id == ids[1])
            .unwrap();
        assert!(last_of_first < first_of_second, "{:?}", rec.attempts);
        assert_eq!(
            rec.attempts.iter().filter(|(id, _)| *id == ids[0]).count(),
            6
        );
    }
    daemon.stop().await;
}
