//! ITManagerJobs' plugin: what the daemon needs to configure, validate, build
//! and simulate it.

use crate::connector::{ItManagerJobsConnector, STREAMS};
use crate::options::ItManagerJobsOptions;
use hirebridge_sdk::http::RateLimit;
use hirebridge_sdk::signature::{
    Encoding, HeaderLayout, SecretSource, SignatureScheme, SignedContent, TimestampFormat,
    TimestampSource,
};
use hirebridge_sdk::{
    Capabilities, Connector, ConnectorError, Need, Problem, ProviderPlugin, Settings,
};
use std::sync::Arc;
use std::time::Duration;

/// The signature header (seed `004_7d555ba706a0066d.txt`, "Verifying signatures").
pub const SIGNATURE_HEADER: &str = "X-Webhook-Signature";
/// The event name header ("Headers on every delivery").
pub const EVENT_HEADER: &str = "X-Webhook-Event";
/// The delivery id header, "useful for de-duplication on retries".
pub const DELIVERY_HEADER: &str = "X-Webhook-Delivery-Id";

/// The rate-limit families of the seed's "Rate limits" table (per key).
pub const FAMILY_JOBS: &str = "jobs";
pub const FAMILY_CANDIDATE_SEARCH: &str = "candidate_search";
pub const FAMILY_CANDIDATES: &str = "candidates";

const fn per_minute(requests: u32, burst: u32) -> RateLimit {
    RateLimit {
        requests,
        per: Duration::from_secs(60),
        burst,
    }
}

/// "/api/v1/jobs/... 100 req/min per key; /api/v1/candidates/search 30 req/min
/// per key; /api/v1/candidates/{id} 60 req/min per key" (seed
/// `004_7d555ba706a0066d.txt`); burst sizes are not published, ours are small.
pub const FAMILY_LIMITS: &[(&str, RateLimit)] = &[
    (FAMILY_JOBS, per_minute(100, 10)),
    (FAMILY_CANDIDATE_SEARCH, per_minute(30, 3)),
    (FAMILY_CANDIDATES, per_minute(60, 5)),
];

pub static PLUGIN: ProviderPlugin<ItManagerJobsOptions> = ProviderPlugin {
    name: "itmanagerjobs",
    capabilities: Capabilities {
        streams: STREAMS,
        webhooks: true,
        signature: Some(signature_scheme),
        api_key: Need::Required,
        // Polling works without webhooks; a section that receives them needs one.
        webhook_secret: Need::Optional,
        // Every request belongs to a documented family; the strictest limit
        // covers anything else.
        rate_limit: Some(per_minute(30, 3)),
        family_limits: FAMILY_LIMITS,
        redact: &[],
    },
    validate,
    build,
    simulator: SIMULATOR,
};

/// The documented scheme (seed `004_7d555ba706a0066d.txt`, "Verifying
/// signatures"): `X-Webhook-Signature: t={unix-ts},v1={hex-hmac}` over
/// `"<t>.<raw body>"` with HMAC-SHA256 and the subscription's secret, compared
/// in constant time, refused when more than 300 s from our clock; deliveries
/// are named by `X-Webhook-Delivery-Id`.
pub fn signature_scheme() -> SignatureScheme {
    SignatureScheme {
        header: SIGNATURE_HEADER.into(),
        layout: HeaderLayout::Pairs {
            timestamp_key: "t".into(),
            signature_key: "v1".into(),
        },
        encoding: Encoding::Hex,
        signed: SignedContent::TimestampBody,
        timestamp: TimestampSource::InSignature {
            format: TimestampFormat::UnixSeconds,
        },
        id_header: Some(DELIVERY_HEADER.into()),
        tolerance_secs: 300,
        secret: SecretSource::WebhookSecrets,
    }
}

/// The job statuses the seed names ("Draft → Active", soft-close, expiry).
pub const JOB_STATUSES: &[&str] = &["Draft", "Active", "Inactive", "Expired"];

fn validate(_settings: &Settings, options: &ItManagerJobsOptions) -> Vec<Problem> {
    match &options.job_status {
        Some(s)
            if !JOB_STATUSES
                .iter()
                .any(|k| k.eq_ignore_ascii_case(s.trim())) =>
        {
            vec![Problem::at(
                &["options", "job_status"],
                format!("one of {}", JOB_STATUSES.join(", ")),
            )]
        }
        _ => Vec::new(),
    }
}

fn build(
    settings: &Settings,
    options: &ItManagerJobsOptions,
) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(ItManagerJobsConnector::from_settings(
        settings, options,
    )?))
}

#[cfg(feature = "sim")]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> =
    Some(&crate::sim::ItManagerJobsSimulator);
#[cfg(not(feature = "sim"))]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> = None;

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::Plugin;

    fn problems(toml: &str) -> Vec<Problem> {
        let value: toml_edit::Value = format!("{{ {toml} }}").parse().unwrap();
        let options = PLUGIN.parse_options(Some(value)).unwrap();
        PLUGIN.validate(&Settings::new("itm"), &options)
    }

    #[test]
    fn options_parse_through_the_plugin_and_are_checked() {
        assert!(problems("").is_empty());
        assert!(problems("job_status = \"active\"").is_empty());
        let p = problems("job_status = \"Open\"");
        assert_eq!(p[0].key, vec!["options", "job_status"]);
        let value: toml_edit::Value = "{ paging = 1 }".parse().unwrap();
        assert!(PLUGIN.parse_options(Some(value)).is_err());
    }

    #[test]
    fn capabilities_declare_one_limit_per_documented_family() {
        let caps = PLUGIN.capabilities();
        let limits: Vec<(&str, u32)> = caps
            .family_limits
            .iter()
            .map(|(f, rl)| (*f, rl.requests))
            .collect();
        assert_eq!(
            limits,
            vec![("jobs", 100), ("candidate_search", 30), ("candidates", 60)]
        );
        assert!(caps
            .family_limits
            .iter()
            .all(|(_, rl)| rl.per == Duration::from_secs(60)));
        assert_eq!(caps.streams[0].name, "jobs");
    }
}
