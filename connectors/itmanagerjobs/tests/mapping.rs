//! Mapping fixtures copied from the seed's examples (`004_7d555ba706a0066d.txt`):
//! the create-then-publish job, the first-call list, and the webhook events'
//! documented payload fields.

use hirebridge_itmanagerjobs::map;
use hirebridge_itmanagerjobs::ItManagerJobsConnector;
use hirebridge_sdk::{
    ApplicationStatus, Connector, Delivery, EmploymentType, EntityKind, Inbound, JobStatus, Record,
    RemoteRef, Secret, Settings, StageCategory, StageMap, WorkplaceType,
};
use serde_json::{json, Value};

/// The seed's "Example — create then publish": the create body, the `201`'s
/// `{"id":1234,"status":"Draft", ...}`, then `publish` with an `expiryDate`.
fn seed_job(status: &str) -> Value {
    json!({
        "id": 1234,
        "status": status,
        "title": "Senior Platform Engineer",
        "reference": "PL-001",
        "description": "Build and run the platform...",
        "city": "London",
        "country": "United Kingdom",
        "employmentType": "FullTime",
        "remoteType": "HybridRemote",
        "applyMethod": "EmailApply",
        "applyEmailAddress": "jobs@example.com",
        "postedDate": "2026-05-01T09:00:00Z",
        "expiryDate": "2026-06-01T00:00:00Z"
    })
}

fn connector(stage_map: StageMap) -> ItManagerJobsConnector {
    let mut s = Settings::new("itm");
    s.api_key = Some(Secret::new("pk_live_x"));
    s.stage_map = stage_map;
    ItManagerJobsConnector::from_settings(&s, &Default::default()).unwrap()
}

fn delivery(event: &str) -> Delivery {
    Delivery {
        event_type: Some(event.into()),
        delivery_id: Some("dlv_1".into()),
        sent_at: None,
        is_ping: false,
    }
}

#[test]
fn the_seed_job_maps_field_by_field() {
    let Record::Job(job) = map::job(&seed_job("Active")).unwrap() else {
        panic!("not a job")
    };
    assert_eq!(job.meta.remote_id, "1234");
    assert_eq!(job.title.as_deref(), Some("Senior Platform Engineer"));
    assert_eq!(job.status, Some(JobStatus::Open));
    assert_eq!(job.employment_type, Some(EmploymentType::FullTime));
    assert_eq!(job.workplace_type, Some(WorkplaceType::Hybrid));
    assert_eq!(job.location.as_deref(), Some("London, United Kingdom"));
    assert_eq!(job.requisition_id.as_deref(), Some("PL-001"));
    assert!(job.opened_at.is_some() && job.closed_at.is_none());
    assert_eq!(job.meta.remote_data, seed_job("Active"));
}

#[test]
fn draft_inactive_and_expired_jobs() {
    let status = |s: &str| match map::job(&seed_job(s)).unwrap() {
        Record::Job(j) => j.status,
        _ => None,
    };
    assert_eq!(status("Draft"), Some(JobStatus::Draft));
    assert_eq!(status("Inactive"), Some(JobStatus::Closed));
    assert_eq!(status("Expired"), Some(JobStatus::Closed));
}

#[test]
fn the_first_call_list_is_empty_and_fine() {
    // "# {"total":0,"page":1,"pageSize":50,"items":[]}"
    let list = json!({"total":0,"page":1,"pageSize":50,"items":[]});
    assert!(list["items"].as_array().unwrap().is_empty());
}

#[test]
fn application_submitted_hydrates_the_candidate_and_writes_the_application() {
    let c = connector(StageMap::default());
    let body = json!({"event": "application.submitted", "data": {
        "applicationId": 5001, "jobPostId": 1234, "jobTitle": "Senior Platform Engineer",
        "candidateId": 777, "appliedAt": "2026-05-02T10:00:00Z", "applicationType": "QuickApply"
    }});
    let out = c
        .parse(
            &delivery("application.submitted"),
            body.to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(
        out[0],
        Inbound::Fetch(RemoteRef {
            kind: EntityKind::Candidate,
            remote_id: "777".into()
        })
    );
    let Inbound::Upsert(record) = &out[1] else {
        panic!("{out:?}")
    };
    let Record::Application(app) = record.as_ref() else {
        panic!("{record:?}")
    };
    assert_eq!(app.meta.remote_id, "5001");
    assert_eq!(app.job_remote_id.as_deref(), Some("1234"));
    assert_eq!(app.candidate_remote_id.as_deref(), Some("777"));
    assert_eq!(app.stage_name.as_deref(), Some("New"));
    assert_eq!(app.stage_category, Some(StageCategory::Applied));
    assert_eq!(app.status, Some(ApplicationStatus::Active));
    assert_eq!(app.source.as_deref(), Some("QuickApply"));
    assert!(app.applied_at.is_some());
}

#[test]
fn every_documented_status_has_a_category_and_the_stage_map_wins() {
    let cases = [
        ("New", StageCategory::Applied, ApplicationStatus::Active),
        (
            "Screened",
            StageCategory::Screening,
            ApplicationStatus::Active,
        ),
        (
            "Interviewed",
            StageCategory::Interview,
            ApplicationStatus::Active,
        ),
        ("Offered", StageCategory::Offer, ApplicationStatus::Active),
        ("Hired", StageCategory::Hired, ApplicationStatus::Hired),
        (
            "Rejected",
            StageCategory::Rejected,
            ApplicationStatus::Rejected,
        ),
        (
            "Withdrawn",
            StageCategory::Withdrawn,
            ApplicationStatus::Withdrawn,
        ),
    ];
    let c = connector(StageMap::default());
    for (status, category, app_status) in cases {
        let body = json!({"event": "application.status_changed", "data": {
            "applicationId": 5001, "previousStatus": "New", "newStatus": status,
            "changedAt": "2026-05-03T10:00:00Z"
        }});
        let out = c
            .parse(
                &delivery("application.status_changed"),
                body.to_string().as_bytes(),
            )
            .unwrap();
        let Inbound::Merge(r) = &out[0] else { panic!() };
        let Record::Application(a) = r.as_ref() else {
            panic!()
        };
        assert_eq!(a.stage_category, Some(category), "{status}");
        assert_eq!(a.status, Some(app_status), "{status}");
    }
    let overridden = connector(StageMap::new(
        [("interviewed".to_string(), StageCategory::Assessment)].into(),
    ));
    let body = json!({"data": {"applicationId": 1, "newStatus": "Interviewed", "changedAt": "2026-05-03T10:00:00Z"}});
    let out = overridden
        .parse(
            &delivery("application.status_changed"),
            body.to_string().as_bytes(),
        )
        .unwrap();
    assert!(
        matches!(&out[0], Inbound::Merge(r) if matches!(r.as_ref(), Record::Application(a) if a.stage_category == Some(StageCategory::Assessment)))
    );
}

#[test]
fn job_expired_fetches_the_job_so_it_reads_as_polling_reads_it() {
    let c = connector(StageMap::default());
    let body = json!({"event": "job.expired", "data": {"jobPostId": 1234, "expiredAt": "2026-06-01T00:00:00Z"}});
    let out = c
        .parse(&delivery("job.expired"), body.to_string().as_bytes())
        .unwrap();
    assert_eq!(
        out,
        vec![Inbound::Fetch(RemoteRef {
            kind: EntityKind::Job,
            remote_id: "1234".into()
        })]
    );
}

#[test]
fn a_candidate_maps_and_an_unknown_event_is_a_bad_payload() {
    let Record::Candidate(cd) = map::candidate(&json!({
        "id": 777, "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
        "phone": "+44 20 7946 0000", "city": "London", "country": "United Kingdom",
        "currentJobTitle": "Cloud Architect", "linkedInUrl": "https://www.linkedin.com/in/ada"
    }))
    .unwrap() else {
        panic!()
    };
    assert_eq!(cd.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(cd.emails, vec!["ada@example.com".to_string()]);
    assert_eq!(cd.title.as_deref(), Some("Cloud Architect"));
    let c = connector(StageMap::default());
    let err = c
        .parse(&delivery("job.published"), br#"{"data":{"jobPostId":1}}"#)
        .unwrap_err();
    assert!(err.to_string().contains("job.published"), "{err}");
}
