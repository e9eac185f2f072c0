//! The simulator's webhook subscription: every change fires the event
//! ITManagerJobs would send, signed by the documented scheme
//! ([`crate::plugin::signature_scheme`]) with `X-Webhook-Event` and a fresh
//! `X-Webhook-Delivery-Id`, retried on the documented schedule (seed
//! `004_7d555ba706a0066d.txt`, "Retries and dead-lettering": 1m → 5m → 15m →
//! 1h → 6h → 24h → 24h → 24h, scaled down for tests), dead-lettered when the
//! schedule is spent, and the subscription auto-disabled after ten consecutive
//! failed attempts across deliveries — so a test can prove we never get there.

use chrono::{SecondsFormat, Utc};
use hirebridge_sdk::sim::{Sent, WebhookSender};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// The documented waits between attempts, in seconds.
pub const DOCUMENTED_SCHEDULE_SECS: [u64; 8] = [60, 300, 900, 3600, 21_600, 86_400, 86_400, 86_400];
/// Consecutive failed attempts after which the subscription is disabled.
pub const DISABLE_AFTER: u64 = 10;
/// The simulator runs the schedule this many times faster by default (the
/// first retry after 60 ms, the whole schedule in about 4.7 minutes).
pub const DEFAULT_TIME_SCALE: u32 = 1000;

/// The documented schedule run `divisor` times faster.
pub fn schedule(divisor: u32) -> Vec<Duration> {
    DOCUMENTED_SCHEDULE_SECS
        .iter()
        .map(|s| Duration::from_secs(*s) / divisor.max(1))
        .collect()
}

/// Counters of a subscription.
#[derive(Debug, Default)]
struct Counters {
    fired: AtomicU64,
    answered: AtomicU64,
    delivered: AtomicU64,
    dead_lettered: AtomicU64,
    retries: AtomicU64,
    /// Fired while the subscription was disabled: never sent.
    dropped: AtomicU64,
    consecutive_failures: AtomicU64,
    disabled: AtomicBool,
}

/// A snapshot of a subscription's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub fired: u64,
    /// First attempts answered (or failed to connect), whatever the status.
    pub answered: u64,
    pub delivered: u64,
    /// Gave up after the whole schedule.
    pub dead_lettered: u64,
    /// Attempts after the first.
    pub retries: u64,
    pub dropped: u64,
    pub consecutive_failures: u64,
    pub disabled: bool,
}

struct Outgoing {
    event: String,
    body: Vec<u8>,
    delivery_id: String,
}

/// One ITManagerJobs webhook subscription.
#[derive(Clone)]
pub struct ItManagerJobsSender {
    sender: WebhookSender,
    tx: mpsc::UnboundedSender<Outgoing>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for ItManagerJobsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItManagerJobsSender")
            .field("url", &self.sender.url())
            .finish_non_exhaustive()
    }
}

/// The body of `event` about `payload`, created at `at`, and a fresh delivery id
/// (the envelope is the one assumed in [`crate::webhook`]).
pub fn envelope(event: &str, payload: Value, at: SystemTime) -> (Vec<u8>, String) {
    let created: chrono::DateTime<Utc> = at.into();
    let body = json!({
        "id": format!("evt_{:016x}", rand::random::<u64>()),
        "event": event,
        "createdAt": created.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": payload,
    });
    (
        serde_json::to_vec(&body).unwrap_or_default(),
        format!("dlv_{:016x}", rand::random::<u64>()),
    )
}

/// The headers besides the signature: the event name.
pub fn event_header(event: &str) -> Vec<(String, String)> {
    vec![(crate::plugin::EVENT_HEADER.to_string(), event.to_string())]
}

impl ItManagerJobsSender {
    /// Starts delivering to `url` on the current tokio runtime; first attempts
    /// go out in order, failed ones retry on `schedule` on their own.
    pub fn start(url: &str, secret: &str, schedule: Vec<Duration>) -> ItManagerJobsSender {
        let sender = WebhookSender::new(url, crate::plugin::signature_scheme(), secret)
            .with_header("user-agent", "ITManagerJobs-Webhooks/1.0");
        let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
        let counters = Arc::new(Counters::default());
        let (task_sender, task_counters) = (sender.clone(), counters.clone());
        tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                let ok = attempt(&task_sender, &task_counters, &out).await;
                task_counters.answered.fetch_add(1, Ordering::SeqCst);
                if ok {
                    task_counters.delivered.fetch_add(1, Ordering::SeqCst);
                } else {
                    let (s, c, waits) =
                        (task_sender.clone(), task_counters.clone(), schedule.clone());
                    tokio::spawn(retry(s, c, waits, out));
                }
            }
        });
        ItManagerJobsSender {
            sender,
            tx,
            counters,
        }
    }

    /// Queues `event` for delivery now; dropped while the subscription is disabled.
    pub fn fire(&self, event: &str, payload: Value) {
        self.counters.fired.fetch_add(1, Ordering::SeqCst);
        if self.counters.disabled.load(Ordering::SeqCst) {
            self.counters.dropped.fetch_add(1, Ordering::SeqCst);
            self.counters.answered.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let (body, delivery_id) = envelope(event, payload, SystemTime::now());
        let out = Outgoing {
            event: event.to_string(),
            body,
            delivery_id,
        };
        if self.tx.send(out).is_err() {
            self.counters.answered.fetch_add(1, Ordering::SeqCst);
            self.counters.dead_lettered.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Sends one delivery of `event` now, concurrently with any others (the
    /// provider keeps up to 50 in flight per subscription), without retries;
    /// returns the answer's status. Counts toward auto-disabling like any attempt.
    pub async fn deliver_now(&self, event: &str, payload: Value) -> Result<u16, String> {
        let (body, delivery_id) = envelope(event, payload, SystemTime::now());
        let out = Outgoing {
            event: event.to_string(),
            body,
            delivery_id,
        };
        match self
            .sender
            .send_once(
                &out.body,
                &event_header(event),
                Some(&out.delivery_id),
                SystemTime::now(),
            )
            .await
        {
            Ok(Sent::Status(s)) => {
                note(&self.counters, (200..300).contains(&s));
                Ok(s)
            }
            Ok(Sent::Dropped) => Err("the subscription is paused".into()),
            Err(e) => {
                note(&self.counters, false);
                Err(e.to_string())
            }
        }
    }

    pub fn counts(&self) -> Counts {
        let c = &self.counters;
        Counts {
            fired: c.fired.load(Ordering::SeqCst),
            answered: c.answered.load(Ordering::SeqCst),
            delivered: c.delivered.load(Ordering::SeqCst),
            dead_lettered: c.dead_lettered.load(Ordering::SeqCst),
            retries: c.retries.load(Ordering::SeqCst),
            dropped: c.dropped.load(Ordering::SeqCst),
            consecutive_failures: c.consecutive_failures.load(Ordering::SeqCst),
            disabled: c.disabled.load(Ordering::SeqCst),
        }
    }

    /// Whether ten consecutive failures disabled the subscription.
    pub fn is_disabled(&self) -> bool {
        self.counters.disabled.load(Ordering::SeqCst)
    }

    /// What the employer admin does after the email: re-enable it.
    pub fn re_enable(&self) {
        self.counters
            .consecutive_failures
            .store(0, Ordering::SeqCst);
        self.counters.disabled.store(false, Ordering::SeqCst);
    }

    /// The SDK sender underneath (tests send stale and replayed deliveries with it).
    pub fn webhook_sender(&self) -> &WebhookSender {
        &self.sender
    }
}

/// Records one attempt's outcome: a success resets the failure run, the tenth
/// failure in a row disables the subscription.
fn note(counters: &Counters, ok: bool) {
    if ok {
        counters.consecutive_failures.store(0, Ordering::SeqCst);
    } else if counters.consecutive_failures.fetch_add(1, Ordering::SeqCst) + 1 >= DISABLE_AFTER {
        counters.disabled.store(true, Ordering::SeqCst);
    }
}

/// One attempt; true on a 2xx.
async fn attempt(sender: &WebhookSender, counters: &Counters, out: &Outgoing) -> bool {
    let ok = matches!(
        sender
            .send_once(&out.body, &event_header(&out.event), Some(&out.delivery_id), SystemTime::now())
            .await,
        Ok(Sent::Status(s)) if (200..300).contains(&s)
    );
    note(counters, ok);
    ok
}

/// Re-sends a failed delivery after each wait (re-signed each time, the same
/// delivery id) until one is accepted, the schedule ends (dead-lettered: the
/// seed's "after eight failed attempts" counts these eight retries) or the
/// subscription is disabled.
async fn retry(
    sender: WebhookSender,
    counters: Arc<Counters>,
    waits: Vec<Duration>,
    out: Outgoing,
) {
    for wait in waits {
        tokio::time::sleep(wait).await;
        if counters.disabled.load(Ordering::SeqCst) {
            break;
        }
        counters.retries.fetch_add(1, Ordering::SeqCst);
        if attempt(&sender, &counters, &out).await {
            counters.delivered.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
    counters.dead_lettered.fetch_add(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_schedule_scales() {
        let real = schedule(1);
        assert_eq!(real[0], Duration::from_secs(60));
        assert_eq!(real.len(), 8);
        assert_eq!(real.iter().sum::<Duration>(), Duration::from_secs(285_660));
        assert_eq!(schedule(1000)[0], Duration::from_millis(60));
    }

    #[test]
    fn ten_failures_in_a_row_disable_and_a_success_resets() {
        let c = Counters::default();
        for _ in 0..9 {
            note(&c, false);
        }
        note(&c, true);
        assert!(!c.disabled.load(Ordering::SeqCst));
        for _ in 0..10 {
            note(&c, false);
        }
        assert!(c.disabled.load(Ordering::SeqCst));
    }
}
