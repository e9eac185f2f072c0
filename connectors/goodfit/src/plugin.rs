//! Goodfit's plugin: what the daemon needs to configure, validate, build and
//! simulate it.

use crate::connector::{GoodfitConnector, STREAMS};
use crate::options::GoodfitOptions;
use hirebridge_sdk::http::RateLimit;
use hirebridge_sdk::signature::{
    Encoding, HeaderLayout, SecretSource, SignatureScheme, SignedContent, TimestampFormat,
    TimestampSource,
};
use hirebridge_sdk::{
    Capabilities, Connector, ConnectorError, Need, Problem, ProviderPlugin, Settings,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The signature header (seed `000_56de87d4110788fc.txt`).
pub const SIGNATURE_HEADER: &str = "X-Goodfit-Signature";
/// The delivery id header (assumed; see [`signature_scheme`]).
pub const DELIVERY_HEADER: &str = "X-Goodfit-Delivery";

pub static PLUGIN: ProviderPlugin<GoodfitOptions> = ProviderPlugin {
    name: "goodfit",
    capabilities: Capabilities {
        streams: STREAMS,
        webhooks: true,
        signature: Some(signature_scheme),
        api_key: Need::Required,
        // Polling works without webhooks; a section that receives them needs one.
        webhook_secret: Need::Optional,
        // "600 requests per minute per API key, with burst headroom" (seed
        // 000_56de87d4110788fc.txt); the burst size is not published.
        rate_limit: Some(RateLimit {
            requests: 600,
            per: Duration::from_secs(60),
            burst: 10,
        }),
        family_limits: &[],
        redact: &[],
    },
    validate,
    build,
    simulator: SIMULATOR,
};

/// ASSUMPTION (seed `000_56de87d4110788fc.txt`: "HMAC-SHA256 signed, with
/// timestamp in X-Goodfit-Signature", "per-endpoint secret rotation"; the exact
/// layout is not public, provider-facts.md §3): `X-Goodfit-Signature:
/// t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, several
/// `v1=` pairs allowed during a rotation, a 300 s tolerance either way (the
/// daemon's `webhook_tolerance`), and a delivery id in `X-Goodfit-Delivery` used
/// to deduplicate Goodfit's retries and dashboard replays (absent: the daemon
/// deduplicates by body hash). Every configured secret is tried. The whole
/// scheme is replaced by `[connectors.options.signature]` (a
/// [`SignatureScheme`] written as TOML) if Goodfit's real layout differs.
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

/// Checks what serde cannot: paging names that collide or are empty, and a
/// signature override that could never verify a delivery.
fn validate(settings: &Settings, options: &GoodfitOptions) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (key, name) in options.paging.named() {
        if name.trim().is_empty() {
            problems.push(Problem::at(
                &["options", "paging", key],
                "must not be empty",
            ));
        }
        // The three query parameters must differ; the two response fields too.
        let group = if matches!(key, "data" | "next_cursor") {
            "response"
        } else {
            "query"
        };
        if !seen.insert((group, name)) {
            problems.push(Problem::at(
                &["options", "paging", key],
                format!("{name:?} is already used by another {group} name"),
            ));
        }
    }
    if options.overlap_secs > crate::options::MAX_OVERLAP_SECS {
        problems.push(Problem::at(
            &["options", "overlap_secs"],
            format!("at most {} (a week)", crate::options::MAX_OVERLAP_SECS),
        ));
    }
    if let Some(scheme) = &options.signature {
        problems.extend(scheme_problems(scheme, settings));
    }
    problems
}

fn scheme_problems(scheme: &SignatureScheme, settings: &Settings) -> Vec<Problem> {
    let at = |key: &str, message: &str| Problem::at(&["options", "signature", key], message);
    let mut problems = Vec::new();
    if scheme.header.trim().is_empty() {
        problems.push(at("header", "must name the signature header"));
    }
    let pairs = matches!(scheme.layout, HeaderLayout::Pairs { .. });
    match (&scheme.timestamp, scheme.signed) {
        (TimestampSource::InSignature { .. }, _) if !pairs => problems.push(at(
            "timestamp",
            "`in_signature` needs `layout = { kind = \"pairs\", ... }`",
        )),
        (TimestampSource::None, SignedContent::TimestampBody | SignedContent::IdTimestampBody) => {
            problems.push(at(
                "timestamp",
                "the signed content includes a timestamp, so one must be sent",
            ))
        }
        _ => {}
    }
    if scheme.signed == SignedContent::IdTimestampBody && scheme.id_header.is_none() {
        problems.push(at(
            "id_header",
            "`id_timestamp_body` signs a delivery id, so it needs `id_header`",
        ));
    }
    if scheme.secret == SecretSource::ApiKey && settings.api_key.is_none() {
        problems.push(at("secret", "`api_key` signing needs credentials.api_key"));
    }
    problems
}

fn build(
    settings: &Settings,
    options: &GoodfitOptions,
) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(GoodfitConnector::from_settings(
        settings, options,
    )?))
}

#[cfg(feature = "sim")]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> =
    Some(&crate::sim::GoodfitSimulator);
#[cfg(not(feature = "sim"))]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> = None;

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::Plugin;

    fn problems(toml: &str) -> Vec<Problem> {
        let value: toml_edit::Value = format!("{{ {toml} }}").parse().unwrap();
        let options = PLUGIN.parse_options(Some(value)).unwrap();
        PLUGIN.validate(&Settings::new("g"), &options)
    }

    #[test]
    fn options_parse_through_the_plugin_and_are_checked() {
        assert!(problems("").is_empty());
        assert!(problems("paging = { limit = \"per_page\" }").is_empty());
        let p = problems("paging = { limit = \"cursor\" }");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key, vec!["options", "paging", "cursor"]);
        let p = problems("paging = { data = \"\" }");
        assert_eq!(p[0].key, vec!["options", "paging", "data"]);
        let p = problems(
            "signature = { header = \"X-Goodfit-Signature\", layout = { kind = \"plain\" }, encoding = \"hex\", signed = \"timestamp_body\", timestamp = { kind = \"in_signature\", format = \"unix_seconds\" } }",
        );
        assert_eq!(p[0].key, vec!["options", "signature", "timestamp"]);
        let value: toml_edit::Value = "{ pagination = 1 }".parse().unwrap();
        assert!(PLUGIN.parse_options(Some(value)).is_err());
        assert!(PLUGIN.parse_options(None).is_ok());
        let p = problems("overlap_secs = 99999999999");
        assert_eq!(p[0].key, vec!["options", "overlap_secs"]);
    }

    #[test]
    fn capabilities_declare_the_documented_limit() {
        let caps = PLUGIN.capabilities();
        let rl = caps.rate_limit.unwrap();
        assert_eq!((rl.requests, rl.per), (600, Duration::from_secs(60)));
        assert_eq!(caps.streams[0].name, "job_pipeline");
        assert!(caps.streams[0].entity.is_none());
    }
}
