//! The daemon's TOML configuration: types, loading with environment
//! interpolation, and validation that reports every problem with its file, line,
//! column and key.
//!
//! Loading runs in three steps, each collecting all its errors: interpolate the
//! raw text (`interpolate`), deserialize each section on its own so one bad
//! section does not hide problems in the next, then check what serde cannot
//! (cron expressions, duplicate ids, URLs, secrets, cross references).

mod interpolate;
mod locate;

use hirebridge_sdk::{Provider, StageCategory};
use locate::{line_col, path_at, span_of, KeyPath};
use secrecy::{ExposeSecret, SecretString};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml_edit::ImDocument;

pub use interpolate::InterpolationError;

// ---------------------------------------------------------------------------
// Secrets

/// A credential from the config. Its Debug and Display never show the value;
/// code that needs it calls [`Secret::expose`] at the point of use.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(SecretString::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**REDACTED**)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

// ---------------------------------------------------------------------------
// Sections

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            webhook_listen: SocketAddr::from(([0, 0, 0, 0], 8480)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8481)),
            max_body_bytes: 1024 * 1024,
            webhook_tolerance: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
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

/// A cron schedule with the text it came from.
#[derive(Clone)]
pub struct CronSchedule {
    pub expr: String,
    pub schedule: cron::Schedule,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.expr)
    }
}

/// One provider account.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// Unique; appears in URLs (`/webhooks/{id}`), rows and events.
    pub id: String,
    pub provider: Provider,
    pub enabled: bool,
    /// Overrides the provider's API base URL (simulators, sandboxes, proxies).
    pub base_url: Option<url::Url>,
    /// When to poll every stream.
    pub schedule: CronSchedule,
    pub credentials: Credentials,
    /// Verify webhooks with any of these (several during a rotation).
    pub webhook_secrets: Vec<Secret>,
    pub rate_limit: Option<RateLimitConfig>,
    pub streams: BTreeMap<String, StreamConfig>,
    /// Provider stage title (or id) to canonical stage category, overriding the mapping.
    pub stage_map: BTreeMap<String, StageCategory>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Credentials {
    pub api_key: Option<Secret>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    Webhook,
    Jsonl,
}

/// A downstream consumer of canonical events.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub id: String,
    pub kind: SinkKind,
    pub url: Option<url::Url>,
    /// Standard Webhooks signing secrets (`whsec_<base64>`), decoded; one
    /// signature per secret is sent.
    pub secrets: Vec<Secret>,
    /// Event type globs (`application.*`); all when empty.
    pub events: Vec<String>,
    /// Only events of these connectors; all when empty.
    pub connectors: Vec<String>,
    pub timeout: Duration,
    pub max_in_flight: u32,
    pub retry_schedule: Vec<Duration>,
    pub headers: BTreeMap<String, String>,
    /// For `jsonl`: the file appended to.
    pub path: Option<PathBuf>,
    /// For `jsonl`: rotate when the file reaches this many bytes.
    pub rotate_bytes: u64,
}

/// The default delivery retry schedule (Standard Webhooks' recommendation).
pub fn default_retry_schedule() -> Vec<Duration> {
    [5, 300, 1800, 7200, 18000, 36000, 36000]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

// ---------------------------------------------------------------------------
// Raw (as written) forms, converted after validation

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    id: String,
    provider: String,
    #[serde(default = "yes")]
    enabled: bool,
    base_url: Option<String>,
    schedule: Option<String>,
    #[serde(default)]
    credentials: Credentials,
    #[serde(default)]
    webhook_secrets: Vec<Secret>,
    rate_limit: Option<RateLimitConfig>,
    #[serde(default)]
    streams: BTreeMap<String, RawStream>,
    #[serde(default)]
    stage_map: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    #[serde(default = "yes")]
    enabled: bool,
    schedule: Option<String>,
    page_size: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    id: String,
    kind: String,
    url: Option<String>,
    #[serde(default)]
    secrets: Vec<Secret>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    connectors: Vec<String>,
    #[serde(default = "default_sink_timeout", deserialize_with = "duration")]
    timeout: Duration,
    #[serde(default = "default_max_in_flight")]
    max_in_flight: u32,
    #[serde(default, deserialize_with = "durations")]
    retry_schedule: Option<Vec<Duration>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    path: Option<PathBuf>,
    #[serde(default = "default_rotate_bytes")]
    rotate_bytes: u64,
}

fn yes() -> bool {
    true
}
fn default_sink_timeout() -> Duration {
    Duration::from_secs(15)
}
fn default_max_in_flight() -> u32 {
    16
}
fn default_rotate_bytes() -> u64 {
    100 * 1024 * 1024
}

/// The default poll schedule: every five minutes.
pub const DEFAULT_SCHEDULE: &str = "*/5 * * * *";

/// The top-level keys; anything else is an error.
const TOP_LEVEL_KEYS: &[&str] = &[
    "data_dir",
    "database",
    "server",
    "telemetry",
    "connectors",
    "sinks",
];

/// Durations must carry a unit: `"30s"`, `"5m"`, `"1h 30m"`.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

fn durations<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Duration>>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| parse_duration(t))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}); write it with a unit, such as \"30s\", \"5m\" or \"2h\"")
    })
}

/// Parses a cron expression: the standard 5-field crontab form (minute hour
/// day-of-month month day-of-week, Sunday = 0 or 7) or the 6/7-field form with
/// seconds first (and optional year), whose day-of-week numbers are 1-7 = Sunday-Saturday.
pub fn cron_schedule(expr: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let text = match fields.len() {
        5 => {
            let dow = crontab_day_of_week(fields[4])?;
            format!("0 {} {} {} {} {}", fields[0], fields[1], fields[2], fields[3], dow)
        }
        6 | 7 => fields.join(" "),
        n => {
            return Err(format!(
                "invalid cron expression {expr:?}: {n} fields; expected 5 (min hour day month weekday) or 6 with seconds first"
            ))
        }
    };
    cron::Schedule::from_str(&text).map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
}

/// Rewrites a crontab day-of-week field (0-7, Sunday = 0 or 7) into the `cron`
/// crate's numbering (1-7, Sunday = 1). Names pass through unchanged.
fn crontab_day_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" || field.chars().any(|c| c.is_ascii_alphabetic()) {
        return Ok(field.to_string());
    }
    let bad = || {
        format!(
            "invalid day-of-week {field:?} (use 0-7, Sunday = 0 or 7, or names such as MON-FRI)"
        )
    };
    let mut days = std::collections::BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad())?),
            None => (item, 1),
        };
        if step == 0 {
            return Err(bad());
        }
        let (lo, hi) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                a.parse::<u32>().map_err(|_| bad())?,
                b.parse::<u32>().map_err(|_| bad())?,
            )
        } else {
            let a = range.parse::<u32>().map_err(|_| bad())?;
            (a, if step > 1 { 7 } else { a })
        };
        if lo > 7 || hi > 7 || lo > hi {
            return Err(bad());
        }
        days.extend((lo..=hi).step_by(step as usize).map(|d| d % 7 + 1));
    }
    Ok(days
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(","))
}

// ---------------------------------------------------------------------------
// Errors

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is with the file as a whole.
    pub line: usize,
    pub column: usize,
    /// The dotted key (`connectors[1].schedule`); empty when none applies.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a config file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors while validating, pointing each at its place in the original text.
struct Checker<'a> {
    file: &'a Path,
    original: &'a str,
    interpolated: &'a interpolate::Interpolated,
    doc: &'a ImDocument<String>,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    /// An error at the value of `path` (or the nearest enclosing table).
    fn at(&mut self, path: &KeyPath, message: impl Into<String>) {
        let offset = span_of(self.doc, path).map_or(0, |s| s.start);
        self.push_at(offset, path.to_string(), message.into());
    }

    /// An error at `offset` of the interpolated text.
    fn push_at(&mut self, offset: usize, key: String, message: String) {
        let original = self.interpolated.original_offset(offset);
        let (line, column) = line_col(self.original, original);
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            key,
            message,
        });
    }

    fn serde_error(&mut self, prefix: &KeyPath, e: toml_edit::de::Error) {
        let offset = e.span().map(|s| s.start);
        let key = match offset {
            Some(o) => {
                let found = path_at(self.doc, o);
                if found.0.len() >= prefix.0.len() {
                    found
                } else {
                    prefix.clone()
                }
            }
            None => prefix.clone(),
        };
        let message = e.message().trim().to_string();
        match offset {
            Some(o) => self.push_at(o, key.to_string(), message),
            None => self.at(&key, message),
        }
    }

    /// Deserializes the item at `path` on its own.
    fn section<T: DeserializeOwned>(
        &mut self,
        path: &KeyPath,
        item: &toml_edit::Item,
    ) -> Option<T> {
        let value = match item.clone().into_value() {
            Ok(v) => v,
            Err(_) => return None,
        };
        match T::deserialize(value.into_deserializer()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.serde_error(path, e);
                None
            }
        }
    }

    fn schedule(&mut self, path: &KeyPath, expr: &str) -> Option<CronSchedule> {
        match cron_schedule(expr) {
            Ok(schedule) => Some(CronSchedule {
                expr: expr.to_string(),
                schedule,
            }),
            Err(message) => {
                self.at(path, message);
                None
            }
        }
    }

    fn id(&mut self, path: &KeyPath, id: &str, what: &str) -> bool {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok {
            self.at(
                path,
                format!("{what} id {id:?} must be 1-64 characters of a-z, 0-9, - and _ (it appears in URLs and rows)"),
            );
        }
        ok
    }
}

// ---------------------------------------------------------------------------
// Loading

impl Config {
    /// Reads, interpolates from the process environment, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            errors: vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read the config file: {e}"),
            }],
        })?;
        Config::from_str_with_env(&text, path, &|name| std::env::var(name).ok())
    }

    /// Parses and validates `text` as if read from `path`, looking variables up with `env`.
    pub fn from_str_with_env(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let file_error = |offset: usize, key: String, message: String| {
            let (line, column) = line_col(text, offset);
            ConfigError {
                file: path.to_path_buf(),
                line,
                column,
                key,
                message,
            }
        };

        let interpolated = match interpolate::interpolate(text, env) {
            Ok(i) => i,
            Err(errors) => {
                // Name the key each bad reference sits in, when the raw text parses.
                let raw_doc = ImDocument::parse(text.to_string()).ok();
                return Err(ConfigErrors {
                    errors: errors
                        .into_iter()
                        .map(|e| {
                            let key = raw_doc
                                .as_ref()
                                .map(|d| path_at(d, e.offset).to_string())
                                .unwrap_or_default();
                            file_error(e.offset, key, e.message)
                        })
                        .collect(),
                });
            }
        };

        let doc = match ImDocument::parse(interpolated.text.clone()) {
            Ok(doc) => doc,
            Err(e) => {
                let offset = interpolated.original_offset(e.span().map_or(0, |s| s.start));
                let message = e.message().trim().to_string();
                return Err(ConfigErrors {
                    errors: vec![file_error(
                        offset,
                        String::new(),
                        format!("not valid TOML: {message}"),
                    )],
                });
            }
        };

        let mut checker = Checker {
            file: path,
            original: text,
            interpolated: &interpolated,
            doc: &doc,
            errors: Vec::new(),
        };
        let config = build(&mut checker, path);
        if checker.errors.is_empty() {
            if let Some(config) = config {
                return Ok(config);
            }
        }
        let mut errors = checker.errors;
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors { errors })
    }

    /// One line per connector and sink, for `hirebridge check`.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "database: {}; webhooks on {}, admin on {}",
            if self.database.url.is_some() {
                "configured URL".to_string()
            } else {
                format!(
                    "managed cluster under {}",
                    self.data_dir.join("postgres").display()
                )
            },
            self.server.webhook_listen,
            self.server.admin_listen
        )];
        for c in &self.connectors {
            let disabled = c.streams.values().filter(|s| !s.enabled).count();
            let polling = if matches!(c.provider, Provider::Kit) && c.credentials.api_key.is_none()
            {
                "webhooks only".to_string()
            } else {
                format!("polls on \"{}\"", c.schedule.expr)
            };
            lines.push(format!(
                "connector {} ({}){}: {polling}, {} stream override(s){}, {} webhook secret(s), credentials {}",
                c.id,
                c.provider,
                if c.enabled { "" } else { " [disabled]" },
                c.streams.len(),
                if disabled > 0 { format!(" ({disabled} off)") } else { String::new() },
                c.webhook_secrets.len(),
                if c.credentials.api_key.is_some() { "set" } else { "none" },
            ));
        }
        for s in &self.sinks {
            let target = match s.kind {
                SinkKind::Webhook => s.url.as_ref().map(redacted_url).unwrap_or_default(),
                SinkKind::Jsonl => s
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            };
            lines.push(format!(
                "sink {} ({}): {}, events {}, {} secret(s)",
                s.id,
                match s.kind {
                    SinkKind::Webhook => "webhook",
                    SinkKind::Jsonl => "jsonl",
                },
                target,
                if s.events.is_empty() {
                    "*".to_string()
                } else {
                    s.events.join(",")
                },
                s.secrets.len()
            ));
        }
        lines
    }
}

/// A URL without its password, for display.
fn redacted_url(url: &url::Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("REDACTED"));
    }
    u.to_string()
}

fn build(c: &mut Checker<'_>, path: &Path) -> Option<Config> {
    let root = KeyPath::default();
    let doc = c.doc;
    for (key, _) in doc.as_table().iter() {
        if !TOP_LEVEL_KEYS.contains(&key) {
            c.at(
                &root.key(key),
                format!(
                    "unknown key `{key}`, expected one of: {}",
                    TOP_LEVEL_KEYS.join(", ")
                ),
            );
        }
    }

    let data_dir = match doc.get("data_dir") {
        None => Some(PathBuf::from("./var")),
        Some(item) => match item.as_str() {
            Some(s) if !s.is_empty() => Some(PathBuf::from(s)),
            _ => {
                c.at(&root.key("data_dir"), "must be a non-empty path string");
                None
            }
        },
    };
    let database: Option<DatabaseConfig> = match doc.get("database") {
        Some(item) => c.section(&root.key("database"), item),
        None => Some(DatabaseConfig::default()),
    };
    let server: Option<ServerConfig> = match doc.get("server") {
        Some(item) => c.section(&root.key("server"), item),
        None => Some(ServerConfig::default()),
    };
    let telemetry: Option<TelemetryConfig> = match doc.get("telemetry") {
        Some(item) => c.section(&root.key("telemetry"), item),
        None => Some(TelemetryConfig::default()),
    };
    if let Some(db) = &database {
        check_database(c, db);
    }
    if let Some(t) = &telemetry {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&t.log_filter) {
            c.at(
                &root.key("telemetry").key("log_filter"),
                format!("invalid log filter: {e}"),
            );
        }
    }
    if let Some(s) = &server {
        if s.max_body_bytes == 0 {
            c.at(
                &root.key("server").key("max_body_bytes"),
                "must be greater than 0",
            );
        }
        if s.webhook_listen.port() != 0 && s.webhook_listen == s.admin_listen {
            c.at(
                &root.key("server").key("admin_listen"),
                "must differ from webhook_listen",
            );
        }
    }

    let connectors = connectors(c, &root.key("connectors"));
    let connector_ids: Vec<String> = connectors.iter().map(|k| k.id.clone()).collect();
    let sinks = sinks(c, &root.key("sinks"), &connector_ids);

    Some(Config {
        source_path: path.to_path_buf(),
        data_dir: data_dir?,
        database: database?,
        server: server?,
        telemetry: telemetry?,
        connectors,
        sinks,
    })
}

fn check_database(c: &mut Checker<'_>, db: &DatabaseConfig) {
    let path = KeyPath::default().key("database");
    if let Some(url) = &db.url {
        let text = url.expose();
        // Never echo the URL: it usually holds a password.
        match url::Url::parse(text) {
            Ok(u) if u.scheme() == "postgres" || u.scheme() == "postgresql" => {}
            Ok(_) => c.at(
                &path.key("url"),
                "must be a postgres:// or postgresql:// URL",
            ),
            Err(e) => c.at(&path.key("url"), format!("not a valid URL ({e})")),
        }
    }
    if db.max_connections == 0 {
        c.at(&path.key("max_connections"), "must be at least 1");
    }
    if db.min_connections > db.max_connections {
        c.at(
            &path.key("min_connections"),
            "must not exceed max_connections",
        );
    }
    if db.statement_timeout.is_zero() {
        c.at(&path.key("statement_timeout"), "must be greater than 0");
    }
}

/// Items of an array of tables (`[[connectors]]`) or an inline array of tables.
fn array_items(c: &mut Checker<'_>, path: &KeyPath, key: &str) -> Vec<toml_edit::Item> {
    match c.doc.get(key) {
        None => Vec::new(),
        Some(toml_edit::Item::ArrayOfTables(a)) => {
            a.iter().cloned().map(toml_edit::Item::Table).collect()
        }
        Some(toml_edit::Item::Value(toml_edit::Value::Array(a))) => {
            a.iter().cloned().map(toml_edit::Item::Value).collect()
        }
        Some(_) => {
            c.at(
                path,
                format!("must be an array of tables: write [[{key}]] sections"),
            );
            Vec::new()
        }
    }
}

fn connectors(c: &mut Checker<'_>, path: &KeyPath) -> Vec<ConnectorConfig> {
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in array_items(c, path, "connectors").iter().enumerate() {
        let here = path.index(i);
        let Some(raw) = c.section::<RawConnector>(&here, item) else {
            continue;
        };
        let mut ok = c.id(&here.key("id"), &raw.id, "connector");
        if seen.contains(&raw.id) {
            c.at(
                &here.key("id"),
                format!("duplicate connector id {:?}", raw.id),
            );
            ok = false;
        }
        seen.push(raw.id.clone());

        let provider = match Provider::from_str(&raw.provider) {
            Ok(p) => Some(p),
            Err(e) => {
                c.at(&here.key("provider"), e.to_string());
                None
            }
        };
        if let Some(p) = provider {
            let polls = !matches!(p, Provider::Kit);
            if polls
                && raw
                    .credentials
                    .api_key
                    .as_ref()
                    .is_none_or(|k| k.expose().is_empty())
            {
                c.at(
                    &here.key("credentials"),
                    format!("provider {p} needs credentials.api_key (e.g. api_key = \"${{{}_API_KEY}}\")", p.as_str().to_uppercase()),
                );
                ok = false;
            }
            if matches!(p, Provider::Kit)
                && raw.webhook_secrets.is_empty()
                && raw.credentials.api_key.is_none()
            {
                c.at(
                    &here.key("webhook_secrets"),
                    "provider kit is driven by webhooks: give at least one webhook secret (or credentials.api_key to poll its jobs API)",
                );
                ok = false;
            }
        }
        for (n, secret) in raw.webhook_secrets.iter().enumerate() {
            if secret.expose().is_empty() {
                c.at(&here.key("webhook_secrets").index(n), "must not be empty");
                ok = false;
            }
        }
        let base_url = match raw.base_url.as_deref().map(url::Url::parse) {
            None => None,
            Some(Ok(u)) if u.scheme() == "http" || u.scheme() == "https" => Some(u),
            Some(Ok(_)) => {
                c.at(&here.key("base_url"), "must be an http:// or https:// URL");
                None
            }
            Some(Err(e)) => {
                c.at(&here.key("base_url"), format!("not a valid URL ({e})"));
                None
            }
        };
        let schedule_path = here.key("schedule");
        let schedule = c.schedule(
            &schedule_path,
            raw.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE),
        );
        if let Some(rl) = &raw.rate_limit {
            if rl.requests == 0 || rl.per.is_zero() || rl.burst == Some(0) {
                c.at(
                    &here.key("rate_limit"),
                    "requests, per and burst must all be greater than 0",
                );
                ok = false;
            }
        }
        let mut streams = BTreeMap::new();
        for (name, s) in raw.streams {
            let spath = here.key("streams").key(&name);
            let schedule = match &s.schedule {
                Some(expr) => match c.schedule(&spath.key("schedule"), expr) {
                    Some(s) => Some(s),
                    None => {
                        ok = false;
                        None
                    }
                },
                None => None,
            };
            if s.page_size == Some(0) {
                c.at(&spath.key("page_size"), "must be greater than 0");
                ok = false;
            }
            streams.insert(
                name,
                StreamConfig {
                    enabled: s.enabled,
                    schedule,
                    page_size: s.page_size,
                },
            );
        }
        let mut stage_map = BTreeMap::new();
        for (stage, category) in raw.stage_map {
            match StageCategory::from_str(&category) {
                Ok(cat) => {
                    stage_map.insert(stage, cat);
                }
                Err(e) => {
                    c.at(&here.key("stage_map").key(&stage), e.to_string());
                    ok = false;
                }
            }
        }
        if let (true, Some(provider), Some(schedule)) = (ok, provider, schedule) {
            if raw.base_url.is_some() && base_url.is_none() {
                continue;
            }
            out.push(ConnectorConfig {
                id: raw.id,
                provider,
                enabled: raw.enabled,
                base_url,
                schedule,
                credentials: raw.credentials,
                webhook_secrets: raw.webhook_secrets,
                rate_limit: raw.rate_limit,
                streams,
                stage_map,
            });
        }
    }
    out
}

/// Decodes a Standard Webhooks secret: `whsec_` followed by base64 key bytes.
pub fn decode_sink_secret(secret: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let b64 = secret.strip_prefix("whsec_")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (bytes.len() >= 16).then_some(bytes)
}

fn sinks(c: &mut Checker<'_>, path: &KeyPath, connector_ids: &[String]) -> Vec<SinkConfig> {
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in array_items(c, path, "sinks").iter().enumerate() {
        let here = path.index(i);
        let Some(raw) = c.section::<RawSink>(&here, item) else {
            continue;
        };
        let mut ok = c.id(&here.key("id"), &raw.id, "sink");
        if seen.contains(&raw.id) {
            c.at(&here.key("id"), format!("duplicate sink id {:?}", raw.id));
            ok = false;
        }
        seen.push(raw.id.clone());
        let kind = match raw.kind.as_str() {
            "webhook" => Some(SinkKind::Webhook),
            "jsonl" => Some(SinkKind::Jsonl),
            other => {
                c.at(
                    &here.key("kind"),
                    format!("unknown sink kind {other:?} (expected webhook or jsonl)"),
                );
                None
            }
        };
        let url = match raw.url.as_deref().map(url::Url::parse) {
            None => {
                if kind == Some(SinkKind::Webhook) {
                    c.at(&here.key("url"), "a webhook sink needs a url");
                    ok = false;
                }
                None
            }
            Some(Ok(u))
                if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() =>
            {
                Some(u)
            }
            Some(Ok(_)) => {
                c.at(
                    &here.key("url"),
                    "must be an http:// or https:// URL with a host",
                );
                ok = false;
                None
            }
            Some(Err(e)) => {
                c.at(&here.key("url"), format!("not a valid URL ({e})"));
                ok = false;
                None
            }
        };
        if kind == Some(SinkKind::Webhook) && raw.secrets.is_empty() {
            c.at(
                &here.key("secrets"),
                "a webhook sink needs at least one secret (whsec_<base64>)",
            );
            ok = false;
        }
        for (n, secret) in raw.secrets.iter().enumerate() {
            // Never echo the secret itself.
            if decode_sink_secret(secret.expose()).is_none() {
                c.at(
                    &here.key("secrets").index(n),
                    "not a signing secret: expected whsec_ followed by the base64 of at least 16 bytes",
                );
                ok = false;
            }
        }
        for (n, glob) in raw.events.iter().enumerate() {
            let valid = !glob.is_empty()
                && glob
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch == '.' || ch == '*');
            if !valid {
                c.at(
                    &here.key("events").index(n),
                    format!("invalid event filter {glob:?}: use event types and * globs such as \"application.*\""),
                );
                ok = false;
            }
        }
        for (n, id) in raw.connectors.iter().enumerate() {
            if !connector_ids.contains(id) {
                c.at(
                    &here.key("connectors").index(n),
                    format!("no connector with id {id:?}"),
                );
                ok = false;
            }
        }
        for name in raw.headers.keys() {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                c.at(
                    &here.key("headers").key(name),
                    "not a valid HTTP header name",
                );
                ok = false;
            }
        }
        if raw.max_in_flight == 0 {
            c.at(&here.key("max_in_flight"), "must be at least 1");
            ok = false;
        }
        if raw.retry_schedule.as_ref().is_some_and(|r| r.is_empty()) {
            c.at(
                &here.key("retry_schedule"),
                "must list at least one retry delay",
            );
            ok = false;
        }
        if kind == Some(SinkKind::Jsonl) && raw.path.is_none() {
            c.at(&here.key("path"), "a jsonl sink needs a path");
            ok = false;
        }
        if let (true, Some(kind)) = (ok, kind) {
            out.push(SinkConfig {
                id: raw.id,
                kind,
                url,
                secrets: raw.secrets,
                events: raw.events,
                connectors: raw.connectors,
                timeout: raw.timeout,
                max_in_flight: raw.max_in_flight,
                retry_schedule: raw.retry_schedule.unwrap_or_else(default_retry_schedule),
                headers: raw.headers,
                path: raw.path,
                rotate_bytes: raw.rotate_bytes,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Utc, Weekday};

    fn load(text: &str) -> Result<Config, ConfigErrors> {
        Config::from_str_with_env(text, Path::new("t.toml"), &|name| match name {
            "ASHBY_KEY" => Some("sk-live-123".into()),
            _ => None,
        })
    }

    #[test]
    fn an_empty_file_is_a_valid_config_with_defaults() {
        let c = load("").unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./var"));
        assert!(c.database.url.is_none());
        assert_eq!(c.server.admin_listen.to_string(), "127.0.0.1:8481");
        assert_eq!(c.server.max_body_bytes, 1 << 20);
    }

    #[test]
    fn five_field_crontab_uses_sunday_zero() {
        let s = cron_schedule("0 9 * * 1-5").unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap(); // a Saturday
        let next: Vec<_> = s.after(&after).take(5).collect();
        assert_eq!(next[0].weekday(), Weekday::Mon);
        assert_eq!(next[4].weekday(), Weekday::Fri);
        let sunday = cron_schedule("0 0 * * 0")
            .unwrap()
            .after(&after)
            .next()
            .unwrap();
        assert_eq!(sunday.weekday(), Weekday::Sun);
        let seven = cron_schedule("0 0 * * 7")
            .unwrap()
            .after(&after)
            .next()
            .unwrap();
        assert_eq!(seven.weekday(), Weekday::Sun);
        assert!(cron_schedule("0 */15 * * * *").is_ok());
        assert!(cron_schedule("*/5 * * * MON-FRI").is_ok());
        assert!(cron_schedule("every minute").is_err());
        assert!(cron_schedule("* * * * 9").is_err());
    }

    #[test]
    fn durations_need_units() {
        let e = load("[database]\nacquire_timeout = \"30\"\n").unwrap_err();
        assert_eq!(e.errors.len(), 1, "{e}");
        assert_eq!(e.errors[0].key, "database.acquire_timeout");
        assert!(e.errors[0].message.contains("unit"), "{e}");
        let c = load("[database]\nacquire_timeout = \"1m 30s\"\n").unwrap();
        assert_eq!(c.database.acquire_timeout, Duration::from_secs(90));
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let text = r#"
[database]
url = "postgres://u:db-pass-999@h/db"
[[connectors]]
id = "a"
provider = "ashby"
credentials = { api_key = "${ASHBY_KEY}" }
webhook_secrets = ["hook-secret-777"]
[[sinks]]
id = "s"
kind = "webhook"
url = "https://u:sink-pass-555@example.com/x"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
"#;
        let c = load(text).unwrap();
        let debug = format!("{c:?}");
        for secret in [
            "sk-live-123",
            "db-pass-999",
            "hook-secret-777",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(!c.summary_lines().join("\n").contains("sink-pass-555"));
        assert_eq!(
            c.connectors[0]
                .credentials
                .api_key
                .as_ref()
                .unwrap()
                .expose(),
            "sk-live-123"
        );

        let bad = text
            .replace(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "whsec_not-base64-topsecret",
            )
            .replace(
                "postgres://u:db-pass-999@h/db",
                "mysql://u:db-pass-999@h/db",
            );
        let errors = load(&bad).unwrap_err().to_string();
        assert!(errors.contains("sinks[0].secrets[0]"), "{errors}");
        assert!(errors.contains("database.url"), "{errors}");
        assert!(
            !errors.contains("topsecret") && !errors.contains("db-pass-999"),
            "{errors}"
        );
    }

    #[test]
    fn every_error_is_collected_with_line_and_key() {
        let text = "\
[server]
admin_listen = \"nowhere\"
bogus = 1

[[connectors]]
id = \"Bad Id\"
provider = \"ashby\"
schedule = \"61 * * * *\"
stage_map = { \"Phone Screen\" = \"chatting\" }

[[connectors]]
id = \"k\"
provider = \"kit\"

[[sinks]]
id = \"s\"
kind = \"webhook\"
url = \"https://example.com\"
secrets = [\"whsec_AAAAAAAAAAAAAAAAAAAAAA==\"]
connectors = [\"nope\"]
events = [\"Application!\"]
";
        let e = load(text).unwrap_err();
        let got: Vec<(usize, &str)> = e.errors.iter().map(|e| (e.line, e.key.as_str())).collect();
        for wanted in [
            (2, "server.admin_listen"),
            (6, "connectors[0].id"),
            (8, "connectors[0].schedule"),
            (9, "connectors[0].stage_map.Phone Screen"),
            (11, "connectors[1].webhook_secrets"),
            (20, "sinks[0].connectors[0]"),
            (21, "sinks[0].events[0]"),
        ] {
            assert!(got.contains(&wanted), "missing {wanted:?} in {got:?}\n{e}");
        }
        // The ashby connector without credentials is reported too.
        assert!(
            e.errors
                .iter()
                .any(|e| e.key == "connectors[0].credentials"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_and_unset_variables_are_errors() {
        let e = load("[database]\nurl = \"${DB_URL}\"\npool = 3\n").unwrap_err();
        assert_eq!(
            e.errors.len(),
            1,
            "interpolation errors stop before parsing: {e}"
        );
        assert_eq!(
            (e.errors[0].line, e.errors[0].key.as_str()),
            (2, "database.url")
        );
        assert!(e.errors[0].message.contains("DB_URL"));

        let e = load("[database]\npool = 3\n[[connectors]]\nid = \"a\"\nprovider = \"ashby\"\ncredentials = { api_key = \"k\" }\ncolour = \"red\"\n").unwrap_err();
        let keys: Vec<_> = e.errors.iter().map(|e| (e.line, e.key.clone())).collect();
        assert!(keys.contains(&(2, "database.pool".into())), "{e}");
        assert!(keys.contains(&(7, "connectors[0].colour".into())), "{e}");
    }

    #[test]
    fn defaults_and_overrides_come_through() {
        let text = r#"
data_dir = "/srv/hb"
[[connectors]]
id = "ashby-main"
provider = "ashby"
base_url = "http://127.0.0.1:9000"
schedule = "0 */10 * * * *"
credentials = { api_key = "k" }
rate_limit = { requests = 100, per = "1m" }
[connectors.streams.candidates]
schedule = "*/2 * * * *"
page_size = 50
[connectors.streams.offers]
enabled = false
[connectors.stage_map]
"Take-home" = "assessment"

[[sinks]]
id = "lake"
kind = "jsonl"
path = "/srv/hb/events.jsonl"
"#;
        let c = load(text).unwrap();
        let k = &c.connectors[0];
        assert_eq!(k.schedule.expr, "0 */10 * * * *");
        assert_eq!(k.streams["candidates"].page_size, Some(50));
        assert!(!k.streams["offers"].enabled);
        assert_eq!(k.stage_map["Take-home"], StageCategory::Assessment);
        assert_eq!(k.rate_limit.as_ref().unwrap().per, Duration::from_secs(60));
        assert_eq!(c.sinks[0].retry_schedule, default_retry_schedule());
        assert_eq!(c.sinks[0].timeout, Duration::from_secs(15));
    }
}
