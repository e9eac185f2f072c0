//! Goodfit webhook bodies to canonical changes: the envelope, the eight
//! documented events, and what each means for the unified schema.
//!
//! ASSUMPTION (seed `000_56de87d4110788fc.txt` lists the events but not the
//! body): a delivery is `{"id": "evt_…", "type": "<event>", "created_at":
//! "<RFC 3339>", "data": {…}}` where `data` is the object the event is about,
//! as the API returns it (an application, an assessment result, an interview, a
//! candidate, a job); `data` may also wrap it under the object's name
//! (`{"application": {…}}`). A candidate event whose `data` holds only an `id`
//! is fetched whole (`GET /v1/candidates/{id}`).

use crate::map::{self, MapError, Mapped, References};
use hirebridge_sdk::{
    AssessmentStatus, ConnectorError, EntityKind, Inbound, InterviewStatus, JobStatus, Record,
    RemoteRef,
};
use serde_json::Value;

/// Every event Goodfit documents (seed `000_56de87d4110788fc.txt`, "Available events").
pub const EVENT_TYPES: &[&str] = &[
    "application.created",
    "application.stage_changed",
    "assessment.completed",
    "interview.completed",
    "candidate.created",
    "candidate.updated",
    "job.published",
    "job.closed",
];

/// The envelope's event type, if the body is one.
pub fn event_type(body: &Value) -> Option<String> {
    map::text(body, &["type", "event"])
}

/// Turns a delivery body into canonical changes. An event type Goodfit does not
/// document is refused as a bad payload (dead-lettered with the reason, kept for
/// replay once a connector knows it), as the SDK prescribes for input that
/// cannot be normalised; Goodfit only sends events an endpoint subscribed to.
pub fn parse(body: &Value, refs: &References) -> Result<Vec<Inbound>, ConnectorError> {
    let event = event_type(body)
        .ok_or_else(|| ConnectorError::bad_payload("the Goodfit webhook body has no `type`"))?;
    let data = body.get("data").filter(|d| d.is_object()).ok_or_else(|| {
        ConnectorError::bad_payload(format!("{event}: the webhook body has no `data` object"))
    })?;
    let bad = |e: MapError| ConnectorError::bad_payload(format!("{event}: {e}"));
    let unwrap = |key: &str| match data.get(key) {
        Some(inner) if inner.is_object() => inner,
        _ => data,
    };
    let records: Vec<Record> = match event.as_str() {
        "application.created" | "application.stage_changed" => keep(
            &event,
            map::application(unwrap("application"), refs).map_err(bad)?,
        ),
        "assessment.completed" => {
            let raw = unwrap("assessment");
            let mut record = map::assessment(raw, None, None).map_err(bad)?;
            // The event says it completed; times are left as Goodfit gives them,
            // so a later poll of the same result maps to the same content.
            if let Record::Assessment(a) = &mut record {
                a.status.get_or_insert(AssessmentStatus::Completed);
            }
            vec![record]
        }
        "interview.completed" => {
            let mut records = keep(&event, map::interview(unwrap("interview")).map_err(bad)?);
            if let Some(Record::Interview(i)) = records.first_mut() {
                if matches!(i.status, None | Some(InterviewStatus::Unknown)) {
                    i.status = Some(InterviewStatus::Completed);
                }
            }
            records
        }
        "candidate.created" | "candidate.updated" => {
            let raw = unwrap("candidate");
            if is_thin(raw) {
                let remote_id = map::text(raw, &["id"]).unwrap_or_default();
                return Ok(vec![Inbound::Fetch(RemoteRef {
                    kind: EntityKind::Candidate,
                    remote_id,
                })]);
            }
            map::candidate(raw).map_err(bad)?.records
        }
        "job.published" | "job.closed" => {
            let mut record = map::job(unwrap("job")).map_err(bad)?;
            if let Record::Job(j) = &mut record {
                j.status = Some(if event == "job.published" {
                    JobStatus::Open
                } else {
                    JobStatus::Closed
                });
            }
            vec![record]
        }
        other => {
            return Err(ConnectorError::bad_payload(format!(
                "unknown Goodfit event type {other:?} (known: {})",
                EVENT_TYPES.join(", ")
            )))
        }
    };
    Ok(records
        .into_iter()
        .map(|r| Inbound::Upsert(Box::new(r)))
        .collect())
}

/// The records of a mapped object; nested payloads that could not be mapped
/// are logged and skipped, since the next poll dead-letters them with their
/// reason and the delivery's main object is still good.
fn keep(event: &str, mapped: Mapped) -> Vec<Record> {
    for (_, reason) in &mapped.rejected {
        tracing::warn!(event, reason = %reason, "part of a Goodfit delivery could not be mapped; skipped");
    }
    mapped.records
}

/// Whether an object carries nothing but its id (a thin notification).
fn is_thin(raw: &Value) -> bool {
    raw.as_object().is_some_and(|o| {
        o.contains_key("id") && o.keys().all(|k| matches!(k.as_str(), "id" | "object"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(body: Value) -> Record {
        match parse(&body, &References::default()).unwrap().remove(0) {
            Inbound::Upsert(r) => *r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn job_events_decide_the_status() {
        let job = json!({"id": "jb_82bf91", "title": "Backend", "status": "open"});
        let closed = one(
            json!({"id": "evt_1", "type": "job.closed", "created_at": "2026-02-01T10:00:00Z", "data": job}),
        );
        match closed {
            Record::Job(j) => assert_eq!(j.status, Some(JobStatus::Closed)),
            other => panic!("{other:?}"),
        }
        let published = one(
            json!({"id": "evt_2", "type": "job.published", "data": {"job": {"id": "jb_1", "status": "draft"}}}),
        );
        assert!(matches!(published, Record::Job(j) if j.status == Some(JobStatus::Open)));
    }

    #[test]
    fn unknown_events_and_bad_bodies_are_bad_payloads() {
        for body in [
            json!({"id": "evt_1", "type": "offer.signed", "data": {"id": "x"}}),
            json!({"id": "evt_1", "data": {"id": "x"}}),
            json!({"id": "evt_1", "type": "candidate.created"}),
            json!({"id": "evt_1", "type": "candidate.created", "data": {"email": "no-id@x.io"}}),
        ] {
            let err = parse(&body, &References::default()).unwrap_err();
            assert!(
                matches!(err, ConnectorError::BadPayload { .. }),
                "{body}: {err:?}"
            );
        }
        let err = parse(
            &json!({"type": "offer.signed", "data": {}}),
            &References::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("offer.signed"), "{err}");
    }

    #[test]
    fn thin_candidate_events_are_fetched() {
        let out = parse(
            &json!({"id": "evt_1", "type": "candidate.updated", "data": {"id": "cd_1"}}),
            &References::default(),
        )
        .unwrap();
        assert_eq!(
            out,
            vec![Inbound::Fetch(RemoteRef {
                kind: EntityKind::Candidate,
                remote_id: "cd_1".into()
            })]
        );
    }
}
