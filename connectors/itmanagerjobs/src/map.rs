//! ITManagerJobs objects to hirebridge's canonical records: jobs (with the
//! soft-close and expiry statuses as `closed`), candidates, and applications
//! built from webhook payloads with their pipeline status as a stage.
//!
//! ASSUMPTION (seed `004_7d555ba706a0066d.txt` shows only the create-job body —
//! `title`, `reference`, `description`, `city`, `country`, `employmentType`,
//! `remoteType`, `applyMethod`, `applyEmailAddress` — and the answer `{"id":
//! 1234, "status": "Draft", ...}`; it names `postedDate` and `expiryDate` under
//! publish): a job read back carries those fields plus `id` (a number),
//! `status` (`Draft`, `Active`, `Inactive` after `DELETE`, `Expired`),
//! `postedDate`, `expiryDate`, `closedDate` (when soft-closed or expired),
//! `createdAt` and `updatedAt`, all camelCase with RFC 3339 times. A candidate
//! (`GET /api/v1/candidates/{id}`, no schema published) carries `id`,
//! `firstName`, `lastName`, `email`, `phone`, `city`, `country`,
//! `currentJobTitle`, `currentCompany`, `linkedInUrl`, `createdAt` and
//! `updatedAt`. Every field but `id` is optional, so a difference costs a
//! field, never the record. The shapes read are those the simulator serves.

use chrono::{DateTime, Utc};
use hirebridge_sdk::{
    Application, ApplicationStatus, Candidate, EmploymentType, Job, JobStatus, Record, RecordMeta,
    StageCategory, StageMap, WorkplaceType,
};
use serde_json::Value;

/// Why an ITManagerJobs object could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("ITManagerJobs {what} is not a JSON object")]
    NotAnObject { what: &'static str },
    #[error("ITManagerJobs {what} has no `{field}`")]
    Missing {
        what: &'static str,
        field: &'static str,
    },
}

/// The first of `keys` holding a non-empty string or a number, as text.
pub fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The first of `keys` holding an RFC 3339 time.
pub fn time(v: &Value, keys: &[&str]) -> Option<DateTime<Utc>> {
    keys.iter().find_map(|k| {
        DateTime::parse_from_rfc3339(v.get(*k)?.as_str()?.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

fn object<'a>(raw: &'a Value, what: &'static str) -> Result<&'a Value, MapError> {
    if raw.is_object() {
        Ok(raw)
    } else {
        Err(MapError::NotAnObject { what })
    }
}

fn required(
    raw: &Value,
    keys: &[&str],
    what: &'static str,
    field: &'static str,
) -> Result<String, MapError> {
    text(raw, keys).ok_or(MapError::Missing { what, field })
}

/// `Active` is open, `Draft` a draft; `Inactive` (soft-closed by `DELETE`,
/// "Existing applications are preserved") and `Expired` are closed, never deleted.
pub fn job_status(s: &str) -> Option<JobStatus> {
    match s.trim().to_ascii_lowercase().as_str() {
        "active" | "published" | "open" => Some(JobStatus::Open),
        "draft" => Some(JobStatus::Draft),
        "inactive" | "expired" | "closed" | "deactivated" => Some(JobStatus::Closed),
        _ => None,
    }
}

fn employment_type(s: &str) -> EmploymentType {
    match s
        .trim()
        .to_ascii_lowercase()
        .replace(['_', '-', ' '], "")
        .as_str()
    {
        "fulltime" | "permanent" => EmploymentType::FullTime,
        "parttime" => EmploymentType::PartTime,
        "contract" | "contractor" | "freelance" => EmploymentType::Contract,
        "temporary" | "temp" => EmploymentType::Temporary,
        "internship" | "intern" => EmploymentType::Intern,
        _ => EmploymentType::Other,
    }
}

fn workplace_type(s: &str) -> Option<WorkplaceType> {
    match s
        .trim()
        .to_ascii_lowercase()
        .replace(['_', '-', ' '], "")
        .as_str()
    {
        "fullyremote" | "remote" => Some(WorkplaceType::Remote),
        "hybridremote" | "hybrid" => Some(WorkplaceType::Hybrid),
        "onsite" | "noremote" | "office" => Some(WorkplaceType::OnSite),
        _ => None,
    }
}

fn location(raw: &Value) -> Option<String> {
    let parts: Vec<String> = [text(raw, &["city"]), text(raw, &["country"])]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A job (`GET /api/v1/jobs` item or `GET /api/v1/jobs/{id}`).
pub fn job(raw: &Value) -> Result<Record, MapError> {
    let raw = object(raw, "job")?;
    let status = text(raw, &["status"]).and_then(|s| job_status(&s));
    Ok(Record::Job(Job {
        meta: RecordMeta {
            remote_id: required(raw, &["id"], "job", "id")?,
            remote_created_at: time(raw, &["createdAt"]),
            remote_updated_at: time(raw, &["updatedAt"]),
            remote_data: raw.clone(),
            fingerprint: None,
        },
        title: text(raw, &["title"]),
        status,
        employment_type: text(raw, &["employmentType"]).map(|s| employment_type(&s)),
        location: location(raw),
        workplace_type: text(raw, &["remoteType"]).and_then(|s| workplace_type(&s)),
        requisition_id: text(raw, &["reference"]),
        opened_at: time(raw, &["postedDate"]),
        closed_at: match status {
            Some(JobStatus::Closed) => time(raw, &["closedDate", "expiredAt"]),
            _ => None,
        },
        ..Job::default()
    }))
}

/// A candidate (`GET /api/v1/candidates/{id}`, scope `CvSearch`).
pub fn candidate(raw: &Value) -> Result<Record, MapError> {
    let raw = object(raw, "candidate")?;
    let first_name = text(raw, &["firstName"]);
    let last_name = text(raw, &["lastName"]);
    let name = text(raw, &["name", "fullName"]).or_else(|| {
        let joined: Vec<&str> = [first_name.as_deref(), last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        (!joined.is_empty()).then(|| joined.join(" "))
    });
    let email = text(raw, &["email"]);
    let phone = text(raw, &["phone"]);
    Ok(Record::Candidate(Candidate {
        meta: RecordMeta {
            remote_id: required(raw, &["id"], "candidate", "id")?,
            remote_created_at: time(raw, &["createdAt"]),
            remote_updated_at: time(raw, &["updatedAt"]),
            remote_data: raw.clone(),
            fingerprint: None,
        },
        name,
        first_name,
        last_name,
        emails: email.iter().cloned().collect(),
        email,
        phones: phone.iter().cloned().collect(),
        phone,
        company: text(raw, &["currentCompany"]),
        title: text(raw, &["currentJobTitle"]),
        location: location(raw),
        linkedin_url: text(raw, &["linkedInUrl"]),
        ..Candidate::default()
    }))
}

/// A candidate known only by id: what an application refers to when the key
/// may not read candidates (no `CvSearch`), so the reference still resolves.
pub fn candidate_ref(id: &str) -> Record {
    Record::Candidate(Candidate {
        meta: RecordMeta {
            remote_id: id.to_string(),
            remote_data: serde_json::json!({ "id": id }),
            ..RecordMeta::default()
        },
        ..Candidate::default()
    })
}

/// The pipeline statuses the seed names ("New → Screened → Interviewed → ...")
/// with the rest of the usual ATS pipeline, and their canonical categories.
pub const PIPELINE: &[(&str, StageCategory)] = &[
    ("New", StageCategory::Applied),
    ("Screened", StageCategory::Screening),
    ("Interviewed", StageCategory::Interview),
    ("Offered", StageCategory::Offer),
    ("Hired", StageCategory::Hired),
    ("Rejected", StageCategory::Rejected),
    ("Withdrawn", StageCategory::Withdrawn),
];

/// The category of a pipeline status: the operator's `stage_map` first, then
/// [`PIPELINE`], then a guess from the name.
pub fn stage_category(status: &str, stage_map: &StageMap) -> StageCategory {
    stage_map.get(None, Some(status)).unwrap_or_else(|| {
        PIPELINE
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(status.trim()))
            .map(|(_, c)| *c)
            .unwrap_or_else(|| hirebridge_sdk::stage_category_from_title(status))
    })
}

fn application_status(category: StageCategory) -> ApplicationStatus {
    match category {
        StageCategory::Hired => ApplicationStatus::Hired,
        StageCategory::Rejected => ApplicationStatus::Rejected,
        StageCategory::Withdrawn => ApplicationStatus::Withdrawn,
        _ => ApplicationStatus::Active,
    }
}

/// What the connector remembers of a submitted application, so a later
/// `application.status_changed` (which carries only ids, statuses and a time)
/// keeps its candidate, job and applied date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submitted {
    pub candidate_id: Option<String>,
    pub job_id: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    pub application_type: Option<String>,
    pub job_title: Option<String>,
}

impl Submitted {
    /// What an `application.submitted` payload says.
    pub fn from_payload(data: &Value) -> Submitted {
        Submitted {
            candidate_id: text(data, &["candidateId"]),
            job_id: text(data, &["jobPostId"]),
            applied_at: time(data, &["appliedAt"]),
            application_type: text(data, &["applicationType"]),
            job_title: text(data, &["jobTitle"]),
        }
    }
}

/// An application in pipeline `status` (`New` for a submission), with what is
/// known of its submission and `changed_at` as the provider's update time.
pub fn application(
    id: &str,
    status: &str,
    submitted: &Submitted,
    changed_at: Option<DateTime<Utc>>,
    payload: &Value,
    stage_map: &StageMap,
) -> Record {
    let category = stage_category(status, stage_map);
    let at = changed_at.or(submitted.applied_at);
    Record::Application(Application {
        meta: RecordMeta {
            remote_id: id.to_string(),
            remote_created_at: submitted.applied_at,
            remote_updated_at: at,
            remote_data: payload.clone(),
            fingerprint: None,
        },
        candidate_remote_id: submitted.candidate_id.clone(),
        job_remote_id: submitted.job_id.clone(),
        status: Some(application_status(category)),
        stage_name: Some(status.to_string()),
        stage_category: Some(category),
        source: submitted.application_type.clone(),
        applied_at: submitted.applied_at,
        hired_at: (category == StageCategory::Hired).then_some(at).flatten(),
        archived_at: matches!(category, StageCategory::Rejected | StageCategory::Withdrawn)
            .then_some(at)
            .flatten(),
        ..Application::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_map_and_soft_close_is_closed() {
        assert_eq!(job_status("Active"), Some(JobStatus::Open));
        assert_eq!(job_status("Inactive"), Some(JobStatus::Closed));
        assert_eq!(job_status("Expired"), Some(JobStatus::Closed));
        assert_eq!(job_status("Draft"), Some(JobStatus::Draft));
        assert_eq!(job_status("Weird"), None);
    }

    #[test]
    fn pipeline_categories_and_overrides() {
        let none = StageMap::default();
        for (status, cat) in PIPELINE {
            assert_eq!(stage_category(status, &none), *cat);
        }
        let map = StageMap::new([("screened".to_string(), StageCategory::Assessment)].into());
        assert_eq!(stage_category("Screened", &map), StageCategory::Assessment);
    }

    #[test]
    fn objects_without_ids_are_refused() {
        assert!(matches!(
            job(&json!({"title": "x"})),
            Err(MapError::Missing { .. })
        ));
        assert!(matches!(
            candidate(&json!([])),
            Err(MapError::NotAnObject { .. })
        ));
    }
}
