//! The simulator's webhook sender: every change a test makes through the
//! [`Simulator`](super::Simulator) fires the webhook actions Ashby would send,
//! as `{action, data}` signed with `Ashby-Signature: sha256=<hex HMAC-SHA256(secret, body)>`,
//! delivered in order by a background task.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The `Ashby-Signature` value for `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Counters of the sender: fired, delivered (2xx), failed (after retries).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub fired: AtomicU64,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
}

pub(crate) struct Sender {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    pub counters: Arc<Counters>,
}

impl Sender {
    /// Starts the delivery task on the current tokio runtime.
    pub fn start(url: String, secret: String) -> Sender {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let counters = Arc::new(Counters::default());
        let task_counters = counters.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            while let Some(body) = rx.recv().await {
                let sig = signature(&secret, &body);
                let mut delivered = false;
                // Ashby's retry schedule is not documented; a few quick retries
                // keep tests deterministic without hiding a failing receiver.
                for attempt in 0..4u32 {
                    let sent = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("ashby-signature", &sig)
                        .body(body.clone())
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status().is_success()) {
                        delivered = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt + 1))).await;
                }
                let counter = if delivered {
                    &task_counters.delivered
                } else {
                    &task_counters.failed
                };
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Sender { tx, counters }
    }

    pub fn fire(&self, action: &str, data: Value) {
        let body = json!({"action": action, "data": data});
        let Ok(bytes) = serde_json::to_vec(&body) else {
            return;
        };
        self.counters.fired.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(bytes).is_err() {
            self.counters.failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}
