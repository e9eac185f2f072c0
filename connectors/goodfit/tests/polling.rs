//! Polling Goodfit over real HTTP against the simulator: a full pass through
//! many pages, the incremental pass that follows it, the paging names as
//! options, and the stage categories from the pipeline and the operator's map.
#![cfg(feature = "sim")]

mod support;

use hirebridge_goodfit::options::Paging;
use hirebridge_goodfit::GoodfitOptions;
use hirebridge_sdk::{Connector, ConnectorError, EntityKind, Record, StageCategory, StageMap};
use std::collections::{BTreeMap, BTreeSet};
use support::*;

#[tokio::test]
async fn a_full_pass_pages_through_every_record_once() {
    let (sim, server) = start(sim_config(300, 3)).await;
    let mut settings = settings(&server);
    settings.page_sizes = BTreeMap::from([("candidates".to_string(), 7)]);
    let c = connector(&settings, &GoodfitOptions::default());
    let (pages, _) = pass(&c, "candidates", None).await;
    let expected = sim.ids("candidates");
    assert!(pages.len() > 10, "{} pages", pages.len());
    assert!(
        pages.iter().all(|p| p.full_pass),
        "a first pass is a full pass"
    );
    // Seven candidates a page (each followed by its assessment history).
    assert!(pages.iter().all(|p| p
        .records
        .iter()
        .filter(|r| r.kind() == EntityKind::Candidate)
        .count()
        <= 7));
    let got = ids_of(&records(&pages), EntityKind::Candidate);
    assert_eq!(got.len(), expected.len(), "no record twice");
    assert_eq!(
        got.into_iter().collect::<BTreeSet<_>>(),
        expected.into_iter().collect()
    );
    assert!(pages.iter().all(|p| p.rejected.is_empty()));
}

#[tokio::test]
async fn applications_bring_their_assessments_and_scorecards() {
    let (sim, server) = start(sim_config(200, 5)).await;
    let c = connector(&settings(&server), &GoodfitOptions::default());
    let (pages, _) = pass(&c, "applications", None).await;
    let all = records(&pages);
    let apps = ids_of(&all, EntityKind::Application);
    assert_eq!(apps.len(), sim.ids("applications").len());
    let results: usize = sim
        .ids("applications")
        .iter()
        .map(|id| {
            sim.get("applications", id).unwrap()["assessment_results"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert!(results > 0);
    assert_eq!(ids_of(&all, EntityKind::Assessment).len(), results);
    assert!(!ids_of(&all, EntityKind::Review).is_empty());
    for r in &all {
        match r {
            Record::Application(a) => {
                assert!(a.stage_category.is_some(), "{a:?}");
                assert!(a.candidate_remote_id.is_some() && a.job_remote_id.is_some());
            }
            Record::Assessment(a) => {
                assert!(a.application_remote_id.is_some() && a.score.is_some())
            }
            Record::Review(r) => {
                assert!(r.application_remote_id.is_some() && r.recommendation.is_some())
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_incremental_pass_after_a_full_one_picks_up_a_change() {
    let (sim, server) = start(sim_config(200, 9)).await;
    // No overlap: the incremental pass lists only what changed at or after the
    // newest update of the full pass.
    let options = GoodfitOptions {
        overlap_secs: 0,
        ..GoodfitOptions::default()
    };
    let c = connector(&settings(&server), &options);
    let (full, cursor) = pass(&c, "applications", None).await;
    let total = ids_of(&records(&full), EntityKind::Application).len();
    let (quiet, cursor) = pass(&c, "applications", Some(cursor)).await;
    assert!(
        quiet.iter().all(|p| !p.full_pass),
        "passes after the first are incremental"
    );
    assert!(ids_of(&records(&quiet), EntityKind::Application).len() < 3);

    let target = sim.ids("applications")[7].clone();
    sim.move_application(&target, "stg_offer").unwrap();
    let (after, _) = pass(&c, "applications", Some(cursor)).await;
    let changed: Vec<Record> = records(&after)
        .into_iter()
        .filter(|r| r.meta().remote_id == target)
        .collect();
    match changed.as_slice() {
        [Record::Application(a)] => {
            assert_eq!(a.stage_name.as_deref(), Some("Offer"));
            assert_eq!(a.stage_category, Some(StageCategory::Offer));
        }
        other => panic!("the change was not picked up: {other:?}"),
    }
    assert!(ids_of(&records(&after), EntityKind::Application).len() < total);
}

#[tokio::test]
async fn paging_names_are_options() {
    let mut config = sim_config(120, 2);
    config.paging = Paging {
        limit: "per_page".into(),
        cursor: "page_token".into(),
        updated_since: "updated_after".into(),
        data: "items".into(),
        next_cursor: "next".into(),
    };
    let (sim, server) = start(config.clone()).await;
    let options: GoodfitOptions = toml_edit::de::from_str(
        r#"
        [paging]
        limit = "per_page"
        cursor = "page_token"
        updated_since = "updated_after"
        data = "items"
        next_cursor = "next"
        "#,
    )
    .unwrap();
    let mut settings = settings(&server);
    settings.page_sizes = BTreeMap::from([("jobs".to_string(), 2)]);
    let c = connector(&settings, &options);
    let (pages, cursor) = pass(&c, "jobs", None).await;
    assert!(pages.len() > 2);
    assert_eq!(ids_of(&records(&pages), EntityKind::Job), sim.ids("jobs"));
    // The incremental filter goes by its configured name too: the simulator
    // ignores parameters it does not know, so a smaller pass shows it filtered.
    let (again, _) = pass(&c, "jobs", Some(cursor)).await;
    assert!(ids_of(&records(&again), EntityKind::Job).len() < sim.ids("jobs").len());

    // With the default names the simulator's list field is not found, which
    // is a configuration problem, not a transient one.
    let default = connector(&settings, &GoodfitOptions::default());
    let err = default.poll("jobs", None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected { message } if message.contains("paging")),
        "{err:?}"
    );
}

#[tokio::test]
async fn stage_overrides_apply_to_polled_applications() {
    let (sim, server) = start(sim_config(100, 4)).await;
    let mut settings = settings(&server);
    settings.stage_map = StageMap::new(BTreeMap::from([
        ("stg_final".to_string(), StageCategory::Offer),
        ("Phone Screen".to_string(), StageCategory::Interview),
    ]));
    let c = connector(&settings, &GoodfitOptions::default());
    let (pipeline, _) = pass(&c, "job_pipeline", None).await;
    assert!(
        pipeline.iter().all(|p| p.records.is_empty()),
        "a reference list has no records"
    );
    let app = sim.ids("applications")[0].clone();
    sim.move_application(&app, "stg_final").unwrap();
    let other = sim.ids("applications")[1].clone();
    sim.move_application(&other, "Phone Screen").unwrap();
    let (pages, _) = pass(&c, "applications", None).await;
    for r in records(&pages) {
        if let Record::Application(a) = r {
            if a.meta.remote_id == app {
                assert_eq!(
                    (a.stage_name.as_deref(), a.stage_category),
                    (Some("Final Interview"), Some(StageCategory::Offer))
                );
            }
            if a.meta.remote_id == other {
                assert_eq!(a.stage_category, Some(StageCategory::Interview));
            }
        }
    }
}
