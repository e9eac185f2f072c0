//! A simulator that behaves like GoodHire's sandbox (seed
//! `001_9bab87cc4353b0db.txt`), on the SDK's sim kit: reports that move through
//! statuses one step per change (New, awaiting the candidate's input and
//! consent, processing, then clear, alert, canceled or expired), candidates
//! whose last name is `Alert`, `AlertSsnValid` or `AlertSsn` completing with
//! alerts as the sandbox documents, Ongoing Alerts subscriptions gaining runs,
//! the error envelope, and signed webhooks retried on GoodHire's schedule
//! (scaled). Candidates carry an SSN, a date of birth, a driver's licence and
//! an address, so the daemon's redaction is exercised. Candidate `n` is the
//! SDK's shared fake person `n`, who also applies in the other simulators.

mod running;

pub use running::GoodhireSimulator;

use hirebridge_sdk::http::Auth;
use hirebridge_sdk::sim::people::person;
use hirebridge_sdk::sim::{authorized, SimServer, WebhookSender};
use hirebridge_sdk::Secret;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;

/// The sandbox's alert-producing last names (seed "Test Data").
pub const ALERT_NAMES: [&str; 3] = ["Alert", "AlertSsnValid", "AlertSsn"];

/// The report sections of a candidate named `Alert` (all of them alert).
const ALL_SECTIONS: [&str; 4] = [
    "Sex Offender List Check",
    "National Criminal Records Check",
    "Misc Court Records",
    "SSN Trace + Address History",
];

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub api_key: String,
    pub seed: u64,
    /// Reports held at start.
    pub reports: usize,
    /// What one of GoodHire's retry hours lasts here.
    pub retry_hour: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: "sim-key".into(),
            seed: 1,
            reports: 20,
            retry_hour: Duration::from_millis(5),
        }
    }
}

/// GoodHire's retry waits: 2, 4, 6 and 8 hours, then every 12 hours, for up
/// to 10 days (seed "Webhooks"), with `hour` standing for an hour.
pub fn retry_schedule(hour: Duration) -> Vec<Duration> {
    let mut hours = vec![2u32, 4, 6, 8];
    let mut total: u32 = hours.iter().sum();
    while total + 12 <= 240 {
        hours.push(12);
        total += 12;
    }
    hours.into_iter().map(|h| hour * h).collect()
}

/// One report: whose, and how far it has moved.
#[derive(Debug, Clone)]
pub struct SimReport {
    pub id: String,
    /// The shared fake person.
    pub person: u64,
    /// The last name sent, which decides alerts in the sandbox.
    pub last_name: String,
    pub step: usize,
    /// How it ends: `CompletedClear`/`CompletedAlert`, `Canceled` or `Expired`.
    pub ending: &'static str,
}

/// One Ongoing Alerts subscription.
#[derive(Debug, Clone)]
pub struct SimSubscription {
    pub id: String,
    pub report_id: String,
    pub active: bool,
    pub runs: Vec<(String, &'static str)>,
}

#[derive(Debug, Default)]
struct Store {
    reports: Vec<SimReport>,
    subscriptions: Vec<SimSubscription>,
    flagged: bool,
    next: u64,
}

/// The simulator's state, shared by its server and its driver.
#[derive(Clone)]
pub struct GoodhireSim {
    config: Arc<SimConfig>,
    store: Arc<Mutex<Store>>,
    sender: Arc<Mutex<Option<WebhookSender>>>,
}

/// A GUID-looking id, deterministic in `seed` and `n`.
pub fn guid(seed: u64, kind: u64, n: u64) -> String {
    let x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(kind << 40)
        .wrapping_add(n);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (x >> 32) as u32,
        (x >> 16) as u16,
        n % 0x1000,
        kind % 0x1000,
        x & 0xffff_ffff_ffff
    )
}

/// The sensitive values of person `n` as this simulator sends them (tests
/// search the database and logs for each). The zip code is left out: five
/// digits also occur in ports and counters, so searching for it proves nothing.
pub fn sensitive_values(n: u64) -> Vec<String> {
    let c = candidate(n, &person(n).last_name);
    let mut out = Vec::new();
    for key in ["SSN", "DateOfBirth", "Address"] {
        if let Some(v) = c.get(key).and_then(Value::as_str) {
            out.push(v.to_string());
        }
    }
    if let Some(v) = c["CandidateDriverRecords"][0]["DriverLicenseNum"].as_str() {
        out.push(v.to_string());
    }
    out
}

/// Candidate `n` as GoodHire echoes it, sensitive fields included.
pub fn candidate(n: u64, last_name: &str) -> Value {
    let p = person(n);
    json!({
        "FirstName": p.first_name,
        "LastName": last_name,
        "Email": p.email,
        "DateOfBirth": format!("19{:02}-{:02}-{:02}", 60 + n % 40, 1 + n % 12, 1 + n % 28),
        "SSN": format!("9{:02}-{:02}-{:04}", n % 100, 10 + n % 90, 1000 + n % 9000),
        "Address": format!("{} Quietlane Ave Unit {}", 100 + n, 7 + n % 50),
        "City": "Ocala",
        "State": "FL",
        "Zip": format!("3{:04}", 4000 + n % 5000),
        "CandidateDriverRecords": [{
            "DriverLicenseNum": format!("Q{:03}-{:03}-{:02}-{:03}-0", n % 1000, 500 + n % 400, n % 97, 800 + n % 100),
            "DriverLicenseState": "FL"
        }]
    })
}

/// The statuses a report passes through, by step; the last is its ending.
fn status_at(r: &SimReport) -> (&'static str, &'static str) {
    const PATH: [(&str, &str); 4] = [
        ("New", "New"),
        ("MissingInput", "AwaitingInput"),
        ("Processing", "AwaitingConsentReview"),
        ("Processing", ""),
    ];
    if r.step < PATH.len() && !(r.ending == "Expired" && r.step >= 2) {
        return PATH[r.step];
    }
    match r.ending {
        "Canceled" | "Expired" => (r.ending, "CanceledOrExpired"),
        _ if ALERT_NAMES.contains(&r.last_name.as_str()) => ("CompletedAlert", "Alert"),
        _ => ("CompletedClear", "Clear"),
    }
}

/// A report as `GET /v1/Report/{id}` returns it.
pub fn report_json(r: &SimReport) -> Value {
    let (status, details) = status_at(r);
    let sections: Vec<&str> = match (status, r.last_name.as_str()) {
        ("CompletedAlert", "Alert") => ALL_SECTIONS.to_vec(),
        ("CompletedAlert", _) => vec!["SSN Trace + Address History"],
        _ => Vec::new(),
    };
    let actions = if status == "MissingInput" {
        json!([{
            "Description": "Candidate consent is missing (candidate has been notified to provide consent thru self-complete flow)",
            "Type": "MissingCandidateConsent",
            "Url": "https://sandbox.goodhire.com/member/?_act=dashboard",
            "UrlCandidate": format!("https://sandbox.goodhire.com/member/self-complete?_cnduid={}&showConsent=1", r.id)
        }])
    } else {
        json!([])
    };
    json!({
        "Id": r.id,
        "Candidate": candidate(r.person, &r.last_name),
        "Status": status,
        "StatusDetails": details,
        "SectionsContainingAlerts": sections,
        "ReportViewerUrl": format!("https://sandbox.goodhire.com/member/?_act=candidateReportAPI&_cnduid={}", r.id),
        "RequiredReportActions": actions,
    })
}

/// A subscription as `GET /v1/Subscription/{id}` returns it.
pub fn subscription_json(s: &SimSubscription) -> Value {
    json!({
        "Id": s.id,
        "ReportId": s.report_id,
        "IsActive": s.active,
        "StartedOn": "2026-11-01T09:00:00.0000000-07:00",
        "LastStatus": s.runs.last().map(|r| r.1).unwrap_or("New"),
        "ReportUrl": format!("https://sandbox.goodhire.com/member/?_act=phm_report&_cnduid={}", s.id),
        "Results": s.runs.iter().map(|(d, st)| json!({"Date": d, "Status": st})).collect::<Vec<_>>(),
    })
}

/// GoodHire's error envelope.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "StatusCode": code,
            "StatusMessage": message,
            "AdditionalInfo": {"ErrorText": message, "FieldErrors": []}
        })),
    )
        .into_response()
}

impl GoodhireSim {
    pub fn new(config: SimConfig) -> GoodhireSim {
        let sim = GoodhireSim {
            config: Arc::new(config),
            store: Arc::new(Mutex::new(Store::default())),
            sender: Arc::new(Mutex::new(None)),
        };
        for _ in 0..sim.config.reports {
            sim.order(None);
        }
        sim
    }

    fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut guard = match self.store.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Orders a report for the next person (`last_name` overrides the
    /// person's, e.g. `Alert`); every seventh ends canceled or expired, every
    /// fifth is for an alert name. Every completed fourth report gets a
    /// subscription. Returns the report's id.
    pub fn order(&self, last_name: Option<&str>) -> String {
        let seed = self.config.seed;
        self.with(|s| {
            let n = s.next;
            s.next += 1;
            let last_name = match last_name {
                Some(l) => l.to_string(),
                None if n % 5 == 4 => ALERT_NAMES[(n / 5 % 3) as usize].to_string(),
                None => person(n).last_name,
            };
            let ending = match n % 7 {
                5 => "Canceled",
                6 => "Expired",
                _ => "Completed",
            };
            let report = SimReport {
                id: guid(seed, 1, n),
                person: n,
                last_name,
                step: 0,
                ending,
            };
            let id = report.id.clone();
            if n % 4 == 0 {
                s.subscriptions.push(SimSubscription {
                    id: guid(seed, 2, n),
                    report_id: id.clone(),
                    active: true,
                    runs: Vec::new(),
                });
            }
            s.reports.push(report);
            id
        })
    }

    pub fn report_ids(&self) -> Vec<String> {
        self.with(|s| s.reports.iter().map(|r| r.id.clone()).collect())
    }

    pub fn subscription_ids(&self) -> Vec<String> {
        self.with(|s| s.subscriptions.iter().map(|r| r.id.clone()).collect())
    }

    pub fn report(&self, id: &str) -> Option<Value> {
        self.with(|s| s.reports.iter().find(|r| r.id == id).map(report_json))
    }

    pub fn subscription(&self, id: &str) -> Option<Value> {
        self.with(|s| {
            s.subscriptions
                .iter()
                .find(|r| r.id == id)
                .map(subscription_json)
        })
    }

    /// Moves report `index` (modulo the count) one status on; returns it.
    pub fn advance(&self, index: u64) -> Option<Value> {
        self.with(|s| {
            let len = s.reports.len() as u64;
            let r = s.reports.get_mut((index % len.max(1)) as usize)?;
            r.step += 1;
            Some(report_json(r))
        })
    }

    /// Adds a run to subscription `index` (modulo the count); the fifth run of
    /// one ends it (canceled), as an operator's cancel would.
    pub fn run_subscription(&self, index: u64) -> Option<Value> {
        self.with(|s| {
            let len = s.subscriptions.len() as u64;
            let sub = s.subscriptions.get_mut((index % len.max(1)) as usize)?;
            if sub.active {
                let n = sub.runs.len();
                let status = if n >= 4 {
                    sub.active = false;
                    "Canceled"
                } else if n % 3 == 2 {
                    "Alert"
                } else {
                    "Clear"
                };
                sub.runs
                    .push((format!("2026-11-{:02}T16:23:04.433-07:00", 2 + n), status));
            }
            Some(subscription_json(sub))
        })
    }

    /// From now on every answer is 403, as for an account flagged for review.
    pub fn set_flagged(&self, flagged: bool) {
        self.with(|s| s.flagged = flagged);
    }

    pub fn counts(&self) -> (usize, usize) {
        self.with(|s| (s.reports.len(), s.subscriptions.len()))
    }

    /// Webhooks from now on go to `url`, signed with the API key as GoodHire does.
    pub fn send_webhooks_to(&self, url: &str) {
        let sender = WebhookSender::new(
            url,
            crate::plugin::signature_scheme(),
            self.config.api_key.clone(),
        )
        .with_retry_schedule(retry_schedule(self.config.retry_hour));
        if let Ok(mut guard) = self.sender.lock() {
            *guard = Some(sender);
        }
    }

    /// The webhook body for `report`, with webhook id `webhook_id`.
    pub fn webhook_body(webhook_id: &str, report: &Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"Id": webhook_id, "ReportStatus": report})).unwrap_or_default()
    }

    /// Sends `report`'s change as a webhook, when a receiver is set.
    pub async fn notify(&self, report: &Value) -> Result<(), String> {
        let sender = self.sender.lock().ok().and_then(|g| g.clone());
        let Some(sender) = sender else {
            return Ok(());
        };
        let n = self.with(|s| {
            s.next += 1;
            s.next
        });
        let body = Self::webhook_body(&guid(self.config.seed, 3, n), report);
        match sender.send(body, Vec::new(), None).await {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("the webhook could not be sent: {e}")),
        }
    }

    /// Serves the API under `/v1`.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        let router = axum::Router::new()
            .route("/v1/Report", post(create_report))
            .route("/v1/Report/{id}", get(get_report))
            .route("/v1/Subscription", post(create_subscription))
            .route("/v1/Subscription/{id}", get(get_subscription))
            .with_state(self.clone());
        SimServer::serve(router, addr, "/v1").await
    }

    fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        let auth = Auth::Scheme {
            scheme: "ApiKey",
            key: Secret::new(self.config.api_key.clone()),
        };
        if !authorized(&auth, headers) {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Invalid API key",
            ));
        }
        if self.with(|s| s.flagged) {
            return Some(error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Customer's account is flagged for review",
            ));
        }
        None
    }
}

async fn get_report(
    State(sim): State<GoodhireSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = sim.refuse(&headers) {
        return r;
    }
    match sim.report(&id) {
        Some(v) => Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "NotFound", "Resource not found"),
    }
}

async fn get_subscription(
    State(sim): State<GoodhireSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = sim.refuse(&headers) {
        return r;
    }
    match sim.subscription(&id) {
        Some(v) => Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "NotFound", "Resource not found"),
    }
}

async fn create_report(
    State(sim): State<GoodhireSim>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = sim.refuse(&headers) {
        return r;
    }
    let last = body["Candidate"]["LastName"].as_str();
    if last.is_none() || body["Candidate"]["Email"].as_str().is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Candidate FirstName, LastName and Email are required",
        );
    }
    let id = sim.order(last);
    match sim.report(&id) {
        Some(v) => (StatusCode::CREATED, Json(v)).into_response(),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "try again later",
        ),
    }
}

async fn create_subscription(
    State(sim): State<GoodhireSim>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = sim.refuse(&headers) {
        return r;
    }
    let Some(report_id) = body["ReportId"].as_str().map(str::to_string) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "ReportId is required",
        );
    };
    if sim.report(&report_id).is_none() {
        return error(StatusCode::NOT_FOUND, "NotFound", "Resource not found");
    }
    let seed = sim.config.seed;
    let sub = sim.with(|s| {
        if s.subscriptions.iter().any(|x| x.report_id == report_id) {
            return None;
        }
        s.next += 1;
        let sub = SimSubscription {
            id: guid(seed, 2, 1_000_000 + s.next),
            report_id,
            active: true,
            runs: Vec::new(),
        };
        s.subscriptions.push(sub.clone());
        Some(sub)
    });
    match sub {
        Some(s) => (StatusCode::CREATED, Json(subscription_json(&s))).into_response(),
        None => error(
            StatusCode::CONFLICT,
            "Conflict",
            "Resource has already been linked to your API account",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_is_goodhires_within_ten_days() {
        let s = retry_schedule(Duration::from_secs(1));
        assert_eq!(&s[..5], &[2, 4, 6, 8, 12].map(Duration::from_secs));
        assert!(s.iter().sum::<Duration>() <= Duration::from_secs(240));
    }

    #[test]
    fn alert_names_complete_with_alerts() {
        let sim = GoodhireSim::new(SimConfig {
            reports: 0,
            ..SimConfig::default()
        });
        let id = sim.order(Some("AlertSsn"));
        let mut last = Value::Null;
        for _ in 0..5 {
            last = sim.advance(0).unwrap_or_default();
        }
        assert_eq!(sim.report(&id).unwrap()["Status"], "CompletedAlert");
        assert_eq!(
            last["SectionsContainingAlerts"][0],
            "SSN Trace + Address History"
        );
    }
}
