//! The simulator's HTTP side: an axum server answering Goodfit's routes under
//! `/v1` with `x-api-key` auth, the per-key rate-limit window and its headers,
//! injected faults, the error envelope, and cursor-paged, updated-since
//! filtered lists.

use super::data::time_ms;
use super::{GoodfitSim, SimError};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use hirebridge_sdk::sim::{add_headers, authorized, cut_short, json_response, Fault};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Bound;
use std::sync::atomic::Ordering;

pub use hirebridge_sdk::sim::SimServer;

pub(crate) async fn serve(sim: GoodfitSim, addr: SocketAddr) -> std::io::Result<SimServer> {
    SimServer::serve(Router::new().fallback(handle).with_state(sim), addr, "/v1").await
}

/// An answer in Goodfit's error envelope.
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

    fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            message,
        )
    }

    fn response(&self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        json_response(self.status, body.to_string().into_bytes())
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> ApiError {
        match e {
            SimError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            SimError::Invalid(message) => ApiError::validation(message),
        }
    }
}

/// Every request: auth, then injected faults, then the rate window, then the route.
async fn handle(
    State(sim): State<GoodfitSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = sim.inner();
    inner.requests.fetch_add(1, Ordering::SeqCst);
    if !authorized(&inner.auth, &headers) {
        return if headers.contains_key(crate::client::API_KEY_HEADER) {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "the API key is not valid",
            )
        } else {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "send your API key in the x-api-key header",
            )
        }
        .response();
    }
    let fault = inner.faults.draw().await;
    if fault == Fault::RateLimited {
        inner.throttled.fetch_add(1, Ordering::SeqCst);
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; retry after the indicated time",
        )
        .response();
        add_headers(
            &mut r,
            &[(
                "retry-after",
                inner.config.storm_retry_after.as_secs_f64().to_string(),
            )],
        );
        return r;
    }
    let window = match sim.rate().check() {
        Ok(h) => h.pairs(),
        Err(h) => {
            inner.throttled.fetch_add(1, Ordering::SeqCst);
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("rate limit of {} requests exceeded", h.limit),
            )
            .response();
            add_headers(&mut r, &h.pairs());
            return r;
        }
    };
    let forced = sim.take_forced_error();
    let mut response = if let Some((status, code)) = forced {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, code, "an error injected by the test").response()
    } else if fault == Fault::ServerError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side",
        )
        .response()
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

fn route(sim: &GoodfitSim, method: &Method, uri: &Uri, body: &[u8]) -> Answer {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let query = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::validation(format!("invalid query string: {e}")))?;
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["v1", "jobs", "pipeline"]) => pipeline(sim, &query),
        (Method::GET, ["v1", collection @ ("jobs" | "candidates" | "applications")]) => {
            list(sim, collection, &query)
        }
        (Method::GET, ["v1", "candidates", id]) => match sim.get("candidates", id) {
            Some(c) => Ok((StatusCode::OK, wrap(sim, c))),
            None => Err(SimError::NotFound {
                kind: "candidate",
                id: id.to_string(),
            }
            .into()),
        },
        (Method::POST, ["v1", "applications", "notes"]) => {
            let b = json_body(body)?;
            let app = b["application_id"]
                .as_str()
                .ok_or_else(|| ApiError::validation("`application_id` is required"))?;
            let text = b["body"].as_str().or(b["content"].as_str()).unwrap_or("");
            Ok((StatusCode::CREATED, wrap(sim, sim.add_note(app, text)?)))
        }
        (Method::PATCH, ["v1", "applications", id]) => {
            let b = json_body(body)?;
            let stage = b["stage_id"]
                .as_str()
                .or(b["stage"].as_str())
                .ok_or_else(|| ApiError::validation("send `stage_id` to move the application"))?;
            Ok((StatusCode::OK, wrap(sim, sim.move_application(id, stage)?)))
        }
        (_, ["v1", "jobs" | "candidates" | "applications", ..]) => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not supported here"),
        )),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route {}", uri.path()),
        )),
    }
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ApiError::validation("the body must be a JSON object"))
}

/// A single object in the data field.
fn wrap(sim: &GoodfitSim, value: Value) -> Value {
    let mut out = Map::new();
    out.insert(sim.inner().config.paging.data.clone(), value);
    Value::Object(out)
}

fn page(sim: &GoodfitSim, items: Vec<Value>, next: Option<String>) -> Value {
    let names = &sim.inner().config.paging;
    let mut out = Map::new();
    out.insert(names.data.clone(), Value::Array(items));
    out.insert(
        names.next_cursor.clone(),
        next.map_or(Value::Null, Value::String),
    );
    Value::Object(out)
}

fn limit(sim: &GoodfitSim, query: &HashMap<String, String>) -> Result<usize, ApiError> {
    let config = &sim.inner().config;
    match query.get(&config.paging.limit) {
        None => Ok(config.default_page_size.max(1) as usize),
        Some(text) => match text.trim().parse::<u32>() {
            Ok(n) if (1..=config.max_page_size).contains(&n) => Ok(n as usize),
            _ => Err(ApiError::validation(format!(
                "`{}` must be an integer from 1 to {}",
                config.paging.limit, config.max_page_size
            ))),
        },
    }
}

fn pipeline(sim: &GoodfitSim, query: &HashMap<String, String>) -> Answer {
    limit(sim, query)?;
    let stages = sim.store().stages.clone();
    Ok((StatusCode::OK, page(sim, stages, None)))
}

/// Cursors are opaque to clients: the last id served, hex-encoded.
fn encode_cursor(last_id: &str) -> String {
    format!("c1{}", hex::encode(last_id))
}

fn decode_cursor(text: &str) -> Option<String> {
    let bytes = hex::decode(text.strip_prefix("c1")?).ok()?;
    String::from_utf8(bytes).ok()
}

/// One page of a collection, by id, after the cursor, updated at or after
/// `updated_since`, matching the documented `job_id` filter (and `candidate_id`).
fn list(sim: &GoodfitSim, collection: &str, query: &HashMap<String, String>) -> Answer {
    let names = &sim.inner().config.paging;
    let limit = limit(sim, query)?;
    let after = match query.get(&names.cursor).map(|c| c.trim()) {
        None | Some("") => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "the cursor is not one this API issued",
            )
        })?),
    };
    let since = match query.get(&names.updated_since) {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t.trim())
                .map_err(|_| {
                    ApiError::validation(format!(
                        "`{}` must be an RFC 3339 timestamp",
                        names.updated_since
                    ))
                })?
                .timestamp_millis(),
        ),
    };
    let filters: Vec<(&str, &String)> = ["job_id", "candidate_id"]
        .into_iter()
        .filter(|_| collection == "applications")
        .filter_map(|f| query.get(f).map(|v| (f, v)))
        .collect();
    let store = sim.store();
    let Some(rows) = store.collection(collection) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such list",
        ));
    };
    let lower = match &after {
        Some(a) => Bound::Excluded(a.as_str()),
        None => Bound::Unbounded,
    };
    let mut items = Vec::with_capacity(limit);
    let mut more = false;
    for (_, v) in rows.range::<str, _>((lower, Bound::Unbounded)) {
        if since.is_some_and(|s| time_ms(&v["updated_at"]) < s) {
            continue;
        }
        if filters
            .iter()
            .any(|(f, want)| v[*f].as_str() != Some(want.as_str()))
        {
            continue;
        }
        if items.len() == limit {
            more = true;
            break;
        }
        items.push(v.clone());
    }
    let next = more
        .then(|| {
            items
                .last()
                .and_then(|v| v["id"].as_str())
                .map(encode_cursor)
        })
        .flatten();
    drop(store);
    Ok((StatusCode::OK, page(sim, items, next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(
            decode_cursor(&encode_cursor("ap_1234abcd")).as_deref(),
            Some("ap_1234abcd")
        );
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("c1abc"), None);
    }
}
