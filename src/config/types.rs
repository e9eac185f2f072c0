//! The validated configuration's types: one struct per section, with defaults.

use super::cron::CronSchedule;
use hirebridge_sdk::{Options, Plugin, Secret, Settings};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages).
    pub source_path: PathBuf,
    /// Where the daemon keeps local state (the managed PostgreSQL, sink files).
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub telemetry: TelemetryConfig,
    pub connectors: Vec<ConnectorConfig>,
    pub sinks: Vec<SinkConfig>,
    pub events: EventsConfig,
    pub inbox: InboxConfig,
}

/// The webhook inbox (`[inbox]`).
#[derive(Debug, Clone)]
pub struct InboxConfig {
    /// Processed deliveries received longer ago than this are deleted; until
    /// then a redelivery of one is recognised and not processed again, so this
    /// must outlast every provider's retry schedule. `None` (`"keep"`) keeps
    /// them all. Deliveries not yet processed, retrying or dead-lettered are
    /// kept whatever their age.
    pub retention: Option<Duration>,
}

/// The default retention of processed deliveries: a week and more beyond the
/// longest retry schedule in the providers' documents (about four days and
/// seven hours from the first attempt to the last; README, "Webhooks").
pub const DEFAULT_INBOX_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            retention: Some(DEFAULT_INBOX_RETENTION),
        }
    }
}

/// The event log (`[events]`).
#[derive(Debug, Clone, Default)]
pub struct EventsConfig {
    /// Events older than this are deleted once every sink has passed them;
    /// `None` (the default, `"keep"`) keeps them all.
    pub retention: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// An existing PostgreSQL; when absent the daemon runs its own cluster.
    pub url: Option<Secret>,
    pub max_connections: u32,
    pub min_connections: u32,
    #[serde(deserialize_with = "duration")]
    pub acquire_timeout: Duration,
    /// Per-statement limit (`statement_timeout`), so a stuck query cannot hold a lease forever.
    #[serde(deserialize_with = "duration")]
    pub statement_timeout: Duration,
    /// How long start-up keeps retrying while the database is not reachable yet.
    #[serde(deserialize_with = "duration")]
    pub connect_timeout: Duration,
    pub managed: ManagedDatabaseConfig,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(60),
            managed: ManagedDatabaseConfig::default(),
        }
    }
}

/// The private cluster used when `database.url` is not set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagedDatabaseConfig {
    /// 0 picks a free loopback port at start.
    pub port: u16,
    /// Where initdb, pg_ctl and postgres are; searched on PATH and in
    /// /usr/lib/postgresql/*/bin when unset.
    pub bin_dir: Option<PathBuf>,
    /// The unprivileged user that runs the server when the daemon runs as root.
    pub system_user: String,
}

impl Default for ManagedDatabaseConfig {
    fn default() -> Self {
        ManagedDatabaseConfig {
            port: 0,
            bin_dir: None,
            system_user: "postgres".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Providers' webhooks arrive here.
    pub webhook_listen: SocketAddr,
    /// Health, readiness, metrics and the admin API; loopback by default.
    pub admin_listen: SocketAddr,
    /// Larger webhook bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Accepted clock difference for providers that sign a timestamp.
    #[serde(deserialize_with = "duration")]
    pub webhook_tolerance: Duration,
    /// How long shutdown waits for in-flight work.
    #[serde(deserialize_with = "duration")]
    pub shutdown_grace: Duration,
    /// How long a verified webhook waits for the database before it is
    /// appended to the local spool (and acknowledged) instead.
    #[serde(deserialize_with = "duration")]
    pub spool_budget: Duration,
    /// The spool's size bound (bytes under `data_dir/spool`); past it,
    /// deliveries the database cannot take are refused with 503.
    pub spool_max_bytes: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            webhook_listen: SocketAddr::from(([0, 0, 0, 0], 8480)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8481)),
            max_body_bytes: 1024 * 1024,
            webhook_tolerance: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
            spool_budget: Duration::from_millis(500),
            spool_max_bytes: 1024 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    #[default]
    Auto,
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// A `RUST_LOG`-style filter; `RUST_LOG` itself wins when set.
    pub log_filter: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            log_format: LogFormat::Auto,
            log_filter: "info".into(),
        }
    }
}

/// One provider account.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// Unique; appears in URLs (`/webhooks/{id}`), rows and events.
    pub id: String,
    /// The provider's plugin (`provider = "..."`).
    pub plugin: &'static dyn Plugin,
    pub enabled: bool,
    /// When to poll every stream.
    pub schedule: CronSchedule,
    pub streams: BTreeMap<String, StreamConfig>,
    /// What every provider is built from: id, base URL, credentials, secrets,
    /// rate limit, page sizes, stage overrides.
    pub settings: Settings,
    /// The provider's own options (`[connectors.options]`), parsed by its plugin.
    pub options: Options,
}

impl ConnectorConfig {
    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.plugin.name()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub api_key: Option<Secret>,
}

/// A table only: serde's derive would also take an array (`credentials =
/// ["..."]`) as the fields in order.
impl<'de> Deserialize<'de> for Credentials {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Credentials;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Credentials, A::Error> {
                let mut credentials = Credentials::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "api_key" if credentials.api_key.is_some() => {
                            return Err(serde::de::Error::duplicate_field("api_key"))
                        }
                        "api_key" => credentials.api_key = Some(map.next_value()?),
                        other => return Err(serde::de::Error::unknown_field(other, &["api_key"])),
                    }
                }
                Ok(credentials)
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Overrides the provider's documented request rate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests allowed per `per`.
    pub requests: u32,
    #[serde(deserialize_with = "duration")]
    pub per: Duration,
    /// Requests that may go at once after a quiet spell (default 1).
    #[serde(default)]
    pub burst: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub enabled: bool,
    pub schedule: Option<CronSchedule>,
    pub page_size: Option<u32>,
}

/// A downstream consumer of canonical events.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub id: String,
    /// Event type globs (`application.*`); all when empty.
    pub events: Vec<String>,
    /// Only events of these connectors; all when empty.
    pub connectors: Vec<String>,
    pub retry_schedule: Vec<Duration>,
    /// Where a new sink starts reading the event log.
    pub start: SinkStart,
    /// Where events go, by `kind`: each kind carries exactly what it needs.
    pub target: SinkTarget,
}

/// Where a sink seen for the first time starts in the event log (`start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SinkStart {
    /// With the events written from now on (`"now"`, the default).
    #[default]
    Now,
    /// With the whole log (`"beginning"`).
    Beginning,
    /// With the events written at or after a time (RFC 3339).
    At(chrono::DateTime<chrono::Utc>),
}

impl SinkStart {
    /// Parses `"now"`, `"beginning"` or an RFC 3339 time.
    pub fn parse(text: &str) -> Result<SinkStart, String> {
        match text {
            "now" => Ok(SinkStart::Now),
            "beginning" => Ok(SinkStart::Beginning),
            other => chrono::DateTime::parse_from_rfc3339(other)
                .map(|t| SinkStart::At(t.with_timezone(&chrono::Utc)))
                .map_err(|e| {
                    format!("expected \"now\", \"beginning\" or an RFC 3339 time such as \"2026-11-01T00:00:00Z\" ({e})")
                }),
        }
    }
}

/// A sink's kind with its settings.
#[derive(Debug, Clone)]
pub enum SinkTarget {
    /// Signed HTTP POSTs (Standard Webhooks).
    Webhook {
        url: url::Url,
        /// Signing secrets (`whsec_<base64>`); one signature per secret is sent.
        secrets: Vec<Secret>,
        timeout: Duration,
        max_in_flight: u32,
        headers: BTreeMap<String, String>,
    },
    /// Appended JSON lines, rotated by size.
    Jsonl { path: PathBuf, rotate_bytes: u64 },
    /// Messages on a NATS JetStream stream, one subject per event type.
    Nats {
        /// `nats://` URL; may carry credentials, so it is kept as a secret.
        url: Secret,
        /// Subjects are `<subject_prefix>.<event type>`.
        subject_prefix: String,
        /// The stream capturing `<subject_prefix>.>`, created when missing.
        stream: String,
        timeout: Duration,
        max_in_flight: u32,
    },
}

impl SinkConfig {
    /// The `kind` as written in the config.
    pub fn kind(&self) -> &'static str {
        match self.target {
            SinkTarget::Webhook { .. } => "webhook",
            SinkTarget::Jsonl { .. } => "jsonl",
            SinkTarget::Nats { .. } => "nats",
        }
    }

    /// How long one delivery attempt may take.
    pub fn timeout(&self) -> Duration {
        match &self.target {
            SinkTarget::Webhook { timeout, .. } | SinkTarget::Nats { timeout, .. } => *timeout,
            SinkTarget::Jsonl { .. } => Duration::from_secs(15),
        }
    }

    /// Deliveries in flight at once.
    pub fn max_in_flight(&self) -> u32 {
        match &self.target {
            SinkTarget::Webhook { max_in_flight, .. } | SinkTarget::Nats { max_in_flight, .. } => {
                *max_in_flight
            }
            SinkTarget::Jsonl { .. } => 1,
        }
    }
}

/// The default delivery retry schedule (Standard Webhooks' recommendation).
pub fn default_retry_schedule() -> Vec<Duration> {
    [5, 300, 1800, 7200, 18000, 36000, 36000]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// Durations must carry a unit: `"30s"`, `"5m"`, `"1h 30m"`.
pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

pub(super) fn durations<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Duration>>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| parse_duration(t))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(serde::de::Error::custom)
}

pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}); write it with a unit, such as \"30s\", \"5m\" or \"2h\"")
    })
}
