//! Canonical, provider-neutral hiring records (DESIGN.md §4).
//!
//! Every record carries the fields the unified schema stores as typed columns, plus
//! the provider's raw object (`remote_data`) with redacted PII removed. The value
//! sets of statuses and stage categories are closed enums that match the CHECK
//! constraints of the `hiring` schema one to one.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A string that is not one of a closed set of canonical values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of: {})", expected.join(", "))]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: Vec<&'static str>,
}

/// Declares a closed set of snake_case canonical values with `as_str`, `FromStr`,
/// `Display` and serde, so the Rust enum and the SQL CHECK constraint list the same
/// strings.
macro_rules! canonical_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        kind: $kind,
                        value: s.to_string(),
                        expected: vec![$($text),+],
                    }),
                }
            }
        }
    };
}

canonical_enum!(
    /// Where an application stands in a hiring funnel, whatever the provider calls the stage.
    StageCategory, "stage category" {
        Applied => "applied",
        Screening => "screening",
        Assessment => "assessment",
        Interview => "interview",
        Offer => "offer",
        Hired => "hired",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
    }
);

canonical_enum!(JobStatus, "job status" {
    Draft => "draft", Open => "open", Closed => "closed", Archived => "archived",
});

canonical_enum!(EmploymentType, "employment type" {
    FullTime => "full_time", PartTime => "part_time", Contract => "contract",
    Intern => "intern", Temporary => "temporary", Other => "other",
});

canonical_enum!(WorkplaceType, "workplace type" {
    OnSite => "on_site", Hybrid => "hybrid", Remote => "remote",
});

canonical_enum!(ApplicationStatus, "application status" {
    Lead => "lead", Active => "active", Hired => "hired", Rejected => "rejected",
    Withdrawn => "withdrawn", Archived => "archived",
});

canonical_enum!(InterviewStatus, "interview status" {
    AwaitingScheduling => "awaiting_scheduling", Scheduled => "scheduled",
    AwaitingFeedback => "awaiting_feedback", Completed => "completed",
    Cancelled => "cancelled", NoShow => "no_show", OnHold => "on_hold", Unknown => "unknown",
});

canonical_enum!(OfferStatus, "offer status" {
    Draft => "draft", PendingApproval => "pending_approval", Approved => "approved",
    Extended => "extended", Accepted => "accepted", Declined => "declined", Cancelled => "cancelled",
});

canonical_enum!(AssessmentStatus, "assessment status" {
    Invited => "invited", InProgress => "in_progress", Submitted => "submitted",
    Completed => "completed", Expired => "expired", Cancelled => "cancelled",
});

canonical_enum!(Recommendation, "review recommendation" {
    StrongYes => "strong_yes", Yes => "yes", Neutral => "neutral", No => "no", StrongNo => "strong_no",
});

canonical_enum!(BackgroundCheckKind, "background check kind" {
    Report => "report", Monitoring => "monitoring",
});

canonical_enum!(
    /// Where a background check stands: waiting on the candidate or employer
    /// (`pending_input`), running (`processing`, also an active monitoring
    /// subscription), or one of the final outcomes.
    BackgroundCheckStatus, "background check status" {
        PendingInput => "pending_input", Processing => "processing", Clear => "clear",
        Alert => "alert", Canceled => "canceled", Expired => "expired",
    }
);

impl BackgroundCheckStatus {
    /// The statuses after which a check no longer changes: the engine names
    /// the change into one of them `background_check.completed`, and a
    /// refresh-known stream stops re-reading checks in them.
    pub const FINAL: &'static [&'static str] = &["clear", "alert", "canceled", "expired"];

    pub fn is_final(self) -> bool {
        Self::FINAL.contains(&self.as_str())
    }
}

canonical_enum!(BackgroundCheckResult, "background check result" {
    Clear => "clear", Consider => "consider", AdverseAction => "adverse_action", Unknown => "unknown",
});

canonical_enum!(
    /// The entity families of the unified schema; each is one table in `hiring`.
    EntityKind, "entity kind" {
        Candidate => "candidate",
        Job => "job",
        JobPosting => "job_posting",
        Application => "application",
        Interview => "interview",
        Offer => "offer",
        Assessment => "assessment",
        Review => "review",
        BackgroundCheck => "background_check",
    }
);

impl EntityKind {
    /// The table in schema `hiring` that holds this entity.
    pub fn table(self) -> &'static str {
        match self {
            EntityKind::Candidate => "candidates",
            EntityKind::Job => "jobs",
            EntityKind::JobPosting => "job_postings",
            EntityKind::Application => "applications",
            EntityKind::Interview => "interviews",
            EntityKind::Offer => "offers",
            EntityKind::Assessment => "assessments",
            EntityKind::Review => "reviews",
            EntityKind::BackgroundCheck => "background_checks",
        }
    }
}

/// What every canonical record carries besides its typed fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RecordMeta {
    /// The provider's id of the object, unique per connector.
    pub remote_id: String,
    pub remote_created_at: Option<DateTime<Utc>>,
    pub remote_updated_at: Option<DateTime<Utc>>,
    /// The provider's raw object, minus redacted PII. Not part of the content hash.
    #[serde(skip)]
    pub remote_data: Value,
    /// The fingerprint of the listed object this record was mapped from
    /// ([`crate::Listed`]), stored in its place of the raw object's hash so the
    /// next pass can skip the object while it stays as it is.
    #[serde(skip)]
    pub fingerprint: Option<String>,
}

/// A person who applies, as one provider knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Candidate {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The primary email as the provider gives it.
    pub email: Option<String>,
    pub emails: Vec<String>,
    pub phone: Option<String>,
    pub phones: Vec<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub location: Option<String>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub profile_url: Option<String>,
    pub linkedin_url: Option<String>,
    /// Who referred the candidate, by name or email (Goodfit). Left out of the
    /// hash when absent, so records of providers without it hash as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

/// A member of a hiring team, by name and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TeamMember {
    pub remote_user_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Job {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub title: Option<String>,
    pub status: Option<JobStatus>,
    pub employment_type: Option<EmploymentType>,
    pub department: Option<String>,
    pub location: Option<String>,
    pub workplace_type: Option<WorkplaceType>,
    pub confidential: bool,
    pub requisition_id: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub hiring_team: Vec<TeamMember>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobPosting {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub job_remote_id: Option<String>,
    pub title: Option<String>,
    pub is_listed: Option<bool>,
    pub department: Option<String>,
    pub location: Option<String>,
    pub workplace_type: Option<WorkplaceType>,
    pub employment_type: Option<EmploymentType>,
    pub published_at: Option<DateTime<Utc>>,
    pub apply_url: Option<String>,
    pub external_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Application {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub candidate_remote_id: Option<String>,
    pub job_remote_id: Option<String>,
    pub status: Option<ApplicationStatus>,
    pub stage_remote_id: Option<String>,
    /// The provider's own stage name, kept verbatim.
    pub stage_name: Option<String>,
    pub stage_category: Option<StageCategory>,
    pub source: Option<String>,
    pub archive_reason: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub hired_at: Option<DateTime<Utc>>,
    pub credited_to: Option<String>,
    pub hiring_team: Vec<TeamMember>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Interviewer {
    pub remote_user_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Interview {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub application_remote_id: Option<String>,
    pub candidate_remote_id: Option<String>,
    pub stage_name: Option<String>,
    pub title: Option<String>,
    pub status: Option<InterviewStatus>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub meeting_url: Option<String>,
    pub interviewers: Vec<Interviewer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Offer {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub application_remote_id: Option<String>,
    pub status: Option<OfferStatus>,
    /// Decimal amount as text, so no float rounding creeps into money. Accepts a
    /// JSON number too (PostgreSQL's `numeric` comes back as one).
    #[serde(default, deserialize_with = "decimal_text")]
    pub salary_amount: Option<String>,
    pub salary_currency: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub extended_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Assessment {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub application_remote_id: Option<String>,
    pub candidate_remote_id: Option<String>,
    pub title: Option<String>,
    /// e.g. `assessment`, `code_assignment`.
    pub kind: Option<String>,
    pub status: Option<AssessmentStatus>,
    pub score: Option<f64>,
    pub max_score: Option<f64>,
    pub result: Option<String>,
    pub url: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Review {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub application_remote_id: Option<String>,
    pub interview_remote_id: Option<String>,
    pub reviewer_name: Option<String>,
    pub reviewer_email: Option<String>,
    pub recommendation: Option<Recommendation>,
    pub rating: Option<f64>,
    pub summary: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BackgroundCheck {
    #[serde(flatten)]
    pub meta: RecordMeta,
    pub candidate_remote_id: Option<String>,
    /// Used to land the check on the same person as the ATS application.
    pub candidate_email: Option<String>,
    pub kind: Option<BackgroundCheckKind>,
    pub package: Option<String>,
    pub status: Option<BackgroundCheckStatus>,
    pub result: Option<BackgroundCheckResult>,
    pub ordered_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The report sections that returned alerts, as the provider names them.
    pub alert_sections: Vec<String>,
    /// What someone must do before the check can run (stored as jsonb).
    pub required_actions: Vec<RequiredAction>,
    /// Where the employer views the check at the provider.
    pub viewer_url: Option<String>,
    /// The runs of a monitoring subscription, oldest first (stored as jsonb).
    pub results: Vec<MonitoringResult>,
}

/// One action a background check waits for (e.g. the candidate's consent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RequiredAction {
    /// The provider's action type, e.g. `MissingCandidateConsent`.
    pub r#type: Option<String>,
    pub description: Option<String>,
    /// Where the employer acts.
    pub url: Option<String>,
    /// Where the candidate acts.
    pub candidate_url: Option<String>,
}

/// One run of a monitoring subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MonitoringResult {
    pub date: Option<String>,
    /// The provider's result of the run, e.g. `Clear`.
    pub status: Option<String>,
}

/// One canonical record of any entity family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum Record {
    Candidate(Candidate),
    Job(Job),
    JobPosting(JobPosting),
    Application(Application),
    Interview(Interview),
    Offer(Offer),
    Assessment(Assessment),
    Review(Review),
    BackgroundCheck(BackgroundCheck),
}

impl Record {
    pub fn kind(&self) -> EntityKind {
        match self {
            Record::Candidate(_) => EntityKind::Candidate,
            Record::Job(_) => EntityKind::Job,
            Record::JobPosting(_) => EntityKind::JobPosting,
            Record::Application(_) => EntityKind::Application,
            Record::Interview(_) => EntityKind::Interview,
            Record::Offer(_) => EntityKind::Offer,
            Record::Assessment(_) => EntityKind::Assessment,
            Record::Review(_) => EntityKind::Review,
            Record::BackgroundCheck(_) => EntityKind::BackgroundCheck,
        }
    }

    pub fn meta(&self) -> &RecordMeta {
        match self {
            Record::Candidate(r) => &r.meta,
            Record::Job(r) => &r.meta,
            Record::JobPosting(r) => &r.meta,
            Record::Application(r) => &r.meta,
            Record::Interview(r) => &r.meta,
            Record::Offer(r) => &r.meta,
            Record::Assessment(r) => &r.meta,
            Record::Review(r) => &r.meta,
            Record::BackgroundCheck(r) => &r.meta,
        }
    }

    pub fn meta_mut(&mut self) -> &mut RecordMeta {
        match self {
            Record::Candidate(r) => &mut r.meta,
            Record::Job(r) => &mut r.meta,
            Record::JobPosting(r) => &mut r.meta,
            Record::Application(r) => &mut r.meta,
            Record::Interview(r) => &mut r.meta,
            Record::Offer(r) => &mut r.meta,
            Record::Assessment(r) => &mut r.meta,
            Record::Review(r) => &mut r.meta,
            Record::BackgroundCheck(r) => &mut r.meta,
        }
    }

    /// The normalised fields as a JSON object (the canonical object of an event's
    /// `data`), without the raw provider object.
    pub fn normalized(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Hex SHA-256 of the normalised fields, excluding the provider's update time so
    /// that a touch which changes nothing we store is not a change.
    pub fn content_hash(&self) -> String {
        content_hash_of(&self.normalized())
    }
}

/// [`Record::content_hash`] of a record's [`Record::normalized`] value, for a
/// caller that needs the normalised value anyway (one serialisation, not two).
pub fn content_hash_of(normalized: &Value) -> String {
    /// The map without `remote_updated_at`, serialised in place of a copy.
    struct WithoutUpdateTime<'a>(&'a serde_json::Map<String, Value>);
    impl Serialize for WithoutUpdateTime<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().filter(|(k, _)| *k != "remote_updated_at"))
        }
    }
    // serde_json maps are ordered (BTreeMap without `preserve_order`), so the
    // serialisation is canonical.
    let bytes = match normalized {
        Value::Object(map) => serde_json::to_vec(&WithoutUpdateTime(map)),
        other => serde_json::to_vec(other),
    }
    .unwrap_or_default();
    hex_lower(&Sha256::digest(bytes))
}

/// Reads a decimal given as a JSON string or number into its text form.
fn decimal_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a decimal, got {other}"
        ))),
    }
}

impl Record {
    /// Reads a record of `kind` back from its normalised JSON (or a stored row whose
    /// column names are the field names; extra columns are ignored).
    /// This record laid over `base`, the stored version of the same object:
    /// every field this one sets wins (scalars it sets, `false` included),
    /// every field it leaves unset (`None`, an empty list) keeps `base`'s value.
    /// Records of different kinds are not merged: this one is returned.
    pub fn merged_onto(self, base: &Record) -> Record {
        if base.kind() != self.kind() {
            return self;
        }
        let (Ok(Value::Object(mut out)), Ok(Value::Object(patch))) =
            (serde_json::to_value(base), serde_json::to_value(&self))
        else {
            return self;
        };
        for (key, value) in patch {
            let unset = value.is_null() || value.as_array().is_some_and(|a| a.is_empty());
            if !unset || !out.contains_key(&key) {
                out.insert(key, value);
            }
        }
        match serde_json::from_value::<Record>(Value::Object(out)) {
            Ok(mut merged) => {
                // The raw object is not serialised with the fields: the patch's.
                merged.meta_mut().remote_data = self.meta().remote_data.clone();
                merged
            }
            Err(_) => self,
        }
    }

    pub fn from_normalized(kind: EntityKind, value: Value) -> Result<Record, serde_json::Error> {
        Ok(match kind {
            EntityKind::Candidate => Record::Candidate(serde_json::from_value(value)?),
            EntityKind::Job => Record::Job(serde_json::from_value(value)?),
            EntityKind::JobPosting => Record::JobPosting(serde_json::from_value(value)?),
            EntityKind::Application => Record::Application(serde_json::from_value(value)?),
            EntityKind::Interview => Record::Interview(serde_json::from_value(value)?),
            EntityKind::Offer => Record::Offer(serde_json::from_value(value)?),
            EntityKind::Assessment => Record::Assessment(serde_json::from_value(value)?),
            EntityKind::Review => Record::Review(serde_json::from_value(value)?),
            EntityKind::BackgroundCheck => Record::BackgroundCheck(serde_json::from_value(value)?),
        })
    }
}

/// Lowercase hex of bytes.
pub fn hex_lower(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A connector's stage overrides (`stage_map` in its config): provider stage id
/// or title, matched without regard to case, to a canonical category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StageMap(std::collections::BTreeMap<String, StageCategory>);

impl StageMap {
    pub fn new(map: std::collections::BTreeMap<String, StageCategory>) -> StageMap {
        StageMap(
            map.into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect(),
        )
    }

    /// The operator's category for a stage, by id first, then by title.
    pub fn get(&self, id: Option<&str>, title: Option<&str>) -> Option<StageCategory> {
        [id, title]
            .into_iter()
            .flatten()
            .find_map(|k| self.0.get(&k.to_lowercase()).copied())
    }

    /// The operator's category, else the guess from the title.
    pub fn category(&self, id: Option<&str>, title: &str) -> StageCategory {
        self.get(id, Some(title))
            .unwrap_or_else(|| stage_category_from_title(title))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Normalises an email for identity matching: trimmed and lowercased. Returns `None`
/// for anything that is not shaped like an address.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || e.contains(char::is_whitespace)
    {
        return None;
    }
    Some(e)
}

/// Normalises a phone number to `+` and digits, for identity matching. Returns
/// `None` when fewer than 7 digits remain.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() < 7 {
        return None;
    }
    Some(if phone.trim_start().starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    })
}

/// A stage category guessed from a stage's name, for providers whose stages are
/// free text (Kit) or whose stage type is too coarse (Ashby "Active"). Operators
/// override it per connector with `stage_map`.
pub fn stage_category_from_title(title: &str) -> StageCategory {
    let title = title.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| title.contains(w));
    if has(&["reject", "declin", "disqualif", "archiv"]) {
        StageCategory::Rejected
    } else if has(&["withdr"]) {
        StageCategory::Withdrawn
    } else if has(&["hired", "onboard"]) {
        StageCategory::Hired
    } else if has(&["offer"]) {
        StageCategory::Offer
    } else if has(&[
        "take-home",
        "take home",
        "assignment",
        "assessment",
        "exercise",
        "challenge",
        "test",
        "case study",
    ]) {
        StageCategory::Assessment
    } else if has(&["screen", "phone", "intro call"]) {
        StageCategory::Screening
    } else if has(&[
        "application review",
        "new",
        "applied",
        "lead",
        "sourced",
        "inbox",
    ]) {
        StageCategory::Applied
    } else {
        StageCategory::Interview
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_values_round_trip() {
        for c in StageCategory::ALL {
            assert_eq!(c.as_str().parse::<StageCategory>().ok(), Some(*c));
        }
        let err = "phone".parse::<StageCategory>().unwrap_err();
        assert!(err.to_string().contains("screening"), "{err}");
    }

    #[test]
    fn a_partial_record_keeps_what_it_leaves_unset() {
        let mut stored = Application {
            candidate_remote_id: Some("c1".into()),
            job_remote_id: Some("j1".into()),
            stage_name: Some("New".into()),
            ..Default::default()
        };
        stored.meta.remote_id = "a1".into();
        let mut patch = Application {
            stage_name: Some("Hired".into()),
            stage_category: Some(StageCategory::Hired),
            ..Default::default()
        };
        patch.meta.remote_id = "a1".into();
        patch.meta.remote_data = serde_json::json!({"newStatus": "Hired"});
        let merged = Record::Application(patch).merged_onto(&Record::Application(stored));
        let Record::Application(m) = merged else {
            panic!("{merged:?}")
        };
        assert_eq!(m.candidate_remote_id.as_deref(), Some("c1"));
        assert_eq!(m.job_remote_id.as_deref(), Some("j1"));
        assert_eq!(m.stage_name.as_deref(), Some("Hired"));
        assert_eq!(m.stage_category, Some(StageCategory::Hired));
        assert_eq!(m.meta.remote_data["newStatus"], "Hired");
        // Another kind is not merged.
        let job = Record::Job(Job::default());
        assert_eq!(
            job.clone()
                .merged_onto(&Record::Candidate(Candidate::default())),
            job
        );
    }

    #[test]
    fn content_hash_ignores_raw_data_and_update_time() {
        let mut a = Candidate {
            name: Some("Ada".into()),
            ..Default::default()
        };
        a.meta.remote_id = "c1".into();
        let h1 = Record::Candidate(a.clone()).content_hash();
        a.meta.remote_data = serde_json::json!({"x": 1});
        a.meta.remote_updated_at = Some(Utc::now());
        assert_eq!(h1, Record::Candidate(a.clone()).content_hash());
        a.name = Some("Ada L".into());
        assert_ne!(h1, Record::Candidate(a).content_hash());
    }

    #[test]
    fn content_hashes_stay_what_stored_rows_hold() {
        // Stored rows keep the hash of the normalised value without
        // `remote_updated_at`, serialised as a whole: a different hash would
        // make the next pass rewrite every row.
        let mut a = Application {
            stage_name: Some("Onsite \"2\"".into()),
            ..Default::default()
        };
        a.meta.remote_id = "a1".into();
        a.meta.remote_updated_at = Some(Utc::now());
        let record = Record::Application(a);
        let mut value = record.normalized();
        value.as_object_mut().unwrap().remove("remote_updated_at");
        let as_stored = hex_lower(&Sha256::digest(serde_json::to_vec(&value).unwrap()));
        assert_eq!(record.content_hash(), as_stored);
        assert_eq!(content_hash_of(&record.normalized()), as_stored);
    }

    #[test]
    fn emails_and_phones_normalise() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(normalize_email("not-an-email"), None);
        assert_eq!(
            normalize_phone("+1 (415) 555-0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(normalize_phone("12"), None);
    }
}
