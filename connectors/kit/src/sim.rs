//! A webhook sender that behaves as Kit does, on the SDK's generic sender: signs
//! by Kit's scheme ([`crate::plugin::signature_scheme`]), sends `X-Webhook-Event`,
//! drops events while paused (Kit does not queue them), and invalidates the old
//! secret at once on rotation.

use chrono::{DateTime, SecondsFormat, Utc};
use hirebridge_sdk::sim::WebhookSender;
use serde_json::{json, Value};
use std::time::SystemTime;

pub use hirebridge_sdk::sim::Sent;

/// One Kit webhook endpoint subscription.
#[derive(Clone, Debug)]
pub struct KitSender {
    sender: WebhookSender,
}

impl KitSender {
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> KitSender {
        KitSender {
            sender: WebhookSender::new(url, crate::plugin::signature_scheme(), secret)
                .with_header("user-agent", "Kit-Webhooks/1.0"),
        }
    }

    pub fn pause(&self) {
        self.sender.pause();
    }

    pub fn resume(&self) {
        self.sender.resume();
    }

    /// Replaces the secret; the old one stops working at once, as at Kit.
    pub fn rotate_secret(&self, new_secret: impl Into<String>) {
        self.sender.rotate_secret(new_secret);
    }

    /// (sent, dropped while paused)
    pub fn counts(&self) -> (u64, u64) {
        let (sent, dropped, _) = self.sender.counts();
        (sent, dropped)
    }

    /// The envelope Kit sends for `event` with `data`, created at `at`.
    pub fn envelope(event: &str, at: DateTime<Utc>, data: Value) -> Vec<u8> {
        let body = json!({
            "event": event,
            "created_at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "data": data,
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// Every header Kit sends for `body` of `event`, signed at `at` with the
    /// current secret.
    pub fn headers(&self, event: &str, at: DateTime<Utc>, body: &[u8]) -> Vec<(String, String)> {
        self.sender
            .headers(body, at.into(), None, &[event_header(event)])
    }

    /// Sends `event` now.
    pub async fn send(&self, event: &str, data: Value) -> Result<Sent, reqwest::Error> {
        let now = Utc::now();
        self.send_raw(event, now, Self::envelope(event, now, data))
            .await
    }

    /// Sends a prepared body signed with the timestamp `at` (tests use this for
    /// stale, future and replayed deliveries).
    pub async fn send_raw(
        &self,
        event: &str,
        at: DateTime<Utc>,
        body: Vec<u8>,
    ) -> Result<Sent, reqwest::Error> {
        self.sender
            .send_once(&body, &[event_header(event)], None, SystemTime::from(at))
            .await
    }
}

fn event_header(event: &str) -> (String, String) {
    ("x-webhook-event".to_string(), event.to_string())
}
