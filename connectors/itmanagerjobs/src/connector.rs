//! The ITManagerJobs [`Connector`]: one `jobs` stream read as full passes by
//! page number, webhook verification by the documented scheme, and webhook
//! applications whose candidates are hydrated by id when the key may read them.
//!
//! Cursor protocol: the stream's cursor is the SDK's [`PageNumbers`]. The seed
//! (`004_7d555ba706a0066d.txt`) documents no updated-since filter, so every pass
//! lists every job (`SyncMode::FullOnly`) and lets the engine detect deletions —
//! but only from a pass that saw a stable list: page-number paging over a list
//! that grows while it is read can skip or repeat jobs, so when `total` moves
//! between pages the pass still completes but is not a full pass, and the
//! engine deletes nothing. Soft-closed (`DELETE`) and expired jobs stay in the
//! list as `closed`; they are never deletions.

use crate::client::{is_missing_scope, ItManagerJobsClient, API_KEY_HEADER};
use crate::map::{self, Submitted};
use crate::options::{AuthStyle, ItManagerJobsOptions};
use crate::webhook::{self, Event};
use hirebridge_sdk::http::{HttpClient, HttpConfig};
use hirebridge_sdk::paginate::PageNumbers;
use hirebridge_sdk::signature::{SignatureScheme, SigningKeys};
use hirebridge_sdk::{
    Auth, Connector, ConnectorError, Cursor, Delivery, EntityKind, Inbound, Page, Record,
    RemoteRef, Settings, StageMap, StreamId, StreamSpec, SyncMode, WebhookError,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// The page size asked for when the operator set none: the seed's first-call
/// example answers `"pageSize":50`.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Submissions remembered for later status changes; past this many the memory
/// starts over (a status change then keeps only its own fields).
const REMEMBERED_SUBMISSIONS: usize = 100_000;

pub const STREAMS: &[StreamSpec] = &[StreamSpec {
    name: "jobs",
    entity: Some(EntityKind::Job),
    mode: SyncMode::FullOnly,
}];

/// What the connector knows of the key's `CvSearch` scope.
const SCOPE_UNKNOWN: u8 = 0;
const SCOPE_GRANTED: u8 = 1;
const SCOPE_MISSING: u8 = 2;

/// The degraded note of a key without `CvSearch`.
pub const NO_CV_SEARCH: &str = "the API key lacks the CvSearch scope: jobs and webhook applications sync, candidates stay unhydrated (id only) — mint a key with CvSearch to read GET /api/v1/candidates/{id}";

pub struct ItManagerJobsConnector {
    client: ItManagerJobsClient,
    scheme: SignatureScheme,
    keys: SigningKeys,
    page_size: u32,
    job_status: Option<String>,
    stage_map: StageMap,
    cv_search: AtomicU8,
    submitted: Mutex<HashMap<String, Submitted>>,
}

impl std::fmt::Debug for ItManagerJobsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItManagerJobsConnector")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl ItManagerJobsConnector {
    /// A connector as the daemon builds it: the documented family limits
    /// unless the operator set one rate.
    pub fn from_settings(
        settings: &Settings,
        options: &ItManagerJobsOptions,
    ) -> Result<ItManagerJobsConnector, ConnectorError> {
        let caps = &crate::plugin::PLUGIN.capabilities;
        let http = HttpConfig::for_provider(
            Auth::None,
            caps.rate_limit,
            caps.family_limits,
            settings.rate_limit,
        );
        ItManagerJobsConnector::new(settings, options, http)
    }

    /// A connector with an explicit HTTP config (tests shorten its backoff);
    /// the key is always sent as `options.auth` says.
    pub fn new(
        settings: &Settings,
        options: &ItManagerJobsOptions,
        mut http: HttpConfig,
    ) -> Result<ItManagerJobsConnector, ConnectorError> {
        http.auth = match options.auth {
            AuthStyle::Bearer => Auth::Bearer(settings.api_key()),
            AuthStyle::XApiKey => Auth::Header {
                name: API_KEY_HEADER,
                key: settings.api_key(),
            },
        };
        let base_url = settings.base_url_or(crate::client::DEFAULT_BASE_URL);
        let mut scheme = crate::plugin::signature_scheme();
        scheme.tolerance_secs = settings.webhook_tolerance.as_secs();
        Ok(ItManagerJobsConnector {
            client: ItManagerJobsClient::new(HttpClient::new(http)?, &base_url),
            keys: settings.signing_keys(&scheme),
            scheme,
            page_size: settings
                .page_sizes
                .get("jobs")
                .copied()
                .unwrap_or(DEFAULT_PAGE_SIZE)
                .max(1),
            job_status: options.job_status.clone(),
            stage_map: settings.stage_map.clone(),
            cv_search: AtomicU8::new(SCOPE_UNKNOWN),
            submitted: Mutex::new(HashMap::new()),
        })
    }

    pub fn client(&self) -> &ItManagerJobsClient {
        &self.client
    }

    /// The scheme deliveries are verified with.
    pub fn scheme(&self) -> &SignatureScheme {
        &self.scheme
    }

    fn cv_search_missing(&self) -> bool {
        self.cv_search.load(Ordering::Relaxed) == SCOPE_MISSING
    }

    fn note_scope(&self, granted: bool) {
        let new = if granted {
            SCOPE_GRANTED
        } else {
            SCOPE_MISSING
        };
        if self.cv_search.swap(new, Ordering::Relaxed) != new && !granted {
            tracing::warn!("{NO_CV_SEARCH}");
        }
    }

    /// Learns once per process whether the key carries `CvSearch`, so `status`
    /// says so before the first application needs a candidate: a `GET` of a
    /// candidate id that never exists (`0`) answers 404 with the scope and 403
    /// without. Anything else leaves the question open; it never fails a pass.
    async fn probe_cv_search(&self) {
        if self.cv_search.load(Ordering::Relaxed) != SCOPE_UNKNOWN {
            return;
        }
        match self.client.get_json("/api/v1/candidates/0", &[]).await {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => self.note_scope(true),
            Err(e) if is_missing_scope(&e) => self.note_scope(false),
            Err(e) => {
                tracing::debug!(error = %e, "the CvSearch probe was not answered; asking again later")
            }
        }
    }

    fn remember(&self, id: &str, submitted: &Submitted) {
        let mut map = match self.submitted.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() >= REMEMBERED_SUBMISSIONS {
            map.clear();
        }
        map.insert(id.to_string(), submitted.clone());
    }

    fn recall(&self, id: &str) -> Submitted {
        let map = match self.submitted.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.get(id).cloned().unwrap_or_default()
    }

    /// One page of the jobs pass (see the module docs for the cursor).
    async fn poll_jobs(&self, cursor: Option<&Cursor>) -> Result<Page, ConnectorError> {
        let state: PageNumbers = cursor
            .and_then(|c| serde_json::from_value(c.0.clone()).ok())
            .unwrap_or_default();
        let page = self
            .client
            .list_jobs(state.page, self.page_size, self.job_status.as_deref())
            .await?;
        if state.page == 1 {
            self.probe_cv_search().await;
        }
        let count = page.items.len();
        let mut records = Vec::with_capacity(count);
        let mut rejected = Vec::new();
        for raw in page.items {
            match map::job(&raw) {
                Ok(r) => records.push(r),
                Err(e) => rejected.push((raw, e.to_string())),
            }
        }
        let stable = state.stable(page.total);
        let (after, complete) = state.after_page(count, self.page_size, page.total);
        if !stable && complete {
            tracing::warn!(
                first_total = state.total,
                last_total = page.total,
                "the job list changed while it was read; this pass detects no deletions"
            );
        }
        Ok(Page {
            records,
            cursor: Cursor(serde_json::to_value(&after).unwrap_or(Value::Null)),
            complete,
            full_pass: stable && self.job_status.is_none(),
            rejected,
            listed: Vec::new(),
        })
    }

    /// The candidate an application names: fetched whole when the key may read
    /// candidates, otherwise a record holding only its id, merged so that what
    /// an earlier key with the scope read is kept.
    fn candidate_of(&self, id: &str) -> Inbound {
        if self.cv_search_missing() {
            Inbound::Merge(Box::new(map::candidate_ref(id)))
        } else {
            Inbound::Fetch(RemoteRef {
                kind: EntityKind::Candidate,
                remote_id: id.to_string(),
            })
        }
    }
}

#[async_trait::async_trait]
impl Connector for ItManagerJobsConnector {
    fn streams(&self) -> &[StreamSpec] {
        STREAMS
    }

    async fn poll(
        &self,
        stream: &StreamId,
        cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        match stream {
            "jobs" => self.poll_jobs(cursor).await,
            other => Err(ConnectorError::Rejected {
                message: format!("ITManagerJobs has no stream {other:?}"),
            }),
        }
    }

    fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError> {
        let verified = self.scheme.verify_with(headers, body, now, &self.keys)?;
        let event = headers
            .get(crate::plugin::EVENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| webhook::event_type(&v))
            });
        Ok(Delivery {
            event_type: event,
            delivery_id: verified.delivery_id.filter(|id| !id.is_empty()),
            sent_at: verified.timestamp,
            is_ping: false,
        })
    }

    /// The application, or the expired job post (payload under `data` or at the top).
    fn entity_key(&self, _delivery: &Delivery, body: &[u8]) -> Option<String> {
        hirebridge_sdk::entity_key_at(
            body,
            &[
                "/data/applicationId",
                "/applicationId",
                "/data/jobPostId",
                "/jobPostId",
            ],
        )
    }

    fn parse(&self, delivery: &Delivery, body: &[u8]) -> Result<Vec<Inbound>, ConnectorError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ConnectorError::bad_payload(format!("the ITManagerJobs webhook body is not JSON: {e}"))
        })?;
        Ok(
            match webhook::parse(delivery.event_type.as_deref(), &value)? {
                Event::Submitted {
                    application_id,
                    submitted,
                    payload,
                } => {
                    self.remember(&application_id, &submitted);
                    let mut out = Vec::with_capacity(2);
                    if let Some(candidate) = &submitted.candidate_id {
                        out.push(self.candidate_of(candidate));
                    }
                    out.push(Inbound::Upsert(Box::new(map::application(
                        &application_id,
                        "New",
                        &submitted,
                        None,
                        &payload,
                        &self.stage_map,
                    ))));
                    out
                }
                // The event carries ids, statuses and a time only: merged onto
                // the stored application so its candidate, job and applied date
                // stay, also after a restart, when this process no longer
                // remembers the submission.
                Event::StatusChanged {
                    application_id,
                    new_status,
                    changed_at,
                    payload,
                } => vec![Inbound::Merge(Box::new(map::application(
                    &application_id,
                    &new_status,
                    &self.recall(&application_id),
                    changed_at,
                    &payload,
                    &self.stage_map,
                )))],
                // The job as the API shows it now (closed, with its expiry), so the
                // webhook and the next poll write the same record.
                Event::JobExpired { job_id } => vec![Inbound::Fetch(RemoteRef {
                    kind: EntityKind::Job,
                    remote_id: job_id,
                })],
            },
        )
    }

    async fn fetch(&self, remote: &RemoteRef) -> Result<Option<Record>, ConnectorError> {
        let bad = |e: map::MapError| ConnectorError::bad_payload(e.to_string());
        let id = path_segment(&remote.remote_id);
        match remote.kind {
            EntityKind::Job => match self.client.get_one(&format!("/api/v1/jobs/{id}")).await? {
                Some(raw) => map::job(&raw).map(Some).map_err(bad),
                None => Ok(None),
            },
            EntityKind::Candidate => {
                if self.cv_search_missing() {
                    return Ok(Some(map::candidate_ref(&remote.remote_id)));
                }
                match self
                    .client
                    .get_one(&format!("/api/v1/candidates/{id}"))
                    .await
                {
                    Ok(Some(raw)) => {
                        self.note_scope(true);
                        map::candidate(&raw).map(Some).map_err(bad)
                    }
                    Ok(None) => Ok(None),
                    Err(e) if is_missing_scope(&e) => {
                        self.note_scope(false);
                        Ok(Some(map::candidate_ref(&remote.remote_id)))
                    }
                    Err(e) => Err(e),
                }
            }
            other => Err(ConnectorError::Rejected {
                message: format!(
                    "ITManagerJobs documents no way to read a single {other} (only jobs and candidates)"
                ),
            }),
        }
    }

    fn degraded(&self) -> Vec<String> {
        if self.cv_search_missing() {
            vec![NO_CV_SEARCH.to_string()]
        } else {
            Vec::new()
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
    use serde_json::json;

    fn connector() -> ItManagerJobsConnector {
        let mut settings = Settings::new("itm-test");
        settings.api_key = Some(Secret::new("key"));
        ItManagerJobsConnector::from_settings(&settings, &ItManagerJobsOptions::default()).unwrap()
    }

    fn delivery(event: &str) -> Delivery {
        Delivery {
            event_type: Some(event.into()),
            delivery_id: None,
            sent_at: None,
            is_ping: false,
        }
    }

    #[test]
    fn a_status_change_keeps_what_the_submission_said() {
        let c = connector();
        let submitted = json!({"event": "application.submitted", "data": {"applicationId": 5, "jobPostId": 1234, "jobTitle": "Senior Platform Engineer", "candidateId": 77, "appliedAt": "2026-03-01T10:00:00Z", "applicationType": "QuickApply"}});
        let out = c
            .parse(
                &delivery("application.submitted"),
                submitted.to_string().as_bytes(),
            )
            .unwrap();
        assert_eq!(
            out[0],
            Inbound::Fetch(RemoteRef {
                kind: EntityKind::Candidate,
                remote_id: "77".into()
            })
        );
        let changed = json!({"event": "application.status_changed", "data": {"applicationId": 5, "previousStatus": "New", "newStatus": "Hired", "changedAt": "2026-03-09T10:00:00Z"}});
        let out = c
            .parse(
                &delivery("application.status_changed"),
                changed.to_string().as_bytes(),
            )
            .unwrap();
        match &out[0] {
            Inbound::Merge(r) => match r.as_ref() {
                Record::Application(a) => {
                    assert_eq!(a.candidate_remote_id.as_deref(), Some("77"));
                    assert_eq!(a.job_remote_id.as_deref(), Some("1234"));
                    assert_eq!(a.stage_category, Some(hirebridge_sdk::StageCategory::Hired));
                    assert!(a.hired_at.is_some());
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_cv_search_candidates_are_ids_and_the_note_says_why() {
        let c = connector();
        assert!(c.degraded().is_empty());
        c.note_scope(false);
        assert_eq!(c.degraded(), vec![NO_CV_SEARCH.to_string()]);
        let body = json!({"data": {"applicationId": 6, "candidateId": 8, "jobPostId": 1}});
        let out = c
            .parse(
                &delivery("application.submitted"),
                body.to_string().as_bytes(),
            )
            .unwrap();
        assert!(matches!(&out[0], Inbound::Merge(r) if r.meta().remote_id == "8"));
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        assert_eq!(path_segment("1234"), "1234");
        assert_eq!(path_segment("../x y"), "..%2Fx%20y");
    }
}
