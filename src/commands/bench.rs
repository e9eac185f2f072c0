//! `hirebridge bench sync`: measures backfill and re-poll throughput from the
//! Ashby simulator into PostgreSQL, end to end over real HTTP, and peak memory.

use super::print_table;
use crate::config::Config;
use crate::connectors;
use crate::engine::poller::{self, PassOptions, PassOutcome};
use crate::engine::Engine;
use crate::store::Database;
use anyhow::{bail, Context};
use hirebridge_ashby::sim::{SimConfig, Simulator};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BenchSyncArgs {
    /// Total simulated records (all entities together).
    pub records: usize,
    pub seed: u64,
    /// Use this database instead of a managed cluster (its `hiring` schema is used as is).
    pub database_url: Option<String>,
    /// Where the managed cluster lives.
    pub data_dir: PathBuf,
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn sync(args: BenchSyncArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let sim = Simulator::new(SimConfig {
        api_key: "bench-key".into(),
        seed: args.seed,
        records: args.records,
        ..SimConfig::default()
    });
    let generated = started.elapsed();
    let server = sim
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .context("starting the simulator")?;
    let database = match &args.database_url {
        Some(url) => format!("[database]\nurl = \"{url}\"\nmax_connections = 8\n"),
        None => "[database]\nmax_connections = 8\n".to_string(),
    };
    let text = format!(
        "data_dir = \"{}\"\n{database}\n[[connectors]]\nid = \"bench-ashby\"\nprovider = \"ashby\"\nbase_url = \"{}\"\ncredentials = {{ api_key = \"bench-key\" }}\n",
        args.data_dir.display(),
        server.base_url()
    );
    let config = Config::from_str_with_env(&text, std::path::Path::new("<bench>"), &|_| None)
        .map_err(|e| anyhow::anyhow!("bench config: {e}"))?;
    let handle = connectors::build(&config.connectors[0], &config.server)?;
    let db = super::open_database(&config).await?;
    let result = run(&db, handle, &sim).await;
    db.close().await;
    server.shutdown().await;
    let (backfill, repoll) = result?;

    println!(
        "hirebridge bench sync: {} simulated records (seed {}), generated in {:.2}s",
        args.records,
        args.seed,
        generated.as_secs_f64()
    );
    let rows = [("backfill", backfill), ("re-poll (unchanged)", repoll)]
        .iter()
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
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.1} MiB (daemon, simulator and its data in one process)");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Default)]
struct Measured {
    records: u64,
    written: u64,
    events: u64,
    seconds: f64,
}

async fn run(
    db: &Database,
    handle: std::sync::Arc<crate::engine::ConnectorHandle>,
    sim: &Simulator,
) -> anyhow::Result<(Measured, Measured)> {
    let engine = Engine::new(db.pool.clone(), vec![handle.clone()]).await?;
    let mut phases = Vec::new();
    for full in [false, true] {
        let t = Instant::now();
        let mut m = Measured::default();
        for stream in handle.enabled_streams() {
            let report = poller::run_pass(
                &engine,
                &handle,
                &stream,
                &PassOptions {
                    full,
                    progress: None,
                },
            )
            .await;
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
        phases.push(m);
    }
    let expected: usize = sim
        .counts()
        .iter()
        .filter(|(k, _)| {
            matches!(
                **k,
                "candidate"
                    | "application"
                    | "job"
                    | "jobPosting"
                    | "interviewSchedule"
                    | "offer"
                    | "applicationFeedback"
            )
        })
        .map(|(_, n)| *n)
        .sum();
    if phases[0].records as usize != expected {
        bail!(
            "backfill saw {} records, the simulator holds {expected}",
            phases[0].records
        );
    }
    Ok((phases[0], phases[1]))
}
