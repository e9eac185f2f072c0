//! The ITManagerJobs API client: JSON `GET`s under `/api/v1` through the SDK's
//! [`HttpClient`] (which adds the key, paces each endpoint family by its own
//! limiter, waits out 429s as `Retry-After` asks and retries 5xx with backoff),
//! the `{total, page, pageSize, items}` list, and the `{code, message}` error
//! envelope mapped onto [`ConnectorError`] with messages an operator can act on.

use crate::plugin::{FAMILY_CANDIDATES, FAMILY_CANDIDATE_SEARCH, FAMILY_JOBS};
use hirebridge_sdk::http::HttpClient;
use hirebridge_sdk::ConnectorError;
use serde_json::Value;

/// The production site; the API lives under `/api/v1` (seed
/// `004_7d555ba706a0066d.txt`, "4. Make your first call").
pub const DEFAULT_BASE_URL: &str = "https://it-manager-jobs.com";
/// The alternative key header ("3. Authenticate").
pub const API_KEY_HEADER: &str = "x-api-key";

/// What a 401 means at ITManagerJobs: the seed says revoked, expired or unknown
/// keys get an empty 401, and so does a key still in review ("until then API
/// calls return 401 Unauthorized — that's expected, not a key error").
pub const KEY_REFUSED: &str = "key refused (401): wrong, revoked, expired, or still awaiting ITManagerJobs approval — a new key with CvSearch queues for review";

/// One page of `GET /api/v1/jobs`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsPage {
    /// How many jobs the list holds now; `None` when the answer omits it.
    pub total: Option<u64>,
    pub items: Vec<Value>,
}

/// The endpoint family (rate limiter) and scope of a path.
pub fn family_of(path: &str) -> (&'static str, &'static str) {
    if path.starts_with("/api/v1/candidates/search") {
        (FAMILY_CANDIDATE_SEARCH, "CvSearch")
    } else if path.starts_with("/api/v1/candidates") {
        (FAMILY_CANDIDATES, "CvSearch")
    } else {
        (FAMILY_JOBS, "JobPosting")
    }
}

#[derive(Clone)]
pub struct ItManagerJobsClient {
    http: HttpClient,
    base_url: String,
}

impl std::fmt::Debug for ItManagerJobsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItManagerJobsClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ItManagerJobsClient {
    pub fn new(http: HttpClient, base_url: &str) -> ItManagerJobsClient {
        ItManagerJobsClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `GET {base}{path}?{query}` as JSON, errors classified by the envelope.
    pub async fn get_json(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, ConnectorError> {
        let url = format!("{}{}", self.base_url, path);
        let (family, scope) = family_of(path);
        let resp = self
            .http
            .send(family, |client| {
                client
                    .get(&url)
                    .query(query)
                    .header(http::header::ACCEPT, "application/json")
            })
            .await
            .map_err(|e| refine(e, path, scope))?;
        serde_json::from_slice::<Value>(&resp.body).map_err(|e| {
            // A cut-off body is transient; the next attempt reads it again.
            ConnectorError::retryable(format!("GET {path}: the answer is not JSON ({e})"))
        })
    }

    /// One page of jobs (`page` is 1-based), optionally filtered by status.
    pub async fn list_jobs(
        &self,
        page: u32,
        page_size: u32,
        status: Option<&str>,
    ) -> Result<JobsPage, ConnectorError> {
        let mut query = vec![
            ("page", page.to_string()),
            ("pageSize", page_size.to_string()),
        ];
        if let Some(s) = status {
            query.push(("status", s.to_string()));
        }
        let mut value = self.get_json("/api/v1/jobs", &query).await?;
        let items = match value.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ConnectorError::retryable(
                    "GET /api/v1/jobs: the answer has no `items` list",
                ))
            }
        };
        Ok(JobsPage {
            total: value.get("total").and_then(Value::as_u64),
            items,
        })
    }

    /// One object by path; `Ok(None)` when ITManagerJobs says `not_found`
    /// (tenant-scoped: "doesn't belong to your employer, or doesn't exist at all").
    pub async fn get_one(&self, path: &str) -> Result<Option<Value>, ConnectorError> {
        match self.get_json(path, &[]).await {
            Ok(v) => Ok(Some(v)),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The `code` and `message` of an error envelope (seed "Errors": `{"code":
/// "no_credits", "message": "Insufficient job posting credits."}`).
pub fn envelope(body: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = v.get("code")?.as_str()?.to_string();
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Some((code, message))
}

/// `(status, body)` from the SDK client's `"HTTP 404: {...}"`.
fn status_and_body(message: &str) -> Option<(u16, &str)> {
    let rest = message.strip_prefix("HTTP ")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let status = rest.get(..digits)?.parse::<u16>().ok()?;
    let after = rest.get(digits..)?;
    let colon = after.find(':')?;
    Some((status, after.get(colon + 1..)?.trim()))
}

/// Whether `error` is a 403 for a missing scope (as [`refine`] words it).
pub fn is_missing_scope(error: &ConnectorError) -> bool {
    matches!(error, ConnectorError::Auth { message } if message.starts_with("missing scope"))
}

/// Rewords and reclassifies what the SDK client classified by status alone, by
/// the seed's "Errors" table: 401 (empty body) is a refused key, possibly one
/// awaiting approval; 402 `no_credits` pauses until an operator tops up; 403
/// names the scope the endpoint needs; 404 `not_found` is gone; 400 is a
/// request we must fix. 429 and 5xx were already waited out and retried by the
/// SDK and pass unchanged.
pub fn refine(error: ConnectorError, path: &str, scope: &str) -> ConnectorError {
    let message = match &error {
        ConnectorError::Auth { message }
        | ConnectorError::NotFound { message }
        | ConnectorError::Rejected { message }
        | ConnectorError::Quota { message, .. } => message.clone(),
        _ => return error,
    };
    let Some((status, body)) = status_and_body(&message) else {
        return error;
    };
    let (code, text) = envelope(body).unwrap_or_else(|| (String::new(), body.to_string()));
    match status {
        401 => ConnectorError::Auth {
            message: KEY_REFUSED.to_string(),
        },
        403 => ConnectorError::Auth {
            message: format!(
                "missing scope {scope} (403) for GET {path}: mint a key with the {scope} scope{}",
                if text.is_empty() { String::new() } else { format!(" ({text})") }
            ),
        },
        402 => ConnectorError::Quota {
            message: format!(
                "{} (402): {} — top up ITManagerJobs credits or renew the contract, then resume the connector",
                if code.is_empty() { "no_credits" } else { &code },
                if text.is_empty() { "credits exhausted" } else { &text }
            ),
            retry_after: None,
        },
        404 => ConnectorError::NotFound {
            message: format!("GET {path}: {code} {text}").trim().to_string(),
        },
        _ => ConnectorError::Rejected {
            message: format!("GET {path}: HTTP {status} {code}: {text}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::Action;

    #[test]
    fn the_errors_table_decides_the_class_and_the_words() {
        let auth = refine(
            ConnectorError::Auth {
                message: "HTTP 401: ".into(),
            },
            "/api/v1/jobs",
            "JobPosting",
        );
        assert_eq!(auth.action(), Action::PauseUntilOperator);
        assert!(auth.to_string().contains("awaiting ITManagerJobs approval"));
        let scope = refine(
            ConnectorError::Auth {
                message: r#"HTTP 403: {"code":"forbidden","message":"scope"}"#.into(),
            },
            "/api/v1/candidates/7",
            "CvSearch",
        );
        assert!(is_missing_scope(&scope) && scope.to_string().contains("CvSearch"));
        let quota = refine(
            ConnectorError::Quota {
                message: r#"HTTP 402: {"code":"no_credits","message":"Insufficient job posting credits."}"#.into(),
                retry_after: None,
            },
            "/api/v1/jobs",
            "JobPosting",
        );
        assert_eq!(quota.action(), Action::PauseFor(None));
        assert!(quota.to_string().contains("no_credits"), "{quota}");
        let gone = refine(
            ConnectorError::NotFound {
                message: r#"HTTP 404: {"code":"not_found","message":"no job"}"#.into(),
            },
            "/api/v1/jobs/9",
            "JobPosting",
        );
        assert_eq!(gone.action(), Action::Gone);
        let bad = refine(
            ConnectorError::Rejected {
                message: r#"HTTP 400: {"code":"invalid_query","message":"pageSize"}"#.into(),
            },
            "/api/v1/jobs",
            "JobPosting",
        );
        assert_eq!(bad.action(), Action::Fail);
        let transient = refine(ConnectorError::retryable("HTTP 503: x"), "/", "JobPosting");
        assert_eq!(transient.action(), Action::Backoff);
    }

    #[test]
    fn paths_pick_their_family_and_scope() {
        assert_eq!(family_of("/api/v1/jobs/3"), (FAMILY_JOBS, "JobPosting"));
        assert_eq!(
            family_of("/api/v1/candidates/3"),
            (FAMILY_CANDIDATES, "CvSearch")
        );
        assert_eq!(
            family_of("/api/v1/candidates/search"),
            (FAMILY_CANDIDATE_SEARCH, "CvSearch")
        );
    }
}
