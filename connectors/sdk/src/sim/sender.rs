//! One webhook sender for every simulator: signs by the provider's
//! [`SignatureScheme`], retries failed deliveries on the provider's schedule
//! (re-signed each time, same delivery id), can be paused (events are dropped or
//! queued, as the provider does) and have its secret rotated.

use crate::signature::SignatureScheme;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[derive(Debug)]
struct State {
    secret: String,
    paused: bool,
    sent: u64,
    dropped: u64,
    failed: u64,
}

/// One webhook subscription at a provider.
#[derive(Clone, Debug)]
pub struct WebhookSender {
    url: String,
    scheme: SignatureScheme,
    client: reqwest::Client,
    /// Waits between attempts; empty: one attempt only.
    retry_schedule: Vec<Duration>,
    /// Headers every delivery carries (content type, user agent).
    fixed_headers: Vec<(String, String)>,
    state: Arc<Mutex<State>>,
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The receiver answered this status (after any retries).
    Status(u16),
    /// The subscription is paused: the provider drops the event.
    Dropped,
}

impl WebhookSender {
    pub fn new(
        url: impl Into<String>,
        scheme: SignatureScheme,
        secret: impl Into<String>,
    ) -> WebhookSender {
        WebhookSender {
            url: url.into(),
            scheme,
            client: reqwest::Client::new(),
            retry_schedule: Vec::new(),
            fixed_headers: vec![("content-type".into(), "application/json".into())],
            state: Arc::new(Mutex::new(State {
                secret: secret.into(),
                paused: false,
                sent: 0,
                dropped: 0,
                failed: 0,
            })),
        }
    }

    /// Retries non-2xx answers and connection failures after each of `schedule`.
    pub fn with_retry_schedule(mut self, schedule: Vec<Duration>) -> WebhookSender {
        self.retry_schedule = schedule;
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> WebhookSender {
        self.fixed_headers.push((name.into(), value.into()));
        self
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pause(&self) {
        self.with(|s| s.paused = true);
    }

    pub fn resume(&self) {
        self.with(|s| s.paused = false);
    }

    /// Replaces the secret; the old one stops being used at once.
    pub fn rotate_secret(&self, new_secret: impl Into<String>) {
        let new_secret = new_secret.into();
        self.with(|s| s.secret = new_secret);
    }

    /// (sent, dropped while paused, failed after every retry)
    pub fn counts(&self) -> (u64, u64, u64) {
        self.with(|s| (s.sent, s.dropped, s.failed))
    }

    /// Every header of one delivery of `body`, signed with the current secret at `at`.
    pub fn headers(
        &self,
        body: &[u8],
        at: SystemTime,
        delivery_id: Option<&str>,
        extra: &[(String, String)],
    ) -> Vec<(String, String)> {
        let secret = self.with(|s| s.secret.clone());
        let mut out = self.fixed_headers.clone();
        out.extend(extra.iter().cloned());
        out.extend(self.scheme.sign(secret.as_bytes(), body, at, delivery_id));
        out
    }

    /// Sends `body` now, retrying on the schedule; `extra` are the provider's
    /// other headers (event name).
    pub async fn send(
        &self,
        body: Vec<u8>,
        extra: Vec<(String, String)>,
        delivery_id: Option<String>,
    ) -> Result<Sent, reqwest::Error> {
        let mut waits = self.retry_schedule.iter();
        loop {
            let outcome = self
                .send_once(&body, &extra, delivery_id.as_deref(), SystemTime::now())
                .await;
            let retry = match &outcome {
                Ok(Sent::Status(s)) => !(200..300).contains(s),
                Ok(Sent::Dropped) => false,
                Err(_) => true,
            };
            match (retry, waits.next()) {
                (true, Some(wait)) => tokio::time::sleep(*wait).await,
                (true, None) => {
                    self.with(|s| s.failed += 1);
                    return outcome;
                }
                (false, _) => return outcome,
            }
        }
    }

    /// One attempt signed at `at`, no retries (tests use it for stale, future
    /// and replayed deliveries). Dropped while paused.
    pub async fn send_once(
        &self,
        body: &[u8],
        extra: &[(String, String)],
        delivery_id: Option<&str>,
        at: SystemTime,
    ) -> Result<Sent, reqwest::Error> {
        if self.with(|s| s.paused) {
            self.with(|s| s.dropped += 1);
            return Ok(Sent::Dropped);
        }
        let mut request = self.client.post(&self.url).body(body.to_vec());
        for (name, value) in self.headers(body, at, delivery_id, extra) {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        self.with(|s| s.sent += 1);
        Ok(Sent::Status(response.status().as_u16()))
    }
}
