//! The SDK's simulator contract for GoodHire: what `hirebridge simulate`,
//! `demo` and the contract tests start, describe, change and sample.

use super::{guid, GoodhireSim, SimConfig, SimReport};
use hirebridge_sdk::sim::SimServer;
use hirebridge_sdk::simulate::{RunningSimulator, SampleDelivery, SimSpec, Simulator};
use std::time::SystemTime;

/// GoodHire's simulator, as the plugin exposes it.
pub struct GoodhireSimulator;

struct Running {
    sim: GoodhireSim,
    server: SimServer,
}

#[async_trait::async_trait]
impl Simulator for GoodhireSimulator {
    async fn start(&self, spec: SimSpec) -> std::io::Result<Box<dyn RunningSimulator>> {
        let sim = GoodhireSim::new(SimConfig {
            api_key: spec.api_key,
            seed: spec.seed,
            // Background checks are ordered for a few of the applicants.
            reports: (spec.records / 10).clamp(4, 200),
            ..SimConfig::default()
        });
        let server = sim.serve(spec.listen).await?;
        Ok(Box::new(Running { sim, server }))
    }
}

#[async_trait::async_trait]
impl RunningSimulator for Running {
    fn base_url(&self) -> Option<String> {
        Some(self.server.base_url())
    }

    fn describe(&self) -> Vec<String> {
        let (reports, subscriptions) = self.sim.counts();
        vec![
            "API key: Authorization: ApiKey <key>; no list endpoint (import ids or receive webhooks)"
                .to_string(),
            "webhooks: X-Goodhire-Signature, hex HMAC-SHA256 of the body keyed with the API key, retried after 2, 4, 6, 8, then 12 hours (scaled) for 10 days".to_string(),
            format!("reports              {reports}"),
            format!("subscriptions        {subscriptions}"),
        ]
    }

    /// GoodHire signs with the API key, so `_secret` is not used.
    fn send_webhooks_to(&self, url: &str, _secret: &str) {
        self.sim.send_webhooks_to(url);
    }

    /// Change `n`: three in four move a report one status on (sent as a
    /// webhook); the fourth adds a run to a subscription (GoodHire sends no
    /// webhook for those; a refresh finds it).
    async fn change(&self, n: u64) -> Result<(), String> {
        if n % 4 == 3 {
            self.sim
                .run_subscription(n / 4)
                .ok_or("the simulator holds no subscriptions")?;
            return Ok(());
        }
        let report = self
            .sim
            .advance(n - n / 4)
            .ok_or("the simulator holds no reports")?;
        self.sim.notify(&report).await
    }

    fn sample_delivery(&self, n: u64, secret: &str, at: SystemTime) -> SampleDelivery {
        let seed = self.sim.config().seed;
        let report = SimReport {
            id: guid(seed, 4, n),
            person: n,
            last_name: hirebridge_sdk::sim::people::person(n).last_name,
            step: (n % 6) as usize,
            ending: "Completed",
        };
        let body = GoodhireSim::webhook_body(&guid(seed, 5, n), &super::report_json(&report));
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        headers.extend(crate::plugin::signature_scheme().sign(secret.as_bytes(), &body, at, None));
        SampleDelivery {
            headers,
            body,
            remote_id: report.id,
        }
    }

    async fn shutdown(self: Box<Self>) {
        self.server.shutdown().await;
    }
}
