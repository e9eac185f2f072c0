//! The connector contract (DESIGN.md §3): what the engine asks of every provider.

use crate::error::{ConnectorError, WebhookError};
use crate::model::{EntityKind, Record};
use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::SystemTime;

/// The name of one pollable stream of a provider, e.g. `candidates`.
pub type StreamId = str;

/// How a stream can be polled, which decides how deletions can be detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// The provider returns what changed since a token; a pass without a token is
    /// a full pass.
    Incremental,
    /// Every pass lists everything; records absent from a complete pass were deleted.
    FullOnly,
    /// The provider has no list endpoint (GoodHire): records become known from
    /// webhooks or an operator's import, and a pass re-reads, one by one through
    /// [`Connector::fetch`], every record of the stream's entity this connector
    /// holds whose canonical `status` is not one of `final_statuses`. It heals
    /// missed webhooks; it never detects deletions (nothing is listed).
    RefreshKnown {
        final_statuses: &'static [&'static str],
    },
}

/// One pollable stream of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    pub name: &'static str,
    /// The canonical entity its records map to; `None` for reference lists
    /// (stages, sources, users) that the connector keeps only to map other streams.
    pub entity: Option<EntityKind>,
    pub mode: SyncMode,
}

/// Opaque resume state of one stream, owned by the connector and stored by the
/// engine in `sync_state.cursor` in the same transaction as the page it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub Value);

/// One page of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub records: Vec<Record>,
    /// The state to resume from after this page is committed.
    pub cursor: Cursor,
    /// True when this page completes the pass; `cursor` then starts the next pass.
    pub complete: bool,
    /// True when the pass this page belongs to lists every record (no token), so a
    /// complete pass can detect deletions.
    pub full_pass: bool,
    /// Payloads on this page that could not be normalised, with the reason; the
    /// engine dead-letters them instead of failing the page.
    pub rejected: Vec<(Value, String)>,
    /// Objects of this page handed over unmapped (see [`Listed`]); the engine
    /// maps, through [`Connector::map_listed`], those it does not hold as they are.
    pub listed: Vec<Listed>,
}

impl Page {
    /// Maps `listed` (objects of this page's stream) through `connector` into
    /// this page's records, each with its fingerprint, and its rejected payloads.
    pub fn map_into(
        &mut self,
        connector: &dyn Connector,
        stream: &StreamId,
        listed: Vec<Listed>,
    ) -> Result<(), ConnectorError> {
        let objects: Vec<&[u8]> = listed.iter().map(Listed::bytes).collect();
        let mapped = connector.map_listed(stream, &objects);
        if mapped.len() != listed.len() {
            return Err(ConnectorError::retryable(format!(
                "stream {stream}: {} objects mapped of {} listed",
                mapped.len(),
                listed.len()
            )));
        }
        for (object, result) in listed.into_iter().zip(mapped) {
            match result {
                Ok(mut record) => {
                    record.meta_mut().fingerprint = Some(object.fingerprint);
                    self.records.push(record);
                }
                Err(rejected) => self.rejected.push(rejected),
            }
        }
        Ok(())
    }

    /// This page with every object it listed unmapped mapped: what the engine
    /// makes of it when it holds none of them.
    pub fn mapped(
        mut self,
        connector: &dyn Connector,
        stream: &StreamId,
    ) -> Result<Page, ConnectorError> {
        let listed = std::mem::take(&mut self.listed);
        self.map_into(connector, stream, listed)?;
        Ok(self)
    }
}

/// One object of a list answer, handed over as the provider's bytes: the engine
/// compares its fingerprint with the one stored with its record and maps it
/// (through [`Connector::map_listed`]) only when they differ, so an unchanged
/// object of a re-poll costs a hash instead of a parse, a mapping and two
/// canonical hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub remote_id: String,
    /// SHA-256 (hex) of the mapping context and the object's bytes.
    pub fingerprint: String,
    body: std::sync::Arc<Vec<u8>>,
    range: std::ops::Range<usize>,
}

impl Listed {
    /// The object at `range` of a list answer's `body` (shared by its objects).
    /// `context` is everything the mapping reads besides the bytes: the
    /// connector's mapping version and the reference data it resolves names from,
    /// so that a changed reference or a new mapping maps every object again.
    pub fn new(
        remote_id: String,
        context: &[u8],
        body: std::sync::Arc<Vec<u8>>,
        range: std::ops::Range<usize>,
    ) -> Listed {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update((context.len() as u64).to_be_bytes());
        hasher.update(context);
        hasher.update(&body[range.clone()]);
        Listed {
            remote_id,
            fingerprint: crate::model::hex_lower(&hasher.finalize()),
            body,
            range,
        }
    }

    /// The provider's bytes of the object.
    pub fn bytes(&self) -> &[u8] {
        &self.body[self.range.clone()]
    }
}

/// A reference to one remote object, used to fetch it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRef {
    pub kind: EntityKind,
    pub remote_id: String,
}

/// A webhook delivery the connector has authenticated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The provider's event name, e.g. `candidateStageChange`, `application.advanced`.
    pub event_type: Option<String>,
    /// The provider's delivery id, when it sends one; otherwise the inbox
    /// deduplicates by a hash of the body.
    pub delivery_id: Option<String>,
    /// When the provider says it sent the delivery.
    pub sent_at: Option<DateTime<Utc>>,
    /// A liveness check (`ping`, `test.ping`): acknowledged and recorded, not processed.
    pub is_ping: bool,
}

/// The first of `pointers` (JSON pointers, tried in order) that names a string
/// or number in `body`, as `pointer=value`: what most connectors' [`Connector::entity_key`]
/// is. `None` when the body is not JSON or names none of them.
pub fn entity_key_at(body: &[u8], pointers: &[&str]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    pointers.iter().find_map(|pointer| {
        let id = match value.pointer(pointer)? {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some(format!("{pointer}={id}"))
    })
}

/// What a verified delivery means for the unified schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// The full object after the change (boxed: records are large).
    Upsert(Box<Record>),
    /// A partial object, for events that carry only what changed (a status and
    /// its time, not the object's links): what it sets replaces the stored
    /// version's fields, what it leaves unset (`None`, empty lists) keeps them
    /// (see [`Record::merged_onto`]); with nothing stored it is written as is.
    Merge(Box<Record>),
    /// A thin notification: fetch the object to learn its state.
    Fetch(RemoteRef),
    /// The object was deleted at the provider.
    Deleted(RemoteRef),
    /// Two remote objects were merged; `survivor` keeps the history.
    Merged {
        kind: EntityKind,
        removed: String,
        survivor: String,
    },
    /// Kept for the record, with no canonical entity (e.g. a survey submission).
    Stored { event_type: String },
}

/// Everything the engine needs from one provider. Implementations are pure with
/// respect to hirebridge's state: they talk to the provider and map bytes, nothing else.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// Streams this provider can poll, each with its incremental strategy, in the
    /// order a pass should take them (reference lists first).
    fn streams(&self) -> &[StreamSpec];

    /// One page of one stream from a cursor (`None`: start a full pass).
    async fn poll(
        &self,
        stream: &StreamId,
        cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError>;

    /// Authenticates a webhook delivery on its raw body; no side effects.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError>;

    /// The entity a verified delivery changes, as a key unique within this
    /// connector (e.g. `/data/application/id=ap_1`), read cheaply from the body
    /// when the delivery is acknowledged. Deliveries with the same key are
    /// normalised in arrival order; different keys are shared between workers
    /// and daemons. `None` (the default) puts every such delivery of the
    /// connector in one ordered lane.
    fn entity_key(&self, _delivery: &Delivery, _body: &[u8]) -> Option<String> {
        None
    }

    /// Maps objects a poll handed over unmapped ([`Page::listed`]) of `stream`,
    /// one result per object in order: the record, or the payload that could
    /// not be normalised with the reason. Only connectors that list objects
    /// unmapped need it.
    fn map_listed(
        &self,
        stream: &StreamId,
        objects: &[&[u8]],
    ) -> Vec<Result<Record, (Value, String)>> {
        let reason = format!("stream {stream} hands over no unmapped objects");
        objects
            .iter()
            .map(|bytes| {
                let payload = serde_json::from_slice(bytes).unwrap_or(Value::Null);
                Err((payload, reason.clone()))
            })
            .collect()
    }

    /// Turns a verified delivery into canonical changes.
    fn parse(&self, delivery: &Delivery, body: &[u8]) -> Result<Vec<Inbound>, ConnectorError>;

    /// The cursor to restart a pass from after `ConnectorError::RestartPass` (the
    /// page cursor expired): by default the pass starts over as a full pass; an
    /// incremental provider keeps its saved token so the restart stays incremental.
    fn restart_pass(&self, _stream: &StreamId, _cursor: Option<&Cursor>) -> Option<Cursor> {
        None
    }

    /// Fetches one object by remote id (to hydrate thin webhooks); `None` if gone.
    async fn fetch(&self, remote: &RemoteRef) -> Result<Option<Record>, ConnectorError>;

    /// Whether a [`SyncMode::RefreshKnown`] stream re-reads the held record
    /// `remote_id` in a scheduled pass: when several such streams map to one
    /// entity (GoodHire's reports and subscriptions), each takes only its own.
    /// An operator's import reads every id it is given, whatever the stream.
    fn refreshes(&self, _stream: &StreamId, _remote_id: &str) -> bool {
        true
    }

    /// JSON field paths this connector's options add to the provider's
    /// `Capabilities::redact` (e.g. fields an operator did not opt in to keep);
    /// the daemon removes them wherever it removes those.
    fn redact(&self) -> Vec<String> {
        Vec::new()
    }

    /// Conditions that degrade this connector without failing it (a reference
    /// list it may not read, a missing scope), a line each, for `status`.
    fn degraded(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_keys_name_the_first_pointer_found_with_its_id() {
        let body = br#"{"data": {"id": 7, "candidate": {"id": "c_1"}, "job": {"id": ""}}}"#;
        assert_eq!(
            entity_key_at(body, &["/data/job/id", "/data/candidate/id", "/data/id"]).as_deref(),
            Some("/data/candidate/id=c_1"),
            "an empty id is no id"
        );
        assert_eq!(
            entity_key_at(body, &["/data/id"]).as_deref(),
            Some("/data/id=7")
        );
        assert_eq!(entity_key_at(body, &["/data/offer/id"]), None);
        assert_eq!(entity_key_at(b"not json", &["/data/id"]), None);
    }
}
