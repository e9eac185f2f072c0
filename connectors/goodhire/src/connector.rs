//! The GoodHire [`Connector`]: two refresh-known streams (GoodHire lists
//! nothing), `fetch` by id for reports and subscriptions, and webhook
//! verification and parsing.

use crate::client::GoodhireClient;
use crate::map::{self, SUBSCRIPTION_PREFIX};
use crate::options::GoodhireOptions;
use crate::webhook;
use hirebridge_sdk::http::{HttpClient, HttpConfig};
use hirebridge_sdk::signature::{SignatureScheme, SigningKeys};
use hirebridge_sdk::{
    Auth, BackgroundCheckStatus, Connector, ConnectorError, Cursor, Delivery, EntityKind, Inbound,
    Page, Record, RemoteRef, Settings, StreamId, StreamSpec, SyncMode, WebhookError,
};
use serde_json::Value;
use std::time::SystemTime;

const fn stream(name: &'static str) -> StreamSpec {
    StreamSpec {
        name,
        entity: Some(EntityKind::BackgroundCheck),
        mode: SyncMode::RefreshKnown {
            final_statuses: BackgroundCheckStatus::FINAL,
        },
    }
}

/// Reports and subscriptions. Both are background checks; each stream
/// refreshes its own ([`Connector::refreshes`]) and `fetch` tells them apart by
/// [`SUBSCRIPTION_PREFIX`], so an import of either kind works through either.
pub const STREAMS: &[StreamSpec] = &[stream("reports"), stream("subscriptions")];

pub struct GoodhireConnector {
    client: GoodhireClient,
    scheme: SignatureScheme,
    keys: SigningKeys,
    redact: Vec<String>,
}

impl std::fmt::Debug for GoodhireConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoodhireConnector")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl GoodhireConnector {
    /// A connector as the daemon builds it.
    pub fn from_settings(
        settings: &Settings,
        options: &GoodhireOptions,
    ) -> Result<GoodhireConnector, ConnectorError> {
        let http = HttpConfig::for_provider(Auth::None, None, &[], settings.rate_limit);
        GoodhireConnector::new(settings, options, http)
    }

    /// A connector with an explicit HTTP config (tests shorten its backoff);
    /// the `Authorization: ApiKey <key>` auth is always set from `settings`.
    pub fn new(
        settings: &Settings,
        options: &GoodhireOptions,
        mut http: HttpConfig,
    ) -> Result<GoodhireConnector, ConnectorError> {
        http.auth = Auth::Scheme {
            scheme: "ApiKey",
            key: settings.api_key(),
        };
        let base_url = settings.base_url_or(options.environment.base_url());
        let scheme = crate::plugin::signature_scheme();
        Ok(GoodhireConnector {
            client: GoodhireClient::new(HttpClient::new(http)?, &base_url),
            keys: settings.signing_keys(&scheme),
            scheme,
            redact: options.address_redactions(),
        })
    }

    /// A report by id, mapped.
    pub async fn report(&self, id: &str) -> Result<Option<Record>, ConnectorError> {
        let path = format!("/Report/{}", segment(id)?);
        match self.client.get_one(&path).await? {
            Some(raw) => map::report(&raw)
                .map(|c| Some(Record::BackgroundCheck(c)))
                .map_err(|e| ConnectorError::bad_payload(e.to_string())),
            None => Ok(None),
        }
    }

    /// A subscription by its GoodHire id, with the candidate's email read from
    /// its report (best effort: a subscription names no candidate itself).
    pub async fn subscription(&self, id: &str) -> Result<Option<Record>, ConnectorError> {
        let path = format!("/Subscription/{}", segment(id)?);
        let Some(raw) = self.client.get_one(&path).await? else {
            return Ok(None);
        };
        let email = match raw.get("ReportId").and_then(Value::as_str) {
            Some(report_id) => match self.report(report_id).await {
                Ok(Some(Record::BackgroundCheck(r))) => r.candidate_email,
                _ => None,
            },
            None => None,
        };
        map::subscription(&raw, email)
            .map(|c| Some(Record::BackgroundCheck(c)))
            .map_err(|e| ConnectorError::bad_payload(e.to_string()))
    }
}

/// An id as one path segment; GoodHire ids are GUIDs, so anything else is refused.
fn segment(id: &str) -> Result<&str, ConnectorError> {
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(id)
    } else {
        Err(ConnectorError::Rejected {
            message: "a GoodHire id is letters, digits and dashes".into(),
        })
    }
}

#[async_trait::async_trait]
impl Connector for GoodhireConnector {
    fn streams(&self) -> &[StreamSpec] {
        STREAMS
    }

    async fn poll(
        &self,
        stream: &StreamId,
        _cursor: Option<&Cursor>,
    ) -> Result<Page, ConnectorError> {
        Err(ConnectorError::Rejected {
            message: format!(
                "GoodHire has no list endpoint: stream {stream} is refreshed by id (seed 001_9bab87cc4353b0db.txt)"
            ),
        })
    }

    fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Delivery, WebhookError> {
        self.scheme.verify_with(headers, body, now, &self.keys)?;
        // Authenticated; the webhook's own `Id` deduplicates GoodHire's retries.
        let id = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| webhook::delivery_id(&v));
        Ok(Delivery {
            event_type: Some(webhook::EVENT.into()),
            delivery_id: id,
            sent_at: None,
            is_ping: false,
        })
    }

    /// The report the status is of.
    fn entity_key(&self, _delivery: &Delivery, body: &[u8]) -> Option<String> {
        hirebridge_sdk::entity_key_at(body, &["/ReportStatus/Id"])
    }

    fn parse(&self, _delivery: &Delivery, body: &[u8]) -> Result<Vec<Inbound>, ConnectorError> {
        // serde_json's error names a position, never the text at it.
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ConnectorError::bad_payload(format!("the GoodHire webhook body is not JSON: {e}"))
        })?;
        webhook::parse(&value)
    }

    async fn fetch(&self, remote: &RemoteRef) -> Result<Option<Record>, ConnectorError> {
        match remote.kind {
            EntityKind::BackgroundCheck => match remote.remote_id.strip_prefix(SUBSCRIPTION_PREFIX)
            {
                Some(id) => self.subscription(id).await,
                None => self.report(&remote.remote_id).await,
            },
            other => Err(ConnectorError::Rejected {
                message: format!("GoodHire holds background checks only, not {other}"),
            }),
        }
    }

    fn refreshes(&self, stream: &StreamId, remote_id: &str) -> bool {
        let subscription = remote_id.starts_with(SUBSCRIPTION_PREFIX);
        match stream {
            "subscriptions" => subscription,
            _ => !subscription,
        }
    }

    fn redact(&self) -> Vec<String> {
        self.redact.clone()
    }
}
