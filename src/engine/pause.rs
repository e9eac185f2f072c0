//! What an error means for a whole connector: a refused key pauses it until an
//! operator acts (resumes it, or changes its config); a spent quota pauses it
//! for its window. The decision is [`ConnectorError::action`]; this module
//! carries it out and answers "may this connector call its provider now?".

use super::{ConnectorHandle, Engine};
use crate::store::connector_state;
use hirebridge_sdk::{Action, ConnectorError};

/// Whether the connector may call its provider now. A pause whose config has
/// since changed is lifted here, so fixing the key in the config is enough.
pub async fn may_call(engine: &Engine, handle: &ConnectorHandle) -> Result<(), String> {
    let pause = match connector_state::pause_of(&engine.pool, &handle.id).await {
        Ok(p) => p,
        Err(e) => {
            // Unknown: calling is what the daemon did before pauses existed.
            tracing::warn!(connector = %handle.id, error = %e, "reading the connector's pause failed");
            return Ok(());
        }
    };
    let Some(pause) = pause else {
        return Ok(());
    };
    if pause.until.is_none() && pause.config.as_deref() != Some(handle.fingerprint.as_str()) {
        tracing::info!(connector = %handle.id, "config changed since the connector was paused; resuming");
        if let Err(e) = connector_state::resume(&engine.pool, &handle.id).await {
            tracing::warn!(connector = %handle.id, error = %e, "lifting the pause failed");
        }
        return Ok(());
    }
    Err(match pause.until {
        None => format!(
            "paused until an operator acts ({}); fix the config or run `hirebridge resume {}`",
            pause.reason, handle.id
        ),
        Some(until) => format!("paused until {until} ({})", pause.reason),
    })
}

/// Records what `error` demands of the whole connector, if anything.
pub async fn after_error(engine: &Engine, handle: &ConnectorHandle, error: &ConnectorError) {
    let until = match error.action() {
        Action::PauseUntilOperator => None,
        // A quota with no stated window waits for an operator.
        Action::PauseFor(window) => window
            .and_then(|w| chrono::Duration::from_std(w).ok())
            .map(|w| chrono::Utc::now() + w),
        _ => return,
    };
    let reason = error.to_string();
    let until_text = until
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "an operator resumes it or its config changes".into());
    tracing::warn!(connector = %handle.id, reason = %reason, until = %until_text, "connector paused");
    if let Err(e) = connector_state::pause(
        &engine.pool,
        &handle.id,
        until,
        &reason,
        &handle.fingerprint,
    )
    .await
    {
        tracing::warn!(connector = %handle.id, error = %e, "recording the pause failed");
    }
}

/// Keeps `status`'s note of what works only partly in step with the connector.
pub async fn record_degraded(engine: &Engine, handle: &ConnectorHandle) {
    let notes = handle.connector.degraded();
    if let Err(e) = connector_state::set_degraded(&engine.pool, &handle.id, &notes).await {
        tracing::warn!(connector = %handle.id, error = %e, "recording degraded notes failed");
    }
}
