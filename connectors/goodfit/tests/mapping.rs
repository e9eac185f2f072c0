//! Mapping Goodfit payloads onto canonical records, from the fixtures in
//! `tests/fixtures` (hand-written in the shapes assumed from seed
//! `000_56de87d4110788fc.txt`; see their README).

use hirebridge_goodfit::map::{self, References};
use hirebridge_goodfit::webhook;
use hirebridge_sdk::{
    ApplicationStatus, AssessmentStatus, EmploymentType, Inbound, InterviewStatus, JobStatus,
    Recommendation, Record, StageCategory, StageMap, WorkplaceType,
};
use serde_json::Value;
use std::collections::BTreeMap;

fn fixture(name: &str) -> Value {
    let text = match name {
        "pipeline" => include_str!("fixtures/pipeline.json"),
        "jobs" => include_str!("fixtures/jobs.json"),
        "candidate" => include_str!("fixtures/candidate.json"),
        "applications" => include_str!("fixtures/applications.json"),
        "webhooks" => include_str!("fixtures/webhooks.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn refs() -> References {
    let mut refs = References::default();
    refs.cache_pipeline(fixture("pipeline")["data"].as_array().unwrap());
    refs
}

#[test]
fn jobs_map_with_team_location_and_status() {
    let jobs = fixture("jobs");
    let data = jobs["data"].as_array().unwrap();
    let Record::Job(j) = map::job(&data[0]).unwrap() else {
        panic!()
    };
    assert_eq!(j.meta.remote_id, "jb_82bf91");
    assert_eq!(j.title.as_deref(), Some("Senior Backend Engineer"));
    assert_eq!(j.status, Some(JobStatus::Open));
    assert_eq!(j.employment_type, Some(EmploymentType::FullTime));
    assert_eq!(j.workplace_type, Some(WorkplaceType::Hybrid));
    assert_eq!(j.department.as_deref(), Some("Engineering"));
    assert_eq!(j.location.as_deref(), Some("Berlin, DE"));
    assert_eq!(j.requisition_id.as_deref(), Some("REQ-0042"));
    assert_eq!(j.hiring_team.len(), 2);
    assert_eq!(j.hiring_team[1].name.as_deref(), Some("Priya Raman"));
    assert_eq!(j.hiring_team[0].role.as_deref(), Some("hiring_manager"));
    assert!(j.opened_at.is_some() && j.meta.remote_updated_at.is_some());
    assert_eq!(j.meta.remote_data, data[0]);

    let Record::Job(j) = map::job(&data[1]).unwrap() else {
        panic!()
    };
    assert_eq!(j.status, Some(JobStatus::Closed));
    assert_eq!(j.department.as_deref(), Some("Sales"));
    assert_eq!(j.workplace_type, Some(WorkplaceType::Remote));
    assert_eq!(j.employment_type, Some(EmploymentType::Contract));
    assert!(j.confidential && j.closed_at.is_some());
}

#[test]
fn candidates_map_with_source_and_contacts() {
    let c = fixture("candidate");
    let mapped = map::candidate(&c["data"]).unwrap();
    // The candidate, then its assessment history as assessments of it.
    let [Record::Candidate(c), Record::Assessment(a)] = &mapped.records[..] else {
        panic!("{:?}", mapped.records)
    };
    assert_eq!(c.referrer.as_deref(), Some("Priya Raman"));
    assert_eq!(a.meta.remote_id, "asr_77aa01");
    assert_eq!(a.candidate_remote_id.as_deref(), Some("cd_5f3a21"));
    assert_eq!(a.application_remote_id.as_deref(), Some("ap_9d8c7b"));
    assert_eq!(a.score, Some(91.0));
    assert_eq!(c.name.as_deref(), Some("Grace Hopper"));
    assert_eq!(c.email.as_deref(), Some("Grace.Hopper.1@example.com"));
    assert_eq!(
        c.emails,
        vec!["Grace.Hopper.1@example.com", "grace@navy.example"]
    );
    assert_eq!(c.phone.as_deref(), Some("+1 415 555 0001"));
    assert_eq!(c.source.as_deref(), Some("Referral"));
    assert_eq!(c.company.as_deref(), Some("US Navy"));
    assert_eq!(c.title.as_deref(), Some("Rear Admiral"));
    assert_eq!(c.location.as_deref(), Some("Arlington, US"));
    assert_eq!(c.tags, vec!["compilers", "cobol"]);
    assert_eq!(
        c.linkedin_url.as_deref(),
        Some("https://www.linkedin.com/in/grace-hopper")
    );
    // Referrer and assessment history have no canonical column: they stay raw.
    assert!(c.meta.remote_data["referrer"].is_object());
}

#[test]
fn applications_map_with_stage_assessments_scorecards_and_rejects() {
    let page = fixture("applications");
    let data = page["data"].as_array().unwrap();
    let refs = refs();
    let mapped = map::application(&data[0], &refs).unwrap();
    assert!(mapped.rejected.len() == 1 && mapped.rejected[0].1.contains("scorecard has no `id`"));
    let [Record::Application(a), Record::Assessment(t), Record::Review(r)] =
        mapped.records.as_slice()
    else {
        panic!("{:?}", mapped.records)
    };
    assert_eq!(a.candidate_remote_id.as_deref(), Some("cd_5f3a21"));
    assert_eq!(a.job_remote_id.as_deref(), Some("jb_82bf91"));
    // Name and category come from the pipeline, by stage id.
    assert_eq!(a.stage_remote_id.as_deref(), Some("stg_culture"));
    assert_eq!(a.stage_name.as_deref(), Some("Culture Chat"));
    assert_eq!(a.stage_category, Some(StageCategory::Screening));
    assert_eq!(a.status, Some(ApplicationStatus::Active));
    assert_eq!(a.credited_to.as_deref(), Some("Priya Raman"));
    assert_eq!(a.source.as_deref(), Some("Referral"));
    assert!(a.meta.remote_data["notes"].is_array(), "notes stay raw");

    assert_eq!(t.meta.remote_id, "asr_77aa01");
    assert_eq!(t.application_remote_id.as_deref(), Some("ap_9d8c7b"));
    assert_eq!(t.candidate_remote_id.as_deref(), Some("cd_5f3a21"));
    assert_eq!(t.title.as_deref(), Some("Python Skills"));
    assert_eq!(t.kind.as_deref(), Some("coding"));
    assert_eq!(t.status, Some(AssessmentStatus::Completed));
    assert_eq!((t.score, t.max_score), (Some(91.0), Some(100.0)));
    assert_eq!(t.result.as_deref(), Some("pass"));

    assert_eq!(r.application_remote_id.as_deref(), Some("ap_9d8c7b"));
    assert_eq!(r.interview_remote_id.as_deref(), Some("iv_55aa66"));
    assert_eq!(r.reviewer_email.as_deref(), Some("tom@acme.example"));
    assert_eq!(r.recommendation, Some(Recommendation::StrongYes));
    assert_eq!(r.rating, Some(4.5));

    // A stage id only, resolved through the pipeline; the status follows it.
    let mapped = map::application(&data[1], &refs).unwrap();
    let Record::Application(a) = &mapped.records[0] else {
        panic!()
    };
    assert_eq!(a.stage_name.as_deref(), Some("Not moving forward"));
    assert_eq!(a.stage_category, Some(StageCategory::Rejected));
    assert_eq!(a.status, Some(ApplicationStatus::Rejected));
    assert_eq!(a.archive_reason.as_deref(), Some("Position closed"));
    assert_eq!(a.candidate_remote_id.as_deref(), Some("cd_000001"));
    assert!(a.archived_at.is_some());

    assert!(map::application(&data[2], &refs).is_err());

    // The operator's map beats the pipeline's type.
    let mut overridden = refs.clone();
    overridden.stage_map = StageMap::new(BTreeMap::from([(
        "culture chat".to_string(),
        StageCategory::Interview,
    )]));
    let Record::Application(a) = &map::application(&data[0], &overridden).unwrap().records[0]
    else {
        panic!()
    };
    assert_eq!(a.stage_category, Some(StageCategory::Interview));
}

fn upserts(body: &Value) -> Vec<Record> {
    webhook::parse(body, &refs())
        .unwrap()
        .into_iter()
        .map(|i| match i {
            Inbound::Upsert(r) => *r,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn every_documented_event_maps_to_canonical_records() {
    let events = fixture("webhooks");
    let events = events.as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, webhook::EVENT_TYPES);

    let kinds = |i: usize| {
        upserts(&events[i])
            .iter()
            .map(|r| r.kind().as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(0), ["application"]);
    assert_eq!(kinds(1), ["application", "review"]);
    assert_eq!(kinds(2), ["assessment"]);
    assert_eq!(kinds(3), ["interview", "review"]);
    assert_eq!(kinds(4), ["candidate"]);
    assert_eq!(kinds(5), ["candidate"]);
    assert_eq!(kinds(6), ["job"]);
    assert_eq!(kinds(7), ["job"]);

    let Record::Application(a) = &upserts(&events[1])[0] else {
        panic!()
    };
    assert_eq!(
        (a.stage_name.as_deref(), a.stage_category),
        (Some("Panel"), Some(StageCategory::Interview))
    );
    let Record::Assessment(t) = &upserts(&events[2])[0] else {
        panic!()
    };
    assert_eq!(
        t.status,
        Some(AssessmentStatus::Completed),
        "completed by its event"
    );
    let recs = upserts(&events[3]);
    let (Record::Interview(i), Record::Review(r)) = (&recs[0], &recs[1]) else {
        panic!()
    };
    assert_eq!(i.status, Some(InterviewStatus::Completed));
    assert_eq!(i.interviewers.len(), 1);
    assert_eq!(r.interview_remote_id.as_deref(), Some("iv_55aa66"));
    assert_eq!(r.application_remote_id.as_deref(), Some("ap_9d8c7b"));
    let Record::Job(j) = &upserts(&events[6])[0] else {
        panic!()
    };
    assert_eq!(
        j.status,
        Some(JobStatus::Open),
        "job.published is an open job"
    );
    let Record::Job(j) = &upserts(&events[7])[0] else {
        panic!()
    };
    assert_eq!(
        j.status,
        Some(JobStatus::Closed),
        "job.closed is a closed job"
    );
}
