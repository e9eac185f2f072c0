//! Polling ITManagerJobs over real HTTP against the simulator, by the seed
//! `004_7d555ba706a0066d.txt`: full passes by page number, soft-close as a
//! status, a job added mid-pass making the pass non-full instead of causing
//! deletions, the documented errors (401 approval pending, 402 `no_credits`,
//! 403 naming the scope, 404 `not_found`), a key without `CvSearch`, and
//! `Retry-After` on 429.
#![cfg(feature = "sim")]

mod support;

use hirebridge_itmanagerjobs::connector::NO_CV_SEARCH;
use hirebridge_itmanagerjobs::options::AuthStyle;
use hirebridge_itmanagerjobs::plugin::FAMILY_JOBS;
use hirebridge_itmanagerjobs::sim::Scope;
use hirebridge_itmanagerjobs::ItManagerJobsOptions;
use hirebridge_sdk::{
    Action, Connector, ConnectorError, EntityKind, JobStatus, Record, RemoteRef, Secret,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::*;

fn job_ids(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.meta().remote_id.clone()).collect()
}

#[tokio::test]
async fn a_full_pass_lists_every_job_once_and_soft_close_is_a_status() {
    let (sim, server) = start(sim_config(90, 3)).await;
    let mut settings = settings(&server);
    settings.page_sizes = BTreeMap::from([("jobs".to_string(), 7)]);
    let c = connector(&settings, &ItManagerJobsOptions::default());
    let (pages, _) = pass(&c, None).await;
    assert!(pages.len() >= 4, "{} pages", pages.len());
    assert!(
        pages.iter().all(|p| p.full_pass),
        "a stable list is a full pass"
    );
    let ids = job_ids(&records(&pages));
    let expected: BTreeSet<String> = sim.ids("jobs").iter().map(u64::to_string).collect();
    assert_eq!(ids.len(), expected.len(), "no job twice");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);

    // DELETE soft-closes: the job is still listed, now closed.
    let first = sim.ids("jobs")[0];
    sim.soft_close_job(first).unwrap();
    let (pages, _) = pass(&c, None).await;
    let closed = records(&pages)
        .into_iter()
        .find(|r| r.meta().remote_id == first.to_string())
        .expect("a soft-closed job is still listed");
    assert!(
        matches!(closed, Record::Job(j) if j.status == Some(JobStatus::Closed) && j.closed_at.is_some())
    );
}

#[tokio::test]
async fn a_job_added_mid_pass_makes_the_pass_non_full_instead_of_deleting() {
    let (sim, server) = start(sim_config(90, 4)).await;
    let mut settings = settings(&server);
    settings.page_sizes = BTreeMap::from([("jobs".to_string(), 10)]);
    let c = connector(&settings, &ItManagerJobsOptions::default());
    sim.add_job_after_page(1);
    let (pages, cursor) = pass(&c, None).await;
    assert!(pages.last().unwrap().complete, "the pass still ends");
    assert!(
        !pages.last().unwrap().full_pass,
        "the list moved between pages: no deletion detection from this pass"
    );
    // Newest first: the new job pushed one job from page 1 onto page 2 (read
    // twice); the next pass is stable again and sees the new job.
    let (again, _) = pass(&c, Some(cursor)).await;
    assert!(again.iter().all(|p| p.full_pass));
    let ids: BTreeSet<String> = job_ids(&records(&again)).into_iter().collect();
    assert_eq!(ids.len(), sim.ids("jobs").len());
}

#[tokio::test]
async fn a_status_filter_never_counts_as_a_full_pass() {
    let (_sim, server) = start(sim_config(60, 5)).await;
    let options = ItManagerJobsOptions {
        job_status: Some("Active".into()),
        ..ItManagerJobsOptions::default()
    };
    let c = connector(&settings(&server), &options);
    let (pages, _) = pass(&c, None).await;
    assert!(pages.iter().all(|p| !p.full_pass));
    assert!(records(&pages)
        .iter()
        .all(|r| matches!(r, Record::Job(j) if j.status == Some(JobStatus::Open))));
}

#[tokio::test]
async fn the_key_goes_as_bearer_or_x_api_key() {
    let (_sim, server) = start(sim_config(30, 6)).await;
    for auth in [AuthStyle::Bearer, AuthStyle::XApiKey] {
        let options = ItManagerJobsOptions {
            auth,
            ..ItManagerJobsOptions::default()
        };
        let c = connector(&settings(&server), &options);
        let (pages, _) = pass(&c, None).await;
        assert!(!records(&pages).is_empty(), "{auth:?}");
    }
}

#[tokio::test]
async fn a_key_awaiting_approval_is_refused_with_a_message_that_says_so() {
    let (sim, server) = start(sim_config(30, 7)).await;
    sim.add_key("pk_live_new", &[Scope::JobPosting, Scope::CvSearch], false);
    let mut s = settings(&server);
    s.api_key = Some(Secret::new("pk_live_new"));
    let c = connector(&s, &ItManagerJobsOptions::default());
    let err = c.poll("jobs", None).await.unwrap_err();
    assert_eq!(err.action(), Action::PauseUntilOperator);
    assert!(
        err.to_string()
            .contains("still awaiting ITManagerJobs approval"),
        "{err}"
    );
    sim.approve_key("pk_live_new");
    assert!(c.poll("jobs", None).await.is_ok());
}

#[tokio::test]
async fn no_credits_is_a_quota_pause_and_a_missing_scope_is_named() {
    let (sim, server) = start(sim_config(30, 8)).await;
    let c = connector(&settings(&server), &ItManagerJobsOptions::default());
    sim.fail_next(402, "no_credits", 1);
    let err = c.poll("jobs", None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Quota { .. }), "{err:?}");
    assert_eq!(err.action(), Action::PauseFor(None));
    assert!(err.to_string().contains("no_credits"), "{err}");

    sim.add_key("pk_live_cv_only", &[Scope::CvSearch], true);
    let mut s = settings(&server);
    s.api_key = Some(Secret::new("pk_live_cv_only"));
    let err = connector(&s, &ItManagerJobsOptions::default())
        .poll("jobs", None)
        .await
        .unwrap_err();
    assert_eq!(err.action(), Action::PauseUntilOperator);
    assert!(err.to_string().contains("JobPosting"), "{err}");
}

#[tokio::test]
async fn a_key_without_cv_search_syncs_jobs_and_says_candidates_stay_unhydrated() {
    let (sim, server) = start(sim_config(30, 9)).await;
    sim.add_key("pk_live_jobs_only", &[Scope::JobPosting], true);
    let mut s = settings(&server);
    s.api_key = Some(Secret::new("pk_live_jobs_only"));
    let c = connector(&s, &ItManagerJobsOptions::default());
    let (pages, _) = pass(&c, None).await;
    assert!(!records(&pages).is_empty(), "jobs sync");
    assert_eq!(c.degraded(), vec![NO_CV_SEARCH.to_string()]);
    // A candidate an application names is kept by id, not failed.
    let candidate = sim.ids("candidates")[0].to_string();
    let got = c
        .fetch(&RemoteRef {
            kind: EntityKind::Candidate,
            remote_id: candidate.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&got, Record::Candidate(cd) if cd.meta.remote_id == candidate && cd.email.is_none())
    );

    // With the scope, the same candidate comes whole and nothing is degraded.
    let full = connector(&settings(&server), &ItManagerJobsOptions::default());
    pass(&full, None).await;
    assert!(full.degraded().is_empty());
    let got = full
        .fetch(&RemoteRef {
            kind: EntityKind::Candidate,
            remote_id: candidate,
        })
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(&got, Record::Candidate(cd) if cd.email.is_some()));
}

#[tokio::test]
async fn a_job_or_candidate_not_found_is_gone() {
    let (_sim, server) = start(sim_config(30, 10)).await;
    let c = connector(&settings(&server), &ItManagerJobsOptions::default());
    for kind in [EntityKind::Job, EntityKind::Candidate] {
        let got = c
            .fetch(&RemoteRef {
                kind,
                remote_id: "99999999".into(),
            })
            .await
            .unwrap();
        assert!(got.is_none(), "{kind}");
    }
}

#[tokio::test]
async fn a_spent_window_is_waited_out_as_retry_after_asks() {
    let (sim, server) = start(sim_config(30, 11)).await;
    sim.set_rate_limit(FAMILY_JOBS, 2, Duration::from_secs(2));
    let mut s = settings(&server);
    s.page_sizes = BTreeMap::from([("jobs".to_string(), 3)]);
    let c = connector(&s, &ItManagerJobsOptions::default());
    let started = Instant::now();
    let (pages, _) = pass(&c, None).await;
    assert!(pages.len() >= 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for the window"
    );
    assert!(pages.iter().all(|p| p.full_pass));
}

#[tokio::test]
async fn server_errors_are_retried() {
    let (sim, server) = start(sim_config(30, 12)).await;
    let c = connector(&settings(&server), &ItManagerJobsOptions::default());
    sim.fail_next(500, "internal_error", 2);
    assert!(c.poll("jobs", None).await.is_ok());
}
