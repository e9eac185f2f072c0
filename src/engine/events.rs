//! Canonical events (DESIGN.md §5): which event a change is, what changed, the one
//! builder of new events ([`NewEvent::new`], from the writer's [`WriteContext`]),
//! and the envelope every downstream consumer receives.

use crate::store::deliveries::StoredEnvelope;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use hirebridge_sdk::{
    ApplicationStatus, AssessmentStatus, EntityKind, InterviewStatus, JobStatus, OfferStatus,
    Record,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// How a change reached us; part of every event's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Poll,
    Webhook,
    Replay,
    System,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Poll => "poll",
            Via::Webhook => "webhook",
            Via::Replay => "replay",
            Via::System => "system",
        }
    }
}

/// Who is writing, and how the data reached us: the `source` of every event the
/// write emits. The write path (`writer`) and person linking (`identity`) both take
/// it, so it lives here rather than in either of them.
#[derive(Debug, Clone)]
pub struct WriteContext<'a> {
    pub connector_id: &'a str,
    pub provider: &'static str,
    pub via: Via,
}

/// A new event, ready to be inserted into `hiring.event_log` with the change it
/// announces. [`NewEvent::new`] is the only way to make one, so every event (record
/// changes, deletions, merges, `person.linked`) gets its id, source and envelope
/// the same way.
#[derive(Debug, Clone)]
pub struct NewEvent {
    id: String,
    event_type: String,
    connector_id: String,
    provider: &'static str,
    entity_type: &'static str,
    entity_id: Uuid,
    remote_id: Option<String>,
    via: Via,
    occurred_at: DateTime<Utc>,
    data: Value,
    changes: Option<Value>,
}

impl NewEvent {
    /// A new event `event_type` about the entity `entity_type`/`entity_id` (the
    /// provider's `remote_id`), from `source`, at `occurred_at`, carrying `data`
    /// (the canonical object after the change) and no `changes` yet
    /// (see [`NewEvent::with_changes`]).
    pub fn new(
        source: &WriteContext<'_>,
        event_type: String,
        entity_type: &'static str,
        entity_id: Uuid,
        remote_id: &str,
        occurred_at: DateTime<Utc>,
        data: Value,
    ) -> NewEvent {
        NewEvent {
            id: new_id(),
            event_type,
            connector_id: source.connector_id.to_string(),
            provider: source.provider,
            entity_type,
            entity_id,
            remote_id: Some(remote_id.to_string()),
            via: source.via,
            // PostgreSQL keeps microseconds (rounding the rest), and the envelope's
            // timestamp is the stored one's, truncated to the millisecond: cut the
            // nanoseconds here so this event's own envelope is that same one.
            occurred_at: occurred_at.trunc_subsecs(6),
            data,
            changes: None,
        }
    }

    /// The same event with `changes` (`{field: {"from": old, "to": new}}`).
    pub fn with_changes(mut self, changes: Option<Value>) -> NewEvent {
        self.changes = changes;
        self
    }

    /// The event's id (`evt_…`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When the change was recorded: the envelope's `timestamp`.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    /// The envelope, exactly as sinks deliver it. The log stores its parts
    /// ([`NewEvent::row`]); [`stored_envelope_body`] and the view `hiring.events`
    /// put them together again.
    pub fn envelope(&self) -> Value {
        let envelope = Envelope {
            id: &self.id,
            event_type: &self.event_type,
            timestamp: timestamp(self.occurred_at),
            source: Source {
                connector: Some(&self.connector_id),
                provider: Some(self.provider),
                remote_id: self.remote_id.as_deref(),
                via: self.via.as_str(),
            },
            data: Some(&self.data),
            changes: self.changes.as_ref(),
        };
        serde_json::to_value(envelope).unwrap_or(Value::Null)
    }

    /// The row for `hiring.event_log` (keys are its column names), borrowing the
    /// event's data and changes: a copy of them was a tenth of the daemon's
    /// backfill samples (perf). The envelope is not stored: its other parts are
    /// the row's columns, from which sinks ([`stored_envelope_body`]) and the
    /// view `hiring.events` rebuild it exactly.
    pub fn row(&self) -> EventRow<'_> {
        EventRow {
            id: &self.id,
            event_type: &self.event_type,
            connector_id: &self.connector_id,
            provider: self.provider,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            remote_id: self.remote_id.as_deref(),
            via: self.via.as_str(),
            occurred_at: self.occurred_at,
            data: &self.data,
            changes: self.changes.as_ref(),
        }
    }
}

/// The body a sink is sent for an event read back from the log: its envelope,
/// put together from its parts as [`NewEvent::envelope`] builds it, or the
/// envelope stored whole by versions before 20261208000001. The bytes are those
/// of the envelope as a JSON value (keys sorted), without building one.
pub fn stored_envelope_body(stored: &StoredEnvelope) -> Vec<u8> {
    let body = match &stored.payload {
        Some(payload) => serde_json::to_vec(payload),
        None => serde_json::to_vec(&Envelope {
            id: &stored.id,
            event_type: &stored.event_type,
            timestamp: timestamp(stored.occurred_at),
            source: Source {
                connector: stored.connector_id.as_deref(),
                provider: stored.provider.as_deref(),
                remote_id: stored.remote_id.as_deref(),
                via: &stored.via,
            },
            data: stored.data.as_ref(),
            changes: stored.changes.as_ref(),
        }),
    };
    body.unwrap_or_default()
}

/// The envelope's `timestamp`: UTC to the millisecond, truncated (as the view
/// `hiring.events` formats `occurred_at`).
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The envelope every consumer receives (DESIGN.md §5). Its fields (and
/// `Source`'s) are declared in the order of their JSON keys sorted, the order of
/// a `serde_json` map, so the struct serialises to the same bytes as the
/// envelope as a value (a test holds this).
#[derive(Debug, serde::Serialize)]
struct Envelope<'a> {
    changes: Option<&'a Value>,
    data: Option<&'a Value>,
    id: &'a str,
    source: Source<'a>,
    timestamp: String,
    #[serde(rename = "type")]
    event_type: &'a str,
}

#[derive(Debug, serde::Serialize)]
struct Source<'a> {
    connector: Option<&'a str>,
    provider: Option<&'a str>,
    remote_id: Option<&'a str>,
    via: &'a str,
}

/// A row of `hiring.event_log`, as [`NewEvent::row`] borrows it.
pub use crate::store::event_log::EventRow;

/// A fresh event id: `evt_` and a time-ordered UUID (v7) in hex.
fn new_id() -> String {
    format!("evt_{}", Uuid::now_v7().simple())
}

/// Fields that never count as a change: bookkeeping, not content.
const NOT_CONTENT: &[&str] = &["entity", "remote_updated_at"];

/// The fields that differ between two versions of a record, as
/// `{field: {"from": old, "to": new}}`; `None` when nothing differs.
pub fn diff(old: &Record, new: &Record) -> Option<Value> {
    let (Value::Object(old), Value::Object(new)) = (old.normalized(), new.normalized()) else {
        return None;
    };
    let mut changes = Map::new();
    for (key, to) in &new {
        if NOT_CONTENT.contains(&key.as_str()) {
            continue;
        }
        let from = old.get(key).unwrap_or(&Value::Null);
        if from != to {
            changes.insert(key.clone(), json!({"from": from, "to": to}));
        }
    }
    (!changes.is_empty()).then_some(Value::Object(changes))
}

/// Whether `field` is among the changes.
fn changed(changes: Option<&Value>, field: &str) -> bool {
    changes.and_then(|c| c.get(field)).is_some()
}

/// The canonical event type for a record that was created (`old` is `None`) or
/// changed. The most specific transition wins (an application moving to a stage
/// that hires is `application.hired`, not `application.stage_changed`).
pub fn event_type(old: Option<&Record>, new: &Record, changes: Option<&Value>) -> String {
    let kind = new.kind();
    let specific: Option<&str> = match new {
        Record::Job(job) => match (old, job.status) {
            (None, _) => None,
            (Some(_), Some(JobStatus::Open)) if changed(changes, "status") => Some("opened"),
            (Some(_), Some(JobStatus::Closed | JobStatus::Archived))
                if changed(changes, "status") =>
            {
                Some("closed")
            }
            _ => None,
        },
        Record::Application(app) => match old {
            None => None,
            Some(_) => {
                if changed(changes, "status") {
                    match app.status {
                        Some(ApplicationStatus::Hired) => Some("hired"),
                        Some(ApplicationStatus::Rejected) => Some("rejected"),
                        Some(ApplicationStatus::Withdrawn) => Some("withdrawn"),
                        _ if changed(changes, "stage_name") => Some("stage_changed"),
                        _ => None,
                    }
                } else if changed(changes, "stage_name") || changed(changes, "stage_remote_id") {
                    Some("stage_changed")
                } else {
                    None
                }
            }
        },
        Record::Interview(iv) => {
            let status_event = match iv.status {
                Some(InterviewStatus::Completed) => Some("completed"),
                Some(InterviewStatus::Cancelled) => Some("cancelled"),
                Some(InterviewStatus::NoShow) => Some("no_show"),
                Some(InterviewStatus::Scheduled) if old.is_none() || changed(changes, "status") => {
                    Some("scheduled")
                }
                _ => None,
            };
            match old {
                None => status_event.or(Some("scheduled")),
                Some(_) if changed(changes, "status") => status_event,
                Some(_) => None,
            }
        }
        Record::Offer(offer) => match old {
            None => None,
            Some(_) if changed(changes, "status") => match offer.status {
                Some(OfferStatus::Extended) => Some("extended"),
                Some(OfferStatus::Accepted) => Some("accepted"),
                Some(OfferStatus::Declined) => Some("declined"),
                _ => None,
            },
            Some(_) => None,
        },
        Record::Assessment(a) => match a.status {
            Some(AssessmentStatus::Completed | AssessmentStatus::Submitted)
                if old.is_none() || changed(changes, "status") =>
            {
                Some("completed")
            }
            _ => None,
        },
        Record::Review(_) => old.is_none().then_some("submitted"),
        // A change into a final status (the SDK says which) completes the check.
        Record::BackgroundCheck(b) => match b.status {
            Some(status) if status.is_final() && old.is_some() && changed(changes, "status") => {
                Some("completed")
            }
            _ => None,
        },
        Record::Candidate(_) | Record::JobPosting(_) => None,
    };
    let action = specific.unwrap_or(if old.is_none() { "created" } else { "updated" });
    format!("{}.{action}", kind.as_str())
}

/// The `data` of an event: the canonical object after the change, with our stable id.
pub fn event_data(id: Uuid, connector_id: &str, record: &Record) -> Value {
    let mut data = record.normalized();
    if let Value::Object(map) = &mut data {
        map.remove("entity");
        map.insert("id".into(), json!(id));
        map.insert("connector_id".into(), json!(connector_id));
    }
    data
}

/// The kind's name as `entity_type` in events.
pub fn entity_type(kind: EntityKind) -> &'static str {
    kind.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::{Application, Candidate, StageCategory};

    fn app(stage: &str, status: ApplicationStatus) -> Record {
        Record::Application(Application {
            stage_name: Some(stage.into()),
            stage_category: Some(StageCategory::Interview),
            status: Some(status),
            ..Default::default()
        })
    }

    #[test]
    fn transitions_pick_the_specific_event() {
        let old = app("Phone Screen", ApplicationStatus::Active);
        let new = app("Onsite", ApplicationStatus::Active);
        let changes = diff(&old, &new);
        assert_eq!(
            changes.as_ref().and_then(|c| c.get("stage_name")).cloned(),
            Some(json!({"from": "Phone Screen", "to": "Onsite"}))
        );
        assert_eq!(
            event_type(Some(&old), &new, changes.as_ref()),
            "application.stage_changed"
        );

        let hired = app("Hired", ApplicationStatus::Hired);
        let changes = diff(&new, &hired);
        assert_eq!(
            event_type(Some(&new), &hired, changes.as_ref()),
            "application.hired"
        );
        assert_eq!(event_type(None, &hired, None), "application.created");
    }

    #[test]
    fn the_builder_makes_the_envelope_and_the_row() {
        let source = WriteContext {
            connector_id: "ats-main",
            provider: "some-ats",
            via: Via::Webhook,
        };
        let entity_id = Uuid::now_v7();
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678901Z")
            .unwrap()
            .with_timezone(&Utc);
        let changes = json!({"stage": {"from": "Phone Screen", "to": "Onsite"}});
        let event = NewEvent::new(
            &source,
            "application.stage_changed".into(),
            "application",
            entity_id,
            "app_1",
            at,
            json!({"id": entity_id}),
        )
        .with_changes(Some(changes.clone()));
        assert!(event.id().starts_with("evt_"));
        assert_eq!(event.occurred_at(), at);
        let envelope = json!({
            "id": event.id(),
            "type": "application.stage_changed",
            "timestamp": "2026-01-02T03:04:05.678Z",
            "source": {"connector": "ats-main", "provider": "some-ats", "remote_id": "app_1", "via": "webhook"},
            "data": {"id": entity_id},
            "changes": changes,
        });
        assert_eq!(event.envelope(), envelope);
        let row = serde_json::to_value(event.row()).unwrap();
        assert_eq!(row["data"], json!({"id": entity_id}));
        assert_eq!(row["changes"], changes);
        assert_eq!(
            (
                &row["entity_type"],
                &row["entity_id"],
                &row["remote_id"],
                &row["via"]
            ),
            (
                &json!("application"),
                &json!(entity_id),
                &json!("app_1"),
                &json!("webhook")
            )
        );
    }

    #[test]
    fn update_time_alone_is_no_change() {
        let mut a = Candidate {
            name: Some("Ada".into()),
            ..Default::default()
        };
        let old = Record::Candidate(a.clone());
        a.meta.remote_updated_at = Some(Utc::now());
        assert_eq!(diff(&old, &Record::Candidate(a)), None);
    }

    #[test]
    fn a_background_check_completes_when_its_status_becomes_final() {
        use hirebridge_sdk::{BackgroundCheck, BackgroundCheckStatus as S};
        let check = |status: S, sections: &[&str]| {
            Record::BackgroundCheck(BackgroundCheck {
                status: Some(status),
                alert_sections: sections.iter().map(|s| s.to_string()).collect(),
                ..BackgroundCheck::default()
            })
        };
        let pending = check(S::PendingInput, &[]);
        assert_eq!(event_type(None, &pending, None), "background_check.created");
        let processing = check(S::Processing, &[]);
        let changes = diff(&pending, &processing);
        assert_eq!(
            event_type(Some(&pending), &processing, changes.as_ref()),
            "background_check.updated"
        );
        for final_status in [S::Clear, S::Alert, S::Canceled, S::Expired] {
            let done = check(final_status, &["Misc Court Records"]);
            let changes = diff(&processing, &done);
            assert_eq!(
                event_type(Some(&processing), &done, changes.as_ref()),
                "background_check.completed",
                "{final_status}"
            );
        }
        // Alert sections changing after completion is an update, with its diff.
        let alert = check(S::Alert, &["Misc Court Records"]);
        let more = check(
            S::Alert,
            &["Misc Court Records", "SSN Trace + Address History"],
        );
        let changes = diff(&alert, &more);
        assert!(changes
            .as_ref()
            .is_some_and(|c| c.get("alert_sections").is_some()));
        assert_eq!(
            event_type(Some(&alert), &more, changes.as_ref()),
            "background_check.updated"
        );
    }
}
