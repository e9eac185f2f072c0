//! The SDK's simulator contract for ITManagerJobs: what `hirebridge simulate`,
//! `demo` and `bench` start, describe, change and sample.

use super::data::SAMPLE_CANDIDATE_BASE;
use super::{ItManagerJobsSim, SimConfig, SimServer};
use hirebridge_sdk::simulate::{RunningSimulator, SampleDelivery, SimSpec, Simulator};
use serde_json::json;
use std::time::{Duration, SystemTime};

/// ITManagerJobs' simulator, as the plugin exposes it.
pub struct ItManagerJobsSimulator;

struct Running {
    sim: ItManagerJobsSim,
    server: SimServer,
}

#[async_trait::async_trait]
impl Simulator for ItManagerJobsSimulator {
    async fn start(&self, spec: SimSpec) -> std::io::Result<Box<dyn RunningSimulator>> {
        let sim = ItManagerJobsSim::new(SimConfig {
            api_key: spec.api_key,
            seed: spec.seed,
            records: spec.records,
            ..SimConfig::default()
        });
        let server = sim.serve(spec.listen).await?;
        Ok(Box::new(Running { sim, server }))
    }
}

/// The `n`th of `ids`, spread so consecutive `n` touch different objects.
fn pick(ids: &[u64], n: u64) -> Result<u64, String> {
    if ids.is_empty() {
        return Err("the simulator holds no such objects".into());
    }
    let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    Ok(ids[(mix % ids.len() as u64) as usize])
}

impl Running {
    /// Change `n`, each one sent as its webhook: a new application (a new
    /// shared fake person applying to an active job), an application moving
    /// along the pipeline, or an active job expiring. Changes that fire no
    /// webhook (publishing, soft-closing) are left to tests, since the contract
    /// expects every change to arrive as a webhook.
    fn apply(&self, n: u64) -> Result<(), String> {
        let sim = &self.sim;
        let err = |e: super::SimError| e.to_string();
        let active: Vec<u64> = sim
            .ids("jobs")
            .into_iter()
            .filter(|id| sim.job(*id).is_some_and(|j| j["status"] == "Active"))
            .collect();
        match n % 3 {
            1 => sim
                .advance_application(pick(&sim.ids("applications"), n)?)
                .map(|_| ())
                .map_err(err),
            2 if active.len() > 1 => sim.expire_job(pick(&active, n)?).map(|_| ()).map_err(err),
            _ => sim
                .submit_application(pick(&active, n)?)
                .map(|_| ())
                .map_err(err),
        }
    }
}

#[async_trait::async_trait]
impl RunningSimulator for Running {
    fn base_url(&self) -> Option<String> {
        Some(self.server.base_url())
    }

    fn set_latency(&self, latency: Duration) {
        self.sim.faults().set_latency(latency);
    }

    fn describe(&self) -> Vec<String> {
        let config = &self.sim.inner().config;
        let mut lines = vec![
            "API key: Authorization: Bearer <key> or X-Api-Key; scopes JobPosting, CvSearch".to_string(),
            format!(
                "rate limits per key and family: {} per {:?}, with Retry-After",
                config
                    .limits
                    .iter()
                    .map(|(f, n)| format!("{f} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                config.rate_window
            ),
            format!(
                "webhooks: X-Webhook-Signature t=..,v1=.., X-Webhook-Event, X-Webhook-Delivery-Id; retries 1m..24h scaled 1/{}; disabled after 10 consecutive failures",
                config.time_scale
            ),
        ];
        lines.extend(
            self.sim
                .counts()
                .into_iter()
                .map(|(what, n)| format!("{what:<20} {n}")),
        );
        lines
    }

    fn send_webhooks_to(&self, url: &str, secret: &str) {
        self.sim.send_webhooks_to(url, secret);
    }

    async fn change(&self, n: u64) -> Result<(), String> {
        self.apply(n)?;
        if !self.sim.answered_webhooks(Duration::from_secs(30)).await {
            return Err("the change's webhooks were not answered within 30s".into());
        }
        Ok(())
    }

    /// An `application.submitted` of application `8000000 + n` by candidate
    /// `5000000 + n` (shared fake person `n`, registered so it can be fetched)
    /// to the first job, with delivery id `dlv_sample_<n>`.
    fn sample_delivery(&self, n: u64, secret: &str, at: SystemTime) -> SampleDelivery {
        let candidate = SAMPLE_CANDIDATE_BASE + n;
        self.sim.store().ensure_candidate(candidate, n);
        let job = self.sim.ids("jobs").first().copied().unwrap_or(1001);
        let application = 8_000_000 + n;
        let applied = chrono::DateTime::<chrono::Utc>::from(at)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = serde_json::to_vec(&json!({
            "id": format!("evt_sample_{n}"),
            "event": "application.submitted",
            "createdAt": applied,
            "data": {
                "applicationId": application, "jobPostId": job,
                "jobTitle": "Senior Platform Engineer", "candidateId": candidate,
                "appliedAt": applied, "applicationType": "QuickApply",
            },
        }))
        .unwrap_or_default();
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "user-agent".to_string(),
                "ITManagerJobs-Webhooks/1.0".to_string(),
            ),
        ];
        headers.extend(super::sender::event_header("application.submitted"));
        let delivery_id = format!("dlv_sample_{n}");
        headers.extend(crate::plugin::signature_scheme().sign(
            secret.as_bytes(),
            &body,
            at,
            Some(&delivery_id),
        ));
        SampleDelivery {
            headers,
            body,
            remote_id: application.to_string(),
        }
    }

    async fn shutdown(self: Box<Self>) {
        self.server.shutdown().await;
    }
}
