//! Start-up and shutdown of the daemon: bind the listeners first (so tests can bind
//! port 0 and read the address), then open and migrate the database, serve until
//! asked to stop, and stop in order.

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::store::{self, Database, StoreError};
use crate::telemetry;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;

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
    #[error("admin listener failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A daemon whose listeners are bound but which is not running yet.
pub struct App {
    config: Config,
    admin_listener: TcpListener,
    admin_state: AdminState,
}

impl App {
    /// Binds the admin listener. Nothing else happens until [`App::run`].
    pub async fn bind(config: Config) -> Result<App, AppError> {
        let addr = config.server.admin_listen;
        let admin_listener = TcpListener::bind(addr)
            .await
            .map_err(|source| AppError::Bind {
                what: "admin",
                addr,
                source,
            })?;
        Ok(App {
            admin_state: AdminState::new(telemetry::metrics_handle()),
            config,
            admin_listener,
        })
    }

    /// The address the admin listener got (useful with port 0).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listener
            .local_addr()
            .unwrap_or(self.config.server.admin_listen)
    }

    /// Serves until `shutdown` completes: opens the database (starting the managed
    /// cluster when no URL is set), applies pending migrations, then waits. On
    /// shutdown the listeners drain, the pool closes and a cluster this process
    /// started is stopped.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), AppError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });

        metrics::gauge!("hirebridge_up", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        let admin_addr = self.admin_addr();
        let admin = tokio::spawn({
            let router = admin::router(self.admin_state.clone());
            let mut stop = stop_rx.clone();
            async move {
                axum::serve(self.admin_listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
            }
        });
        tracing::info!(%admin_addr, "admin listener up (/healthz, /readyz, /metrics)");

        let mut stop = stop_rx.clone();
        let opened = tokio::select! {
            db = Database::open(&self.config) => Some(db),
            _ = stop.wait_for(|s| *s) => None,
        };
        let db = match opened {
            Some(Ok(db)) => db,
            Some(Err(e)) => {
                admin.abort();
                return Err(e.into());
            }
            None => {
                tracing::info!("shutdown requested before the database was open");
                let _ = admin.await;
                return Ok(());
            }
        };
        if let Err(e) = store::migrate(&db.pool).await {
            admin.abort();
            db.close().await;
            return Err(e.into());
        }
        self.admin_state.set_pool(db.pool.clone());
        tracing::info!(managed_port = ?db.managed_port(), "database migrated; ready");

        let mut stop = stop_rx.clone();
        let _ = stop.wait_for(|s| *s).await;
        tracing::info!("shutting down");
        let grace = self.config.server.shutdown_grace;
        let served = match tokio::time::timeout(grace, admin).await {
            Ok(Ok(result)) => result.map_err(AppError::Serve),
            Ok(Err(_)) | Err(_) => Ok(()),
        };
        db.close().await;
        tracing::info!("stopped");
        served
    }
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
