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

/// A JSON answer with `status`.
pub fn json_response(status: http::StatusCode, body: Vec<u8>) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Adds the `(name, value)` headers (rate-limit headers, say); a value that is
/// not a valid header is left out.
pub fn add_headers(response: &mut axum::response::Response, pairs: &[(&'static str, String)]) {
    for (name, value) in pairs {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, v);
        }
    }
}

/// The [`super::Fault::Malformed`] fault: a successful answer's body cut in
/// half (no longer valid JSON); other answers are left alone.
pub async fn cut_short(mut response: axum::response::Response) -> axum::response::Response {
    if response.status().is_success() {
        let bytes = axum::body::to_bytes(std::mem::take(response.body_mut()), usize::MAX)
            .await
            .unwrap_or_default();
        *response.body_mut() = axum::body::Body::from(bytes.slice(..bytes.len() / 2));
        response.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    response
}
