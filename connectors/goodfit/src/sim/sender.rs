//! The simulator's webhook sender: every change fires the event Goodfit would
//! send, as the assumed envelope signed by Goodfit's scheme
//! ([`crate::plugin::signature_scheme`]) with a delivery id, first attempts in
//! order, and failed deliveries retried on Goodfit's schedule ("automatic
//! retries with exponential backoff, up to 24 hours", seed
//! `000_56de87d4110788fc.txt`), scaled down so tests are fast.

use chrono::{SecondsFormat, Utc};
use hirebridge_sdk::sim::{Outgoing, Subscription, WebhookSender};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

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

/// A snapshot of the subscription's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub fired: u64,
    /// First attempts answered (or failed to connect), whatever the status.
    pub answered: u64,
    pub delivered: u64,
    /// Gave up after the whole schedule.
    pub failed: u64,
    /// Attempts after the first.
    pub retries: u64,
}

/// One Goodfit webhook endpoint subscription (the SDK's [`Subscription`] with
/// Goodfit's envelope and headers).
#[derive(Clone, Debug)]
pub struct GoodfitSender {
    subscription: Subscription,
}

impl GoodfitSender {
    /// Starts delivering to `url` on the current tokio runtime.
    pub fn start(url: &str, secret: &str, schedule: Vec<Duration>) -> GoodfitSender {
        let sender = WebhookSender::new(url, crate::plugin::signature_scheme(), secret)
            .with_header("user-agent", "Goodfit-Webhooks/1.0");
        GoodfitSender {
            subscription: Subscription::start(sender, schedule, None),
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
        self.subscription.fire(Outgoing {
            body,
            delivery_id,
            headers: Vec::new(),
        });
    }

    pub fn counts(&self) -> Counts {
        let c = self.subscription.counts();
        Counts {
            fired: c.fired,
            answered: c.answered,
            delivered: c.delivered,
            failed: c.dead,
            retries: c.retries,
        }
    }

    /// Per-endpoint rotation: the new secret signs from now on.
    pub fn rotate_secret(&self, secret: &str) {
        self.subscription.webhook_sender().rotate_secret(secret);
    }

    /// The SDK sender underneath (tests send stale, future and replayed
    /// deliveries with it).
    pub fn webhook_sender(&self) -> &WebhookSender {
        self.subscription.webhook_sender()
    }
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
