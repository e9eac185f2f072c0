//! `hirebridge simulate`: runs a provider simulator alone, for trying the daemon
//! (or anything else) against a provider without an account.

use anyhow::Context;
use hirebridge_ashby::sim::{SimConfig, Simulator};
use std::net::SocketAddr;

/// Serves the Ashby simulator on `listen` until Ctrl-C.
pub async fn ashby(
    listen: SocketAddr,
    seed: u64,
    records: usize,
    api_key: String,
) -> anyhow::Result<()> {
    let sim = Simulator::new(SimConfig {
        api_key: api_key.clone(),
        seed,
        records,
        ..SimConfig::default()
    });
    let server = sim
        .serve(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!(
        "Ashby simulator on {} (seed {seed}, {records} records)",
        server.base_url()
    );
    println!("API key: {api_key}  (Basic auth, key as username)");
    for (object, n) in sim.counts() {
        println!("  {object:<20} {n}");
    }
    println!("Ctrl-C stops it.");
    crate::app::shutdown_signal().await;
    server.shutdown().await;
    Ok(())
}
