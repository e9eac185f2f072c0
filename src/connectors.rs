//! The connector registry: turns `[[connectors]]` sections into running
//! connectors of the provider crates, the one place that knows which providers
//! are implemented.

use crate::config::{ConnectorConfig, RateLimitConfig, ServerConfig};
use crate::engine::ConnectorHandle;
use hirebridge_sdk::http::{HttpConfig, RateLimit};
use hirebridge_sdk::{Connector, ConnectorError, Provider};
use secrecy::SecretString;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("connector {id}: provider {provider} is not implemented in this build yet")]
    NotImplemented { id: String, provider: Provider },
    #[error("connector {id}: {source}")]
    Build {
        id: String,
        #[source]
        source: ConnectorError,
    },
    #[error("connector {id}: unknown stream {stream:?} in [connectors.streams] (known: {known})")]
    UnknownStream {
        id: String,
        stream: String,
        known: String,
    },
}

fn http_config(rate_limit: Option<&RateLimitConfig>, default: Option<RateLimit>) -> HttpConfig {
    HttpConfig {
        rate_limit: rate_limit
            .map(|r| RateLimit {
                requests: r.requests,
                per: r.per,
                burst: r.burst.unwrap_or(1),
            })
            .or(default),
        ..HttpConfig::default()
    }
}

/// Builds the connector of one config section.
pub fn build(
    config: &ConnectorConfig,
    server: &ServerConfig,
) -> Result<Arc<ConnectorHandle>, RegistryError> {
    let connector: Arc<dyn Connector> = match config.provider {
        Provider::Ashby => {
            let mut ashby = hirebridge_ashby::AshbyConfig::new(
                config
                    .credentials
                    .api_key
                    .as_ref()
                    .map(|k| k.expose())
                    .unwrap_or_default(),
            );
            if let Some(url) = &config.base_url {
                ashby.base_url = url.as_str().trim_end_matches('/').to_string();
            }
            // Ashby publishes no general per-key limit; 429s are honoured as they come.
            ashby.http = http_config(config.rate_limit.as_ref(), None);
            ashby.page_sizes = config
                .streams
                .iter()
                .filter_map(|(name, s)| s.page_size.map(|p| (name.clone(), p)))
                .collect();
            ashby.stage_map = config.stage_map.clone();
            ashby.webhook_secrets = config
                .webhook_secrets
                .iter()
                .map(|s| SecretString::from(s.expose().to_string()))
                .collect();
            let c = hirebridge_ashby::AshbyConnector::new(ashby).map_err(|source| {
                RegistryError::Build {
                    id: config.id.clone(),
                    source,
                }
            })?;
            Arc::new(c)
        }
        Provider::Kit => Arc::new(hirebridge_kit::KitConnector::new(
            hirebridge_kit::KitConfig {
                webhook_secrets: config
                    .webhook_secrets
                    .iter()
                    .map(|s| SecretString::from(s.expose().to_string()))
                    .collect(),
                tolerance: server.webhook_tolerance,
                stage_map: config.stage_map.clone(),
            },
        )),
        provider => {
            return Err(RegistryError::NotImplemented {
                id: config.id.clone(),
                provider,
            })
        }
    };
    let known: Vec<&str> = connector.streams().iter().map(|s| s.name).collect();
    for name in config.streams.keys() {
        if !known.contains(&name.as_str()) {
            return Err(RegistryError::UnknownStream {
                id: config.id.clone(),
                stream: name.clone(),
                known: known.join(", "),
            });
        }
    }
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
        provider: config.provider,
        connector,
        schedule: Some(config.schedule.schedule.clone()),
        stream_schedules,
        disabled_streams,
    }))
}

/// Builds every enabled connector. Ones that cannot be built are returned as
/// errors next to the rest, so one unimplemented provider does not stop the others.
pub fn build_all(
    configs: &[ConnectorConfig],
    server: &ServerConfig,
) -> (Vec<Arc<ConnectorHandle>>, Vec<RegistryError>) {
    let mut handles = Vec::new();
    let mut errors = Vec::new();
    for config in configs.iter().filter(|c| c.enabled) {
        match build(config, server) {
            Ok(h) => handles.push(h),
            Err(e) => errors.push(e),
        }
    }
    (handles, errors)
}
