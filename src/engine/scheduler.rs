//! The cron scheduler: per connector (and optionally per stream) it waits for the
//! next fire time and runs a pass of each stream, one pass per stream at a time.

use super::poller::{self, PassOptions};
use super::{ConnectorHandle, Engine};
use chrono::Utc;
use hirebridge_sdk::StreamSpec;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Runs every scheduled connector until `stop` turns true; a pass in progress
/// finishes its current page before the task ends.
pub async fn run(engine: Arc<Engine>, stop: watch::Receiver<bool>) {
    let mut tasks = JoinSet::new();
    for handle in &engine.connectors {
        let streams = handle.enabled_streams();
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
                    shared,
                    stop.clone(),
                ));
            }
        }
        for stream in own {
            if let Some(schedule) = handle.stream_schedules.get(stream.name).cloned() {
                tasks.spawn(schedule_loop(
                    engine.clone(),
                    handle.clone(),
                    schedule,
                    vec![stream],
                    stop.clone(),
                ));
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn schedule_loop(
    engine: Arc<Engine>,
    handle: Arc<ConnectorHandle>,
    schedule: cron::Schedule,
    streams: Vec<StreamSpec>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let Some(next) = schedule.upcoming(Utc).next() else {
            tracing::warn!(connector = %handle.id, "schedule has no future fire time; polling stops");
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        for stream in &streams {
            if *stop.borrow() {
                return;
            }
            let options = PassOptions::default();
            let pass = poller::run_pass(&engine, &handle, stream, &options);
            tokio::select! {
                _ = pass => {}
                // Dropping the pass mid-page rolls its open transaction back; the
                // next start resumes from the last committed page.
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}
