//! The SDK's simulator contract for Goodfit: what `hirebridge simulate`, `demo`
//! and `bench` start, describe, change and sample.

use super::{GoodfitSim, SimConfig, SimServer};
use hirebridge_sdk::sim::people::person;
use hirebridge_sdk::simulate::{RunningSimulator, SampleDelivery, SimSpec, Simulator};
use serde_json::json;
use std::time::SystemTime;

/// Goodfit's simulator, as the plugin exposes it.
pub struct GoodfitSimulator;

struct Running {
    sim: GoodfitSim,
    server: SimServer,
}

#[async_trait::async_trait]
impl Simulator for GoodfitSimulator {
    async fn start(&self, spec: SimSpec) -> std::io::Result<Box<dyn RunningSimulator>> {
        let sim = GoodfitSim::new(SimConfig {
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
fn pick(ids: &[String], n: u64) -> Result<&String, String> {
    if ids.is_empty() {
        return Err("the simulator holds no such objects".into());
    }
    let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    Ok(&ids[(mix % ids.len() as u64) as usize])
}

impl Running {
    /// Change `n`: mostly stage moves, then candidate edits, new applications,
    /// completed assessments and interviews, and now and then a job closing or
    /// reopening; each is visible to polling and sent as its webhook.
    fn apply(&self, n: u64) -> Result<(), String> {
        let sim = &self.sim;
        let apps = sim.ids("applications");
        let err = |e: super::SimError| e.to_string();
        if n % 13 == 12 {
            let jobs = sim.ids("jobs");
            let job = pick(&jobs, n)?;
            let open = sim.get("jobs", job).is_some_and(|j| j["status"] == "open");
            return sim.set_job_open(job, !open).map(|_| ()).map_err(err);
        }
        match n % 6 {
            0 | 1 => sim
                .advance_application(pick(&apps, n)?)
                .map(|_| ())
                .map_err(err),
            2 => {
                let candidates = sim.ids("candidates");
                sim.update_candidate(pick(&candidates, n)?, n)
                    .map(|_| ())
                    .map_err(err)
            }
            3 => {
                let candidate = sim.create_candidate();
                let jobs = sim.ids("jobs");
                let id = candidate["id"].as_str().unwrap_or_default().to_string();
                sim.create_application(&id, pick(&jobs, n)?)
                    .map(|_| ())
                    .map_err(err)
            }
            4 => sim
                .complete_assessment(pick(&apps, n)?)
                .map(|_| ())
                .map_err(err),
            _ => sim
                .complete_interview(pick(&apps, n)?)
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

    fn set_latency(&self, latency: std::time::Duration) {
        self.sim.faults().set_latency(latency);
    }

    fn describe(&self) -> Vec<String> {
        let config = &self.sim.inner().config;
        let mut lines = vec![
            "API key: the x-api-key header".to_string(),
            format!(
                "rate limit: {} requests per {:?} per key, with X-RateLimit-* headers",
                config.rate_limit, config.rate_window
            ),
            format!(
                "webhooks: X-Goodfit-Signature t=..,v1=.. and X-Goodfit-Delivery, {} retries over {:?}",
                config.retry_schedule.len(),
                config.retry_schedule.iter().sum::<std::time::Duration>()
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

    /// Change `n` (see [`Running::apply`]); returns once its webhooks' first
    /// attempts were answered, as the contract asks.
    async fn change(&self, n: u64) -> Result<(), String> {
        self.apply(n)?;
        if !self
            .sim
            .answered_webhooks(std::time::Duration::from_secs(30))
            .await
        {
            return Err("the change's webhooks were not answered within 30s".into());
        }
        Ok(())
    }

    /// A `candidate.created` delivery of candidate `cd_sample_<n>` (shared fake
    /// person `n`), with delivery id `dlv_sample_<n>`.
    fn sample_delivery(&self, n: u64, secret: &str, at: SystemTime) -> SampleDelivery {
        let p = person(n);
        let remote_id = format!("cd_sample_{n}");
        let created = chrono::DateTime::<chrono::Utc>::from(at)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = serde_json::to_vec(&json!({
            "id": format!("evt_sample_{n}"),
            "type": "candidate.created",
            "created_at": created,
            "data": {
                "id": remote_id,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "email": p.email,
                "phone": p.phone,
                "source": "Careers page",
                "referrer": null,
                "assessment_history": [],
                "created_at": created,
                "updated_at": created,
            },
        }))
        .unwrap_or_default();
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("user-agent".to_string(), "Goodfit-Webhooks/1.0".to_string()),
        ];
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
            remote_id,
        }
    }

    async fn shutdown(self: Box<Self>) {
        self.server.shutdown().await;
    }
}
