//! GoodHire's plugin: what the daemon needs to configure, validate, build and
//! simulate it.

use crate::connector::{GoodhireConnector, STREAMS};
use crate::options::GoodhireOptions;
use hirebridge_sdk::plugin::{no_checks, BuildResult};
use hirebridge_sdk::signature::{
    Encoding, HeaderLayout, SecretSource, SignatureScheme, SignedContent, TimestampSource,
};
use hirebridge_sdk::{Capabilities, Need, ProviderPlugin, Settings};
use std::sync::Arc;

/// The signature header (seed `001_9bab87cc4353b0db.txt`).
pub const SIGNATURE_HEADER: &str = "X-Goodhire-Signature";

/// What must never be stored, whatever the operator configures: the
/// candidate's SSN, date of birth and driver's licence numbers, at any depth
/// (a report, or a webhook's `ReportStatus`). Address fields are added per
/// connector unless kept ([`GoodhireOptions::address_redactions`]).
///
/// The stored webhook body is redacted, so its signature no longer verifies
/// against it; that is intended: the body was verified once, on arrival, and
/// keeping it verifiable would mean keeping the SSN.
pub const REDACT: &[&str] = &[
    "**.SSN",
    "**.DateOfBirth",
    "**.CandidateDriverRecords[].DriverLicenseNum",
];

pub static PLUGIN: ProviderPlugin<GoodhireOptions> = ProviderPlugin {
    name: "goodhire",
    capabilities: Capabilities {
        streams: STREAMS,
        webhooks: true,
        signature: Some(signature_scheme),
        api_key: Need::Required,
        // GoodHire signs with the API key itself.
        webhook_secret: Need::Unused,
        // "GoodHire does not publish fixed numeric rate limits" (provider-facts.md §4).
        rate_limit: None,
        family_limits: &[],
        redact: REDACT,
    },
    validate: no_checks,
    build,
    simulator: SIMULATOR,
};

/// Seed `001_9bab87cc4353b0db.txt`: "compute the SHA-256 HMAC hash of the
/// webhook body using your API key as the secret key and compare this value to
/// the signature hash" in `X-Goodhire-Signature`. The encoding is not stated,
/// so lowercase (or uppercase) hex and base64 are both accepted; nothing is
/// timestamped, and no delivery id header is sent (the body's `Id` dedups).
pub fn signature_scheme() -> SignatureScheme {
    SignatureScheme {
        header: SIGNATURE_HEADER.into(),
        layout: HeaderLayout::Plain {
            prefix: String::new(),
        },
        encoding: Encoding::HexOrBase64,
        signed: SignedContent::Body,
        timestamp: TimestampSource::None,
        id_header: None,
        tolerance_secs: 300,
        secret: SecretSource::ApiKey,
    }
}

fn build(settings: &Settings, options: &GoodhireOptions) -> BuildResult {
    Ok(Arc::new(GoodhireConnector::from_settings(
        settings, options,
    )?))
}

#[cfg(feature = "sim")]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> =
    Some(&crate::sim::GoodhireSimulator);
#[cfg(not(feature = "sim"))]
const SIMULATOR: Option<&'static dyn hirebridge_sdk::simulate::Simulator> = None;
