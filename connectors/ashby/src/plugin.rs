//! Ashby's plugin: what the daemon needs to configure, build and simulate it.

use crate::connector::{AshbyConfig, AshbyConnector, STREAMS};
use hirebridge_sdk::http::HttpConfig;
use hirebridge_sdk::plugin::no_checks;
use hirebridge_sdk::signature::{
    Encoding, HeaderLayout, SecretSource, SignatureScheme, SignedContent, TimestampSource,
};
use hirebridge_sdk::{Capabilities, Connector, ConnectorError, Need, ProviderPlugin, Settings};
use serde::Deserialize;
use std::sync::Arc;

/// Ashby has no options of its own yet; the empty struct still refuses unknown keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AshbyOptions {}

pub static PLUGIN: ProviderPlugin<AshbyOptions> = ProviderPlugin {
    name: "ashby",
    capabilities: Capabilities {
        streams: STREAMS,
        webhooks: true,
        signature: Some(signature_scheme),
        api_key: Need::Required,
        webhook_secret: Need::Optional,
        // Ashby publishes no general per-key limit (provider-facts.md §1): 429s
        // are honoured as they come, and the operator's `rate_limit` applies.
        rate_limit: None,
        family_limits: &[],
        redact: &[],
    },
    validate: no_checks,
    build,
    simulator: SIMULATOR,
};

/// `Ashby-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, no timestamp
/// (seed 003, "Authenticating webhooks").
pub fn signature_scheme() -> SignatureScheme {
    SignatureScheme {
        header: "Ashby-Signature".into(),
        layout: HeaderLayout::Plain {
            prefix: "sha256=".into(),
        },
        encoding: Encoding::Hex,
        signed: SignedContent::Body,
        timestamp: TimestampSource::None,
        id_header: None,
        tolerance_secs: 300,
        secret: SecretSource::WebhookSecrets,
    }
}

fn build(settings: &Settings, _: &AshbyOptions) -> Result<Arc<dyn Connector>, ConnectorError> {
    let mut config = AshbyConfig::new(settings.api_key().expose());
    config.base_url = settings.base_url_or(crate::client::DEFAULT_BASE_URL);
    config.http = HttpConfig::for_provider(
        hirebridge_sdk::Auth::BasicKeyAsUser(settings.api_key()),
        PLUGIN.capabilities.rate_limit,
        PLUGIN.capabilities.family_limits,
        settings.rate_limit,
    );
    config.page_sizes = settings
        .page_sizes
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    config.stage_map = settings.stage_map.clone();
    config.webhook_secrets = settings.signing_keys(&signature_scheme());
    Ok(Arc::new(AshbyConnector::new(config)?))
}

#[cfg(feature = "sim")]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> =
    Some(&sim_plugin::AshbySimulator);
#[cfg(not(feature = "sim"))]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> = None;

#[cfg(feature = "sim")]
mod sim_plugin {
    use crate::sim::{SimConfig, SimServer, Simulator};
    use hirebridge_sdk::simulate::{RunningSimulator, SampleDelivery, SimSpec};
    use serde_json::json;
    use std::time::SystemTime;

    pub struct AshbySimulator;

    struct Running {
        sim: Simulator,
        server: SimServer,
    }

    #[async_trait::async_trait]
    impl hirebridge_sdk::simulate::Simulator for AshbySimulator {
        async fn start(&self, spec: SimSpec) -> std::io::Result<Box<dyn RunningSimulator>> {
            let sim = Simulator::new(SimConfig {
                api_key: spec.api_key,
                seed: spec.seed,
                records: spec.records,
                ..SimConfig::default()
            });
            let server = sim.serve(spec.listen).await?;
            Ok(Box::new(Running { sim, server }))
        }
    }

    fn pick(ids: &[String], n: u64) -> Option<&String> {
        (!ids.is_empty()).then(|| &ids[(n % ids.len() as u64) as usize])
    }

    #[async_trait::async_trait]
    impl RunningSimulator for Running {
        fn base_url(&self) -> Option<String> {
            Some(self.server.base_url())
        }

        fn set_latency(&self, latency: std::time::Duration) {
            let mut faults = self.sim.faults();
            faults.latency = latency;
            self.sim.set_faults(faults);
        }

        fn describe(&self) -> Vec<String> {
            let mut lines = vec!["API key: HTTP Basic, the key as user name".to_string()];
            lines.extend(
                self.sim
                    .counts()
                    .into_iter()
                    .map(|(object, n)| format!("{object:<20} {n}")),
            );
            lines
        }

        fn send_webhooks_to(&self, url: &str, secret: &str) {
            self.sim.send_webhooks_to(url, secret);
        }

        async fn change(&self, n: u64) -> Result<(), String> {
            let apps = self.sim.ids("application");
            let stages = self.sim.ids("interviewStage");
            let (candidates, jobs) = (self.sim.ids("candidate"), self.sim.ids("job"));
            let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
            match (n % 7, pick(&apps, mix), pick(&stages, mix / 7)) {
                (0..=3, Some(app), Some(stage)) => self.sim.move_application_stage(app, stage),
                (4..=5, _, _) => match (pick(&candidates, mix), pick(&jobs, mix / 3)) {
                    (Some(c), Some(j)) => {
                        self.sim.create_application(c, j);
                    }
                    _ => return Err("no candidates or jobs to apply with".into()),
                },
                (_, Some(app), _) => self.sim.hire_application(app),
                _ => return Err("no applications to change".into()),
            }
            // Return once the change's webhooks were answered, as the contract says.
            if !self
                .sim
                .flush_webhooks(std::time::Duration::from_secs(30))
                .await
            {
                return Err("the change's webhooks were not answered within 30s".into());
            }
            Ok(())
        }

        fn sample_delivery(&self, n: u64, secret: &str, at: SystemTime) -> SampleDelivery {
            let apps = self.sim.ids("application");
            let mut app = pick(&apps, n)
                .and_then(|id| self.sim.get("application", id))
                .unwrap_or_else(|| json!({}));
            let remote_id = format!("sample-{n}");
            app["id"] = json!(remote_id);
            let body = serde_json::to_vec(
                &json!({"action": "applicationUpdate", "data": {"application": app}}),
            )
            .unwrap_or_default();
            let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
            headers.extend(super::signature_scheme().sign(secret.as_bytes(), &body, at, None));
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
}
