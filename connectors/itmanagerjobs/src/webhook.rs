//! ITManagerJobs webhook bodies: the three documented events (seed
//! `004_7d555ba706a0066d.txt`, "Available events") read into [`Event`]s, which
//! the connector turns into canonical changes.
//!
//! ASSUMPTION (the seed lists each event's payload fields but shows no body):
//! a delivery is `{"id": "evt_…", "event": "<name>", "createdAt": "<RFC 3339>",
//! "data": {<payload fields>}}`; a body whose payload fields sit at the top level
//! is read too. The event name comes from `X-Webhook-Event` (kept by the daemon
//! with the delivery), else from the body's `event` or `type`. Ids may be
//! numbers or strings.

use crate::map::{self, Submitted};
use chrono::{DateTime, Utc};
use hirebridge_sdk::ConnectorError;
use serde_json::Value;

/// Every event ITManagerJobs documents.
pub const EVENT_TYPES: &[&str] = &[
    "application.submitted",
    "application.status_changed",
    "job.expired",
];

/// One delivery, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `application.submitted`: applicationId, jobPostId, jobTitle,
    /// candidateId, appliedAt, applicationType.
    Submitted {
        application_id: String,
        submitted: Submitted,
        payload: Value,
    },
    /// `application.status_changed`: applicationId, previousStatus,
    /// newStatus, changedAt.
    StatusChanged {
        application_id: String,
        new_status: String,
        changed_at: Option<DateTime<Utc>>,
        payload: Value,
    },
    /// `job.expired`: jobPostId, expiredAt.
    JobExpired { job_id: String },
}

/// The event name in a body, when it carries one.
pub fn event_type(body: &Value) -> Option<String> {
    map::text(body, &["event", "type"])
}

/// Reads a delivery of `event_type` (the header's name, else the body's).
pub fn parse(event_type_header: Option<&str>, body: &Value) -> Result<Event, ConnectorError> {
    let event = event_type_header
        .map(str::to_string)
        .or_else(|| event_type(body))
        .ok_or_else(|| ConnectorError::bad_payload("the ITManagerJobs delivery names no event"))?;
    let data = match body.get("data") {
        Some(d) if d.is_object() => d,
        _ => body,
    };
    let need = |field: &'static str| {
        map::text(data, &[field])
            .ok_or_else(|| ConnectorError::bad_payload(format!("{event}: no `{field}`")))
    };
    match event.as_str() {
        "application.submitted" => Ok(Event::Submitted {
            application_id: need("applicationId")?,
            submitted: Submitted::from_payload(data),
            payload: data.clone(),
        }),
        "application.status_changed" => Ok(Event::StatusChanged {
            application_id: need("applicationId")?,
            new_status: need("newStatus")?,
            changed_at: map::time(data, &["changedAt"]),
            payload: data.clone(),
        }),
        "job.expired" => Ok(Event::JobExpired {
            job_id: need("jobPostId")?,
        }),
        other => Err(ConnectorError::bad_payload(format!(
            "unknown ITManagerJobs event {other:?} (known: {})",
            EVENT_TYPES.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_read_from_the_envelope_or_flat() {
        let e = parse(
            None,
            &json!({"event": "job.expired", "data": {"jobPostId": 1234, "expiredAt": "2026-06-01T00:00:00Z"}}),
        )
        .unwrap();
        assert_eq!(
            e,
            Event::JobExpired {
                job_id: "1234".into()
            }
        );
        let e = parse(
            Some("application.status_changed"),
            &json!({"applicationId": 9, "previousStatus": "New", "newStatus": "Screened", "changedAt": "2026-03-01T10:00:00Z"}),
        )
        .unwrap();
        assert!(
            matches!(e, Event::StatusChanged { ref new_status, .. } if new_status == "Screened")
        );
    }

    #[test]
    fn unknown_events_and_missing_ids_are_bad_payloads() {
        for (name, body) in [
            (Some("job.published"), json!({"data": {"jobPostId": 1}})),
            (None, json!({"data": {"jobPostId": 1}})),
            (
                Some("application.submitted"),
                json!({"data": {"candidateId": 1}}),
            ),
        ] {
            let err = parse(name, &body).unwrap_err();
            assert!(matches!(err, ConnectorError::BadPayload { .. }), "{err}");
        }
    }
}
