//! An ITManagerJobs simulator (feature `sim`): seeded, deterministic jobs,
//! candidates and applications served over real HTTP with the documented
//! routes (seed `004_7d555ba706a0066d.txt`), Bearer or `X-Api-Key` auth, keys
//! with their own scopes and approval (pending: 401 with no body), credits (a
//! publish costs one; 402 `no_credits` without), the `{code, message}` error
//! envelope, per-key limits per endpoint family with `Retry-After`, page/pageSize
//! lists, fault injection, changes sent as signed webhooks with the documented
//! retries and auto-disable, and the SDK's
//! [`Simulator`](hirebridge_sdk::simulate::Simulator) for `simulate`, `demo`
//! and `bench`.

pub mod data;
mod running;
pub mod sender;
mod server;

use crate::plugin::{FAMILY_CANDIDATES, FAMILY_CANDIDATE_SEARCH, FAMILY_JOBS};
use data::{Store, STATUSES};
use hirebridge_sdk::sim::{Faults, RateWindow};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use hirebridge_sdk::sim::SimServer;
pub use running::ItManagerJobsSimulator;
pub use sender::ItManagerJobsSender;

/// A key scope (seed "2. Pick the scopes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    JobPosting,
    CvSearch,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::JobPosting => "JobPosting",
            Scope::CvSearch => "CvSearch",
        }
    }
}

/// One minted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    pub scopes: Vec<Scope>,
    /// False while "queued for one-business-day platform review": every call 401s.
    pub approved: bool,
}

/// How an [`ItManagerJobsSim`] is built.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The first key, with `scopes`, approved unless `approved` is false.
    pub api_key: String,
    pub scopes: Vec<Scope>,
    pub approved: bool,
    pub seed: u64,
    /// Roughly how many jobs, candidates and applications to hold in all.
    pub records: usize,
    /// Job Posting credits of the account.
    pub credits: u64,
    /// Requests per `rate_window` per key, by family (the documented limits).
    pub limits: Vec<(&'static str, u32)>,
    pub rate_window: Duration,
    /// The `Retry-After` of a 429 from an injected storm.
    pub storm_retry_after: Duration,
    pub default_page_size: u32,
    pub max_page_size: u32,
    /// The documented retry schedule runs this many times faster.
    pub time_scale: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: "sim-key".into(),
            scopes: vec![Scope::JobPosting, Scope::CvSearch],
            approved: true,
            seed: 1,
            records: 90,
            credits: 100,
            limits: vec![
                (FAMILY_JOBS, 100),
                (FAMILY_CANDIDATE_SEARCH, 30),
                (FAMILY_CANDIDATES, 60),
            ],
            rate_window: Duration::from_secs(60),
            storm_retry_after: Duration::from_secs(1),
            default_page_size: 50,
            max_page_size: 100,
            time_scale: sender::DEFAULT_TIME_SCALE,
        }
    }
}

/// Why a simulated call was refused (answered with the error envelope).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no {kind} {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("Insufficient job posting credits.")]
    NoCredits,
}

/// The simulator: data, keys, limits, faults and counters. Clones share state.
#[derive(Clone)]
pub struct ItManagerJobsSim {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: SimConfig,
    store: Mutex<Store>,
    keys: Mutex<HashMap<String, KeyState>>,
    rates: Mutex<HashMap<(String, &'static str), Arc<RateWindow>>>,
    limits: Mutex<HashMap<&'static str, (u32, Duration)>>,
    pub(crate) faults: Faults,
    pub(crate) requests: AtomicU64,
    pub(crate) throttled: AtomicU64,
    webhooks: Mutex<Option<ItManagerJobsSender>>,
    forced: Mutex<VecDeque<(u16, String)>>,
    /// After serving this page of the job list, a job is created and published.
    add_job_after_page: Mutex<Option<u32>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn id_of(v: &Value) -> u64 {
    v["id"].as_u64().unwrap_or_default()
}

impl ItManagerJobsSim {
    pub fn new(config: SimConfig) -> ItManagerJobsSim {
        let store = data::generate(config.seed, config.records, config.credits);
        let keys = HashMap::from([(
            config.api_key.clone(),
            KeyState {
                scopes: config.scopes.clone(),
                approved: config.approved,
            },
        )]);
        let limits = config
            .limits
            .iter()
            .map(|(f, n)| (*f, (*n, config.rate_window)))
            .collect();
        ItManagerJobsSim {
            inner: Arc::new(Inner {
                config,
                store: Mutex::new(store),
                keys: Mutex::new(keys),
                rates: Mutex::new(HashMap::new()),
                limits: Mutex::new(limits),
                faults: Faults::default(),
                requests: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                webhooks: Mutex::new(None),
                forced: Mutex::new(VecDeque::new()),
                add_job_after_page: Mutex::new(None),
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

    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    // ---- keys ---------------------------------------------------------------

    /// Mints a key with `scopes`; unapproved keys 401 until [`Self::approve_key`].
    pub fn add_key(&self, key: &str, scopes: &[Scope], approved: bool) {
        lock(&self.inner.keys).insert(
            key.to_string(),
            KeyState {
                scopes: scopes.to_vec(),
                approved,
            },
        );
    }

    /// The platform review passed.
    pub fn approve_key(&self, key: &str) {
        if let Some(k) = lock(&self.inner.keys).get_mut(key) {
            k.approved = true;
        }
    }

    /// Revoked on the API keys page.
    pub fn revoke_key(&self, key: &str) {
        lock(&self.inner.keys).remove(key);
    }

    pub(crate) fn key(&self, key: &str) -> Option<KeyState> {
        lock(&self.inner.keys).get(key).cloned()
    }

    // ---- limits, credits, faults ----------------------------------------------

    /// Replaces one family's window (fresh windows start for every key).
    pub fn set_rate_limit(&self, family: &'static str, limit: u32, window: Duration) {
        lock(&self.inner.limits).insert(family, (limit, window));
        lock(&self.inner.rates).retain(|(_, f), _| *f != family);
    }

    pub(crate) fn rate(&self, key: &str, family: &'static str) -> Option<Arc<RateWindow>> {
        let (limit, window) = lock(&self.inner.limits).get(family).copied()?;
        Some(
            lock(&self.inner.rates)
                .entry((key.to_string(), family))
                .or_insert_with(|| Arc::new(RateWindow::new(limit, window)))
                .clone(),
        )
    }

    pub fn set_credits(&self, credits: u64) {
        self.store().credits = credits;
    }

    pub fn credits(&self) -> u64 {
        self.store().credits
    }

    /// The next `times` authorised requests answer HTTP `status` with the
    /// error envelope carrying `code` (`402`/`no_credits`, `500`/`internal_error`).
    pub fn fail_next(&self, status: u16, code: &str, times: usize) {
        lock(&self.inner.forced).extend(std::iter::repeat_n((status, code.to_string()), times));
    }

    pub(crate) fn take_forced_error(&self) -> Option<(u16, String)> {
        lock(&self.inner.forced).pop_front()
    }

    /// After the job list's page `page` is served, a job is created and
    /// published: the list grows in the middle of a pass.
    pub fn add_job_after_page(&self, page: u32) {
        *lock(&self.inner.add_job_after_page) = Some(page);
    }

    pub(crate) fn served_jobs_page(&self, page: u32) {
        let due = {
            let mut hook = lock(&self.inner.add_job_after_page);
            let due = *hook == Some(page);
            if due {
                *hook = None;
            }
            due
        };
        if due {
            let job = self.create_job(&json!({"title": "Added mid-pass"}));
            // With credits exhausted the job stays a draft; it still grows the list.
            let _ = self.publish_job(id_of(&job), None);
        }
    }

    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    pub fn throttled_count(&self) -> u64 {
        self.inner.throttled.load(Ordering::SeqCst)
    }

    /// Objects per collection.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let s = self.store();
        vec![
            ("jobs", s.jobs.len()),
            ("candidates", s.candidates.len()),
            ("applications", s.applications.len()),
            ("credits", s.credits as usize),
        ]
    }

    /// Ids of `jobs`, `candidates` or `applications`, ascending.
    pub fn ids(&self, collection: &str) -> Vec<u64> {
        let s = self.store();
        match collection {
            "jobs" => s.jobs.keys().copied().collect(),
            "candidates" => s.candidates.keys().copied().collect(),
            "applications" => s.applications.keys().copied().collect(),
            _ => Vec::new(),
        }
    }

    pub fn job(&self, id: u64) -> Option<Value> {
        self.store().jobs.get(&id).cloned()
    }

    pub fn application(&self, id: u64) -> Option<Value> {
        self.store().applications.get(&id).cloned()
    }

    // ---- webhooks -------------------------------------------------------------

    /// From now on every change is also sent to `url` as signed webhooks.
    /// Call it inside a tokio runtime (deliveries run on it).
    pub fn send_webhooks_to(&self, url: &str, secret: &str) {
        let schedule = sender::schedule(self.inner.config.time_scale);
        *lock(&self.inner.webhooks) = Some(ItManagerJobsSender::start(url, secret, schedule));
    }

    pub fn webhooks(&self) -> Option<ItManagerJobsSender> {
        lock(&self.inner.webhooks).clone()
    }

    /// Waits (up to `timeout`) until the first attempt of every fired webhook
    /// was answered.
    pub async fn answered_webhooks(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(sender) = self.webhooks() else {
                return true;
            };
            let c = sender.counts();
            if c.answered >= c.fired {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn fire(&self, event: &str, payload: Value) {
        if let Some(sender) = self.webhooks() {
            sender.fire(event, payload);
        }
    }

    // ---- changes ----------------------------------------------------------------

    /// `POST /api/v1/jobs`: a draft (free).
    pub fn create_job(&self, body: &Value) -> Value {
        self.store().create_job(body)
    }

    /// `POST /api/v1/jobs/{id}/publish`: Draft → Active for one credit; sets
    /// `postedDate` and `expiryDate` (the body's, else 30 days on).
    pub fn publish_job(&self, id: u64, expiry: Option<String>) -> Result<Value, SimError> {
        let mut store = self.store();
        let now = store.now();
        let credits = store.credits;
        let job = store
            .jobs
            .get_mut(&id)
            .ok_or_else(|| not_found("job", id))?;
        if job["status"] != "Draft" {
            return Err(SimError::Invalid {
                code: "invalid_state",
                message: format!("job {id} is {}, not Draft", job["status"]),
            });
        }
        if credits == 0 {
            return Err(SimError::NoCredits);
        }
        let expiry = expiry
            .unwrap_or_else(|| data::ts(chrono::Utc::now().timestamp_millis() + 30 * 86_400_000));
        job["status"] = json!("Active");
        job["postedDate"] = json!(now);
        job["expiryDate"] = json!(expiry);
        job["updatedAt"] = json!(now);
        let job = job.clone();
        store.credits = credits - 1;
        Ok(job)
    }

    /// A new job, published (one credit).
    pub fn create_and_publish_job(&self, title: &str) -> Result<Value, SimError> {
        let job = self
            .create_job(&json!({"title": title, "city": "London", "country": "United Kingdom"}));
        self.publish_job(id_of(&job), None)
    }

    /// `DELETE /api/v1/jobs/{id}`: soft-close; applications are preserved.
    pub fn soft_close_job(&self, id: u64) -> Result<Value, SimError> {
        let mut store = self.store();
        let now = store.now();
        let job = store
            .jobs
            .get_mut(&id)
            .ok_or_else(|| not_found("job", id))?;
        job["status"] = json!("Inactive");
        job["closedDate"] = json!(now);
        job["updatedAt"] = json!(now);
        Ok(job.clone())
    }

    /// The platform expires a job at its expiry date; fires `job.expired`.
    pub fn expire_job(&self, id: u64) -> Result<Value, SimError> {
        let job = {
            let mut store = self.store();
            let now = store.now();
            let job = store
                .jobs
                .get_mut(&id)
                .ok_or_else(|| not_found("job", id))?;
            job["status"] = json!("Expired");
            job["closedDate"] = json!(now);
            job["updatedAt"] = json!(now);
            job.clone()
        };
        self.fire(
            "job.expired",
            json!({"jobPostId": id, "expiredAt": job["closedDate"]}),
        );
        Ok(job)
    }

    /// A new candidate (the next shared fake person) applies to `job_id`;
    /// fires `application.submitted`.
    pub fn submit_application(&self, job_id: u64) -> Result<Value, SimError> {
        let (app, title) = {
            let mut store = self.store();
            let title = store
                .jobs
                .get(&job_id)
                .ok_or_else(|| not_found("job", job_id))?["title"]
                .clone();
            let candidate = store.new_candidate();
            (store.new_application(job_id, id_of(&candidate)), title)
        };
        self.fire(
            "application.submitted",
            json!({
                "applicationId": app["id"], "jobPostId": app["jobPostId"], "jobTitle": title,
                "candidateId": app["candidateId"], "appliedAt": app["appliedAt"],
                "applicationType": app["applicationType"],
            }),
        );
        Ok(app)
    }

    /// A recruiter moves an application to `status`; fires
    /// `application.status_changed`.
    pub fn set_application_status(&self, id: u64, status: &str) -> Result<Value, SimError> {
        if !STATUSES.contains(&status) {
            return Err(SimError::Invalid {
                code: "invalid_request",
                message: format!("unknown status {status:?}"),
            });
        }
        let (app, previous, at) = {
            let mut store = self.store();
            let now = store.now();
            let app = store
                .applications
                .get_mut(&id)
                .ok_or_else(|| not_found("application", id))?;
            let previous = app["status"].clone();
            app["status"] = json!(status);
            (app.clone(), previous, now)
        };
        self.fire(
            "application.status_changed",
            json!({"applicationId": id, "previousStatus": previous, "newStatus": status, "changedAt": at}),
        );
        Ok(app)
    }

    /// Moves an application one status on along the pipeline (after Hired it
    /// is rejected, after that it starts over).
    pub fn advance_application(&self, id: u64) -> Result<Value, SimError> {
        let current = self
            .application(id)
            .ok_or_else(|| not_found("application", id))?;
        let at = STATUSES
            .iter()
            .position(|s| current["status"] == *s)
            .unwrap_or(0);
        let next = match STATUSES[at] {
            "Rejected" | "Withdrawn" => "New",
            _ => STATUSES[(at + 1) % STATUSES.len()],
        };
        self.set_application_status(id, next)
    }
}

fn not_found(kind: &'static str, id: u64) -> SimError {
    SimError::NotFound {
        kind,
        id: id.to_string(),
    }
}
