//! The cron scheduler: per connector (and optionally per stream) it waits for the
//! next fire time and runs a pass of each stream (reference lists first, then the
//! entity streams together, under the connector's one rate limiter);
//! a stream that failed with a wait or a transient error is retried before then.

use super::poller::{self, PassOptions};
use super::{ConnectorHandle, Engine};
use crate::store::sync_state;
use chrono::Utc;
use hirebridge_sdk::{Action, StreamSpec};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Runs every scheduled connector until `stop` turns true; a pass in progress
/// finishes its current page before the task ends.
pub async fn run(engine: Arc<Engine>, stop: watch::Receiver<bool>) {
    let mut tasks = JoinSet::new();
    for handle in &engine.connectors {
        let streams = handle.enabled_streams();
        // Passes a stopped daemon left unfinished resume now, not at the next tick.
        let interrupted = match sync_state::interrupted_streams(&engine.pool, &handle.id).await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!(connector = %handle.id, error = %e, "reading unfinished passes failed; they resume on schedule");
                Vec::new()
            }
        };
        let resume = |group: &[StreamSpec]| -> Vec<StreamSpec> {
            group
                .iter()
                .filter(|s| interrupted.iter().any(|n| n == s.name))
                .cloned()
                .collect()
        };
        // Streams with their own schedule run on it; the rest share the connector's.
        let (own, shared): (Vec<StreamSpec>, Vec<StreamSpec>) = streams
            .into_iter()
            .partition(|s| handle.stream_schedules.contains_key(s.name));
        if let Some(schedule) = handle.schedule.clone() {
            if !shared.is_empty() {
                tasks.spawn(schedule_loop(
                    engine.clone(),
                    handle.clone(),
                    schedule,
                    resume(&shared),
                    shared,
                    stop.clone(),
                ));
            }
        }
        for stream in own {
            if let Some(schedule) = handle.stream_schedules.get(stream.name).cloned() {
                let resumed = resume(std::slice::from_ref(&stream));
                tasks.spawn(schedule_loop(
                    engine.clone(),
                    handle.clone(),
                    schedule,
                    resumed,
                    vec![stream],
                    stop.clone(),
                ));
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// The first early retry after a transient failure, doubled per consecutive
/// failure up to [`MAX_BACKOFF`]; the schedule's next tick still comes first
/// when it is sooner.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How many times a start-up resume waits for a lease that may have lapsed.
const MAX_RESUME_TRIES: u32 = 5;

/// When to try a failed stream again before its schedule, from what the
/// engine does about its error ([`hirebridge_sdk::ConnectorError::action`]):
/// the provider's wait, or a backoff. Pauses, resyncs and refusals wait for the
/// schedule (a paused connector's passes are skipped until it resumes).
fn early_retry(action: Option<&Action>, failures: u32) -> Option<Duration> {
    match action? {
        Action::WaitThenRetry(wait) => Some(*wait),
        Action::Backoff => Some(
            FIRST_BACKOFF
                .saturating_mul(1 << failures.min(16))
                .min(MAX_BACKOFF),
        ),
        _ => None,
    }
}

async fn schedule_loop(
    engine: Arc<Engine>,
    handle: Arc<ConnectorHandle>,
    schedule: cron::Schedule,
    resume: Vec<StreamSpec>,
    streams: Vec<StreamSpec>,
    mut stop: watch::Receiver<bool>,
) {
    // Streams to run before the next tick (unfinished passes at start-up, then
    // those that failed with a retryable error): when, and how many times in a
    // row they failed.
    let mut retry: Option<Instant> = (!resume.is_empty()).then(Instant::now);
    let mut failed: Vec<StreamSpec> = resume;
    let mut failures: u32 = 0;
    // Start-up resumes that found the lease still held by a holder that may
    // have stopped are retried when its lease would lapse, a few times.
    let mut resume_tries: u32 = if failed.is_empty() {
        MAX_RESUME_TRIES
    } else {
        0
    };
    loop {
        let Some(next) = schedule.upcoming(Utc).next() else {
            tracing::warn!(connector = %handle.id, "schedule has no future fire time; polling stops");
            return;
        };
        let tick = Instant::now() + (next - Utc::now()).to_std().unwrap_or_default();
        let early = retry.is_some_and(|at| at < tick);
        let wake = if early { retry.unwrap_or(tick) } else { tick };
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let due = if early {
            std::mem::take(&mut failed)
        } else {
            failed.clear();
            streams.clone()
        };
        retry = None;
        let mut worst: Option<Duration> = None;
        if *stop.borrow() {
            return;
        }
        let options = PassOptions::default();
        let passes = poller::run_passes(&engine, &handle, &due, &options);
        let reports = tokio::select! {
            reports = passes => reports,
            // Dropping the passes mid-page rolls their open transactions back;
            // the next start resumes from the last committed page.
            _ = stop.wait_for(|s| *s) => return,
        };
        for (stream, report) in reports {
            let lapse = report
                .holder
                .as_ref()
                .filter(|_| early && resume_tries < MAX_RESUME_TRIES)
                .map(|h| Duration::from_secs(h.expires_in_secs.clamp(1, 10) as u64));
            if let Some(wait) = lapse {
                tracing::info!(connector = %handle.id, stream = stream.name, retry_in = ?wait, "unfinished pass is still leased; trying again when the lease lapses");
                failed.push(stream.clone());
                worst = Some(worst.map_or(wait, |w| w.max(wait)));
            } else if let Some(wait) = early_retry(report.action.as_ref(), failures) {
                tracing::info!(connector = %handle.id, stream = stream.name, retry_in = ?wait, "retrying the stream before its schedule");
                failed.push(stream.clone());
                worst = Some(worst.map_or(wait, |w| w.max(wait)));
            }
        }
        if early {
            resume_tries = resume_tries.saturating_add(1);
        }
        match worst {
            Some(wait) => {
                retry = Some(Instant::now() + wait);
                failures = failures.saturating_add(1);
            }
            None => failures = 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_early_only_for_waits_and_backoffs() {
        let wait = Duration::from_secs(42);
        assert_eq!(
            early_retry(Some(&Action::WaitThenRetry(wait)), 3),
            Some(wait)
        );
        assert_eq!(early_retry(Some(&Action::Backoff), 0), Some(FIRST_BACKOFF));
        assert_eq!(
            early_retry(Some(&Action::Backoff), 2),
            Some(FIRST_BACKOFF * 4)
        );
        assert_eq!(early_retry(Some(&Action::Backoff), 40), Some(MAX_BACKOFF));
        assert_eq!(early_retry(Some(&Action::PauseUntilOperator), 0), None);
        assert_eq!(early_retry(Some(&Action::PauseFor(None)), 0), None);
        assert_eq!(early_retry(None, 0), None);
    }
}
