//! The simulator's data: a pipeline, users, jobs, candidates (the SDK's shared
//! fake people) and applications with assessment results, scorecards and
//! notes, generated deterministically from a seed, and the in-memory store
//! that serves and changes them.

use chrono::{DateTime, SecondsFormat, Utc};
use hirebridge_sdk::sim::people::person;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// Goodfit's pipeline as the simulator serves it: (id, name, type). Each type
/// agrees with the title guess, so webhooks and polls categorise alike.
pub const STAGES: [(&str, &str, &str); 8] = [
    ("stg_applied", "Applied", "applied"),
    ("stg_screen", "Phone Screen", "screening"),
    ("stg_assessment", "Skills Assessment", "assessment"),
    ("stg_interview", "Technical Interview", "interview"),
    ("stg_final", "Final Interview", "interview"),
    ("stg_offer", "Offer", "offer"),
    ("stg_hired", "Hired", "hired"),
    ("stg_rejected", "Rejected", "rejected"),
];

const TITLES: [&str; 8] = [
    "Backend Engineer",
    "Frontend Engineer",
    "Data Analyst",
    "Product Designer",
    "Engineering Manager",
    "Site Reliability Engineer",
    "Recruiter",
    "Account Executive",
];
const DEPARTMENTS: [&str; 4] = ["Engineering", "Data", "Design", "Sales"];
const LOCATIONS: [&str; 4] = ["Berlin, DE", "London, UK", "New York, US", "Lisbon, PT"];
const WORKPLACES: [&str; 3] = ["remote", "hybrid", "on_site"];
const SOURCES: [&str; 4] = ["LinkedIn", "Careers page", "Referral", "Job board"];
const COMPANIES: [&str; 5] = ["Initech", "Globex", "Umbrella", "Hooli", "Stark Industries"];
const ASSESSMENTS: [(&str, &str); 3] = [
    ("Python Skills", "coding"),
    ("SQL Fundamentals", "coding"),
    ("Cognitive Ability", "aptitude"),
];
const RECOMMENDATIONS: [&str; 5] = ["strong_yes", "yes", "neutral", "no", "strong_no"];
const USERS: [(&str, &str); 6] = [
    ("Priya Raman", "recruiter"),
    ("Tom Becker", "hiring_manager"),
    ("Lena Vogt", "interviewer"),
    ("Omar Haddad", "interviewer"),
    ("Sara Lind", "coordinator"),
    ("Jonas Weber", "interviewer"),
];

/// 2025-10-01T00:00:00Z: seeded objects are created in the 60 days after it.
const EPOCH_MS: i64 = 1_759_276_800_000;

/// RFC 3339 with milliseconds, as the simulator writes every timestamp.
pub fn ts(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Every object the simulator holds.
pub(crate) struct Store {
    pub stages: Vec<Value>,
    pub users: Vec<Value>,
    pub jobs: BTreeMap<String, Value>,
    pub candidates: BTreeMap<String, Value>,
    pub applications: BTreeMap<String, Value>,
    /// The shared fake person the next new candidate is.
    pub next_person: u64,
    ids: HashSet<String>,
    rng: StdRng,
    /// The last timestamp handed out, so every change is strictly newer.
    clock_ms: i64,
}

impl Store {
    /// A fresh id with `prefix` (`jb`, `cd`, `ap`, ...), unique in the store.
    pub fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}_{:08x}", self.rng.gen::<u32>());
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    /// Now, strictly after every timestamp handed out before.
    pub fn now(&mut self) -> String {
        let now = Utc::now().timestamp_millis().max(self.clock_ms + 1);
        self.clock_ms = now;
        ts(now)
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    pub fn collection(&self, name: &str) -> Option<&BTreeMap<String, Value>> {
        match name {
            "jobs" => Some(&self.jobs),
            "candidates" => Some(&self.candidates),
            "applications" => Some(&self.applications),
            _ => None,
        }
    }

    pub fn stage(&self, id_or_name: &str) -> Option<Value> {
        let wanted = id_or_name.trim().to_lowercase();
        self.stages
            .iter()
            .find(|s| {
                s["id"].as_str() == Some(id_or_name)
                    || s["name"].as_str().map(str::to_lowercase) == Some(wanted.clone())
            })
            .cloned()
    }

    /// A user as Goodfit embeds one (reviewer, author, team member).
    pub fn user(&self, n: usize) -> Value {
        self.users
            .get(n % self.users.len().max(1))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// A new candidate: the next shared fake person.
    pub fn new_candidate(&mut self, created: &str) -> Value {
        let n = self.next_person;
        self.next_person += 1;
        let id = self.new_id("cd");
        candidate_value(self, &id, n, created)
    }

    /// A new application of `candidate` to `job`, in the first stage.
    pub fn new_application(&mut self, candidate: &Value, job_id: &str, created: &str) -> Value {
        let id = self.new_id("ap");
        application_value(&id, candidate, job_id, 0, created, created)
    }

    /// A completed assessment result of an application.
    pub fn new_assessment_result(&mut self, app: &Value, completed: &str) -> Value {
        let id = self.new_id("asr");
        let pick = self.rng.gen_range(0..ASSESSMENTS.len());
        let score = self.rng.gen_range(35..100);
        assessment_value(&id, app, pick, score, completed)
    }

    /// A scorecard of an interview of an application.
    pub fn new_scorecard(&mut self, app: &Value, interview_id: &str, submitted: &str) -> Value {
        let id = self.new_id("sc");
        let reviewer = self.rng.gen_range(2..self.users.len().max(3));
        let pick = self.rng.gen_range(0..RECOMMENDATIONS.len());
        let reviewer = self.user(reviewer);
        scorecard_value(&id, app, interview_id, reviewer, pick, submitted)
    }
}

fn candidate_value(store: &mut Store, id: &str, n: u64, created: &str) -> Value {
    let p = person(n);
    let rng = &mut store.rng;
    let source = SOURCES[rng.gen_range(0..SOURCES.len())];
    let referrer = (source == "Referral").then(|| rng.gen_range(0..USERS.len()));
    let company = COMPANIES[rng.gen_range(0..COMPANIES.len())];
    let title = TITLES[rng.gen_range(0..TITLES.len())];
    let location = LOCATIONS[rng.gen_range(0..LOCATIONS.len())];
    let referrer = referrer.map(|r| store.user(r)).unwrap_or(Value::Null);
    json!({
        "id": id,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "email": p.email,
        "phone": p.phone,
        "location": {"name": location},
        "current_company": company,
        "current_title": title,
        "source": source,
        "referrer": referrer,
        "tags": [],
        "linkedin_url": format!("https://www.linkedin.com/in/{}-{}-{n}", p.first_name.to_lowercase(), p.last_name.to_lowercase()),
        "assessment_history": [],
        "created_at": created,
        "updated_at": created,
    })
}

fn stage_value(index: usize) -> Value {
    let (id, name, kind) = STAGES[index.min(STAGES.len() - 1)];
    json!({"id": id, "name": name, "type": kind})
}

/// The status that goes with a stage type.
pub fn status_for_stage(kind: &str) -> &'static str {
    match kind {
        "hired" => "hired",
        "rejected" => "rejected",
        "withdrawn" => "withdrawn",
        _ => "active",
    }
}

fn application_value(
    id: &str,
    candidate: &Value,
    job_id: &str,
    stage: usize,
    created: &str,
    updated: &str,
) -> Value {
    let stage = stage_value(stage);
    let kind = stage["type"].as_str().unwrap_or("applied").to_string();
    json!({
        "id": id,
        "candidate_id": candidate["id"],
        "job_id": job_id,
        "status": status_for_stage(&kind),
        "stage": stage,
        "source": candidate["source"],
        "referrer": candidate["referrer"],
        "applied_at": created,
        "hired_at": if kind == "hired" { json!(updated) } else { Value::Null },
        "rejected_at": if kind == "rejected" { json!(updated) } else { Value::Null },
        "rejection_reason": if kind == "rejected" { json!("Not a fit for the role") } else { Value::Null },
        "assessment_results": [],
        "scorecards": [],
        "notes": [],
        "created_at": created,
        "updated_at": updated,
    })
}

fn assessment_value(id: &str, app: &Value, pick: usize, score: i64, completed: &str) -> Value {
    let (name, kind) = ASSESSMENTS[pick % ASSESSMENTS.len()];
    json!({
        "id": id,
        "application_id": app["id"],
        "candidate_id": app["candidate_id"],
        "name": name,
        "type": kind,
        "status": "completed",
        "score": score,
        "max_score": 100,
        "result": if score >= 60 { "pass" } else { "fail" },
        "report_url": format!("https://app.goodfit.so/assessments/results/{id}"),
        "submitted_at": completed,
        "completed_at": completed,
    })
}

fn scorecard_value(
    id: &str,
    app: &Value,
    interview_id: &str,
    reviewer: Value,
    pick: usize,
    submitted: &str,
) -> Value {
    let recommendation = RECOMMENDATIONS[pick % RECOMMENDATIONS.len()];
    json!({
        "id": id,
        "application_id": app["id"],
        "interview_id": interview_id,
        "reviewer": reviewer,
        "recommendation": recommendation,
        "rating": 5 - pick as i64,
        "summary": format!("{} after the interview.", recommendation.replace('_', " ")),
        "submitted_at": submitted,
    })
}

/// The data of seed `seed`, about `records` objects in all: the same seed and
/// size give the same data. Candidate `i` is shared fake person `i`, so the
/// same humans appear in every provider's simulator.
pub(crate) fn generate(seed: u64, records: usize) -> Store {
    let mut store = Store {
        stages: (0..STAGES.len()).map(stage_value).collect(),
        users: Vec::new(),
        jobs: BTreeMap::new(),
        candidates: BTreeMap::new(),
        applications: BTreeMap::new(),
        next_person: 0,
        ids: HashSet::new(),
        rng: StdRng::seed_from_u64(seed ^ 0x0600_df17_5eed),
        clock_ms: 0,
    };
    for (i, (stage, _, _)) in STAGES.iter().enumerate() {
        store.stages[i]["position"] = json!(i);
        store.ids.insert((*stage).to_string());
    }
    for (name, role) in USERS {
        let id = store.new_id("usr");
        let email = format!(
            "{}@goodfit-sim.example",
            name.to_lowercase().replace(' ', ".")
        );
        store
            .users
            .push(json!({"id": id, "name": name, "email": email, "role": role}));
    }
    let jobs = (records / 20).max(2);
    let candidates = (records * 2 / 5).max(1);
    let applications = records.saturating_sub(jobs + candidates).max(1);
    let at = |store: &mut Store, from: i64, days: i64| {
        from + store.rng.gen_range(0..days.max(1) * 86_400_000)
    };
    let mut job_ids = Vec::new();
    for i in 0..jobs {
        let id = store.new_id("jb");
        let created = at(&mut store, EPOCH_MS, 30);
        let status = match store.rng.gen_range(0..10) {
            0 => "draft",
            1 => "closed",
            _ => "open",
        };
        let manager = store.user(1);
        let recruiter = store.user(0);
        let value = json!({
            "id": id,
            "title": TITLES[i % TITLES.len()],
            "status": status,
            "department": DEPARTMENTS[i % DEPARTMENTS.len()],
            "team": {"name": format!("{} team", DEPARTMENTS[i % DEPARTMENTS.len()]), "members": [manager, recruiter]},
            "location": {"name": LOCATIONS[i % LOCATIONS.len()]},
            "workplace_type": WORKPLACES[i % WORKPLACES.len()],
            "employment_type": if i % 7 == 6 { "contract" } else { "full_time" },
            "requisition_id": format!("REQ-{:04}", i + 1),
            "description": {"summary": "Join us.", "responsibilities": ["Build things"], "requirements": ["Curiosity"]},
            "published_at": if status == "draft" { Value::Null } else { json!(ts(created + 3_600_000)) },
            "closed_at": if status == "closed" { json!(ts(created + 20 * 86_400_000)) } else { Value::Null },
            "created_at": ts(created),
            "updated_at": ts(created + 3_600_000),
        });
        job_ids.push(id.clone());
        store.jobs.insert(id, value);
    }
    let mut candidate_ids = Vec::new();
    for _ in 0..candidates {
        let created = ts(at(&mut store, EPOCH_MS, 60));
        let value = store.new_candidate(&created);
        let id = value["id"].as_str().unwrap_or_default().to_string();
        candidate_ids.push(id.clone());
        store.candidates.insert(id, value);
    }
    for i in 0..applications {
        let candidate_id = candidate_ids[i % candidate_ids.len()].clone();
        let job_id = job_ids[store.rng.gen_range(0..job_ids.len())].clone();
        let candidate = store
            .candidates
            .get(&candidate_id)
            .cloned()
            .unwrap_or(Value::Null);
        let created_ms = time_ms(&candidate["created_at"]) + store.rng.gen_range(0..86_400_000);
        let updated_ms = created_ms + store.rng.gen_range(0..20 * 86_400_000);
        let stage = store.rng.gen_range(0..STAGES.len());
        let id = store.new_id("ap");
        let mut app = application_value(
            &id,
            &candidate,
            &job_id,
            stage,
            &ts(created_ms),
            &ts(updated_ms),
        );
        let kind = STAGES[stage].2;
        if (stage >= 2 && kind != "rejected") || (kind == "rejected" && store.rng.gen_bool(0.5)) {
            let result = store.new_assessment_result(&app, &ts(created_ms + 86_400_000));
            push(&mut app, "assessment_results", result.clone());
            if let Some(c) = store.candidates.get_mut(&candidate_id) {
                push(c, "assessment_history", result);
            }
        }
        if (3..=6).contains(&stage) {
            for k in 0..store.rng.gen_range(1..=2) {
                let interview = format!("iv_{}_{k}", &id[3..]);
                let card = store.new_scorecard(&app, &interview, &ts(updated_ms));
                push(&mut app, "scorecards", card);
            }
        }
        for k in 0..store.rng.gen_range(0..=2) {
            let author = store.user(k);
            push(
                &mut app,
                "notes",
                json!({"id": format!("nt_{}_{k}", &id[3..]), "body": "Spoke with the candidate.", "author": author, "created_at": ts(created_ms + 3_600_000)}),
            );
        }
        store.applications.insert(id, app);
    }
    store
}

/// Appends to an array field of an object.
pub fn push(object: &mut Value, field: &str, item: Value) {
    match object.get_mut(field).and_then(Value::as_array_mut) {
        Some(items) => items.push(item),
        None => object[field] = json!([item]),
    }
}

/// Milliseconds of an RFC 3339 timestamp value (0 when absent).
pub fn time_ms(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(0, |t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let a = generate(7, 200);
        let b = generate(7, 200);
        assert_eq!(a.applications, b.applications);
        assert_eq!(a.candidates, b.candidates);
        let c = generate(8, 200);
        assert_ne!(a.applications, c.applications);
        // Candidate i is shared fake person i.
        let emails: HashSet<String> = a
            .candidates
            .values()
            .filter_map(|c| c["email"].as_str().map(str::to_string))
            .collect();
        assert!(emails.contains(&person(0).email));
        assert_eq!(
            a.jobs.len() + a.candidates.len() + a.applications.len(),
            200
        );
    }
}
