//! The provider list: the one place in the daemon that names providers. Every
//! other part of the daemon (config checks, the engine, `simulate`, `demo`,
//! `bench`) walks this list through the [`Plugin`] contract.

use crate::config::ConnectorConfig;
use crate::engine::ConnectorHandle;
use hirebridge_sdk::{ConnectorError, Plugin};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Every provider this build speaks to. Adding a provider is one line here.
pub static PLUGINS: &[&'static dyn Plugin] = &[
    &hirebridge_ashby::PLUGIN,
    &hirebridge_kit::PLUGIN,
    &hirebridge_goodfit::PLUGIN,
    &hirebridge_itmanagerjobs::PLUGIN,
    &hirebridge_goodhire::PLUGIN,
];

/// The providers `bench` uses unless told otherwise: the largest polling API,
/// and the lightest webhook payload.
pub const BENCH_POLLING: &str = "ashby";
pub const BENCH_WEBHOOKS: &str = "kit";

/// The plugin named `name`.
pub fn plugin(name: &str) -> Option<&'static dyn Plugin> {
    PLUGINS.iter().copied().find(|p| p.name() == name)
}

/// The names of every provider, for messages.
pub fn names() -> Vec<&'static str> {
    PLUGINS.iter().map(|p| p.name()).collect()
}

#[derive(Debug, thiserror::Error)]
#[error("connector {id}: {source}")]
pub struct BuildError {
    pub id: String,
    #[source]
    pub source: ConnectorError,
}

/// Builds the connector of one config section through its provider's plugin.
pub fn build(config: &ConnectorConfig) -> Result<Arc<ConnectorHandle>, BuildError> {
    let connector = config
        .plugin
        .build(&config.settings, &config.options)
        .map_err(|source| BuildError {
            id: config.id.clone(),
            source,
        })?;
    let stream_schedules: HashMap<String, cron::Schedule> = config
        .streams
        .iter()
        .filter_map(|(name, s)| {
            s.schedule
                .as_ref()
                .map(|c| (name.clone(), c.schedule.clone()))
        })
        .collect();
    let disabled_streams: HashSet<String> = config
        .streams
        .iter()
        .filter(|(_, s)| !s.enabled)
        .map(|(name, _)| name.clone())
        .collect();
    Ok(Arc::new(ConnectorHandle {
        id: config.id.clone(),
        provider: config.provider(),
        redact: config
            .plugin
            .capabilities()
            .redact
            .iter()
            .map(|p| p.to_string())
            .chain(connector.redact())
            .chain(config.settings.redact.iter().cloned())
            .collect(),
        connector,
        schedule: Some(config.schedule.schedule.clone()),
        stream_schedules,
        disabled_streams,
        fingerprint: fingerprint(config),
        pages_ahead: Arc::new(tokio::sync::Semaphore::new(
            crate::engine::poller::PAGES_AHEAD,
        )),
    }))
}

/// A hash of what decides whether the provider accepts us: base URL and
/// credentials. Never shown; only compared.
fn fingerprint(config: &ConnectorConfig) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let s = &config.settings;
    h.update(s.base_url.as_deref().unwrap_or_default());
    h.update([0]);
    h.update(s.api_key.as_ref().map(|k| k.expose()).unwrap_or_default());
    for secret in &s.webhook_secrets {
        h.update([0]);
        h.update(secret.expose());
    }
    hirebridge_sdk::hex_lower(&h.finalize())
}

/// Builds every enabled connector. Ones that cannot be built are returned as
/// errors next to the rest, so one bad connector does not stop the others.
pub fn build_all(configs: &[ConnectorConfig]) -> (Vec<Arc<ConnectorHandle>>, Vec<BuildError>) {
    let mut handles = Vec::new();
    let mut errors = Vec::new();
    for config in configs.iter().filter(|c| c.enabled) {
        match build(config) {
            Ok(h) => handles.push(h),
            Err(e) => errors.push(e),
        }
    }
    (handles, errors)
}
