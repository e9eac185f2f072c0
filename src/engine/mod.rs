//! The provider-agnostic engine: the write path shared by polling and webhooks
//! (`writer`), cross-provider person linking it calls (`identity`), the canonical
//! events both emit (`events`), one poll pass of a stream (`poller`) and the cron
//! scheduler that runs passes (`scheduler`).

pub mod erasure;
pub mod events;
pub mod identity;
pub mod normalizer;
pub mod pause;
pub mod poller;
pub mod scheduler;
pub mod writer;

use crate::store::entities::SchemaColumns;
use crate::store::lease;
use hirebridge_sdk::{Connector, StreamSpec};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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
    /// Pages fetched ahead of their writers, shared by all the connector's
    /// streams (see [`poller::PAGES_AHEAD`]).
    pub pages_ahead: Arc<tokio::sync::Semaphore>,
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
    /// The backstop of a stream lease: how long it lasts without a committed
    /// page renewing it, even while this daemon heartbeats (a hung pass).
    pub lease_ttl: Duration,
    /// How long a normaliser's claim on an inbox batch lasts without being
    /// renewed; renewed every quarter of it while the batch is processed.
    pub batch_lease: Duration,
    pub connectors: Vec<Arc<ConnectorHandle>>,
    /// Ends the heartbeat that keeps this owner's leases (dropping the engine
    /// ends it too); see [`Engine::release_leases`].
    heartbeat_stop: watch::Sender<bool>,
    heartbeat: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Engine {
    pub async fn new(
        pool: PgPool,
        connectors: Vec<Arc<ConnectorHandle>>,
    ) -> Result<Engine, sqlx::Error> {
        let columns = SchemaColumns::load(&pool).await?;
        let owner = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        // Leases are held while the owner heartbeats (store/lease.rs).
        lease::register(&pool, &owner).await?;
        let (heartbeat_stop, stopped) = watch::channel(false);
        let heartbeat = tokio::spawn(lease::heartbeat(pool.clone(), owner.clone(), stopped));
        Ok(Engine {
            pool,
            columns,
            owner,
            lease_ttl: Duration::from_secs(120),
            batch_lease: normalizer::LEASE,
            connectors,
            heartbeat_stop,
            heartbeat: std::sync::Mutex::new(Some(heartbeat)),
        })
    }

    /// Stops heartbeating and releases every lease this engine holds, at once
    /// (a clean shutdown; call it after the workers stopped).
    pub async fn release_leases(&self) {
        let _ = self.heartbeat_stop.send(true);
        let task = self.heartbeat.lock().ok().and_then(|mut h| h.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    pub fn connector(&self, id: &str) -> Option<&Arc<ConnectorHandle>> {
        self.connectors.iter().find(|c| c.id == id)
    }
}

/// This machine's name, for lease owners and `hiring.daemons`.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "host".into())
}
