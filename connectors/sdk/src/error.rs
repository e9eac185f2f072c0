//! The typed errors a connector returns, split by what the engine must do next.

use std::time::Duration;

/// An error from polling, fetching or mapping, classified for the engine
/// (DESIGN.md §3): whether to wait and retry, stop and mark the connector unhealthy,
/// resync, or dead-letter the input.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectorError {
    /// Transient (5xx, timeout, connection reset, 429): try again later, after
    /// `retry_after` when the provider said how long.
    #[error("temporary failure: {message}")]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// 401/403 or a revoked key: retrying will not help until an operator acts.
    #[error("authentication failed: {message}")]
    Auth { message: String },
    /// The account's quota is spent (e.g. ITManagerJobs 402): wait for the window.
    #[error("quota exhausted: {message}")]
    Quota {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The saved incremental state (e.g. Ashby `sync_token_expired`) is no longer
    /// accepted: drop it and run a full pass.
    #[error("incremental state rejected ({code}): a full resync is needed")]
    ResyncRequired { code: String },
    /// The page cursor of the pass in progress is no longer accepted (e.g. Ashby
    /// `next_cursor_expired`): restart the pass from its beginning.
    #[error("page cursor rejected ({code}): the pass restarts")]
    RestartPass { code: String },
    /// The provider sent something we cannot normalise: keep it and dead-letter it
    /// with this reason.
    #[error("bad payload: {reason}")]
    BadPayload { reason: String },
    /// The object does not exist (or not for this tenant): treat it as gone.
    #[error("not found: {message}")]
    NotFound { message: String },
    /// A request the provider refuses for a reason retrying will not fix (a 4xx
    /// other than auth and rate limits, or an unknown logical error code).
    #[error("request rejected: {message}")]
    Rejected { message: String },
}

/// What the engine does about an error. [`ConnectorError::action`] is the one
/// place that decides it; the poller, the scheduler and the normaliser all ask it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Try again after this wait (the provider said how long: a 429's `Retry-After`).
    WaitThenRetry(Duration),
    /// Try again on the backoff schedule (5xx, timeouts, resets).
    Backoff,
    /// Stop calling the provider until an operator acts (changes the config or
    /// resumes the connector): retrying a refused key only spins.
    PauseUntilOperator,
    /// Stop calling until the quota window ends (unknown: until an operator acts).
    PauseFor(Option<Duration>),
    /// Drop the saved incremental state and run a full pass.
    Resync,
    /// Restart the current pass from its beginning.
    RestartPass,
    /// The input can never be normalised: dead-letter it now, with its reason.
    DeadLetter,
    /// The object is gone at the provider: treat as deleted.
    Gone,
    /// The request itself is wrong; retrying cannot help. Record it and move on.
    Fail,
}

impl ConnectorError {
    pub fn retryable(message: impl Into<String>) -> Self {
        ConnectorError::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_payload(reason: impl Into<String>) -> Self {
        ConnectorError::BadPayload {
            reason: reason.into(),
        }
    }

    /// What the engine does next (see [`Action`]).
    pub fn action(&self) -> Action {
        match self {
            ConnectorError::Retryable {
                retry_after: Some(wait),
                ..
            } => Action::WaitThenRetry(*wait),
            ConnectorError::Retryable { .. } => Action::Backoff,
            ConnectorError::Auth { .. } => Action::PauseUntilOperator,
            ConnectorError::Quota { retry_after, .. } => Action::PauseFor(*retry_after),
            ConnectorError::ResyncRequired { .. } => Action::Resync,
            ConnectorError::RestartPass { .. } => Action::RestartPass,
            ConnectorError::BadPayload { .. } => Action::DeadLetter,
            ConnectorError::NotFound { .. } => Action::Gone,
            ConnectorError::Rejected { .. } => Action::Fail,
        }
    }

    /// Whether the same call may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectorError::Retryable { .. } | ConnectorError::Quota { .. }
        )
    }

    /// A short, stable label for metrics and status output.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorError::Retryable { .. } => "retryable",
            ConnectorError::Auth { .. } => "auth",
            ConnectorError::Quota { .. } => "quota",
            ConnectorError::ResyncRequired { .. } => "resync_required",
            ConnectorError::RestartPass { .. } => "restart_pass",
            ConnectorError::BadPayload { .. } => "bad_payload",
            ConnectorError::NotFound { .. } => "not_found",
            ConnectorError::Rejected { .. } => "rejected",
        }
    }
}

/// Why a webhook delivery was not authenticated. Each variant is a metrics label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("signature header {header} is missing")]
    MissingSignature { header: String },
    #[error("signature header {header} is malformed")]
    MalformedSignature { header: String },
    #[error("signature does not match any configured secret")]
    BadSignature,
    #[error("timestamp header {header} is missing")]
    MissingTimestamp { header: String },
    #[error("timestamp header {header} is malformed")]
    MalformedTimestamp { header: String },
    #[error("timestamp is older than the tolerance")]
    StaleTimestamp,
    #[error("timestamp is in the future beyond the tolerance")]
    FutureTimestamp,
    #[error("no webhook secret is configured for this connector")]
    NoSecretConfigured,
    #[error("body is not a valid delivery: {0}")]
    MalformedBody(String),
}

impl WebhookError {
    /// A short, stable label for metrics and `hirebridge status`.
    pub fn reason(&self) -> &'static str {
        match self {
            WebhookError::MissingSignature { .. } => "missing_signature",
            WebhookError::MalformedSignature { .. } => "malformed_signature",
            WebhookError::BadSignature => "bad_signature",
            WebhookError::MissingTimestamp { .. } => "missing_timestamp",
            WebhookError::MalformedTimestamp { .. } => "malformed_timestamp",
            WebhookError::StaleTimestamp => "stale_timestamp",
            WebhookError::FutureTimestamp => "future_timestamp",
            WebhookError::NoSecretConfigured => "no_secret_configured",
            WebhookError::MalformedBody(_) => "malformed_body",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_decides_one_action() {
        let wait = Duration::from_secs(7);
        let cases = [
            (ConnectorError::retryable("reset"), Action::Backoff),
            (
                ConnectorError::Retryable {
                    message: "429".into(),
                    retry_after: Some(wait),
                },
                Action::WaitThenRetry(wait),
            ),
            (
                ConnectorError::Auth {
                    message: "401".into(),
                },
                Action::PauseUntilOperator,
            ),
            (
                ConnectorError::Quota {
                    message: "402".into(),
                    retry_after: Some(wait),
                },
                Action::PauseFor(Some(wait)),
            ),
            (ConnectorError::bad_payload("no id"), Action::DeadLetter),
            (
                ConnectorError::NotFound {
                    message: "gone".into(),
                },
                Action::Gone,
            ),
            (
                ConnectorError::ResyncRequired { code: "x".into() },
                Action::Resync,
            ),
        ];
        for (error, action) in cases {
            assert_eq!(error.action(), action, "{error}");
        }
    }
}
