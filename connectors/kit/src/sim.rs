//! A webhook sender that behaves as Kit does: signs `"<timestamp>.<body>"` with
//! the endpoint's secret (lowercase hex HMAC-SHA256), sends `X-Webhook-Event`,
//! `X-Webhook-Timestamp` and `X-Webhook-Signature`, drops events while paused
//! (Kit does not queue them), and invalidates the old secret at once on rotation.

use crate::sign;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
struct State {
    secret: String,
    paused: bool,
    sent: u64,
    dropped: u64,
}

/// One Kit webhook endpoint subscription.
#[derive(Clone, Debug)]
pub struct KitSender {
    url: String,
    client: reqwest::Client,
    state: Arc<Mutex<State>>,
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Delivered; the receiver answered this status.
    Status(u16),
    /// The webhook is paused: Kit drops the event.
    Dropped,
}

impl KitSender {
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> KitSender {
        KitSender {
            url: url.into(),
            client: reqwest::Client::new(),
            state: Arc::new(Mutex::new(State {
                secret: secret.into(),
                paused: false,
                sent: 0,
                dropped: 0,
            })),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn pause(&self) {
        self.with(|s| s.paused = true);
    }

    pub fn resume(&self) {
        self.with(|s| s.paused = false);
    }

    /// Replaces the secret; the old one stops working at once, as at Kit.
    pub fn rotate_secret(&self, new_secret: impl Into<String>) {
        let new_secret = new_secret.into();
        self.with(|s| s.secret = new_secret);
    }

    /// (sent, dropped while paused)
    pub fn counts(&self) -> (u64, u64) {
        self.with(|s| (s.sent, s.dropped))
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

    /// The headers Kit sends for `body` signed at `timestamp` with `secret`.
    pub fn headers(
        event: &str,
        timestamp: &str,
        secret: &str,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        vec![
            ("content-type", "application/json".to_string()),
            ("user-agent", "Kit-Webhooks/1.0".to_string()),
            ("x-webhook-event", event.to_string()),
            ("x-webhook-timestamp", timestamp.to_string()),
            ("x-webhook-signature", sign(secret, timestamp, body)),
        ]
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
        let (paused, secret) = self.with(|s| (s.paused, s.secret.clone()));
        if paused {
            self.with(|s| s.dropped += 1);
            return Ok(Sent::Dropped);
        }
        let timestamp = at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut request = self.client.post(&self.url).body(body.clone());
        for (name, value) in Self::headers(event, &timestamp, &secret, &body) {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        self.with(|s| s.sent += 1);
        Ok(Sent::Status(response.status().as_u16()))
    }
}
