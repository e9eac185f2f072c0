//! ITManagerJobs' `[connectors.options]`: how the key is sent and an optional
//! job status filter. Unknown keys are refused.

use serde::{Deserialize, Serialize};

/// Options of an ITManagerJobs connector section; an absent table is the
/// documented default (Bearer auth, every job).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItManagerJobsOptions {
    /// How the API key is sent (seed `004_7d555ba706a0066d.txt`, "3.
    /// Authenticate": "Send the key as a Bearer token (preferred) or as a
    /// dedicated X-Api-Key header").
    #[serde(default)]
    pub auth: AuthStyle,
    /// Lists only jobs with this status (`status=` on `GET /api/v1/jobs`).
    /// A filtered pass does not list every job, so it never detects deletions.
    #[serde(default)]
    pub job_status: Option<String>,
}

/// Where the key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>` (preferred by the provider).
    #[default]
    Bearer,
    /// `X-Api-Key: <key>`.
    XApiKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ItManagerJobsOptions, toml_edit::de::Error> {
        toml_edit::de::from_str(text)
    }

    #[test]
    fn defaults_overrides_and_unknown_keys() {
        assert_eq!(parse("").unwrap(), ItManagerJobsOptions::default());
        assert_eq!(parse("").unwrap().auth, AuthStyle::Bearer);
        let o = parse("auth = \"x_api_key\"\njob_status = \"Active\"").unwrap();
        assert_eq!(o.auth, AuthStyle::XApiKey);
        assert_eq!(o.job_status.as_deref(), Some("Active"));
        assert!(parse("auth = \"basic\"").is_err());
        assert!(parse("page_size = 10").is_err());
    }
}
