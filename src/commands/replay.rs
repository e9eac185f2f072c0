//! `hirebridge replay`: re-send events to a sink with their original ids (the
//! running daemon delivers them, in order per entity).

use super::open_database_read_only;
use crate::config::Config;
use crate::store::deliveries;
use anyhow::bail;

/// Which events to replay.
#[derive(Debug, Clone)]
pub enum Selection {
    Event(String),
    Since {
        since: String,
        until: Option<String>,
    },
    Entity {
        entity_type: String,
        entity_id: String,
    },
}

pub async fn replay(config: Config, sink: String, selection: Selection) -> anyhow::Result<()> {
    if !config.sinks.iter().any(|s| s.id == sink) {
        bail!("no sink {sink:?} in {}", config.source_path.display());
    }
    let (where_sql, binds): (&str, Vec<String>) = match &selection {
        Selection::Event(id) => ("e.id = $2", vec![id.clone()]),
        Selection::Since { since, until } => match until {
            Some(until) => (
                "e.occurred_at >= $2::timestamptz and e.occurred_at < $3::timestamptz",
                vec![since.clone(), until.clone()],
            ),
            None => ("e.occurred_at >= $2::timestamptz", vec![since.clone()]),
        },
        Selection::Entity {
            entity_type,
            entity_id,
        } => (
            "e.entity_type = $2 and e.entity_id = $3::uuid",
            vec![entity_type.clone(), entity_id.clone()],
        ),
    };
    let db = open_database_read_only(&config).await?;
    let result = deliveries::replay(&db.pool, &sink, where_sql, &binds).await;
    db.close().await;
    let n = result?;
    if n == 0 {
        bail!("no events match; nothing to replay");
    }
    println!(
        "{n} event(s) queued for {sink} with their original ids; a running daemon delivers them"
    );
    Ok(())
}
