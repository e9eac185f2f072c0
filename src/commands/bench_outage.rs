//! `hirebridge bench outage`: a provider's signed webhooks at a steady rate
//! into a real daemon while its PostgreSQL crashes (`pg_ctl stop -m
//! immediate`) and comes back. Reports the acknowledgement latency before,
//! during and after the outage, how deep the spool got, how long the inbox
//! took to catch up, and checks that every acknowledged delivery is in the
//! inbox exactly once.

use super::print_table;
use crate::store::cluster::{free_port, ClusterOptions, ManagedCluster};
use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BenchOutageArgs {
    pub provider: String,
    /// Deliveries per second, offered throughout.
    pub rate: f64,
    pub before: Duration,
    pub outage: Duration,
    pub after: Duration,
    pub data_dir: PathBuf,
}

/// One delivery's fate: when it was sent (since the start), how long its
/// answer took, and whether it was a 2xx.
struct Sent {
    at: Duration,
    took: Duration,
    ok: bool,
}

pub async fn outage(args: BenchOutageArgs) -> anyhow::Result<()> {
    let (sim, section) = super::bench::webhook_provider(
        &args.provider,
        "bench-secret",
        super::bench::WEBHOOK_SIM_RECORDS,
    )
    .await?;
    std::fs::create_dir_all(&args.data_dir)?;
    let cluster_options = ClusterOptions {
        data_dir: args.data_dir.join("cluster"),
        port: free_port()?,
        bin_dir: None,
        system_user: "postgres".into(),
    };
    let cluster = ManagedCluster::start(&cluster_options)
        .await
        .context("starting PostgreSQL")?;
    let url = cluster.url().expose_secret().to_string();
    let text = format!(
        "data_dir = \"{}\"\n[database]\nurl = \"{url}\"\nacquire_timeout = \"1s\"\nconnect_timeout = \"120s\"\n[server]\nadmin_listen = \"127.0.0.1:0\"\nwebhook_listen = \"127.0.0.1:0\"\n{section}",
        args.data_dir.join("daemon").display()
    );
    let daemon = super::bench::BenchDaemon::start(&text).await?;
    let hook = daemon.hook.clone();
    let pool = sqlx::PgPool::connect(&url).await?;
    let inbox_before: i64 = sqlx::query_scalar("select count(*) from hiring.inbox")
        .fetch_one(&pool)
        .await?;
    pool.close().await;

    let total = args.before + args.outage + args.after;
    let count = (args.rate * total.as_secs_f64()) as u64;
    let base = super::bench::run_base();
    let now = std::time::SystemTime::now();
    let samples: Arc<Vec<hirebridge_sdk::simulate::SampleDelivery>> = Arc::new(
        (0..count)
            .map(|i| sim.sample_delivery(base + i, "bench-secret", now))
            .collect(),
    );
    println!(
        "hirebridge bench outage: {count} signed {} webhooks at {:.0}/s; PostgreSQL crashes after {:?} for {:?}",
        args.provider, args.rate, args.before, args.outage
    );

    // The sender: one task per delivery at its due time.
    let started = Instant::now();
    let sender = {
        let (samples, hook, rate) = (samples.clone(), hook.clone(), args.rate);
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default();
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..samples.len() {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                let (client, samples, hook) = (client.clone(), samples.clone(), hook.clone());
                tasks.spawn(async move {
                    let sample = &samples[i];
                    let sent = Instant::now();
                    let mut req = client.post(&hook).body(sample.body.clone());
                    for (k, v) in &sample.headers {
                        req = req.header(k, v);
                    }
                    let ok = matches!(req.send().await, Ok(r) if r.status().is_success());
                    Sent {
                        at: sent.duration_since(started),
                        took: sent.elapsed(),
                        ok,
                    }
                });
            }
            let mut out = Vec::new();
            while let Some(done) = tasks.join_next().await {
                if let Ok(sent) = done {
                    out.push(sent);
                }
            }
            out
        })
    };

    // The outage.
    tokio::time::sleep_until((started + args.before).into()).await;
    cluster.crash().await.context("crashing PostgreSQL")?;
    let crashed_at = started.elapsed();
    let spool_dir = args.data_dir.join("daemon");
    let mut spool_peak = 0;
    while started.elapsed() < args.before + args.outage {
        spool_peak = spool_peak.max(crate::ingress::spool::stats_on_disk(&spool_dir).records);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let cluster = ManagedCluster::start(&cluster_options)
        .await
        .context("restarting PostgreSQL")?;
    let back_at = started.elapsed();
    let sent = sender.await?;

    // Every acknowledged delivery reaches the inbox, exactly once.
    let pool = sqlx::PgPool::connect(&url).await?;
    let acked = sent.iter().filter(|s| s.ok).count() as i64;
    let deadline = Instant::now() + Duration::from_secs(300);
    let stored = loop {
        let stored: i64 = sqlx::query_scalar("select count(*) from hiring.inbox")
            .fetch_one(&pool)
            .await?;
        if stored - inbox_before >= acked || Instant::now() > deadline {
            break stored - inbox_before;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let caught_up = started.elapsed().saturating_sub(back_at);
    pool.close().await;
    daemon.stop().await?;
    sim.shutdown().await;
    cluster.stop().await?;

    let phase = |from: Duration, to: Duration| -> Vec<String> {
        let mut took: Vec<Duration> = sent
            .iter()
            .filter(|s| s.at >= from && s.at < to)
            .map(|s| s.took)
            .collect();
        let failed = sent
            .iter()
            .filter(|s| s.at >= from && s.at < to && !s.ok)
            .count();
        took.sort();
        let pct = |p: f64| super::bench::percentile(&took, p);
        vec![
            took.len().to_string(),
            (took.len() - failed).to_string(),
            failed.to_string(),
            pct(0.5),
            pct(0.99),
            took.last()
                .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or_else(|| "-".into()),
        ]
    };
    let mut rows = Vec::new();
    for (name, from, to) in [
        ("before", Duration::ZERO, crashed_at),
        ("database down", crashed_at, back_at),
        ("after", back_at, Duration::MAX),
    ] {
        let mut row = vec![name.to_string()];
        row.extend(phase(from, to));
        rows.push(row);
    }
    print_table(
        &["phase", "sent", "2xx", "refused", "p50", "p99", "max"],
        &rows,
    );
    println!(
        "spool peak: {spool_peak} deliveries; inbox caught up {:.1}s after PostgreSQL was back",
        caught_up.as_secs_f64()
    );
    println!(
        "acknowledged {acked}, in the inbox {stored}: {}",
        if stored == acked {
            "every acknowledged delivery exactly once"
        } else {
            "MISMATCH"
        }
    );
    if stored != acked {
        bail!("{acked} deliveries acknowledged but {stored} in the inbox");
    }
    Ok(())
}
