//! The Ashby [`Connector`]: its streams with their real incremental support, the
//! cursor that carries `syncToken` and page cursor, reference caches for
//! mapping, and webhook verification and parsing.
//!
//! Cursor protocol: `{"sync_token": T?, "page_cursor": C?}`. A pass without `T`
//! is a full pass. Ashby returns the next `syncToken` only on the last page, so
//! `T` is carried unchanged through a pass and replaced only when the last page
//! commits; a crash mid-pass resumes from `C` with the old `T` still in hand.

use crate::api;
use crate::client::{AshbyClient, RawList, DEFAULT_BASE_URL};
use crate::map::{self, References};
use hirebridge_sdk::http::{Auth, HttpClient, HttpConfig};
use hirebridge_sdk::signature::SigningKeys;
use hirebridge_sdk::Secret;
use hirebridge_sdk::{
    Connector, ConnectorError, Cursor, Delivery, EntityKind, Inbound, Page, Record, RemoteRef,
    StreamId, StreamSpec, SyncMode, WebhookError,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Ashby's documented (and maximum) page size.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The webhook signature header.
pub const SIGNATURE_HEADER: &str = "ashby-signature";

const fn stream(name: &'static str, entity: Option<EntityKind>, mode: SyncMode) -> StreamSpec {
    StreamSpec { name, entity, mode }
}

/// Reference lists first (mapping needs them), then the entities.
pub const STREAMS: &[StreamSpec] = &[
    stream("users", None, SyncMode::Incremental),
    stream("departments", None, SyncMode::Incremental),
    stream("locations", None, SyncMode::Incremental),
    stream("sources", None, SyncMode::FullOnly),
    stream("archive_reasons", None, SyncMode::FullOnly),
    stream("interview_stages", None, SyncMode::FullOnly),
    stream("jobs", Some(EntityKind::Job), SyncMode::Incremental),
    stream(
        "job_postings",
        Some(EntityKind::JobPosting),
        SyncMode::FullOnly,
    ),
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
    stream(
        "interview_schedules",
        Some(EntityKind::Interview),
        SyncMode::Incremental,
    ),
    stream("offers", Some(EntityKind::Offer), SyncMode::Incremental),
    stream(
        "application_feedback",
        Some(EntityKind::Review),
        SyncMode::Incremental,
    ),
];

/// The list method behind each paginated stream.
fn list_method(stream: &str) -> Option<&'static str> {
    Some(match stream {
        "users" => "user.list",
        "departments" => "department.list",
        "locations" => "location.list",
        "jobs" => "job.list",
        "candidates" => "candidate.list",
        "applications" => "application.list",
        "interview_schedules" => "interviewSchedule.list",
        "offers" => "offer.list",
        "application_feedback" => "applicationFeedback.list",
        _ => return None,
    })
}

/// How one Ashby account is reached and mapped.
#[derive(Clone)]
pub struct AshbyConfig {
    pub base_url: String,
    /// The HTTP client's settings, with the API key as its `auth`
    /// (`Auth::BasicKeyAsUser`: the key is the Basic-auth username).
    pub http: HttpConfig,
    /// Page size per stream (at most 100, Ashby's maximum and default).
    pub page_sizes: HashMap<String, u32>,
    /// Stage title or id to category, overriding the built-in mapping.
    pub stage_map: hirebridge_sdk::StageMap,
    pub webhook_secrets: SigningKeys,
}

impl AshbyConfig {
    /// Defaults for the account `api_key` opens.
    pub fn new(api_key: impl Into<String>) -> AshbyConfig {
        AshbyConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            http: HttpConfig {
                auth: Auth::BasicKeyAsUser(Secret::new(api_key)),
                ..HttpConfig::default()
            },
            page_sizes: HashMap::new(),
            stage_map: hirebridge_sdk::StageMap::default(),
            webhook_secrets: SigningKeys::default(),
        }
    }
}

/// Resume state of one stream (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AshbyCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_cursor: Option<String>,
}

impl AshbyCursor {
    fn from_cursor(cursor: Option<&Cursor>) -> AshbyCursor {
        cursor
            .and_then(|c| serde_json::from_value(c.0.clone()).ok())
            .unwrap_or_default()
    }

    fn to_cursor(&self) -> Cursor {
        Cursor(serde_json::to_value(self).unwrap_or(Value::Null))
    }
}

pub struct AshbyConnector {
    client: AshbyClient,
    page_sizes: HashMap<String, u32>,
    webhook_secrets: SigningKeys,
    refs: RwLock<References>,
    /// Whether the reference caches were loaded in full at least once.
    refs_loaded: tokio::sync::Mutex<bool>,
    /// The answer of an unpaginated list while a pass pages through it, by stream.
    whole_lists: std::sync::Mutex<HashMap<String, Arc<RawList>>>,
}

impl AshbyConnector {
    pub fn new(config: AshbyConfig) -> Result<AshbyConnector, ConnectorError> {
        let http = HttpClient::new(config.http)?;
        let client = AshbyClient::new(http, &config.base_url);
        let refs = References {
            stage_map: config.stage_map,
            ..Default::default()
        };
        Ok(AshbyConnector {
            client,
            page_sizes: config.page_sizes,
            webhook_secrets: config.webhook_secrets,
            refs: RwLock::new(refs),
            refs_loaded: tokio::sync::Mutex::new(false),
            whole_lists: Default::default(),
        })
    }

    pub fn client(&self) -> &AshbyClient {
        &self.client
    }

    fn page_size(&self, stream: &str) -> u32 {
        self.page_sizes
            .get(stream)
            .copied()
            .unwrap_or(MAX_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE)
    }

    fn refs(&self) -> References {
        match self.refs.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn update_refs(&self, f: impl FnOnce(&mut References)) {
        match self.refs.write() {
            Ok(mut r) => f(&mut r),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Pages through a whole list (reference lists are small).
    async fn list_all(&self, method: &str, base: Value) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut body = base.clone();
            if let Some(c) = &cursor {
                body["cursor"] = json!(c);
            }
            let page = self.client.list(method, &body).await?;
            out.extend(page.results);
            match (page.more_data_available, page.next_cursor) {
                (Some(true), Some(next)) => cursor = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// Loads departments, locations and interview stages once, so that jobs and
    /// interviews map with names even when their reference streams ran
    /// incrementally (or not yet) in this process. A list Ashby refuses leaves
    /// its names unresolved (see [`AshbyConnector::degraded`]) instead of
    /// failing the stream; it is retried when its own stream runs.
    async fn ensure_refs(&self) -> Result<(), ConnectorError> {
        let mut loaded = self.refs_loaded.lock().await;
        if *loaded {
            return Ok(());
        }
        let departments = self
            .reference_list("department.list", json!({"includeArchived": true}))
            .await?;
        let locations = self
            .reference_list("location.list", json!({"includeArchived": true}))
            .await?;
        let stages = self.load_stages().await?;
        self.update_refs(|r| {
            if let Some(list) = &departments {
                cache_departments(r, list);
            }
            if let Some(list) = &locations {
                cache_locations(r, list);
            }
            if let Some(list) = &stages {
                cache_stages(r, list);
            }
        });
        *loaded = true;
        Ok(())
    }

    /// Notes on what mapping currently lacks because Ashby refused a reference
    /// list, e.g. `interviewPlan.list unavailable (403): stage names unresolved`.
    /// Empty when every reference list was read.
    pub fn degraded(&self) -> Vec<String> {
        let read = |r: &References| r.degraded.values().cloned().collect();
        match self.refs.read() {
            Ok(r) => read(&r),
            Err(poisoned) => read(&poisoned.into_inner()),
        }
    }

    fn note_degraded(&self, method: &str, error: &ConnectorError) {
        let note = format!(
            "{method} unavailable ({}): {}",
            refusal(method, error),
            degraded_effect(method)
        );
        tracing::warn!(method, error = %error, "Ashby refused a reference list; mapping degrades");
        self.update_refs(|r| {
            r.degraded.insert(method.to_string(), note);
        });
    }

    fn clear_degraded(&self, method: &str) {
        let noted = match self.refs.read() {
            Ok(r) => r.degraded.contains_key(method),
            Err(poisoned) => poisoned.into_inner().degraded.contains_key(method),
        };
        if noted {
            self.update_refs(|r| {
                r.degraded.remove(method);
            });
        }
    }

    /// A whole reference list, or `None` (noted as a degradation) when Ashby
    /// refuses it for a reason retrying will not fix.
    async fn reference_list(
        &self,
        method: &str,
        body: Value,
    ) -> Result<Option<Vec<Value>>, ConnectorError> {
        match self.list_all(method, body).await {
            Ok(list) => {
                self.clear_degraded(method);
                Ok(Some(list))
            }
            Err(e) if degrades(&e) => {
                self.note_degraded(method, &e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Every interview stage of every plan; `None` when the plans cannot be
    /// listed. Plans whose stages are refused are skipped (and noted).
    async fn load_stages(&self) -> Result<Option<Vec<Value>>, ConnectorError> {
        let Some(plans) = self
            .reference_list("interviewPlan.list", json!({"includeArchived": true}))
            .await?
        else {
            return Ok(None);
        };
        let mut stages = Vec::new();
        let mut refused = None;
        for plan in &plans {
            if let Some(id) = plan.get("id").and_then(Value::as_str) {
                match self
                    .client
                    .list("interviewStage.list", &json!({"interviewPlanId": id}))
                    .await
                {
                    Ok(page) => stages.extend(page.results),
                    Err(e) if degrades(&e) => refused = Some(e),
                    Err(e) => return Err(e),
                }
            }
        }
        match refused {
            Some(e) => self.note_degraded("interviewStage.list", &e),
            None => self.clear_degraded("interviewStage.list"),
        }
        Ok(Some(stages))
    }

    /// One page of a paginated stream, carrying the sync token through the pass.
    async fn poll_paginated(
        &self,
        stream: &str,
        method: &str,
        cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        let state = AshbyCursor::from_cursor(cursor);
        let mut body = json!({"limit": self.page_size(stream)});
        if let Some(token) = &state.sync_token {
            body["syncToken"] = json!(token);
        }
        if let Some(c) = &state.page_cursor {
            body["cursor"] = json!(c);
        }
        match stream {
            "users" => body["includeDeactivated"] = json!(true),
            "departments" | "locations" => body["includeArchived"] = json!(true),
            // Draft jobs are only listed when asked for.
            "jobs" => body["status"] = json!(["Draft", "Open", "Closed", "Archived"]),
            _ => {}
        }
        let page = match self.client.list_raw(method, &body).await {
            Ok(page) => page,
            // A reference stream Ashby refuses holds its cursor and ends the pass
            // empty, so the entity streams still run (with names unresolved).
            Err(e) if is_reference_stream(stream) && degrades(&e) => {
                self.note_degraded(method, &e);
                return Ok(Page {
                    records: Vec::new(),
                    cursor: state.to_cursor(),
                    complete: true,
                    full_pass: false,
                    rejected: Vec::new(),
                    listed: Vec::new(),
                });
            }
            Err(e) => return Err(e),
        };
        if is_reference_stream(stream) {
            self.clear_degraded(method);
        }
        let full_pass = state.sync_token.is_none();
        let more = page.more_data_available.unwrap_or(false);
        let next = match (more, page.next_cursor.clone()) {
            (true, Some(next)) => AshbyCursor {
                sync_token: state.sync_token.clone(),
                page_cursor: Some(next),
            },
            (true, None) => {
                return Err(ConnectorError::retryable(format!(
                    "{method}: moreDataAvailable without a nextCursor"
                )))
            }
            (false, _) => AshbyCursor {
                // Keep the old token if Ashby sent none, so the next pass stays incremental.
                sync_token: page.sync_token.clone().or(state.sync_token.clone()),
                page_cursor: None,
            },
        };
        let (listed, rejected) = if is_reference_stream(stream) {
            self.cache_references(stream, &page.page(0..page.len())?);
            (Vec::new(), Vec::new())
        } else {
            page.listed(0..page.len(), &self.mapping_context(stream).await?)
        };
        Ok(Page {
            records: Vec::new(),
            cursor: next.to_cursor(),
            complete: !more,
            full_pass,
            rejected,
            listed,
        })
    }

    /// What mapping the objects of entity stream `stream` reads besides their
    /// bytes ([`hirebridge_sdk::Listed::new`]), with the reference caches loaded
    /// where its mapping needs them.
    async fn mapping_context(&self, stream: &str) -> Result<Vec<u8>, ConnectorError> {
        if matches!(stream, "jobs" | "interview_schedules") {
            self.ensure_refs().await?;
        }
        let mut context = format!(
            "ashby {} mapping {} {stream}\n",
            env!("CARGO_PKG_VERSION"),
            map::MAPPING_VERSION
        )
        .into_bytes();
        context.extend_from_slice(&self.refs().digest());
        Ok(context)
    }

    /// Keeps a page of a paginated reference list in the caches mapping reads
    /// (users are listed for their stream's cursor only; nothing maps them).
    fn cache_references(&self, stream: &str, results: &[Value]) {
        match stream {
            "departments" => self.update_refs(|r| cache_departments(r, results)),
            "locations" => self.update_refs(|r| cache_locations(r, results)),
            _ => {}
        }
    }

    /// A stream whose objects Ashby lists in one unpaginated answer
    /// (`jobPosting.list`), served a page at a time: the first poll of a pass
    /// fetches the list and keeps it as text, each poll maps the next page from
    /// it (cursor `{"offset": n}`), and the last one lets it go. A pass resumed
    /// after a restart fetches the list again and goes on from its offset (a
    /// resumed pass never sweeps deletions, and the next pass sees anything the
    /// list's changes moved past it).
    async fn poll_listed(
        &self,
        stream: &str,
        cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        let offset = cursor
            .and_then(|c| c.0.get("offset"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let held = if offset == 0 {
            None
        } else {
            self.lock_whole_lists().get(stream).cloned()
        };
        let list = match held {
            Some(list) => list,
            None => {
                let list = Arc::new(self.client.list_raw("jobPosting.list", &json!({})).await?);
                self.lock_whole_lists()
                    .insert(stream.to_string(), list.clone());
                list
            }
        };
        let end = (offset + self.page_size(stream) as usize).min(list.len());
        let (listed, rejected) = list.listed(offset..end, &self.mapping_context(stream).await?);
        let complete = end >= list.len();
        if complete {
            self.lock_whole_lists().remove(stream);
        }
        // The next pass starts from the top again.
        let next = if complete {
            json!({})
        } else {
            json!({ "offset": end })
        };
        Ok(Page {
            records: Vec::new(),
            cursor: Cursor(next),
            complete,
            full_pass: true,
            rejected,
            listed,
        })
    }

    fn lock_whole_lists(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<RawList>>> {
        // The map is only ever replaced whole: a panic elsewhere leaves it usable.
        self.whole_lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A stream Ashby does not paginate: one complete page.
    async fn poll_whole(&self, stream: &str) -> Result<Page, ConnectorError> {
        let records = match stream {
            "sources" => {
                self.reference_list("source.list", json!({"includeArchived": true}))
                    .await?;
                (Vec::new(), Vec::new())
            }
            "archive_reasons" => {
                self.reference_list("archiveReason.list", json!({"includeArchived": true}))
                    .await?;
                (Vec::new(), Vec::new())
            }
            "interview_stages" => {
                if let Some(stages) = self.load_stages().await? {
                    self.update_refs(|r| cache_stages(r, &stages));
                }
                (Vec::new(), Vec::new())
            }
            other => {
                return Err(ConnectorError::Rejected {
                    message: format!("Ashby has no stream {other:?}"),
                })
            }
        };
        Ok(Page {
            records: records.0,
            cursor: Cursor(json!({})),
            complete: true,
            full_pass: true,
            rejected: records.1,
            listed: Vec::new(),
        })
    }
}

/// Streams that only feed the reference caches (no canonical records).
fn is_reference_stream(stream: &str) -> bool {
    STREAMS
        .iter()
        .any(|s| s.name == stream && s.entity.is_none())
}

/// Whether a refused reference list degrades mapping instead of failing the
/// stream: refusals retrying will not fix, such as a key without the
/// endpoint's permission (403) or an endpoint that is gone (404). A missing key
/// (401) and transient errors still fail, so they surface and are retried.
fn degrades(error: &ConnectorError) -> bool {
    match error {
        ConnectorError::Auth { message } => {
            !(message.starts_with("HTTP 401")
                || message.contains("unauthenticated")
                || message.contains("invalid_api_key"))
        }
        ConnectorError::Retryable { .. }
        | ConnectorError::Quota { .. }
        | ConnectorError::ResyncRequired { .. }
        | ConnectorError::RestartPass { .. } => false,
        _ => true,
    }
}

/// How Ashby refused: the HTTP status, else the logical error code.
fn refusal(method: &str, error: &ConnectorError) -> String {
    let text = error.to_string();
    if let Some(at) = text.find("HTTP ") {
        let status: String = text[at + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !status.is_empty() {
            return status;
        }
    }
    let prefix = format!("{method}: ");
    text.find(&prefix)
        .and_then(|at| text[at + prefix.len()..].split_whitespace().next())
        .map(str::to_string)
        .unwrap_or_else(|| error.kind().to_string())
}

/// What mapping lacks without a reference list.
fn degraded_effect(method: &str) -> &'static str {
    match method {
        "interviewPlan.list" => "stage names unresolved",
        "interviewStage.list" => "some stage names unresolved",
        "department.list" => "job departments unresolved",
        "location.list" => "job locations unresolved",
        _ => "not needed for mapping",
    }
}

fn cache_departments(r: &mut References, list: &[Value]) {
    for d in list
        .iter()
        .filter_map(|v| serde_json::from_value::<api::Department>(v.clone()).ok())
    {
        if let (Some(id), Some(name)) = (d.id, d.external_name.or(d.name)) {
            r.departments.insert(id, name);
        }
    }
}

fn cache_locations(r: &mut References, list: &[Value]) {
    for l in list
        .iter()
        .filter_map(|v| serde_json::from_value::<api::Location>(v.clone()).ok())
    {
        if let (Some(id), Some(name)) = (l.id, l.external_name.or(l.name)) {
            r.locations.insert(id, (name, l.workplace_type));
        }
    }
}

fn cache_stages(r: &mut References, list: &[Value]) {
    for s in list
        .iter()
        .filter_map(|v| serde_json::from_value::<api::InterviewStage>(v.clone()).ok())
    {
        if let Some(id) = s.id.clone() {
            r.stages.insert(id, s);
        }
    }
}

/// Maps one object of `stream` to its canonical record, which keeps the object
/// as its raw data; an object that does not map comes back with the reason.
pub fn map_object(stream: &str, raw: Value, refs: &References) -> Result<Record, (Value, String)> {
    let mapped = match stream {
        "candidates" => map::candidate(&raw),
        "jobs" => map::job(&raw, refs),
        "job_postings" => map::job_posting(&raw),
        "applications" => map::application(&raw, refs),
        "interview_schedules" => map::interview(&raw, refs),
        "offers" => map::offer(&raw),
        "application_feedback" => map::review(&raw),
        other => Err(format!("Ashby stream {other:?} has no canonical entity")),
    };
    match mapped {
        Ok(mut record) => {
            record.meta_mut().remote_data = raw;
            Ok(record)
        }
        Err(reason) => Err((raw, reason)),
    }
}

#[async_trait::async_trait]
impl Connector for AshbyConnector {
    fn streams(&self) -> &[StreamSpec] {
        STREAMS
    }

    async fn poll(
        &self,
        stream: &StreamId,
        cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        match list_method(stream) {
            Some(method) => self.poll_paginated(stream, method, cursor).await,
            None if stream == "job_postings" => self.poll_listed(stream, cursor).await,
            None => self.poll_whole(stream).await,
        }
    }

    fn map_listed(
        &self,
        stream: &StreamId,
        objects: &[&[u8]],
    ) -> Vec<Result<Record, (Value, String)>> {
        let refs = self.refs();
        objects
            .iter()
            .map(|bytes| match serde_json::from_slice::<Value>(bytes) {
                Ok(raw) => map_object(stream, raw, &refs),
                Err(e) => Err((
                    Value::String(String::from_utf8_lossy(bytes).into_owned()),
                    format!("a listed object is not JSON ({e})"),
                )),
            })
            .collect()
    }

    fn restart_pass(&self, _stream: &StreamId, cursor: Option<&Cursor>) -> Option<Cursor> {
        let state = AshbyCursor::from_cursor(cursor);
        state.sync_token.map(|token| {
            AshbyCursor {
                sync_token: Some(token),
                page_cursor: None,
            }
            .to_cursor()
        })
    }

    fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError> {
        crate::plugin::signature_scheme().verify_with(headers, body, now, &self.webhook_secrets)?;
        // Authenticated. A body that is not JSON is still kept (and dead-lettered by
        // the normaliser with its reason), so only read the action if we can.
        let action = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_string));
        Ok(Delivery {
            is_ping: action.as_deref() == Some("ping"),
            event_type: action,
            delivery_id: None,
            sent_at: None,
        })
    }

    /// The object the action is about (an application before the offer a hire carries).
    fn entity_key(&self, _delivery: &Delivery, body: &[u8]) -> Option<String> {
        hirebridge_sdk::entity_key_at(
            body,
            &[
                "/data/application/id",
                "/data/offer/id",
                "/data/candidate/id",
                "/data/mergedCandidate/id",
                "/data/interviewSchedule/id",
                "/data/job/id",
                "/data/jobPosting/id",
            ],
        )
    }

    fn parse(&self, _delivery: &Delivery, body: &[u8]) -> Result<Vec<Inbound>, ConnectorError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ConnectorError::bad_payload(format!("the webhook body is not JSON: {e}"))
        })?;
        parse_webhook(&value, &self.refs())
    }

    async fn fetch(&self, remote: &RemoteRef) -> Result<Option<Record>, ConnectorError> {
        let (method, key, stream) = match remote.kind {
            EntityKind::Candidate => ("candidate.info", "candidateId", "candidates"),
            EntityKind::Application => ("application.info", "applicationId", "applications"),
            EntityKind::Job => ("job.info", "jobId", "jobs"),
            EntityKind::JobPosting => ("jobPosting.info", "jobPostingId", "job_postings"),
            EntityKind::Offer => ("offer.info", "offerId", "offers"),
            other => {
                return Err(ConnectorError::Rejected {
                    message: format!("Ashby cannot fetch a single {other}"),
                })
            }
        };
        if remote.kind == EntityKind::Job {
            self.ensure_refs().await?;
        }
        let Some(raw) = self
            .client
            .info(method, &json!({ key: remote.remote_id }))
            .await?
        else {
            return Ok(None);
        };
        map_object(stream, raw, &self.refs())
            .map(Some)
            .map_err(|(_, reason)| ConnectorError::bad_payload(reason))
    }
}

/// Turns an Ashby webhook body `{action, data}` into canonical changes.
pub fn parse_webhook(value: &Value, refs: &References) -> Result<Vec<Inbound>, ConnectorError> {
    let action = value
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| ConnectorError::bad_payload("the webhook body has no `action`"))?;
    let data = value.get("data").ok_or_else(|| {
        ConnectorError::bad_payload(format!("{action}: the webhook body has no `data`"))
    })?;
    let field = |name: &str| {
        data.get(name).ok_or_else(|| {
            ConnectorError::bad_payload(format!("{action}: `data.{name}` is missing"))
        })
    };
    let id_of = |v: &Value, what: &str| {
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ConnectorError::bad_payload(format!("{action}: `{what}.id` is missing")))
    };
    let upsert = |stream: &str, raw: &Value| {
        map_object(stream, raw.clone(), refs)
            .map(|r| Inbound::Upsert(Box::new(r)))
            .map_err(|(_, reason)| ConnectorError::bad_payload(reason))
    };
    Ok(match action {
        "applicationSubmit" | "applicationUpdate" | "candidateStageChange" | "pushToHRIS" => {
            vec![upsert("applications", field("application")?)?]
        }
        "candidateHire" => {
            let mut out = vec![upsert("applications", field("application")?)?];
            if let Some(offer) = data.get("offer").filter(|o| !o.is_null()) {
                out.push(upsert("offers", offer)?);
            }
            out
        }
        "candidateDelete" => vec![Inbound::Deleted(RemoteRef {
            kind: EntityKind::Candidate,
            remote_id: id_of(field("candidate")?, "candidate")?,
        })],
        "candidateMerge" => vec![Inbound::Merged {
            kind: EntityKind::Candidate,
            removed: id_of(field("deletedCandidate")?, "deletedCandidate")?,
            survivor: id_of(field("mergedCandidate")?, "mergedCandidate")?,
        }],
        "interviewScheduleCreate" | "interviewScheduleUpdate" => {
            vec![upsert("interview_schedules", field("interviewSchedule")?)?]
        }
        "jobCreate" | "jobUpdate" => vec![upsert("jobs", field("job")?)?],
        "jobPostingPublish" | "jobPostingUnpublish" | "jobPostingUpdate" => {
            vec![upsert("job_postings", field("jobPosting")?)?]
        }
        "offerCreate" | "offerUpdate" => vec![upsert("offers", field("offer")?)?],
        "offerDelete" => vec![Inbound::Deleted(RemoteRef {
            kind: EntityKind::Offer,
            remote_id: id_of(field("offer")?, "offer")?,
        })],
        "interviewPlanTransition"
        | "openingCreate"
        | "signatureRequestUpdate"
        | "surveySubmit"
        | "ping" => {
            vec![Inbound::Stored {
                event_type: action.to_string(),
            }]
        }
        other => {
            return Err(ConnectorError::bad_payload(format!(
                "unknown Ashby webhook action {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::hex_lower;
    use hirebridge_sdk::signature::hmac_sha256;

    fn connector(secrets: &[&str]) -> AshbyConnector {
        let mut config = AshbyConfig::new("key");
        config.webhook_secrets = SigningKeys::from_strs(secrets);
        AshbyConnector::new(config).unwrap()
    }

    fn signed(secret: &str, body: &[u8]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        let sig = format!(
            "sha256={}",
            hex_lower(&hmac_sha256(secret.as_bytes(), &[body]))
        );
        h.insert("Ashby-Signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn verifies_signatures_with_any_configured_secret() {
        let c = connector(&["old", "new"]);
        let body = br#"{"action":"ping","data":{"webhookActionType":"ping"}}"#;
        let d = c
            .verify(&signed("new", body), body, SystemTime::now())
            .unwrap();
        assert!(d.is_ping);
        assert!(c
            .verify(&signed("old", body), body, SystemTime::now())
            .is_ok());
        assert_eq!(
            c.verify(&signed("other", body), body, SystemTime::now()),
            Err(WebhookError::BadSignature)
        );
        let tampered = br#"{"action":"ping","data":{"webhookActionType":"pong"}}"#;
        assert_eq!(
            c.verify(&signed("new", body), tampered, SystemTime::now()),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            c.verify(&http::HeaderMap::new(), body, SystemTime::now()),
            Err(WebhookError::MissingSignature { .. })
        ));
        let mut bad = http::HeaderMap::new();
        bad.insert("Ashby-Signature", "md5=abc".parse().unwrap());
        assert!(matches!(
            c.verify(&bad, body, SystemTime::now()),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    #[test]
    fn restart_keeps_the_token_and_drops_the_page_cursor() {
        let c = connector(&[]);
        let cur = AshbyCursor {
            sync_token: Some("t".into()),
            page_cursor: Some("p".into()),
        }
        .to_cursor();
        let restarted = c.restart_pass("candidates", Some(&cur)).unwrap();
        assert_eq!(
            AshbyCursor::from_cursor(Some(&restarted)),
            AshbyCursor {
                sync_token: Some("t".into()),
                page_cursor: None
            }
        );
        let full = AshbyCursor {
            sync_token: None,
            page_cursor: Some("p".into()),
        }
        .to_cursor();
        assert!(c.restart_pass("candidates", Some(&full)).is_none());
    }

    #[test]
    fn parses_webhook_actions() {
        let refs = References::default();
        let merge = json!({"action": "candidateMerge", "data": {"deletedCandidate": {"id": "a"}, "mergedCandidate": {"id": "b"}}});
        assert_eq!(
            parse_webhook(&merge, &refs).unwrap(),
            vec![Inbound::Merged {
                kind: EntityKind::Candidate,
                removed: "a".into(),
                survivor: "b".into()
            }]
        );
        let unknown = json!({"action": "somethingNew", "data": {}});
        assert!(matches!(
            parse_webhook(&unknown, &refs),
            Err(ConnectorError::BadPayload { .. })
        ));
        let thin = json!({"action": "applicationUpdate", "data": {}});
        assert!(matches!(
            parse_webhook(&thin, &refs),
            Err(ConnectorError::BadPayload { .. })
        ));
    }
}
