//! The simulator's HTTP side: an axum server answering `POST /<object>.<verb>` with
//! Basic auth, fault injection, Ashby's envelope, and paginated/incremental listings.

use super::store::{self, Cond, Cursor, Filter, Token};
use super::Simulator;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use hirebridge_sdk::sim::{json_response, Fault};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Lists with cursor/syncToken paging.
const PAGINATED: [&str; 13] = [
    "candidate",
    "application",
    "job",
    "interviewSchedule",
    "offer",
    "applicationFeedback",
    "user",
    "department",
    "location",
    "interviewPlan",
    "candidateTag",
    "customField",
    "feedbackFormDefinition",
];

/// Body fields by documented type, for Ashby's schema-aware coercion: JSON
/// numbers with no fraction and numeric strings pass as integers, `"true"` and
/// `"false"` as booleans. Fields not listed (ids, cursors, tokens) are never
/// rewritten, as Ashby keeps numeric-looking strings in free-text fields.
const INTEGER_FIELDS: [&str; 5] = [
    "createdAfter",
    "openedAfter",
    "openedBefore",
    "closedAfter",
    "closedBefore",
];
const NUMBER_FIELDS: [&str; 1] = ["limit"];
const BOOLEAN_FIELDS: [&str; 7] = [
    "includeArchived",
    "includeDeactivated",
    "listedOnly",
    "includeLocationHierarchy",
    "includeUnpublishedJobPostingsIds",
    "includeNonSharedInterviews",
    "excludeArchivedScheduleTemplateInterviews",
];

/// HTTP status for a POST without `Content-Type: application/json`. Ashby's
/// introduction requires the header; a 400 is what Ashby answered a client that
/// omitted it (estuary/connectors#4126). The spec names no status or code.
const CONTENT_TYPE_STATUS: StatusCode = StatusCode::BAD_REQUEST;

/// Lists that accept `createdAfter`.
const CREATED_AFTER: [&str; 6] = [
    "candidate",
    "application",
    "job",
    "interviewSchedule",
    "offer",
    "applicationFeedback",
];

/// Objects with an `.info` route, and the body field naming the object.
const INFO: [(&str, &str, &str); 5] = [
    ("candidate", "candidateId", "candidate_not_found"),
    ("application", "applicationId", "application_not_found"),
    ("job", "jobId", "job_not_found"),
    ("jobPosting", "jobPostingId", "job_posting_not_found"),
    ("offer", "offerId", "offer_not_found"),
];

pub use hirebridge_sdk::sim::SimServer;

pub(crate) async fn serve(sim: Simulator, addr: SocketAddr) -> std::io::Result<SimServer> {
    SimServer::serve(Router::new().fallback(handle).with_state(sim), addr, "").await
}

/// A logical error: HTTP 200 (unless `status` says otherwise) with the error envelope.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::OK,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new("invalid_input", message)
    }

    fn into_response(self, request_id: u64) -> Response {
        let body = json!({
            "success": false,
            "errors": [self.code],
            "errorInfo": {
                "code": self.code,
                "message": self.message,
                "requestId": format!("SIM{request_id:023}"),
            },
        });
        json_response(self.status, body.to_string().into_bytes())
    }
}

fn text_response(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn too_many(retry_after: u64, request_id: u64) -> Response {
    let mut response = ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "rate_limit_exceeded",
        message: "Rate limit exceeded, retry later".into(),
    }
    .into_response(request_id);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
    response
}

/// Whether the request says its body is JSON (parameters such as charset allowed).
fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Rewrites typed body fields the way Ashby's coercion does (see
/// [`INTEGER_FIELDS`]); values that cannot be read as their type are `invalid_input`.
fn coerce(params: &mut Map<String, Value>) -> Result<(), ApiError> {
    for (name, value) in params.iter_mut() {
        let name = name.as_str();
        if value.is_null() {
            continue;
        }
        if INTEGER_FIELDS.contains(&name) {
            if value.is_i64() {
                continue;
            }
            let n = number(value)
                .filter(|n| n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15)
                .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer")))?;
            *value = Value::from(n as i64);
        } else if NUMBER_FIELDS.contains(&name) {
            let n = number(value)
                .ok_or_else(|| ApiError::invalid(format!("{name} must be a number")))?;
            *value = Value::from(n);
        } else if BOOLEAN_FIELDS.contains(&name) {
            *value = Value::Bool(match &*value {
                Value::Bool(b) => *b,
                Value::String(s) if s == "true" => true,
                Value::String(s) if s == "false" => false,
                _ => return Err(ApiError::invalid(format!("{name} must be a boolean"))),
            });
        }
    }
    Ok(())
}

/// A JSON number, or a string holding one; finite only.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

async fn handle(
    State(sim): State<Simulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = sim.inner();
    let request_id = inner.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if method != Method::POST {
        let mut response = ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: format!("{method} is not allowed; every Ashby operation is a POST"),
        }
        .into_response(request_id);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    // The key is the username; the password is ignored (Ashby's docs leave it
    // blank, airbyte-source-ashby sends `key:key`).
    if !hirebridge_sdk::sim::authorized(&inner.auth, &headers) {
        let mut response = ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthenticated",
            message: "Missing or invalid API key (Basic auth, key as username)".into(),
        }
        .into_response(request_id);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Ashby API\""),
        );
        return response;
    }
    if !json_content_type(&headers) {
        return ApiError {
            status: CONTENT_TYPE_STATUS,
            code: "invalid_input",
            message: "Request Content-Type must be application/json".into(),
        }
        .into_response(request_id);
    }
    let malformed = match faults(&sim, request_id).await {
        Ok(malformed) => malformed,
        Err(response) => return response,
    };
    let path = uri.path().trim_start_matches('/');
    if let Some(response) = method_error(&sim, path, request_id) {
        return response;
    }
    let Some((object, verb)) = path.split_once('.') else {
        return not_found(path, request_id);
    };
    let Some(object) = super::OBJECT_TYPES.iter().copied().find(|o| *o == object) else {
        return not_found(path, request_id);
    };
    let routed = match verb {
        "list" => true,
        "info" => INFO.iter().any(|(o, _, _)| *o == object),
        _ => false,
    };
    if !routed {
        return not_found(path, request_id);
    }
    let mut params = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return ApiError::invalid("Request payload must be a JSON object")
                    .into_response(request_id)
            }
            Err(_) => {
                return ApiError::invalid("Request payload is malformed").into_response(request_id)
            }
        }
    };
    if let Err(e) = coerce(&mut params) {
        return e.into_response(request_id);
    }
    let result = match verb {
        "info" => info(&sim, object, &params),
        _ if PAGINATED.contains(&object) => paginated(&sim, object, &params),
        _ => unpaginated(&sim, object, &params),
    };
    match result {
        Ok(mut body) => {
            if malformed {
                body.truncate(body.len() / 2);
            }
            json_response(StatusCode::OK, body)
        }
        Err(e) => e.into_response(request_id),
    }
}

fn not_found(path: &str, request_id: u64) -> Response {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: format!("No such operation: /{path}"),
    }
    .into_response(request_id)
}

/// The response of an operation the faults make fail (`Faults::method_errors`).
fn method_error(sim: &Simulator, path: &str, request_id: u64) -> Option<Response> {
    let status = *sim
        .inner()
        .faults
        .read()
        .expect("faults lock poisoned")
        .method_errors
        .get(path)?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(match status {
        StatusCode::FORBIDDEN => ApiError {
            status,
            code: "missing_endpoint_permission",
            message: format!("The API key lacks the permission /{path} requires"),
        }
        .into_response(request_id),
        StatusCode::NOT_FOUND => not_found(path, request_id),
        _ => text_response(status, "Injected failure"),
    })
}

/// Applies the active faults (waiting out the latency): `Err` is the response
/// that replaces the real one, `Ok(true)` that the real one is to be cut short.
async fn faults(sim: &Simulator, request_id: u64) -> Result<bool, Response> {
    let inner = sim.inner();
    let fault = inner.kit.draw().await;
    if fault == Fault::RateLimited {
        return Err(too_many(1, request_id));
    }
    if let Some(window) = &*inner.rate.read().expect("rate window lock poisoned") {
        if let Err(refused) = window.check() {
            return Err(too_many(refused.retry_after_secs.unwrap_or(1), request_id));
        }
    }
    match fault {
        Fault::ServerError => {
            let mut rng = inner.rng.lock().expect("fault rng lock poisoned");
            Err(match rng.gen_range(0..3) {
                0 => text_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
                1 => text_response(StatusCode::BAD_GATEWAY, "Bad Gateway"),
                _ => text_response(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
            })
        }
        Fault::Malformed => Ok(true),
        Fault::None | Fault::RateLimited => Ok(false),
    }
}

/// Reads a string (or array of strings) parameter as a list of JSON strings.
fn strings(params: &Map<String, Value>, name: &str) -> Result<Option<Vec<Value>>, ApiError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![Value::String(s.clone())])),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(Some(items.clone())),
        Some(_) => Err(ApiError::invalid(format!(
            "{name} must be a string or an array of strings"
        ))),
    }
}

fn flag(params: &Map<String, Value>, name: &str) -> Result<bool, ApiError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::invalid(format!("{name} must be a boolean"))),
    }
}

/// The filters a listing's body asks for.
fn filter_for(object: &'static str, params: &Map<String, Value>) -> Result<Filter, ApiError> {
    let mut filter = Filter {
        object,
        ..Filter::default()
    };
    if CREATED_AFTER.contains(&object) {
        match params.get("createdAfter") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_i64() {
                Some(ms) => filter.created_after = Some(ms),
                None => {
                    return Err(ApiError::invalid(
                        "createdAfter must be an integer (ms since epoch)",
                    ))
                }
            },
        }
    }
    let mut add = |name: &str, pointer: &str| -> Result<(), ApiError> {
        if let Some(values) = strings(params, name)? {
            filter.conds.push(Cond {
                pointer: pointer.to_string(),
                values,
                negate: false,
            });
        }
        Ok(())
    };
    match object {
        "application" => {
            add("status", "/status")?;
            add("jobId", "/job/id")?;
        }
        "job" => add("status", "/status")?,
        "interviewSchedule" => {
            add("applicationId", "/applicationId")?;
            add("interviewStageId", "/interviewStageId")?;
        }
        "offer" => {
            add("applicationId", "/applicationId")?;
            add("offerStatus", "/offerStatus")?;
            add("acceptanceStatus", "/acceptanceStatus")?;
            add("approvalStatus", "/latestVersion/approvalStatus")?;
        }
        "applicationFeedback" => add("applicationId", "/applicationId")?,
        "jobPosting" => {
            add("location", "/locationName")?;
            add("department", "/departmentName")?;
            add("jobBoardId", "/jobBoardId")?;
        }
        _ => {}
    }
    match object {
        "user" if !flag(params, "includeDeactivated")? => filter.conds.push(Cond {
            pointer: "/isEnabled".into(),
            values: vec![Value::Bool(false)],
            negate: true,
        }),
        "department"
        | "location"
        | "interviewPlan"
        | "source"
        | "archiveReason"
        | "candidateTag"
        | "customField"
        | "feedbackFormDefinition"
            if !flag(params, "includeArchived")? =>
        {
            filter.conds.push(Cond {
                pointer: "/isArchived".into(),
                values: vec![Value::Bool(true)],
                negate: true,
            })
        }
        "jobPosting" if flag(params, "listedOnly")? => filter.conds.push(Cond {
            pointer: "/isListed".into(),
            values: vec![Value::Bool(true)],
            negate: false,
        }),
        _ => {}
    }
    Ok(filter)
}

/// `{"success":true,"results":[...]` followed by `tail` (e.g. `,"moreDataAvailable":false}`),
/// from stored serialized objects.
fn results_body<'a>(items: impl IntoIterator<Item = &'a str>, tail: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(64 * 1024);
    body.extend_from_slice(br#"{"success":true,"results":["#);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.as_bytes());
    }
    body.push(b']');
    body.extend_from_slice(tail.as_bytes());
    body
}

fn older_than(issued_ms: i64, ttl: Option<Duration>) -> bool {
    ttl.is_some_and(|ttl| store::now_ms().saturating_sub(issued_ms) > ttl.as_millis() as i64)
}

fn paginated(
    sim: &Simulator,
    object: &'static str,
    params: &Map<String, Value>,
) -> Result<Vec<u8>, ApiError> {
    let inner = sim.inner();
    let limit = match params.get("limit") {
        None | Some(Value::Null) => 100,
        Some(v) => match v.as_f64() {
            Some(n) if n >= 1.0 => (n as usize).min(100),
            Some(_) => return Err(ApiError::invalid("limit must be at least 1")),
            None => return Err(ApiError::invalid("limit must be a number")),
        },
    };
    let (cursor_ttl, token_ttl) = {
        let faults = inner.faults.read().expect("faults lock poisoned");
        (faults.cursor_ttl, faults.sync_token_ttl)
    };
    let cursor = match params.get("cursor") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => {
            let cursor: Cursor = store::decode(s)
                .filter(|c: &Cursor| c.o == object)
                .ok_or_else(|| ApiError::new("invalid_next_cursor", "The cursor is invalid"))?;
            if older_than(cursor.t, cursor_ttl) {
                return Err(ApiError::new(
                    "next_cursor_expired",
                    "The cursor has expired",
                ));
            }
            Some(cursor)
        }
        Some(_) => {
            return Err(ApiError::new(
                "invalid_next_cursor",
                "The cursor is invalid",
            ))
        }
    };
    let store = inner.store.read().expect("store lock poisoned");
    let (since, after, start, filter) = match cursor {
        Some(c) => {
            let mut filter = c.q;
            filter.object = object;
            (c.f, Some(c.l), c.s, filter)
        }
        None => {
            let since = match params.get("syncToken") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => {
                    let token: Token = store::decode(s)
                        .filter(|t: &Token| t.o == object && t.s <= store.seq && t.e <= store.epoch)
                        .ok_or_else(|| {
                            ApiError::new("sync_token_invalid", "The sync token is invalid")
                        })?;
                    if token.e < store.epoch || older_than(token.t, token_ttl) {
                        return Err(ApiError::new(
                            "sync_token_expired",
                            "The sync token has expired; run a full sync",
                        ));
                    }
                    Some(token.s)
                }
                Some(_) => {
                    return Err(ApiError::new(
                        "sync_token_invalid",
                        "The sync token is invalid",
                    ))
                }
            };
            let filter = filter_for(object, params)?;
            if let Some(since) = since {
                let changed = store.count_changed(object, since, &filter);
                let pages = changed.div_ceil(limit).max(1);
                if pages > inner.max_incremental_pages {
                    return Err(ApiError::new(
                        "incremental_sync_too_large",
                        format!(
                            "The incremental sync would need {pages} pages (max {}); run a full sync",
                            inner.max_incremental_pages
                        ),
                    ));
                }
            }
            (since, None, store.seq, filter)
        }
    };
    let (items, more) = store.page(object, since, after.as_deref(), limit, &filter);
    let now = store::now_ms();
    let (next_cursor, sync_token) = match (more, items.last()) {
        (true, Some((last, _))) => (
            Some(store::encode(&Cursor {
                o: object.to_string(),
                l: (*last).to_string(),
                f: since,
                s: start,
                t: now,
                q: filter.clone(),
            })),
            None,
        ),
        _ => (
            None,
            Some(store::encode(&Token {
                o: object.to_string(),
                s: start,
                t: now,
                e: store.epoch,
            })),
        ),
    };
    let tail = match (next_cursor, sync_token) {
        (Some(cursor), _) => format!(
            ",\"moreDataAvailable\":true,\"nextCursor\":{}}}",
            Value::String(cursor)
        ),
        (None, Some(token)) => format!(
            ",\"moreDataAvailable\":false,\"syncToken\":{}}}",
            Value::String(token)
        ),
        (None, None) => ",\"moreDataAvailable\":false}".to_string(),
    };
    Ok(results_body(items.into_iter().map(|(_, v)| v), &tail))
}

fn unpaginated(
    sim: &Simulator,
    object: &'static str,
    params: &Map<String, Value>,
) -> Result<Vec<u8>, ApiError> {
    let mut filter = filter_for(object, params)?;
    let store = sim.inner().store.read().expect("store lock poisoned");
    if object == "interviewStage" {
        let Some(plan) = params.get("interviewPlanId").and_then(Value::as_str) else {
            return Err(ApiError::invalid("interviewPlanId is required"));
        };
        if store.value("interviewPlan", plan).is_none() {
            return Err(ApiError::new(
                "interview_plan_not_found",
                "No such interview plan",
            ));
        }
        filter.conds.push(Cond {
            pointer: "/interviewPlanId".into(),
            values: vec![Value::String(plan.to_string())],
            negate: false,
        });
    }
    let mut results = store.all(object, &filter);
    if object == "interviewStage" {
        results.sort_by_key(|e| e.key(object, "/orderInInterviewPlan").as_i64().unwrap_or(0));
    }
    let tail = match object {
        "source" | "interviewStage" => ",\"moreDataAvailable\":false}",
        _ => "}",
    };
    Ok(results_body(results.into_iter().map(|e| &*e.json), tail))
}

fn info(sim: &Simulator, object: &str, params: &Map<String, Value>) -> Result<Vec<u8>, ApiError> {
    let Some((_, field, missing)) = INFO.iter().find(|(o, _, _)| *o == object) else {
        return Err(ApiError::invalid("unsupported"));
    };
    let Some(id) = params.get(*field).and_then(Value::as_str) else {
        return Err(ApiError::invalid(format!("{field} is required")));
    };
    let store = sim.inner().store.read().expect("store lock poisoned");
    let Some(raw) = store.raw(object, id) else {
        return Err(ApiError::new(missing, format!("No {object} with id {id}")));
    };
    let mut body = Vec::with_capacity(raw.len() + 32);
    body.extend_from_slice(br#"{"success":true,"results":"#);
    body.extend_from_slice(raw.as_bytes());
    body.push(b'}');
    Ok(body)
}
