//! Shared by the crate's tests: a simulator on a free port, a connector
//! against it with short backoff, and whole passes.
#![allow(dead_code)]

use hirebridge_itmanagerjobs::sim::{ItManagerJobsSim, SimConfig, SimServer};
use hirebridge_itmanagerjobs::{ItManagerJobsConnector, ItManagerJobsOptions};
use hirebridge_sdk::http::HttpConfig;
use hirebridge_sdk::{Connector, Cursor, Page, Record, Secret, Settings};
use std::time::Duration;

pub const KEY: &str = "pk_live_test";
pub const SECRET: &str = "whsec_test";

pub fn sim_config(records: usize, seed: u64) -> SimConfig {
    SimConfig {
        api_key: KEY.into(),
        seed,
        records,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> (ItManagerJobsSim, SimServer) {
    let sim = ItManagerJobsSim::new(config);
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    (sim, server)
}

pub fn settings(server: &SimServer) -> Settings {
    let mut s = Settings::new("itm");
    s.base_url = Some(server.base_url());
    s.api_key = Some(Secret::new(KEY));
    s.webhook_secrets = vec![Secret::new(SECRET)];
    s
}

/// A connector with the documented family limits and a short backoff.
pub fn connector(settings: &Settings, options: &ItManagerJobsOptions) -> ItManagerJobsConnector {
    let caps = &hirebridge_itmanagerjobs::PLUGIN.capabilities;
    let mut http = HttpConfig::for_provider(
        hirebridge_sdk::Auth::None,
        caps.rate_limit,
        caps.family_limits,
        settings.rate_limit,
    );
    http.min_backoff = Duration::from_millis(5);
    http.max_backoff = Duration::from_millis(20);
    http.max_retries = 3;
    ItManagerJobsConnector::new(settings, options, http).unwrap()
}

/// Every page of one pass from `cursor`, and the cursor after it.
pub async fn pass(c: &ItManagerJobsConnector, cursor: Option<Cursor>) -> (Vec<Page>, Cursor) {
    let mut pages = Vec::new();
    let mut cursor = cursor;
    loop {
        let page = c.poll("jobs", cursor.as_ref()).await.unwrap();
        cursor = Some(page.cursor.clone());
        let done = page.complete;
        pages.push(page);
        if done {
            return (pages, cursor.unwrap());
        }
        assert!(pages.len() < 1000, "the pass never ends");
    }
}

pub fn records(pages: &[Page]) -> Vec<Record> {
    pages.iter().flat_map(|p| p.records.clone()).collect()
}
