//! An Ashby API simulator: seeded, deterministic data served over real HTTP with
//! Ashby's POST-RPC routes, envelope, cursor/syncToken paging and fault injection
//! (errors, latency, 429s, malformed bodies, token and cursor expiry), plus mutation
//! helpers so tests, the demo and benchmarks can drive incremental syncs. The
//! provider-neutral parts come from the SDK's simulator kit
//! ([`hirebridge_sdk::sim`]): the auth check, fault draws, the rate window and
//! the fake people candidates are made of.

mod data;
mod server;
mod store;
pub mod webhooks;

use hirebridge_sdk::http::Auth;
use hirebridge_sdk::sim::RateWindow;
use hirebridge_sdk::Secret;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use server::SimServer;
use store::Store;

/// Every object type the simulator serves (the `<object>` of `/<object>.<verb>`).
pub const OBJECT_TYPES: [&str; 17] = [
    "candidate",
    "application",
    "job",
    "jobPosting",
    "interviewSchedule",
    "offer",
    "applicationFeedback",
    "interviewPlan",
    "interviewStage",
    "source",
    "archiveReason",
    "user",
    "department",
    "location",
    "candidateTag",
    "customField",
    "feedbackFormDefinition",
];

/// How a [`Simulator`] is built: its API key, the seed and size of its data, faults,
/// and the cap on incremental listings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The key clients must send as the Basic-auth username. The password is
    /// ignored: Ashby's docs leave it blank, some clients send the key again.
    pub api_key: String,
    /// Seed of the generated data; the same seed and `records` give the same data.
    pub seed: u64,
    /// Target total number of records over all object types.
    pub records: usize,
    /// Faults active from the start (see [`Simulator::set_faults`]).
    pub faults: Faults,
    /// More pages than this in an incremental listing answers `incremental_sync_too_large`.
    pub max_incremental_pages: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: "sim-key".to_string(),
            seed: 1,
            records: 100,
            faults: Faults::default(),
            max_incremental_pages: 50,
        }
    }
}

/// Injected faults, applied to every authenticated request before it is handled.
///
/// The provider-neutral ones (5xx, 429 storms, latency, malformed bodies) are
/// drawn by the SDK's [`hirebridge_sdk::sim::Faults`], rates read to the nearest
/// per mille; the rate limit is an SDK [`RateWindow`]. The rest are Ashby's own.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Probability of an HTTP 500/502/503 (plain-text body) per request.
    pub error_rate: f64,
    /// Added to each response.
    pub latency: Duration,
    /// Requests per second (one key per simulator); over it, HTTP 429 with
    /// `Retry-After`.
    pub rate_limit_per_sec: Option<u32>,
    /// The next N requests answer 429 (`Retry-After: 1`).
    pub storm_429: usize,
    /// Probability that a successful answer's body is cut short (not valid JSON).
    pub malformed_rate: f64,
    /// Sync tokens older than this answer `sync_token_expired`.
    pub sync_token_ttl: Option<Duration>,
    /// Cursors older than this answer `next_cursor_expired`.
    pub cursor_ttl: Option<Duration>,
    /// Operations (e.g. `interviewPlan.list`) that fail with this HTTP status:
    /// 403 as for a key without the endpoint's permission
    /// (`missing_endpoint_permission`), 404 as for an unknown operation, any
    /// other status with a plain error.
    pub method_errors: BTreeMap<String, u16>,
}

/// A probability as the SDK's per-mille fault knobs take it.
fn per_mille(rate: f64) -> u32 {
    if rate.is_nan() {
        return 0;
    }
    (rate.clamp(0.0, 1.0) * 1000.0).round() as u32
}

/// The simulator: its data, faults and counters. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// How clients must authenticate: the key as the Basic-auth username.
    pub(crate) auth: Auth,
    pub(crate) max_incremental_pages: usize,
    pub(crate) store: RwLock<Store>,
    /// The faults as last set; the server reads Ashby's own knobs from here.
    pub(crate) faults: RwLock<Faults>,
    /// The provider-neutral faults, drawn per request.
    pub(crate) kit: hirebridge_sdk::sim::Faults,
    /// `Faults::rate_limit_per_sec` as a one-second window.
    pub(crate) rate: RwLock<Option<RateWindow>>,
    pub(crate) requests: AtomicU64,
    /// Picks which 5xx an injected server error is.
    pub(crate) rng: Mutex<rand::rngs::StdRng>,
    /// Where changes are announced as webhooks, once a test asks for it.
    pub(crate) webhooks: Mutex<Option<webhooks::Sender>>,
}

impl Simulator {
    /// Builds a simulator and seeds its data deterministically from `config.seed`.
    pub fn new(config: SimConfig) -> Simulator {
        use rand::SeedableRng;
        let store = data::generate(config.seed, config.records);
        let sim = Simulator {
            inner: Arc::new(Inner {
                auth: Auth::BasicKeyAsUser(Secret::new(config.api_key)),
                max_incremental_pages: config.max_incremental_pages.max(1),
                store: RwLock::new(store),
                faults: RwLock::new(Faults::default()),
                kit: hirebridge_sdk::sim::Faults::default(),
                rate: RwLock::new(None),
                requests: AtomicU64::new(0),
                rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(
                    config.seed ^ 0x5eed_fa17_0000_0001,
                )),
                webhooks: Mutex::new(None),
            }),
        };
        sim.set_faults(config.faults);
        sim
    }

    /// Binds `addr` (port 0 picks one) and serves the API on the current tokio runtime.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        server::serve(self.clone(), addr).await
    }

    /// From now on every change made through this simulator is also sent to
    /// `url` as the webhooks Ashby would fire, signed with `secret`. Call it inside
    /// a tokio runtime (the deliveries run on it).
    pub fn send_webhooks_to(&self, url: &str, secret: &str) {
        let sender = webhooks::Sender::start(url.to_string(), secret.to_string());
        *self.inner.webhooks.lock().expect("webhooks lock poisoned") = Some(sender);
    }

    /// Webhooks (fired, delivered, failed) so far.
    pub fn webhook_counts(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::SeqCst;
        match self
            .inner
            .webhooks
            .lock()
            .expect("webhooks lock poisoned")
            .as_ref()
        {
            Some(s) => (
                s.counters.fired.load(SeqCst),
                s.counters.delivered.load(SeqCst),
                s.counters.failed.load(SeqCst),
            ),
            None => (0, 0, 0),
        }
    }

    /// Waits (up to `timeout`) until every fired webhook was delivered or gave up.
    pub async fn flush_webhooks(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let (fired, delivered, failed) = self.webhook_counts();
            if delivered + failed >= fired {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn fire(&self, action: &str, data: Value) {
        if let Some(sender) = self
            .inner
            .webhooks
            .lock()
            .expect("webhooks lock poisoned")
            .as_ref()
        {
            sender.fire(action, data);
        }
    }

    fn fire_application(&self, actions: &[&str], application_id: &str) {
        if let Some(app) = self.get("application", application_id) {
            for action in actions {
                self.fire(action, json!({ "application": app }));
            }
        }
    }

    /// Merges two candidates as Ashby does: `removed` goes away, its applications
    /// now belong to `survivor`, and `candidateMerge` fires.
    pub fn merge_candidates(&self, removed: &str, survivor: &str) {
        {
            let mut store = self.write();
            let apps: Vec<String> = store
                .table("application")
                .map(|t| t.rows.keys().cloned().collect())
                .unwrap_or_default();
            for app in apps {
                let belongs = store
                    .value("application", &app)
                    .is_some_and(|a| a["candidate"]["id"] == removed);
                if belongs {
                    let survivor_value = store.value("candidate", survivor);
                    store.update("application", &app, |a| {
                        a["candidate"]["id"] = survivor.into();
                        if let Some(c) = &survivor_value {
                            a["candidate"]["name"] = c["name"].clone();
                        }
                    });
                }
            }
            store.delete("candidate", removed);
        }
        self.fire(
            "candidateMerge",
            json!({"deletedCandidate": {"id": removed}, "mergedCandidate": {"id": survivor}}),
        );
    }

    /// Replaces the active faults; `storm_429` restarts its countdown and the
    /// rate limit its window.
    /// The faults as last set.
    pub fn faults(&self) -> Faults {
        self.inner
            .faults
            .read()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    pub fn set_faults(&self, faults: Faults) {
        let kit = &self.inner.kit;
        kit.set_error_per_mille(per_mille(faults.error_rate));
        kit.storm(u32::try_from(faults.storm_429).unwrap_or(u32::MAX));
        kit.set_latency(faults.latency);
        kit.set_malformed_per_mille(per_mille(faults.malformed_rate));
        *self.inner.rate.write().expect("rate window lock poisoned") = faults
            .rate_limit_per_sec
            .map(|limit| RateWindow::new(limit, Duration::from_secs(1)));
        *self.inner.faults.write().expect("faults lock poisoned") = faults;
    }

    /// Every sync token issued so far answers `sync_token_expired` from now on.
    pub fn expire_sync_tokens(&self) {
        self.write().epoch += 1;
    }

    /// All requests received, whatever their outcome.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// Live objects per object type.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let store = self.read();
        OBJECT_TYPES
            .iter()
            .map(|o| (*o, store.table(o).map_or(0, |t| t.rows.len())))
            .collect()
    }

    /// Adds a candidate with one (primary, personal) email; returns its id.
    pub fn create_candidate(&self, name: &str, email: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let now = store::now_ms();
        let email = json!({"value": email, "type": "Personal", "isPrimary": true});
        let value = json!({
            "id": id,
            "createdAt": data::ts(now),
            "updatedAt": data::ts(now),
            "name": name,
            "primaryEmailAddress": email,
            "emailAddresses": [email],
            "primaryPhoneNumber": null,
            "phoneNumbers": [],
            "socialLinks": [],
            "tags": [],
            "position": null,
            "company": null,
            "school": null,
            "applicationIds": [],
            "resumeFileHandle": null,
            "fileHandles": [],
            "customFields": [],
            "profileUrl": format!("https://app.ashbyhq.com/candidates/{id}"),
            "source": null,
            "creditedToUser": null,
            "timezone": null,
            "location": null,
            "fraudStatus": null,
        });
        self.write().insert("candidate", id.clone(), now, value);
        id
    }

    /// Adds an Active application of a candidate to a job, in the first non-Lead stage
    /// of the job's default interview plan, and links it from the candidate; returns its id.
    pub fn create_application(&self, candidate_id: &str, job_id: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let now = store::now_ms();
        let mut store = self.write();
        let candidate = store.value("candidate", candidate_id);
        let job = store.value("job", job_id);
        if candidate.is_none() || job.is_none() {
            tracing::warn!(
                candidate_id,
                job_id,
                "sim: create_application with an unknown candidate or job"
            );
        }
        let candidate = candidate.unwrap_or(Value::Null);
        let job = job.unwrap_or(Value::Null);
        let plan = job["defaultInterviewPlanId"].as_str().unwrap_or_default();
        let stage = store
            .plan_stages(plan)
            .into_iter()
            .find(|s| s["type"] != "Lead")
            .unwrap_or(Value::Null);
        let value = json!({
            "id": id,
            "createdAt": data::ts(now),
            "updatedAt": data::ts(now),
            "status": "Active",
            "customFields": [],
            "candidate": {
                "id": candidate_id,
                "name": candidate["name"],
                "primaryEmailAddress": candidate["primaryEmailAddress"],
                "primaryPhoneNumber": candidate["primaryPhoneNumber"],
            },
            "currentInterviewStage": stage,
            "source": candidate["source"],
            "archiveReason": null,
            "archivedAt": null,
            "job": {
                "id": job_id,
                "title": job["title"],
                "locationId": job["locationId"],
                "departmentId": job["departmentId"],
            },
            "creditedToUser": null,
            "hiringTeam": job.get("hiringTeam").cloned().unwrap_or_else(|| json!([])),
            "appliedViaJobPostingId": null,
            "submitterClientIp": null,
            "submitterUserAgent": null,
        });
        store.insert("application", id.clone(), now, value);
        let app_id = id.clone();
        store.update("candidate", candidate_id, move |c| {
            if let Some(ids) = c["applicationIds"].as_array_mut() {
                ids.push(Value::String(app_id));
            }
        });
        drop(store);
        self.fire_application(&["applicationSubmit"], &id);
        id
    }

    /// Edits a candidate in place (and marks it changed).
    pub fn update_candidate(&self, id: &str, f: impl FnOnce(&mut Value)) {
        self.update("candidate", id, f);
    }

    /// Edits any object in place, bumping its `updatedAt` (when it has one) and its
    /// change sequence so the next incremental listing returns it.
    pub fn update(&self, object: &str, id: &str, f: impl FnOnce(&mut Value)) {
        if !self.write().update(object, id, f) {
            tracing::warn!(object, id, "sim: update of an unknown object");
            return;
        }
        let (action, key) = match object {
            "application" => ("applicationUpdate", "application"),
            "job" => ("jobUpdate", "job"),
            "jobPosting" => ("jobPostingUpdate", "jobPosting"),
            "offer" => ("offerUpdate", "offer"),
            "interviewSchedule" => ("interviewScheduleUpdate", "interviewSchedule"),
            // Ashby has no webhook for candidate edits.
            _ => return,
        };
        if let Some(value) = self.get(object, id) {
            self.fire(action, json!({ key: value }));
        }
    }

    /// Moves an application to `stage_id` (any existing interview stage).
    pub fn move_application_stage(&self, application_id: &str, stage_id: &str) {
        let mut store = self.write();
        let Some(stage) = store.value("interviewStage", stage_id) else {
            tracing::warn!(stage_id, "sim: move_application_stage to an unknown stage");
            return;
        };
        if !store.update("application", application_id, |a| {
            a["currentInterviewStage"] = stage;
        }) {
            tracing::warn!(
                application_id,
                "sim: move_application_stage of an unknown application"
            );
            return;
        }
        drop(store);
        self.fire_application(
            &["candidateStageChange", "applicationUpdate"],
            application_id,
        );
    }

    /// Archives an application with the given archive reason, moving it to its plan's
    /// Archived stage.
    pub fn archive_application(&self, application_id: &str, archive_reason_id: &str) {
        let mut store = self.write();
        let mut reason = store
            .value("archiveReason", archive_reason_id)
            .unwrap_or_else(|| json!({"id": archive_reason_id}));
        reason["customFields"] = json!([]);
        let stage = store.stage_of_type_for_application(application_id, "Archived");
        let now = data::ts(store::now_ms());
        if !store.update("application", application_id, |a| {
            a["status"] = "Archived".into();
            a["archiveReason"] = reason;
            a["archivedAt"] = now.into();
            if let Some(stage) = stage {
                a["currentInterviewStage"] = stage;
            }
        }) {
            tracing::warn!(
                application_id,
                "sim: archive_application of an unknown application"
            );
            return;
        }
        drop(store);
        self.fire_application(
            &["candidateStageChange", "applicationUpdate"],
            application_id,
        );
    }

    /// Marks an application Hired and moves it to its plan's Hired stage.
    pub fn hire_application(&self, application_id: &str) {
        let mut store = self.write();
        let stage = store.stage_of_type_for_application(application_id, "Hired");
        if !store.update("application", application_id, |a| {
            a["status"] = "Hired".into();
            a["archiveReason"] = Value::Null;
            a["archivedAt"] = Value::Null;
            if let Some(stage) = stage {
                a["currentInterviewStage"] = stage;
            }
        }) {
            tracing::warn!(
                application_id,
                "sim: hire_application of an unknown application"
            );
            return;
        }
        drop(store);
        if let Some(app) = self.get("application", application_id) {
            self.fire(
                "candidateHire",
                json!({ "application": app, "offer": null }),
            );
        }
        self.fire_application(
            &["candidateStageChange", "applicationUpdate"],
            application_id,
        );
    }

    /// Removes an object. Full listings stop returning it; incremental listings do not
    /// report deletions (as in Ashby).
    pub fn delete(&self, object: &str, id: &str) {
        let before = self.get(object, id);
        if !self.write().delete(object, id) {
            tracing::warn!(object, id, "sim: delete of an unknown object");
            return;
        }
        match object {
            "candidate" => self.fire("candidateDelete", json!({"candidate": {"id": id}})),
            "offer" => {
                let application_id = before
                    .as_ref()
                    .map(|o| o["applicationId"].clone())
                    .unwrap_or(Value::Null);
                self.fire(
                    "offerDelete",
                    json!({"offer": {"id": id, "applicationId": application_id}}),
                );
            }
            _ => {}
        }
    }

    /// Live ids of an object type, sorted.
    pub fn ids(&self, object: &str) -> Vec<String> {
        self.read()
            .table(object)
            .map(|t| t.rows.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A copy of one object.
    pub fn get(&self, object: &str, id: &str) -> Option<Value> {
        self.read().value(object, id)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.inner.store.read().expect("store lock poisoned")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.inner.store.write().expect("store lock poisoned")
    }
}
