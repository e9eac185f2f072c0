//! Provider plugins: what a provider crate exports so the daemon can configure,
//! validate, build and simulate it without naming it. Each crate has one
//! `pub static PLUGIN: ProviderPlugin<ItsOptions>`; the daemon holds the list.

use crate::connector::{Connector, StreamSpec};
use crate::error::ConnectorError;
use crate::http::RateLimit;
use crate::model::StageMap;
use crate::secret::Secret;
use serde::de::{DeserializeOwned, IntoDeserializer};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Whether a connector section needs a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
    Unused,
}

/// What a provider can do, declared by its crate from the provider's documents.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Pollable streams in pass order (reference lists first); empty: no polling.
    pub streams: &'static [StreamSpec],
    /// Whether the provider sends webhooks we verify.
    pub webhooks: bool,
    /// The provider's documented webhook signature scheme (contract tests sign
    /// and tamper with it; a connector may let options override it).
    pub signature: Option<fn() -> crate::signature::SignatureScheme>,
    /// Whether `credentials.api_key` is needed.
    pub api_key: Need,
    /// Whether at least one `webhook_secrets` entry is needed.
    pub webhook_secret: Need,
    /// The documented request rate for requests of no listed family.
    pub rate_limit: Option<RateLimit>,
    /// Documented limits per endpoint family.
    pub family_limits: &'static [(&'static str, RateLimit)],
    /// JSON field paths of data that must never be stored (see [`crate::redact`]).
    pub redact: &'static [&'static str],
}

impl Capabilities {
    pub fn polls(&self) -> bool {
        !self.streams.is_empty()
    }
}

/// The settings every connector section has, validated by the daemon.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The connector id (in URLs, rows and events).
    pub id: String,
    /// Overrides the provider's API base URL (simulators, sandboxes, proxies).
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    /// Webhook signing secrets; several while one is rotated.
    pub webhook_secrets: Vec<Secret>,
    /// Accepted clock difference for signed timestamps.
    pub webhook_tolerance: Duration,
    /// The operator's request rate, replacing the provider's documented one.
    pub rate_limit: Option<RateLimit>,
    /// Page size per stream name, where the operator set one.
    pub page_sizes: BTreeMap<String, u32>,
    /// Stage overrides (provider stage id or title to category).
    pub stage_map: StageMap,
    /// The operator's own field paths that must never be stored, on top of the
    /// provider's (see [`crate::redact`]).
    pub redact: Vec<String>,
}

impl Settings {
    /// A settings value with only an id and defaults (tests, simulators).
    pub fn new(id: impl Into<String>) -> Settings {
        Settings {
            id: id.into(),
            base_url: None,
            api_key: None,
            webhook_secrets: Vec::new(),
            webhook_tolerance: Duration::from_secs(300),
            rate_limit: None,
            page_sizes: BTreeMap::new(),
            stage_map: StageMap::default(),
            redact: Vec::new(),
        }
    }

    /// The API key, or empty when unset (the daemon checks presence per [`Need`]).
    pub fn api_key(&self) -> Secret {
        self.api_key.clone().unwrap_or_else(|| Secret::new(""))
    }

    /// The keys `scheme` verifies with (its [`crate::signature::SecretSource`]).
    pub fn signing_keys(
        &self,
        scheme: &crate::signature::SignatureScheme,
    ) -> crate::signature::SigningKeys {
        crate::signature::SigningKeys::resolve(
            scheme.secret,
            &self.webhook_secrets,
            self.api_key.as_ref(),
        )
    }

    /// The base URL without a trailing slash, or the provider's default.
    pub fn base_url_or(&self, default: &str) -> String {
        self.base_url
            .as_deref()
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_string()
    }
}

/// A problem with a connector section, found by the provider's `validate`. `key`
/// is relative to the section (`["options", "signature", "header"]`), so `check`
/// can point at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: Vec<String>,
    pub message: String,
}

impl Problem {
    pub fn at(key: &[&str], message: impl Into<String>) -> Problem {
        Problem {
            key: key.iter().map(|k| k.to_string()).collect(),
            message: message.into(),
        }
    }
}

/// A provider's options, parsed and type-erased so the daemon can hold them.
#[derive(Clone)]
pub struct Options(Arc<dyn Any + Send + Sync>);

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Options hold no secrets by rule, but the daemon never prints them either.
        f.write_str("Options(..)")
    }
}

/// What the daemon asks of a provider, object-safe so it can hold a list.
pub trait Plugin: Send + Sync {
    /// The provider's name as written in `provider = "..."`.
    fn name(&self) -> &'static str;
    fn capabilities(&self) -> &Capabilities;
    /// Deserialises `[connectors.options]` (absent: an empty table) into the
    /// provider's typed options; an unknown key is an error with its span.
    fn parse_options(
        &self,
        options: Option<toml_edit::Value>,
    ) -> Result<Options, toml_edit::de::Error>;
    /// Provider-specific checks of a section, beyond what serde and the daemon check.
    fn validate(&self, settings: &Settings, options: &Options) -> Vec<Problem>;
    fn build(
        &self,
        settings: &Settings,
        options: &Options,
    ) -> Result<Arc<dyn Connector>, ConnectorError>;
    /// The provider's simulator, in builds with the crate's `sim` feature.
    fn simulator(&self) -> Option<&'static dyn crate::simulate::Simulator>;
}

/// What a provider's `build` returns: its connector, ready to poll and verify.
pub type BuildResult = Result<Arc<dyn Connector>, ConnectorError>;

/// The one way a provider crate declares its plugin: typed options and plain
/// functions; [`Plugin`] is implemented for it once, here.
pub struct ProviderPlugin<O> {
    pub name: &'static str,
    pub capabilities: Capabilities,
    pub validate: fn(&Settings, &O) -> Vec<Problem>,
    pub build: fn(&Settings, &O) -> BuildResult,
    pub simulator: Option<&'static dyn crate::simulate::Simulator>,
}

impl<O> ProviderPlugin<O>
where
    O: DeserializeOwned + Default + Send + Sync + 'static,
{
    fn typed<'a>(&self, options: &'a Options) -> Result<&'a O, ConnectorError> {
        options
            .0
            .downcast_ref::<O>()
            .ok_or_else(|| ConnectorError::Rejected {
                message: format!("options of another provider given to {}", self.name),
            })
    }
}

impl<O> Plugin for ProviderPlugin<O>
where
    O: DeserializeOwned + Default + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn parse_options(
        &self,
        options: Option<toml_edit::Value>,
    ) -> Result<Options, toml_edit::de::Error> {
        let typed: O = match options {
            None => O::default(),
            Some(value) => O::deserialize(value.into_deserializer())?,
        };
        Ok(Options(Arc::new(typed)))
    }

    fn validate(&self, settings: &Settings, options: &Options) -> Vec<Problem> {
        match self.typed(options) {
            Ok(o) => (self.validate)(settings, o),
            Err(e) => vec![Problem::at(&["options"], e.to_string())],
        }
    }

    fn build(
        &self,
        settings: &Settings,
        options: &Options,
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        (self.build)(settings, self.typed(options)?)
    }

    fn simulator(&self) -> Option<&'static dyn crate::simulate::Simulator> {
        self.simulator
    }
}

/// A `validate` for providers with nothing to check beyond the daemon's checks.
pub fn no_checks<O>(_: &Settings, _: &O) -> Vec<Problem> {
    Vec::new()
}

impl fmt::Debug for dyn Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plugin({})", self.name())
    }
}
