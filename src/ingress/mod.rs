//! The webhook listener: `POST /webhooks/{connector_id}`. Each delivery is
//! verified by its connector on the raw body, redacted, committed to the inbox,
//! and only then acknowledged. When the database cannot take it within a short
//! budget (it is down, or slow), the delivery is appended to the durable local
//! spool instead and still acknowledged (see [`spool`]); only a full or
//! unwritable spool answers 503, at once, so the provider retries.

pub mod spool;

use crate::engine::ConnectorHandle;
use crate::store::health::DbHealth;
use crate::store::inbox::{self, OwnedDelivery};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// What the webhook handlers share.
#[derive(Clone)]
pub struct IngressState {
    inner: Arc<Inner>,
}

struct Inner {
    connectors: HashMap<String, Arc<ConnectorHandle>>,
    pool: OnceLock<PgPool>,
    /// Deliveries on their way into the inbox, group-committed by [`write_inbox`].
    writer: OnceLock<mpsc::Sender<Pending>>,
    max_body_bytes: usize,
    /// Where deliveries go when the database cannot take them in time.
    spool: Option<spool::Spool>,
    /// How long a delivery waits for the database before it is spooled.
    budget: Duration,
    health: DbHealth,
    /// Requests being received right now (see [`IngressState::in_flight`]).
    in_flight: Arc<AtomicUsize>,
}

/// Counts a request in [`Inner::in_flight`] until it is answered.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A verified delivery waiting for its commit, with whom to tell.
struct Pending {
    /// Shared with the request, which spools it if the commit does not come in time.
    delivery: Arc<OwnedDelivery>,
    stored: oneshot::Sender<Result<bool, String>>,
}

/// Most deliveries committed together.
const MAX_GROUP: usize = 512;
/// Groups committing at once: while they wait for their commits, the next
/// group gathers (a single writer would leave the cores idle between fsyncs).
/// Each group takes the unique key's locks in key order, so concurrent groups
/// never deadlock.
const GROUPS_IN_FLIGHT: usize = 4;

/// How often a connector's `last_heard_at` is written while its deliveries keep
/// coming (by each daemon).
const HEARD_EVERY: Duration = Duration::from_secs(1);

/// When this daemon last wrote each connector's `last_heard_at`. It is written
/// after a group's commit, outside it, at most every [`HEARD_EVERY`]: written in
/// every group's transaction, the one row serialised the concurrent commits
/// (each waited for the one before to reach the disk), and it was 60 % of the
/// database's time in `bench ingest`.
#[derive(Default)]
struct LastHeard(std::sync::Mutex<HashMap<String, std::time::Instant>>);

impl LastHeard {
    /// The connectors among `ids` whose time is due to be written; they count as
    /// written from now.
    fn due<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let now = std::time::Instant::now();
        let Ok(mut written) = self.0.lock() else {
            return Vec::new();
        };
        let mut due = Vec::new();
        for id in ids {
            let fresh = written
                .get(id)
                .is_some_and(|at| now.duration_since(*at) < HEARD_EVERY);
            if !fresh {
                written.insert(id.to_string(), now);
                due.push(id.to_string());
            }
        }
        due
    }
}

/// Commits the deliveries of concurrent requests together: one statement and
/// one commit for everything waiting, so acknowledgement throughput is not one
/// fsync per webhook. Each request is answered only after its commit.
async fn write_inbox(pool: PgPool, mut rx: mpsc::Receiver<Pending>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(GROUPS_IN_FLIGHT));
    let last_heard = Arc::new(LastHeard::default());
    loop {
        // A free slot first: while every slot commits, requests queue up and
        // the next group is larger.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        let last_heard = last_heard.clone();
        tokio::spawn(async move {
            let (deliveries, replies): (Vec<Arc<OwnedDelivery>>, Vec<_>) =
                group.into_iter().map(|p| (p.delivery, p.stored)).unzip();
            let stored = inbox::store_batch(&pool, &deliveries).await;
            match &stored {
                Ok(new) => {
                    for (reply, new) in replies.into_iter().zip(new) {
                        let _ = reply.send(Ok(*new));
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(message.clone()));
                    }
                }
            }
            drop(slot);
            if stored.is_ok() {
                let ids = deliveries.iter().map(|d| d.connector_id.as_str());
                for connector_id in last_heard.due(ids) {
                    if let Err(e) = inbox::heard_from(&pool, &connector_id).await {
                        tracing::warn!(connector = %connector_id, error = %e, "recording when the provider was last heard from failed");
                    }
                }
            }
        });
    }
}

impl IngressState {
    pub fn new(
        connectors: &[Arc<ConnectorHandle>],
        max_body_bytes: usize,
        spool: Option<spool::Spool>,
        budget: Duration,
        health: DbHealth,
    ) -> IngressState {
        IngressState {
            inner: Arc::new(Inner {
                connectors: connectors
                    .iter()
                    .map(|c| (c.id.clone(), c.clone()))
                    .collect(),
                pool: OnceLock::new(),
                writer: OnceLock::new(),
                max_body_bytes,
                spool,
                budget,
                health,
                in_flight: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    /// The spool, when one could be opened.
    /// How many webhook requests are being received and acknowledged right
    /// now: while there are any, the normaliser keeps to one worker, so the
    /// acknowledgement path keeps the rest of the CPU.
    pub fn in_flight(&self) -> Arc<AtomicUsize> {
        self.inner.in_flight.clone()
    }

    pub fn spool(&self) -> Option<&spool::Spool> {
        self.inner.spool.as_ref()
    }

    /// Until the database is open and migrated, deliveries are spooled (or
    /// refused with 503 when there is no spool).
    pub fn set_pool(&self, pool: PgPool) {
        let (tx, rx) = mpsc::channel(4 * MAX_GROUP);
        if self.inner.writer.set(tx).is_ok() {
            tokio::spawn(write_inbox(pool.clone(), rx));
        }
        let _ = self.inner.pool.set(pool);
    }
}

pub fn router(state: IngressState) -> Router {
    Router::new()
        .route("/webhooks/{connector_id}", post(receive))
        .with_state(state)
}

fn plain(status: StatusCode, text: &str) -> Response {
    (status, text.to_string()).into_response()
}

/// The headers worth keeping with a delivery (for debugging and replays);
/// nothing that could carry our own credentials.
fn kept_headers(headers: &HeaderMap) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        let name = name.as_str();
        if matches!(name, "authorization" | "cookie" | "proxy-authorization") {
            continue;
        }
        if let Ok(v) = value.to_str() {
            map.insert(name.to_string(), serde_json::Value::String(v.to_string()));
        }
    }
    serde_json::Value::Object(map)
}

async fn receive(
    State(state): State<IngressState>,
    Path(connector_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let inner = &state.inner;
    let _counted = InFlight::enter(&inner.in_flight);
    let Some(handle) = inner.connectors.get(&connector_id) else {
        metrics::counter!("hirebridge_webhooks_total", "connector" => "unknown", "outcome" => "not_found").increment(1);
        return plain(StatusCode::NOT_FOUND, "no such connector");
    };
    let label = connector_id.clone();
    // Refuse oversized bodies from the declared length, before reading any of it.
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > inner.max_body_bytes) {
        metrics::counter!("hirebridge_webhooks_total", "connector" => label, "outcome" => "too_large").increment(1);
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    }
    let bytes = match axum::body::to_bytes(body, inner.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            metrics::counter!("hirebridge_webhooks_total", "connector" => label, "outcome" => "too_large").increment(1);
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
        }
    };
    let delivery = match handle.connector.verify(&headers, &bytes, SystemTime::now()) {
        Ok(d) => d,
        Err(e) => {
            let reason = e.reason();
            metrics::counter!("hirebridge_webhook_rejections_total", "connector" => label.clone(), "reason" => reason)
                .increment(1);
            tracing::warn!(connector = %connector_id, reason, "webhook rejected");
            if let Some(pool) = inner.pool.get() {
                if let Err(e) = inbox::count_rejection(pool, &connector_id, reason).await {
                    tracing::debug!(error = %e, "counting a rejection failed");
                }
            }
            return plain(StatusCode::UNAUTHORIZED, "signature verification failed");
        }
    };
    let pool = inner.pool.get();
    if delivery.is_ping {
        if let Some(pool) = pool.filter(|_| inner.health.is_up()) {
            if let Err(e) = inbox::heard_from(pool, &connector_id).await {
                tracing::warn!(connector = %connector_id, error = %e, "recording a ping failed");
            }
        }
        metrics::counter!("hirebridge_webhooks_total", "connector" => label, "outcome" => "ping")
            .increment(1);
        return plain(StatusCode::OK, "pong");
    }
    // Verified first (the signature covers the raw body), then redacted: fields
    // the provider's plugin names never reach the inbox.
    let body = if handle.redact.is_empty() {
        bytes.to_vec()
    } else {
        hirebridge_sdk::redact::redact_body(&bytes, &handle.redact)
            .unwrap_or_else(|| hirebridge_sdk::redact::withheld_body(&bytes))
    };
    let dedup_key = match &delivery.delivery_id {
        Some(id) => format!("id:{id}"),
        None => format!(
            "sha256:{}",
            hirebridge_sdk::hex_lower(&Sha256::digest(&body))
        ),
    };
    let entity_key = handle.connector.entity_key(&delivery, &body);
    let owned = Arc::new(OwnedDelivery {
        connector_id: connector_id.clone(),
        dedup_key,
        event_type: delivery.event_type.clone(),
        headers: kept_headers(&headers),
        body,
        entity_key,
    });
    // While the spool holds deliveries, new ones follow them (arrival order);
    // while the database is known to be down, nobody waits for it.
    let writer = inner.writer.get();
    let spooling = inner.spool.as_ref().is_some_and(spool::Spool::is_active);
    let direct = match writer {
        Some(writer) if !spooling && pool.is_some() && inner.health.is_up() => {
            store_in_time(writer, Arc::clone(&owned), inner.budget).await
        }
        _ => Err("the database is not available".to_string()),
    };
    match direct {
        Ok(new) => {
            let outcome = if new { "accepted" } else { "duplicate" };
            metrics::counter!("hirebridge_webhooks_total", "connector" => label, "outcome" => outcome).increment(1);
            plain(StatusCode::OK, outcome)
        }
        Err(why) => {
            if !spooling && pool.is_some() && inner.health.is_up() {
                tracing::warn!(connector = %connector_id, error = %why, "the inbox did not take a webhook in time; spooling");
                inner.health.mark_down();
            }
            spool_or_refuse(inner, &owned, label).await
        }
    }
}

/// Commits a delivery through the group writer within `budget`. A delivery
/// whose commit outlives the budget may still land; the spool's copy then
/// meets it in the inbox's unique key and only one is kept.
async fn store_in_time(
    writer: &mpsc::Sender<Pending>,
    delivery: Arc<OwnedDelivery>,
    budget: Duration,
) -> Result<bool, String> {
    let (reply, stored) = oneshot::channel();
    let pending = Pending {
        delivery,
        stored: reply,
    };
    let attempt = async {
        writer
            .send(pending)
            .await
            .map_err(|_| "the inbox writer stopped".to_string())?;
        stored
            .await
            .unwrap_or_else(|_| Err("the inbox writer stopped".into()))
    };
    tokio::time::timeout(budget, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no commit within {budget:?}")))
}

/// Appends to the spool and acknowledges, or answers 503 at once when there is
/// no spool, or it is full or cannot be written.
async fn spool_or_refuse(inner: &Inner, delivery: &OwnedDelivery, label: String) -> Response {
    let Some(spool) = &inner.spool else {
        metrics::counter!("hirebridge_webhooks_total", "connector" => label, "outcome" => "unavailable").increment(1);
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage unavailable; retry later",
        );
    };
    match spool.append(delivery).await {
        Ok(()) => {
            metrics::counter!("hirebridge_webhooks_total", "connector" => label, "outcome" => "spooled").increment(1);
            plain(StatusCode::OK, "accepted (spooled)")
        }
        Err(e) => {
            tracing::error!(connector = %delivery.connector_id, error = %e, "the database and the spool both refused a webhook; answering 503");
            metrics::counter!("hirebridge_webhooks_total", "connector" => label, "outcome" => "unavailable").increment(1);
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable; retry later",
            )
        }
    }
}
