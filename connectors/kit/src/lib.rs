//! The Kit (StartupKit) connector. Kit documents webhooks, not a polling API for
//! its hiring data (seed 002, provider-facts.md §2), so this connector has no
//! streams: it verifies deliveries and maps their payloads onto canonical
//! applications, offers, interviews, assessments (code assignments), reviews and
//! job postings. Behind the `sim` feature, [`sim::KitSender`] signs and sends
//! deliveries exactly as Kit does.
//!
//! Documented: headers `X-Webhook-Event`, `X-Webhook-Timestamp` (ISO 8601) and
//! `X-Webhook-Signature` = lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw
//! body>"), the 5-minute replay window, the envelope `{event, created_at, data}`
//! and the application payload. The other payloads are not published; their
//! field names here follow the application payload's style, and every field is
//! optional so a difference costs a field, not the delivery.

#[cfg(feature = "sim")]
pub mod sim;

mod map;
pub mod plugin;

use hirebridge_sdk::signature::SigningKeys;
use hirebridge_sdk::{
    Connector, ConnectorError, Cursor, Delivery, Inbound, Page, Record, RemoteRef, StageMap,
    StreamId, StreamSpec, WebhookError,
};
use std::time::{Duration, SystemTime};

pub use map::parse_webhook;
pub use plugin::PLUGIN;

pub const EVENT_HEADER: &str = "x-webhook-event";
pub const TIMESTAMP_HEADER: &str = "x-webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";

/// Every event type Kit documents, plus its test ping.
pub const EVENT_TYPES: &[&str] = &[
    "application.submitted",
    "application.rejected",
    "application.advanced",
    "application.withdrawn",
    "application.offer_extended",
    "offer.accepted",
    "offer.declined",
    "offer.candidate_accepted",
    "offer.candidate_declined",
    "offer.revised",
    "interview.scheduled",
    "interview.confirmed",
    "interview.completed",
    "interview.cancelled",
    "interview.no_show",
    "code_assignment.submitted",
    "code_assignment.auto_submitted",
    "review.submitted",
    "job_posting.published",
    "job_posting.paused",
    "job_posting.closed",
    "job_posting.reopened",
    "test.ping",
];

#[derive(Clone)]
pub struct KitConfig {
    /// Signing secrets; several while a secret is rotated (Kit invalidates the
    /// old one at once, so both must be accepted during the rollover).
    pub webhook_secrets: SigningKeys,
    /// Deliveries whose timestamp is further than this from our clock are refused.
    pub tolerance: Duration,
    /// Stage name to category, overriding the built-in guess.
    pub stage_map: StageMap,
}

impl Default for KitConfig {
    fn default() -> Self {
        KitConfig {
            webhook_secrets: SigningKeys::default(),
            tolerance: Duration::from_secs(300),
            stage_map: StageMap::default(),
        }
    }
}

pub struct KitConnector {
    config: KitConfig,
}

impl KitConnector {
    pub fn new(config: KitConfig) -> KitConnector {
        KitConnector { config }
    }
}

#[async_trait::async_trait]
impl Connector for KitConnector {
    fn streams(&self) -> &[StreamSpec] {
        &[]
    }

    async fn poll(
        &self,
        stream: &StreamId,
        _cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        Err(ConnectorError::Rejected {
            message: format!("Kit has no pollable stream {stream:?}: it is driven by webhooks"),
        })
    }

    fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError> {
        let mut scheme = plugin::signature_scheme();
        scheme.tolerance_secs = self.config.tolerance.as_secs();
        let verified = scheme.verify_with(headers, body, now, &self.config.webhook_secrets)?;
        let event = headers
            .get(EVENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_string))
            });
        Ok(Delivery {
            is_ping: event.as_deref() == Some("test.ping"),
            event_type: event,
            delivery_id: None,
            sent_at: verified.timestamp,
        })
    }

    /// An application's candidate (an application carries and upserts it), else the object itself.
    fn entity_key(&self, _delivery: &Delivery, body: &[u8]) -> Option<String> {
        hirebridge_sdk::entity_key_at(body, &["/data/candidate/id", "/data/id"])
    }

    fn parse(&self, _delivery: &Delivery, body: &[u8]) -> Result<Vec<Inbound>, ConnectorError> {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            ConnectorError::bad_payload(format!("the webhook body is not JSON: {e}"))
        })?;
        parse_webhook(&value, &self.config.stage_map)
    }

    async fn fetch(&self, remote: &RemoteRef) -> Result<Option<Record>, ConnectorError> {
        Err(ConnectorError::Rejected {
            message: format!("Kit has no API to fetch a {} by id", remote.kind),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(secrets: &[&str]) -> KitConnector {
        KitConnector::new(KitConfig {
            webhook_secrets: SigningKeys::from_strs(secrets),
            ..KitConfig::default()
        })
    }

    fn headers(secret: &str, ts: &str, body: &[u8]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(EVENT_HEADER, "application.submitted".parse().unwrap());
        let at = chrono::DateTime::parse_from_rfc3339(ts)
            .map(|t| SystemTime::from(t.with_timezone(&chrono::Utc)))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for (name, value) in plugin::signature_scheme().sign(secret.as_bytes(), body, at, None) {
            h.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn verification_covers_signature_window_and_rotation() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_487_400); // 2026-01-15T14:30:00Z
        let ts = "2026-01-15T14:30:00Z";
        let body = br#"{"event":"application.submitted","created_at":"2026-01-15T14:30:00Z","data":{"id":1}}"#;
        let c = connector(&["old-secret", "new-secret"]);
        assert!(c
            .verify(&headers("old-secret", ts, body), body, now)
            .is_ok());
        assert!(c
            .verify(&headers("new-secret", ts, body), body, now)
            .is_ok());
        assert_eq!(
            c.verify(&headers("wrong", ts, body), body, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            c.verify(&headers("new-secret", ts, body), b"{}", now),
            Err(WebhookError::BadSignature)
        );
        let stale = "2026-01-15T14:24:59Z";
        assert_eq!(
            c.verify(&headers("new-secret", stale, body), body, now),
            Err(WebhookError::StaleTimestamp)
        );
        let future = "2026-01-15T14:35:01Z";
        assert_eq!(
            c.verify(&headers("new-secret", future, body), body, now),
            Err(WebhookError::FutureTimestamp)
        );
        let mut missing = headers("new-secret", ts, body);
        missing.remove(SIGNATURE_HEADER);
        assert!(matches!(
            c.verify(&missing, body, now),
            Err(WebhookError::MissingSignature { .. })
        ));
        let mut bad_ts = headers("new-secret", ts, body);
        bad_ts.insert(TIMESTAMP_HEADER, "yesterday".parse().unwrap());
        assert!(matches!(
            c.verify(&bad_ts, body, now),
            Err(WebhookError::MalformedTimestamp { .. })
        ));
        let mut bad_sig = headers("new-secret", ts, body);
        bad_sig.insert(SIGNATURE_HEADER, "sha256=zz".parse().unwrap());
        assert!(matches!(
            c.verify(&bad_sig, body, now),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }
}
