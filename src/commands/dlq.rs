//! `hirebridge dlq`: see and replay deliveries that could not be processed
//! (webhooks after their last retry, and polled payloads that did not map).

use super::{open_database, print_table};
use crate::config::Config;
use crate::store::inbox;
use anyhow::bail;

pub async fn list(config: Config, connector: Option<String>, as_json: bool) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let result = inbox::dead_letters(&db.pool, connector.as_deref()).await;
    let deliveries = crate::store::deliveries::dead(&db.pool).await;
    db.close().await;
    let dead = result?;
    let dead_deliveries = deliveries?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&dead)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = dead
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.connector_id.clone(),
                d.event_type.clone().unwrap_or_default(),
                d.attempts.to_string(),
                d.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                d.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["id", "connector", "event", "attempts", "received", "reason"],
        &rows,
    );
    println!("{} dead letter(s) in the inbox", dead.len());
    if !dead_deliveries.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = dead_deliveries
            .iter()
            .map(|(id, sink, event, attempts, error)| {
                vec![
                    id.to_string(),
                    sink.clone(),
                    event.clone(),
                    attempts.to_string(),
                    error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print_table(
            &["delivery", "sink", "event", "attempts", "last error"],
            &rows,
        );
        println!(
            "{} dead deliveries (hirebridge dlq retry --sink ID queues them again)",
            dead_deliveries.len()
        );
    }
    Ok(())
}

pub async fn show(config: Config, id: i64) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let result = inbox::body(&db.pool, id).await;
    db.close().await;
    let Some((d, body)) = result? else {
        bail!("no inbox entry {id}");
    };
    println!("id:        {}", d.id);
    println!("connector: {}", d.connector_id);
    println!("event:     {}", d.event_type.as_deref().unwrap_or("-"));
    println!("status:    {} after {} attempt(s)", d.status, d.attempts);
    println!("received:  {}", d.received_at);
    println!("reason:    {}", d.last_error.as_deref().unwrap_or("-"));
    println!("body:");
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Err(_) => println!("{}", String::from_utf8_lossy(&body)),
    }
    Ok(())
}

pub async fn retry(
    config: Config,
    ids: Vec<i64>,
    all: bool,
    sink: Option<String>,
) -> anyhow::Result<()> {
    if let Some(sink) = sink {
        let db = open_database(&config).await?;
        let retried = crate::store::deliveries::retry_dead(&db.pool, &sink).await;
        let enabled = crate::store::deliveries::enable_sink(&db.pool, &sink).await;
        db.close().await;
        println!("{} dead deliveries of {sink} queued again", retried?);
        if enabled? > 0 {
            println!("sink {sink} was disabled (410) and is enabled again");
        }
        return Ok(());
    }
    if ids.is_empty() && !all {
        bail!("name the entries to retry (hirebridge dlq retry ID...) or pass --all");
    }
    let db = open_database(&config).await?;
    let result = inbox::retry_dead(&db.pool, &ids).await;
    db.close().await;
    let n = result?;
    println!("{n} dead letter(s) queued again; a running daemon processes them next");
    Ok(())
}
