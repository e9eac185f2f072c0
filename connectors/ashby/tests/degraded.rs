//! A reference list Ashby refuses degrades mapping instead of failing streams:
//! the connector against the simulator over real HTTP, with the refusal injected.
#![cfg(feature = "sim")]

use hirebridge_ashby::sim::{Faults, SimConfig, SimServer, Simulator};
use hirebridge_ashby::{AshbyConfig, AshbyConnector};
use hirebridge_sdk::{Connector, ConnectorError, Cursor, Record};

const KEY: &str = "test-key";

async fn start() -> (Simulator, SimServer) {
    let sim = Simulator::new(SimConfig {
        api_key: KEY.into(),
        seed: 11,
        records: 300,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    (sim, server)
}

fn connector(server: &SimServer, key: &str) -> AshbyConnector {
    let mut config = AshbyConfig::new(key);
    config.base_url = server.base_url();
    config.http.max_retries = 0;
    AshbyConnector::new(config).unwrap()
}

fn refuse(sim: &Simulator, methods: &[(&str, u16)]) {
    sim.set_faults(Faults {
        method_errors: methods.iter().map(|(m, s)| (m.to_string(), *s)).collect(),
        ..Faults::default()
    });
}

/// Polls a stream to the end of its pass; all records of the pass.
async fn pass(c: &AshbyConnector, stream: &str) -> Result<Vec<Record>, ConnectorError> {
    let mut cursor: Option<Cursor> = None;
    let mut records = Vec::new();
    loop {
        let page = c.poll(stream, cursor.as_ref()).await?.mapped(c, stream)?;
        assert!(page.rejected.is_empty(), "{:?}", page.rejected);
        records.extend(page.records);
        if page.complete {
            return Ok(records);
        }
        cursor = Some(page.cursor);
    }
}

fn stage_names(records: &[Record]) -> Vec<Option<String>> {
    records
        .iter()
        .map(|r| match r {
            Record::Interview(i) => i.stage_name.clone(),
            other => panic!("not an interview: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_forbidden_interview_plan_list_leaves_stage_names_unresolved() {
    let (sim, server) = start().await;
    refuse(&sim, &[("interviewPlan.list", 403)]);
    let c = connector(&server, KEY);
    assert!(c.degraded().is_empty());

    let jobs = pass(&c, "jobs")
        .await
        .expect("jobs complete without stages");
    assert_eq!(jobs.len(), sim.counts()["job"]);
    // Departments and locations were read, so jobs still carry them.
    assert!(jobs
        .iter()
        .all(|r| matches!(r, Record::Job(j) if j.department.is_some() && j.location.is_some())));
    assert_eq!(
        c.degraded(),
        vec!["interviewPlan.list unavailable (403): stage names unresolved".to_string()]
    );

    let interviews = pass(&c, "interview_schedules").await.unwrap();
    assert_eq!(interviews.len(), sim.counts()["interviewSchedule"]);
    assert!(stage_names(&interviews).iter().all(Option::is_none));

    // The stages' own stream degrades too (rather than failing as an auth error)...
    let page = c.poll("interview_stages", None).await.unwrap();
    assert!(page.complete && page.records.is_empty());
    assert_eq!(c.degraded().len(), 1);

    // ...and when Ashby answers again, it fills the cache and clears the note.
    sim.set_faults(Faults::default());
    c.poll("interview_stages", None).await.unwrap();
    assert!(c.degraded().is_empty(), "{:?}", c.degraded());
    let interviews = pass(&c, "interview_schedules").await.unwrap();
    assert!(stage_names(&interviews).iter().all(Option::is_some));
}

#[tokio::test]
async fn a_missing_endpoint_and_refused_departments_degrade_too() {
    let (sim, server) = start().await;
    refuse(
        &sim,
        &[("interviewPlan.list", 404), ("department.list", 403)],
    );
    let c = connector(&server, KEY);
    // The departments stream ends empty instead of failing.
    let page = c.poll("departments", None).await.unwrap();
    assert!(page.complete && page.records.is_empty());
    let jobs = pass(&c, "jobs").await.unwrap();
    assert!(jobs
        .iter()
        .all(|r| matches!(r, Record::Job(j) if j.department.is_none() && j.location.is_some())));
    assert_eq!(
        c.degraded(),
        vec![
            "department.list unavailable (403): job departments unresolved".to_string(),
            "interviewPlan.list unavailable (404): stage names unresolved".to_string(),
        ]
    );
    // Entity lists are never degraded: a refused one fails its stream.
    refuse(&sim, &[("job.list", 403)]);
    assert!(matches!(
        c.poll("jobs", None).await,
        Err(ConnectorError::Auth { .. })
    ));
    // Once read, the departments note goes.
    sim.set_faults(Faults::default());
    pass(&c, "departments").await.unwrap();
    assert_eq!(c.degraded().len(), 1);
}

#[tokio::test]
async fn a_wrong_key_still_fails_the_stream() {
    let (_sim, server) = start().await;
    let c = connector(&server, "not-the-key");
    assert!(matches!(
        pass(&c, "jobs").await,
        Err(ConnectorError::Auth { .. })
    ));
    assert!(matches!(
        c.poll("interview_stages", None).await,
        Err(ConnectorError::Auth { .. })
    ));
    assert!(c.degraded().is_empty());
}
