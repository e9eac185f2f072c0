//! Shared test harness: a simulator on a free port, connectors pointed at it
//! with a fast backoff, a whole-pass driver, and a webhook receiver that
//! verifies and parses with the connector, all over real HTTP.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hirebridge_goodfit::sim::{GoodfitSim, SimConfig, SimServer};
use hirebridge_goodfit::{GoodfitConnector, GoodfitOptions};
use hirebridge_sdk::http::HttpConfig;
use hirebridge_sdk::{
    Connector, ConnectorError, Cursor, Delivery, Inbound, Page, Record, Secret, Settings,
    WebhookError,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub const KEY: &str = "test-key";

/// A small, fast simulator: quick storms and a short webhook retry schedule.
pub fn sim_config(records: usize, seed: u64) -> SimConfig {
    SimConfig {
        api_key: KEY.into(),
        seed,
        records,
        storm_retry_after: Duration::from_millis(20),
        retry_schedule: vec![
            Duration::from_millis(20),
            Duration::from_millis(40),
            Duration::from_millis(80),
        ],
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> (GoodfitSim, SimServer) {
    let sim = GoodfitSim::new(config);
    let server = sim.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    (sim, server)
}

pub fn settings(server: &SimServer) -> Settings {
    let mut s = Settings::new("goodfit-test");
    s.base_url = Some(server.base_url());
    s.api_key = Some(Secret::new(KEY));
    s.webhook_secrets = vec![Secret::new("old-secret"), Secret::new("new-secret")];
    s
}

/// Retries quickly and leaves pacing to the provider's headers.
pub fn fast_http() -> HttpConfig {
    HttpConfig {
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_retries: 8,
        rate_limit: None,
        ..HttpConfig::default()
    }
}

pub fn connector(settings: &Settings, options: &GoodfitOptions) -> GoodfitConnector {
    GoodfitConnector::new(settings, options, fast_http()).unwrap()
}

/// One whole pass of `stream` from `cursor`: its pages and the cursor after it.
pub async fn pass(
    c: &GoodfitConnector,
    stream: &str,
    cursor: Option<Cursor>,
) -> (Vec<Page>, Cursor) {
    let mut cursor = cursor;
    let mut pages = Vec::new();
    loop {
        let page = c.poll(stream, cursor.as_ref()).await.unwrap();
        cursor = Some(page.cursor.clone());
        let complete = page.complete;
        pages.push(page);
        assert!(pages.len() < 10_000, "the pass never completes");
        if complete {
            return (pages, cursor.unwrap());
        }
    }
}

pub fn records(pages: &[Page]) -> Vec<Record> {
    pages.iter().flat_map(|p| p.records.clone()).collect()
}

pub fn ids_of(records: &[Record], kind: hirebridge_sdk::EntityKind) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.kind() == kind)
        .map(|r| r.meta().remote_id.clone())
        .collect()
}

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
pub struct Received {
    pub status: u16,
    pub delivery: Result<Delivery, WebhookError>,
    pub inbound: Option<Result<Vec<Inbound>, ConnectorError>>,
    pub body: Vec<u8>,
}

/// A webhook endpoint that authenticates with the connector as the daemon's
/// ingress does; it can fail the first requests to make the sender retry.
pub struct Receiver {
    connector: GoodfitConnector,
    pub log: Mutex<Vec<Received>>,
    pub fail_first: AtomicU32,
}

impl Receiver {
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delivery = r.connector.verify(&headers, &body, SystemTime::now());
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let (status, inbound) = match (&delivery, failing) {
        (Err(_), _) => (StatusCode::UNAUTHORIZED, None),
        (Ok(_), true) => (StatusCode::SERVICE_UNAVAILABLE, None),
        (Ok(d), false) => (StatusCode::NO_CONTENT, Some(r.connector.parse(d, &body))),
    };
    r.log.lock().unwrap().push(Received {
        status: status.as_u16(),
        delivery,
        inbound,
        body: body.to_vec(),
    });
    status
}

/// Serves a receiver for `connector`; returns its URL.
pub async fn receiver(connector: GoodfitConnector) -> (String, Arc<Receiver>) {
    let r = Arc::new(Receiver {
        connector,
        log: Mutex::new(Vec::new()),
        fail_first: AtomicU32::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/goodfit-test",
        listener.local_addr().unwrap()
    );
    let app = axum::Router::new()
        .route("/webhooks/goodfit-test", axum::routing::post(receive))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, r)
}
