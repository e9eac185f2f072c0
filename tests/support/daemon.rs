//! The one way integration tests run the daemon: config built as data (TOML
//! tables from JSON values), a fresh real PostgreSQL database, every listener on
//! port 0, and helpers that wait for conditions (bounded), never for sleeps.

use super::TestDb;
use hirebridge::app::App;
use hirebridge::config::Config;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A daemon's configuration as data: `[[connectors]]` and `[[sinks]]` tables as
/// JSON objects, plus top-level overrides.
#[derive(Debug, Clone, Default)]
pub struct DaemonConfig {
    pub connectors: Vec<Value>,
    pub sinks: Vec<Value>,
    /// Extra keys of `[server]`.
    pub server: serde_json::Map<String, Value>,
    /// Keys of `[events]`.
    pub events: serde_json::Map<String, Value>,
}

impl DaemonConfig {
    pub fn connector(mut self, section: Value) -> DaemonConfig {
        self.connectors.push(section);
        self
    }

    pub fn sink(mut self, section: Value) -> DaemonConfig {
        self.sinks.push(section);
        self
    }

    /// The TOML text for a daemon on `database_url`.
    pub fn to_toml(&self, database_url: &str) -> String {
        let mut server = json!({
            "admin_listen": "127.0.0.1:0",
            "webhook_listen": "127.0.0.1:0",
            "shutdown_grace": "2s",
        });
        for (k, v) in &self.server {
            server[k] = v.clone();
        }
        // Each daemon its own data_dir (its webhook spool), under cargo's
        // temporary directory for integration tests.
        static DIRS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let data_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "hb-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let mut doc = json!({
            "data_dir": data_dir.display().to_string(),
            "database": {"url": database_url, "acquire_timeout": "2s"},
            "server": server,
            "connectors": self.connectors,
            "sinks": self.sinks,
        });
        if !self.events.is_empty() {
            doc["events"] = Value::Object(self.events.clone());
        }
        toml::to_string(&doc).expect("the test config serialises as TOML")
    }

    pub fn parse(&self, database_url: &str) -> Config {
        Config::from_str_with_env(&self.to_toml(database_url), Path::new("test.toml"), &|_| {
            None
        })
        .unwrap_or_else(|e| panic!("test config is invalid:\n{e}"))
    }
}

/// A running daemon on its own database.
pub struct TestDaemon {
    pub webhooks: SocketAddr,
    pub admin: SocketAddr,
    pub pool: PgPool,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), hirebridge::app::AppError>>>,
    pub db: TestDb,
}

/// Starts the daemon of `config` on a fresh migrated database; returns once
/// `/readyz` answers 200.
pub async fn spawn_daemon(config: DaemonConfig) -> TestDaemon {
    let db = TestDb::migrated().await;
    spawn_daemon_on(config, db).await
}

/// As [`spawn_daemon`], on an existing database.
pub async fn spawn_daemon_on(config: DaemonConfig, db: TestDb) -> TestDaemon {
    let config = config.parse(&db.url);
    let app = App::bind(config.clone()).await.expect("the daemon binds");
    let (webhooks, admin) = (app.webhook_addr(), app.admin_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let d = TestDaemon {
        webhooks,
        admin,
        pool: db.pool.clone(),
        config,
        stop: Some(stop),
        task: Some(task),
        db,
    };
    let ready = format!("http://{admin}/readyz");
    wait_until("the daemon is ready", Duration::from_secs(60), || async {
        reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().as_u16() == 200)
    })
    .await;
    d
}

/// An engine (no daemon) with `config`'s connectors on `pool`; a connector
/// that cannot be built fails the test.
pub async fn engine_for(config: &Config, pool: &PgPool) -> hirebridge::engine::Engine {
    let (handles, errors) = hirebridge::connectors::build_all(&config.connectors);
    assert!(errors.is_empty(), "{errors:?}");
    hirebridge::engine::Engine::new(pool.clone(), handles)
        .await
        .expect("an engine on the test database")
}

/// Polls `check` until it is true; panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

impl TestDaemon {
    pub fn url(&self, connector: &str) -> String {
        format!("http://{}/webhooks/{connector}", self.webhooks)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Waits until every stored delivery is processed (or dead).
    pub async fn drained(&self) {
        let pool = self.pool.clone();
        wait_until("the inbox drained", Duration::from_secs(30), || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "select count(*) from hiring.inbox where status in ('pending', 'processing', 'failed')",
                )
                .fetch_one(&pool)
                .await
                .is_ok_and(|n| n == 0)
            }
        })
        .await;
    }

    /// Posts a delivery; returns the HTTP status.
    pub async fn post(&self, connector: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
        let mut req = reqwest::Client::new()
            .post(self.url(connector))
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send()
            .await
            .expect("the daemon answers")
            .status()
            .as_u16()
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.admin))
            .await
            .expect("metrics answer")
            .text()
            .await
            .unwrap_or_default()
    }

    /// Stops the daemon and waits for it to finish.
    pub async fn stop(mut self) -> TestDb {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.db
    }
}
