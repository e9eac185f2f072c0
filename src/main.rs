//! The `hirebridge` command line: the daemon (`run`) and its operator commands.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hirebridge::app::{self, App};
use hirebridge::commands;
use hirebridge::config::{Config, ConfigErrors};
use hirebridge::store::{self, Database};
use hirebridge::telemetry;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hirebridge",
    version,
    about = "Bridges Applicant Tracking Systems into one hiring schema in PostgreSQL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// The TOML configuration file.
    #[arg(
        long,
        short,
        env = "HIREBRIDGE_CONFIG",
        default_value = "config/hirebridge.toml"
    )]
    config: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// The whole product on this machine, no accounts: simulators, the daemon, a
    /// verifying receiver; a backfill, live changes, and a summary.
    Demo {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        /// Simulated records per polling provider.
        #[arg(long, default_value_t = 2000)]
        records: usize,
        /// How long the live part runs (e.g. 30s); until Ctrl-C when absent.
        #[arg(long)]
        duration: Option<humantime::Duration>,
        /// Live changes per second.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
    },
    /// Run the daemon until SIGINT or SIGTERM.
    Run(ConfigArg),
    /// Validate a configuration file: prints "ok" and a summary, or every error (exit 2).
    Check(ConfigArg),
    /// Apply pending schema migrations and exit.
    Migrate(ConfigArg),
    /// Run one poll pass now and print what it did per stream.
    Sync {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this connector.
        #[arg(long)]
        connector: Option<String>,
        /// Only this stream (e.g. `candidates`).
        #[arg(long)]
        stream: Option<String>,
        /// Ignore saved cursors: list everything (and detect deletions).
        #[arg(long)]
        full: bool,
    },
    /// Per connector and stream: health, last success, last error, records held.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Erase one person's personal data everywhere (right to be forgotten); sinks
    /// get a `person.erased` event.
    Erase {
        #[command(flatten)]
        config: ConfigArg,
        /// The person's email address.
        #[arg(long)]
        person: String,
    },
    /// Make records known to a connector whose provider has no list endpoint:
    /// read each id in FILE from the provider now.
    Import {
        #[command(flatten)]
        config: ConfigArg,
        /// The connector.
        #[arg(long)]
        connector: String,
        /// Its stream, when it has several that import ids.
        #[arg(long)]
        stream: Option<String>,
        /// One remote id a line; `#` starts a comment.
        #[arg(long)]
        ids: PathBuf,
    },
    /// A live dashboard of a running daemon: streams, inbox, spool, sinks (q quits).
    Top {
        /// The daemon's admin address; read from the config's
        /// `server.admin_listen` when absent.
        #[arg(long)]
        admin: Option<std::net::SocketAddr>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Lift a connector's pause (refused credentials, spent quota) once its cause is fixed.
    Resume {
        #[command(flatten)]
        config: ConfigArg,
        /// The connector id.
        connector: String,
    },
    /// Re-send events to a sink with their original ids.
    Replay {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        sink: String,
        /// One event by id.
        #[arg(long, conflicts_with_all = ["since", "entity"])]
        event: Option<String>,
        /// Events since this time (RFC 3339).
        #[arg(long, conflicts_with = "entity")]
        since: Option<String>,
        /// With --since: events before this time.
        #[arg(long, requires = "since")]
        until: Option<String>,
        /// Every event of one entity: TYPE:ID (e.g. application:0192…).
        #[arg(long)]
        entity: Option<String>,
    },
    /// Dead letters: deliveries that could not be processed.
    Dlq {
        #[command(subcommand)]
        action: DlqCommand,
    },
    /// Run a provider simulator alone (`simulate PROVIDER`, any name in the provider list).
    Simulate {
        /// The provider (see `hirebridge check` for the list).
        provider: String,
        #[arg(long, default_value = "127.0.0.1:9401")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1000)]
        records: usize,
        /// The API key the simulator accepts.
        #[arg(long, default_value = "sim-key")]
        api_key: String,
        /// Added to every API request (a provider's real latency), e.g. "150ms".
        #[arg(long, value_parser = humantime::parse_duration)]
        latency: Option<std::time::Duration>,
    },
    /// Measure throughput (results belong in the README).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List dead letters.
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        connector: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one entry with its body and reason.
    Show {
        #[command(flatten)]
        config: ConfigArg,
        id: i64,
    },
    /// Queue dead letters for processing again.
    Retry {
        #[command(flatten)]
        config: ConfigArg,
        ids: Vec<i64>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
        /// Instead: the dead deliveries of this sink (and re-enable it if a 410 disabled it).
        #[arg(long)]
        sink: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Backfill from a provider's simulator into PostgreSQL, then re-poll unchanged data.
    Sync {
        #[arg(long, default_value = hirebridge::connectors::BENCH_POLLING)]
        provider: String,
        /// Total simulated records across entities.
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulator latency per request with the provider's documented rate
        /// limit on: reports how close the backfill comes to that ceiling.
        #[arg(long, value_parser = humantime::parse_duration)]
        latency: Option<std::time::Duration>,
        /// Use this PostgreSQL instead of a managed cluster.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        /// Where the managed cluster lives.
        #[arg(long, default_value = "./var/bench")]
        data_dir: PathBuf,
    },
    /// Webhook to signed downstream event, verified: end-to-end latency and events/s.
    Deliver {
        /// The provider whose signed webhooks carry the changes.
        #[arg(long, default_value = hirebridge::connectors::BENCH_WEBHOOKS)]
        provider: String,
        #[arg(long, default_value_t = 10_000)]
        changes: usize,
        /// Paced rate of the latency phase, changes/s.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 20_000)]
        burst: usize,
        /// Events written straight into the log at once (delivery alone).
        #[arg(long, default_value_t = 50_000)]
        log_burst: usize,
        /// Repeat every phase after filling the log with this many events (by SQL).
        #[arg(long, default_value_t = 0)]
        history: u64,
        /// The sink's max_in_flight.
        #[arg(long, default_value_t = 64)]
        max_in_flight: u32,
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value = "./var/bench")]
        data_dir: PathBuf,
    },
    /// Signed webhooks from many connections into the daemon: acks/s, latency, drain time.
    Ingest {
        /// The provider whose signed webhooks are sent.
        #[arg(long, default_value = hirebridge::connectors::BENCH_WEBHOOKS)]
        provider: String,
        #[arg(long, default_value_t = 50_000)]
        deliveries: usize,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Records the simulator holds, which its deliveries are about.
        #[arg(long, default_value_t = commands::bench::WEBHOOK_SIM_RECORDS)]
        records: usize,
        /// Offered load in deliveries/s (default: as fast as the daemon acknowledges).
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value = "./var/bench")]
        data_dir: PathBuf,
    },
    /// Webhooks at a steady rate while PostgreSQL crashes and comes back:
    /// acknowledgement latency per phase, spool depth, nothing lost or doubled.
    Outage {
        /// The provider whose signed webhooks are sent.
        #[arg(long, default_value = hirebridge::connectors::BENCH_WEBHOOKS)]
        provider: String,
        /// Deliveries per second.
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        /// How long before the crash, how long PostgreSQL stays down, how long after.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        before: std::time::Duration,
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        outage: std::time::Duration,
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        after: std::time::Duration,
        /// Where its own PostgreSQL cluster and the daemon's spool live.
        #[arg(long, default_value = "./var/bench-outage")]
        data_dir: PathBuf,
    },
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for an invalid configuration, distinct from runtime failures (1).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if matches!(
        cli.command,
        Command::Simulate { .. } | Command::Bench { .. } | Command::Demo { .. }
    ) {
        telemetry::init_logging(&hirebridge::config::TelemetryConfig {
            log_format: hirebridge::config::LogFormat::Text,
            log_filter: "warn".into(),
        });
    }
    runtime.block_on(async {
        match cli.command {
            Command::Check(args) => check(&args.config),
            Command::Demo {
                config,
                records,
                duration,
                rate,
            } => {
                let args = commands::demo::DemoArgs {
                    config,
                    records,
                    duration: duration.map(Into::into),
                    rate,
                };
                edge(commands::demo::demo(args).await)
            }
            Command::Run(args) => with_config(&args.config, run).await,
            Command::Migrate(args) => with_config(&args.config, migrate).await,
            Command::Sync {
                config,
                connector,
                stream,
                full,
            } => {
                let args = commands::SyncArgs {
                    connector,
                    stream,
                    full,
                };
                operator_command(&config.config, |c| commands::sync(c, args)).await
            }
            Command::Status { config, json } => {
                operator_command(&config.config, |c| commands::status(c, json)).await
            }
            Command::Erase { config, person } => {
                operator_command(&config.config, |c| async move {
                    commands::erase(c, &person).await
                })
                .await
            }
            Command::Import {
                config,
                connector,
                stream,
                ids,
            } => {
                operator_command(&config.config, |c| async move {
                    commands::import(c, &connector, stream, &ids).await
                })
                .await
            }
            Command::Top { admin, config } => match admin {
                Some(admin) => edge(commands::top::top(admin).await),
                None => {
                    operator_command(&config.config, |c| async move {
                        let mut admin = c.server.admin_listen;
                        if admin.ip().is_unspecified() {
                            admin.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                        }
                        commands::top::top(admin).await
                    })
                    .await
                }
            },
            Command::Resume { config, connector } => {
                operator_command(&config.config, |c| async move {
                    commands::resume(c, &connector).await
                })
                .await
            }
            Command::Replay {
                config,
                sink,
                event,
                since,
                until,
                entity,
            } => {
                use commands::replay::Selection;
                let selection = match (event, since, entity) {
                    (Some(id), _, _) => Selection::Event(id),
                    (_, Some(since), _) => Selection::Since { since, until },
                    (_, _, Some(entity)) => match entity.split_once(':') {
                        Some((t, id)) => Selection::Entity {
                            entity_type: t.to_string(),
                            entity_id: id.to_string(),
                        },
                        None => {
                            eprintln!("error: --entity takes TYPE:ID");
                            return ExitCode::from(EXIT_CONFIG);
                        }
                    },
                    _ => {
                        eprintln!("error: give --event ID, --since TIME or --entity TYPE:ID");
                        return ExitCode::from(EXIT_CONFIG);
                    }
                };
                operator_command(&config.config, |c| {
                    commands::replay::replay(c, sink, selection)
                })
                .await
            }
            Command::Dlq { action } => match action {
                DlqCommand::List {
                    config,
                    connector,
                    json,
                } => {
                    operator_command(&config.config, |c| commands::dlq::list(c, connector, json))
                        .await
                }
                DlqCommand::Show { config, id } => {
                    operator_command(&config.config, |c| commands::dlq::show(c, id)).await
                }
                DlqCommand::Retry {
                    config,
                    ids,
                    all,
                    sink,
                } => {
                    operator_command(&config.config, |c| commands::dlq::retry(c, ids, all, sink))
                        .await
                }
            },
            Command::Simulate {
                provider,
                listen,
                seed,
                records,
                api_key,
                latency,
            } => edge(
                commands::simulate::run(&provider, listen, seed, records, api_key, latency).await,
            ),
            Command::Bench {
                what:
                    BenchCommand::Sync {
                        provider,
                        records,
                        seed,
                        latency,
                        database_url,
                        data_dir,
                    },
            } => {
                let args = commands::bench::BenchSyncArgs {
                    provider,
                    records,
                    seed,
                    latency,
                    database_url,
                    data_dir,
                };
                edge(commands::bench::sync(args).await)
            }
            Command::Bench {
                what:
                    BenchCommand::Ingest {
                        provider,
                        deliveries,
                        connections,
                        records,
                        rate,
                        database_url,
                        data_dir,
                    },
            } => {
                let args = commands::bench::BenchIngestArgs {
                    provider,
                    deliveries,
                    connections,
                    records,
                    rate,
                    database_url,
                    data_dir,
                };
                edge(commands::bench::ingest(args).await)
            }
            Command::Bench {
                what:
                    BenchCommand::Outage {
                        provider,
                        rate,
                        before,
                        outage,
                        after,
                        data_dir,
                    },
            } => {
                let args = commands::bench_outage::BenchOutageArgs {
                    provider,
                    rate,
                    before,
                    outage,
                    after,
                    data_dir,
                };
                edge(commands::bench_outage::outage(args).await)
            }
            Command::Bench {
                what:
                    BenchCommand::Deliver {
                        provider,
                        changes,
                        rate,
                        burst,
                        log_burst,
                        history,
                        max_in_flight,
                        database_url,
                        data_dir,
                    },
            } => {
                let args = commands::bench_deliver::BenchDeliverArgs {
                    provider,
                    changes,
                    rate,
                    burst,
                    log_burst,
                    history,
                    max_in_flight,
                    database_url,
                    data_dir,
                };
                edge(commands::bench_deliver::deliver(args).await)
            }
        }
    })
}

fn check(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            println!("ok: {}", path.display());
            for line in config.summary_lines() {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => report_config_errors(path, &errors),
    }
}

fn report_config_errors(path: &Path, errors: &ConfigErrors) -> ExitCode {
    eprintln!(
        "error: {} has {} problem(s):",
        path.display(),
        errors.errors.len()
    );
    for e in &errors.errors {
        eprintln!("  {e}");
    }
    ExitCode::from(EXIT_CONFIG)
}

/// Loads the config (exit 2 with every error when invalid), sets up logging, and
/// runs `f`; a runtime failure prints its whole cause chain and exits 1.
async fn with_config<F, Fut>(path: &Path, f: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    with_config_logging(path, true, f).await
}

/// [`with_config`] for a command an operator runs at a terminal (`status`,
/// `dlq`, `replay`, `resume`, `sync`): warnings only, as text on stderr, so
/// what it prints is not buried in the daemon's JSON log lines.
async fn operator_command<F, Fut>(path: &Path, f: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    with_config_logging(path, false, f).await
}

async fn with_config_logging<F, Fut>(path: &Path, daemon_logging: bool, f: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => return report_config_errors(path, &errors),
    };
    if daemon_logging {
        telemetry::init_logging(&config.telemetry);
    } else {
        telemetry::init_logging(&hirebridge::config::TelemetryConfig {
            log_format: hirebridge::config::LogFormat::Text,
            log_filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        });
    }
    match f(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Commands without a config file: log to stderr as text, report errors the same way.
fn edge(result: anyhow::Result<()>) -> ExitCode {
    // (Logging for these commands was set up in `main` before they ran.)
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let app = App::bind(config).await?;
    app.run(app::shutdown_signal()).await?;
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config)
        .await
        .context("opening the database")?;
    let pending = store::pending_migrations(&db.pool).await?;
    let result = store::migrate(&db.pool).await;
    db.close().await;
    result.context("applying migrations")?;
    println!("migrations applied: {pending} new, schema is current");
    Ok(())
}
