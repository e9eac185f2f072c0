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
///
/// It runs on the acknowledgement path, so it reads the body as it streams past
/// and keeps only the id: building the whole body as a `Value` cost as much as
/// verifying its signature. It answers what `Value::pointer` answers (a repeated key
/// counts by its last occurrence, as in a parsed object).
pub fn entity_key_at(body: &[u8], pointers: &[&str]) -> Option<String> {
    use serde::de::DeserializeSeed;
    pointers.iter().find_map(|pointer| {
        let tokens: Vec<String> = match pointer.strip_prefix('/') {
            Some(rest) => rest
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect(),
            None if pointer.is_empty() => Vec::new(),
            None => return None,
        };
        let mut json = serde_json::Deserializer::from_slice(body);
        let id = PointerSeed(&tokens).deserialize(&mut json).ok()?;
        json.end().ok()?;
        Some(format!("{pointer}={}", id?))
    })
}

/// Reads one JSON value and returns the non-empty string or the number at the
/// reference tokens it holds, skipping everything else without keeping it.
struct PointerSeed<'p>(&'p [String]);

impl<'de> serde::de::DeserializeSeed<'de> for PointerSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for PointerSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.0.is_empty() && !v.is_empty()).then(|| v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.0.is_empty().then(|| v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.0.is_empty().then(|| v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self
            .0
            .is_empty()
            .then(|| serde_json::Number::from_f64(v).map(|n| n.to_string()))
            .flatten())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(wanted) = map.next_key_seed(KeyIs(self.0.first()))? {
            if wanted {
                found = map.next_value_seed(PointerSeed(&self.0[1..]))?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // An array index as `Value::pointer` reads one: no sign, no leading zero.
        let wanted = self
            .0
            .first()
            .filter(|t| !t.starts_with('+') && (t.len() == 1 || !t.starts_with('0')))
            .and_then(|t| t.parse::<usize>().ok());
        let mut found = None;
        for i in 0.. {
            if wanted == Some(i) {
                match seq.next_element_seed(PointerSeed(&self.0[1..]))? {
                    Some(id) => found = id,
                    None => break,
                }
            } else if seq.next_element::<serde::de::IgnoredAny>()?.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

/// Whether an object's key is the reference token (read without keeping it).
struct KeyIs<'p>(Option<&'p String>);

impl<'de> serde::de::DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(self.0.is_some_and(|t| t == v))
    }
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

    /// What `entity_key_at` answered when it parsed the whole body first.
    fn by_value(body: &[u8], pointers: &[&str]) -> Option<String> {
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

    #[test]
    fn entity_keys_read_while_streaming_match_those_of_the_parsed_body() {
        let bodies: &[&[u8]] = &[
            br#"{"data": {"id": 7, "candidate": {"id": "c_1"}}}"#,
            br#"{"data": {"id": -7}}"#,
            br#"{"data": {"id": 7.5e3}}"#,
            br#"{"data": {"id": 1.0}}"#,
            br#"{"data": {"id": 18446744073709551615}}"#,
            br#"{"data": {"id": "x", "id": "y"}}"#,
            br#"{"data": {"id": "x"}, "data": {"other": 1}}"#,
            br#"{"data": {"id": ""}}"#,
            br#"{"data": {"id": null, "candidate": {"id": true}}}"#,
            br#"{"data": {"id": {"id": 3}}}"#,
            br#"{"data": [{"id": "a"}, {"id": "b"}]}"#,
            br#"{"data": {"a/b": {"m~n": "esc"}}}"#,
            br#"{"d\u0061ta": {"id": "escaped key"}}"#,
            br#"{"data": {"id": "tab\tand \u00e9"}}"#,
            br#"{"data": {"id": 7}} trailing"#,
            br#"{"data": {"id": 7}"#,
            br#"[1, 2, "three"]"#,
            br#""top""#,
            br#"42"#,
            b"",
        ];
        let pointers: &[&[&str]] = &[
            &["/data/id"],
            &["/data/candidate/id", "/data/id"],
            &["/data/0/id"],
            &["/data/1/id"],
            &["/data/01/id"],
            &["/data/+1/id"],
            &["/data/a~1b/m~0n"],
            &["/2"],
            &[""],
            &["data/id"],
            &["/data/id/id"],
        ];
        for body in bodies {
            for p in pointers {
                assert_eq!(
                    entity_key_at(body, p),
                    by_value(body, p),
                    "{} at {p:?}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
}
