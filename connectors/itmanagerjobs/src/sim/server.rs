//! The simulator's HTTP side: an axum server answering ITManagerJobs' routes
//! under `/api/v1`, checking the key (Bearer or `X-Api-Key`; unknown, revoked
//! or unapproved keys get a 401 with no body), then injected faults, then the
//! scope the route needs (403), then the key's window of the route's family
//! (429 with `Retry-After`), then the route, answering errors in the
//! `{code, message}` envelope.

use super::{ItManagerJobsSim, Scope, SimError};
use crate::client::family_of;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use hirebridge_sdk::sim::{add_headers, cut_short, json_response, Fault};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

pub use hirebridge_sdk::sim::SimServer;

pub(crate) async fn serve(sim: ItManagerJobsSim, addr: SocketAddr) -> std::io::Result<SimServer> {
    SimServer::serve(Router::new().fallback(handle).with_state(sim), addr, "").await
}

/// An answer in the error envelope.
struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    fn bad(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn response(&self) -> Response {
        json_response(
            self.status,
            json!({"code": self.code, "message": self.message})
                .to_string()
                .into_bytes(),
        )
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> ApiError {
        match &e {
            SimError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            SimError::Invalid { code, message } => ApiError::bad(code, message.clone()),
            SimError::NoCredits => {
                ApiError::new(StatusCode::PAYMENT_REQUIRED, "no_credits", e.to_string())
            }
        }
    }
}

/// The key a request carries, Bearer first.
fn key_of(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .or_else(|| get(crate::client::API_KEY_HEADER))
        .map(|k| k.trim().to_string())
}

fn unauthorized() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::UNAUTHORIZED;
    r
}

async fn handle(
    State(sim): State<ItManagerJobsSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = sim.inner();
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let Some(key) = key_of(&headers) else {
        return unauthorized();
    };
    let Some(state) = sim.key(&key).filter(|k| k.approved) else {
        return unauthorized();
    };
    let fault = inner.faults.draw().await;
    if fault == Fault::RateLimited {
        inner.throttled.fetch_add(1, Ordering::SeqCst);
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests.",
        )
        .response();
        add_headers(
            &mut r,
            &[(
                "retry-after",
                inner.config.storm_retry_after.as_secs().max(1).to_string(),
            )],
        );
        return r;
    }
    let (family, scope_name) = family_of(uri.path());
    let scope = if scope_name == "CvSearch" {
        Scope::CvSearch
    } else {
        Scope::JobPosting
    };
    if !state.scopes.contains(&scope) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("This key does not carry the {scope_name} scope."),
        )
        .response();
    }
    let window = match sim.rate(&key, family).map(|w| w.check()) {
        None => Vec::new(),
        Some(Ok(h)) => h.pairs(),
        Some(Err(h)) => {
            inner.throttled.fetch_add(1, Ordering::SeqCst);
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Rate limit of {} requests per minute exceeded.", h.limit),
            )
            .response();
            add_headers(&mut r, &h.pairs());
            return r;
        }
    };
    let mut response = if let Some((status, code)) = sim.take_forced_error() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if code == "no_credits" {
            "Insufficient job posting credits."
        } else {
            "An error injected by the test."
        };
        ApiError::new(status, code, message).response()
    } else if fault == Fault::ServerError {
        let mut r = Response::new(Body::from("upstream error"));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    } else {
        match route(&sim, &method, &uri, &body) {
            Ok((status, value)) => json_response(status, value.to_string().into_bytes()),
            Err(e) => e.response(),
        }
    };
    if fault == Fault::Malformed {
        response = cut_short(response).await;
    }
    add_headers(&mut response, &window);
    response
}

type Answer = Result<(StatusCode, Value), ApiError>;

fn route(sim: &ItManagerJobsSim, method: &Method, uri: &Uri, body: &[u8]) -> Answer {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let query = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::bad("invalid_query", format!("invalid query string: {e}")))?;
    let id = |text: &str, kind: &'static str| {
        text.parse::<u64>().map_err(|_| {
            ApiError::from(SimError::NotFound {
                kind,
                id: text.to_string(),
            })
        })
    };
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["api", "v1", "jobs"]) => list_jobs(sim, &query),
        (Method::POST, ["api", "v1", "jobs"]) => {
            let b = json_body(body)?;
            if b["title"].as_str().is_none_or(|t| t.trim().is_empty()) {
                return Err(ApiError::bad("invalid_request", "`title` is required."));
            }
            Ok((StatusCode::CREATED, sim.create_job(&b)))
        }
        (Method::GET, ["api", "v1", "jobs", j]) => {
            let j = id(j, "job")?;
            sim.job(j).map(|v| (StatusCode::OK, v)).ok_or_else(|| {
                SimError::NotFound {
                    kind: "job",
                    id: j.to_string(),
                }
                .into()
            })
        }
        (Method::PUT, ["api", "v1", "jobs", j]) => {
            let j = id(j, "job")?;
            let b = json_body(body)?;
            let mut store = sim.store();
            let now = store.now();
            let job = store.jobs.get_mut(&j).ok_or_else(|| {
                ApiError::from(SimError::NotFound {
                    kind: "job",
                    id: j.to_string(),
                })
            })?;
            for field in [
                "title",
                "reference",
                "description",
                "city",
                "country",
                "employmentType",
                "remoteType",
                "applyMethod",
                "applyEmailAddress",
            ] {
                if let Some(v) = b.get(field) {
                    job[field] = v.clone();
                }
            }
            job["updatedAt"] = json!(now);
            Ok((StatusCode::OK, job.clone()))
        }
        (Method::DELETE, ["api", "v1", "jobs", j]) => {
            Ok((StatusCode::OK, sim.soft_close_job(id(j, "job")?)?))
        }
        (Method::POST, ["api", "v1", "jobs", j, "publish"]) => {
            let expiry = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|b| b["expiryDate"].as_str().map(str::to_string));
            Ok((StatusCode::OK, sim.publish_job(id(j, "job")?, expiry)?))
        }
        (Method::GET, ["api", "v1", "candidates", "search"]) => search(sim, &query),
        (Method::GET, ["api", "v1", "candidates", c]) => {
            let c = id(c, "candidate")?;
            sim.store()
                .candidates
                .get(&c)
                .cloned()
                .map(|v| (StatusCode::OK, v))
                .ok_or_else(|| {
                    SimError::NotFound {
                        kind: "candidate",
                        id: c.to_string(),
                    }
                    .into()
                })
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No route {} {}.", method, uri.path()),
        )),
    }
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ApiError::bad("invalid_request", "The body must be a JSON object."))
}

/// `page` (1-based) and `pageSize` from the query.
fn paging(
    sim: &ItManagerJobsSim,
    query: &HashMap<String, String>,
) -> Result<(usize, usize), ApiError> {
    let config = &sim.inner().config;
    let number = |name: &str, default: u32, max: u32| match query.get(name) {
        None => Ok(default as usize),
        Some(t) => match t.trim().parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n as usize),
            _ => Err(ApiError::bad(
                "invalid_query",
                format!("`{name}` must be an integer from 1 to {max}."),
            )),
        },
    };
    Ok((
        number("page", 1, u32::MAX)?,
        number("pageSize", config.default_page_size, config.max_page_size)?,
    ))
}

fn page_of(items: Vec<Value>, page: usize, size: usize) -> Value {
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    json!({"total": total, "page": page, "pageSize": size, "items": slice})
}

/// Jobs newest first, optionally of one status; the list is read when asked,
/// so a job added between pages shifts the later pages (as the real one does).
fn list_jobs(sim: &ItManagerJobsSim, query: &HashMap<String, String>) -> Answer {
    let (page, size) = paging(sim, query)?;
    let status = query.get("status").map(|s| s.trim().to_ascii_lowercase());
    let items: Vec<Value> = sim
        .store()
        .jobs
        .values()
        .rev()
        .filter(|j| {
            status.as_ref().is_none_or(|s| {
                j["status"].as_str().map(str::to_ascii_lowercase).as_ref() == Some(s)
            })
        })
        .cloned()
        .collect();
    let answer = page_of(items, page, size);
    sim.served_jobs_page(page as u32);
    Ok((StatusCode::OK, answer))
}

/// `GET /api/v1/candidates/search?q=`: candidates whose name, title or city
/// contains `q` (case-insensitive), paged like jobs.
fn search(sim: &ItManagerJobsSim, query: &HashMap<String, String>) -> Answer {
    let (page, size) = paging(sim, query)?;
    let q = query
        .get("q")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let items: Vec<Value> = sim
        .store()
        .candidates
        .values()
        .filter(|c| {
            q.is_empty()
                || ["firstName", "lastName", "currentJobTitle", "city"]
                    .iter()
                    .any(|f| {
                        c[*f]
                            .as_str()
                            .is_some_and(|v| v.to_lowercase().contains(&q))
                    })
        })
        .cloned()
        .collect();
    Ok((StatusCode::OK, page_of(items, page, size)))
}
