//! PostgreSQL: where the database comes from (a configured URL or the managed
//! cluster), the connection pool, and the schema migrations.

pub mod cluster;
pub mod connector_state;
pub mod deliveries;
pub mod entities;
pub mod event_log;
pub mod health;
pub mod inbox;
pub mod lease;
pub mod partition;
pub mod persons;
pub mod sync_state;

use crate::config::Config;
use backon::{BackoffBuilder, ExponentialBuilder};
use cluster::{ClusterError, ClusterOptions, ManagedCluster};
use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Begins a transaction that a cancelled caller cannot leak. sqlx sends `BEGIN`
/// and, if the future is dropped before the answer arrives, hands the connection
/// back to the pool still inside that transaction; the next query on it then
/// runs (and holds its locks) in a transaction nobody commits. A pass dropped at
/// shutdown, or a test aborting one to simulate a crash, hit exactly that. The
/// `BEGIN` runs in its own task, so it always completes and a transaction nobody
/// awaits is dropped, which rolls it back.
pub async fn begin(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin().await }).await {
        Ok(result) => result,
        Err(e) => Err(sqlx::Error::WorkerCrashed).inspect_err(|_| {
            tracing::warn!(error = %e, "the task beginning a transaction failed");
        }),
    }
}

/// The unified schema's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("database URL is not valid: {0}")]
    InvalidUrl(String),
    #[error("database not reachable after {waited:.1?}: {cause}")]
    Unreachable { waited: Duration, cause: String },
    #[error("applying migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// The daemon's database: the pool, and the managed cluster when it runs one.
pub struct Database {
    pub pool: PgPool,
    cluster: Option<ManagedCluster>,
}

impl Database {
    /// Connects to `database.url`, or starts the managed cluster under `data_dir`
    /// when no URL is configured. Retries while the database is not up yet, for up
    /// to `database.connect_timeout`.
    pub async fn open(config: &Config) -> Result<Database, StoreError> {
        let db = &config.database;
        let (url, cluster) = match &db.url {
            Some(url) => (SecretString::from(url.expose().to_string()), None),
            None => {
                let cluster = ManagedCluster::start(&ClusterOptions {
                    data_dir: config.data_dir.clone(),
                    port: db.managed.port,
                    bin_dir: db.managed.bin_dir.clone(),
                    system_user: db.managed.system_user.clone(),
                })
                .await?;
                (cluster.url(), Some(cluster))
            }
        };
        let settings = PoolSettings {
            max_connections: db.max_connections,
            min_connections: db.min_connections,
            acquire_timeout: db.acquire_timeout,
            statement_timeout: db.statement_timeout,
            connect_timeout: db.connect_timeout,
        };
        let pool = match connect(&url, &settings).await {
            Ok(pool) => pool,
            Err(e) => {
                if let Some(cluster) = cluster {
                    let _ = cluster.stop().await;
                }
                return Err(e);
            }
        };
        Ok(Database { pool, cluster })
    }

    /// Closes the pool and stops the managed cluster if this process started it.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            if let Err(e) = cluster.stop().await {
                tracing::warn!(error = %e, "stopping the managed PostgreSQL failed");
            }
        }
    }

    /// The managed cluster's port, when one is used (for status output).
    pub fn managed_port(&self) -> Option<u16> {
        self.cluster.as_ref().map(ManagedCluster::port)
    }
}

/// How the pool is sized and how long start-up waits for the database.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(60),
        }
    }
}

/// Opens a pool, retrying with exponential backoff and jitter until
/// `connect_timeout` has passed: the database may come up after the daemon.
/// `connect_timeout` is an upper bound (each attempt is cut to the time left),
/// and a failure names its cause once (connection refused, authentication,
/// DNS, timed out), not the pool's "timed out".
pub async fn connect(url: &SecretString, settings: &PoolSettings) -> Result<PgPool, StoreError> {
    // The parse error of a URL can echo it, password included: keep only its kind.
    let options = PgConnectOptions::from_str(url.expose_secret())
        .map_err(|e| StoreError::InvalidUrl(redact_url_error(&e)))?
        .application_name("hirebridge")
        .options([(
            "statement_timeout",
            format!("{}", settings.statement_timeout.as_millis()),
        )]);
    let started = Instant::now();
    let deadline = started + settings.connect_timeout;
    retry_until(deadline, "connecting to the database", || async {
        // One direct connection first: its error is the real cause (a pool
        // would retry it internally and report only that it timed out).
        let conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options).await?;
        sqlx::Connection::close(conn).await?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options.clone());
        sqlx::query("select 1").execute(&pool).await?;
        Ok(pool)
    })
    .await
    .map_err(|(cause, _)| StoreError::Unreachable {
        waited: started.elapsed(),
        cause,
    })
}

/// Runs `attempt` until it succeeds, its error is not transient, or
/// `deadline` passes (each attempt is cut to the time left); returns the
/// failure's cause in words and the error.
async fn retry_until<T, F, Fut>(
    deadline: Instant,
    what: &str,
    mut attempt: F,
) -> Result<T, (String, Option<sqlx::Error>)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build();
    let mut last_cause: Option<String> = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let source =
            match tokio::time::timeout(left.max(Duration::from_millis(50)), attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => e,
                Err(_) => {
                    let cause = last_cause.unwrap_or_else(|| "timed out".into());
                    return Err((cause, None));
                }
            };
        let cause = describe_connect_error(&source);
        let left = deadline.saturating_duration_since(Instant::now());
        if !is_transient_connect_error(&source) || left.is_zero() {
            return Err((cause, Some(source)));
        }
        let wait = delays.next().unwrap_or(Duration::from_secs(5)).min(left);
        // Said once per cause, not once per attempt.
        if last_cause.as_deref() != Some(cause.as_str()) {
            tracing::warn!(%cause, retry_in = ?wait, "{what}: database not reachable yet; retrying until connect_timeout");
        }
        last_cause = Some(cause);
        tokio::time::sleep(wait).await;
    }
}

/// Connection failures worth waiting out (the server is starting, restarting
/// or shutting down); a wrong password or a missing database is not.
fn is_transient_connect_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// What went wrong, in the words an operator acts on; never the URL.
fn describe_connect_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is PostgreSQL running on that host and port?)".into()
            }
            std::io::ErrorKind::TimedOut => "connection timed out".into(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => {
                "the server closed the connection".into()
            }
            _ if io.to_string().contains("lookup") || io.to_string().contains("resolve") => {
                format!("host name not found (DNS): {io}")
            }
            _ => format!("network error: {io}"),
        },
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01" | "28000") => format!("authentication failed: {}", db.message()),
            Some("3D000") => format!("database does not exist: {}", db.message()),
            Some("57P01" | "57P02" | "57P03") => {
                format!("the server is starting or shutting down: {}", db.message())
            }
            _ => db.message().to_string(),
        },
        sqlx::Error::Tls(e) => format!("TLS: {e}"),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".into(),
        other => other.to_string(),
    }
}

fn redact_url_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Configuration(_) => {
            "it must look like postgres://user:password@host:port/database".into()
        }
        _ => "it could not be parsed".into(),
    }
}

/// Applies every pending migration; a no-op when the schema is current.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// [`migrate`] at start-up: a database that goes away meanwhile (a restart,
/// a failover) is waited for until `deadline`, not a reason to exit.
pub async fn migrate_until(pool: &PgPool, deadline: Instant) -> Result<(), StoreError> {
    let started = Instant::now();
    let result = retry_until(deadline, "applying migrations", || async {
        match MIGRATOR.run(pool).await {
            Ok(()) => Ok(Ok(())),
            Err(sqlx::migrate::MigrateError::Execute(e)) => Err(e),
            Err(other) => Ok(Err(other)),
        }
    })
    .await;
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StoreError::Migrate(e)),
        Err((_, Some(e))) if !is_transient_connect_error(&e) => Err(StoreError::Sql(e)),
        Err((cause, _)) => Err(StoreError::Unreachable {
            waited: started.elapsed(),
            cause,
        }),
    }
}

/// How many embedded migrations are not applied (successfully) to this database.
pub async fn pending_migrations(pool: &PgPool) -> Result<usize, StoreError> {
    let exists: bool =
        sqlx::query_scalar("select to_regclass('public._sqlx_migrations') is not null")
            .fetch_one(pool)
            .await?;
    let applied: Vec<i64> = if exists {
        sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    Ok(MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .count())
}
