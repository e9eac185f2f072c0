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

/// After a batch that deleted something, the task waits this many times as
/// long as the batch took before the next one: a backlog (a first pass after
/// an upgrade, or after a retention was shortened) is deleted during at most a
/// quarter of the time, so the webhooks and polls it shares the database with
/// keep most of it. Deleting 3 million processed deliveries back to back cut
/// `bench ingest` from 12,000-14,700 to 8,000-8,200 acknowledgements a second
/// while it ran; paced, to 9,600-9,700 (README, ninth sitting).
pub const PAUSE_PER_BATCH_TIME: u32 = 3;

/// Runs `delete_batch` (which deletes up to a batch and returns how many it
/// deleted) until it deletes nothing, every so often, until `stop`, pausing
/// between batches ([`PAUSE_PER_BATCH_TIME`]). A failed batch is logged and the
/// pass tried again at the next turn: nothing is lost by deleting later.
pub async fn run<F, Fut>(retention: Retention, mut stop: watch::Receiver<bool>, mut delete_batch: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let every = (retention.keep / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        let mut deleted = 0u64;
        loop {
            let started = tokio::time::Instant::now();
            match delete_batch().await {
                Ok(0) => break,
                Ok(n) => deleted += n,
                Err(e) => {
                    tracing::warn!(error = %e, what = retention.what, "deleting failed; retried at the next pass");
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(started.elapsed() * PAUSE_PER_BATCH_TIME) => {}
                _ = stop.wait_for(|s| *s) => return,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test(start_paused = true)]
    async fn a_backlog_is_deleted_a_quarter_of_the_time_and_a_pass_ends_at_nothing_left() {
        // Three full batches of 100 ms each, then nothing: on tokio's paused
        // clock, which moves only when every task waits.
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, stop) = watch::channel(false);
        let recorded = calls.clone();
        let task = tokio::spawn(run(
            Retention {
                what: "test rows",
                keep: Duration::from_secs(3600),
                passes_metric: "test_passes",
                deleted_metric: "test_deleted",
            },
            stop,
            move || {
                let recorded = recorded.clone();
                async move {
                    let n = {
                        let mut calls = recorded.lock().unwrap();
                        calls.push(tokio::time::Instant::now());
                        calls.len()
                    };
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(if n <= 3 { 10_000 } else { 0 })
                }
            },
        ));
        // The next pass is a minute later (a quarter of the hour kept, at most 1 min).
        tokio::time::sleep(Duration::from_secs(59)).await;
        let first_pass: Vec<_> = calls.lock().unwrap().clone();
        assert_eq!(first_pass.len(), 4, "three full batches and the empty one");
        for pair in first_pass.windows(2) {
            assert_eq!(
                pair[1] - pair[0],
                Duration::from_millis(400),
                "100 ms batch + 300 ms pause"
            );
        }
        // The first pass ended at 1.3 s.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            calls.lock().unwrap().len(),
            5,
            "the next pass, a minute after the first ended"
        );
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
