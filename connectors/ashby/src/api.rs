//! Ashby's wire types, as the OpenAPI spec names them (camelCase), read
//! leniently: every field the mapping does not strictly need is optional, so a
//! new or missing field at Ashby never fails a whole page.

use serde::Deserialize;
use serde_json::Value;

/// The envelope of a list call: `{success, results, moreDataAvailable, nextCursor, syncToken}`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ListResponse {
    pub results: Vec<Value>,
    pub more_data_available: Option<bool>,
    pub next_cursor: Option<String>,
    pub sync_token: Option<String>,
}

/// `errorInfo` of a `success:false` answer.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorInfo {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ContactValue {
    pub value: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub is_primary: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct SocialLink {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Titled {
    pub id: Option<String>,
    pub title: Option<String>,
}

/// A candidate's location: `{id, locationSummary, locationComponents}` in the
/// spec; some mocks send a bare string, so anything else is read leniently.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CandidateLocation {
    Text(String),
    Object(LocationObject),
    /// Any other shape: ignored rather than failing the candidate.
    Other(Value),
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct LocationObject {
    pub location_summary: Option<String>,
    pub location_components: Vec<LocationComponent>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct LocationComponent {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
}

impl CandidateLocation {
    /// The summary, else the components joined (the spec orders them Country,
    /// Region, City, as its summary example does).
    pub fn summary(&self) -> Option<String> {
        let text = match self {
            CandidateLocation::Text(t) => t.trim().to_string(),
            CandidateLocation::Object(o) => match o.location_summary.as_deref().map(str::trim) {
                Some(s) if !s.is_empty() => s.to_string(),
                _ => o
                    .location_components
                    .iter()
                    .filter_map(|c| c.name.as_deref().map(str::trim))
                    .filter(|n| !n.is_empty())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            CandidateLocation::Other(_) => String::new(),
        };
        (!text.is_empty()).then_some(text)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub id: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub primary_email_address: Option<ContactValue>,
    #[serde(default)]
    pub email_addresses: Vec<ContactValue>,
    #[serde(default)]
    pub primary_phone_number: Option<ContactValue>,
    #[serde(default)]
    pub phone_numbers: Vec<ContactValue>,
    #[serde(default)]
    pub social_links: Vec<SocialLink>,
    #[serde(default)]
    pub tags: Vec<Titled>,
    #[serde(default)]
    pub position: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub profile_url: Option<String>,
    #[serde(default)]
    pub source: Option<Titled>,
    /// The spec's name for the candidate's location.
    #[serde(default)]
    pub location: Option<CandidateLocation>,
    /// What an independent mock and third-party clients read instead.
    #[serde(default)]
    pub primary_location: Option<CandidateLocation>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

impl User {
    pub fn full_name(&self) -> Option<String> {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct HiringTeamMember {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Option<String>,
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct InterviewStage {
    pub id: Option<String>,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub order_in_interview_plan: Option<i64>,
    pub interview_plan_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ArchiveReason {
    pub id: Option<String>,
    pub text: Option<String>,
    pub reason_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct IdRef {
    pub id: Option<String>,
    pub title: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub candidate: Option<IdRef>,
    #[serde(default)]
    pub current_interview_stage: Option<InterviewStage>,
    #[serde(default)]
    pub source: Option<Titled>,
    #[serde(default)]
    pub archive_reason: Option<ArchiveReason>,
    #[serde(default)]
    pub archived_at: Option<String>,
    #[serde(default)]
    pub job: Option<IdRef>,
    #[serde(default)]
    pub credited_to_user: Option<User>,
    #[serde(default)]
    pub hiring_team: Vec<HiringTeamMember>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub confidential: Option<bool>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub employment_type: Option<String>,
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub department_id: Option<String>,
    #[serde(default)]
    pub custom_requisition_id: Option<String>,
    #[serde(default)]
    pub hiring_team: Vec<HiringTeamMember>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub opened_at: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    /// Present with `expand: ["location"]`; used when the location cache lacks the id.
    #[serde(default)]
    pub location: Option<Location>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobPosting {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub job_id: Option<String>,
    #[serde(default)]
    pub department_name: Option<String>,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub workplace_type: Option<String>,
    #[serde(default)]
    pub employment_type: Option<String>,
    #[serde(default)]
    pub is_listed: Option<bool>,
    #[serde(default)]
    pub published_date: Option<String>,
    #[serde(default)]
    pub external_link: Option<String>,
    #[serde(default)]
    pub apply_link: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct InterviewEvent {
    pub id: Option<String>,
    pub interview_id: Option<String>,
    pub interviewers: Vec<User>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub location: Option<String>,
    pub meeting_link: Option<String>,
    pub interview: Option<IdRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterviewSchedule {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub candidate_id: Option<String>,
    #[serde(default)]
    pub interview_stage_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub interview_events: Vec<InterviewEvent>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Salary {
    pub currency_code: Option<String>,
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OfferVersion {
    pub id: Option<String>,
    pub start_date: Option<String>,
    pub salary: Option<Salary>,
    pub created_at: Option<String>,
    pub approval_status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub id: String,
    #[serde(default)]
    pub decided_at: Option<String>,
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub acceptance_status: Option<String>,
    #[serde(default)]
    pub offer_status: Option<String>,
    #[serde(default)]
    pub latest_version: Option<OfferVersion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationFeedback {
    pub id: String,
    #[serde(default)]
    pub submitted_values: Option<Value>,
    #[serde(default)]
    pub submitted_by_user: Option<User>,
    #[serde(default)]
    pub interview_id: Option<String>,
    #[serde(default)]
    pub interview_event_id: Option<String>,
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub submitted_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Department {
    pub id: Option<String>,
    pub name: Option<String>,
    pub external_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Location {
    pub id: Option<String>,
    pub name: Option<String>,
    pub external_name: Option<String>,
    pub workplace_type: Option<String>,
}
