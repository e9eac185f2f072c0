//! Retention: one task shape for everything the database keeps only for a
//! while (expired events, processed webhook deliveries): every so often it
//! deletes what has outlived its time, in batches, and counts what it did.

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// What one retention task deletes, and the metrics it counts it in.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// What is deleted, for the log ("expired events").
    pub what: &'static str,
    /// How long things are kept; passes run every quarter of it, between 1 s and 1 min.
    pub keep: Duration,
    /// Counter of completed passes.
    pub passes_metric: &'static str,
    /// Counter of deleted rows.
    pub deleted_metric: &'static str,
}

/// Runs `delete_batch` (which deletes up to a batch and returns how many it
/// deleted) until it deletes nothing, every so often, until `stop`. A failed
/// batch is logged and the pass tried again at the next turn: nothing is lost
/// by deleting later.
pub async fn run<F, Fut>(retention: Retention, mut stop: watch::Receiver<bool>, mut delete_batch: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let every = (retention.keep / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        let mut deleted = 0u64;
        loop {
            match delete_batch().await {
                Ok(0) => break,
                Ok(n) => deleted += n,
                Err(e) => {
                    tracing::warn!(error = %e, what = retention.what, "deleting failed; retried at the next pass");
                    break;
                }
            }
            if *stop.borrow() {
                return;
            }
        }
        metrics::counter!(retention.passes_metric).increment(1);
        if deleted > 0 {
            metrics::counter!(retention.deleted_metric).increment(deleted);
            tracing::info!(deleted, what = retention.what, "retention: deleted");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
