//! The simulator's webhook subscription: every change fires the event
//! ITManagerJobs would send, signed by the documented scheme
//! ([`crate::plugin::signature_scheme`]) with `X-Webhook-Event` and a fresh
//! `X-Webhook-Delivery-Id`, retried on the documented schedule (seed
//! `004_7d555ba706a0066d.txt`, "Retries and dead-lettering": 1m → 5m → 15m →
//! 1h → 6h → 24h → 24h → 24h, scaled down for tests), dead-lettered when the
//! schedule is spent, and the subscription auto-disabled after ten consecutive
//! failed attempts across deliveries — so a test can prove we never get there.

use chrono::{SecondsFormat, Utc};
use hirebridge_sdk::sim::{Outgoing, Subscription, WebhookSender};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

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

/// One ITManagerJobs webhook subscription (the SDK's [`Subscription`] with
/// the documented envelope, event header and auto-disable).
#[derive(Clone, Debug)]
pub struct ItManagerJobsSender {
    subscription: Subscription,
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
        ItManagerJobsSender {
            subscription: Subscription::start(sender, schedule, Some(DISABLE_AFTER)),
        }
    }

    /// Queues `event` for delivery now; dropped while the subscription is disabled.
    pub fn fire(&self, event: &str, payload: Value) {
        self.subscription.fire(outgoing(event, payload));
    }

    /// Sends one delivery of `event` now, concurrently with any others (the
    /// provider keeps up to 50 in flight per subscription), without retries;
    /// returns the answer's status. Counts toward auto-disabling like any attempt.
    pub async fn deliver_now(&self, event: &str, payload: Value) -> Result<u16, String> {
        self.subscription
            .deliver_now(&outgoing(event, payload))
            .await
    }

    pub fn counts(&self) -> Counts {
        let c = self.subscription.counts();
        Counts {
            fired: c.fired,
            answered: c.answered,
            delivered: c.delivered,
            dead_lettered: c.dead,
            retries: c.retries,
            dropped: c.dropped,
            consecutive_failures: c.consecutive_failures,
            disabled: c.disabled,
        }
    }

    /// Whether ten consecutive failures disabled the subscription.
    pub fn is_disabled(&self) -> bool {
        self.subscription.counts().disabled
    }

    /// What the employer admin does after the email: re-enable it.
    pub fn re_enable(&self) {
        self.subscription.re_enable();
    }

    /// The SDK sender underneath (tests send stale and replayed deliveries with it).
    pub fn webhook_sender(&self) -> &WebhookSender {
        self.subscription.webhook_sender()
    }
}

/// A delivery of `event` about `payload`, created now, with its event header.
fn outgoing(event: &str, payload: Value) -> Outgoing {
    let (body, delivery_id) = envelope(event, payload, SystemTime::now());
    Outgoing {
        body,
        delivery_id,
        headers: event_header(event),
    }
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
}
