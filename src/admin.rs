//! The admin listener (loopback by default): `/healthz` (the process is alive),
//! `/readyz` (the database is reachable and migrated) and `/metrics` (Prometheus).

use crate::config::Config;
use crate::store;
use crate::store::health::DbHealth;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use sqlx::PgPool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What the admin endpoints look at. The pool is set once the database is open,
/// so `/healthz` answers during start-up while `/readyz` still says not ready.
#[derive(Clone)]
pub struct AdminState {
    pool: Arc<OnceLock<PgPool>>,
    /// The running config, for `/api/status` (what `hirebridge top` shows).
    config: Arc<OnceLock<Config>>,
    /// The webhook spool, whose depth `/api/status` reports from memory.
    spool: Arc<OnceLock<crate::ingress::spool::Spool>>,
    metrics: PrometheusHandle,
    health: DbHealth,
}

impl AdminState {
    pub fn new(metrics: PrometheusHandle, health: DbHealth) -> AdminState {
        AdminState {
            pool: Arc::new(OnceLock::new()),
            config: Arc::new(OnceLock::new()),
            spool: Arc::new(OnceLock::new()),
            metrics,
            health,
        }
    }

    /// The config `/api/status` reports on.
    pub fn set_config(&self, config: Config) {
        let _ = self.config.set(config);
    }

    /// The spool `/api/status` reports on.
    pub fn set_spool(&self, spool: crate::ingress::spool::Spool) {
        let _ = self.spool.set(spool);
    }

    /// Hands the open database to the readiness check.
    pub fn set_pool(&self, pool: PgPool) {
        let _ = self.pool.set(pool);
    }
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .route("/api/erase", axum::routing::post(erase))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AdminState>) -> Response {
    let Some(pool) = state.pool.get() else {
        return not_ready("database not open yet");
    };
    // The background probe knows within a second (store/health.rs).
    if !state.health.is_up() {
        return not_ready("database not reachable");
    }
    let check =
        tokio::time::timeout(Duration::from_millis(900), store::pending_migrations(pool)).await;
    match check {
        Ok(Ok(0)) => {
            metrics::gauge!("hirebridge_database_ready").set(1.0);
            Json(json!({"status": "ready"})).into_response()
        }
        Ok(Ok(n)) => not_ready(&format!("{n} migration(s) not applied")),
        Ok(Err(e)) => not_ready(&format!("database not reachable: {e}")),
        Err(_) => not_ready("database did not answer within 0.9 s"),
    }
}

/// What `hirebridge status --json` says, live: connectors, streams, inbox,
/// spool and sinks (`hirebridge top` polls it).
async fn status(State(state): State<AdminState>) -> Response {
    let (Some(pool), Some(config)) = (state.pool.get(), state.config.get()) else {
        return not_ready("database not open yet");
    };
    match tokio::time::timeout(
        Duration::from_secs(2),
        crate::commands::status_report_with(
            pool,
            config,
            state
                .spool
                .get()
                .map(crate::ingress::spool::Spool::stats)
                .unwrap_or_default(),
        ),
    )
    .await
    {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(e)) => not_ready(&format!("status failed: {e}")),
        Err(_) => not_ready("the database did not answer within 2 s"),
    }
}

/// `POST /api/erase` with `{"email": "..."}`: what `hirebridge erase` does.
async fn erase(State(state): State<AdminState>, Json(body): Json<serde_json::Value>) -> Response {
    let Some(pool) = state.pool.get() else {
        return not_ready("database not open yet");
    };
    let Some(email) = body["email"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "give {\"email\": \"...\"}"})),
        )
            .into_response();
    };
    match crate::engine::erasure::erase(pool, email, "admin-api").await {
        Ok(erasure) => Json(erasure).into_response(),
        Err(crate::engine::erasure::EraseError::NotAnEmail) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "not an email address"})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

fn not_ready(reason: &str) -> Response {
    metrics::gauge!("hirebridge_database_ready").set(0.0);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "not_ready", "reason": reason})),
    )
        .into_response()
}

async fn metrics(State(state): State<AdminState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
