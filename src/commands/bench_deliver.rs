//! `hirebridge bench deliver`: events to a local receiver that verifies every
//! signature, on a real daemon and PostgreSQL. Per history size (the log first
//! filled with N events by SQL, behind a fresh sink's start), three phases:
//! end-to-end latency at a paced rate (provider webhook → record → signed
//! event → verified), a webhook burst, and a log burst (events written straight
//! into the log: delivery alone), with delivery bookkeeping rows per event.

use super::bench::{bench_pool, peak_rss_mib, percentile, run_base, webhook_provider, BenchDaemon};
use super::print_table;
use anyhow::Context;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BenchDeliverArgs {
    /// The provider whose signed webhooks carry the changes.
    pub provider: String,
    /// Changes sent in the latency phase, paced at `rate`.
    pub changes: usize,
    pub rate: f64,
    /// Changes sent at once in the webhook burst.
    pub burst: usize,
    /// Events written at once into the log in the log burst.
    pub log_burst: usize,
    /// Run every phase on an empty log, then again after filling it with this many events.
    pub history: u64,
    /// The sink's `max_in_flight`.
    pub max_in_flight: u32,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
}

const SECRET: &str = "whsec_YmVuY2gtZGVsaXZlci1zZWNyZXQtMzItYnl0ZXM=";

/// What the receiver saw: when each event (by its `source.remote_id`) arrived, verified.
#[derive(Default)]
struct Arrivals {
    at: HashMap<String, Instant>,
    rejected: u64,
}

type ReceiverState = (Arc<Vec<u8>>, Arc<Mutex<Arrivals>>);

async fn receive(
    axum::extract::State((key, arrivals)): axum::extract::State<ReceiverState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    let ok = super::receiver::verify_now(&key, &headers, &body);
    let now = Instant::now();
    let Ok(mut a) = arrivals.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    if !ok {
        a.rejected += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if let Some(remote) = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["source"]["remote_id"].as_str().map(str::to_string))
    {
        a.at.entry(remote).or_insert(now);
    }
    StatusCode::NO_CONTENT
}

/// Rows written to the delivery bookkeeping tables so far (PostgreSQL's own counters).
async fn bookkeeping_rows(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint from pg_stat_user_tables
          where schemaname = 'hiring' and relname in ('sink_cursors', 'delivery_holds')",
    )
    .fetch_one(pool)
    .await?)
}

/// Writes `count` events of distinct entities straight into the log, in one
/// statement (they commit together): `<tag>_<from + 1>` onwards, each with
/// `source.remote_id` for the receiver to recognise and a 400-byte note.
async fn insert_events(
    pool: &sqlx::PgPool,
    tag: &str,
    from: u64,
    count: u64,
) -> anyhow::Result<()> {
    sqlx::query(
        "insert into hiring.event_log (id, type, entity_type, entity_id, remote_id, via, occurred_at, data)
         select 'evt_' || $1 || '_' || g, 'application.created', 'application', gen_random_uuid(),
                $1 || '_' || g, 'system', now(), jsonb_build_object('note', repeat('x', 400))
           from generate_series($2::bigint + 1, $2::bigint + $3::bigint) g",
    )
    .bind(tag)
    .bind(from as i64)
    .bind(count as i64)
    .execute(pool)
    .await?;
    Ok(())
}

/// Fills the log with `n` events of distinct entities, in chunks, by SQL.
async fn fill_history(pool: &sqlx::PgPool, n: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let tag = format!("h{}", run_base());
    let mut done = 0u64;
    while done < n {
        let chunk = (n - done).min(100_000);
        insert_events(pool, &tag, done, chunk).await?;
        done += chunk;
    }
    sqlx::query("analyze hiring.event_log")
        .execute(pool)
        .await?;
    Ok(started.elapsed())
}

pub async fn deliver(args: BenchDeliverArgs) -> anyhow::Result<()> {
    let key = crate::config::decode_sink_secret(SECRET).context("bench secret")?;
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver = listener.local_addr()?;
    let router = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state((Arc::new(key), arrivals.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let database = match &args.database_url {
        Some(url) => format!("[database]\nurl = \"{url}\"\nmax_connections = 16\n"),
        None => "[database]\nmax_connections = 16\n".to_string(),
    };
    let (sim, section) = webhook_provider(
        &args.provider,
        "bench-secret",
        super::bench::WEBHOOK_SIM_RECORDS,
    )
    .await?;
    let sim = Arc::new(sim);

    let mut levels = vec![0];
    if args.history > 0 {
        levels.push(args.history);
    }
    let mut rows = Vec::new();
    let mut filled: Option<Duration> = None;
    for level in levels {
        let base = format!(
            "data_dir = \"{}\"\n{database}\n[server]\nadmin_listen = \"127.0.0.1:0\"\nwebhook_listen = \"127.0.0.1:0\"\n{section}",
            args.data_dir.display(),
        );
        // A fresh sink per level: it starts at the end of the log ("now").
        let text = format!(
            "{base}[[sinks]]\nid = \"receiver-h{level}-{}\"\nkind = \"webhook\"\nurl = \"http://{receiver}/events\"\nsecrets = [\"{SECRET}\"]\nmax_in_flight = {}\n",
            run_base(),
            args.max_in_flight,
        );
        if level > 0 {
            // The managed cluster runs while a daemon does: one without sinks.
            let daemon = BenchDaemon::start(&base).await?;
            let pool = bench_pool(args.database_url.as_deref(), &args.data_dir).await?;
            filled = Some(fill_history(&pool, level).await?);
            pool.close().await;
            daemon.stop().await?;
        }
        let daemon = BenchDaemon::start(&text).await?;
        let pool = bench_pool(args.database_url.as_deref(), &args.data_dir).await?;
        let history: i64 = sqlx::query_scalar("select count(*) from hiring.events")
            .fetch_one(&pool)
            .await?;
        let phases = Phases {
            sim: sim.clone(),
            hook: daemon.hook.clone(),
            client: reqwest::Client::new(),
            arrivals: arrivals.clone(),
            base: run_base(),
        };
        let label = format!("{history}");
        // Latency at a paced rate.
        let (sent, _) = phases.send(0, args.changes, Some(args.rate)).await;
        let missing = phases.wait_for(sent.keys().cloned().collect()).await;
        let lat = phases.latencies(&sent);
        rows.push(vec![
            label.clone(),
            format!("{} webhooks at {:.0}/s", args.changes, args.rate),
            (sent.len() - missing).to_string(),
            missing.to_string(),
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            "-".into(),
            "-".into(),
        ]);
        // A webhook burst, end to end.
        let (sent, started) = phases.send(args.changes as u64, args.burst, None).await;
        let missing = phases.wait_for(sent.keys().cloned().collect()).await;
        rows.push(vec![
            label.clone(),
            format!("{} webhooks at once", args.burst),
            (sent.len() - missing).to_string(),
            missing.to_string(),
            "-".into(),
            "-".into(),
            phases.rate(&sent, started),
            "-".into(),
        ]);
        // A log burst: delivery alone.
        let rows_before = bookkeeping_rows(&pool).await?;
        let tag = format!("l{}", run_base());
        let started = Instant::now();
        insert_events(&pool, &tag, 0, args.log_burst as u64).await?;
        let ids: Vec<String> = (1..=args.log_burst).map(|g| format!("{tag}_{g}")).collect();
        let missing = phases.wait_for(ids.clone()).await;
        let sent: HashMap<String, Instant> = ids.into_iter().map(|id| (id, started)).collect();
        let rate = phases.rate(&sent, started);
        // The daemon's connections report their statistics within a second or so.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let written = bookkeeping_rows(&pool).await? - rows_before;
        rows.push(vec![
            label,
            format!("{} events into the log", args.log_burst),
            (args.log_burst - missing).to_string(),
            missing.to_string(),
            "-".into(),
            "-".into(),
            rate,
            format!(
                "{written} ({:.4}/event)",
                written as f64 / (args.log_burst.max(1)) as f64
            ),
        ]);
        pool.close().await;
        daemon.stop().await?;
    }
    let rejected = arrivals.lock().map(|a| a.rejected).unwrap_or(0);
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }

    println!(
        "hirebridge bench deliver: {} webhooks and log writes → signed events → verifying receiver (max_in_flight {})",
        args.provider, args.max_in_flight
    );
    if let Some(f) = filled {
        println!(
            "history: {} events written by SQL in {:.1}s",
            args.history,
            f.as_secs_f64()
        );
    }
    print_table(
        &[
            "events in log",
            "phase",
            "delivered+verified",
            "missing",
            "p50 end-to-end",
            "p99 end-to-end",
            "events/s",
            "bookkeeping rows",
        ],
        &rows,
    );
    println!("signature failures at the receiver: {rejected}");
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.1} MiB");
    }
    Ok(())
}

struct Phases {
    sim: Arc<Box<dyn hirebridge_sdk::simulate::RunningSimulator>>,
    hook: String,
    client: reqwest::Client,
    arrivals: Arc<Mutex<Arrivals>>,
    base: u64,
}

impl Phases {
    /// Sends `n` signed webhooks (paced at `rate`, or at once) over 32
    /// connections; returns when each acknowledged one was sent, and the start.
    async fn send(
        &self,
        offset: u64,
        n: usize,
        rate: Option<f64>,
    ) -> (HashMap<String, Instant>, Instant) {
        let started = Instant::now();
        let sent = Arc::new(Mutex::new(HashMap::new()));
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (sim, sent, next, hook, client, base) = (
                self.sim.clone(),
                sent.clone(),
                next.clone(),
                self.hook.clone(),
                self.client.clone(),
                self.base,
            );
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    if let Some(rate) = rate {
                        tokio::time::sleep_until(
                            (started + Duration::from_secs_f64(i as f64 / rate)).into(),
                        )
                        .await;
                    }
                    let sample = sim.sample_delivery(
                        base + offset + i as u64,
                        "bench-secret",
                        std::time::SystemTime::now(),
                    );
                    let at = Instant::now();
                    let mut request = client.post(&hook).body(sample.body);
                    for (k, v) in &sample.headers {
                        request = request.header(k, v);
                    }
                    if request.send().await.is_ok_and(|r| r.status().is_success()) {
                        if let Ok(mut s) = sent.lock() {
                            s.insert(sample.remote_id, at);
                        }
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
        (sent, started)
    }

    /// Waits (up to 5 minutes) until every id arrived; returns how many did not.
    async fn wait_for(&self, ids: Vec<String>) -> usize {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let missing = self
                .arrivals
                .lock()
                .map(|a| ids.iter().filter(|id| !a.at.contains_key(*id)).count())
                .unwrap_or(0);
            if missing == 0 || Instant::now() > deadline {
                return missing;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn latencies(&self, sent: &HashMap<String, Instant>) -> Vec<Duration> {
        let Ok(a) = self.arrivals.lock() else {
            return Vec::new();
        };
        let mut l: Vec<Duration> = sent
            .iter()
            .filter_map(|(id, t)| a.at.get(id).map(|r| r.saturating_duration_since(*t)))
            .collect();
        l.sort();
        l
    }

    /// Arrived events per second from `started` to the last arrival.
    fn rate(&self, sent: &HashMap<String, Instant>, started: Instant) -> String {
        let Ok(a) = self.arrivals.lock() else {
            return "-".into();
        };
        let arrived: Vec<&Instant> = sent.keys().filter_map(|id| a.at.get(id)).collect();
        let Some(last) = arrived.iter().max() else {
            return "-".into();
        };
        let elapsed = last.saturating_duration_since(started).as_secs_f64();
        format!("{:.0}", arrived.len() as f64 / elapsed.max(1e-9))
    }
}
