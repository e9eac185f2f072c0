//! The Ashby API client: `POST /<object>.<verb>` with Basic auth (the key is the
//! username; the [`HttpClient`] adds it, its config's `auth` being
//! [`Auth::BasicKeyAsUser`](hirebridge_sdk::http::Auth::BasicKeyAsUser)), and
//! Ashby's envelope, where logical errors arrive as HTTP 200 with
//! `success:false` and an `errorInfo.code` that decides what the engine does.

use crate::api::{ErrorInfo, ListResponse};
use hirebridge_sdk::http::HttpClient;
use hirebridge_sdk::ConnectorError;
use hirebridge_sdk::Listed;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Ashby's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.ashbyhq.com";

/// Sync error codes that invalidate the saved `syncToken`: drop it, run a full pass.
pub const RESYNC_CODES: &[&str] = &[
    "sync_token_expired",
    "sync_token_invalid",
    "incremental_sync_too_large",
];
/// Codes that invalidate the page cursor of the pass in progress: restart the pass.
pub const RESTART_CODES: &[&str] = &["next_cursor_expired", "invalid_next_cursor"];

/// A client for one Ashby account; its [`HttpClient`] carries the account's key.
#[derive(Clone)]
pub struct AshbyClient {
    http: HttpClient,
    base_url: String,
}

impl std::fmt::Debug for AshbyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AshbyClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl AshbyClient {
    /// A client of the API at `base_url`, authenticated as `http`'s config says
    /// (`Auth::BasicKeyAsUser(key)` for Ashby; see [`crate::AshbyConfig::new`]).
    pub fn new(http: HttpClient, base_url: &str) -> AshbyClient {
        AshbyClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Calls `method` (e.g. `candidate.list`) and returns the whole success body.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, ConnectorError> {
        let answer = self.post(method, body).await?;
        let value: Value = serde_json::from_slice(&answer).map_err(|e| not_json(method, e))?;
        match value.get("success").and_then(Value::as_bool) {
            Some(true) => Ok(value),
            Some(false) => Err(logical_error(method, &value)),
            None => Err(ConnectorError::retryable(format!(
                "{method}: the answer has no `success` field"
            ))),
        }
    }

    /// Calls a list method and reads its pagination fields.
    pub async fn list(&self, method: &str, body: &Value) -> Result<ListResponse, ConnectorError> {
        let value = self.call(method, body).await?;
        serde_json::from_value(value).map_err(|e| {
            ConnectorError::retryable(format!("{method}: unexpected list shape ({e})"))
        })
    }

    /// Calls a list method and keeps the answer as text: the raw objects are
    /// located, not parsed, so a list of any length costs its bytes once instead
    /// of a parsed tree (several times as much), and the engine maps only the
    /// objects it does not hold as they are ([`RawList::listed`]). Unpaginated
    /// lists (`jobPosting.list`) are served from it a page at a time.
    pub async fn list_raw(&self, method: &str, body: &Value) -> Result<RawList, ConnectorError> {
        RawList::parse(method, self.post(method, body).await?)
    }

    /// `POST /<method>` with `body`; the answer's bytes, whatever they say.
    async fn post(&self, method: &str, body: &Value) -> Result<Vec<u8>, ConnectorError> {
        let url = format!("{}/{}", self.base_url, method);
        let payload = serde_json::to_vec(body).map_err(|e| ConnectorError::Rejected {
            message: format!("cannot encode the {method} request: {e}"),
        })?;
        let resp = self
            .http
            .send("api", |client| {
                client
                    .post(&url)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .header(http::header::ACCEPT, "application/json")
                    .body(payload.clone())
            })
            .await?;
        Ok(resp.body)
    }

    /// Calls an `.info` method; `Ok(None)` when Ashby says the object does not exist.
    pub async fn info(&self, method: &str, body: &Value) -> Result<Option<Value>, ConnectorError> {
        match self.call(method, body).await {
            Ok(mut value) => Ok(value.get_mut("results").map(Value::take)),
            Err(ConnectorError::Rejected { message }) if message.contains("_not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The answer of a list method, kept as its bytes with where each object of
/// `results` lies in them, and its pagination fields.
#[derive(Debug, Default)]
pub struct RawList {
    body: Arc<Vec<u8>>,
    objects: Vec<std::ops::Range<usize>>,
    pub more_data_available: Option<bool>,
    pub next_cursor: Option<String>,
    pub sync_token: Option<String>,
}

impl RawList {
    fn parse(method: &str, body: Vec<u8>) -> Result<RawList, ConnectorError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Envelope<'a> {
            success: Option<bool>,
            #[serde(borrow, default)]
            results: Vec<&'a serde_json::value::RawValue>,
            #[serde(default)]
            more_data_available: Option<bool>,
            #[serde(default)]
            next_cursor: Option<String>,
            #[serde(default)]
            sync_token: Option<String>,
        }
        let not_json = |e| not_json(method, e);
        let envelope: Envelope = serde_json::from_slice(&body).map_err(not_json)?;
        match envelope.success {
            Some(true) => {}
            Some(false) => {
                let value: Value = serde_json::from_slice(&body).map_err(not_json)?;
                return Err(logical_error(method, &value));
            }
            None => {
                return Err(ConnectorError::retryable(format!(
                    "{method}: the answer has no `success` field"
                )))
            }
        }
        // Borrowed raw values are slices of `body`: their offsets locate them.
        let base = body.as_ptr() as usize;
        let objects = envelope
            .results
            .iter()
            .map(|raw| {
                let start = raw.get().as_ptr() as usize - base;
                start..start + raw.get().len()
            })
            .collect();
        let (more_data_available, next_cursor, sync_token) = (
            envelope.more_data_available,
            envelope.next_cursor,
            envelope.sync_token,
        );
        Ok(RawList {
            body: Arc::new(body),
            objects,
            more_data_available,
            next_cursor,
            sync_token,
        })
    }

    /// How many objects the list holds.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The objects `range` (clamped to the list), parsed.
    pub fn page(&self, range: std::ops::Range<usize>) -> Result<Vec<Value>, ConnectorError> {
        self.clamped(range)
            .iter()
            .map(|r| {
                serde_json::from_slice(&self.body[r.clone()]).map_err(|e| {
                    ConnectorError::retryable(format!("a listed object is not JSON ({e})"))
                })
            })
            .collect()
    }

    fn clamped(&self, range: std::ops::Range<usize>) -> &[std::ops::Range<usize>] {
        let end = range.end.min(self.objects.len());
        let start = range.start.min(end);
        &self.objects[start..end]
    }

    /// The objects `range` (clamped to the list) handed over unmapped, each
    /// fingerprinted with `context` (what mapping it reads besides its bytes).
    /// Only its `id` is read here; an object without one is rejected.
    pub fn listed(
        &self,
        range: std::ops::Range<usize>,
        context: &[u8],
    ) -> (Vec<Listed>, Vec<(Value, String)>) {
        #[derive(serde::Deserialize)]
        struct Id<'a> {
            #[serde(borrow, default)]
            id: Option<std::borrow::Cow<'a, str>>,
        }
        let mut listed = Vec::new();
        let mut rejected = Vec::new();
        for r in self.clamped(range) {
            let bytes = &self.body[r.clone()];
            match serde_json::from_slice::<Id>(bytes) {
                Ok(Id { id: Some(id) }) if !id.is_empty() => listed.push(Listed::new(
                    id.into_owned(),
                    context,
                    self.body.clone(),
                    r.clone(),
                )),
                _ => rejected.push((
                    serde_json::from_slice(bytes).unwrap_or(Value::Null),
                    "a listed object has no `id`".to_string(),
                )),
            }
        }
        (listed, rejected)
    }
}

/// An answer that does not parse: transient (a proxy's error page, a cut body).
fn not_json(method: &str, e: serde_json::Error) -> ConnectorError {
    ConnectorError::retryable(format!("{method}: the answer is not JSON ({e})"))
}

/// Classifies a `success:false` answer by its `errorInfo.code` (or the deprecated
/// `errors` list when `errorInfo` is missing).
pub fn logical_error(method: &str, body: &Value) -> ConnectorError {
    let info: ErrorInfo = body
        .get("errorInfo")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let code = info
        .code
        .clone()
        .or_else(|| {
            body.pointer("/errors/0")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown_error".into());
    let message = format!(
        "{method}: {code}{}{}",
        info.message
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default(),
        info.request_id
            .as_deref()
            .map(|r| format!(" [request {r}]"))
            .unwrap_or_default()
    );
    if RESYNC_CODES.contains(&code.as_str()) {
        return ConnectorError::ResyncRequired { code };
    }
    if RESTART_CODES.contains(&code.as_str()) {
        return ConnectorError::RestartPass { code };
    }
    match code.as_str() {
        "rate_limit_exceeded" | "concurrent_limit_exceeded" => ConnectorError::Retryable {
            message,
            retry_after: Some(Duration::from_secs(5)),
        },
        "unauthenticated" | "unauthorized" | "invalid_api_key" | "forbidden"
        | "missing_permission" => ConnectorError::Auth { message },
        "internal_error" | "service_unavailable" | "timeout" => ConnectorError::retryable(message),
        _ => ConnectorError::Rejected { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_logical_errors_by_code() {
        let e = |code: &str| {
            logical_error(
                "candidate.list",
                &json!({"success": false, "errorInfo": {"code": code}}),
            )
        };
        assert!(matches!(
            e("sync_token_expired"),
            ConnectorError::ResyncRequired { .. }
        ));
        assert!(matches!(
            e("sync_token_invalid"),
            ConnectorError::ResyncRequired { .. }
        ));
        assert!(matches!(
            e("incremental_sync_too_large"),
            ConnectorError::ResyncRequired { .. }
        ));
        assert!(matches!(
            e("next_cursor_expired"),
            ConnectorError::RestartPass { .. }
        ));
        assert!(matches!(
            e("invalid_next_cursor"),
            ConnectorError::RestartPass { .. }
        ));
        assert!(matches!(
            e("rate_limit_exceeded"),
            ConnectorError::Retryable { .. }
        ));
        assert!(matches!(
            e("invalid_input"),
            ConnectorError::Rejected { .. }
        ));
        let legacy = logical_error(
            "x",
            &json!({"success": false, "errors": ["sync_token_expired"]}),
        );
        assert!(matches!(legacy, ConnectorError::ResyncRequired { .. }));
    }
}
