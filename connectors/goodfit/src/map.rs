//! Goodfit objects to hirebridge's canonical records: jobs, candidates,
//! applications (with their assessment results as canonical assessments and
//! their scorecards as canonical reviews), interviews, and stage categories from
//! the operator's `stage_map`, then the pipeline stage's type, then its title.
//!
//! ASSUMPTION (seed `000_56de87d4110788fc.txt` names the objects and what they
//! carry — "role metadata, location, team", "source, referrer, and full
//! assessment history", "assessment results, scorecard payloads, and notes" —
//! but publishes no schema): objects are snake_case JSON with an `id` and
//! RFC 3339 `created_at`/`updated_at`; references are `<object>_id` fields or
//! nested objects with an `id`; names are strings or objects with a `name`.
//! Every field except `id` is optional and common alternative spellings are
//! read, so a difference costs a field, never the record. The shapes read are
//! those the simulator serves (`crate::sim::data`).

use chrono::{DateTime, Utc};
use hirebridge_sdk::{
    Application, ApplicationStatus, Assessment, AssessmentStatus, Candidate, EmploymentType,
    Interview, InterviewStatus, Interviewer, Job, JobStatus, Recommendation, Record, RecordMeta,
    Review, StageCategory, StageMap, TeamMember, WorkplaceType,
};
use serde_json::Value;
use std::collections::HashMap;

/// Why a Goodfit object could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("Goodfit {what} is not a JSON object")]
    NotAnObject { what: &'static str },
    #[error("Goodfit {what} has no `id`")]
    MissingId { what: &'static str },
}

/// One stage of Goodfit's pipeline (`GET /v1/jobs/pipeline`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipelineStage {
    pub name: Option<String>,
    /// Goodfit's stage type, e.g. `screening`, when it sends one.
    pub kind: Option<String>,
}

/// What mapping needs besides the object: the pipeline's stages by id and the
/// operator's stage overrides.
#[derive(Debug, Clone, Default)]
pub struct References {
    pub stages: HashMap<String, PipelineStage>,
    pub stage_map: StageMap,
}

impl References {
    /// Caches the stages of a pipeline listing.
    pub fn cache_pipeline(&mut self, stages: &[Value]) {
        for stage in stages {
            if let Some(id) = text(stage, &["id"]) {
                self.stages.insert(
                    id,
                    PipelineStage {
                        name: text(stage, &["name", "title"]),
                        kind: text(stage, &["type", "category", "kind"]),
                    },
                );
            }
        }
    }
}

/// Records mapped from one object, and nested payloads that could not be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    pub records: Vec<Record>,
    pub rejected: Vec<(Value, String)>,
}

// ---- reading lenient JSON -------------------------------------------------

/// The first of `keys` holding a non-empty string (numbers are written out).
pub(crate) fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A name given as a string or as an object with a `name` (or `title`).
fn name_of(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        o @ Value::Object(_) => text(o, &["name", "title", "label", "display_name"]),
        _ => None,
    })
}

/// A reference given as `<key>_id` or as a nested object's `id`.
fn reference(v: &Value, id_key: &str, object_key: &str) -> Option<String> {
    text(v, &[id_key]).or_else(|| v.get(object_key).and_then(|o| text(o, &["id"])))
}

/// An RFC 3339 timestamp, or epoch seconds/milliseconds as a number.
pub(crate) fn time(v: &Value, keys: &[&str]) -> Option<DateTime<Utc>> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => {
            let n = n.as_i64()?;
            if n > 100_000_000_000 {
                DateTime::from_timestamp_millis(n)
            } else {
                DateTime::from_timestamp(n, 0)
            }
        }
        _ => None,
    })
}

fn number(v: &Value, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn flag(v: &Value, keys: &[&str]) -> Option<bool> {
    keys.iter().find_map(|k| v.get(*k)?.as_bool())
}

fn list<'a>(v: &'a Value, keys: &[&str]) -> &'a [Value] {
    keys.iter()
        .find_map(|k| v.get(*k)?.as_array().map(Vec::as_slice))
        .unwrap_or(&[])
}

/// Strings of a list whose items are strings or objects with one of `keys`.
fn strings(items: &[Value], keys: &[&str]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| match i {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            o @ Value::Object(_) => text(o, keys),
            _ => None,
        })
        .collect()
}

/// A value's token form for matching: lowercase, `-` and spaces as `_`.
fn token(s: &str) -> String {
    s.trim().to_lowercase().replace(['-', ' '], "_")
}

fn object<'a>(raw: &'a Value, what: &'static str) -> Result<&'a Value, MapError> {
    if raw.is_object() {
        Ok(raw)
    } else {
        Err(MapError::NotAnObject { what })
    }
}

fn meta(raw: &Value, what: &'static str) -> Result<RecordMeta, MapError> {
    Ok(RecordMeta {
        remote_id: text(object(raw, what)?, &["id"]).ok_or(MapError::MissingId { what })?,
        remote_created_at: time(raw, &["created_at"]),
        remote_updated_at: time(raw, &["updated_at"]),
        remote_data: raw.clone(),
        fingerprint: None,
    })
}

/// The newest `updated_at` of a list of objects (the incremental watermark).
pub fn newest_update(items: &[Value]) -> Option<DateTime<Utc>> {
    items.iter().filter_map(|i| time(i, &["updated_at"])).max()
}

// ---- value sets ------------------------------------------------------------

pub fn job_status(s: &str) -> Option<JobStatus> {
    Some(match token(s).as_str() {
        "open" | "published" | "active" | "live" => JobStatus::Open,
        "draft" | "unpublished" => JobStatus::Draft,
        "closed" | "filled" | "paused" | "on_hold" => JobStatus::Closed,
        "archived" | "deleted" => JobStatus::Archived,
        _ => return None,
    })
}

fn employment_type(s: &str) -> EmploymentType {
    match token(s).as_str() {
        "full_time" | "fulltime" | "permanent" => EmploymentType::FullTime,
        "part_time" | "parttime" => EmploymentType::PartTime,
        "contract" | "contractor" | "freelance" => EmploymentType::Contract,
        "intern" | "internship" => EmploymentType::Intern,
        "temporary" | "temp" => EmploymentType::Temporary,
        _ => EmploymentType::Other,
    }
}

fn workplace_type(s: &str) -> Option<WorkplaceType> {
    Some(match token(s).as_str() {
        "remote" | "fully_remote" => WorkplaceType::Remote,
        "hybrid" => WorkplaceType::Hybrid,
        "on_site" | "onsite" | "office" | "in_office" | "in_person" => WorkplaceType::OnSite,
        _ => return None,
    })
}

/// A stage type as Goodfit might name it, onto a canonical category.
fn category_from_type(s: &str) -> Option<StageCategory> {
    let t = token(s);
    if let Ok(c) = t.parse::<StageCategory>() {
        return Some(c);
    }
    Some(match t.as_str() {
        "new" | "applied" | "application" | "inbox" | "sourced" | "lead" => StageCategory::Applied,
        "screen" | "phone_screen" | "review" => StageCategory::Screening,
        "test" | "skills_test" | "assignment" | "take_home" => StageCategory::Assessment,
        "interviewing" | "onsite" => StageCategory::Interview,
        "offered" | "offer_extended" => StageCategory::Offer,
        "hire" | "accepted" => StageCategory::Hired,
        "reject" | "disqualified" | "declined" | "archived" => StageCategory::Rejected,
        "withdraw" => StageCategory::Withdrawn,
        _ => return None,
    })
}

fn application_status(s: &str) -> Option<ApplicationStatus> {
    Some(match token(s).as_str() {
        "active" | "in_progress" | "open" | "new" | "in_review" => ApplicationStatus::Active,
        "hired" => ApplicationStatus::Hired,
        "rejected" | "disqualified" | "declined" => ApplicationStatus::Rejected,
        "withdrawn" => ApplicationStatus::Withdrawn,
        "archived" | "closed" => ApplicationStatus::Archived,
        "lead" | "prospect" | "sourced" => ApplicationStatus::Lead,
        _ => return None,
    })
}

fn assessment_status(s: &str) -> Option<AssessmentStatus> {
    Some(match token(s).as_str() {
        "invited" | "sent" | "pending" => AssessmentStatus::Invited,
        "in_progress" | "started" => AssessmentStatus::InProgress,
        "submitted" | "awaiting_review" => AssessmentStatus::Submitted,
        "completed" | "complete" | "scored" | "passed" | "failed" | "graded" => {
            AssessmentStatus::Completed
        }
        "expired" => AssessmentStatus::Expired,
        "cancelled" | "canceled" | "revoked" => AssessmentStatus::Cancelled,
        _ => return None,
    })
}

fn recommendation(s: &str) -> Option<Recommendation> {
    Some(match token(s).as_str() {
        "strong_yes" | "strong_hire" | "definitely_yes" | "strongly_recommend" => {
            Recommendation::StrongYes
        }
        "yes" | "hire" | "recommend" | "advance" => Recommendation::Yes,
        "neutral" | "maybe" | "mixed" | "unsure" => Recommendation::Neutral,
        "no" | "no_hire" | "do_not_recommend" | "reject" => Recommendation::No,
        "strong_no" | "strong_no_hire" | "definitely_not" | "definitely_no" => {
            Recommendation::StrongNo
        }
        _ => return None,
    })
}

fn interview_status(s: &str) -> Option<InterviewStatus> {
    Some(match token(s).as_str() {
        "scheduled" | "confirmed" => InterviewStatus::Scheduled,
        "completed" | "complete" | "done" => InterviewStatus::Completed,
        "awaiting_feedback" => InterviewStatus::AwaitingFeedback,
        "cancelled" | "canceled" => InterviewStatus::Cancelled,
        "no_show" => InterviewStatus::NoShow,
        "unscheduled" | "awaiting_scheduling" => InterviewStatus::AwaitingScheduling,
        _ => InterviewStatus::Unknown,
    })
}

/// A person given as an object (`name`/`first_name`+`last_name`, `email`, `id`).
fn person(v: &Value) -> (Option<String>, Option<String>, Option<String>) {
    match v {
        Value::String(s) if !s.trim().is_empty() => (None, Some(s.trim().to_string()), None),
        Value::Object(_) => {
            let name = text(v, &["name", "full_name"]).or_else(|| {
                let parts: Vec<String> = [text(v, &["first_name"]), text(v, &["last_name"])]
                    .into_iter()
                    .flatten()
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            });
            (text(v, &["id", "user_id"]), name, text(v, &["email"]))
        }
        _ => (None, None, None),
    }
}

// ---- records ---------------------------------------------------------------

pub fn job(raw: &Value) -> Result<Record, MapError> {
    let meta = meta(raw, "job")?;
    let team = raw.get("team");
    let members = match team {
        Some(t) if t.is_object() => list(t, &["members"]),
        _ => list(raw, &["hiring_team", "team_members"]),
    };
    let hiring_team = members
        .iter()
        .map(|m| {
            let (id, name, email) = person(m);
            TeamMember {
                remote_user_id: id,
                name,
                email,
                role: text(m, &["role"]),
            }
        })
        .collect();
    let location = raw.get("location");
    Ok(Record::Job(Job {
        title: text(raw, &["title", "name"]),
        status: text(raw, &["status", "state"]).and_then(|s| job_status(&s)),
        employment_type: text(raw, &["employment_type", "job_type"]).map(|s| employment_type(&s)),
        department: name_of(raw, &["department"]).or_else(|| name_of(raw, &["team"])),
        location: name_of(raw, &["location"]),
        workplace_type: text(raw, &["workplace_type", "workplace", "remote_policy"])
            .or_else(|| location.and_then(|l| text(l, &["workplace_type", "type"])))
            .and_then(|s| workplace_type(&s))
            .or_else(|| flag(raw, &["remote"]).and_then(|r| r.then_some(WorkplaceType::Remote))),
        confidential: flag(raw, &["confidential", "is_confidential"]).unwrap_or(false),
        requisition_id: text(raw, &["requisition_id", "req_id"]),
        opened_at: time(raw, &["published_at", "opened_at"]),
        closed_at: time(raw, &["closed_at"]),
        hiring_team,
        meta,
    }))
}

/// A candidate, with its source, its referrer and its assessment history (each
/// entry an assessment of this candidate, as the seed promises: "Every candidate
/// carries source, referrer, and full assessment history").
pub fn candidate(raw: &Value) -> Result<Mapped, MapError> {
    let mut out = Mapped {
        records: vec![candidate_only(raw)?],
        rejected: Vec::new(),
    };
    let candidate_id = text(raw, &["id"]);
    for item in list(raw, &["assessment_history", "assessments"]) {
        match assessment(item, None, candidate_id.as_deref()) {
            Ok(r) => out.records.push(r),
            Err(e) => out.rejected.push((item.clone(), e.to_string())),
        }
    }
    Ok(out)
}

/// The candidate record alone.
pub fn candidate_only(raw: &Value) -> Result<Record, MapError> {
    let meta = meta(raw, "candidate")?;
    let first_name = text(raw, &["first_name"]);
    let last_name = text(raw, &["last_name"]);
    let name = text(raw, &["name", "full_name"]).or_else(|| {
        let parts: Vec<String> = [first_name.clone(), last_name.clone()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    let mut emails = strings(list(raw, &["emails"]), &["address", "value", "email"]);
    let email = text(raw, &["email"]).or_else(|| emails.first().cloned());
    if let Some(e) = &email {
        if !emails.contains(e) {
            emails.insert(0, e.clone());
        }
    }
    let mut phones = strings(list(raw, &["phones"]), &["number", "value", "phone"]);
    let phone = text(raw, &["phone"]).or_else(|| phones.first().cloned());
    if let Some(p) = &phone {
        if !phones.contains(p) {
            phones.insert(0, p.clone());
        }
    }
    let social = raw.get("social").cloned().unwrap_or(Value::Null);
    Ok(Record::Candidate(Candidate {
        name,
        first_name,
        last_name,
        email,
        emails,
        phone,
        phones,
        company: name_of(raw, &["current_company", "company"]),
        title: text(raw, &["current_title", "title", "headline"]),
        location: name_of(raw, &["location"]),
        source: name_of(raw, &["source"]),
        tags: strings(list(raw, &["tags"]), &["name"]),
        profile_url: text(raw, &["profile_url", "url"]),
        linkedin_url: text(raw, &["linkedin_url"]).or_else(|| text(&social, &["linkedin"])),
        referrer: raw
            .get("referrer")
            .map(person)
            .and_then(|(_, name, email)| name.or(email)),
        meta,
    }))
}

/// The stage of an application: its id, its name, and the category decided by
/// the operator's `stage_map` first, then the stage's type (on the application
/// or in the pipeline), then its title.
fn stage(
    raw: &Value,
    refs: &References,
) -> (Option<String>, Option<String>, Option<StageCategory>) {
    let stage = raw.get("stage").cloned().unwrap_or(Value::Null);
    let (id, name, kind) = match &stage {
        Value::String(s) => (text(raw, &["stage_id"]), Some(s.trim().to_string()), None),
        Value::Object(_) => (
            text(&stage, &["id"]).or_else(|| text(raw, &["stage_id"])),
            text(&stage, &["name", "title"]),
            text(&stage, &["type", "category", "kind"]),
        ),
        _ => (text(raw, &["stage_id"]), None, None),
    };
    let known = id.as_deref().and_then(|i| refs.stages.get(i));
    let name = name.or_else(|| known.and_then(|s| s.name.clone()));
    let kind = kind.or_else(|| known.and_then(|s| s.kind.clone()));
    let category = refs
        .stage_map
        .get(id.as_deref(), name.as_deref())
        .or_else(|| kind.as_deref().and_then(category_from_type))
        .or_else(|| {
            name.as_deref()
                .map(hirebridge_sdk::stage_category_from_title)
        });
    (id, name, category)
}

/// An application, its assessment results (as canonical assessments) and its
/// scorecards (as canonical reviews). Notes stay in the application's
/// `remote_data`: the canonical schema has no notes.
pub fn application(raw: &Value, refs: &References) -> Result<Mapped, MapError> {
    let meta = meta(raw, "application")?;
    let id = meta.remote_id.clone();
    let candidate_id = reference(raw, "candidate_id", "candidate");
    let (stage_id, stage_name, stage_category) = stage(raw, refs);
    let status = text(raw, &["status"])
        .and_then(|s| application_status(&s))
        .or(match stage_category {
            Some(StageCategory::Hired) => Some(ApplicationStatus::Hired),
            Some(StageCategory::Rejected) => Some(ApplicationStatus::Rejected),
            Some(StageCategory::Withdrawn) => Some(ApplicationStatus::Withdrawn),
            Some(_) => Some(ApplicationStatus::Active),
            None => None,
        });
    let referrer = raw
        .get("referrer")
        .map(person)
        .and_then(|(_, name, email)| name.or(email));
    let mut out = Mapped {
        records: vec![Record::Application(Application {
            candidate_remote_id: candidate_id.clone(),
            job_remote_id: reference(raw, "job_id", "job"),
            status,
            stage_remote_id: stage_id,
            stage_name,
            stage_category,
            source: name_of(raw, &["source"]),
            archive_reason: name_of(
                raw,
                &["rejection_reason", "archive_reason", "withdrawal_reason"],
            ),
            applied_at: time(raw, &["applied_at", "created_at"]),
            archived_at: time(raw, &["rejected_at", "withdrawn_at", "archived_at"]),
            hired_at: time(raw, &["hired_at"]),
            credited_to: referrer,
            hiring_team: Vec::new(),
            meta,
        })],
        rejected: Vec::new(),
    };
    for result in list(raw, &["assessment_results", "assessments"]) {
        match assessment(result, Some(&id), candidate_id.as_deref()) {
            Ok(r) => out.records.push(r),
            Err(e) => out.rejected.push((result.clone(), e.to_string())),
        }
    }
    for card in list(raw, &["scorecards"]) {
        match review(card, Some(&id)) {
            Ok(r) => out.records.push(r),
            Err(e) => out.rejected.push((card.clone(), e.to_string())),
        }
    }
    Ok(out)
}

/// An assessment result; the parent application and candidate fill references
/// the result does not carry itself.
pub fn assessment(
    raw: &Value,
    application_id: Option<&str>,
    candidate_id: Option<&str>,
) -> Result<Record, MapError> {
    let meta = meta(raw, "assessment result")?;
    let assessment = raw.get("assessment").cloned().unwrap_or(Value::Null);
    Ok(Record::Assessment(Assessment {
        application_remote_id: text(raw, &["application_id"])
            .or_else(|| application_id.map(str::to_string)),
        candidate_remote_id: text(raw, &["candidate_id"])
            .or_else(|| candidate_id.map(str::to_string)),
        title: text(raw, &["name", "title"]).or_else(|| text(&assessment, &["name", "title"])),
        kind: text(raw, &["type", "kind"])
            .or_else(|| text(&assessment, &["type"]))
            .or_else(|| Some("assessment".into())),
        status: text(raw, &["status"]).and_then(|s| assessment_status(&s)),
        score: number(raw, &["score"]),
        max_score: number(raw, &["max_score"]),
        result: text(raw, &["result", "outcome"]),
        url: text(raw, &["report_url", "url"]),
        submitted_at: time(raw, &["submitted_at"]),
        completed_at: time(raw, &["completed_at"]),
        meta,
    }))
}

/// A scorecard.
pub fn review(raw: &Value, application_id: Option<&str>) -> Result<Record, MapError> {
    let meta = meta(raw, "scorecard")?;
    let reviewer = raw
        .get("reviewer")
        .or_else(|| raw.get("author"))
        .or_else(|| raw.get("submitted_by"))
        .map(person)
        .unwrap_or_default();
    Ok(Record::Review(Review {
        application_remote_id: text(raw, &["application_id"])
            .or_else(|| application_id.map(str::to_string)),
        interview_remote_id: text(raw, &["interview_id"]),
        reviewer_name: reviewer.1,
        reviewer_email: reviewer.2,
        recommendation: text(raw, &["recommendation", "decision"]).and_then(|s| recommendation(&s)),
        rating: number(raw, &["rating", "overall_rating", "score"]),
        summary: text(raw, &["summary", "comments", "notes"]),
        submitted_at: time(raw, &["submitted_at", "created_at"]),
        meta,
    }))
}

/// An interview (Goodfit sends `interview.completed`; it has no interview list).
pub fn interview(raw: &Value) -> Result<Mapped, MapError> {
    let meta = meta(raw, "interview")?;
    let id = meta.remote_id.clone();
    let application_id = reference(raw, "application_id", "application");
    let interviewers = list(raw, &["interviewers"])
        .iter()
        .map(|i| {
            let (id, name, email) = person(i);
            Interviewer {
                remote_user_id: id,
                name,
                email,
            }
        })
        .collect();
    let mut out = Mapped {
        records: vec![Record::Interview(Interview {
            application_remote_id: application_id.clone(),
            candidate_remote_id: reference(raw, "candidate_id", "candidate"),
            stage_name: name_of(raw, &["stage"]),
            title: text(raw, &["title", "name"]),
            status: text(raw, &["status"]).and_then(|s| interview_status(&s)),
            starts_at: time(raw, &["starts_at", "start_time", "scheduled_at"]),
            ends_at: time(raw, &["ends_at", "end_time"]),
            location: name_of(raw, &["location"]),
            meeting_url: text(raw, &["meeting_url", "video_url"]),
            interviewers,
            meta,
        })],
        rejected: Vec::new(),
    };
    for card in list(raw, &["scorecards"]) {
        let mut card = card.clone();
        if card.get("interview_id").is_none() {
            if let Some(o) = card.as_object_mut() {
                o.insert("interview_id".into(), Value::String(id.clone()));
            }
        }
        match review(&card, application_id.as_deref()) {
            Ok(r) => out.records.push(r),
            Err(e) => out.rejected.push((card, e.to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stage_overrides_beat_types_which_beat_titles() {
        let mut refs = References::default();
        refs.cache_pipeline(&[
            json!({"id": "stg_1", "name": "Culture Chat", "type": "screening"}),
            json!({"id": "stg_2", "name": "Deep Dive"}),
        ]);
        let app = |stage: Value| json!({"id": "ap_1", "stage": stage});
        let category = |refs: &References, stage: Value| match &application(&app(stage), refs)
            .unwrap()
            .records[0]
        {
            Record::Application(a) => (a.stage_name.clone(), a.stage_category),
            other => panic!("{other:?}"),
        };
        // The pipeline's type, by stage id.
        assert_eq!(
            category(&refs, json!({"id": "stg_1"})),
            (Some("Culture Chat".into()), Some(StageCategory::Screening))
        );
        // No type: the title decides.
        assert_eq!(
            category(&refs, json!({"id": "stg_2"})).1,
            Some(StageCategory::Interview)
        );
        // The operator's map wins, by id or by title.
        refs.stage_map = StageMap::new(
            [("stg_1".to_string(), StageCategory::Assessment)]
                .into_iter()
                .collect(),
        );
        assert_eq!(
            category(&refs, json!({"id": "stg_1", "type": "screening"})).1,
            Some(StageCategory::Assessment)
        );
    }

    #[test]
    fn objects_without_ids_are_refused_with_a_reason() {
        assert_eq!(
            candidate(&json!({"email": "a@b.c"})),
            Err(MapError::MissingId { what: "candidate" })
        );
        assert_eq!(job(&json!([1])), Err(MapError::NotAnObject { what: "job" }));
        let mapped = application(
            &json!({"id": "ap_1", "scorecards": [{"rating": 3}], "assessment_results": [{"id": "asr_1"}]}),
            &References::default(),
        )
        .unwrap();
        assert_eq!(mapped.records.len(), 2);
        assert_eq!(mapped.rejected.len(), 1);
        assert!(mapped.rejected[0].1.contains("scorecard"));
    }
}
