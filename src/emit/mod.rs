//! Downstream delivery: every event in `hiring.events` (the outbox) goes to each
//! configured sink that wants it, at least once, in commit order per entity.
//! Webhook sinks are signed per Standard Webhooks; jsonl sinks append to a file.

pub mod signing;

use crate::config::{decode_sink_secret, SinkConfig, SinkTarget};
use crate::store::deliveries::{self, Claimed};
use rand::Rng;
use sqlx::PgPool;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a claimed delivery stays ours: enough for one attempt to time out,
/// short enough that a crashed daemon's deliveries are retried soon.
fn lease(sink: &SinkConfig) -> Duration {
    sink.timeout() * 2 + Duration::from_secs(5)
}
/// How often an idle sink looks for new events.
const IDLE: Duration = Duration::from_millis(50);
/// How often a disabled sink checks whether it was re-enabled.
const DISABLED_CHECK: Duration = Duration::from_millis(500);
/// Retry-After is honoured within these bounds.
const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `application.*` style globs to SQL LIKE patterns.
fn like_patterns(globs: &[String]) -> Vec<String> {
    if globs.iter().any(|g| g == "*") {
        return Vec::new();
    }
    globs
        .iter()
        .map(|g| {
            g.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
                .replace('*', "%")
        })
        .collect()
}

/// The wait before the next attempt after `attempts` failed ones, with ±20% jitter;
/// `None` when the schedule is used up (the delivery is dead-lettered).
pub fn retry_delay(schedule: &[Duration], attempts: i32) -> Option<Duration> {
    let base = *schedule.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    Some(base.mul_f64(jitter))
}

/// Runs every sink until `stop`.
pub async fn run(pool: PgPool, sinks: Vec<SinkConfig>, owner: String, stop: watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    for sink in sinks {
        tasks.spawn(run_sink(
            pool.clone(),
            Arc::new(sink),
            owner.clone(),
            stop.clone(),
        ));
    }
    while tasks.join_next().await.is_some() {}
}

struct Sender {
    sink: Arc<SinkConfig>,
    client: reqwest::Client,
    secrets: Vec<Vec<u8>>,
}

enum Outcome {
    Delivered(u16),
    /// Retry after the schedule's delay, or the receiver's Retry-After.
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// 410 Gone: the receiver asks us to stop.
    Gone,
}

async fn run_sink(
    pool: PgPool,
    sink: Arc<SinkConfig>,
    owner: String,
    mut stop: watch::Receiver<bool>,
) {
    let sender = Arc::new(Sender {
        client: reqwest::Client::builder()
            .timeout(sink.timeout())
            .connect_timeout(sink.timeout())
            // A 3xx is a failure to report, not a place to send signed events.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default(),
        secrets: match &sink.target {
            SinkTarget::Webhook { secrets, .. } => secrets
                .iter()
                .filter_map(|s| decode_sink_secret(s.expose()))
                .collect(),
            SinkTarget::Jsonl { .. } => Vec::new(),
        },
        sink: sink.clone(),
    });
    let patterns = like_patterns(&sink.events);
    // jsonl sinks write in order, one at a time.
    let in_flight = i64::from(sink.max_in_flight());
    let mut last_gauge = std::time::Instant::now() - Duration::from_secs(60);
    let mut was_disabled = false;
    let mut db_failing = false;
    loop {
        if *stop.borrow() {
            return;
        }
        // Every few seconds: the gauge, and a rescan for late-committed events.
        let recheck = last_gauge.elapsed() >= Duration::from_secs(5);
        if recheck {
            last_gauge = std::time::Instant::now();
            if let Ok(age) = deliveries::oldest_pending_age(&pool, &sink.id).await {
                metrics::gauge!("hirebridge_sink_oldest_undelivered_seconds", "sink" => sink.id.clone()).set(age);
            }
        }
        let mut pause = IDLE;
        match deliveries::disabled(&pool, &sink.id).await {
            Ok(Some(reason)) => {
                if !was_disabled {
                    tracing::error!(sink = %sink.id, %reason, "sink is disabled; events wait for it until an operator re-enables it (hirebridge dlq retry --sink)");
                    was_disabled = true;
                }
                // Events still queue for it, so its backlog is the true one;
                // re-enabling is noticed within DISABLED_CHECK.
                if let Err(e) =
                    deliveries::enqueue(&pool, &sink.id, &patterns, &sink.connectors, recheck).await
                {
                    tracing::warn!(sink = %sink.id, error = %e, "enqueueing events failed");
                }
                pause = DISABLED_CHECK;
            }
            Ok(None) => {
                if std::mem::take(&mut was_disabled) {
                    tracing::info!(sink = %sink.id, "sink re-enabled; delivering what waited");
                }
                match step(&pool, &sender, &patterns, &owner, in_flight, recheck).await {
                    Ok(0) => {}
                    Ok(_) => pause = Duration::ZERO,
                    Err(Slow(wait)) => pause = wait,
                }
            }
            Err(e) => {
                // The database is away: said once, then a quieter, slower loop.
                if !db_failing {
                    tracing::warn!(sink = %sink.id, error = %e, "reading the sink's state failed; retrying every second");
                    db_failing = true;
                }
                pause = Duration::from_secs(1);
            }
        }
        if db_failing && pause < Duration::from_secs(1) {
            tracing::info!(sink = %sink.id, "the sink's state is readable again");
            db_failing = false;
        }
        if pause > Duration::ZERO {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

/// The receiver asked us to slow down for this long.
struct Slow(Duration);

/// Enqueues new events, then sends one round; returns how many were claimed.
async fn step(
    pool: &PgPool,
    sender: &Arc<Sender>,
    patterns: &[String],
    owner: &str,
    in_flight: i64,
    recheck: bool,
) -> Result<usize, Slow> {
    let sink = &sender.sink;
    if let Err(e) = deliveries::enqueue(pool, &sink.id, patterns, &sink.connectors, recheck).await {
        tracing::warn!(sink = %sink.id, error = %e, "enqueueing events failed");
        return Ok(0);
    }
    let claimed = match deliveries::claim(pool, &sink.id, owner, lease(sink), in_flight).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(sink = %sink.id, error = %e, "claiming deliveries failed");
            return Ok(0);
        }
    };
    let n = claimed.len();
    let mut tasks = tokio::task::JoinSet::new();
    for d in claimed {
        let sender = sender.clone();
        tasks.spawn(async move {
            let started = std::time::Instant::now();
            let outcome = sender.send(&d).await;
            metrics::histogram!("hirebridge_delivery_attempt_seconds", "sink" => sender.sink.id.clone())
                .record(started.elapsed().as_secs_f64());
            (d, outcome)
        });
    }
    let mut slow: Option<Duration> = None;
    // Successes are recorded together in one statement; other outcomes one by one.
    let mut delivered: Vec<(i64, i32)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((d, outcome)) = joined else { continue };
        if let Outcome::Delivered(status) = outcome {
            delivered.push((d.id, i32::from(status)));
            continue;
        }
        if let Some(wait) = record(pool, sink, owner, d, outcome).await {
            slow = Some(slow.map_or(wait, |s| s.max(wait)));
        }
    }
    if !delivered.is_empty() {
        metrics::counter!("hirebridge_deliveries_total", "sink" => sink.id.clone(), "outcome" => "delivered")
            .increment(delivered.len() as u64);
        if let Err(e) = deliveries::delivered_many(pool, &delivered, owner).await {
            tracing::warn!(sink = %sink.id, error = %e, "recording deliveries failed; their leases expire and they are sent again");
        }
    }
    match slow {
        Some(wait) => Err(Slow(wait)),
        None => Ok(n),
    }
}

/// Stores an attempt's outcome; returns how long the sink should pause.
async fn record(
    pool: &PgPool,
    sink: &SinkConfig,
    owner: &str,
    d: Claimed,
    outcome: Outcome,
) -> Option<Duration> {
    let label = |o: &'static str| {
        metrics::counter!("hirebridge_deliveries_total", "sink" => sink.id.clone(), "outcome" => o)
            .increment(1);
    };
    let result = match outcome {
        Outcome::Delivered(status) => {
            label("delivered");
            deliveries::delivered(pool, d.id, owner, status)
                .await
                .map(|_| None)
        }
        Outcome::Gone => {
            label("gone");
            tracing::error!(sink = %sink.id, event = %d.event_id, "the receiver answered 410 Gone: the sink is disabled until an operator re-enables it");
            let _ =
                deliveries::disable_sink(pool, &sink.id, "the receiver answered 410 Gone").await;
            deliveries::gone(pool, d.id, owner).await.map(|_| None)
        }
        Outcome::Failed {
            status,
            error,
            retry_after,
        } => {
            let scheduled = retry_delay(&sink.retry_schedule, d.attempts);
            let dead = scheduled.is_none();
            label(if dead { "dead" } else { "failed" });
            let wait = match (scheduled, retry_after) {
                (Some(s), Some(r)) => s.max(r),
                (Some(s), None) => s,
                (None, _) => Duration::ZERO,
            };
            if dead {
                tracing::warn!(sink = %sink.id, event = %d.event_id, attempts = d.attempts, %error, "delivery dead-lettered after its last attempt");
            }
            deliveries::failed(pool, d.id, owner, status, &error, wait, dead)
                .await
                .map(|_| retry_after)
        }
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(sink = %sink.id, error = %e, "recording a delivery failed; its lease will expire and it is retried");
        None
    })
}

impl Sender {
    async fn send(&self, d: &Claimed) -> Outcome {
        let body = match serde_json::to_vec(&d.payload) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Failed {
                    status: None,
                    error: format!("cannot encode the event: {e}"),
                    retry_after: None,
                }
            }
        };
        match &self.sink.target {
            SinkTarget::Jsonl { path, rotate_bytes } => self.append(path, *rotate_bytes, &body),
            SinkTarget::Webhook { url, headers, .. } => {
                self.post(url, headers, &d.event_id, body).await
            }
        }
    }

    async fn post(
        &self,
        url: &url::Url,
        headers: &std::collections::BTreeMap<String, String>,
        event_id: &str,
        body: Vec<u8>,
    ) -> Outcome {
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signing::signature_header(&self.secrets, event_id, timestamp, &body);
        let mut request = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("hirebridge/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else {
                    "request failed"
                };
                return Outcome::Failed {
                    status: None,
                    // Without the URL: it may carry credentials.
                    error: format!("{what}: {}", e.without_url()),
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Outcome::Delivered(status);
        }
        if status == 410 {
            return Outcome::Gone;
        }
        let retry_after = matches!(status, 429 | 502 | 503 | 504).then(|| {
            hirebridge_sdk::http::retry_after(response.headers(), std::time::SystemTime::now())
                .unwrap_or(MIN_RETRY_AFTER)
                .clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
        });
        Outcome::Failed {
            status: Some(status),
            error: format!("HTTP {status}"),
            retry_after,
        }
    }

    /// Appends one envelope line, rotating the file when it reached `rotate_bytes`.
    fn append(&self, path: &std::path::Path, rotate_bytes: u64, body: &[u8]) -> Outcome {
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            if std::fs::metadata(path).is_ok_and(|m| m.len() >= rotate_bytes) {
                let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
                // Never overwrite an earlier rotation (two can share a millisecond).
                let mut n = 0;
                let rotated = loop {
                    let suffix = if n == 0 {
                        String::new()
                    } else {
                        format!("-{n}")
                    };
                    let candidate = path.with_extension(format!("{stamp}{suffix}.jsonl"));
                    if !candidate.exists() {
                        break candidate;
                    }
                    n += 1;
                };
                std::fs::rename(path, rotated)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            let mut line = body.to_vec();
            line.push(b'\n');
            file.write_all(&line)?;
            file.sync_data()
        })();
        match result {
            Ok(()) => Outcome::Delivered(200),
            Err(e) => Outcome::Failed {
                status: None,
                error: format!("writing {}: {e}", path.display()),
                retry_after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_like_patterns() {
        assert!(like_patterns(&["*".into()]).is_empty());
        assert_eq!(
            like_patterns(&["application.*".into()]),
            vec!["application.%"]
        );
        assert_eq!(
            like_patterns(&["job_posting.*".into()]),
            vec!["job\\_posting.%"]
        );
    }

    #[test]
    fn jsonl_files_rotate_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/events.jsonl");
        let sink = SinkConfig {
            id: "lake".into(),
            events: Vec::new(),
            connectors: Vec::new(),
            retry_schedule: crate::config::default_retry_schedule(),
            target: SinkTarget::Jsonl {
                path: path.clone(),
                rotate_bytes: 100,
            },
        };
        let sender = Sender {
            sink: Arc::new(sink),
            client: reqwest::Client::new(),
            secrets: Vec::new(),
        };
        for i in 0..5 {
            let body = format!("{{\"id\":\"evt_{i}\",\"padding\":\"{}\"}}", "x".repeat(40));
            assert!(matches!(
                sender.append(&path, 100, body.as_bytes()),
                Outcome::Delivered(_)
            ));
        }
        let files: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .collect();
        assert!(files.len() >= 2, "rotated: {files:?}");
        let lines: usize = files
            .iter()
            .map(|f| std::fs::read_to_string(f.path()).unwrap().lines().count())
            .sum();
        assert_eq!(lines, 5, "every line kept across rotations");
    }

    #[test]
    fn the_schedule_runs_out_into_a_dead_letter() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(300)];
        let first = retry_delay(&schedule, 1).unwrap();
        assert!(first >= Duration::from_secs(4) && first <= Duration::from_secs(6));
        assert!(retry_delay(&schedule, 2).is_some());
        assert!(retry_delay(&schedule, 3).is_none());
    }
}
