//! Start-up and shutdown of the daemon: bind the listeners first (so tests can bind
//! port 0 and read the addresses), then open and migrate the database, start the
//! scheduler and the normaliser workers, serve until asked to stop, and stop in order.

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::connectors;
use crate::engine::{normalizer, scheduler, ConnectorHandle, Engine};
use crate::ingress::spool::{self, Spool};
use crate::ingress::{self, IngressState};
use crate::store::health::DbHealth;
use crate::store::{self, Database, StoreError};
use crate::telemetry;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Normaliser workers per daemon: one per core while deliveries arrive at a
/// pace they keep up with, two per core behind a backlog, at most one per inbox
/// partition (each partition is drained by one worker, in arrival order). A
/// worker waits on the database for much of a batch (its claim, its commit's
/// flush), so behind a backlog one per core left the cores idle: in `bench
/// ingest` on two cores, four workers drained the burst's backlog at
/// 17.8-18.4k deliveries/s against 15.3-16.0k/s with two (four alternated
/// pairs); eight were no faster than four. At a steady 1,000 webhooks a second
/// four throughout made the p99 end to end worse (`bench deliver`: 117-120
/// against 80-90 ms), so the extra ones sit out unless a claim came back full
/// (74-80 ms; behind a backlog, 18.2-19.1k/s against 15.2-16.4k/s).
fn normalizer_workers() -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let most = crate::store::partition::PARTITIONS as usize;
    (cores.clamp(1, most), (cores * 2).clamp(1, most))
}
/// How often an idle normaliser looks for new deliveries.
const NORMALIZER_IDLE: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what} listener failed: {source}")]
    Serve {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// A daemon whose listeners are bound but which is not running yet.
pub struct App {
    config: Config,
    admin_listener: TcpListener,
    webhook_listener: TcpListener,
    admin_state: AdminState,
    ingress_state: IngressState,
    health: DbHealth,
    connectors: Vec<Arc<ConnectorHandle>>,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, AppError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Bind { what, addr, source })
}

impl App {
    /// Binds the listeners and builds the connectors. Nothing runs until [`App::run`].
    pub async fn bind(config: Config) -> Result<App, AppError> {
        let admin_listener = bind("admin", config.server.admin_listen).await?;
        let webhook_listener = bind("webhooks", config.server.webhook_listen).await?;
        let (connectors, unbuilt) = connectors::build_all(&config.connectors);
        for e in &unbuilt {
            tracing::error!(error = %e, "connector not started");
        }
        let spool = match Spool::open(&config.data_dir, config.server.spool_max_bytes) {
            Ok(spool) => Some(spool),
            Err(e) => {
                tracing::error!(error = %e, data_dir = %config.data_dir.display(), "the webhook spool cannot be opened; while the database is down, webhooks are refused with 503");
                None
            }
        };
        let health = DbHealth::default();
        Ok(App {
            admin_state: AdminState::new(telemetry::metrics_handle(), health.clone()),
            ingress_state: IngressState::new(
                &connectors,
                config.server.max_body_bytes,
                spool,
                config.server.spool_budget,
                health.clone(),
            ),
            health,
            connectors,
            config,
            admin_listener,
            webhook_listener,
        })
    }

    /// The address the admin listener got (useful with port 0).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listener
            .local_addr()
            .unwrap_or(self.config.server.admin_listen)
    }

    /// The address the webhook listener got.
    pub fn webhook_addr(&self) -> SocketAddr {
        self.webhook_listener
            .local_addr()
            .unwrap_or(self.config.server.webhook_listen)
    }

    /// Serves until `shutdown` completes: opens the database (starting the managed
    /// cluster when no URL is set), applies pending migrations, then polls on
    /// schedule and processes webhooks. On shutdown the listeners drain, the
    /// workers finish their current unit, the pool closes and a cluster this
    /// process started is stopped.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });

        metrics::gauge!("hirebridge_up", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        let admin_addr = self.admin_addr();
        let webhook_addr = self.webhook_addr();
        let admin = serve(
            self.admin_listener,
            admin::router(self.admin_state.clone()),
            "admin",
            stop_rx.clone(),
        );
        let webhooks = serve(
            self.webhook_listener,
            ingress::router(self.ingress_state.clone()),
            "webhooks",
            stop_rx.clone(),
        );
        tracing::info!(%admin_addr, %webhook_addr, "listening (admin: /healthz /readyz /metrics; webhooks: /webhooks/{{connector}})");

        let mut stop = stop_rx.clone();
        let opened = tokio::select! {
            db = Database::open(&self.config) => Some(db),
            _ = stop.wait_for(|s| *s) => None,
        };
        let db = match opened {
            Some(Ok(db)) => db,
            Some(Err(e)) => {
                admin.abort();
                webhooks.abort();
                return Err(e.into());
            }
            None => {
                tracing::info!("shutdown requested before the database was open");
                let _ = admin.await;
                let _ = webhooks.await;
                return Ok(());
            }
        };
        let migrations_deadline = std::time::Instant::now() + self.config.database.connect_timeout;
        let engine = match start_engine(
            &db,
            self.connectors.clone(),
            &self.config.sinks,
            migrations_deadline,
        )
        .await
        {
            Ok(engine) => engine,
            Err(e) => {
                admin.abort();
                webhooks.abort();
                db.close().await;
                return Err(e);
            }
        };
        self.admin_state.set_config(self.config.clone());
        if let Some(spool) = self.ingress_state.spool() {
            self.admin_state.set_spool(spool.clone());
        }
        self.admin_state.set_pool(db.pool.clone());
        self.ingress_state.set_pool(db.pool.clone());
        let mut watchers = vec![tokio::spawn(
            self.health.clone().watch(db.pool.clone(), stop_rx.clone()),
        )];
        if let Some(spool) = self.ingress_state.spool() {
            watchers.push(tokio::spawn(spool::drain(
                spool.clone(),
                db.pool.clone(),
                self.health.clone(),
                stop_rx.clone(),
            )));
        }
        tracing::info!(
            managed_port = db.managed_port(),
            connectors = engine.connectors.len(),
            owner = %engine.owner,
            "database migrated; polling on schedule, accepting webhooks, delivering to sinks"
        );
        let mut workers: Vec<JoinHandle<()>> = vec![tokio::spawn(scheduler::run(
            engine.clone(),
            stop_rx.clone(),
        ))];
        workers.push(tokio::spawn(crate::emit::run(
            db.pool.clone(),
            self.config.sinks.clone(),
            self.config.events.clone(),
            engine.owner.clone(),
            stop_rx.clone(),
        )));
        if let Some(keep) = self.config.inbox.retention {
            let pool = db.pool.clone();
            workers.push(tokio::spawn(crate::retention::run(
                crate::retention::Retention {
                    what: "processed webhook deliveries",
                    keep,
                    passes_metric: "hirebridge_inbox_retention_passes_total",
                    deleted_metric: "hirebridge_inbox_deliveries_deleted_total",
                },
                stop_rx.clone(),
                move || {
                    let pool = pool.clone();
                    async move { crate::store::inbox::delete_processed(&pool, keep, 10_000).await }
                },
            )));
        }
        let (count, behind_backlog) = normalizer_workers();
        workers.push(tokio::spawn(normalizer::run(
            engine.clone(),
            normalizer::Workers {
                count,
                behind_backlog,
                idle: NORMALIZER_IDLE,
                door: self.ingress_state.in_flight(),
            },
            stop_rx.clone(),
        )));

        let mut stop = stop_rx.clone();
        let _ = stop.wait_for(|s| *s).await;
        tracing::info!("shutting down");
        let grace = self.config.server.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        for mut worker in workers {
            if tokio::time::timeout_at(deadline, &mut worker)
                .await
                .is_err()
            {
                tracing::warn!(?grace, "a worker did not stop within the grace period; its open transaction rolls back");
                worker.abort();
            }
        }
        let mut served = Ok(());
        for (what, server) in [("admin", admin), ("webhooks", webhooks)] {
            match tokio::time::timeout_at(deadline, server).await {
                Ok(Ok(Err(source))) => served = Err(AppError::Serve { what, source }),
                Ok(_) => {}
                Err(_) => tracing::warn!(what, "listener did not drain within the grace period"),
            }
        }
        for watcher in watchers {
            let _ = tokio::time::timeout_at(deadline, watcher).await;
        }
        engine.release_leases().await;
        db.close().await;
        tracing::info!("stopped");
        served
    }
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    what: &'static str,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>> {
    tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = &result {
            tracing::error!(what, error = %e, "listener failed");
        }
        result
    })
}

async fn start_engine(
    db: &Database,
    connectors: Vec<Arc<ConnectorHandle>>,
    sinks: &[crate::config::SinkConfig],
    migrations_deadline: std::time::Instant,
) -> Result<Arc<Engine>, AppError> {
    store::migrate_until(&db.pool, migrations_deadline).await?;
    // Before anything writes events: a new sink's "now" is this start.
    crate::emit::init_sinks(&db.pool, sinks)
        .await
        .map_err(|e| AppError::Store(StoreError::Sql(e)))?;
    let engine = Engine::new(db.pool.clone(), connectors)
        .await
        .map_err(|e| AppError::Store(StoreError::Sql(e)))?;
    Ok(Arc::new(engine))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
