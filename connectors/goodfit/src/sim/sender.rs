//! The simulator's webhook sender: every change fires the event Goodfit would
//! send, as the assumed envelope signed by Goodfit's scheme
//! ([`crate::plugin::signature_scheme`]) with a delivery id, first attempts in
//! order, and failed deliveries retried on Goodfit's schedule ("automatic
//! retries with exponential backoff, up to 24 hours", seed
//! `000_56de87d4110788fc.txt`), scaled down so tests are fast.

use chrono::{SecondsFormat, Utc};
use hirebridge_sdk::sim::{Sent, WebhookSender};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// The first retry wait (assumed; Goodfit publishes only the 24-hour span).
pub const FIRST_RETRY: Duration = Duration::from_secs(60);
/// How long Goodfit keeps retrying a delivery.
pub const RETRY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The simulator runs Goodfit's schedule this many times faster by default
/// (24 hours become 86.4 s, the first retry 60 ms).
pub const DEFAULT_TIME_SCALE: u32 = 1000;

/// Exponential backoff from `first`, doubling, the last wait cut so that the
/// waits add up to `window`.
pub fn retry_schedule(first: Duration, window: Duration) -> Vec<Duration> {
    let mut out = Vec::new();
    let (mut wait, mut total) = (first, Duration::ZERO);
    while !wait.is_zero() && total < window {
        let step = wait.min(window - total);
        out.push(step);
        total += step;
        wait = wait.saturating_mul(2);
    }
    out
}

/// A schedule run `divisor` times faster.
pub fn scaled(schedule: &[Duration], divisor: u32) -> Vec<Duration> {
    schedule.iter().map(|d| *d / divisor.max(1)).collect()
}

/// Goodfit's schedule at the simulator's default speed.
pub fn default_schedule() -> Vec<Duration> {
    scaled(
        &retry_schedule(FIRST_RETRY, RETRY_WINDOW),
        DEFAULT_TIME_SCALE,
    )
}

/// Counters of a sender.
#[derive(Debug, Default)]
pub struct Counters {
    pub fired: AtomicU64,
    /// First attempts answered (or failed to connect), whatever the status.
    pub answered: AtomicU64,
    pub delivered: AtomicU64,
    /// Gave up after the whole schedule.
    pub failed: AtomicU64,
    /// Attempts after the first.
    pub retries: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub fired: u64,
    pub answered: u64,
    pub delivered: u64,
    pub failed: u64,
    pub retries: u64,
}

struct Outgoing {
    body: Vec<u8>,
    delivery_id: String,
}

/// One Goodfit webhook endpoint subscription.
#[derive(Clone)]
pub struct GoodfitSender {
    sender: WebhookSender,
    tx: mpsc::UnboundedSender<Outgoing>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for GoodfitSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoodfitSender")
            .field("url", &self.sender.url())
            .finish_non_exhaustive()
    }
}

impl GoodfitSender {
    /// Starts delivering to `url` on the current tokio runtime.
    pub fn start(url: &str, secret: &str, schedule: Vec<Duration>) -> GoodfitSender {
        let sender = WebhookSender::new(url, crate::plugin::signature_scheme(), secret)
            .with_header("user-agent", "Goodfit-Webhooks/1.0");
        let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
        let counters = Arc::new(Counters::default());
        let (task_sender, task_counters) = (sender.clone(), counters.clone());
        tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                let ok = attempt(&task_sender, &out).await;
                task_counters.answered.fetch_add(1, Ordering::SeqCst);
                if ok {
                    task_counters.delivered.fetch_add(1, Ordering::SeqCst);
                } else {
                    // Retries run on their own, so one failing delivery does not
                    // hold back the ones after it.
                    let (s, c, waits) =
                        (task_sender.clone(), task_counters.clone(), schedule.clone());
                    tokio::spawn(retry(s, c, waits, out));
                }
            }
        });
        GoodfitSender {
            sender,
            tx,
            counters,
        }
    }

    /// The body Goodfit sends for `event` about `data`, created at `at`, and a
    /// fresh delivery id.
    pub fn envelope(event: &str, data: Value, at: SystemTime) -> (Vec<u8>, String) {
        let created: chrono::DateTime<Utc> = at.into();
        let body = json!({
            "id": format!("evt_{:016x}", rand::random::<u64>()),
            "type": event,
            "created_at": created.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        });
        (
            serde_json::to_vec(&body).unwrap_or_default(),
            format!("dlv_{:016x}", rand::random::<u64>()),
        )
    }

    /// Queues `event` for delivery now.
    pub fn fire(&self, event: &str, data: Value) {
        let (body, delivery_id) = Self::envelope(event, data, SystemTime::now());
        self.counters.fired.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(Outgoing { body, delivery_id }).is_err() {
            self.counters.answered.fetch_add(1, Ordering::SeqCst);
            self.counters.failed.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn counts(&self) -> Counts {
        let c = &self.counters;
        Counts {
            fired: c.fired.load(Ordering::SeqCst),
            answered: c.answered.load(Ordering::SeqCst),
            delivered: c.delivered.load(Ordering::SeqCst),
            failed: c.failed.load(Ordering::SeqCst),
            retries: c.retries.load(Ordering::SeqCst),
        }
    }

    /// Per-endpoint rotation: the new secret signs from now on.
    pub fn rotate_secret(&self, secret: &str) {
        self.sender.rotate_secret(secret);
    }

    /// The SDK sender underneath (tests send stale, future and replayed
    /// deliveries with it).
    pub fn webhook_sender(&self) -> &WebhookSender {
        &self.sender
    }
}

/// One attempt; true on a 2xx.
async fn attempt(sender: &WebhookSender, out: &Outgoing) -> bool {
    matches!(
        sender
            .send_once(&out.body, &[], Some(&out.delivery_id), SystemTime::now())
            .await,
        Ok(Sent::Status(s)) if (200..300).contains(&s)
    )
}

/// Re-sends a failed delivery after each wait of the schedule (re-signed each
/// time, the same delivery id), until one is accepted or the schedule ends.
async fn retry(
    sender: WebhookSender,
    counters: Arc<Counters>,
    waits: Vec<Duration>,
    out: Outgoing,
) {
    for wait in waits {
        tokio::time::sleep(wait).await;
        counters.retries.fetch_add(1, Ordering::SeqCst);
        if attempt(&sender, &out).await {
            counters.delivered.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
    counters.failed.fetch_add(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_doubles_and_spans_a_day() {
        let s = retry_schedule(FIRST_RETRY, RETRY_WINDOW);
        assert_eq!(s[0], Duration::from_secs(60));
        assert_eq!(s[1], Duration::from_secs(120));
        assert_eq!(s.iter().sum::<Duration>(), RETRY_WINDOW);
        let fast = default_schedule();
        assert_eq!(fast[0], Duration::from_millis(60));
        assert_eq!(fast.len(), s.len());
    }
}
