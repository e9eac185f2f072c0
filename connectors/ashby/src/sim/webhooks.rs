//! The simulator's webhook sender: every change a test makes through the
//! [`Simulator`](super::Simulator) fires the webhook actions Ashby would send,
//! as `{action, data}` signed by Ashby's scheme ([`crate::plugin::signature_scheme`]),
//! delivered in order by a background task.

use hirebridge_sdk::sim::{Sent, WebhookSender};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

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
        // Ashby's retry schedule is not documented; a few quick retries keep
        // tests deterministic without hiding a failing receiver.
        let sender = WebhookSender::new(url, crate::plugin::signature_scheme(), secret)
            .with_retry_schedule((1..=3).map(|n| Duration::from_millis(100 * n)).collect());
        tokio::spawn(async move {
            while let Some(body) = rx.recv().await {
                let delivered = matches!(
                    sender.send(body, Vec::new(), None).await,
                    Ok(Sent::Status(s)) if (200..300).contains(&s)
                );
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
