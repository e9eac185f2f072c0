//! Ashby objects to hirebridge's canonical records: statuses, stage categories
//! (from the stage type and title, overridable per connector), hiring teams,
//! sources and archive reasons. The records come back without their raw object
//! (`remote_data`), which `connector::map_object` moves in.

use crate::api;
use chrono::{DateTime, NaiveDate, Utc};
use hirebridge_sdk::{
    Application, ApplicationStatus, Candidate, EmploymentType, Interview, InterviewStatus,
    Interviewer, Job, JobPosting, JobStatus, Offer, OfferStatus, Recommendation, Record,
    RecordMeta, Review, StageCategory, TeamMember, WorkplaceType,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// What mapping needs besides the object itself: names of referenced objects
/// and the operator's stage overrides.
#[derive(Debug, Clone, Default)]
pub struct References {
    pub departments: HashMap<String, String>,
    pub locations: HashMap<String, (String, Option<String>)>,
    pub stages: HashMap<String, api::InterviewStage>,
    /// Stage title or id to category, from the config.
    pub stage_map: hirebridge_sdk::StageMap,
    /// Reference lists Ashby refused, by method: a note on what mapping lacks.
    pub degraded: BTreeMap<String, String>,
}

impl References {
    /// A digest of everything mapping reads here, part of each listed object's
    /// fingerprint (with [`MAPPING_VERSION`]): a renamed department or a changed
    /// stage map maps every object again.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let sorted = serde_json::json!([
            self.departments.iter().collect::<BTreeMap<_, _>>(),
            self.locations.iter().collect::<BTreeMap<_, _>>(),
            self.stages.iter().collect::<BTreeMap<_, _>>(),
            self.stage_map,
        ]);
        Sha256::digest(serde_json::to_vec(&sorted).unwrap_or_default()).into()
    }
}

/// The version of this mapping, part of each listed object's fingerprint: bump
/// it with any change that makes an unchanged Ashby object map differently, so
/// the next pass maps every object again instead of passing them over as held.
/// (The crate's version is part of it too: every release maps everything once.)
pub const MAPPING_VERSION: u32 = 1;

/// A timestamp as Ashby writes it (RFC 3339), or a bare date at midnight UTC.
pub fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = text?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn parse_date(text: Option<&str>) -> Option<NaiveDate> {
    let text = text?.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| parse_time(Some(text)).map(|t| t.date_naive()))
}

fn decode<T: DeserializeOwned>(what: &str, raw: &Value) -> Result<T, String> {
    T::deserialize(raw).map_err(|e| format!("Ashby {what} does not match the expected shape: {e}"))
}

/// A record's meta, without its raw object: `connector::map_object`, which owns
/// the raw object, moves it in (a copy here was 8 % of the daemon's backfill).
fn meta(id: &str, created: Option<&str>, updated: Option<&str>) -> RecordMeta {
    RecordMeta {
        remote_id: id.to_string(),
        remote_created_at: parse_time(created),
        remote_updated_at: parse_time(updated),
        remote_data: Value::Null,
        fingerprint: None,
    }
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn employment_type(text: Option<&str>) -> Option<EmploymentType> {
    Some(match text? {
        "FullTime" => EmploymentType::FullTime,
        "PartTime" => EmploymentType::PartTime,
        "Intern" => EmploymentType::Intern,
        "Contract" => EmploymentType::Contract,
        "Temporary" => EmploymentType::Temporary,
        _ => EmploymentType::Other,
    })
}

pub fn workplace_type(text: Option<&str>) -> Option<WorkplaceType> {
    match text? {
        "OnSite" => Some(WorkplaceType::OnSite),
        "Hybrid" => Some(WorkplaceType::Hybrid),
        "Remote" => Some(WorkplaceType::Remote),
        _ => None,
    }
}

fn team(members: &[api::HiringTeamMember]) -> Vec<TeamMember> {
    members
        .iter()
        .map(|m| TeamMember {
            remote_user_id: m.user_id.clone(),
            name: api::User {
                first_name: m.first_name.clone(),
                last_name: m.last_name.clone(),
                ..Default::default()
            }
            .full_name(),
            email: m.email.clone(),
            role: m.role.clone(),
        })
        .collect()
}

pub(crate) fn candidate(raw: &Value) -> Result<Record, String> {
    let c: api::Candidate = decode("candidate", raw)?;
    let name = non_empty(c.name.as_deref());
    let (first_name, last_name) = match &name {
        Some(n) => match n.split_once(' ') {
            Some((first, last)) => (Some(first.to_string()), non_empty(Some(last))),
            None => (Some(n.clone()), None),
        },
        None => (None, None),
    };
    let email = c
        .primary_email_address
        .as_ref()
        .and_then(|e| non_empty(e.value.as_deref()))
        .or_else(|| {
            c.email_addresses
                .iter()
                .find_map(|e| non_empty(e.value.as_deref()))
        });
    let mut emails: Vec<String> = c
        .email_addresses
        .iter()
        .filter_map(|e| non_empty(e.value.as_deref()))
        .collect();
    if let Some(e) = &email {
        if !emails.contains(e) {
            emails.insert(0, e.clone());
        }
    }
    let phone = c
        .primary_phone_number
        .as_ref()
        .and_then(|p| non_empty(p.value.as_deref()))
        .or_else(|| {
            c.phone_numbers
                .iter()
                .find_map(|p| non_empty(p.value.as_deref()))
        });
    Ok(Record::Candidate(Candidate {
        meta: meta(&c.id, c.created_at.as_deref(), c.updated_at.as_deref()),
        name,
        first_name,
        last_name,
        email,
        emails,
        phone,
        phones: c
            .phone_numbers
            .iter()
            .filter_map(|p| non_empty(p.value.as_deref()))
            .collect(),
        company: non_empty(c.company.as_deref()),
        title: non_empty(c.position.as_deref()),
        // The spec's `location` first; `primaryLocation` is what others read.
        location: c
            .location
            .as_ref()
            .and_then(api::CandidateLocation::summary)
            .or_else(|| {
                c.primary_location
                    .as_ref()
                    .and_then(api::CandidateLocation::summary)
            }),
        source: c.source.and_then(|s| non_empty(s.title.as_deref())),
        tags: c
            .tags
            .iter()
            .filter_map(|t| non_empty(t.title.as_deref()))
            .collect(),
        profile_url: non_empty(c.profile_url.as_deref()),
        linkedin_url: c
            .social_links
            .iter()
            .find(|l| l.kind.as_deref() == Some("LinkedIn"))
            .and_then(|l| non_empty(l.url.as_deref())),
        // Ashby credits referrals on the application, not the candidate.
        referrer: None,
    }))
}

pub(crate) fn job(raw: &Value, refs: &References) -> Result<Record, String> {
    let j: api::Job = decode("job", raw)?;
    // The cache by id first; an expanded `location` covers a cache that lacks it.
    let embedded = j.location.as_ref().and_then(|l| {
        non_empty(l.external_name.as_deref().or(l.name.as_deref()))
            .map(|name| (name, l.workplace_type.clone()))
    });
    let location = j
        .location_id
        .as_ref()
        .and_then(|id| refs.locations.get(id))
        .or(embedded.as_ref());
    Ok(Record::Job(Job {
        meta: meta(&j.id, j.created_at.as_deref(), j.updated_at.as_deref()),
        title: non_empty(j.title.as_deref()),
        status: match j.status.as_deref() {
            Some("Draft") => Some(JobStatus::Draft),
            Some("Open") => Some(JobStatus::Open),
            Some("Closed") => Some(JobStatus::Closed),
            Some("Archived") => Some(JobStatus::Archived),
            _ => None,
        },
        employment_type: employment_type(j.employment_type.as_deref()),
        department: j
            .department_id
            .as_ref()
            .and_then(|id| refs.departments.get(id))
            .cloned(),
        location: location.map(|(name, _)| name.clone()),
        workplace_type: location.and_then(|(_, w)| workplace_type(w.as_deref())),
        confidential: j.confidential.unwrap_or(false),
        requisition_id: non_empty(j.custom_requisition_id.as_deref()),
        opened_at: parse_time(j.opened_at.as_deref()),
        closed_at: parse_time(j.closed_at.as_deref()),
        hiring_team: team(&j.hiring_team),
    }))
}

pub(crate) fn job_posting(raw: &Value) -> Result<Record, String> {
    let p: api::JobPosting = decode("job posting", raw)?;
    Ok(Record::JobPosting(JobPosting {
        meta: meta(&p.id, None, p.updated_at.as_deref()),
        job_remote_id: p.job_id.clone(),
        title: non_empty(p.title.as_deref()),
        is_listed: p.is_listed,
        department: non_empty(p.department_name.as_deref()),
        location: non_empty(p.location_name.as_deref()),
        workplace_type: workplace_type(p.workplace_type.as_deref()),
        employment_type: employment_type(p.employment_type.as_deref()),
        published_at: parse_time(p.published_date.as_deref()),
        apply_url: non_empty(p.apply_link.as_deref()),
        external_url: non_empty(p.external_link.as_deref()),
    }))
}

/// The canonical category of a stage: the operator's override (by stage id or
/// title) first, then Ashby's stage type, then words in the title.
pub fn stage_category(
    stage: &api::InterviewStage,
    archive_reason: Option<&api::ArchiveReason>,
    refs: &References,
) -> Option<StageCategory> {
    let title = stage.title.as_deref().unwrap_or_default().to_lowercase();
    if let Some(c) = refs.stage_map.get(stage.id.as_deref(), Some(&title)) {
        return Some(c);
    }
    let by_title = || hirebridge_sdk::stage_category_from_title(&title);
    Some(match stage.kind.as_deref() {
        Some("Lead") => StageCategory::Applied,
        Some("PreInterviewScreen") => {
            if title.contains("review") || title.contains("new") {
                StageCategory::Applied
            } else {
                StageCategory::Screening
            }
        }
        Some("Offer") => StageCategory::Offer,
        Some("Hired") => StageCategory::Hired,
        Some("Archived") => match archive_reason.and_then(|r| r.reason_type.as_deref()) {
            Some("RejectedByCandidate") => StageCategory::Withdrawn,
            _ => StageCategory::Rejected,
        },
        _ => by_title(),
    })
}

pub(crate) fn application(raw: &Value, refs: &References) -> Result<Record, String> {
    let a: api::Application = decode("application", raw)?;
    let reason_type = a
        .archive_reason
        .as_ref()
        .and_then(|r| r.reason_type.as_deref());
    let status = match a.status.as_deref() {
        Some("Active") => Some(ApplicationStatus::Active),
        Some("Lead") => Some(ApplicationStatus::Lead),
        Some("Hired") => Some(ApplicationStatus::Hired),
        Some("Archived") => Some(match reason_type {
            Some("RejectedByOrg") => ApplicationStatus::Rejected,
            Some("RejectedByCandidate") => ApplicationStatus::Withdrawn,
            _ => ApplicationStatus::Archived,
        }),
        _ => None,
    };
    let stage = a.current_interview_stage.as_ref();
    let mut category = stage.and_then(|s| stage_category(s, a.archive_reason.as_ref(), refs));
    // The application's status wins over a stage that says otherwise.
    match status {
        Some(ApplicationStatus::Hired) => category = Some(StageCategory::Hired),
        Some(ApplicationStatus::Rejected) => category = Some(StageCategory::Rejected),
        Some(ApplicationStatus::Withdrawn) => category = Some(StageCategory::Withdrawn),
        _ => {}
    }
    Ok(Record::Application(Application {
        meta: meta(&a.id, a.created_at.as_deref(), a.updated_at.as_deref()),
        candidate_remote_id: a.candidate.as_ref().and_then(|c| c.id.clone()),
        job_remote_id: a.job.as_ref().and_then(|j| j.id.clone()),
        status,
        stage_remote_id: stage.and_then(|s| s.id.clone()),
        stage_name: stage.and_then(|s| non_empty(s.title.as_deref())),
        stage_category: category,
        source: a
            .source
            .as_ref()
            .and_then(|s| non_empty(s.title.as_deref())),
        archive_reason: a
            .archive_reason
            .as_ref()
            .and_then(|r| non_empty(r.text.as_deref())),
        applied_at: parse_time(a.created_at.as_deref()),
        archived_at: parse_time(a.archived_at.as_deref()),
        hired_at: None,
        credited_to: a.credited_to_user.as_ref().and_then(api::User::full_name),
        hiring_team: team(&a.hiring_team),
    }))
}

pub fn interview_status(text: Option<&str>) -> Option<InterviewStatus> {
    Some(match text? {
        "NeedsScheduling"
        | "WaitingOnCandidateBooking"
        | "WaitingOnCandidateAvailability"
        | "CandidateAvailabilitySubmitted" => InterviewStatus::AwaitingScheduling,
        "Scheduled" => InterviewStatus::Scheduled,
        "WaitingOnFeedback" => InterviewStatus::AwaitingFeedback,
        "Complete" => InterviewStatus::Completed,
        "Cancelled" => InterviewStatus::Cancelled,
        "OnHold" => InterviewStatus::OnHold,
        _ => InterviewStatus::Unknown,
    })
}

pub(crate) fn interview(raw: &Value, refs: &References) -> Result<Record, String> {
    let s: api::InterviewSchedule = decode("interview schedule", raw)?;
    let stage = s
        .interview_stage_id
        .as_ref()
        .and_then(|id| refs.stages.get(id));
    let starts_at = s
        .interview_events
        .iter()
        .filter_map(|e| parse_time(e.start_time.as_deref()))
        .min();
    let ends_at = s
        .interview_events
        .iter()
        .filter_map(|e| parse_time(e.end_time.as_deref()))
        .max();
    let mut interviewers: Vec<Interviewer> = Vec::new();
    for user in s
        .interview_events
        .iter()
        .flat_map(|e| e.interviewers.iter())
    {
        if interviewers
            .iter()
            .any(|i| i.remote_user_id.is_some() && i.remote_user_id == user.id)
        {
            continue;
        }
        interviewers.push(Interviewer {
            remote_user_id: user.id.clone(),
            name: user.full_name(),
            email: user.email.clone(),
        });
    }
    let stage_name = stage.and_then(|st| non_empty(st.title.as_deref()));
    let title = s
        .interview_events
        .iter()
        .find_map(|e| {
            e.interview
                .as_ref()
                .and_then(|i| non_empty(i.title.as_deref()))
        })
        .or_else(|| stage_name.clone());
    Ok(Record::Interview(Interview {
        meta: meta(&s.id, s.created_at.as_deref(), s.updated_at.as_deref()),
        application_remote_id: s.application_id.clone(),
        candidate_remote_id: s.candidate_id.clone(),
        stage_name,
        title,
        status: interview_status(s.status.as_deref()),
        starts_at,
        ends_at,
        location: s
            .interview_events
            .iter()
            .find_map(|e| non_empty(e.location.as_deref())),
        meeting_url: s
            .interview_events
            .iter()
            .find_map(|e| non_empty(e.meeting_link.as_deref())),
        interviewers,
    }))
}

pub fn offer_status(o: &api::Offer) -> Option<OfferStatus> {
    let approved = o
        .latest_version
        .as_ref()
        .and_then(|v| v.approval_status.as_deref())
        == Some("Approved");
    let by_offer = match o.offer_status.as_deref() {
        Some("WaitingOnApprovalStart") | Some("WaitingOnApprovalDefinition") => Some(if approved {
            OfferStatus::Approved
        } else {
            OfferStatus::Draft
        }),
        Some("WaitingOnOfferApproval") => Some(OfferStatus::PendingApproval),
        Some("WaitingOnCandidateResponse") => Some(OfferStatus::Extended),
        Some("CandidateAccepted") => Some(OfferStatus::Accepted),
        Some("CandidateRejected") => Some(OfferStatus::Declined),
        Some("OfferCancelled") => Some(OfferStatus::Cancelled),
        _ => None,
    };
    by_offer.or(match o.acceptance_status.as_deref() {
        Some("Accepted") => Some(OfferStatus::Accepted),
        Some("Declined") => Some(OfferStatus::Declined),
        Some("Cancelled") => Some(OfferStatus::Cancelled),
        Some("WaitingOnResponse") | Some("Pending") => Some(OfferStatus::Extended),
        Some("Created") => Some(if approved {
            OfferStatus::Approved
        } else {
            OfferStatus::Draft
        }),
        _ => None,
    })
}

pub(crate) fn offer(raw: &Value) -> Result<Record, String> {
    let o: api::Offer = decode("offer", raw)?;
    let version = o.latest_version.as_ref();
    let salary = version.and_then(|v| v.salary.as_ref());
    let amount = salary.and_then(|s| match &s.value {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(t)) if t.trim().parse::<f64>().is_ok() => Some(t.trim().to_string()),
        _ => None,
    });
    Ok(Record::Offer(Offer {
        meta: meta(&o.id, version.and_then(|v| v.created_at.as_deref()), None),
        application_remote_id: o.application_id.clone(),
        status: offer_status(&o),
        salary_amount: amount,
        salary_currency: salary.and_then(|s| non_empty(s.currency_code.as_deref())),
        start_date: parse_date(version.and_then(|v| v.start_date.as_deref())),
        extended_at: None,
        decided_at: parse_time(o.decided_at.as_deref()),
        version: version.and_then(|v| v.id.clone()),
    }))
}

/// Reads the overall recommendation and the written notes out of a feedback
/// form's submitted values. Ashby forms are customer-defined, so this looks for
/// a score field named like a recommendation and a text field named like notes.
fn feedback_values(values: Option<&Value>) -> (Option<f64>, Option<String>) {
    let Some(Value::Object(map)) = values else {
        return (None, None);
    };
    let mut rating = None;
    let mut summary = None;
    for (key, value) in map {
        let key = key.to_lowercase();
        let inner = value.get("value").unwrap_or(value);
        if rating.is_none()
            && (key.contains("recommend") || key.contains("overall") || key.contains("score"))
        {
            rating = inner
                .as_f64()
                .or_else(|| inner.as_str().and_then(|s| s.parse().ok()));
        }
        if summary.is_none()
            && (key.contains("note") || key.contains("summary") || key.contains("feedback"))
        {
            summary = inner
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
    }
    (rating, summary)
}

/// Ashby's 1-4 overall recommendation scale.
pub fn recommendation(rating: Option<f64>) -> Option<Recommendation> {
    let r = rating?;
    Some(if r >= 3.5 {
        Recommendation::StrongYes
    } else if r >= 2.5 {
        Recommendation::Yes
    } else if r >= 1.5 {
        Recommendation::No
    } else {
        Recommendation::StrongNo
    })
}

pub(crate) fn review(raw: &Value) -> Result<Record, String> {
    let f: api::ApplicationFeedback = decode("application feedback", raw)?;
    let (rating, summary) = feedback_values(f.submitted_values.as_ref());
    let user = f.submitted_by_user.as_ref();
    Ok(Record::Review(Review {
        meta: meta(&f.id, f.submitted_at.as_deref(), f.submitted_at.as_deref()),
        application_remote_id: f.application_id.clone(),
        interview_remote_id: None,
        reviewer_name: user.and_then(api::User::full_name),
        reviewer_email: user.and_then(|u| u.email.clone()),
        recommendation: recommendation(rating),
        rating,
        summary,
        submitted_at: parse_time(f.submitted_at.as_deref()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stage(title: &str, kind: &str) -> api::InterviewStage {
        api::InterviewStage {
            id: Some("s1".into()),
            title: Some(title.into()),
            kind: Some(kind.into()),
            ..Default::default()
        }
    }

    #[test]
    fn stage_categories_from_type_title_and_overrides() {
        let refs = References::default();
        assert_eq!(
            stage_category(
                &stage("Recruiter Screen", "PreInterviewScreen"),
                None,
                &refs
            ),
            Some(StageCategory::Screening)
        );
        assert_eq!(
            stage_category(
                &stage("Application Review", "PreInterviewScreen"),
                None,
                &refs
            ),
            Some(StageCategory::Applied)
        );
        assert_eq!(
            stage_category(&stage("Take-home Assignment", "Active"), None, &refs),
            Some(StageCategory::Assessment)
        );
        assert_eq!(
            stage_category(&stage("Onsite", "Active"), None, &refs),
            Some(StageCategory::Interview)
        );
        assert_eq!(
            stage_category(&stage("Offer", "Offer"), None, &refs),
            Some(StageCategory::Offer)
        );
        let withdrew = api::ArchiveReason {
            reason_type: Some("RejectedByCandidate".into()),
            ..Default::default()
        };
        assert_eq!(
            stage_category(&stage("Archived", "Archived"), Some(&withdrew), &refs),
            Some(StageCategory::Withdrawn)
        );
        let refs = References {
            stage_map: hirebridge_sdk::StageMap::new(
                [("Onsite".to_string(), StageCategory::Assessment)].into(),
            ),
            ..References::default()
        };
        assert_eq!(
            stage_category(&stage("Onsite", "Active"), None, &refs),
            Some(StageCategory::Assessment)
        );
    }

    #[test]
    fn maps_an_application_with_embedded_references() {
        let raw = json!({
            "id": "app-1", "createdAt": "2026-01-02T03:04:05.000Z", "updatedAt": "2026-02-01T00:00:00Z",
            "status": "Archived",
            "candidate": {"id": "cand-1", "name": "Ada Lovelace"},
            "currentInterviewStage": {"id": "st-9", "title": "Archived", "type": "Archived", "orderInInterviewPlan": 9, "interviewPlanId": "p"},
            "source": {"id": "src", "title": "Referral", "isArchived": false},
            "archiveReason": {"id": "ar", "text": "Hired elsewhere", "reasonType": "RejectedByCandidate", "isArchived": false},
            "archivedAt": "2026-02-01T00:00:00Z",
            "job": {"id": "job-1", "title": "Engineer"},
            "hiringTeam": [{"email": "r@x.io", "firstName": "Rita", "lastName": "R", "role": "Recruiter", "userId": "u1"}]
        });
        let Record::Application(a) = application(&raw, &References::default()).unwrap() else {
            panic!()
        };
        assert_eq!(a.status, Some(ApplicationStatus::Withdrawn));
        assert_eq!(a.stage_category, Some(StageCategory::Withdrawn));
        assert_eq!(a.candidate_remote_id.as_deref(), Some("cand-1"));
        assert_eq!(a.source.as_deref(), Some("Referral"));
        assert_eq!(a.archive_reason.as_deref(), Some("Hired elsewhere"));
        assert_eq!(a.hiring_team[0].name.as_deref(), Some("Rita R"));
        assert!(application(&json!({"status": "Active"}), &References::default()).is_err());
    }

    #[test]
    fn maps_offers_and_reviews() {
        let raw = json!({"id": "o1", "applicationId": "a1", "acceptanceStatus": "Pending", "offerStatus": "WaitingOnCandidateResponse",
            "latestVersion": {"id": "v2", "startDate": "2026-03-01", "salary": {"currencyCode": "EUR", "value": 85000.5}, "createdAt": "2026-01-01T00:00:00Z"}});
        let Record::Offer(o) = offer(&raw).unwrap() else {
            panic!()
        };
        assert_eq!(o.status, Some(OfferStatus::Extended));
        assert_eq!(o.salary_amount.as_deref(), Some("85000.5"));
        assert_eq!(o.start_date, NaiveDate::from_ymd_opt(2026, 3, 1));
        let raw = json!({"id": "f1", "applicationId": "a1", "submittedAt": "2026-01-01T00:00:00Z",
            "submittedByUser": {"id": "u", "firstName": "Ann", "lastName": "Lee", "email": "ann@x.io"},
            "submittedValues": {"overall_recommendation": {"value": 4}, "notes": " Strong systems design "}});
        let Record::Review(r) = review(&raw).unwrap() else {
            panic!()
        };
        assert_eq!(r.recommendation, Some(Recommendation::StrongYes));
        assert_eq!(r.summary.as_deref(), Some("Strong systems design"));
        assert_eq!(r.reviewer_name.as_deref(), Some("Ann Lee"));
    }
}
