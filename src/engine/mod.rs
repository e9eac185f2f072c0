//! The provider-agnostic engine: the write path shared by polling and webhooks
//! (`writer`), cross-provider person linking it calls (`identity`), the canonical
//! events both emit (`events`), one poll pass of a stream (`poller`) and the cron
//! scheduler that runs passes (`scheduler`).

pub mod events;
pub mod identity;
pub mod normalizer;
pub mod pause;
pub mod poller;
pub mod scheduler;
pub mod writer;

use crate::store::entities::SchemaColumns;
use hirebridge_sdk::{Connector, StreamSpec};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// One configured connector as the engine drives it.
pub struct ConnectorHandle {
    pub id: String,
    /// The provider's name (its plugin's).
    pub provider: &'static str,
    /// JSON field paths that must never be stored: the provider's redaction
    /// hook plus the connector's own `redact` list.
    pub redact: Vec<String>,
    pub connector: Arc<dyn Connector>,
    /// When to poll every stream (cron), unless a stream has its own.
    pub schedule: Option<cron::Schedule>,
    pub stream_schedules: HashMap<String, cron::Schedule>,
    /// Streams switched off in the config.
    pub disabled_streams: HashSet<String>,
    /// A hash of the settings the connector was built from: a pause for refused
    /// credentials lifts when it changes.
    pub fingerprint: String,
}

impl ConnectorHandle {
    /// The streams to poll, in the connector's order (reference lists first).
    pub fn enabled_streams(&self) -> Vec<StreamSpec> {
        self.connector
            .streams()
            .iter()
            .filter(|s| !self.disabled_streams.contains(s.name))
            .cloned()
            .collect()
    }
}

/// Shared state of the engine: the database, the connectors, and who we are when
/// taking leases.
pub struct Engine {
    pub pool: PgPool,
    pub columns: SchemaColumns,
    /// This process's lease owner name: unique per daemon instance.
    pub owner: String,
    /// How long a stream lease lasts without a committed page renewing it.
    pub lease_ttl: Duration,
    pub connectors: Vec<Arc<ConnectorHandle>>,
}

impl Engine {
    pub async fn new(
        pool: PgPool,
        connectors: Vec<Arc<ConnectorHandle>>,
    ) -> Result<Engine, sqlx::Error> {
        let columns = SchemaColumns::load(&pool).await?;
        Ok(Engine {
            pool,
            columns,
            owner: format!(
                "{}:{}:{}",
                hostname(),
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
            lease_ttl: Duration::from_secs(120),
            connectors,
        })
    }

    pub fn connector(&self, id: &str) -> Option<&Arc<ConnectorHandle>> {
        self.connectors.iter().find(|c| c.id == id)
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "host".into())
}
