//! The Goodfit [`Connector`]: its streams, the cursor that pages through a pass
//! and then resumes from the newest update seen, the pipeline cache used to
//! name and categorise stages, and webhook verification and parsing.
//!
//! Cursor protocol: the stream's cursor is the SDK's [`CursorPaging`]. A pass
//! without a watermark (`since`) lists everything (a full pass, which lets the
//! engine detect deletions); its last page sets `since` to the newest
//! `updated_at` seen minus the configured overlap, and later passes ask only
//! for records updated since then (incremental).

use crate::client::{GoodfitClient, API_KEY_HEADER};
use crate::map::{self, References};
use crate::options::{GoodfitOptions, MAX_OVERLAP_SECS};
use crate::webhook;
use hirebridge_sdk::http::{HttpClient, HttpConfig};
use hirebridge_sdk::paginate::CursorPaging;
use hirebridge_sdk::signature::{SignatureScheme, SigningKeys};
use hirebridge_sdk::{
    Auth, Connector, ConnectorError, Cursor, Delivery, EntityKind, Inbound, Page, Record,
    RemoteRef, Settings, StreamId, StreamSpec, SyncMode, WebhookError,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::SystemTime;

/// The page size asked for when the operator set none. Goodfit documents no
/// maximum; 100 keeps a page well inside a request timeout.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

const fn stream(name: &'static str, entity: Option<EntityKind>, mode: SyncMode) -> StreamSpec {
    StreamSpec { name, entity, mode }
}

/// The pipeline first (a reference list that names and categorises stages),
/// then the entities.
pub const STREAMS: &[StreamSpec] = &[
    stream("job_pipeline", None, SyncMode::FullOnly),
    stream("jobs", Some(EntityKind::Job), SyncMode::Incremental),
    stream(
        "candidates",
        Some(EntityKind::Candidate),
        SyncMode::Incremental,
    ),
    stream(
        "applications",
        Some(EntityKind::Application),
        SyncMode::Incremental,
    ),
];

/// The list endpoint behind each stream (relative to the `/v1` base URL).
fn list_path(stream: &str) -> Option<&'static str> {
    Some(match stream {
        "job_pipeline" => "/jobs/pipeline",
        "jobs" => "/jobs",
        "candidates" => "/candidates",
        "applications" => "/applications",
        _ => return None,
    })
}

pub struct GoodfitConnector {
    client: GoodfitClient,
    scheme: SignatureScheme,
    keys: SigningKeys,
    page_sizes: BTreeMap<String, u32>,
    overlap: chrono::Duration,
    refs: RwLock<References>,
    /// Whether the pipeline was read (or found unreadable) in this process.
    pipeline_loaded: tokio::sync::Mutex<bool>,
    /// Why mapping is degraded, when the pipeline cannot be read.
    degraded: RwLock<Option<String>>,
}

impl std::fmt::Debug for GoodfitConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoodfitConnector")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl GoodfitConnector {
    /// A connector as the daemon builds it: Goodfit's documented rate limit
    /// unless the operator set one.
    pub fn from_settings(
        settings: &Settings,
        options: &GoodfitOptions,
    ) -> Result<GoodfitConnector, ConnectorError> {
        let http = HttpConfig::for_provider(
            Auth::None,
            crate::plugin::PLUGIN.capabilities.rate_limit,
            crate::plugin::PLUGIN.capabilities.family_limits,
            settings.rate_limit,
        );
        GoodfitConnector::new(settings, options, http)
    }

    /// A connector with an explicit HTTP config (tests shorten its backoff);
    /// the `x-api-key` auth is always set from `settings`.
    pub fn new(
        settings: &Settings,
        options: &GoodfitOptions,
        mut http: HttpConfig,
    ) -> Result<GoodfitConnector, ConnectorError> {
        http.auth = Auth::Header {
            name: API_KEY_HEADER,
            key: settings.api_key(),
        };
        let base_url = settings.base_url_or(crate::client::DEFAULT_BASE_URL);
        let client = GoodfitClient::new(HttpClient::new(http)?, &base_url, options.paging.clone());
        let scheme = match &options.signature {
            Some(custom) => custom.clone(),
            None => {
                let mut s = crate::plugin::signature_scheme();
                s.tolerance_secs = settings.webhook_tolerance.as_secs();
                s
            }
        };
        Ok(GoodfitConnector {
            client,
            keys: settings.signing_keys(&scheme),
            scheme,
            page_sizes: settings.page_sizes.clone(),
            overlap: chrono::Duration::seconds(
                i64::try_from(options.overlap_secs.min(MAX_OVERLAP_SECS)).unwrap_or(0),
            ),
            refs: RwLock::new(References {
                stage_map: settings.stage_map.clone(),
                ..References::default()
            }),
            pipeline_loaded: tokio::sync::Mutex::new(false),
            degraded: RwLock::new(None),
        })
    }

    pub fn client(&self) -> &GoodfitClient {
        &self.client
    }

    /// The signature scheme deliveries are verified with.
    pub fn scheme(&self) -> &SignatureScheme {
        &self.scheme
    }

    fn page_size(&self, stream: &str) -> u32 {
        self.page_sizes
            .get(stream)
            .copied()
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .max(1)
    }

    fn refs(&self) -> References {
        match self.refs.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn cache_pipeline(&self, stages: &[Value]) {
        match self.refs.write() {
            Ok(mut r) => r.cache_pipeline(stages),
            Err(poisoned) => poisoned.into_inner().cache_pipeline(stages),
        }
    }

    fn set_degraded(&self, note: Option<String>) {
        match self.degraded.write() {
            Ok(mut d) => *d = note,
            Err(poisoned) => *poisoned.into_inner() = note,
        }
    }

    /// Reads the pipeline once per process before applications are mapped, so
    /// stage names and types resolve even when `job_pipeline` has not run yet.
    /// A pipeline Goodfit refuses (e.g. a key without access) degrades stage
    /// categories to title guesses instead of failing applications; transient
    /// errors still fail, so they are retried.
    async fn ensure_pipeline(&self) -> Result<(), ConnectorError> {
        let mut loaded = self.pipeline_loaded.lock().await;
        if *loaded {
            return Ok(());
        }
        match self.read_pipeline().await {
            Ok(()) => {}
            Err(e) if degrades(&e) => self.note_refused_pipeline(&e),
            Err(e) => return Err(e),
        }
        *loaded = true;
        Ok(())
    }

    fn note_refused_pipeline(&self, e: &ConnectorError) {
        tracing::warn!(error = %e, "Goodfit refused the pipeline; stage categories fall back to titles");
        self.set_degraded(Some(format!(
            "GET /v1/jobs/pipeline refused ({}): stage categories guessed from titles",
            e.kind()
        )));
    }

    async fn read_pipeline(&self) -> Result<(), ConnectorError> {
        let stages = self
            .client
            .list_all("/jobs/pipeline", self.page_size("job_pipeline"))
            .await?;
        self.cache_pipeline(&stages);
        self.set_degraded(None);
        Ok(())
    }

    /// One page of an entity stream (see the module docs for the cursor).
    async fn poll_entities(
        &self,
        stream: &str,
        path: &str,
        cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        let state = paging_state(cursor);
        let names = self.client.paging();
        let mut query = vec![(names.limit.clone(), self.page_size(stream).to_string())];
        if let Some(next) = &state.next {
            query.push((names.cursor.clone(), next.clone()));
        }
        if let Some(since) = state.since {
            query.push((
                names.updated_since.clone(),
                since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ));
        }
        if stream == "applications" {
            self.ensure_pipeline().await?;
        }
        let page = self.client.list(path, &query).await?;
        // A cursor that does not move would page forever: end the pass there.
        let next = page
            .next_cursor
            .filter(|n| state.next.as_deref() != Some(n.as_str()));
        let newest = map::newest_update(&page.data);
        let refs = self.refs();
        let mut records = Vec::with_capacity(page.data.len());
        let mut rejected = Vec::new();
        for raw in page.data {
            let mapped = match stream {
                "jobs" => map::job(&raw).map(|r| map::Mapped {
                    records: vec![r],
                    rejected: Vec::new(),
                }),
                "candidates" => map::candidate(&raw),
                _ => map::application(&raw, &refs),
            };
            match mapped {
                Ok(m) => {
                    records.extend(m.records);
                    rejected.extend(m.rejected);
                }
                Err(e) => rejected.push((raw, e.to_string())),
            }
        }
        let (after, complete) = state.after_page(next, newest, self.overlap);
        Ok(Page {
            records,
            cursor: to_cursor(&after),
            complete,
            full_pass: state.full_pass(),
            rejected,
            listed: Vec::new(),
        })
    }

    /// The pipeline: read whole (it is short), cached, no canonical records.
    /// A pipeline Goodfit refuses ends the pass empty (noted in `degraded`), so
    /// the entity streams still run.
    async fn poll_pipeline(&self) -> Result<Page, ConnectorError> {
        match self.read_pipeline().await {
            Ok(()) => {}
            Err(e) if degrades(&e) => self.note_refused_pipeline(&e),
            Err(e) => return Err(e),
        }
        *self.pipeline_loaded.lock().await = true;
        Ok(Page {
            records: Vec::new(),
            cursor: Cursor(Value::Object(Default::default())),
            complete: true,
            full_pass: true,
            rejected: Vec::new(),
            listed: Vec::new(),
        })
    }
}

/// Whether a refused pipeline degrades mapping instead of failing: refusals
/// retrying will not fix, such as a key without access to it (403) or an
/// endpoint that is gone. A bad key (401) and transient errors still fail.
fn degrades(error: &ConnectorError) -> bool {
    match error {
        ConnectorError::Auth { message } => {
            !(message.starts_with("HTTP 401")
                || message.contains("invalid_api_key")
                || message.contains("missing_api_key"))
        }
        ConnectorError::NotFound { .. } | ConnectorError::Rejected { .. } => true,
        _ => false,
    }
}

fn paging_state(cursor: Option<&Cursor>) -> CursorPaging {
    cursor
        .and_then(|c| serde_json::from_value(c.0.clone()).ok())
        .unwrap_or_default()
}

fn to_cursor(state: &CursorPaging) -> Cursor {
    Cursor(serde_json::to_value(state).unwrap_or(Value::Null))
}

#[async_trait::async_trait]
impl Connector for GoodfitConnector {
    fn streams(&self) -> &[StreamSpec] {
        STREAMS
    }

    async fn poll(
        &self,
        stream: &StreamId,
        cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        match (stream, list_path(stream)) {
            ("job_pipeline", _) => self.poll_pipeline().await,
            (_, Some(path)) => self.poll_entities(stream, path, cursor).await,
            (other, None) => Err(ConnectorError::Rejected {
                message: format!("Goodfit has no stream {other:?}"),
            }),
        }
    }

    /// After an expired page cursor the pass starts over from its watermark, so
    /// an incremental pass stays incremental.
    fn restart_pass(&self, _stream: &StreamId, cursor: Option<&Cursor>) -> Option<Cursor> {
        let state = paging_state(cursor);
        state.since.map(|since| {
            to_cursor(&CursorPaging {
                next: None,
                since: Some(since),
                newest: None,
            })
        })
    }

    fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError> {
        let verified = self.scheme.verify_with(headers, body, now, &self.keys)?;
        // Authenticated. A body that is not JSON is still kept (and dead-lettered
        // by the normaliser with its reason), so only read the type if we can.
        let event = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| webhook::event_type(&v));
        Ok(Delivery {
            event_type: event,
            delivery_id: verified.delivery_id.filter(|id| !id.is_empty()),
            sent_at: verified.timestamp,
            is_ping: false,
        })
    }

    /// The object the event is about, wrapped under its name or not.
    fn entity_key(&self, _delivery: &Delivery, body: &[u8]) -> Option<String> {
        hirebridge_sdk::entity_key_at(
            body,
            &[
                "/data/application/id",
                "/data/assessment/id",
                "/data/interview/id",
                "/data/candidate/id",
                "/data/job/id",
                "/data/id",
            ],
        )
    }

    fn parse(&self, _delivery: &Delivery, body: &[u8]) -> Result<Vec<Inbound>, ConnectorError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ConnectorError::bad_payload(format!("the Goodfit webhook body is not JSON: {e}"))
        })?;
        webhook::parse(&value, &self.refs())
    }

    async fn fetch(&self, remote: &RemoteRef) -> Result<Option<Record>, ConnectorError> {
        match remote.kind {
            EntityKind::Candidate => {
                let path = format!("/candidates/{}", path_segment(&remote.remote_id));
                match self.client.get_one(&path).await? {
                    Some(raw) => map::candidate_only(&raw)
                        .map(Some)
                        .map_err(|e| ConnectorError::bad_payload(e.to_string())),
                    None => Ok(None),
                }
            }
            other => Err(ConnectorError::Rejected {
                message: format!(
                    "Goodfit documents no way to read a single {other} (only GET /v1/candidates/{{id}})"
                ),
            }),
        }
    }

    fn degraded(&self) -> Vec<String> {
        match self.degraded.read() {
            Ok(d) => d.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        }
    }
}

/// A remote id made safe as one URL path segment.
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::Secret;

    fn connector(secrets: &[&str]) -> GoodfitConnector {
        let mut settings = Settings::new("goodfit-test");
        settings.api_key = Some(Secret::new("key"));
        settings.webhook_secrets = secrets.iter().map(|s| Secret::new(*s)).collect();
        GoodfitConnector::from_settings(&settings, &GoodfitOptions::default()).unwrap()
    }

    #[test]
    fn restart_keeps_the_watermark_and_drops_the_page_cursor() {
        let c = connector(&[]);
        let since = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let cur = to_cursor(&CursorPaging {
            next: Some("p".into()),
            since: Some(since),
            newest: Some(since),
        });
        let restarted = paging_state(c.restart_pass("jobs", Some(&cur)).as_ref());
        assert_eq!(restarted.next, None);
        assert_eq!(restarted.since, Some(since));
        let full = to_cursor(&CursorPaging {
            next: Some("p".into()),
            ..Default::default()
        });
        assert!(c.restart_pass("jobs", Some(&full)).is_none());
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        assert_eq!(path_segment("cd_1"), "cd_1");
        assert_eq!(path_segment("../x y"), "..%2Fx%20y");
    }
}
