//! Deterministic seeded data for the simulator: realistic Ashby objects (shapes per
//! the API notes §5) generated from a seed and a target record count. Candidates
//! are the SDK's shared fake people (`hirebridge_sdk::sim::people`), candidate
//! `n` being person `n`, so the other providers' simulators hold the same humans.

use super::store::Store;
use hirebridge_sdk::sim::people::person;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// 2026-11-01T00:00:00.000Z: the fixed "now" of seeded data, so that a seed always
/// yields the same objects whatever the wall clock says.
const ANCHOR_MS: i64 = 1_793_491_200_000;
const DAY_MS: i64 = 86_400_000;
const YEAR_MS: i64 = 365 * DAY_MS;

/// ISO-8601 UTC with milliseconds, e.g. `2026-03-04T10:15:30.123Z`.
pub(crate) fn ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

const COMPANIES: [&str; 16] = [
    "Stripe",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Hooli",
    "Acme Robotics",
    "Northwind",
    "Contoso",
    "Vandelay Industries",
    "Pied Piper",
    "Soylent Labs",
    "Wayne Analytics",
    "Tyrell",
    "Cyberdyne",
    "Massive Dynamic",
    "Aperture Science",
];
const POSITIONS: [&str; 14] = [
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Engineering Manager",
    "Product Manager",
    "Product Designer",
    "Data Scientist",
    "Account Executive",
    "SRE",
    "Frontend Engineer",
    "Recruiter",
    "Solutions Engineer",
    "QA Engineer",
    "Data Engineer",
];
const SCHOOLS: [&str; 8] = [
    "MIT",
    "University of Toronto",
    "TU München",
    "Stanford University",
    "Imperial College London",
    "University of Lagos",
    "IIT Bombay",
    "Universidad de Buenos Aires",
];
const TIMEZONES: [&str; 6] = [
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "America/Toronto",
    "Asia/Kolkata",
];
/// (city, region, country) of candidates.
const CITIES: [(&str, &str, &str); 10] = [
    ("San Francisco", "California", "United States"),
    ("Oakland", "California", "United States"),
    ("New York", "New York", "United States"),
    ("Austin", "Texas", "United States"),
    ("London", "England", "United Kingdom"),
    ("Manchester", "England", "United Kingdom"),
    ("Berlin", "Berlin", "Germany"),
    ("Toronto", "Ontario", "Canada"),
    ("Bengaluru", "Karnataka", "India"),
    ("Lisbon", "Lisbon", "Portugal"),
];
const USERS: [(&str, &str, &str); 12] = [
    ("Avery", "Chen", "Organization Admin"),
    ("Jordan", "Patel", "Elevated Access"),
    ("Morgan", "Okafor", "Elevated Access"),
    ("Riley", "Svensson", "Elevated Access"),
    ("Casey", "Nakamura", "Limited Access"),
    ("Taylor", "Haddad", "Limited Access"),
    ("Jamie", "Rossi", "Limited Access"),
    ("Quinn", "Fischer", "Limited Access"),
    ("Drew", "Mensah", "Limited Access"),
    ("Reese", "Kowalski", "Limited Access"),
    ("Skyler", "Dubois", "Limited Access"),
    ("Parker", "Alvarez", "External Recruiter"),
];
/// (name, index of parent).
const DEPARTMENTS: [(&str, Option<usize>); 5] = [
    ("Engineering", None),
    ("Platform", Some(0)),
    ("Product", None),
    ("Sales", None),
    ("People", None),
];
/// (name, city, region, country, postal code, street, workplace type).
const LOCATIONS: [(&str, &str, &str, &str, &str, &str, &str); 6] = [
    (
        "San Francisco HQ",
        "San Francisco",
        "California",
        "US",
        "94105",
        "500 Howard St",
        "OnSite",
    ),
    (
        "New York",
        "New York",
        "New York",
        "US",
        "10011",
        "85 10th Ave",
        "Hybrid",
    ),
    (
        "London",
        "London",
        "England",
        "GB",
        "EC2A 4NE",
        "1 Finsbury Ave",
        "Hybrid",
    ),
    (
        "Berlin",
        "Berlin",
        "Berlin",
        "DE",
        "10115",
        "Invalidenstraße 117",
        "Hybrid",
    ),
    (
        "Toronto",
        "Toronto",
        "Ontario",
        "CA",
        "M5V 2T6",
        "200 Wellington St W",
        "OnSite",
    ),
    ("Remote (US)", "", "", "US", "", "", "Remote"),
];
/// (title, source type).
const SOURCES: [(&str, &str); 8] = [
    ("LinkedIn", "Sourced"),
    ("Referral", "Referral"),
    ("Careers page", "Inbound"),
    ("Agency", "Agency"),
    ("Indeed", "Job Board"),
    ("Wellfound", "Job Board"),
    ("Conference", "Event"),
    ("Internal transfer", "Internal"),
];
const ARCHIVE_REASONS: [(&str, &str); 6] = [
    ("Not a fit: skills or experience", "RejectedByOrg"),
    ("Did not pass technical interview", "RejectedByOrg"),
    ("Position filled", "RejectedByOrg"),
    ("Accepted another offer", "RejectedByCandidate"),
    ("Compensation expectations", "RejectedByCandidate"),
    ("Duplicate application", "Other"),
];
const TAGS: [&str; 6] = [
    "Senior",
    "Silver medalist",
    "Rehire",
    "Visa sponsorship",
    "Top talent",
    "Diversity sourcing",
];
/// (plan title, stages as (title, type)).
const PLANS: [(&str, &[(&str, &str)]); 3] = [
    (
        "Engineering Interview Plan",
        &[
            ("New Lead", "Lead"),
            ("Application Review", "PreInterviewScreen"),
            ("Recruiter Screen", "Active"),
            ("Technical Interview", "Active"),
            ("Onsite", "Active"),
            ("Offer", "Offer"),
            ("Hired", "Hired"),
            ("Archived", "Archived"),
        ],
    ),
    (
        "Take-home Interview Plan",
        &[
            ("Sourced", "Lead"),
            ("Application Review", "PreInterviewScreen"),
            ("Take-home Assignment", "Active"),
            ("Reference Check", "Active"),
            ("Offer", "Offer"),
            ("Hired", "Hired"),
            ("Archived", "Archived"),
        ],
    ),
    (
        "Business Interview Plan",
        &[
            ("Lead", "Lead"),
            ("Recruiter Screen", "PreInterviewScreen"),
            ("Hiring Manager Interview", "Active"),
            ("Panel Interview", "Active"),
            ("Reference Check", "Active"),
            ("Offer", "Offer"),
            ("Hired", "Hired"),
            ("Archived", "Archived"),
        ],
    ),
];
/// (title, department index, plan index).
const JOB_TITLES: [(&str, usize, usize); 16] = [
    ("Senior Backend Engineer", 0, 0),
    ("Frontend Engineer", 0, 1),
    ("Staff Software Engineer", 0, 0),
    ("Site Reliability Engineer", 1, 0),
    ("Platform Engineer", 1, 1),
    ("Data Engineer", 1, 1),
    ("Engineering Manager", 0, 0),
    ("Product Manager", 2, 2),
    ("Senior Product Designer", 2, 1),
    ("Account Executive", 3, 2),
    ("Sales Development Representative", 3, 2),
    ("Solutions Engineer", 3, 2),
    ("Technical Recruiter", 4, 2),
    ("People Partner", 4, 2),
    ("Machine Learning Engineer", 0, 1),
    ("Security Engineer", 1, 0),
];
const NOTES: [&str; 6] = [
    "Strong fundamentals; clear communication throughout.",
    "Solid on system design, weaker on testing strategy.",
    "Great culture add; would like more depth on distributed systems.",
    "Struggled with the coding exercise but recovered well.",
    "Excellent ownership examples from previous roles.",
    "Not enough experience for the level; consider for a more junior role.",
];

fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.gen())
        .into_uuid()
        .to_string()
}

fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'ü' => Some('u'),
            'á' | 'à' => Some('a'),
            'é' => Some('e'),
            'í' => Some('i'),
            'ó' => Some('o'),
            ' ' | '-' => Some('.'),
            _ => None,
        })
        .collect()
}

/// The draws that picked a candidate's name and email (first name, last name,
/// domain, address shape, case) before candidates became the shared fake people.
/// They are still made, and in the same order, so that a seed keeps every other
/// generated value it had.
fn former_name_draws(rng: &mut StdRng) {
    let _: usize = rng.gen_range(0..48);
    let _: usize = rng.gen_range(0..48);
    let _: usize = rng.gen_range(0..5);
    let _: i32 = rng.gen_range(0..3);
    let _ = rng.gen_bool(0.1);
}

/// Likewise the draws that made up a phone number (area, exchange, line, format).
fn former_phone_draws(rng: &mut StdRng) {
    let _: i32 = rng.gen_range(200..990);
    let _: i32 = rng.gen_range(100..1000);
    let _: i32 = rng.gen_range(0..10_000);
    let _: i32 = rng.gen_range(0..6);
}

/// Random time in [from, to).
fn between(rng: &mut StdRng, from: i64, to: i64) -> i64 {
    if to <= from {
        from
    } else {
        rng.gen_range(from..to)
    }
}

struct Plan {
    id: String,
    stages: Vec<Value>,
}

impl Plan {
    fn of_type<'a>(&'a self, rng: &mut StdRng, types: &[&str]) -> &'a Value {
        let matching: Vec<&Value> = self
            .stages
            .iter()
            .filter(|s| types.iter().any(|t| s["type"] == *t))
            .collect();
        matching.choose(rng).copied().unwrap_or(&self.stages[0])
    }
}

struct JobMeta {
    id: String,
    title: String,
    location: usize,
    department: usize,
    plan: usize,
    open: bool,
    created: i64,
    posting_id: Option<String>,
    hiring_team: Value,
}

struct CandMeta {
    id: String,
    /// The shared fake person (`hirebridge_sdk::sim::people`) this candidate is.
    person: u64,
    name: String,
    email: String,
    second_email: Option<String>,
    phone: Option<String>,
    created: i64,
    source: usize,
    city: usize,
    location_id: String,
    social: Vec<Link>,
    tags: Vec<usize>,
    position: Option<&'static str>,
    company: Option<&'static str>,
    school: Option<&'static str>,
    resume: Option<FileHandle>,
    credited: Option<usize>,
    timezone: &'static str,
    fraud: Option<&'static str>,
    apps: Vec<String>,
}

struct AppMeta<'p> {
    id: String,
    status: &'static str,
    stage: &'p Value,
    plan: usize,
    created: i64,
}

// Serialized shapes of the bulk objects (borrowing, so generation allocates little).

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Contact<'a> {
    value: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    is_primary: bool,
}

impl<'a> Contact<'a> {
    fn primary(value: &'a str) -> Contact<'a> {
        Contact {
            value,
            kind: "Personal",
            is_primary: true,
        }
    }
}

#[derive(Serialize)]
struct Link {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct FileHandle {
    id: String,
    name: String,
    handle: String,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CandLocation<'a> {
    id: &'a str,
    location_summary: String,
    location_components: [Component; 3],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CandidateOut<'a> {
    id: &'a str,
    created_at: String,
    updated_at: String,
    name: &'a str,
    primary_email_address: Contact<'a>,
    email_addresses: Vec<Contact<'a>>,
    primary_phone_number: Option<Contact<'a>>,
    phone_numbers: Vec<Contact<'a>>,
    social_links: &'a [Link],
    tags: Vec<&'a Value>,
    position: Option<&'a str>,
    company: Option<&'a str>,
    school: Option<&'a str>,
    application_ids: &'a [String],
    resume_file_handle: Option<&'a FileHandle>,
    file_handles: Vec<&'a FileHandle>,
    custom_fields: &'a [Value],
    profile_url: String,
    source: &'a Value,
    credited_to_user: Option<&'a Value>,
    timezone: &'a str,
    location: CandLocation<'a>,
    fraud_status: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppCandidate<'a> {
    id: &'a str,
    name: &'a str,
    primary_email_address: Contact<'a>,
    primary_phone_number: Option<Contact<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppJob<'a> {
    id: &'a str,
    title: &'a str,
    location_id: &'a str,
    department_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppOut<'a> {
    id: &'a str,
    created_at: String,
    updated_at: String,
    status: &'a str,
    custom_fields: &'a [Value],
    candidate: AppCandidate<'a>,
    current_interview_stage: &'a Value,
    source: &'a Value,
    archive_reason: Option<&'a Value>,
    archived_at: Option<String>,
    job: AppJob<'a>,
    credited_to_user: Option<&'a Value>,
    hiring_team: &'a Value,
    applied_via_job_posting_id: Option<&'a str>,
    submitter_client_ip: Option<&'a str>,
    submitter_user_agent: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventOut<'a> {
    id: String,
    interview_id: String,
    interview_schedule_id: &'a str,
    interviewer_user_ids: Vec<&'a Value>,
    interviewers: Vec<&'a Value>,
    created_at: String,
    updated_at: String,
    start_time: String,
    end_time: String,
    feedback_link: String,
    location: Option<&'a str>,
    meeting_link: String,
    interviewer_calendar_event_id: Option<&'a str>,
    has_submitted_feedback: bool,
    extra_data: Option<&'a Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleOut<'a> {
    id: &'a str,
    status: &'a str,
    application_id: &'a str,
    interview_stage_id: &'a Value,
    scheduled_by: &'a Value,
    created_at: String,
    updated_at: String,
    interview_events: Vec<EventOut<'a>>,
}

/// Builds the seeded store for `seed` and about `records` records.
pub(crate) fn generate(seed: u64, records: usize) -> Store {
    let mut rng = StdRng::seed_from_u64(seed);
    let r = &mut rng;
    let mut store = Store::new();
    let epoch_start = ANCHOR_MS - YEAR_MS;
    let org_start = epoch_start - 2 * YEAR_MS;

    // Users.
    let mut users: Vec<Value> = Vec::new();
    for (i, (first, last, role)) in USERS.iter().enumerate() {
        let id = uuid(r);
        let manager = if i == 0 {
            Value::Null
        } else {
            users[0]["id"].clone()
        };
        let user = json!({
            "id": id,
            "firstName": first,
            "lastName": last,
            "email": format!("{}.{}@acme-sim.example", slug(first), slug(last)),
            "globalRole": role,
            "isEnabled": true,
            "updatedAt": ts(between(r, epoch_start, ANCHOR_MS)),
            "managerId": manager,
            "customFields": [],
        });
        store.insert("user", id, org_start, user.clone());
        users.push(user);
    }
    let user_ref = |u: &Value, role: &str| {
        json!({
            "email": u["email"],
            "firstName": u["firstName"],
            "lastName": u["lastName"],
            "role": role,
            "userId": u["id"],
        })
    };

    // Departments and locations.
    let mut departments: Vec<(String, &str)> = Vec::new();
    for (name, parent) in DEPARTMENTS {
        let id = uuid(r);
        let created = between(r, org_start, epoch_start);
        let parent_id = parent.map(|p| departments[p].0.clone());
        store.insert(
            "department",
            id.clone(),
            created,
            json!({
                "id": id,
                "name": name,
                "externalName": name,
                "isArchived": false,
                "parentId": parent_id,
                "createdAt": ts(created),
                "updatedAt": ts(between(r, created, ANCHOR_MS)),
            }),
        );
        departments.push((id, name));
    }
    let mut locations: Vec<(String, &str)> = Vec::new();
    for (name, city, region, country, postal, street, workplace) in LOCATIONS {
        let id = uuid(r);
        let remote = workplace == "Remote";
        let address = if remote {
            json!({"postalAddress": {"addressCountry": country}})
        } else {
            json!({"postalAddress": {
                "addressCountry": country,
                "addressRegion": region,
                "addressLocality": city,
                "postalCode": postal,
                "streetAddress": street,
            }})
        };
        store.insert(
            "location",
            id.clone(),
            org_start,
            json!({
                "id": id,
                "name": name,
                "externalName": name,
                "isArchived": false,
                "address": address,
                "isRemote": remote,
                "workplaceType": workplace,
                "parentLocationId": null,
                "type": "Location",
            }),
        );
        locations.push((id, name));
    }

    // Sources, archive reasons, tags.
    let mut source_types: BTreeMap<&str, Value> = BTreeMap::new();
    let mut sources: Vec<Value> = Vec::new();
    for (title, kind) in SOURCES {
        let source_type = source_types
            .entry(kind)
            .or_insert_with(|| json!({"id": uuid(r), "title": kind, "isArchived": false}))
            .clone();
        let id = uuid(r);
        let source =
            json!({"id": id, "title": title, "isArchived": false, "sourceType": source_type});
        store.insert("source", id, org_start, source.clone());
        sources.push(source);
    }
    let mut reasons: Vec<Value> = Vec::new();
    for (text, kind) in ARCHIVE_REASONS {
        let id = uuid(r);
        let reason = json!({"id": id, "text": text, "reasonType": kind, "isArchived": false});
        store.insert("archiveReason", id, org_start, reason.clone());
        reasons.push(reason);
    }
    let tags: Vec<Value> = TAGS
        .iter()
        .map(|t| json!({"id": uuid(r), "title": t, "isArchived": false}))
        .collect();

    // Interview plans and stages.
    let mut plans: Vec<Plan> = Vec::new();
    for (title, stages) in PLANS {
        let id = uuid(r);
        store.insert(
            "interviewPlan",
            id.clone(),
            org_start,
            json!({"id": id, "title": title, "isArchived": false}),
        );
        let mut plan = Plan {
            id: id.clone(),
            stages: Vec::new(),
        };
        for (order, (stage_title, kind)) in stages.iter().enumerate() {
            let stage_id = uuid(r);
            let stage = json!({
                "id": stage_id,
                "title": stage_title,
                "type": kind,
                "orderInInterviewPlan": order,
                "interviewStageGroupId": null,
                "interviewPlanId": id,
            });
            store.insert("interviewStage", stage_id, org_start, stage.clone());
            plan.stages.push(stage);
        }
        plans.push(plan);
    }

    // Jobs and their postings.
    let n_jobs = (records / 50).max(3);
    let mut jobs: Vec<JobMeta> = Vec::with_capacity(n_jobs);
    for i in 0..n_jobs {
        let (title, department, plan) = JOB_TITLES[i % JOB_TITLES.len()];
        let title = if i < JOB_TITLES.len() {
            title.to_string()
        } else {
            format!("{title} ({})", LOCATIONS[i % LOCATIONS.len()].0)
        };
        let location = if i < JOB_TITLES.len() {
            r.gen_range(0..LOCATIONS.len())
        } else {
            i % LOCATIONS.len()
        };
        let id = uuid(r);
        let created = between(r, epoch_start - 60 * DAY_MS, ANCHOR_MS - 30 * DAY_MS);
        let roll: f64 = r.gen();
        let status = if i < 3 || roll < 0.6 {
            "Open"
        } else if roll < 0.85 {
            "Closed"
        } else {
            "Archived"
        };
        let open = status == "Open";
        let opened = created + between(r, 0, 7 * DAY_MS);
        let closed = if open {
            None
        } else {
            Some(between(r, opened + 30 * DAY_MS, ANCHOR_MS))
        };
        let manager = &users[r.gen_range(0..users.len())];
        let recruiter = &users[r.gen_range(1..5)];
        let hiring_team = json!([
            user_ref(manager, "Hiring Manager"),
            user_ref(recruiter, "Recruiter")
        ]);
        let posting_id = open.then(|| uuid(r));
        let employment = if r.gen_bool(0.9) {
            "FullTime"
        } else {
            ["PartTime", "Contract", "Intern"][r.gen_range(0..3)]
        };
        let updated = between(r, closed.unwrap_or(opened), ANCHOR_MS);
        store.insert(
            "job",
            id.clone(),
            created,
            json!({
                "id": id,
                "title": title,
                "confidential": r.gen_bool(0.05),
                "status": status,
                "employmentType": employment,
                "locationId": locations[location].0,
                "departmentId": departments[department].0,
                "defaultInterviewPlanId": plans[plan].id,
                "interviewPlanIds": [plans[plan].id],
                "customFields": [],
                "jobPostingIds": posting_id.iter().collect::<Vec<_>>(),
                "customRequisitionId": format!("REQ-{:04}", i + 1),
                "brandId": null,
                "hiringTeam": hiring_team,
                "author": users[0],
                "createdAt": ts(created),
                "updatedAt": ts(updated),
                "openedAt": ts(opened),
                "closedAt": closed.map(ts),
            }),
        );
        if let Some(posting) = &posting_id {
            let workplace = LOCATIONS[location].6;
            let base = [120, 140, 160, 180, 90][r.gen_range(0..5)];
            store.insert(
                "jobPosting",
                posting.clone(),
                opened,
                json!({
                    "id": posting,
                    "title": title,
                    "jobId": id,
                    "departmentName": departments[department].1,
                    "teamName": departments[department].1,
                    "locationName": locations[location].1,
                    "locationIds": {"primaryLocationId": locations[location].0, "secondaryLocationIds": []},
                    "workplaceType": workplace,
                    "employmentType": employment,
                    "isListed": r.gen_bool(0.9),
                    "publishedDate": date(opened),
                    "applicationDeadline": null,
                    "externalLink": format!("https://jobs.ashbyhq.com/acme-sim/{posting}"),
                    "applyLink": format!("https://jobs.ashbyhq.com/acme-sim/{posting}/application"),
                    "compensationTierSummary": format!("${base}K – ${}K • Offers Equity", base + 40),
                    "shouldDisplayCompensationOnJobBoard": r.gen_bool(0.7),
                    "updatedAt": ts(between(r, opened, ANCHOR_MS)),
                }),
            );
        }
        jobs.push(JobMeta {
            id,
            title,
            location,
            department,
            plan,
            open,
            created,
            posting_id,
            hiring_team,
        });
    }
    let open_jobs: Vec<usize> = (0..jobs.len()).filter(|j| jobs[*j].open).collect();

    // Candidates (identity first; serialized once their applications are known).
    // Candidate `i` is the shared fake person `i` (name, email, phone), the same
    // human the other providers' simulators hold, so the daemon links them.
    let n_cands = (records * 2 / 5).max(1);
    let mut cands: Vec<CandMeta> = Vec::with_capacity(n_cands);
    for i in 0..n_cands {
        let id = uuid(r);
        let created = between(r, epoch_start, ANCHOR_MS - DAY_MS);
        let (who, name, primary, second) = if i > 10 && r.gen_bool(0.02) {
            // Shares an email with an earlier candidate (a duplicate person), sometimes in
            // another case.
            let other = &cands[r.gen_range(0..i)];
            let mut email = other.email.clone();
            if r.gen_bool(0.5) {
                email = email.to_uppercase();
            }
            (other.person, other.name.clone(), email, None)
        } else {
            let p = person(i as u64);
            former_name_draws(r);
            let second = r.gen_bool(0.3).then(|| {
                let company = COMPANIES[r.gen_range(0..COMPANIES.len())];
                format!(
                    "{}@{}.example",
                    slug(&p.first_name),
                    slug(company).replace('.', "")
                )
            });
            (i as u64, p.name(), p.email, second)
        };
        let phone = r.gen_bool(0.85).then(|| {
            former_phone_draws(r);
            person(who).phone
        });
        let source = r.gen_range(0..sources.len());
        let city = r.gen_range(0..CITIES.len());
        let handle = slug(&name).replace('.', "-");
        let mut social = vec![Link {
            kind: "LinkedIn",
            url: format!("https://www.linkedin.com/in/{handle}-{i}"),
        }];
        if r.gen_bool(0.3) {
            social.push(Link {
                kind: "GitHub",
                url: format!("https://github.com/{}{i}", handle.replace('-', "")),
            });
        }
        let tag_ids: Vec<usize> = match r.gen_range(0..10) {
            0..=5 => vec![],
            6..=8 => vec![r.gen_range(0..tags.len())],
            _ => rand::seq::index::sample(r, tags.len(), 2).into_vec(),
        };
        let resume = r.gen_bool(0.8).then(|| FileHandle {
            id: uuid(r),
            name: format!("{}_resume.pdf", handle.replace('-', "_")),
            handle: uuid(r),
        });
        cands.push(CandMeta {
            id,
            person: who,
            name,
            email: primary,
            second_email: second,
            phone,
            created,
            source,
            city,
            location_id: uuid(r),
            social,
            tags: tag_ids,
            position: r
                .gen_bool(0.9)
                .then(|| POSITIONS[r.gen_range(0..POSITIONS.len())]),
            company: r
                .gen_bool(0.85)
                .then(|| COMPANIES[r.gen_range(0..COMPANIES.len())]),
            school: r
                .gen_bool(0.5)
                .then(|| SCHOOLS[r.gen_range(0..SCHOOLS.len())]),
            resume,
            credited: r.gen_bool(0.4).then(|| r.gen_range(1..5)),
            timezone: TIMEZONES[r.gen_range(0..TIMEZONES.len())],
            fraud: (!r.gen_bool(0.9)).then_some("NotFraudulent"),
            apps: Vec::new(),
        });
    }

    // Applications.
    let mut reasons_cf = reasons.clone();
    for reason in &mut reasons_cf {
        reason["customFields"] = json!([]);
    }
    let n_apps = records * 2 / 5;
    let mut apps: Vec<AppMeta> = Vec::with_capacity(n_apps);
    let mut cand_jobs: Vec<Vec<usize>> = vec![Vec::new(); n_cands];
    let no_fields: &[Value] = &[];
    for _ in 0..n_apps {
        let mut c = r.gen_range(0..n_cands);
        let mut tries = 0;
        while cands[c].apps.len() >= 3 && tries < n_cands {
            c = (c + 1) % n_cands;
            tries += 1;
        }
        if tries >= n_cands {
            break;
        }
        let mut j = if !open_jobs.is_empty() && r.gen_bool(0.8) {
            open_jobs[r.gen_range(0..open_jobs.len())]
        } else {
            r.gen_range(0..jobs.len())
        };
        while cand_jobs[c].contains(&j) {
            j = (j + 1) % jobs.len();
        }
        cand_jobs[c].push(j);
        let job = &jobs[j];
        let plan = &plans[job.plan];
        let id = uuid(r);
        let created = (cands[c].created.max(job.created) + between(r, 0, 20 * DAY_MS))
            .min(ANCHOR_MS - 3_600_000);
        let roll: f64 = r.gen();
        let status = if roll < 0.70 {
            "Active"
        } else if roll < 0.90 {
            "Archived"
        } else if roll < 0.95 {
            "Hired"
        } else {
            "Lead"
        };
        let stage = match status {
            "Active" => plan.of_type(r, &["PreInterviewScreen", "Active", "Offer"]),
            "Archived" => plan.of_type(r, &["Archived"]),
            "Hired" => plan.of_type(r, &["Hired"]),
            _ => plan.of_type(r, &["Lead"]),
        };
        let archived_at = (status == "Archived").then(|| between(r, created, ANCHOR_MS));
        let reason = archived_at.map(|_| &reasons_cf[r.gen_range(0..reasons_cf.len())]);
        let updated = between(r, archived_at.unwrap_or(created), ANCHOR_MS);
        let source = if r.gen_bool(0.9) {
            cands[c].source
        } else {
            r.gen_range(0..sources.len())
        };
        let via_posting = if SOURCES[source].0 == "Careers page" {
            job.posting_id.as_deref()
        } else {
            None
        };
        let cand = &cands[c];
        let out = AppOut {
            id: &id,
            created_at: ts(created),
            updated_at: ts(updated),
            status,
            custom_fields: no_fields,
            candidate: AppCandidate {
                id: &cand.id,
                name: &cand.name,
                primary_email_address: Contact::primary(&cand.email),
                primary_phone_number: cand.phone.as_deref().map(Contact::primary),
            },
            current_interview_stage: stage,
            source: &sources[source],
            archive_reason: reason,
            archived_at: archived_at.map(ts),
            job: AppJob {
                id: &job.id,
                title: &job.title,
                location_id: &locations[job.location].0,
                department_id: &departments[job.department].0,
            },
            credited_to_user: r.gen_bool(0.3).then(|| &users[r.gen_range(1..5)]),
            hiring_team: &job.hiring_team,
            applied_via_job_posting_id: via_posting,
            submitter_client_ip: None,
            submitter_user_agent: None,
        };
        let json = serde_json::to_string(&out).expect("serializing generated data is infallible");
        let keys = vec![Value::from(status), Value::from(job.id.as_str())];
        store.insert_raw("application", id.clone(), created, json, keys);
        cands[c].apps.push(id.clone());
        apps.push(AppMeta {
            id,
            status,
            stage,
            plan: job.plan,
            created,
        });
    }

    // Candidates, now that application ids are known.
    for cand in &cands {
        let mut emails = vec![Contact::primary(&cand.email)];
        if let Some(second) = &cand.second_email {
            emails.push(Contact {
                value: second,
                kind: "Work",
                is_primary: false,
            });
        }
        let phone = cand.phone.as_deref().map(Contact::primary);
        let city = CITIES[cand.city];
        let out = CandidateOut {
            id: &cand.id,
            created_at: ts(cand.created),
            updated_at: ts(between(r, cand.created, ANCHOR_MS)),
            name: &cand.name,
            primary_email_address: Contact::primary(&cand.email),
            email_addresses: emails,
            primary_phone_number: phone.clone(),
            phone_numbers: phone.into_iter().collect(),
            social_links: &cand.social,
            tags: cand.tags.iter().map(|t| &tags[*t]).collect(),
            position: cand.position,
            company: cand.company,
            school: cand.school,
            application_ids: &cand.apps,
            resume_file_handle: cand.resume.as_ref(),
            file_handles: cand.resume.iter().collect(),
            custom_fields: no_fields,
            profile_url: format!("https://app.ashbyhq.com/candidates/{}", cand.id),
            source: &sources[cand.source],
            credited_to_user: cand.credited.map(|u| &users[u]),
            timezone: cand.timezone,
            location: CandLocation {
                id: &cand.location_id,
                location_summary: format!("{}, {}, {}", city.0, city.1, city.2),
                location_components: [
                    Component {
                        kind: "Country",
                        name: city.2,
                    },
                    Component {
                        kind: "Region",
                        name: city.1,
                    },
                    Component {
                        kind: "City",
                        name: city.0,
                    },
                ],
            },
            fraud_status: cand.fraud,
        };
        let json = serde_json::to_string(&out).expect("serializing generated data is infallible");
        store.insert_raw("candidate", cand.id.clone(), cand.created, json, Vec::new());
    }

    // Interview schedules.
    let n_sched = records / 10;
    let interviewers_of: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut u = u.clone();
            u["trainingRole"] = Value::Null;
            u
        })
        .collect();
    let interviewable: Vec<usize> = (0..apps.len())
        .filter(|a| apps[*a].status != "Lead")
        .collect();
    // Completed events feedback can be about: (event id, interview id, application, interviewers, end).
    let mut events: Vec<(String, String, usize, Vec<usize>, i64)> = Vec::new();
    if !interviewable.is_empty() {
        for _ in 0..n_sched {
            let a = interviewable[r.gen_range(0..interviewable.len())];
            let app = &apps[a];
            let plan = &plans[app.plan];
            let stage = if app.stage["type"] == "Active" {
                app.stage
            } else {
                plan.of_type(r, &["Active"])
            };
            let id = uuid(r);
            let created = between(r, app.created, ANCHOR_MS);
            let status = match app.status {
                "Hired" => "Complete",
                "Archived" => ["Complete", "Cancelled"][r.gen_range(0..2)],
                _ => [
                    "Scheduled",
                    "Complete",
                    "WaitingOnFeedback",
                    "NeedsScheduling",
                    "Complete",
                ][r.gen_range(0..5)],
            };
            let n_events = if status == "NeedsScheduling" {
                0
            } else {
                r.gen_range(1..4)
            };
            let mut event_list = Vec::with_capacity(n_events);
            let day = (created + between(r, DAY_MS, 10 * DAY_MS)) / 3_600_000 * 3_600_000;
            let created_at = ts(created);
            for e in 0..n_events {
                let event_id = uuid(r);
                let interview_id = uuid(r);
                let start = day + e as i64 * 3_600_000;
                let end = start + [30, 45, 60][r.gen_range(0..3)] * 60_000;
                let n_int = r.gen_range(1..3);
                let interviewers: Vec<usize> =
                    rand::seq::index::sample(r, users.len(), n_int).into_vec();
                event_list.push(EventOut {
                    interview_id: interview_id.clone(),
                    interview_schedule_id: &id,
                    interviewer_user_ids: interviewers.iter().map(|u| &users[*u]["id"]).collect(),
                    interviewers: interviewers.iter().map(|u| &interviewers_of[*u]).collect(),
                    created_at: created_at.clone(),
                    updated_at: created_at.clone(),
                    start_time: ts(start),
                    end_time: ts(end),
                    feedback_link: format!(
                        "https://app.ashbyhq.com/interview-briefings/{event_id}/feedback"
                    ),
                    location: r.gen_bool(0.3).then_some("Onsite – Room 4B"),
                    meeting_link: format!("https://meet.google.com/{}", &event_id[..12]),
                    interviewer_calendar_event_id: None,
                    has_submitted_feedback: status == "Complete",
                    extra_data: None,
                    id: event_id.clone(),
                });
                if status == "Complete" || status == "WaitingOnFeedback" {
                    events.push((event_id, interview_id, a, interviewers, end));
                }
            }
            let out = ScheduleOut {
                id: &id,
                status,
                application_id: &app.id,
                interview_stage_id: &stage["id"],
                scheduled_by: &users[r.gen_range(1..5)],
                created_at: created_at.clone(),
                updated_at: ts(between(r, created, ANCHOR_MS)),
                interview_events: event_list,
            };
            let json =
                serde_json::to_string(&out).expect("serializing generated data is infallible");
            let keys = vec![Value::from(app.id.as_str()), stage["id"].clone()];
            store.insert_raw("interviewSchedule", id, created, json, keys);
        }
    }

    // Offers: hired applications first, then some in an Offer stage or elsewhere.
    let n_offers = (records / 50).min(apps.len());
    let mut offer_apps: Vec<usize> = (0..apps.len())
        .filter(|a| apps[*a].status == "Hired")
        .collect();
    offer_apps.extend(
        (0..apps.len())
            .filter(|a| apps[*a].status == "Active" && apps[*a].stage["type"] == "Offer"),
    );
    offer_apps.extend(
        (0..apps.len())
            .filter(|a| apps[*a].status == "Archived")
            .take(n_offers),
    );
    offer_apps.truncate(n_offers);
    for a in offer_apps {
        let app = &apps[a];
        let id = uuid(r);
        let created = between(r, app.created, ANCHOR_MS);
        let (acceptance, offer_status, approval, decided) = match app.status {
            "Hired" => (
                "Accepted",
                "CandidateAccepted",
                "Approved",
                Some(between(r, created, ANCHOR_MS)),
            ),
            "Archived" => match r.gen_range(0..2) {
                0 => (
                    "Declined",
                    "CandidateRejected",
                    "Approved",
                    Some(between(r, created, ANCHOR_MS)),
                ),
                _ => ("Cancelled", "OfferCancelled", "Declined", None),
            },
            _ => match r.gen_range(0..3) {
                0 => (
                    "Pending",
                    "WaitingOnOfferApproval",
                    "WaitingOnApprovals",
                    None,
                ),
                1 => (
                    "WaitingOnResponse",
                    "WaitingOnCandidateResponse",
                    "Approved",
                    None,
                ),
                _ => (
                    "Created",
                    "WaitingOnApprovalStart",
                    "WaitingOnApprovals",
                    None,
                ),
            },
        };
        let (currency, base) = [
            ("USD", 120_000),
            ("USD", 165_000),
            ("GBP", 85_000),
            ("EUR", 90_000),
            ("CAD", 130_000),
        ][r.gen_range(0..5)];
        store.insert(
            "offer",
            id.clone(),
            created,
            json!({
                "id": id,
                "decidedAt": decided.map(ts),
                "applicationId": app.id,
                "acceptanceStatus": acceptance,
                "offerStatus": offer_status,
                "latestVersion": {
                    "id": uuid(r),
                    "startDate": date(created + between(r, 14 * DAY_MS, 60 * DAY_MS)),
                    "salary": {"currencyCode": currency, "value": base + r.gen_range(0..40) * 1000},
                    "createdAt": ts(created),
                    "openingId": null,
                    "customFields": [],
                    "fileHandles": [],
                    "author": users[r.gen_range(1..5)],
                    "approvalStatus": approval,
                },
            }),
        );
    }

    // Application feedback, mostly on completed interview events.
    let n_feedback = records * 2 / 25;
    let form_id = uuid(r);
    let form = json!({
        "sections": [{
            "fields": [
                {"isRequired": true, "field": {"id": uuid(r), "type": "Score", "path": "overall_recommendation", "title": "Overall Recommendation", "isNullable": false}},
                {"isRequired": false, "field": {"id": uuid(r), "type": "RichText", "path": "notes", "title": "Notes", "isNullable": true}},
            ],
        }],
    });
    if !apps.is_empty() {
        for f in 0..n_feedback {
            let id = uuid(r);
            let (app_id, event_id, interview_id, user, submitted) =
                if !events.is_empty() && f % 10 != 0 {
                    let (event_id, interview_id, a, interviewers, end) =
                        &events[r.gen_range(0..events.len())];
                    let user = interviewers[r.gen_range(0..interviewers.len())];
                    let submitted = (end + between(r, 3_600_000, 2 * DAY_MS)).min(ANCHOR_MS);
                    (
                        apps[*a].id.clone(),
                        json!(event_id),
                        json!(interview_id),
                        user,
                        submitted,
                    )
                } else {
                    let app = &apps[r.gen_range(0..apps.len())];
                    (
                        app.id.clone(),
                        Value::Null,
                        Value::Null,
                        r.gen_range(0..users.len()),
                        between(r, app.created, ANCHOR_MS),
                    )
                };
            let score = r.gen_range(1..5);
            store.insert(
                "applicationFeedback",
                id.clone(),
                submitted,
                json!({
                    "id": id,
                    "formDefinition": form,
                    "submittedValues": {
                        "overall_recommendation": {"value": score},
                        "notes": NOTES[r.gen_range(0..NOTES.len())],
                    },
                    "submittedByUser": users[user],
                    "interviewId": interview_id,
                    "interviewEventId": event_id,
                    "feedbackFormDefinitionId": form_id,
                    "applicationHistoryId": null,
                    "applicationId": app_id,
                    "submittedAt": ts(submitted),
                }),
            );
        }
    }
    metadata(seed, &mut store, &tags, &form_id, &form, org_start);
    store
}

/// (title, object type, field type, selectable values, archived) of custom fields.
const CUSTOM_FIELDS: [(&str, &str, &str, &[&str], bool); 6] = [
    (
        "Preferred Teams",
        "Application",
        "MultiValueSelect",
        &[
            "Backend Engineering",
            "Frontend Engineering",
            "Data Platform",
        ],
        false,
    ),
    ("Visa Required", "Candidate", "Boolean", &[], false),
    ("Expected Salary", "Candidate", "Currency", &[], false),
    ("Target Start Date", "Job", "Date", &[], false),
    ("Signing Bonus", "Offer", "Number", &[], false),
    ("Referral Notes", "Candidate", "LongText", &[], true),
];

/// Hiring-process metadata (candidate tags, custom fields, feedback forms),
/// drawn from a generator of its own so that adding it changed no other
/// seeded object.
fn metadata(
    seed: u64,
    store: &mut Store,
    tags: &[Value],
    form_id: &str,
    form: &Value,
    created: i64,
) {
    let r = &mut StdRng::seed_from_u64(seed ^ 0x6d65_7461_6461_7461);
    for tag in tags {
        if let Some(id) = tag["id"].as_str() {
            store.insert("candidateTag", id.to_string(), created, tag.clone());
        }
    }
    let archived_tag = uuid(r);
    store.insert(
        "candidateTag",
        archived_tag.clone(),
        created,
        json!({"id": archived_tag, "title": "Legacy import", "isArchived": true}),
    );
    for (title, object_type, field_type, values, archived) in CUSTOM_FIELDS {
        let id = uuid(r);
        let mut field = json!({
            "id": id,
            "isPrivate": field_type == "Currency",
            "title": title,
            "objectType": object_type,
            "isArchived": archived,
            "fieldType": field_type,
            "isRequired": false,
        });
        // The spec lists selectable values only for MultiValueSelect fields.
        if field_type == "MultiValueSelect" {
            field["selectableValues"] = values
                .iter()
                .map(|v| json!({"label": v, "value": v, "isArchived": false}))
                .collect();
        }
        store.insert("customField", id, created, field);
    }
    let organization = uuid(r);
    let screen = json!({
        "sections": [{
            "fields": [
                {"isRequired": true, "field": {"id": uuid(r), "type": "Score", "path": "overall_recommendation", "title": "Overall Recommendation", "isNullable": false}},
                {"isRequired": false, "field": {"id": uuid(r), "type": "Boolean", "path": "move_forward", "title": "Move forward?", "isNullable": true}},
            ],
        }],
    });
    let forms = [
        (form_id.to_string(), "Interview Feedback", form, true, false),
        (uuid(r), "Phone Screen Feedback", &screen, false, false),
        (uuid(r), "Legacy Scorecard", &screen, false, true),
    ];
    for (id, title, definition, default, archived) in forms {
        store.insert(
            "feedbackFormDefinition",
            id.clone(),
            created,
            json!({
                "id": id,
                "organizationId": organization,
                "title": title,
                "isArchived": archived,
                "isDefaultForm": default,
                "formDefinition": definition,
            }),
        );
    }
}
