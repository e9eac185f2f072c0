//! Operator commands beyond `run`: `sync` (one pass now), `status`, and the
//! helpers they share for opening the database and printing tables.

pub mod bench;
mod bench_cpu;
pub mod bench_deliver;
pub mod bench_outage;
pub mod demo;
pub mod dlq;
pub mod receiver;
pub mod replay;
pub mod simulate;
pub mod top;

use crate::config::Config;
use crate::connectors;
use crate::engine::poller::{self, PassOptions, PassOutcome, PassReport};
use crate::engine::Engine;
use crate::store::{self, sync_state, Database};
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use hirebridge_sdk::EntityKind;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

/// Opens (or starts) the database and brings the schema up to date.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    let db = Database::open(config)
        .await
        .context("opening the database")?;
    if let Err(e) = store::migrate(&db.pool).await {
        db.close().await;
        return Err(e).context("applying migrations");
    }
    Ok(db)
}

/// Opens the database for a command that must not change its schema
/// (`status`, `dlq`, `replay`): no migrations; a schema that is behind is an
/// error that says what to run.
pub async fn open_database_read_only(config: &Config) -> anyhow::Result<Database> {
    let db = Database::open(config)
        .await
        .context("opening the database")?;
    match store::pending_migrations(&db.pool).await {
        Ok(0) => Ok(db),
        Ok(n) => {
            db.close().await;
            anyhow::bail!(
                "the database schema is {n} migration(s) behind this version: run `hirebridge migrate` (or start the daemon) first"
            )
        }
        Err(e) => {
            db.close().await;
            Err(e).context("reading the schema version")
        }
    }
}

/// What `hirebridge sync` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct SyncArgs {
    pub connector: Option<String>,
    pub stream: Option<String>,
    pub full: bool,
}

/// Runs one pass of each selected stream now, printing progress on a terminal
/// and a per-stream table at the end. Fails if any pass failed.
pub async fn sync(config: Config, args: SyncArgs) -> anyhow::Result<()> {
    let selected: Vec<_> = config
        .connectors
        .iter()
        .filter(|c| args.connector.as_ref().is_none_or(|id| &c.id == id))
        .cloned()
        .collect();
    if selected.is_empty() {
        match &args.connector {
            Some(id) => bail!("no connector {id:?} in {}", config.source_path.display()),
            None => bail!("{} configures no connectors", config.source_path.display()),
        }
    }
    let mut handles = Vec::new();
    for c in &selected {
        handles.push(connectors::build(c)?);
    }
    let db = open_database(&config).await?;
    let result = sync_with(&db, handles, &args).await;
    db.close().await;
    let reports = result?;
    print_reports(&reports);
    let failed: Vec<_> = reports
        .iter()
        .filter(|r| r.outcome == PassOutcome::Failed)
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} stream pass(es) failed",
            failed.len(),
            reports.len()
        );
    }
    Ok(())
}

async fn sync_with(
    db: &Database,
    handles: Vec<Arc<crate::engine::ConnectorHandle>>,
    args: &SyncArgs,
) -> anyhow::Result<Vec<PassReport>> {
    let engine = Engine::new(db.pool.clone(), handles).await?;
    let mut reports = Vec::new();
    let interactive = std::io::stderr().is_terminal();
    for handle in &engine.connectors {
        let streams: Vec<_> = handle
            .enabled_streams()
            .into_iter()
            .filter(|s| args.stream.as_ref().is_none_or(|name| s.name == name))
            .collect();
        if let Some(name) = &args.stream {
            if streams.is_empty() {
                let known: Vec<_> = handle.connector.streams().iter().map(|s| s.name).collect();
                bail!(
                    "connector {} has no enabled stream {name:?} (streams: {})",
                    handle.id,
                    known.join(", ")
                );
            }
        }
        for stream in streams {
            let bar = interactive.then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(format!("{}/{}", handle.id, stream.name));
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            let progress: Option<poller::ProgressFn> = bar.clone().map(|bar| {
                Arc::new(move |r: &PassReport| {
                    bar.set_message(format!(
                        "page {}, {} seen, {} created, {} updated",
                        r.pages, r.seen, r.created, r.updated
                    ))
                }) as poller::ProgressFn
            });
            let options = PassOptions {
                full: args.full,
                progress,
                only_ids: None,
            };
            let report = poller::run_pass(&engine, handle, &stream, &options).await;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            reports.push(report);
        }
    }
    engine.release_leases().await;
    Ok(reports)
}

/// `hirebridge erase --person EMAIL`: removes the person's personal data from
/// every table and the event log, and tells the sinks (`person.erased`).
pub async fn erase(config: Config, email: &str) -> anyhow::Result<()> {
    let db = open_database_read_only(&config).await?;
    let result = crate::engine::erasure::erase(&db.pool, email, "cli").await;
    db.close().await;
    let erasure = result?;
    if erasure.person_ids.is_empty() && erasure.counts.values().all(|n| n == 0) {
        println!("nothing held about that person");
        return Ok(());
    }
    println!(
        "erasure {}: {} person(s); rows emptied per table:",
        erasure.id,
        erasure.person_ids.len()
    );
    for (table, n) in &erasure.counts {
        println!("  {table:<18} {n}");
    }
    if let Some(event) = &erasure.event_id {
        println!("sinks receive the tombstone event {event} (person.erased)");
    }
    Ok(())
}

/// `hirebridge import`: makes records known to a connector whose provider has
/// no list endpoint (a refresh-known stream): each id in the file (one a line,
/// `#` comments) is read from the provider now and written like a poll; the
/// connector's passes keep them fresh from then on.
pub async fn import(
    config: Config,
    connector: &str,
    stream: Option<String>,
    ids_file: &std::path::Path,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(ids_file)
        .with_context(|| format!("reading {}", ids_file.display()))?;
    let ids: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        bail!("{} lists no ids", ids_file.display());
    }
    let Some(section) = config.connectors.iter().find(|c| c.id == connector) else {
        bail!(
            "no connector {connector:?} in {}",
            config.source_path.display()
        );
    };
    let handle = connectors::build(section)?;
    let Some(spec) = handle.enabled_streams().into_iter().find(|s| {
        matches!(s.mode, hirebridge_sdk::SyncMode::RefreshKnown { .. })
            && stream.as_deref().is_none_or(|n| n == s.name)
    }) else {
        bail!(
            "connector {connector:?} has no stream that imports ids{}: only providers without a list endpoint have one",
            stream.map(|s| format!(" named {s:?}")).unwrap_or_default()
        );
    };
    let db = open_database(&config).await?;
    let result = async {
        let engine = Engine::new(db.pool.clone(), vec![handle.clone()]).await?;
        let options = PassOptions {
            only_ids: Some(ids),
            ..PassOptions::default()
        };
        // A running daemon may hold the stream for a pass of its own: wait for
        // it (bounded) instead of reporting the import as skipped.
        let deadline = std::time::Instant::now() + IMPORT_LEASE_WAIT;
        let mut said = false;
        let report = loop {
            let report = poller::run_pass(&engine, &handle, &spec, &options).await;
            if report.outcome != PassOutcome::Skipped || std::time::Instant::now() >= deadline {
                break report;
            }
            if !said {
                eprintln!(
                    "{connector}/{}: a daemon is running a pass of this stream; waiting for it to finish",
                    spec.name
                );
                said = true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        };
        engine.release_leases().await;
        anyhow::Ok(report)
    }
    .await;
    db.close().await;
    let report = result?;
    print_reports(std::slice::from_ref(&report));
    match report.outcome {
        PassOutcome::Failed => bail!("the import failed: {}", report.error.unwrap_or_default()),
        PassOutcome::Skipped => bail!(
            "the import did not run: the stream stayed leased by another daemon for {}",
            humantime::format_duration(IMPORT_LEASE_WAIT)
        ),
        PassOutcome::Completed => Ok(()),
    }
}

/// How long `import` waits for a daemon's pass of the same stream to end.
const IMPORT_LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

fn print_reports(reports: &[PassReport]) {
    let header = [
        "connector",
        "stream",
        "pages",
        "seen",
        "created",
        "updated",
        "unchanged",
        "deleted",
        "events",
        "duration",
        "result",
    ];
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.connector_id.clone(),
                r.stream.clone(),
                r.pages.to_string(),
                r.seen.to_string(),
                r.created.to_string(),
                r.updated.to_string(),
                r.unchanged.to_string(),
                r.deleted.to_string(),
                r.events.to_string(),
                format!("{:.2}s", r.duration_ms as f64 / 1000.0),
                match r.outcome {
                    PassOutcome::Completed if r.warning.is_some() => {
                        "WARNING (see below)".to_string()
                    }
                    PassOutcome::Completed if r.full_pass => "ok (full)".to_string(),
                    PassOutcome::Completed => "ok".to_string(),
                    PassOutcome::Skipped => format!(
                        "skipped: {}",
                        r.error.as_deref().unwrap_or("leased by another daemon")
                    ),
                    PassOutcome::Failed => {
                        format!("FAILED: {}", r.error.as_deref().unwrap_or("unknown"))
                    }
                },
            ]
        })
        .collect();
    print_table(&header, &rows);
    for r in reports.iter().filter(|r| r.warning.is_some()) {
        println!(
            "warning: {}/{}: {}",
            r.connector_id,
            r.stream,
            r.warning.as_deref().unwrap_or_default()
        );
    }
}

/// Prints an aligned text table (numbers right-aligned).
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let numeric = !c.is_empty()
                    && c.chars()
                        .all(|ch| ch.is_ascii_digit() || ch == '.' || ch == 's');
                if i == last {
                    c.clone()
                } else if numeric {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

fn ago(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        None => "never".into(),
        Some(t) => {
            let secs = (now - t).num_seconds().max(0) as u64;
            format!(
                "{} ago",
                humantime::format_duration(Duration::from_secs(secs))
            )
        }
    }
}

/// Records held per (connector, entity), live rows only.
async fn records_held(pool: &sqlx::PgPool) -> anyhow::Result<Vec<(String, EntityKind, i64)>> {
    let mut out = Vec::new();
    for &kind in EntityKind::ALL {
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "select connector_id, count(*) from hiring.{} where deleted_at is null group by connector_id",
            kind.table()
        ))
        .fetch_all(pool)
        .await?;
        out.extend(rows.into_iter().map(|(c, n)| (c, kind, n)));
    }
    Ok(out)
}

/// `hirebridge resume <connector>`: lifts a pause (refused credentials, spent
/// quota) once the operator has dealt with its cause.
pub async fn resume(config: Config, connector: &str) -> anyhow::Result<()> {
    if !config.connectors.iter().any(|c| c.id == connector) {
        anyhow::bail!(
            "no connector {connector:?} in {}",
            config.source_path.display()
        );
    }
    let db = open_database(&config).await?;
    let resumed = crate::store::connector_state::resume(&db.pool, connector).await;
    db.close().await;
    if resumed? {
        println!("connector {connector} resumed; its next scheduled pass calls the provider again");
    } else {
        println!("connector {connector} was not paused");
    }
    Ok(())
}

/// `hirebridge status`: per connector and stream, health, last success and
/// error, and the records held.
pub async fn status(config: Config, as_json: bool) -> anyhow::Result<()> {
    let db = open_database_read_only(&config).await?;
    let result = status_report(&db.pool, &config).await;
    db.close().await;
    let report = result?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let now = Utc::now();
    // Connectors that are paused or work only partly, said first.
    for c in report["connectors"].as_array().into_iter().flatten() {
        let id = c["connector"].as_str().unwrap_or_default();
        if c["paused"].as_bool() == Some(true) {
            let until = c["paused_until"]
                .as_str()
                .map(|t| format!("until {t}"))
                .unwrap_or_else(|| format!("until the config changes or `hirebridge resume {id}`"));
            println!(
                "connector {id}: PAUSED {until}: {}",
                c["paused_reason"].as_str().unwrap_or_default()
            );
        }
        for note in c["degraded"].as_array().into_iter().flatten() {
            println!(
                "connector {id}: degraded: {}",
                note.as_str().unwrap_or_default()
            );
        }
    }
    let mut rows = Vec::new();
    for s in report["streams"].as_array().into_iter().flatten() {
        let get = |k: &str| s[k].as_str().map(str::to_string);
        let time = |k: &str| get(k).and_then(|t| t.parse::<DateTime<Utc>>().ok());
        let health = match get("warning") {
            Some(_) => "WARNING".to_string(),
            None => get("health").unwrap_or_else(|| "unknown".into()),
        };
        rows.push(vec![
            get("connector").unwrap_or_default(),
            get("stream").unwrap_or_default(),
            health,
            ago(time("last_success_at"), now),
            s["records"]
                .as_i64()
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            get("lease").unwrap_or_else(|| "-".into()),
            get("last_error")
                .map(|e| truncate(&e, 80))
                .unwrap_or_default(),
        ]);
    }
    print_table(
        &[
            "connector",
            "stream",
            "health",
            "last success",
            "records",
            "lease",
            "last error",
        ],
        &rows,
    );
    let ingress: Vec<Vec<String>> = report["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let last = i["last_heard_at"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok());
            vec![
                i["connector"].as_str().unwrap_or_default().to_string(),
                i["inbox_backlog"].to_string(),
                i["dead_letters"].to_string(),
                i["rejected"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default(),
                ago(last, now),
            ]
        })
        .collect();
    let spool = &report["spool"];
    if spool["records"].as_u64().unwrap_or(0) > 0 {
        println!(
            "\nwebhook spool: {} deliveries ({} bytes), the oldest {} s old, waiting for the database",
            spool["records"], spool["bytes"], spool["oldest_age_secs"]
        );
    }
    if !ingress.is_empty() {
        println!();
        print_table(
            &[
                "connector",
                "inbox backlog",
                "dead letters",
                "rejected",
                "last heard from",
            ],
            &ingress,
        );
    }
    let sinks: Vec<Vec<String>> = report["sinks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let owners = s["partitions"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(owner, n)| format!("{n} by {owner}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|o| !o.is_empty())
                .unwrap_or_else(|| "none held".into());
            vec![
                s["sink"].as_str().unwrap_or_default().to_string(),
                s["position"].to_string(),
                format!(
                    "{} events, {}",
                    s["lag_events"],
                    s["lag_seconds"]
                        .as_i64()
                        .map(|n| format!("{n}s"))
                        .unwrap_or_else(|| "0s".into())
                ),
                format!("{} ({} entities)", s["held"], s["held_entities"]),
                s["dead"].to_string(),
                s["oldest_pending_seconds"]
                    .as_i64()
                    .map(|n| format!("{n}s"))
                    .unwrap_or_else(|| "-".into()),
                s["disabled_reason"]
                    .as_str()
                    .map(|r| format!("DISABLED: {r}"))
                    .unwrap_or_else(|| "enabled".into()),
                owners,
            ]
        })
        .collect();
    if !sinks.is_empty() {
        println!();
        print_table(
            &[
                "sink",
                "position",
                "behind",
                "held",
                "dead",
                "oldest pending",
                "state",
                "partitions",
            ],
            &sinks,
        );
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// The status as JSON (also what `--json` prints).
pub async fn status_report(pool: &sqlx::PgPool, config: &Config) -> anyhow::Result<Value> {
    let spool = crate::ingress::spool::stats_on_disk(&config.data_dir);
    status_report_with(pool, config, spool).await
}

/// [`status_report`] with the spool's depth already known (the running
/// daemon keeps it in memory; reading the spool's files each time is for a
/// separate `status` process).
pub async fn status_report_with(
    pool: &sqlx::PgPool,
    config: &Config,
    spool: crate::ingress::spool::SpoolStats,
) -> anyhow::Result<Value> {
    let statuses = sync_state::stream_statuses(pool).await?;
    let held = records_held(pool).await?;
    let (handles, _) = connectors::build_all(&config.connectors);
    let now = Utc::now();
    let mut streams = Vec::new();
    for c in &config.connectors {
        let handle = handles.iter().find(|h| h.id == c.id);
        let specs: Vec<_> = handle
            .map(|h| h.connector.streams().to_vec())
            .unwrap_or_default();
        for spec in specs {
            let st = statuses
                .iter()
                .find(|s| s.connector_id == c.id && s.stream == spec.name);
            let records = spec.entity.map(|k| {
                held.iter()
                    .filter(|(id, kind, _)| id == &c.id && *kind == k)
                    .map(|(_, _, n)| *n)
                    .sum::<i64>()
            });
            streams.push(json!({
                "connector": c.id,
                "provider": c.provider(),
                "stream": spec.name,
                "enabled": c.enabled && !handle.is_some_and(|h| h.disabled_streams.contains(spec.name)),
                "health": st.and_then(|s| s.health.clone()),
                "health_reason": st.and_then(|s| s.health_reason.clone()),
                "last_success_at": st.and_then(|s| s.last_success_at),
                "seconds_since_success": st.and_then(|s| s.last_success_at).map(|t| (now - t).num_seconds()),
                "last_attempt_at": st.and_then(|s| s.last_attempt_at),
                "last_error": st.and_then(|s| s.last_error.clone()),
                "last_error_at": st.and_then(|s| s.last_error_at),
                "consecutive_failures": st.map(|s| s.consecutive_failures).unwrap_or(0),
                "last_duration_ms": st.and_then(|s| s.last_duration_ms),
                "last_counts": st.map(|s| s.last_counts.clone()),
                "leased_by": st.and_then(|s| s.leased_by.clone()),
                "lease": st.and_then(|s| s.leased_by.as_ref()).map(ToString::to_string),
                // Reference lists keep no table: what their last pass saw.
                "records": records.or_else(|| {
                    st.and_then(|s| s.last_counts.get("seen").and_then(Value::as_i64))
                }),
                "warning": st.and_then(|s| s.last_counts.get("warning").and_then(Value::as_str).map(str::to_string)),
            }));
        }
    }
    let states = crate::store::connector_state::statuses(pool).await?;
    let connectors: Vec<Value> = config
        .connectors
        .iter()
        .map(|c| {
            let st = states.iter().find(|s| s.connector_id == c.id);
            json!({
                "connector": c.id,
                "provider": c.provider(),
                "enabled": c.enabled,
                "health": st.and_then(|s| s.health.clone()),
                "health_reason": st.and_then(|s| s.health_reason.clone()),
                "paused": st.is_some_and(|s| s.paused),
                "paused_until": st.and_then(|s| s.paused_until),
                "paused_reason": st.and_then(|s| s.paused_reason.clone()),
                "degraded": st.map(|s| s.degraded_notes.clone()).unwrap_or_default(),
            })
        })
        .collect();
    let mut ingress = crate::store::inbox::ingress_status(pool).await?;
    // Every configured connector that receives webhooks has a row, heard from or not.
    for c in &config.connectors {
        let webhooks = connectors::plugin(c.provider()).is_some_and(|p| p.capabilities().webhooks);
        if webhooks && !ingress.iter().any(|i| i["connector"] == c.id.as_str()) {
            ingress.push(json!({
                "connector": c.id, "inbox_backlog": 0, "dead_letters": 0,
                "rejected": {}, "last_heard_at": null,
            }));
        }
    }
    ingress.sort_by(|a, b| a["connector"].as_str().cmp(&b["connector"].as_str()));
    let sinks = crate::store::deliveries::sink_status(pool).await?;
    Ok(
        json!({ "generated_at": now, "connectors": connectors, "streams": streams, "ingress": ingress, "spool": spool, "sinks": sinks }),
    )
}
