//! Whether the database answers right now, probed in the background so that
//! `/readyz` and the webhook door know within a second, without each request
//! waiting for a connection that will not come.

use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the database is probed, and how long a probe may take.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The database's last known state. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct DbHealth {
    up: Arc<AtomicBool>,
}

impl DbHealth {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Someone saw the database fail (a write that missed its budget); the
    /// next successful probe says otherwise.
    pub fn mark_down(&self) {
        self.set(false);
    }

    fn set(&self, up: bool) {
        if self.up.swap(up, Ordering::AcqRel) != up {
            metrics::gauge!("hirebridge_database_ready").set(if up { 1.0 } else { 0.0 });
            if up {
                tracing::info!("database answers again");
            } else {
                tracing::warn!("database not answering");
            }
        }
    }

    /// Probes `pool` every [`PROBE_EVERY`] until `stop` turns true.
    pub async fn watch(self, pool: PgPool, mut stop: watch::Receiver<bool>) {
        loop {
            let probe =
                tokio::time::timeout(PROBE_TIMEOUT, sqlx::query("select 1").execute(&pool)).await;
            self.set(matches!(probe, Ok(Ok(_))));
            tokio::select! {
                _ = tokio::time::sleep(PROBE_EVERY) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}
