//! A Goodfit simulator (feature `sim`): seeded, deterministic data served over
//! real HTTP with Goodfit's routes, `x-api-key` auth, 600 requests per minute
//! with `X-RateLimit-*` headers, the structured error envelope, the assumed
//! cursor paging and updated-since filter, fault injection (5xx, 429 storms,
//! latency, malformed bodies), changes that are visible to polling and sent as
//! signed webhooks with Goodfit's retries, and the SDK's
//! [`Simulator`](hirebridge_sdk::simulate::Simulator) for `simulate`, `demo`
//! and `bench`.

pub mod data;
mod running;
pub mod sender;
mod server;

use crate::options::Paging;
use data::{push, status_for_stage, Store};
use hirebridge_sdk::sim::{Faults, RateWindow};
use hirebridge_sdk::{Auth, Secret};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

pub use running::GoodfitSimulator;
pub use sender::GoodfitSender;
pub use server::SimServer;

/// How a [`GoodfitSim`] is built.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The key clients must send in `x-api-key`.
    pub api_key: String,
    /// Seed of the generated data; the same seed and `records` give the same data.
    pub seed: u64,
    /// Roughly how many jobs, candidates and applications to hold in all.
    pub records: usize,
    /// Requests per `rate_window` per key (Goodfit: 600 per minute).
    pub rate_limit: u32,
    pub rate_window: Duration,
    /// The `Retry-After` of a 429 from an injected storm.
    pub storm_retry_after: Duration,
    /// The paging names the simulator speaks (Goodfit's assumed ones by default;
    /// tests change them to exercise the connector's overrides).
    pub paging: Paging,
    /// The default and the largest page served.
    pub default_page_size: u32,
    pub max_page_size: u32,
    /// Waits between webhook attempts (Goodfit's schedule, scaled down).
    pub retry_schedule: Vec<Duration>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: "sim-key".into(),
            seed: 1,
            records: 100,
            rate_limit: 600,
            rate_window: Duration::from_secs(60),
            storm_retry_after: Duration::from_secs(1),
            paging: Paging::default(),
            default_page_size: 50,
            max_page_size: 200,
            retry_schedule: sender::default_schedule(),
        }
    }
}

/// Why a simulated write was refused (answered with Goodfit's error envelope).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no {kind} {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
}

/// The simulator: data, limits, faults and counters. Clones share state.
#[derive(Clone)]
pub struct GoodfitSim {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) auth: Auth,
    pub(crate) config: SimConfig,
    store: Mutex<Store>,
    rate: RwLock<Arc<RateWindow>>,
    pub(crate) faults: Faults,
    pub(crate) requests: AtomicU64,
    /// 429s answered, from the window or a storm.
    pub(crate) throttled: AtomicU64,
    webhooks: Mutex<Option<GoodfitSender>>,
    /// Errors the next requests answer with, in order: (HTTP status, code).
    forced: Mutex<VecDeque<(u16, String)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl GoodfitSim {
    pub fn new(config: SimConfig) -> GoodfitSim {
        let store = data::generate(config.seed, config.records);
        GoodfitSim {
            inner: Arc::new(Inner {
                auth: Auth::Header {
                    name: crate::client::API_KEY_HEADER,
                    key: Secret::new(config.api_key.clone()),
                },
                rate: RwLock::new(Arc::new(RateWindow::new(
                    config.rate_limit,
                    config.rate_window,
                ))),
                config,
                store: Mutex::new(store),
                faults: Faults::default(),
                requests: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                webhooks: Mutex::new(None),
                forced: Mutex::new(VecDeque::new()),
            }),
        }
    }

    /// Binds `addr` (port 0 picks one) and serves the API on the current runtime.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        server::serve(self.clone(), addr).await
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.inner.store)
    }

    /// The injected faults, switchable while the simulator runs.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Replaces the rate-limit window (a fresh window starts).
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        let fresh = Arc::new(RateWindow::new(limit, window));
        match self.inner.rate.write() {
            Ok(mut r) => *r = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }

    pub(crate) fn rate(&self) -> Arc<RateWindow> {
        match self.inner.rate.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The next `times` authorised requests answer HTTP `status` with Goodfit's
    /// error envelope carrying `code` (after the rate window counted them).
    pub fn fail_next(&self, status: u16, code: &str, times: usize) {
        let mut forced = lock(&self.inner.forced);
        forced.extend(std::iter::repeat_n((status, code.to_string()), times));
    }

    pub(crate) fn take_forced_error(&self) -> Option<(u16, String)> {
        lock(&self.inner.forced).pop_front()
    }

    /// Every request received, whatever its outcome.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// 429s answered so far.
    pub fn throttled_count(&self) -> u64 {
        self.inner.throttled.load(Ordering::SeqCst)
    }

    /// Objects per collection.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let s = self.store();
        BTreeMap::from([
            ("pipeline stages", s.stages.len()),
            ("jobs", s.jobs.len()),
            ("candidates", s.candidates.len()),
            ("applications", s.applications.len()),
        ])
    }

    /// Ids of a collection (`jobs`, `candidates`, `applications`), sorted.
    pub fn ids(&self, collection: &str) -> Vec<String> {
        self.store()
            .collection(collection)
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A copy of one object.
    pub fn get(&self, collection: &str, id: &str) -> Option<Value> {
        self.store().collection(collection)?.get(id).cloned()
    }

    /// From now on every change is also sent to `url` as Goodfit's signed
    /// webhooks. Call it inside a tokio runtime (deliveries run on it).
    pub fn send_webhooks_to(&self, url: &str, secret: &str) {
        let sender = GoodfitSender::start(url, secret, self.inner.config.retry_schedule.clone());
        *lock(&self.inner.webhooks) = Some(sender);
    }

    /// The webhook subscription, once [`GoodfitSim::send_webhooks_to`] was called.
    pub fn webhooks(&self) -> Option<GoodfitSender> {
        lock(&self.inner.webhooks).clone()
    }

    /// Waits (up to `timeout`) until every fired webhook was delivered or given up.
    pub async fn flush_webhooks(&self, timeout: Duration) -> bool {
        self.wait_webhooks(timeout, |c| c.delivered + c.failed >= c.fired)
            .await
    }

    /// Waits (up to `timeout`) until the first attempt of every fired webhook
    /// was answered (failed ones go on retrying on Goodfit's schedule).
    pub async fn answered_webhooks(&self, timeout: Duration) -> bool {
        self.wait_webhooks(timeout, |c| c.answered >= c.fired).await
    }

    async fn wait_webhooks(
        &self,
        timeout: Duration,
        done: impl Fn(sender::Counts) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(sender) = self.webhooks() else {
                return true;
            };
            if done(sender.counts()) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn fire(&self, event: &str, data: Value) {
        if let Some(sender) = self.webhooks() {
            sender.fire(event, data);
        }
    }

    // ---- changes: visible to polling and sent as webhooks ------------------

    /// Moves an application to a stage (by id or name), as
    /// `PATCH /v1/applications/{id}` does; fires `application.stage_changed`.
    pub fn move_application(&self, id: &str, stage: &str) -> Result<Value, SimError> {
        let (app, previous) = {
            let mut store = self.store();
            let stage = store
                .stage(stage)
                .ok_or_else(|| SimError::Invalid(format!("no pipeline stage {stage:?}")))?;
            let now = store.now();
            let app = store
                .applications
                .get_mut(id)
                .ok_or_else(|| not_found("application", id))?;
            let previous = app["stage"].clone();
            let kind = stage["type"].as_str().unwrap_or_default().to_string();
            app["stage"] = stage;
            app["status"] = json!(status_for_stage(&kind));
            app["hired_at"] = if kind == "hired" {
                json!(now)
            } else {
                Value::Null
            };
            app["rejected_at"] = if kind == "rejected" {
                json!(now)
            } else {
                Value::Null
            };
            if kind != "rejected" {
                app["rejection_reason"] = Value::Null;
            }
            app["updated_at"] = json!(now);
            (app.clone(), previous)
        };
        let mut data = app.clone();
        data["previous_stage"] = previous;
        self.fire("application.stage_changed", data);
        Ok(app)
    }

    /// Moves an application one stage on (from the last stage back to the first).
    pub fn advance_application(&self, id: &str) -> Result<Value, SimError> {
        let next = {
            let store = self.store();
            let app = store
                .applications
                .get(id)
                .ok_or_else(|| not_found("application", id))?;
            let at = store
                .stages
                .iter()
                .position(|s| s["id"] == app["stage"]["id"])
                .unwrap_or(0);
            // Past "Hired" comes "Rejected"; after that the application starts over.
            let next = (at + 1) % store.stages.len().max(1);
            store.stages[next]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        self.move_application(id, &next)
    }

    /// Adds a note, as `POST /v1/applications/notes` does (Goodfit has no note event).
    pub fn add_note(&self, application_id: &str, body: &str) -> Result<Value, SimError> {
        if body.trim().is_empty() {
            return Err(SimError::Invalid("a note needs a non-empty `body`".into()));
        }
        let mut store = self.store();
        let id = store.new_id("nt");
        let now = store.now();
        let author = store.user(0);
        let app = store
            .applications
            .get_mut(application_id)
            .ok_or_else(|| not_found("application", application_id))?;
        let note = json!({"id": id, "application_id": application_id, "body": body, "author": author, "created_at": now});
        push(app, "notes", note.clone());
        app["updated_at"] = json!(now);
        Ok(note)
    }

    /// A new candidate (the next shared fake person); fires `candidate.created`.
    pub fn create_candidate(&self) -> Value {
        let candidate = {
            let mut store = self.store();
            let now = store.now();
            let c = store.new_candidate(&now);
            let id = c["id"].as_str().unwrap_or_default().to_string();
            store.candidates.insert(id, c.clone());
            c
        };
        self.fire("candidate.created", candidate.clone());
        candidate
    }

    /// Edits a candidate (title and location); fires `candidate.updated`.
    pub fn update_candidate(&self, id: &str, n: u64) -> Result<Value, SimError> {
        let candidate = {
            let mut store = self.store();
            let now = store.now();
            let c = store
                .candidates
                .get_mut(id)
                .ok_or_else(|| not_found("candidate", id))?;
            c["current_title"] = json!(format!("Senior Engineer (rev {n})"));
            c["updated_at"] = json!(now);
            c.clone()
        };
        self.fire("candidate.updated", candidate.clone());
        Ok(candidate)
    }

    /// A new application in the first stage; fires `application.created`.
    pub fn create_application(&self, candidate_id: &str, job_id: &str) -> Result<Value, SimError> {
        let app = {
            let mut store = self.store();
            if !store.jobs.contains_key(job_id) {
                return Err(not_found("job", job_id));
            }
            let candidate = store
                .candidates
                .get(candidate_id)
                .cloned()
                .ok_or_else(|| not_found("candidate", candidate_id))?;
            let now = store.now();
            let app = store.new_application(&candidate, job_id, &now);
            let id = app["id"].as_str().unwrap_or_default().to_string();
            store.applications.insert(id, app.clone());
            app
        };
        self.fire("application.created", app.clone());
        Ok(app)
    }

    /// A completed assessment on an application (and in its candidate's
    /// history); fires `assessment.completed` with the result.
    pub fn complete_assessment(&self, application_id: &str) -> Result<Value, SimError> {
        let result = {
            let mut store = self.store();
            let app = store
                .applications
                .get(application_id)
                .cloned()
                .ok_or_else(|| not_found("application", application_id))?;
            let now = store.now();
            let result = store.new_assessment_result(&app, &now);
            if let Some(a) = store.applications.get_mut(application_id) {
                push(a, "assessment_results", result.clone());
                a["updated_at"] = json!(now);
            }
            let candidate_id = app["candidate_id"].as_str().unwrap_or_default().to_string();
            if let Some(c) = store.candidates.get_mut(&candidate_id) {
                push(c, "assessment_history", result.clone());
                c["updated_at"] = json!(now);
            }
            result
        };
        self.fire("assessment.completed", result.clone());
        Ok(result)
    }

    /// A completed interview of an application: its scorecard lands on the
    /// application; fires `interview.completed` with the interview.
    pub fn complete_interview(&self, application_id: &str) -> Result<Value, SimError> {
        let interview = {
            let mut store = self.store();
            let app = store
                .applications
                .get(application_id)
                .cloned()
                .ok_or_else(|| not_found("application", application_id))?;
            let now = store.now();
            let interview_id = store.new_id("iv");
            let card = store.new_scorecard(&app, &interview_id, &now);
            let interviewer = card["reviewer"].clone();
            let start = data::time_ms(&json!(now)) - 3_600_000 * store.rng().gen_range(1..4);
            if let Some(a) = store.applications.get_mut(application_id) {
                push(a, "scorecards", card.clone());
                a["updated_at"] = json!(now);
            }
            json!({
                "id": interview_id,
                "application_id": application_id,
                "candidate_id": app["candidate_id"],
                "title": format!("{} with {}", app["stage"]["name"].as_str().unwrap_or("Interview"), interviewer["name"].as_str().unwrap_or("the team")),
                "stage": app["stage"]["name"],
                "status": "completed",
                "starts_at": data::ts(start),
                "ends_at": data::ts(start + 3_600_000),
                "meeting_url": format!("https://meet.goodfit.so/{interview_id}"),
                "interviewers": [interviewer],
                "scorecards": [card],
                "created_at": now,
                "updated_at": now,
            })
        };
        self.fire("interview.completed", interview.clone());
        Ok(interview)
    }

    /// Opens or closes a job; fires `job.published` or `job.closed`.
    pub fn set_job_open(&self, job_id: &str, open: bool) -> Result<Value, SimError> {
        let job = {
            let mut store = self.store();
            let now = store.now();
            let job = store
                .jobs
                .get_mut(job_id)
                .ok_or_else(|| not_found("job", job_id))?;
            if open {
                job["status"] = json!("open");
                job["published_at"] = json!(now);
                job["closed_at"] = Value::Null;
            } else {
                job["status"] = json!("closed");
                job["closed_at"] = json!(now);
            }
            job["updated_at"] = json!(now);
            job.clone()
        };
        self.fire(
            if open { "job.published" } else { "job.closed" },
            job.clone(),
        );
        Ok(job)
    }
}

fn not_found(kind: &'static str, id: &str) -> SimError {
    SimError::NotFound {
        kind,
        id: id.to_string(),
    }
}
