//! The GoodHire API client: JSON `GET`s with `Authorization: ApiKey <key>`
//! (the SDK's [`HttpClient`] adds it), and GoodHire's error envelope mapped
//! onto [`ConnectorError`] without quoting what a candidate sent.

use hirebridge_sdk::http::HttpClient;
use hirebridge_sdk::ConnectorError;
use serde_json::Value;

/// GoodHire publishes no limits, so every call is one family.
const FAMILY: &str = "api";

/// A client for one GoodHire account.
#[derive(Clone, Debug)]
pub struct GoodhireClient {
    http: HttpClient,
    base_url: String,
}

impl GoodhireClient {
    /// `http` must carry the `ApiKey` auth (see [`crate::connector::GoodhireConnector::new`]).
    pub fn new(http: HttpClient, base_url: &str) -> GoodhireClient {
        GoodhireClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// `GET {base}{path}`; `Ok(None)` on 404 (the object is gone for us).
    pub async fn get_one(&self, path: &str) -> Result<Option<Value>, ConnectorError> {
        let url = format!("{}{}", self.base_url, path);
        let sent = self
            .http
            .send(FAMILY, |client| {
                client
                    .get(&url)
                    .header(http::header::ACCEPT, "application/json")
            })
            .await;
        match sent.map_err(refine) {
            Ok(resp) => serde_json::from_slice::<Value>(&resp.body)
                .map(Some)
                .map_err(|e| {
                    ConnectorError::retryable(format!("GET {path}: the answer is not JSON ({e})"))
                }),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Seed `001_9bab87cc4353b0db.txt`, "HTTP Response Codes" and "Errors": the
/// body is `{StatusCode, StatusMessage, AdditionalInfo: {ErrorText,
/// FieldErrors: [{Name, ErrorText}]}}`. 401 (invalid key) is auth; 403 means
/// the account is flagged for review, auth too (pause: nothing to retry until
/// GoodHire clears it); 404 gone; 409 (already linked) and other 4xx
/// rejected; 5xx retried. The message keeps the status texts and the names of
/// invalid fields but never a field's error text, which may quote the value.
pub fn classify(status: u16, body: &Value) -> ConnectorError {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let code = text(body.get("StatusCode"));
    let message = text(body.get("StatusMessage"));
    let info = body.get("AdditionalInfo");
    let error_text = text(info.and_then(|i| i.get("ErrorText")));
    let fields: Vec<String> = info
        .and_then(|i| i.get("FieldErrors"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|f| f.get("Name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut summary = format!("HTTP {status} {code}: {message}");
    if !error_text.is_empty() {
        summary.push_str(&format!(" ({error_text})"));
    }
    if !fields.is_empty() {
        summary.push_str(&format!("; invalid fields: {}", fields.join(", ")));
    }
    match status {
        401 => ConnectorError::Auth {
            message: format!("GoodHire refused the API key: {summary}"),
        },
        403 => ConnectorError::Auth {
            message: format!(
                "GoodHire says this account is flagged for review; nothing will succeed until GoodHire clears it: {summary}"
            ),
        },
        404 | 410 => ConnectorError::NotFound { message: summary },
        408 | 429 | 500..=599 => ConnectorError::retryable(summary),
        _ => ConnectorError::Rejected { message: summary },
    }
}

/// Reclassifies an error of the SDK's [`HttpClient`] (which keeps `"HTTP
/// <status>: <body>"`) by GoodHire's envelope, dropping the raw body.
pub fn refine(error: ConnectorError) -> ConnectorError {
    let message = match &error {
        // A wait the provider asked for (429, 503 with Retry-After) is kept;
        // only the message, which quotes the body, is rebuilt.
        ConnectorError::Retryable {
            message,
            retry_after: Some(wait),
        } => {
            let Some((status, body)) = status_and_body(message) else {
                return error;
            };
            let value = serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
            return ConnectorError::Retryable {
                message: classify(status, &value).to_string(),
                retry_after: Some(*wait),
            };
        }
        ConnectorError::Retryable {
            message,
            retry_after: None,
        }
        | ConnectorError::Auth { message }
        | ConnectorError::NotFound { message }
        | ConnectorError::Rejected { message } => message,
        _ => return error,
    };
    let Some((status, body)) = status_and_body(message) else {
        return error;
    };
    let value = serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
    classify(status, &value)
}

/// `(status, body)` from the SDK's `"HTTP 404: {...}"`.
fn status_and_body(message: &str) -> Option<(u16, &str)> {
    let rest = message.strip_prefix("HTTP ")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let status = rest.get(..digits)?.parse::<u16>().ok()?;
    let after = rest.get(digits..)?;
    let colon = after.find(':')?;
    Some((status, after.get(colon + 1..)?.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hirebridge_sdk::Action;
    use serde_json::json;

    fn envelope(code: &str) -> Value {
        // The seed's example, with a field error that quotes a value.
        json!({
            "StatusCode": code,
            "StatusMessage": "Employer creation errors",
            "AdditionalInfo": {
                "ErrorText": "Model errors",
                "FieldErrors": [{"Name": "SSN", "ErrorText": "invalid SSN 123-45-6789"}]
            }
        })
    }

    #[test]
    fn statuses_decide_the_class_and_values_are_never_quoted() {
        assert_eq!(
            classify(401, &envelope("Unauthorized")).action(),
            Action::PauseUntilOperator
        );
        let flagged = classify(403, &envelope("Forbidden"));
        assert_eq!(flagged.action(), Action::PauseUntilOperator);
        assert!(flagged.to_string().contains("flagged"));
        assert_eq!(classify(404, &envelope("NotFound")).action(), Action::Gone);
        assert_eq!(classify(409, &envelope("Conflict")).action(), Action::Fail);
        assert_eq!(
            classify(500, &envelope("InternalServerError")).action(),
            Action::Backoff
        );
        let e = classify(400, &envelope("BadRequest")).to_string();
        assert!(e.contains("invalid fields: SSN"), "{e}");
        assert!(!e.contains("123-45-6789"), "{e}");
    }

    #[test]
    fn refines_what_the_sdk_classified_by_status() {
        let body = envelope("BadRequest").to_string();
        let e = refine(ConnectorError::Rejected {
            message: format!("HTTP 400: {body}"),
        });
        assert!(!e.to_string().contains("123-45-6789"));
        let e = refine(ConnectorError::Retryable {
            message: format!("HTTP 429 rate limited: {body}"),
            retry_after: Some(std::time::Duration::from_secs(3)),
        });
        assert_eq!(
            e.action(),
            Action::WaitThenRetry(std::time::Duration::from_secs(3))
        );
        assert!(!e.to_string().contains("123-45-6789"));
        let e = refine(ConnectorError::Auth {
            message: format!("HTTP 403: {}", envelope("Forbidden")),
        });
        assert!(e.to_string().contains("flagged for review"));
    }
}
