//! Kit's plugin: what the daemon needs to configure, build and simulate it.

use crate::{KitConfig, KitConnector};
use hirebridge_sdk::signature::{
    Encoding, HeaderLayout, SecretSource, SignatureScheme, SignedContent, TimestampFormat,
    TimestampSource,
};
use hirebridge_sdk::{
    Capabilities, Connector, ConnectorError, Need, Problem, ProviderPlugin, Settings,
};
use serde::Deserialize;
use std::sync::Arc;

/// Kit has no options of its own; the empty struct still refuses unknown keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KitOptions {}

pub static PLUGIN: ProviderPlugin<KitOptions> = ProviderPlugin {
    name: "kit",
    capabilities: Capabilities {
        // Kit documents webhooks, not a polling API for hiring data (seed 002).
        streams: &[],
        webhooks: true,
        signature: Some(signature_scheme),
        api_key: Need::Unused,
        webhook_secret: Need::Required,
        rate_limit: None,
        family_limits: &[],
        redact: &[],
    },
    validate,
    build,
    simulator: SIMULATOR,
};

/// `X-Webhook-Signature` = lowercase hex HMAC-SHA256(secret, "<X-Webhook-Timestamp>.<raw
/// body>"), the timestamp in ISO 8601, a five-minute window (seed 002).
pub fn signature_scheme() -> SignatureScheme {
    SignatureScheme {
        header: "X-Webhook-Signature".into(),
        layout: HeaderLayout::Plain {
            prefix: String::new(),
        },
        encoding: Encoding::Hex,
        signed: SignedContent::TimestampBody,
        timestamp: TimestampSource::Header {
            name: "X-Webhook-Timestamp".into(),
            format: TimestampFormat::Rfc3339,
        },
        id_header: None,
        tolerance_secs: 300,
        secret: SecretSource::WebhookSecrets,
    }
}

fn validate(settings: &Settings, _: &KitOptions) -> Vec<Problem> {
    if settings.api_key.is_some() {
        return vec![Problem::at(
            &["credentials", "api_key"],
            "provider kit is driven by webhooks and has no API to poll: remove the api_key",
        )];
    }
    Vec::new()
}

fn build(settings: &Settings, _: &KitOptions) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(KitConnector::new(KitConfig {
        webhook_secrets: settings.signing_keys(&signature_scheme()),
        tolerance: settings.webhook_tolerance,
        stage_map: settings.stage_map.clone(),
    })))
}

#[cfg(feature = "sim")]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> =
    Some(&sim_plugin::KitSimulator);
#[cfg(not(feature = "sim"))]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> = None;

#[cfg(feature = "sim")]
mod sim_plugin {
    use crate::sim::KitSender;
    use hirebridge_sdk::sim::people::person;
    use hirebridge_sdk::simulate::{RunningSimulator, SampleDelivery, SimSpec};
    use serde_json::{json, Value};
    use std::sync::Mutex;
    use std::time::SystemTime;

    pub struct KitSimulator;

    /// Kit has no API to serve: its simulator is its webhook sender, applying
    /// the shared fake people to job postings.
    struct Running {
        seed: u64,
        people: u64,
        sender: Mutex<Option<KitSender>>,
    }

    #[async_trait::async_trait]
    impl hirebridge_sdk::simulate::Simulator for KitSimulator {
        async fn start(&self, spec: SimSpec) -> std::io::Result<Box<dyn RunningSimulator>> {
            Ok(Box::new(Running {
                seed: spec.seed,
                people: (spec.records as u64 / 4).max(10),
                sender: Mutex::new(None),
            }))
        }
    }

    const STAGES: [&str; 4] = ["Applied", "Phone Screen", "Technical Interview", "Offer"];

    impl Running {
        /// Change `n`: an application of one of the shared people advancing.
        fn application(&self, n: u64) -> (&'static str, Value) {
            let who = (n.wrapping_add(self.seed)) % self.people;
            let p = person(who);
            let stage = STAGES[(n % STAGES.len() as u64) as usize];
            let data = json!({
                "id": who + 1,
                "candidate": {"id": who + 1, "name": p.name(), "email": p.email, "phone": p.phone},
                "job_posting": {"id": 1 + who % 5, "title": "Engineer"},
                "current_stage": stage,
                "rejected": false, "withdrawn": false, "offered": stage == "Offer",
            });
            (
                if n % STAGES.len() as u64 == 0 {
                    "application.submitted"
                } else {
                    "application.advanced"
                },
                data,
            )
        }
    }

    #[async_trait::async_trait]
    impl RunningSimulator for Running {
        fn base_url(&self) -> Option<String> {
            None
        }

        fn describe(&self) -> Vec<String> {
            vec![
                "webhooks only (Kit documents no polling API)".into(),
                format!("applications of {} shared fake people", self.people),
            ]
        }

        fn send_webhooks_to(&self, url: &str, secret: &str) {
            if let Ok(mut s) = self.sender.lock() {
                *s = Some(KitSender::new(url, secret));
            }
        }

        async fn change(&self, n: u64) -> Result<(), String> {
            let sender = self.sender.lock().ok().and_then(|s| s.clone());
            let Some(sender) = sender else {
                return Ok(());
            };
            let (event, data) = self.application(n);
            sender
                .send(event, data)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }

        fn sample_delivery(&self, n: u64, secret: &str, at: SystemTime) -> SampleDelivery {
            let (_, mut data) = self.application(n);
            let event = "application.submitted";
            let remote_id = format!("sample-{n}");
            data["id"] = json!(remote_id);
            let body = KitSender::envelope(event, at.into(), data);
            let mut headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("x-webhook-event".to_string(), event.to_string()),
            ];
            headers.extend(super::signature_scheme().sign(secret.as_bytes(), &body, at, None));
            SampleDelivery {
                headers,
                body,
                remote_id,
            }
        }

        async fn shutdown(self: Box<Self>) {}
    }
}
