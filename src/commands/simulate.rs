//! `hirebridge simulate <provider>`: runs a provider's simulator alone, for
//! trying the daemon (or anything else) against a provider without an account.

use crate::connectors;
use anyhow::Context;
use hirebridge_sdk::simulate::SimSpec;
use std::net::SocketAddr;

/// Serves `provider`'s simulator on `listen` until Ctrl-C.
pub async fn run(
    provider: &str,
    listen: SocketAddr,
    seed: u64,
    records: usize,
    api_key: String,
    latency: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let plugin = connectors::plugin(provider).with_context(|| {
        format!(
            "no provider {provider:?} (known: {})",
            connectors::names().join(", ")
        )
    })?;
    let simulator = plugin
        .simulator()
        .with_context(|| format!("provider {provider} has no simulator in this build"))?;
    let sim = simulator
        .start(SimSpec {
            listen,
            seed,
            records,
            api_key: api_key.clone(),
        })
        .await
        .with_context(|| format!("listening on {listen}"))?;
    if let Some(latency) = latency {
        sim.set_latency(latency);
    }
    match sim.base_url() {
        Some(url) => println!("{provider} simulator on {url} (seed {seed}, {records} records)"),
        None => println!("{provider} simulator (webhooks only; seed {seed})"),
    }
    println!("API key: {api_key}");
    for line in sim.describe() {
        println!("  {line}");
    }
    println!("Ctrl-C stops it.");
    crate::app::shutdown_signal().await;
    sim.shutdown().await;
    // What its rate limits saw (`bench sync` reads this line).
    let (requests, refused) = hirebridge_sdk::sim::rate_totals();
    println!("rate-limited requests: {requests} counted, {refused} refused with 429");
    Ok(())
}
