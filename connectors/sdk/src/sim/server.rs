//! The simulators' HTTP harness: serve a provider's axum router on a port
//! (0 picks one), report its base URL, and stop gracefully.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running simulator server. Stops on [`SimServer::shutdown`] or when dropped.
pub struct SimServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The API's path under the address (`/v1`), part of [`SimServer::base_url`].
    base_path: &'static str,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Binds `addr` and serves `router` until shut down.
    pub async fn serve(
        router: axum::Router,
        addr: SocketAddr,
        base_path: &'static str,
    ) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "simulator: server stopped with an error");
            }
        });
        Ok(SimServer {
            addr,
            base_path,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The API base URL to configure as `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.base_path)
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("addr", &self.addr)
            .finish()
    }
}
