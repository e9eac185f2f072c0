//! Kit webhook payloads to canonical records. The envelope's `created_at` is the
//! change's time: records without their own update time carry it as
//! `remote_updated_at`, so an older delivery never overwrites a newer one.

use chrono::{DateTime, NaiveDate, Utc};
use hirebridge_sdk::{
    stage_category_from_title, Application, ApplicationStatus, Assessment, AssessmentStatus,
    Candidate, ConnectorError, EmploymentType, Inbound, Interview, InterviewStatus, Interviewer,
    JobPosting, Offer, OfferStatus, Recommendation, Record, RecordMeta, Review, StageCategory,
    StageMap, WorkplaceType,
};
use serde_json::Value;

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Kit ids are integers; canonical remote ids are strings.
fn id(v: &Value, key: &str) -> Option<String> {
    text(v, key)
}

fn nested_id(v: &Value, object: &str) -> Option<String> {
    v.get(object).and_then(|o| id(o, "id"))
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = v.get(key)?.as_str()?;
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn number(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn meta(data: &Value, at: Option<DateTime<Utc>>) -> Result<RecordMeta, ConnectorError> {
    let remote_id =
        id(data, "id").ok_or_else(|| ConnectorError::bad_payload("`data.id` is missing"))?;
    Ok(RecordMeta {
        remote_id,
        remote_created_at: time(data, "created_at").or_else(|| time(data, "submitted_at")),
        remote_updated_at: time(data, "updated_at").or(at),
        remote_data: data.clone(),
        fingerprint: None,
    })
}

/// Turns a Kit envelope `{event, created_at, data}` into canonical changes.
pub fn parse_webhook(value: &Value, stage_map: &StageMap) -> Result<Vec<Inbound>, ConnectorError> {
    let event = value
        .get("event")
        .and_then(Value::as_str)
        .ok_or_else(|| ConnectorError::bad_payload("the envelope has no `event`"))?;
    if event == "test.ping" {
        return Ok(vec![Inbound::Stored {
            event_type: event.into(),
        }]);
    }
    let data = value.get("data").filter(|d| d.is_object()).ok_or_else(|| {
        ConnectorError::bad_payload(format!("{event}: the envelope has no `data` object"))
    })?;
    let at = time(value, "created_at");
    let (category, action) = event
        .split_once('.')
        .ok_or_else(|| ConnectorError::bad_payload(format!("unknown Kit event {event:?}")))?;
    // An application carries its candidate `{id, name, email}`: that is the
    // candidate as Kit knows them, written first so the application links to
    // it and the person is linked across providers by email.
    let mut out = Vec::new();
    if category == "application" {
        if let Some(candidate) = candidate(data, at) {
            out.push(Inbound::Upsert(Box::new(candidate)));
        }
    }
    let record = match category {
        "application" => application(data, action, at, stage_map)?,
        "offer" => offer(data, action, at)?,
        "interview" => interview(data, action, at)?,
        "code_assignment" => assessment(data, action, at)?,
        "review" => review(data, at)?,
        "job_posting" => job_posting(data, action, at)?,
        _ => {
            return Err(ConnectorError::bad_payload(format!(
                "unknown Kit event {event:?}"
            )))
        }
    };
    let known = crate::EVENT_TYPES.contains(&event);
    if !known {
        return Err(ConnectorError::bad_payload(format!(
            "unknown Kit event {event:?}"
        )));
    }
    out.push(Inbound::Upsert(Box::new(record)));
    Ok(out)
}

/// The candidate embedded in an application, when it has an id.
fn candidate(data: &Value, at: Option<DateTime<Utc>>) -> Option<Record> {
    let c = data.get("candidate").filter(|c| c.is_object())?;
    let remote_id = id(c, "id")?;
    let name = text(c, "name");
    let (first_name, last_name) = match name.as_deref().map(|n| n.split_once(' ')) {
        Some(Some((first, last))) => (Some(first.to_string()), Some(last.trim().to_string())),
        _ => (name.clone(), None),
    };
    let email = text(c, "email");
    Some(Record::Candidate(Candidate {
        meta: RecordMeta {
            remote_id,
            remote_created_at: None,
            remote_updated_at: at,
            remote_data: c.clone(),
            fingerprint: None,
        },
        name,
        first_name,
        last_name,
        emails: email.iter().cloned().collect(),
        email,
        phone: text(c, "phone"),
        phones: text(c, "phone").into_iter().collect(),
        ..Candidate::default()
    }))
}

fn application(
    data: &Value,
    action: &str,
    at: Option<DateTime<Utc>>,
    stage_map: &StageMap,
) -> Result<Record, ConnectorError> {
    let stage = text(data, "current_stage");
    let withdrawn = flag(data, "withdrawn") || action == "withdrawn";
    let rejected = flag(data, "rejected") || action == "rejected";
    let offered = flag(data, "offered") || action == "offer_extended";
    let status = if withdrawn {
        ApplicationStatus::Withdrawn
    } else if rejected {
        ApplicationStatus::Rejected
    } else if stage
        .as_deref()
        .is_some_and(|s| s.to_lowercase().contains("hired"))
    {
        ApplicationStatus::Hired
    } else {
        ApplicationStatus::Active
    };
    let category = match status {
        ApplicationStatus::Withdrawn => StageCategory::Withdrawn,
        ApplicationStatus::Rejected => StageCategory::Rejected,
        _ => match stage.as_deref() {
            Some(s) => stage_map.get(None, Some(s)).unwrap_or_else(|| {
                if offered {
                    StageCategory::Offer
                } else {
                    stage_category_from_title(s)
                }
            }),
            None if offered => StageCategory::Offer,
            None => StageCategory::Applied,
        },
    };
    Ok(Record::Application(Application {
        meta: meta(data, at)?,
        candidate_remote_id: nested_id(data, "candidate"),
        // Kit applications point at a job posting, not a job; the posting stays in remote_data.
        job_remote_id: None,
        status: Some(status),
        stage_remote_id: None,
        stage_name: stage,
        stage_category: Some(category),
        source: text(data, "source"),
        archive_reason: text(data, "rejection_reason"),
        applied_at: time(data, "submitted_at"),
        archived_at: if rejected || withdrawn { at } else { None },
        hired_at: None,
        credited_to: None,
        hiring_team: Vec::new(),
    }))
}

fn offer(data: &Value, action: &str, at: Option<DateTime<Utc>>) -> Result<Record, ConnectorError> {
    let status = match action {
        "accepted" => OfferStatus::Approved,
        "declined" => OfferStatus::Cancelled,
        "candidate_accepted" => OfferStatus::Accepted,
        "candidate_declined" => OfferStatus::Declined,
        _ => match text(data, "status").as_deref() {
            Some("accepted") => OfferStatus::Accepted,
            Some("declined") => OfferStatus::Declined,
            Some("draft") => OfferStatus::Draft,
            _ => OfferStatus::Extended,
        },
    };
    let salary = data.get("salary").cloned().unwrap_or(Value::Null);
    let amount = match salary.get("amount").or_else(|| data.get("salary_amount")) {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if s.trim().parse::<f64>().is_ok() => Some(s.trim().to_string()),
        _ => None,
    };
    let decided = matches!(action, "candidate_accepted" | "candidate_declined");
    Ok(Record::Offer(Offer {
        meta: meta(data, at)?,
        application_remote_id: id(data, "application_id")
            .or_else(|| nested_id(data, "application")),
        status: Some(status),
        salary_amount: amount,
        salary_currency: text(&salary, "currency").or_else(|| text(data, "salary_currency")),
        start_date: text(data, "start_date")
            .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
        extended_at: time(data, "extended_at"),
        decided_at: if decided {
            at
        } else {
            time(data, "decided_at")
        },
        version: text(data, "version"),
    }))
}

fn interview(
    data: &Value,
    action: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Record, ConnectorError> {
    let status = match action {
        "scheduled" | "confirmed" => InterviewStatus::Scheduled,
        "completed" => InterviewStatus::Completed,
        "cancelled" => InterviewStatus::Cancelled,
        "no_show" => InterviewStatus::NoShow,
        _ => InterviewStatus::Unknown,
    };
    let starts_at = time(data, "scheduled_at").or_else(|| time(data, "starts_at"));
    let ends_at = time(data, "ends_at").or_else(|| {
        let minutes = number(data, "duration_minutes")?;
        Some(starts_at? + chrono::Duration::minutes(minutes as i64))
    });
    let interviewers = data
        .get("interviewers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|i| Interviewer {
                    remote_user_id: id(i, "id"),
                    name: text(i, "name"),
                    email: text(i, "email"),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Record::Interview(Interview {
        meta: meta(data, at)?,
        application_remote_id: id(data, "application_id")
            .or_else(|| nested_id(data, "application")),
        candidate_remote_id: nested_id(data, "candidate"),
        stage_name: text(data, "stage"),
        title: text(data, "title"),
        status: Some(status),
        starts_at,
        ends_at,
        location: text(data, "location"),
        meeting_url: text(data, "meeting_url"),
        interviewers,
    }))
}

fn assessment(
    data: &Value,
    action: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Record, ConnectorError> {
    Ok(Record::Assessment(Assessment {
        meta: meta(data, at)?,
        application_remote_id: id(data, "application_id")
            .or_else(|| nested_id(data, "application")),
        candidate_remote_id: nested_id(data, "candidate"),
        title: text(data, "title"),
        kind: Some("code_assignment".into()),
        status: Some(AssessmentStatus::Submitted),
        score: number(data, "score"),
        max_score: number(data, "max_score"),
        result: Some(
            if action == "auto_submitted" {
                "auto_submitted"
            } else {
                "submitted"
            }
            .into(),
        ),
        url: text(data, "url").or_else(|| text(data, "repository_url")),
        submitted_at: time(data, "submitted_at").or(at),
        completed_at: None,
    }))
}

fn review(data: &Value, at: Option<DateTime<Utc>>) -> Result<Record, ConnectorError> {
    let reviewer = data.get("reviewer").cloned().unwrap_or(Value::Null);
    let recommendation =
        text(data, "recommendation").and_then(|r| r.parse::<Recommendation>().ok());
    Ok(Record::Review(Review {
        meta: meta(data, at)?,
        application_remote_id: id(data, "application_id")
            .or_else(|| nested_id(data, "application")),
        interview_remote_id: id(data, "interview_id"),
        reviewer_name: text(&reviewer, "name"),
        reviewer_email: text(&reviewer, "email"),
        recommendation,
        rating: number(data, "rating"),
        summary: text(data, "comments").or_else(|| text(data, "summary")),
        submitted_at: time(data, "submitted_at").or(at),
    }))
}

fn job_posting(
    data: &Value,
    action: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Record, ConnectorError> {
    let meta = meta(data, at)?;
    let employment_type =
        text(data, "employment_type").map(|t| match t.to_lowercase().replace('-', "_").as_str() {
            "full_time" => EmploymentType::FullTime,
            "part_time" => EmploymentType::PartTime,
            "contract" => EmploymentType::Contract,
            "internship" | "intern" => EmploymentType::Intern,
            "temporary" => EmploymentType::Temporary,
            _ => EmploymentType::Other,
        });
    Ok(Record::JobPosting(JobPosting {
        meta,
        job_remote_id: None,
        title: text(data, "title"),
        is_listed: Some(matches!(action, "published" | "reopened")),
        department: text(data, "department"),
        location: text(data, "location"),
        workplace_type: data.get("remote").and_then(Value::as_bool).map(|r| {
            if r {
                WorkplaceType::Remote
            } else {
                WorkplaceType::OnSite
            }
        }),
        employment_type,
        published_at: time(data, "published_at"),
        apply_url: text(data, "url").or_else(|| text(data, "apply_url")),
        external_url: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_the_documented_application_payload() {
        let body = json!({"event": "application.advanced", "created_at": "2026-01-15T14:30:00Z", "data": {
            "id": 4711, "candidate": {"id": 9, "name": "Lin Chen", "email": "lin@example.com"},
            "job_posting": {"id": 3, "title": "Backend Engineer"}, "current_stage": "Technical Interview",
            "submitted_at": "2026-01-10T09:00:00Z", "rejected": false, "withdrawn": false, "offered": false}});
        let out = parse_webhook(&body, &StageMap::default()).unwrap();
        // The embedded candidate first, so one person is found by email.
        let Inbound::Upsert(first) = &out[0] else {
            panic!()
        };
        let Record::Candidate(c) = first.as_ref() else {
            panic!("{out:?}")
        };
        assert_eq!(c.meta.remote_id, "9");
        assert_eq!(c.email.as_deref(), Some("lin@example.com"));
        assert_eq!(
            (c.first_name.as_deref(), c.last_name.as_deref()),
            (Some("Lin"), Some("Chen"))
        );
        let Inbound::Upsert(record) = &out[1] else {
            panic!()
        };
        let Record::Application(a) = record.as_ref() else {
            panic!("{out:?}")
        };
        assert_eq!(a.meta.remote_id, "4711");
        assert_eq!(a.candidate_remote_id.as_deref(), Some("9"));
        assert_eq!(a.stage_category, Some(StageCategory::Interview));
        assert_eq!(a.status, Some(ApplicationStatus::Active));
        assert_eq!(
            a.meta.remote_updated_at.map(|t| t.to_rfc3339()),
            Some("2026-01-15T14:30:00+00:00".into())
        );
        let rejected = json!({"event": "application.rejected", "created_at": "2026-01-16T00:00:00Z", "data": {"id": 4711, "rejected": true}});
        let parsed = parse_webhook(&rejected, &StageMap::default()).unwrap();
        let Inbound::Upsert(record) = &parsed[0] else {
            panic!()
        };
        let Record::Application(a) = record.as_ref() else {
            panic!()
        };
        assert_eq!(a.status, Some(ApplicationStatus::Rejected));
    }

    #[test]
    fn every_documented_event_maps_and_unknown_ones_are_bad_payloads() {
        for event in crate::EVENT_TYPES {
            let body = json!({"event": event, "created_at": "2026-01-15T14:30:00Z", "data": {"id": 1, "application_id": 2}});
            assert!(
                parse_webhook(&body, &StageMap::default()).is_ok(),
                "{event}"
            );
        }
        let unknown = json!({"event": "candidate.teleported", "data": {"id": 1}});
        assert!(matches!(
            parse_webhook(&unknown, &StageMap::default()),
            Err(ConnectorError::BadPayload { .. })
        ));
        let no_id = json!({"event": "offer.revised", "data": {}});
        assert!(matches!(
            parse_webhook(&no_id, &StageMap::default()),
            Err(ConnectorError::BadPayload { .. })
        ));
    }
}
