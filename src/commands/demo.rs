//! `hirebridge demo`: the whole product on one machine with no accounts. The
//! managed PostgreSQL, every provider's simulator (from the plugin list) with
//! seeded data and the same fake people, a local receiver that verifies every
//! signature, and the daemon configured from `config/demo.toml`: a backfill,
//! then live changes through provider webhooks, then a summary.

use super::print_table;
use crate::app::App;
use crate::config::{decode_sink_secret, Config, SinkTarget};
use crate::connectors;
use crate::engine::poller::{self, PassOptions};
use crate::engine::Engine;
use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hirebridge_sdk::simulate::{RunningSimulator, SimSpec};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct DemoArgs {
    pub config: PathBuf,
    pub records: usize,
    pub duration: Option<Duration>,
    /// Live changes per second.
    pub rate: f64,
}

/// The demo's receiver: checks each delivery's Standard Webhooks signature with
/// the receivers' own code (not the daemon's signer) and logs it.
struct Receiver {
    secret: Vec<u8>,
    verified: AtomicU64,
    rejected: AtomicU64,
    log: Mutex<std::fs::File>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if !super::receiver::verify_now(&r.secret, &headers, &body) {
        r.rejected.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    r.verified.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut log) = r.log.lock() {
        let _ = log.write_all(&body);
        let _ = log.write_all(b"\n");
    }
    StatusCode::NO_CONTENT
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let data_dir = std::env::var("DEMO_DATA_DIR").unwrap_or_else(|_| "./var/demo".into());
    std::fs::create_dir_all(&data_dir)?;

    // Providers and the receiver first: the config needs their addresses
    // (`${DEMO_<PROVIDER>_URL}`).
    let mut sims: BTreeMap<&'static str, Box<dyn RunningSimulator>> = BTreeMap::new();
    for plugin in connectors::PLUGINS {
        let Some(simulator) = plugin.simulator() else {
            continue;
        };
        let sim = simulator
            .start(SimSpec {
                listen: ([127, 0, 0, 1], 0).into(),
                seed: 7,
                records: args.records,
                api_key: "demo-key".into(),
            })
            .await
            .with_context(|| format!("starting the {} simulator", plugin.name()))?;
        sims.insert(plugin.name(), sim);
    }
    println!(
        "hirebridge demo: simulators for {} ({} records each where they poll) and a signature-checking receiver",
        sims.keys().copied().collect::<Vec<_>>().join(", "),
        args.records
    );
    let receiver_log = Path::new(&data_dir).join("receiver.log");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_url = format!("http://{}/events", listener.local_addr()?);
    let urls: BTreeMap<String, String> = sims
        .iter()
        .filter_map(|(name, sim)| {
            sim.base_url()
                .map(|u| (format!("DEMO_{}_URL", name.to_uppercase()), u))
        })
        .collect();
    let env = {
        let (receiver, dir) = (receiver_url.clone(), data_dir.clone());
        move |name: &str| match name {
            "DEMO_RECEIVER_URL" => Some(receiver.clone()),
            "DEMO_DATA_DIR" => Some(dir.clone()),
            other => urls
                .get(other)
                .cloned()
                .or_else(|| std::env::var(other).ok()),
        }
    };
    let config =
        Config::from_str_with_env(&text, &args.config, &env).map_err(|e| anyhow::anyhow!("{e}"))?;
    let secret = config
        .sinks
        .iter()
        .find(|s| s.id == "receiver")
        .and_then(|s| match &s.target {
            SinkTarget::Webhook { secrets, .. } => secrets.first(),
            _ => None,
        })
        .and_then(|s| decode_sink_secret(s.expose()))
        .context("config/demo.toml needs the `receiver` sink with a secret")?;
    let receiver = Arc::new(Receiver {
        secret,
        verified: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        log: Mutex::new(std::fs::File::create(&receiver_log)?),
    });
    let router = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The database (managed unless a URL is configured), then the backfill.
    println!("starting PostgreSQL and backfilling from the simulator...");
    let db = super::open_database(&config).await?;
    // Only the simulators of configured connectors take part.
    let used: Vec<&str> = config
        .connectors
        .iter()
        .filter(|c| c.enabled)
        .map(|c| c.provider())
        .collect();
    let (active, idle): (BTreeMap<_, _>, BTreeMap<_, _>) =
        sims.into_iter().partition(|(name, _)| used.contains(name));
    for (_, sim) in idle {
        sim.shutdown().await;
    }
    let result = run(&config, &db, &active, &receiver, &receiver_log, &args).await;
    db.close().await;
    for (_, sim) in active {
        sim.shutdown().await;
    }
    result
}

async fn run(
    config: &Config,
    db: &crate::store::Database,
    sims: &BTreeMap<&'static str, Box<dyn RunningSimulator>>,
    receiver: &Arc<Receiver>,
    receiver_log: &Path,
    args: &DemoArgs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // A demo run again on its data directory finds the last run's events in the
    // log; its receiver's cursor is past them, so only this run's are counted.
    let events_before: i64 = sqlx::query_scalar("select count(*) from hiring.events")
        .fetch_one(&db.pool)
        .await?;
    let (handles, unbuilt) = connectors::build_all(&config.connectors);
    if let Some(e) = unbuilt.first() {
        anyhow::bail!("{e}");
    }
    let engine = Engine::new(db.pool.clone(), handles.clone()).await?;
    let mut backfilled = 0;
    for handle in &handles {
        for stream in handle.enabled_streams() {
            let report = poller::run_pass(&engine, handle, &stream, &PassOptions::default()).await;
            if let Some(e) = &report.error {
                anyhow::bail!("backfill of {} failed: {e}", stream.name);
            }
            backfilled += report.created;
        }
    }
    // The daemon below takes over; the backfill's leases go now.
    engine.release_leases().await;
    println!(
        "backfilled {backfilled} records in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // The daemon itself.
    let app = App::bind(config.clone()).await?;
    let admin = app.admin_addr();
    let webhooks = app.webhook_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    // Each provider's simulator sends its signed webhooks to its connector.
    let mut live: Vec<&dyn RunningSimulator> = Vec::new();
    for c in config.connectors.iter().filter(|c| c.enabled) {
        // Providers that sign with the API key (SecretSource::ApiKey) have no webhook secret.
        let signs_with_key = c.plugin.capabilities().signature.is_some_and(|scheme| {
            scheme().secret == hirebridge_sdk::signature::SecretSource::ApiKey
        });
        let secret = if signs_with_key {
            c.settings.api_key.as_ref()
        } else {
            c.settings.webhook_secrets.first()
        };
        let (Some(sim), Some(secret)) = (sims.get(c.provider()), secret) else {
            continue;
        };
        sim.send_webhooks_to(
            &format!("http://{webhooks}/webhooks/{}", c.id),
            secret.expose(),
        );
        live.push(sim.as_ref());
    }

    println!(
        "live: {:.0} changes/s through provider webhooks{}; Ctrl-C ends the demo",
        args.rate,
        args.duration
            .map(|d| format!(" for {}", humantime::format_duration(d)))
            .unwrap_or_default()
    );
    let deadline = args.duration.map(|d| Instant::now() + d);
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.1));
    let mut changes = 0u64;
    let mut last_report = Instant::now();
    let ctrl_c = crate::app::shutdown_signal();
    tokio::pin!(ctrl_c);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) || live.is_empty() {
            break;
        }
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep(interval) => {}
        }
        // Providers take turns; each change reaches the daemon as a signed webhook.
        let sim = live[(changes % live.len() as u64) as usize];
        if let Err(e) = sim.change(changes / live.len() as u64).await {
            tracing::debug!(error = %e, "a simulated change failed");
        }
        changes += 1;
        if last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            let events: i64 = sqlx::query_scalar("select count(*) from hiring.events")
                .fetch_one(&db.pool)
                .await?;
            let events = events - events_before;
            println!(
                "  {changes} changes, {events} events, {} delivered and verified",
                receiver.verified.load(Ordering::Relaxed)
            );
        }
    }

    // Let the last webhooks be processed and their events delivered (both
    // counted afresh each time: a late webhook makes new events), then stop.
    let wait_until = Instant::now() + Duration::from_secs(30);
    let mut undelivered = (0, 0);
    while Instant::now() < wait_until {
        let (events, open): (i64, i64) = sqlx::query_as(
            "select (select count(*) from hiring.events),
                    (select count(*) from hiring.inbox where status in ('pending', 'processing'))",
        )
        .fetch_one(&db.pool)
        .await?;
        let events = events - events_before;
        let verified = receiver.verified.load(Ordering::Relaxed) as i64;
        undelivered = (open, (events - verified).max(0));
        if open == 0 && verified >= events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if undelivered != (0, 0) {
        println!(
            "\nstill pending after 30 s: {} webhook deliveries not normalised, {} events not delivered",
            undelivered.0, undelivered.1
        );
    }
    let _ = stop.send(());
    let _ = daemon.await;

    // Summary.
    println!("\nsummary after {:.0}s", started.elapsed().as_secs_f64());
    let mut rows = Vec::new();
    for &kind in hirebridge_sdk::EntityKind::ALL {
        let counts: Vec<(String, i64)> = sqlx::query_as(&format!(
            "select connector_id, count(*) from hiring.{} where deleted_at is null group by 1 order by 1",
            kind.table()
        ))
        .fetch_all(&db.pool)
        .await?;
        for (connector, n) in counts {
            rows.push(vec![kind.table().to_string(), connector, n.to_string()]);
        }
    }
    print_table(&["entity", "connector", "records"], &rows);
    let events: i64 = sqlx::query_scalar("select count(*) from hiring.events")
        .fetch_one(&db.pool)
        .await?;
    let persons: i64 = sqlx::query_scalar("select count(*) from hiring.persons")
        .fetch_one(&db.pool)
        .await?;
    if events_before > 0 {
        println!(
            "events emitted:            {} this run ({events} in the log, {events_before} from earlier runs)",
            events - events_before
        );
    } else {
        println!("events emitted:            {events}");
    }
    println!(
        "delivered and verified:    {} (signature failures: {})",
        receiver.verified.load(Ordering::Relaxed),
        receiver.rejected.load(Ordering::Relaxed)
    );
    // One human in several providers: persons whose candidates come from more
    // than one connector.
    let linked: i64 = sqlx::query_scalar(
        "select count(*) from (select person_id from hiring.candidates \
         where person_id is not null and deleted_at is null \
         group by person_id having count(distinct connector_id) > 1) p",
    )
    .fetch_one(&db.pool)
    .await?;
    println!("persons:                   {persons} ({linked} linked across providers)");
    // Background checks that landed on a person who also applied elsewhere.
    let checked: i64 = sqlx::query_scalar(
        "select count(distinct b.person_id) from hiring.background_checks b
          join hiring.candidates c on c.person_id = b.person_id and c.deleted_at is null
         where b.deleted_at is null",
    )
    .fetch_one(&db.pool)
    .await?;
    println!("checked persons:           {checked} (a background check on the same person as their applications)");
    println!("live changes made:         {changes}");
    let managed = db.managed_port().map(|p| {
        format!(
            "postgres://postgres:<password in {}>@127.0.0.1:{p}/hirebridge (running while the demo runs)",
            config.data_dir.join("postgres.password").display()
        )
    });
    println!(
        "database:                  {}",
        managed.unwrap_or_else(|| "the configured database.url".into())
    );
    println!("metrics (while running):   http://{admin}/metrics");
    println!("receiver log:              {}", receiver_log.display());
    println!(
        "events as JSON lines:      {}",
        config.data_dir.join("events.jsonl").display()
    );
    Ok(())
}
