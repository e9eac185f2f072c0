//! Canonical events (DESIGN.md §5): which event a change is, what changed, and the
//! envelope every downstream consumer receives.

use chrono::{DateTime, SecondsFormat, Utc};
use hirebridge_sdk::{
    ApplicationStatus, AssessmentStatus, BackgroundCheckStatus, EntityKind, InterviewStatus,
    JobStatus, OfferStatus, Record,
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

/// A new event, ready to be inserted into `hiring.events` with the change it announces.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: String,
    pub event_type: String,
    pub connector_id: String,
    pub provider: &'static str,
    pub entity_type: &'static str,
    pub entity_id: Uuid,
    pub remote_id: Option<String>,
    pub via: Via,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
    pub changes: Option<Value>,
}

impl NewEvent {
    /// A fresh event id: `evt_` and a time-ordered UUID (v7) in hex.
    pub fn new_id() -> String {
        format!("evt_{}", Uuid::now_v7().simple())
    }

    /// The envelope, exactly as sinks deliver it.
    pub fn envelope(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.event_type,
            "timestamp": self.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "source": {
                "connector": self.connector_id,
                "provider": self.provider,
                "remote_id": self.remote_id,
                "via": self.via.as_str(),
            },
            "data": self.data,
            "changes": self.changes,
        })
    }

    /// The row for `hiring.events` (keys are its column names).
    pub fn row(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.event_type,
            "connector_id": self.connector_id,
            "provider": self.provider,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "remote_id": self.remote_id,
            "via": self.via.as_str(),
            "occurred_at": self.occurred_at,
            "payload": self.envelope(),
            "changes": self.changes,
        })
    }
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
        Record::BackgroundCheck(b) => match b.status {
            Some(BackgroundCheckStatus::Completed)
                if old.is_some() && changed(changes, "status") =>
            {
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
    fn update_time_alone_is_no_change() {
        let mut a = Candidate {
            name: Some("Ada".into()),
            ..Default::default()
        };
        let old = Record::Candidate(a.clone());
        a.meta.remote_updated_at = Some(Utc::now());
        assert_eq!(diff(&old, &Record::Candidate(a)), None);
    }
}
