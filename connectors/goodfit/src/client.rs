//! The Goodfit API client: JSON `GET`s under `https://api.goodfit.so/v1` with the
//! `x-api-key` header (added by the SDK's [`HttpClient`], which also paces
//! requests by Goodfit's rate limit and headers), the list envelope, and the
//! mapping of Goodfit's structured error codes onto [`ConnectorError`].

use crate::options::Paging;
use hirebridge_sdk::http::HttpClient;
use hirebridge_sdk::ConnectorError;
use serde_json::Value;
use std::time::Duration;

/// Goodfit's production API, path-versioned (seed `000_56de87d4110788fc.txt`).
pub const DEFAULT_BASE_URL: &str = "https://api.goodfit.so/v1";
/// The header carrying the API key (seed `000_56de87d4110788fc.txt`).
pub const API_KEY_HEADER: &str = "x-api-key";
/// Goodfit documents one limit per key, so every call is one rate-limit family.
const FAMILY: &str = "api";
/// Extra attempts when a 2xx answer is not JSON (a cut-off body): the GET is
/// safe to repeat, and one truncated answer should not fail a whole page.
const MALFORMED_RETRIES: u32 = 2;

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub data: Vec<Value>,
    /// `None` when the list is complete.
    pub next_cursor: Option<String>,
}

/// A client for one Goodfit organisation.
#[derive(Clone, Debug)]
pub struct GoodfitClient {
    http: HttpClient,
    base_url: String,
    paging: Paging,
}

impl GoodfitClient {
    /// `http` must carry the `x-api-key` auth (see [`crate::connector::GoodfitConnector::new`]).
    pub fn new(http: HttpClient, base_url: &str, paging: Paging) -> GoodfitClient {
        GoodfitClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            paging,
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    pub fn paging(&self) -> &Paging {
        &self.paging
    }

    /// `GET {base}{path}?{query}` as JSON, with errors classified by their code.
    pub async fn get_json(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Value, ConnectorError> {
        let url = format!("{}{}", self.base_url, path);
        let mut attempt = 0;
        loop {
            let resp = self
                .http
                .send(FAMILY, |client| {
                    client
                        .get(&url)
                        .query(query)
                        .header(http::header::ACCEPT, "application/json")
                })
                .await
                .map_err(refine)?;
            match serde_json::from_slice::<Value>(&resp.body) {
                Ok(value) => {
                    return match envelope_error(&value) {
                        Some(e) => Err(e),
                        None => Ok(value),
                    }
                }
                Err(e) if attempt >= MALFORMED_RETRIES => {
                    return Err(ConnectorError::retryable(format!(
                        "GET {path}: the answer is not JSON ({e})"
                    )))
                }
                Err(e) => {
                    attempt += 1;
                    tracing::debug!(path, error = %e, attempt, "Goodfit answer is not JSON; reading it again");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
            }
        }
    }

    /// One page of a list endpoint, read with the configured field names.
    pub async fn list(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<ListPage, ConnectorError> {
        let mut value = self.get_json(path, query).await?;
        let data = match value.get_mut(&self.paging.data).map(Value::take) {
            Some(Value::Array(items)) => items,
            // Valid JSON without the list: the paging names do not match this
            // API, which retrying will not fix.
            Some(Value::Null) | None => {
                return Err(ConnectorError::Rejected {
                    message: format!(
                        "GET {path}: the answer has no `{}` list (see [connectors.options.paging] data)",
                        self.paging.data
                    ),
                })
            }
            Some(_) => {
                return Err(ConnectorError::retryable(format!(
                    "GET {path}: `{}` is not a list",
                    self.paging.data
                )))
            }
        };
        let next_cursor = match value.get(&self.paging.next_cursor) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(ListPage { data, next_cursor })
    }

    /// Every page of a (small) list, e.g. the pipeline's stages.
    pub async fn list_all(&self, path: &str, limit: u32) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![(self.paging.limit.clone(), limit.to_string())];
            if let Some(c) = &cursor {
                query.push((self.paging.cursor.clone(), c.clone()));
            }
            let page = self.list(path, &query).await?;
            out.extend(page.data);
            match page.next_cursor {
                // A cursor that does not move would loop forever.
                Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// One object (`GET /candidates/{id}`); `Ok(None)` when Goodfit says it does
    /// not exist. The object may come wrapped in the data field or bare.
    pub async fn get_one(&self, path: &str) -> Result<Option<Value>, ConnectorError> {
        match self.get_json(path, &[]).await {
            Ok(mut value) => Ok(Some(match value.get_mut(&self.paging.data) {
                Some(inner) if inner.is_object() => inner.take(),
                _ => value,
            })),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// ASSUMPTION (seed `000_56de87d4110788fc.txt` says only "every error returns a
/// structured error code and message"; the shape is not published): errors come
/// as `{"error": {"code": "...", "message": "..."}}` (a bare `"error": "<code>"`
/// with a top-level `message` is read too), and the code decides the class:
/// invalid or missing key → auth; `rate_limited` → retry after the provider's
/// wait; `not_found` → gone; quota and plan limits → quota; validation → rejected;
/// an expired or invalid page cursor → restart the pass; server errors → retry.
/// A code we do not know is classified by its HTTP status.
pub fn classify(
    code: &str,
    message: &str,
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> ConnectorError {
    let code = code.trim().to_ascii_lowercase();
    let text = match status {
        Some(s) => format!("HTTP {s} {code}: {message}"),
        None => format!("{code}: {message}"),
    };
    match code.as_str() {
        "invalid_api_key" | "missing_api_key" | "api_key_revoked" | "revoked_api_key"
        | "expired_api_key" | "unauthorized" | "unauthenticated" | "forbidden"
        | "permission_denied" | "insufficient_scope" => ConnectorError::Auth { message: text },
        "rate_limited" | "rate_limit_exceeded" | "too_many_requests" => ConnectorError::Retryable {
            message: text,
            retry_after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
        },
        "quota_exceeded"
        | "plan_limit_exceeded"
        | "plan_limit_reached"
        | "plan_limit"
        | "payment_required"
        | "usage_limit_exceeded"
        | "assessment_quota_exceeded" => ConnectorError::Quota {
            message: text,
            retry_after,
        },
        "validation_error"
        | "invalid_request"
        | "invalid_parameter"
        | "bad_request"
        | "unprocessable_entity" => ConnectorError::Rejected { message: text },
        "invalid_cursor" | "cursor_expired" | "expired_cursor" => {
            ConnectorError::RestartPass { code }
        }
        "internal_error"
        | "server_error"
        | "service_unavailable"
        | "bad_gateway"
        | "timeout"
        | "maintenance" => ConnectorError::Retryable {
            message: text,
            retry_after,
        },
        c if c == "not_found" || c.ends_with("_not_found") => {
            ConnectorError::NotFound { message: text }
        }
        _ => by_status(status, text, retry_after),
    }
}

/// The class of an error whose code we do not know, by its HTTP status.
fn by_status(
    status: Option<u16>,
    message: String,
    retry_after: Option<Duration>,
) -> ConnectorError {
    match status {
        Some(401 | 403) => ConnectorError::Auth { message },
        Some(402) => ConnectorError::Quota {
            message,
            retry_after,
        },
        Some(404 | 410) => ConnectorError::NotFound { message },
        Some(429) => ConnectorError::Retryable {
            message,
            retry_after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
        },
        Some(408 | 500..=599) => ConnectorError::Retryable {
            message,
            retry_after,
        },
        _ => ConnectorError::Rejected { message },
    }
}

/// The code and message of an error envelope, if `value` is one.
pub fn envelope(value: &Value) -> Option<(String, String)> {
    let error = value.get("error")?;
    let (code, message) = match error {
        Value::Object(e) => (
            e.get("code").and_then(Value::as_str),
            e.get("message").and_then(Value::as_str),
        ),
        Value::String(code) => (
            Some(code.as_str()),
            value.get("message").and_then(Value::as_str),
        ),
        _ => return None,
    };
    Some((code?.to_string(), message.unwrap_or("").to_string()))
}

/// An error envelope inside a 2xx answer (no HTTP status to fall back on).
fn envelope_error(value: &Value) -> Option<ConnectorError> {
    envelope(value).map(|(code, message)| classify(&code, &message, None, None))
}

/// Reclassifies an error from the SDK's [`HttpClient`] by Goodfit's error code.
/// The client classifies by HTTP status alone and keeps only `"HTTP <status>:
/// <body, cut at 300 characters>"` of a refusal, so the code is read back from
/// that text; the provider's wait (`Retry-After`) it already parsed is kept.
pub fn refine(error: ConnectorError) -> ConnectorError {
    let (message, retry_after) = match &error {
        ConnectorError::Retryable {
            message,
            retry_after,
        }
        | ConnectorError::Quota {
            message,
            retry_after,
        } => (message, *retry_after),
        ConnectorError::Auth { message }
        | ConnectorError::NotFound { message }
        | ConnectorError::Rejected { message } => (message, None),
        _ => return error,
    };
    let Some((status, body)) = status_and_body(message) else {
        return error;
    };
    let parsed = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| envelope(&v))
        .or_else(|| scan_code(body).map(|c| (c, body.to_string())));
    match parsed {
        Some((code, text)) => {
            let refined = classify(&code, &text, Some(status), retry_after);
            // A 429 stays a wait whatever its code says.
            if status == 429 && !matches!(refined, ConnectorError::Retryable { .. }) {
                return error;
            }
            refined
        }
        None => error,
    }
}

/// `(status, body)` from the SDK's `"HTTP 404: {...}"` / `"HTTP 429 rate limited: {...}"`.
fn status_and_body(message: &str) -> Option<(u16, &str)> {
    let rest = message.strip_prefix("HTTP ")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let status = rest.get(..digits)?.parse::<u16>().ok()?;
    let after = rest.get(digits..)?;
    let colon = after.find(':')?;
    Some((status, after.get(colon + 1..)?.trim()))
}

/// The `"code": "<value>"` of a body cut short, where JSON parsing fails.
fn scan_code(text: &str) -> Option<String> {
    let at = text.find("\"code\"")?;
    let rest = text
        .get(at + 6..)?
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest.get(..end)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::Action;
    use serde_json::json;

    fn env(code: &str) -> String {
        json!({"error": {"code": code, "message": "why"}}).to_string()
    }

    #[test]
    fn codes_decide_the_class() {
        let wait = Some(Duration::from_secs(7));
        let cases: Vec<(&str, u16, Action)> = vec![
            ("invalid_api_key", 401, Action::PauseUntilOperator),
            ("missing_api_key", 401, Action::PauseUntilOperator),
            (
                "rate_limited",
                429,
                Action::WaitThenRetry(Duration::from_secs(7)),
            ),
            ("not_found", 404, Action::Gone),
            ("candidate_not_found", 404, Action::Gone),
            ("quota_exceeded", 403, Action::PauseFor(wait)),
            ("plan_limit_reached", 402, Action::PauseFor(wait)),
            ("validation_error", 422, Action::Fail),
            ("invalid_cursor", 400, Action::RestartPass),
            (
                "internal_error",
                500,
                Action::WaitThenRetry(Duration::from_secs(7)),
            ),
            (
                "something_new",
                503,
                Action::WaitThenRetry(Duration::from_secs(7)),
            ),
            ("something_new", 418, Action::Fail),
        ];
        for (code, status, action) in cases {
            assert_eq!(
                classify(code, "why", Some(status), wait).action(),
                action,
                "{code}"
            );
        }
        // Without a wait, a rate limit still pauses briefly instead of hammering.
        assert_eq!(
            classify("rate_limited", "", Some(429), None).action(),
            Action::WaitThenRetry(Duration::from_secs(1))
        );
    }

    #[test]
    fn refines_what_the_sdk_client_classified_by_status() {
        // A 403 the SDK calls auth is a plan limit by its code.
        let e = refine(ConnectorError::Auth {
            message: format!("HTTP 403: {}", env("plan_limit_reached")),
        });
        assert!(matches!(e, ConnectorError::Quota { .. }), "{e:?}");
        // A 400 with an expired cursor restarts the pass.
        let e = refine(ConnectorError::Rejected {
            message: format!("HTTP 400: {}", env("cursor_expired")),
        });
        assert!(matches!(e, ConnectorError::RestartPass { .. }), "{e:?}");
        // The wait of a 429 survives.
        let e = refine(ConnectorError::Retryable {
            message: format!("HTTP 429 rate limited: {}", env("rate_limited")),
            retry_after: Some(Duration::from_secs(3)),
        });
        assert_eq!(e.action(), Action::WaitThenRetry(Duration::from_secs(3)));
        // A body cut at 300 characters still yields its code.
        let cut = format!(
            "HTTP 403: {{\"error\": {{\"code\": \"quota_exceeded\", \"message\": \"{}…",
            "x".repeat(280)
        );
        assert!(matches!(
            refine(ConnectorError::Auth { message: cut }),
            ConnectorError::Quota { .. }
        ));
        // Network errors and bodies without an envelope pass unchanged.
        let e = refine(ConnectorError::retryable("timed out: deadline"));
        assert_eq!(e.action(), Action::Backoff);
        let e = refine(ConnectorError::NotFound {
            message: "HTTP 404: <html>".into(),
        });
        assert!(matches!(e, ConnectorError::NotFound { .. }));
    }

    #[test]
    fn envelopes_in_both_forms() {
        assert_eq!(
            envelope(&json!({"error": {"code": "not_found", "message": "no job"}})),
            Some(("not_found".into(), "no job".into()))
        );
        assert_eq!(
            envelope(&json!({"error": "rate_limited", "message": "slow down"})),
            Some(("rate_limited".into(), "slow down".into()))
        );
        assert_eq!(envelope(&json!({"data": []})), None);
        assert!(matches!(
            envelope_error(&json!({"error": {"code": "invalid_api_key"}})),
            Some(ConnectorError::Auth { .. })
        ));
    }
}
