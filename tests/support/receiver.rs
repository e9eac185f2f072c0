//! A downstream receiver that verifies every Standard Webhooks signature with
//! its own code (not the daemon's signer) and keeps what it accepted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde_json::Value;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What the receiver saw.
#[derive(Debug, Default)]
pub struct Received {
    /// (webhook-id, envelope) of verified deliveries, in arrival order.
    pub accepted: Vec<(String, Value)>,
    pub bad_signatures: usize,
}

#[derive(Clone)]
pub struct VerifyingReceiver {
    pub addr: SocketAddr,
    key: Arc<Vec<u8>>,
    pub received: Arc<Mutex<Received>>,
    /// Events (by webhook-id) answered 500, every time.
    pub refuse: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// `whsec_<base64>` to key bytes.
pub fn secret_key(secret: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a whsec_ secret")
}

/// True when `headers` carry a valid, fresh Standard Webhooks signature of
/// `body` (the receivers' own check, tested on the specification's vector).
pub fn verify_standard_webhooks(key: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    hirebridge::commands::receiver::verify_now(key, headers, body)
}

async fn receive(
    State(r): State<VerifyingReceiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let ok = verify_standard_webhooks(&r.key, &headers, &body);
    let Ok(mut seen) = r.received.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    if !ok {
        seen.bad_signatures += 1;
        return StatusCode::BAD_REQUEST;
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if r.refuse.lock().is_ok_and(|refuse| refuse.contains(&id)) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    match serde_json::from_slice(&body) {
        Ok(v) => {
            seen.accepted.push((id, v));
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

impl VerifyingReceiver {
    /// Starts a receiver on a free loopback port, verifying with `secret`.
    pub async fn start(secret: &str) -> VerifyingReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let r = VerifyingReceiver {
            addr: listener.local_addr().expect("a local address"),
            key: Arc::new(secret_key(secret)),
            received: Arc::new(Mutex::new(Received::default())),
            refuse: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/events", axum::routing::post(receive))
            .with_state(r.clone());
        tokio::spawn(axum::serve(listener, app).into_future());
        r
    }

    pub fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    /// Webhook-ids accepted so far, in arrival order.
    pub fn ids(&self) -> Vec<String> {
        self.received
            .lock()
            .map(|r| r.accepted.iter().map(|(id, _)| id.clone()).collect())
            .unwrap_or_default()
    }

    /// Envelopes accepted so far.
    pub fn envelopes(&self) -> Vec<Value> {
        self.received
            .lock()
            .map(|r| r.accepted.iter().map(|(_, v)| v.clone()).collect())
            .unwrap_or_default()
    }
}
