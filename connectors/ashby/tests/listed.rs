//! `jobPosting.list` is not paginated by Ashby: the connector fetches it once
//! per pass, keeps it as text and serves it a page at a time, so a large list
//! never sits in memory as parsed objects. The connector against the simulator
//! over real HTTP.
#![cfg(feature = "sim")]

use hirebridge_ashby::sim::{SimConfig, Simulator};
use hirebridge_ashby::{AshbyConfig, AshbyConnector};
use hirebridge_sdk::{Connector, Cursor, Record};
use std::collections::BTreeSet;

#[tokio::test]
async fn an_unpaginated_list_is_fetched_once_and_served_in_pages() {
    let sim = Simulator::new(SimConfig {
        api_key: "test-key".into(),
        seed: 5,
        records: 600,
        ..SimConfig::default()
    });
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let mut config = AshbyConfig::new("test-key");
    config.base_url = server.base_url();
    config.page_sizes.insert("job_postings".into(), 3);
    let c = AshbyConnector::new(config).unwrap();
    let expected: BTreeSet<String> = sim.ids("jobPosting").into_iter().collect();
    assert!(expected.len() > 6, "several pages: {}", expected.len());

    for pass in 0..2 {
        let before = sim.request_count();
        let mut cursor: Option<Cursor> = None;
        let mut seen = BTreeSet::new();
        let mut pages = 0;
        loop {
            let page = c.poll("job_postings", cursor.as_ref()).await.unwrap();
            let page = page.mapped(&c, "job_postings").unwrap();
            pages += 1;
            assert!(page.full_pass && page.rejected.is_empty());
            assert!(page.records.len() <= 3, "{}", page.records.len());
            for r in &page.records {
                assert!(matches!(r, Record::JobPosting(_)), "{r:?}");
                assert!(seen.insert(r.meta().remote_id.clone()), "served twice");
            }
            if page.complete {
                // The next pass starts from the top.
                assert_eq!(page.cursor.0, serde_json::json!({}), "pass {pass}");
                break;
            }
            cursor = Some(page.cursor);
        }
        assert_eq!(seen, expected, "pass {pass}");
        assert_eq!(pages, expected.len().div_ceil(3), "pass {pass}");
        assert_eq!(
            sim.request_count() - before,
            1,
            "one jobPosting.list request per pass (pass {pass})"
        );
    }

    // A pass resumed by another process (nothing held) fetches the list again
    // and goes on from its offset.
    let fresh = {
        let mut config = AshbyConfig::new("test-key");
        config.base_url = server.base_url();
        config.page_sizes.insert("job_postings".into(), 3);
        AshbyConnector::new(config).unwrap()
    };
    let page = fresh
        .poll(
            "job_postings",
            Some(&Cursor(serde_json::json!({"offset": 3}))),
        )
        .await
        .unwrap()
        .mapped(&fresh, "job_postings")
        .unwrap();
    assert_eq!(page.records.len(), 3);
    assert_eq!(page.cursor.0, serde_json::json!({"offset": 6}));
}
