//! Mapping checked against Ashby's own examples: fixtures assembled from the
//! `example` values of the OpenAPI spec (see fixtures/README.md for each file's
//! schema path), every mapped field compared with the example it comes from.

use chrono::{DateTime, NaiveDate, Utc};
use hirebridge_ashby::api;
use hirebridge_ashby::connector::map_object;
use hirebridge_ashby::map::References;
use hirebridge_sdk::{
    ApplicationStatus, EmploymentType, InterviewStatus, JobStatus, OfferStatus, Record,
    StageCategory, WorkplaceType,
};
use serde_json::{json, Value};

/// The uuid the spec uses as the example of almost every id.
const ID: &str = "e9ed20fd-d45f-4aad-8a00-a19bfba0083e";

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixtures are JSON")
}

fn at(text: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(text)
            .expect("a test timestamp")
            .with_timezone(&Utc),
    )
}

/// The references a connector would cache from the spec's department.info,
/// location.info and interviewStage.list examples.
fn references() -> References {
    let department: api::Department =
        serde_json::from_value(fixture(include_str!("fixtures/department.json"))).unwrap();
    let location: api::Location =
        serde_json::from_value(fixture(include_str!("fixtures/location.json"))).unwrap();
    let stage: api::InterviewStage =
        serde_json::from_value(fixture(include_str!("fixtures/interview_stage.json"))).unwrap();
    let mut refs = References::default();
    // The connector caches the external name when there is one.
    refs.departments
        .insert(department.id.unwrap(), department.external_name.unwrap());
    refs.locations.insert(
        location.id.unwrap(),
        (location.external_name.unwrap(), location.workplace_type),
    );
    refs.stages.insert(stage.id.clone().unwrap(), stage);
    refs
}

#[test]
fn candidate_info_example() {
    // #/paths/~1candidate.info/.../results
    let raw = fixture(include_str!("fixtures/candidate.json"));
    let Record::Candidate(c) =
        map_object("candidates", raw.clone(), &References::default()).unwrap()
    else {
        panic!("not a candidate")
    };
    assert_eq!(c.meta.remote_id, ID);
    assert_eq!(c.meta.remote_created_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(c.meta.remote_updated_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(c.meta.remote_data, raw);
    assert_eq!(c.name.as_deref(), Some("Adam Hart"));
    assert_eq!(c.first_name.as_deref(), Some("Adam"));
    assert_eq!(c.last_name.as_deref(), Some("Hart"));
    assert_eq!(c.email.as_deref(), Some("test@ashbyhq.com"));
    assert_eq!(c.emails, vec!["test@ashbyhq.com".to_string()]);
    // The spec's phone example reuses its email schema, hence the address.
    assert_eq!(c.phone.as_deref(), Some("test@ashbyhq.com"));
    assert_eq!(c.phones, vec!["test@ashbyhq.com".to_string()]);
    assert_eq!(c.company.as_deref(), Some("Auction.com"));
    assert_eq!(c.title.as_deref(), Some("Software Engineer"));
    assert_eq!(
        c.location.as_deref(),
        Some("United States, California, San Francisco")
    );
    assert_eq!(c.source.as_deref(), Some("Applied"));
    assert_eq!(c.tags, vec!["Senior Candidate".to_string()]);
    // profileUrl has no example in the spec.
    assert_eq!(c.profile_url, None);
    assert_eq!(
        c.linkedin_url.as_deref(),
        Some("https://linkedin.com/in/user")
    );
}

#[test]
fn candidate_location_reads_location_then_primary_location() {
    let base = fixture(include_str!("fixtures/candidate.json"));
    let location = |edit: &dyn Fn(&mut Value)| {
        let mut raw = base.clone();
        edit(&mut raw);
        match map_object("candidates", raw.clone(), &References::default()).unwrap() {
            Record::Candidate(c) => c.location,
            _ => panic!("not a candidate"),
        }
    };
    let spec = Some("United States, California, San Francisco".to_string());
    // Both present: the spec's `location` wins.
    assert_eq!(
        location(&|r| r["primaryLocation"] = json!({"locationSummary": "Berlin, Germany"})),
        spec
    );
    // Only `primaryLocation` (as an independent mock sends it), object or text.
    assert_eq!(
        location(&|r| {
            r.as_object_mut().unwrap().remove("location");
            r["primaryLocation"] = json!({"locationSummary": "Berlin, Germany"});
        }),
        Some("Berlin, Germany".to_string())
    );
    assert_eq!(
        location(&|r| {
            r["location"] = Value::Null;
            r["primaryLocation"] = json!("Lisbon, Portugal");
        }),
        Some("Lisbon, Portugal".to_string())
    );
    // A summary-less location falls back to its components, in the spec's order.
    assert_eq!(
        location(&|r| r["location"]["locationSummary"] = json!("")),
        spec
    );
    // Neither, or an unreadable shape: no location, and the candidate still maps.
    assert_eq!(
        location(&|r| {
            r.as_object_mut().unwrap().remove("location");
        }),
        None
    );
    assert_eq!(location(&|r| r["location"] = json!(42)), None);
}

#[test]
fn application_list_example() {
    // #/paths/~1application.list/.../results/items
    let raw = fixture(include_str!("fixtures/application.json"));
    let Record::Application(a) =
        map_object("applications", raw.clone(), &References::default()).unwrap()
    else {
        panic!("not an application")
    };
    assert_eq!(a.meta.remote_id, ID);
    assert_eq!(a.meta.remote_created_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(a.meta.remote_updated_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(a.candidate_remote_id.as_deref(), Some(ID));
    assert_eq!(
        a.job_remote_id.as_deref(),
        Some("4071538b-3cac-4fbf-ac76-f78ed250ffdd")
    );
    assert_eq!(a.status, Some(ApplicationStatus::Hired));
    assert_eq!(a.stage_remote_id.as_deref(), Some(ID));
    assert_eq!(a.stage_name.as_deref(), Some("Offer"));
    // The stage says Offer, the status Hired: the status wins.
    assert_eq!(a.stage_category, Some(StageCategory::Hired));
    assert_eq!(a.source.as_deref(), Some("Applied"));
    assert_eq!(a.archive_reason.as_deref(), Some("Too inexperienced"));
    assert_eq!(a.applied_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(a.archived_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(a.hired_at, None);
    assert_eq!(a.credited_to.as_deref(), Some("Test User"));
    assert_eq!(a.hiring_team.len(), 1);
    let member = &a.hiring_team[0];
    assert_eq!(member.remote_user_id.as_deref(), Some(ID));
    assert_eq!(member.name.as_deref(), Some("Joey Joe"));
    assert_eq!(member.email.as_deref(), Some("test@ashbyhq.com"));
    assert_eq!(member.role.as_deref(), Some("Hiring Manager"));
}

#[test]
fn job_list_example() {
    // #/paths/~1job.list/.../results/items; the spec has no example title.
    let mut raw = fixture(include_str!("fixtures/job.json"));
    raw["title"] = json!("First Designer");
    let Record::Job(j) = map_object("jobs", raw.clone(), &references()).unwrap() else {
        panic!("not a job")
    };
    assert_eq!(j.meta.remote_id, ID);
    assert_eq!(j.meta.remote_created_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(j.meta.remote_updated_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(j.title.as_deref(), Some("First Designer"));
    assert_eq!(j.status, Some(JobStatus::Draft));
    assert_eq!(j.employment_type, Some(EmploymentType::FullTime));
    assert_eq!(j.department.as_deref(), Some("Engineering"));
    assert_eq!(j.location.as_deref(), Some("San Francisco Office"));
    assert_eq!(j.workplace_type, Some(WorkplaceType::Hybrid));
    assert!(!j.confidential);
    assert_eq!(j.requisition_id.as_deref(), Some(ID));
    assert_eq!(j.opened_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(j.closed_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(j.hiring_team.len(), 1);
    assert_eq!(j.hiring_team[0].name.as_deref(), Some("Joey Joe"));
    assert_eq!(j.hiring_team[0].role.as_deref(), Some("Hiring Manager"));

    // Without cached references, the expanded `location` still names the place.
    let Record::Job(j) = map_object("jobs", raw.clone(), &References::default()).unwrap() else {
        panic!("not a job")
    };
    assert_eq!(j.location.as_deref(), Some("San Francisco Office"));
    assert_eq!(j.workplace_type, Some(WorkplaceType::Hybrid));
    assert_eq!(j.department, None);
}

#[test]
fn job_posting_list_example() {
    // #/paths/~1jobPosting.list/.../results/items
    let raw = fixture(include_str!("fixtures/job_posting.json"));
    let Record::JobPosting(p) =
        map_object("job_postings", raw.clone(), &References::default()).unwrap()
    else {
        panic!("not a job posting")
    };
    let link = "https://jobs.ashbyhq.com/6eec82ac-9713-512d-ac2e-405618935375/d5a6bc97-4259-4bc5-b3fe-6d3edfd538e3";
    assert_eq!(p.meta.remote_id, ID);
    assert_eq!(p.meta.remote_updated_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(p.job_remote_id.as_deref(), Some(ID));
    assert_eq!(p.title.as_deref(), Some("Posting Title"));
    assert_eq!(p.is_listed, Some(true));
    assert_eq!(p.department.as_deref(), Some("Engineering department"));
    assert_eq!(p.location.as_deref(), Some("Springfield"));
    assert_eq!(p.workplace_type, Some(WorkplaceType::OnSite));
    assert_eq!(p.employment_type, Some(EmploymentType::FullTime));
    assert_eq!(p.published_at, at("2021-11-19T00:00:00Z"));
    assert_eq!(p.apply_url.as_deref(), Some(link));
    assert_eq!(p.external_url.as_deref(), Some(link));
}

#[test]
fn interview_schedule_list_example() {
    // #/paths/~1interviewSchedule.list/.../results/items; the spec has no
    // example for the schedule's own ids.
    let mut raw = fixture(include_str!("fixtures/interview_schedule.json"));
    raw["id"] = json!("9d34f544-c150-4d70-91c4-e8b0b4a72846");
    raw["applicationId"] = json!(ID);
    raw["interviewStageId"] = json!(ID);
    let Record::Interview(i) =
        map_object("interview_schedules", raw.clone(), &references()).unwrap()
    else {
        panic!("not an interview")
    };
    assert_eq!(i.meta.remote_id, "9d34f544-c150-4d70-91c4-e8b0b4a72846");
    assert_eq!(i.application_remote_id.as_deref(), Some(ID));
    // Only the webhook variant carries candidateId.
    assert_eq!(i.candidate_remote_id, None);
    assert_eq!(i.stage_name.as_deref(), Some("Offer"));
    assert_eq!(i.title.as_deref(), Some("Technical Phone Interview"));
    assert_eq!(i.status, Some(InterviewStatus::AwaitingScheduling));
    assert_eq!(i.starts_at, at("2022-07-21T17:32:28Z"));
    assert_eq!(i.ends_at, at("2022-07-21T17:32:28Z"));
    assert_eq!(i.location.as_deref(), Some("Google Meet"));
    assert_eq!(i.meeting_url, None);
    assert_eq!(i.interviewers.len(), 1);
    assert_eq!(i.interviewers[0].remote_user_id.as_deref(), Some(ID));
    assert_eq!(i.interviewers[0].name.as_deref(), Some("Test User"));
    assert_eq!(i.interviewers[0].email.as_deref(), Some("test@ashbyhq.com"));

    // Without the stage cached (interviewPlan.list refused) only the name is lost.
    let Record::Interview(i) =
        map_object("interview_schedules", raw.clone(), &References::default()).unwrap()
    else {
        panic!("not an interview")
    };
    assert_eq!(i.stage_name, None);
    assert_eq!(i.title.as_deref(), Some("Technical Phone Interview"));
}

#[test]
fn offer_list_example() {
    // #/paths/~1offer.list/.../results/items
    let raw = fixture(include_str!("fixtures/offer.json"));
    let Record::Offer(o) = map_object("offers", raw.clone(), &References::default()).unwrap()
    else {
        panic!("not an offer")
    };
    assert_eq!(o.meta.remote_id, ID);
    assert_eq!(o.meta.remote_created_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(o.application_remote_id.as_deref(), Some(ID));
    assert_eq!(o.version.as_deref(), Some(ID));
    // startDate is a date-time in the spec; the date part is kept.
    assert_eq!(o.start_date, NaiveDate::from_ymd_opt(2022, 8, 12));
    // No example for salary or decidedAt.
    assert_eq!((o.salary_amount, o.salary_currency), (None, None));
    assert_eq!(o.decided_at, None);

    // Statuses, one per documented offerStatus (the fixture's enum-first pair
    // is not a real combination).
    let status = |offer: &str, acceptance: &str, approval: &str| {
        let mut raw = raw.clone();
        raw["offerStatus"] = json!(offer);
        raw["acceptanceStatus"] = json!(acceptance);
        raw["latestVersion"]["approvalStatus"] = json!(approval);
        match map_object("offers", raw.clone(), &References::default()).unwrap() {
            Record::Offer(o) => o.status,
            _ => panic!("not an offer"),
        }
    };
    let cases = [
        (
            "WaitingOnApprovalStart",
            "Created",
            "WaitingOnApprovals",
            OfferStatus::Draft,
        ),
        (
            "WaitingOnApprovalStart",
            "Created",
            "Approved",
            OfferStatus::Approved,
        ),
        (
            "WaitingOnOfferApproval",
            "Pending",
            "WaitingOnApprovals",
            OfferStatus::PendingApproval,
        ),
        (
            "WaitingOnApprovalDefinition",
            "Created",
            "WaitingOnApprovals",
            OfferStatus::Draft,
        ),
        (
            "WaitingOnCandidateResponse",
            "WaitingOnResponse",
            "Approved",
            OfferStatus::Extended,
        ),
        (
            "CandidateAccepted",
            "Accepted",
            "Approved",
            OfferStatus::Accepted,
        ),
        (
            "CandidateRejected",
            "Declined",
            "Approved",
            OfferStatus::Declined,
        ),
        (
            "OfferCancelled",
            "Cancelled",
            "Declined",
            OfferStatus::Cancelled,
        ),
    ];
    for (offer, acceptance, approval, expected) in cases {
        assert_eq!(
            status(offer, acceptance, approval),
            Some(expected),
            "{offer}"
        );
    }
}

#[test]
fn application_feedback_list_example() {
    // #/paths/~1applicationFeedback.list/.../results/items
    let raw = fixture(include_str!("fixtures/application_feedback.json"));
    let Record::Review(r) =
        map_object("application_feedback", raw.clone(), &References::default()).unwrap()
    else {
        panic!("not a review")
    };
    assert_eq!(r.meta.remote_id, ID);
    assert_eq!(r.meta.remote_created_at, at("2022-08-12T20:29:56.964Z"));
    assert_eq!(r.application_remote_id.as_deref(), Some(ID));
    // interviewId names the interview definition, not a schedule.
    assert_eq!(r.interview_remote_id, None);
    assert_eq!(r.reviewer_name.as_deref(), Some("Test User"));
    assert_eq!(r.reviewer_email.as_deref(), Some("test@ashbyhq.com"));
    assert_eq!(r.submitted_at, at("2022-08-12T20:29:56.964Z"));
    // The example form has only a name field: no score, no notes.
    assert_eq!((r.rating, r.recommendation, r.summary), (None, None, None));
}
