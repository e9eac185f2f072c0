//! The simulator's data: jobs, candidates (the SDK's shared fake people, so one
//! person links across providers) and applications, generated deterministically
//! from a seed, and the in-memory store that serves and changes them.

use chrono::{DateTime, SecondsFormat, Utc};
use hirebridge_sdk::sim::people::person;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TITLES: [&str; 8] = [
    "Senior Platform Engineer",
    "IT Service Manager",
    "Head of Infrastructure",
    "Network Engineer",
    "Security Operations Lead",
    "Cloud Architect",
    "IT Project Manager",
    "Service Desk Analyst",
];
const CITIES: [(&str, &str); 4] = [
    ("London", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Dublin", "Ireland"),
    ("Edinburgh", "United Kingdom"),
];
const EMPLOYMENT: [&str; 3] = ["FullTime", "Contract", "PartTime"];
const REMOTE: [&str; 3] = ["HybridRemote", "FullyRemote", "NoRemote"];
const APPLY: [&str; 2] = ["EmailApply", "QuickApply"];
const COMPANIES: [&str; 4] = ["Initech", "Globex", "Hooli", "Umbrella"];

/// The pipeline statuses an application moves through in the simulator.
pub const STATUSES: [&str; 7] = [
    "New",
    "Screened",
    "Interviewed",
    "Offered",
    "Hired",
    "Rejected",
    "Withdrawn",
];

/// 2025-10-01T00:00:00Z: seeded objects are created in the 60 days after it.
const EPOCH_MS: i64 = 1_759_276_800_000;
const DAY_MS: i64 = 86_400_000;

/// Candidate ids are this plus the shared fake person's number.
pub const CANDIDATE_BASE: u64 = 50_000;
/// Sample deliveries (`bench`, contract tests) use candidates from here on.
pub const SAMPLE_CANDIDATE_BASE: u64 = 5_000_000;

/// RFC 3339 with milliseconds, as the simulator writes every timestamp.
pub fn ts(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Every object the simulator holds.
pub struct Store {
    pub jobs: BTreeMap<u64, Value>,
    pub candidates: BTreeMap<u64, Value>,
    pub applications: BTreeMap<u64, Value>,
    pub credits: u64,
    next_job: u64,
    next_application: u64,
    next_person: u64,
    rng: StdRng,
    clock_ms: i64,
}

impl Store {
    /// Now, strictly after every timestamp handed out before.
    pub fn now(&mut self) -> String {
        let now = Utc::now().timestamp_millis().max(self.clock_ms + 1);
        self.clock_ms = now;
        ts(now)
    }

    fn now_ms(&mut self) -> i64 {
        let now = Utc::now().timestamp_millis().max(self.clock_ms + 1);
        self.clock_ms = now;
        now
    }

    /// A draft job as `POST /api/v1/jobs` creates it, from the request body.
    pub fn create_job(&mut self, body: &Value) -> Value {
        let id = self.next_job;
        self.next_job += 1;
        let now = self.now();
        let mut job = json!({
            "id": id, "status": "Draft", "title": body["title"],
            "reference": body.get("reference").cloned().unwrap_or(Value::Null),
            "description": body.get("description").cloned().unwrap_or(Value::Null),
            "city": body.get("city").cloned().unwrap_or(Value::Null),
            "country": body.get("country").cloned().unwrap_or(Value::Null),
            "employmentType": body.get("employmentType").cloned().unwrap_or(json!("FullTime")),
            "remoteType": body.get("remoteType").cloned().unwrap_or(Value::Null),
            "applyMethod": body.get("applyMethod").cloned().unwrap_or(json!("QuickApply")),
            "applyEmailAddress": body.get("applyEmailAddress").cloned().unwrap_or(Value::Null),
            "postedDate": null, "expiryDate": null, "closedDate": null,
            "createdAt": now, "updatedAt": now,
        });
        if job["title"].is_null() {
            job["title"] = json!("Untitled");
        }
        self.jobs.insert(id, job.clone());
        job
    }

    /// A new candidate: the next shared fake person.
    pub fn new_candidate(&mut self) -> Value {
        let n = self.next_person;
        self.next_person += 1;
        let now = self.now();
        let c = candidate(CANDIDATE_BASE + n, n, &now, &mut self.rng);
        self.candidates.insert(CANDIDATE_BASE + n, c.clone());
        c
    }

    /// Candidate `id` as shared fake person `n`, unless it exists.
    pub fn ensure_candidate(&mut self, id: u64, n: u64) {
        if !self.candidates.contains_key(&id) {
            let at = ts(EPOCH_MS);
            let c = candidate(id, n, &at, &mut self.rng);
            self.candidates.insert(id, c);
        }
    }

    /// A new application in status `New` of `candidate_id` to `job_id`.
    pub fn new_application(&mut self, job_id: u64, candidate_id: u64) -> Value {
        let id = self.next_application;
        self.next_application += 1;
        let at = self.now_ms();
        let kind = APPLY[self.rng.gen_range(0..APPLY.len())];
        let app = json!({
            "id": id, "jobPostId": job_id, "candidateId": candidate_id,
            "status": "New", "appliedAt": ts(at), "applicationType": kind,
        });
        self.applications.insert(id, app.clone());
        app
    }
}

fn candidate(id: u64, n: u64, at: &str, rng: &mut StdRng) -> Value {
    let p = person(n);
    let (city, country) = CITIES[rng.gen_range(0..CITIES.len())];
    json!({
        "id": id, "firstName": p.first_name, "lastName": p.last_name,
        "email": p.email, "phone": p.phone, "city": city, "country": country,
        "currentJobTitle": TITLES[(n % TITLES.len() as u64) as usize],
        "currentCompany": COMPANIES[(n % COMPANIES.len() as u64) as usize],
        "linkedInUrl": format!("https://www.linkedin.com/in/{}-{}-{n}", p.first_name.to_lowercase(), p.last_name.to_lowercase()),
        "createdAt": at, "updatedAt": at,
    })
}

/// Roughly `records` objects in all: a third jobs, a third candidates, a third
/// applications; the same seed gives the same data.
pub fn generate(seed: u64, records: usize, credits: u64) -> Store {
    let mut rng = StdRng::seed_from_u64(seed);
    let per = (records / 3).max(3) as u64;
    let mut store = Store {
        jobs: BTreeMap::new(),
        candidates: BTreeMap::new(),
        applications: BTreeMap::new(),
        credits,
        next_job: 1001,
        next_application: 900_001,
        next_person: 0,
        rng: StdRng::seed_from_u64(seed ^ 0x5EED),
        clock_ms: 0,
    };
    for i in 0..per {
        let id = 1001 + i;
        let created = EPOCH_MS + rng.gen_range(0..60 * DAY_MS);
        let status = match rng.gen_range(0..20) {
            0 | 1 => "Draft",
            2 => "Inactive",
            3 => "Expired",
            _ => "Active",
        };
        let posted = (status != "Draft").then(|| ts(created + DAY_MS));
        let closed = matches!(status, "Inactive" | "Expired").then(|| ts(created + 20 * DAY_MS));
        let (city, country) = CITIES[rng.gen_range(0..CITIES.len())];
        let title = TITLES[rng.gen_range(0..TITLES.len())];
        store.jobs.insert(
            id,
            json!({
                "id": id, "status": status, "title": title,
                "reference": format!("PL-{id:04}"),
                "description": format!("Build and run the platform ({title})."),
                "city": city, "country": country,
                "employmentType": EMPLOYMENT[rng.gen_range(0..EMPLOYMENT.len())],
                "remoteType": REMOTE[rng.gen_range(0..REMOTE.len())],
                "applyMethod": APPLY[rng.gen_range(0..APPLY.len())],
                "applyEmailAddress": "jobs@example.com",
                "postedDate": posted,
                "expiryDate": posted.as_ref().map(|_| ts(created + 31 * DAY_MS)),
                "closedDate": closed,
                "createdAt": ts(created),
                "updatedAt": ts(closed.as_ref().map_or(created + DAY_MS, |_| created + 20 * DAY_MS)),
            }),
        );
    }
    store.next_job = 1001 + per;
    for n in 0..per {
        let at = ts(EPOCH_MS + rng.gen_range(0..60 * DAY_MS));
        let c = candidate(CANDIDATE_BASE + n, n, &at, &mut rng);
        store.candidates.insert(CANDIDATE_BASE + n, c);
    }
    store.next_person = per;
    let job_ids: Vec<u64> = store.jobs.keys().copied().collect();
    for i in 0..per {
        let id = 900_001 + i;
        let job = job_ids[rng.gen_range(0..job_ids.len())];
        let status = STATUSES[rng.gen_range(0..STATUSES.len())];
        store.applications.insert(
            id,
            json!({
                "id": id, "jobPostId": job, "candidateId": CANDIDATE_BASE + i,
                "status": status,
                "appliedAt": ts(EPOCH_MS + rng.gen_range(0..60 * DAY_MS)),
                "applicationType": APPLY[rng.gen_range(0..APPLY.len())],
            }),
        );
    }
    store.next_application = 900_001 + per;
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let a = generate(7, 60, 10);
        let b = generate(7, 60, 10);
        assert_eq!(a.jobs, b.jobs);
        assert_eq!(a.jobs.len(), 20);
        assert_eq!(a.candidates[&CANDIDATE_BASE]["email"], person(0).email);
    }
}
