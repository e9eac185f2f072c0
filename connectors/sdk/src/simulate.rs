//! The simulator contract: what `hirebridge simulate`, `demo` and `bench` ask of
//! a provider's simulator, so they walk the plugin list instead of naming
//! providers. Each provider implements it in its crate behind its `sim` feature.

use std::net::SocketAddr;
use std::time::SystemTime;

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimSpec {
    pub listen: SocketAddr,
    /// Seeds the data: the same seed gives the same records.
    pub seed: u64,
    /// Roughly how many records to hold.
    pub records: usize,
    /// The API key the simulator accepts.
    pub api_key: String,
}

/// One signed delivery as the provider would send it.
#[derive(Debug, Clone)]
pub struct SampleDelivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The remote id of the record it creates or changes (distinct per `n`).
    pub remote_id: String,
}

#[async_trait::async_trait]
pub trait Simulator: Send + Sync {
    /// Starts the simulator: its API on `spec.listen` when the provider has one.
    async fn start(&self, spec: SimSpec) -> std::io::Result<Box<dyn RunningSimulator>>;
}

#[async_trait::async_trait]
pub trait RunningSimulator: Send + Sync {
    /// The API base URL to configure as `base_url`; `None` for webhook-only providers.
    fn base_url(&self) -> Option<String>;
    /// What the simulator holds, a line each, for `simulate` and `demo`.
    fn describe(&self) -> Vec<String>;
    /// Adds `latency` to every API request from now on (recovery tests and
    /// `bench`); providers without an API ignore it.
    fn set_latency(&self, _latency: std::time::Duration) {}
    /// From now on, changes are also sent as this provider's signed webhooks to `url`.
    fn send_webhooks_to(&self, url: &str, secret: &str);
    /// Makes one change at the provider (chosen by `n`), sent as a webhook when
    /// [`RunningSimulator::send_webhooks_to`] was called; returns once those
    /// webhooks were answered, so a test can wait for what follows.
    async fn change(&self, n: u64) -> Result<(), String>;
    /// A delivery that creates record `n` (distinct `n`, distinct records),
    /// signed with `secret` at `at`, without sending it (`bench ingest` and
    /// `bench deliver` send these at full speed).
    fn sample_delivery(&self, n: u64, secret: &str, at: SystemTime) -> SampleDelivery;
    async fn shutdown(self: Box<Self>);
}
