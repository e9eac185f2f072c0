//! `hirebridge bench`: backfill and re-poll throughput from a provider's
//! simulator into PostgreSQL (`sync`), webhook acknowledgements (`ingest`) and
//! end-to-end delivery (`deliver`), all over real HTTP. Providers come from the
//! plugin list; `--provider` picks one.

use super::bench_cpu::CpuSample;
use super::print_table;
use crate::config::Config;
use crate::connectors;
use crate::engine::poller::{self, PassOptions, PassOutcome};
use crate::engine::Engine;
use crate::store::Database;
use anyhow::{bail, Context};
use hirebridge_sdk::simulate::{RunningSimulator, SimSpec};
use hirebridge_sdk::Plugin;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BenchSyncArgs {
    /// The provider whose simulator is polled.
    pub provider: String,
    /// Total simulated records (all entities together).
    pub records: usize,
    pub seed: u64,
    /// Simulator latency per request; with it the bench measures the backfill
    /// against the provider's documented rate limit (its ceiling).
    pub latency: Option<std::time::Duration>,
    /// Use this database instead of a managed cluster (its `hiring` schema is used as is).
    pub database_url: Option<String>,
    /// Where the managed cluster lives.
    pub data_dir: PathBuf,
}

/// Peak resident memory (VmHWM) of process `pid` (`"self"` for this one), in MiB.
fn peak_rss_of(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The `p` quantile of `sorted` durations, in milliseconds ("-" when empty).
pub(super) fn percentile(sorted: &[std::time::Duration], p: f64) -> String {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "-".into())
}

/// A provider simulator in a process of its own (`hirebridge simulate`), so the
/// daemon's memory is measured without the simulator's records.
struct SimProcess {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    base_url: String,
}

impl SimProcess {
    async fn spawn(args: &BenchSyncArgs) -> anyhow::Result<SimProcess> {
        use tokio::io::AsyncBufReadExt;
        let port = crate::store::cluster::free_port()?;
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command
            .args(["simulate", &args.provider, "--api-key", "bench-key"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--records", &args.records.to_string()])
            .args(["--seed", &args.seed.to_string()])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(latency) = args.latency {
            command.args(["--latency", &format!("{}ms", latency.as_millis())]);
        }
        let mut child = command.spawn().context("starting the simulator process")?;
        let stdout = child.stdout.take().context("the simulator's output")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        // "<provider> simulator on <url> (...)" once it listens.
        let base_url = loop {
            let line = lines
                .next_line()
                .await?
                .context("the simulator stopped before it listened")?;
            if let Some(rest) = line.split(" simulator on ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        };
        Ok(SimProcess {
            child,
            lines,
            base_url,
        })
    }

    /// Stops it; returns its peak RSS (MiB) and (requests counted, refused
    /// with 429) by its rate limits.
    async fn stop(mut self) -> anyhow::Result<(Option<f64>, (u64, u64))> {
        let rss = self
            .child
            .id()
            .and_then(|pid| peak_rss_of(&pid.to_string()));
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let mut totals = (0, 0);
        while let Some(line) = self.lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("rate-limited requests: ") {
                let numbers: Vec<u64> = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse().ok())
                    .collect();
                if let [counted, refused, ..] = numbers[..] {
                    totals = (counted, refused);
                }
            }
        }
        let _ = self.child.wait().await;
        Ok((rss, totals))
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    peak_rss_of("self")
}

/// The plugin named `name`, with a simulator.
fn simulated(
    name: &str,
) -> anyhow::Result<(
    &'static dyn Plugin,
    &'static dyn hirebridge_sdk::simulate::Simulator,
)> {
    let plugin = connectors::plugin(name).with_context(|| {
        format!(
            "no provider {name:?} (known: {})",
            connectors::names().join(", ")
        )
    })?;
    let sim = plugin
        .simulator()
        .with_context(|| format!("provider {name} has no simulator in this build"))?;
    Ok((plugin, sim))
}

pub async fn sync(args: BenchSyncArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (plugin, _) = simulated(&args.provider)?;
    if !plugin.capabilities().polls() {
        bail!("provider {} has nothing to poll", plugin.name());
    }
    let sim = SimProcess::spawn(&args).await?;
    let generated = started.elapsed();
    let database = match &args.database_url {
        Some(url) => format!("[database]\nurl = \"{url}\"\nmax_connections = 8\n"),
        None => "[database]\nmax_connections = 8\n".to_string(),
    };
    let text = format!(
        "data_dir = \"{}\"\n{database}\n[[connectors]]\nid = \"bench-{name}\"\nprovider = \"{name}\"\nbase_url = \"{base_url}\"\ncredentials = {{ api_key = \"bench-key\" }}\n",
        args.data_dir.display(),
        name = plugin.name(),
        base_url = sim.base_url,
    );
    let config = Config::from_str_with_env(&text, std::path::Path::new("<bench>"), &|_| None)
        .map_err(|e| anyhow::anyhow!("bench config: {e}"))?;
    let handle = connectors::build(&config.connectors[0])?;
    let db = super::open_database(&config).await?;
    // With a provider latency the backfill is what is measured (against the
    // rate limit); the unchanged re-poll is a database measure.
    let phases = if args.latency.is_some() { 1 } else { 2 };
    let result = run(&db, handle, phases).await;
    db.close().await;
    let (sim_rss, (requests, refused)) = sim.stop().await?;
    let measured = result?;

    println!(
        "hirebridge bench sync: {} simulated {} records (seed {}{}), simulator ready in {:.2}s",
        args.records,
        plugin.name(),
        args.seed,
        args.latency
            .map(|l| format!(", {} ms per request", l.as_millis()))
            .unwrap_or_default(),
        generated.as_secs_f64()
    );
    let rows = [("backfill", 0), ("re-poll (unchanged)", 1)]
        .iter()
        .filter_map(|(name, i)| measured.get(*i).map(|m| (name, m)))
        .map(|(name, m)| {
            vec![
                name.to_string(),
                m.records.to_string(),
                m.written.to_string(),
                m.events.to_string(),
                format!("{:.2}s", m.seconds),
                format!("{:.0}", m.records as f64 / m.seconds.max(1e-9)),
            ]
        })
        .collect::<Vec<_>>();
    print_table(
        &["phase", "records", "written", "events", "time", "records/s"],
        &rows,
    );
    if let (Some(limit), Some(backfill)) = (plugin.capabilities().rate_limit, measured.first()) {
        let limit_per_sec = f64::from(limit.requests) / limit.per.as_secs_f64();
        let per_request = backfill.records as f64 / requests.max(1) as f64;
        let achieved = requests as f64 / backfill.seconds.max(1e-9);
        println!(
            "rate limit {} requests per {}: ceiling {:.1} requests/s x {:.1} records/request = {:.0} records/s",
            limit.requests,
            humantime::format_duration(limit.per),
            limit_per_sec,
            per_request,
            limit_per_sec * per_request,
        );
        println!(
            "achieved {requests} requests in {:.1}s = {:.2} requests/s ({:.0} records/s): {:.0}% of the ceiling; {refused} answered 429",
            backfill.seconds,
            achieved,
            backfill.records as f64 / backfill.seconds.max(1e-9),
            100.0 * achieved / limit_per_sec,
        );
    }
    for (name, m) in ["backfill", "re-poll"].iter().zip(&measured) {
        if let Some((start, end)) = &m.cpu {
            println!(
                "CPU per record, {name}: {}",
                start.per_record(end, m.records)
            );
        }
    }
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: daemon {rss:.1} MiB");
    }
    if let Some(rss) = sim_rss {
        println!("peak RSS: simulator (its own process) {rss:.1} MiB");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Default)]
struct Measured {
    records: u64,
    written: u64,
    events: u64,
    seconds: f64,
    /// CPU time of the phase (start, end).
    cpu: Option<(CpuSample, CpuSample)>,
}

async fn run(
    db: &Database,
    handle: std::sync::Arc<crate::engine::ConnectorHandle>,
    phases_to_run: usize,
) -> anyhow::Result<Vec<Measured>> {
    let engine = std::sync::Arc::new(Engine::new(db.pool.clone(), vec![handle.clone()]).await?);
    let mut phases = Vec::new();
    for full in [false, true].into_iter().take(phases_to_run) {
        if full {
            settle(db).await?;
        }
        let t = Instant::now();
        let cpu_before = CpuSample::now();
        let mut m = Measured::default();
        // As a schedule tick runs them: reference lists, then every stream at once.
        let options = PassOptions {
            full,
            ..PassOptions::default()
        };
        for (stream, report) in
            poller::run_passes(&engine, &handle, &handle.enabled_streams(), &options).await
        {
            if report.outcome != PassOutcome::Completed {
                bail!(
                    "{} pass failed: {}",
                    stream.name,
                    report.error.unwrap_or_default()
                );
            }
            if stream.entity.is_some() {
                m.records += report.seen;
            }
            m.written += report.created + report.updated;
            m.events += report.events;
        }
        m.seconds = t.elapsed().as_secs_f64();
        m.cpu = Some((cpu_before, CpuSample::now()));
        phases.push(m);
    }
    engine.release_leases().await;
    // The unchanged re-poll must see exactly what the backfill wrote.
    if let [backfill, repoll] = phases[..] {
        if backfill.records != repoll.records {
            bail!(
                "backfill saw {} records, the re-poll {}",
                backfill.records,
                repoll.records
            );
        }
    }
    Ok(phases)
}

/// Between the backfill and the re-poll: what autovacuum does before a
/// scheduled pass comes round again (`vacuum (analyze)` of schema `hiring`'s
/// tables), so the re-poll measures the write path, not whether autovacuum
/// happened to reach the freshly written tables first. Without it, the first
/// reads of every fresh row cost three times the buffers and the re-poll varied
/// by half from run to run. Prints how long it took.
async fn settle(db: &Database) -> anyhow::Result<()> {
    let t = Instant::now();
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'hiring' order by 1",
    )
    .fetch_all(&db.pool)
    .await?;
    for table in &tables {
        sqlx::query(&format!("vacuum (analyze) hiring.{table}"))
            .execute(&db.pool)
            .await?;
    }
    println!(
        "between the phases: vacuum (analyze) of {} tables in {:.2}s, as autovacuum would before the next scheduled pass",
        tables.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Records a webhook bench's simulator holds unless told otherwise.
pub const WEBHOOK_SIM_RECORDS: usize = 100;

/// Starts `name`'s simulator for its signed webhooks, and the config section
/// of a connector receiving them with `secret`.
pub(super) async fn webhook_provider(
    name: &str,
    secret: &str,
    records: usize,
) -> anyhow::Result<(Box<dyn RunningSimulator>, String)> {
    let (plugin, simulator) = simulated(name)?;
    if !plugin.capabilities().webhooks {
        bail!("provider {} sends no webhooks", plugin.name());
    }
    let sim = simulator
        .start(SimSpec {
            listen: ([127, 0, 0, 1], 0).into(),
            seed: 1,
            records,
            api_key: "bench-key".into(),
        })
        .await
        .context("starting the simulator")?;
    let mut section = format!(
        "[[connectors]]\nid = \"bench\"\nprovider = \"{name}\"\nwebhook_secrets = [\"{secret}\"]\n",
        name = plugin.name()
    );
    if plugin.capabilities().api_key != hirebridge_sdk::Need::Unused {
        section.push_str("credentials = { api_key = \"bench-key\" }\n");
    }
    if let Some(url) = sim.base_url() {
        section.push_str(&format!("base_url = \"{url}\"\n"));
    }
    Ok((sim, section))
}

/// A daemon run in-process for a benchmark: bound on loopback port 0, started,
/// and ready (its `/readyz` said 200) when [`BenchDaemon::start`] returns.
pub(super) struct BenchDaemon {
    /// `POST` here for the `bench` connector's webhooks.
    pub hook: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), crate::app::AppError>>,
}

impl BenchDaemon {
    /// Starts the daemon of `text` (a whole config) and waits until it is ready.
    pub async fn start(text: &str) -> anyhow::Result<BenchDaemon> {
        let config = Config::from_str_with_env(text, std::path::Path::new("<bench>"), &|_| None)
            .map_err(|e| anyhow::anyhow!("bench config: {e}"))?;
        let app = crate::app::App::bind(config).await?;
        let hook = format!("http://{}/webhooks/bench", app.webhook_addr());
        let readyz = format!("http://{}/readyz", app.admin_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        while client
            .get(&readyz)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
            != 200
        {
            if Instant::now() > deadline {
                bail!("the daemon did not become ready");
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(BenchDaemon { hook, stop, task })
    }

    /// Stops it and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(())
    }
}

/// A run-unique record number, so repeated runs on one database create new records.
pub(super) fn run_base() -> u64 {
    u64::from(rand::random::<u32>()) << 24
}

#[derive(Debug, Clone)]
pub struct BenchIngestArgs {
    /// The provider whose signed webhooks are sent.
    pub provider: String,
    pub deliveries: usize,
    pub connections: usize,
    /// Records the simulator holds (what its deliveries change).
    pub records: usize,
    /// Offered load in deliveries/s; as fast as possible when absent.
    pub rate: Option<f64>,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
}

/// `hirebridge bench ingest`: a provider's signed webhooks over loopback from
/// many connections into a real daemon; acknowledged deliveries/s,
/// acknowledgement latency, and the time for the normalisers to drain the inbox.
pub async fn ingest(args: BenchIngestArgs) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let database = match &args.database_url {
        Some(url) => format!("[database]\nurl = \"{url}\"\nmax_connections = 16\n"),
        None => "[database]\nmax_connections = 16\n".to_string(),
    };
    let (sim, section) = webhook_provider(&args.provider, "bench-secret", args.records).await?;
    let text = format!(
        "data_dir = \"{}\"\n{database}\n[server]\nadmin_listen = \"127.0.0.1:0\"\nwebhook_listen = \"127.0.0.1:0\"\n{section}",
        args.data_dir.display()
    );
    let daemon = BenchDaemon::start(&text).await?;
    let url = daemon.hook.clone();
    let pool = bench_pool(args.database_url.as_deref(), &args.data_dir).await?;
    let inbox_before: i64 = sqlx::query_scalar("select count(*) from hiring.inbox")
        .fetch_one(&pool)
        .await?;

    // Prepare every signed request first, so the clock measures the daemon.
    let base = run_base();
    let now = std::time::SystemTime::now();
    let requests: Arc<Vec<hirebridge_sdk::simulate::SampleDelivery>> = Arc::new(
        (0..args.deliveries as u64)
            .map(|i| sim.sample_delivery(base + i, "bench-secret", now))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_start = CpuSample::now();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections.max(1) {
        let (requests, next, url, rate) = (requests.clone(), next.clone(), url.clone(), args.rate);
        tasks.spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(sample) = requests.get(i) else {
                    break;
                };
                if let Some(rate) = rate {
                    let due = started + std::time::Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let sent = Instant::now();
                let mut req = client.post(&url).body(sample.body.clone());
                for (k, v) in &sample.headers {
                    req = req.header(k, v);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => latencies.push(sent.elapsed()),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    while let Some(done) = tasks.join_next().await {
        let (l, f) = done?;
        latencies.extend(l);
        failures += f;
    }
    let ack_time = started.elapsed();
    let cpu_acked = CpuSample::now();
    // What the burst left for the normalisers alone: while webhooks arrive they
    // mostly yield (see `normalizer::BurstGate`), so the drain after the last
    // acknowledgement is their own rate.
    let waiting: i64 = sqlx::query_scalar(
        "select count(*) from hiring.inbox where status in ('pending', 'processing', 'failed')",
    )
    .fetch_one(&pool)
    .await?;
    let backlog_from = started.elapsed();
    // Drain: every stored delivery processed.
    loop {
        // `exists`, not a count: the check must not load the database it measures.
        let open: bool = sqlx::query_scalar(
            "select exists (select 1 from hiring.inbox where status in ('pending', 'processing', 'failed'))",
        )
        .fetch_one(&pool)
        .await?;
        if !open {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let drained = started.elapsed();
    let cpu_drained = CpuSample::now();
    let stored: i64 = sqlx::query_scalar("select count(*) from hiring.inbox")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    daemon.stop().await?;
    sim.shutdown().await;

    latencies.sort();
    let pct = |p: f64| percentile(&latencies, p);
    println!(
        "hirebridge bench ingest: {} signed {} webhooks of a simulator holding {} records, over {} connections{}",
        args.deliveries,
        args.provider,
        args.records,
        args.connections,
        args.rate
            .map(|r| format!(", offered at {r:.0}/s"))
            .unwrap_or_default()
    );
    print_table(
        &[
            "acknowledged",
            "failed",
            "stored",
            "ack time",
            "acks/s",
            "p50",
            "p99",
            "drained after",
            "processed/s",
        ],
        &[vec![
            latencies.len().to_string(),
            failures.to_string(),
            (stored - inbox_before).to_string(),
            format!("{:.2}s", ack_time.as_secs_f64()),
            format!(
                "{:.0}",
                latencies.len() as f64 / ack_time.as_secs_f64().max(1e-9)
            ),
            pct(0.50),
            pct(0.99),
            format!("{:.2}s", drained.as_secs_f64()),
            format!(
                "{:.0}",
                (stored - inbox_before) as f64 / drained.as_secs_f64().max(1e-9)
            ),
        ]],
    );
    // The bench process is the daemon and the load's HTTP client together.
    let acked = latencies.len() as u64;
    println!(
        "CPU per delivery (this process is the daemon and its HTTP load): until acknowledged {}; until drained {}",
        cpu_start.per_record(&cpu_acked, acked),
        cpu_start.per_record(&cpu_drained, acked)
    );
    let backlog_time = drained.saturating_sub(backlog_from);
    println!(
        "after the last acknowledgement: {waiting} deliveries waiting, drained in {:.2}s: {:.0}/s by the normalisers alone (CPU per delivery {})",
        backlog_time.as_secs_f64(),
        waiting as f64 / backlog_time.as_secs_f64().max(1e-9),
        cpu_acked.per_record(&cpu_drained, waiting.max(0) as u64)
    );
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.1} MiB");
    }
    Ok(())
}

/// A pool on the database a bench daemon uses: `database_url`, or the managed
/// cluster under `data_dir` (running while its daemon is).
pub(super) async fn bench_pool(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<sqlx::PgPool> {
    let url = match database_url {
        Some(u) => u.to_string(),
        None => {
            let password = std::fs::read_to_string(data_dir.join("postgres.password"))?;
            let pid = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid"))?;
            let port = crate::store::cluster::port_from_pid_file(&pid)
                .context("reading the cluster's port")?;
            format!(
                "postgres://postgres:{}@127.0.0.1:{port}/hirebridge",
                password.trim()
            )
        }
    };
    // The bench's own bulk statements are slow on purpose: not worth a warning.
    use sqlx::ConnectOptions;
    let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&url)?
        .log_slow_statements(
            tracing::log::LevelFilter::Off,
            std::time::Duration::from_secs(60),
        );
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?)
}
