//! Validation: deserialise each section on its own (so one bad section does not
//! hide problems in the next) and check what serde cannot (cron expressions,
//! duplicate ids, URLs, secrets, cross references, each provider's own rules),
//! collecting every problem with its place in the file.

use super::cron::{cron_schedule, CronSchedule};
use super::interpolate;
use super::locate::{kind_at, line_col, path_at, span_of, KeyPath, Seg};
use super::types::*;
use super::{Config, ConfigError};
use hirebridge_sdk::{RateLimit, Secret, Settings, StageCategory, StageMap};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml_edit::ImDocument;

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
    /// The provider's own options, parsed by its plugin from the document
    /// itself (so its errors keep their lines); only accepted here.
    /// Field paths of the provider's payloads never to store (PII this
    /// deployment does not need), on top of the provider's own list.
    #[serde(default)]
    redact: Vec<String>,
    #[serde(default, rename = "options")]
    _options: Option<serde::de::IgnoredAny>,
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
    start: Option<String>,
    subject_prefix: Option<String>,
    stream: Option<String>,
}

/// A section whose one key is `retention` (`[events]`, `[inbox]`).
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawRetention {
    retention: Option<String>,
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
    "events",
    "inbox",
];

/// Collects errors while validating, pointing each at its place in the original text.
pub(super) struct Checker<'a> {
    pub(super) file: &'a Path,
    pub(super) original: &'a str,
    pub(super) interpolated: &'a interpolate::Interpolated,
    pub(super) doc: &'a ImDocument<String>,
    pub(super) errors: Vec<ConfigError>,
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
        let (key, message) = match secret_scope(&key) {
            // serde quotes the offending value; under a secret key that is the secret.
            Some((scope, expected)) => self.secret_message(key, scope, expected, e.message()),
            None => (key, e.message().trim().to_string()),
        };
        match offset {
            Some(o) => self.push_at(o, key.to_string(), message),
            None => self.at(&key, message),
        }
    }

    /// The message for a serde error at `key`, inside the secret key `scope`
    /// that expects `expected`: what was expected and what type was found, never the value.
    fn secret_message(
        &self,
        key: KeyPath,
        scope: KeyPath,
        expected: &str,
        serde_message: &str,
    ) -> (KeyPath, String) {
        const NOT_SHOWN: &str = "the value is not shown: this key holds a secret";
        let serde_message = serde_message.trim();
        // These name keys written inside the secret's table, not values (a
        // date-time where a table belongs is an "unknown field" of the key itself).
        if key.0.len() > scope.0.len()
            && (serde_message.starts_with("unknown field `")
                || serde_message.starts_with("missing field `"))
        {
            return (key, serde_message.to_string());
        }
        let (at, expected) = match secret_expectation(&key) {
            Some(expected) => (key, expected),
            None => (scope, expected),
        };
        let message = match kind_at(self.doc, &at) {
            Some(found) => format!("wrong type: expected {expected}, found {found} ({NOT_SHOWN})"),
            None => format!("invalid value: expected {expected} ({NOT_SHOWN})"),
        };
        (at, message)
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

pub(super) fn build(c: &mut Checker<'_>, path: &Path) -> Option<Config> {
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

    let connectors = connectors(c, &root.key("connectors"), server.as_ref());
    let connector_ids: Vec<String> = connectors.iter().map(|k| k.id.clone()).collect();
    let sinks = sinks(c, &root.key("sinks"), &connector_ids);
    let events = match doc.get("events") {
        Some(item) => c
            .section::<RawRetention>(&root.key("events"), item)
            .and_then(|raw| events(c, &root.key("events"), raw)),
        None => Some(EventsConfig::default()),
    };
    let inbox = match doc.get("inbox") {
        Some(item) => c
            .section::<RawRetention>(&root.key("inbox"), item)
            .and_then(|raw| inbox(c, &root.key("inbox"), raw)),
        None => Some(InboxConfig::default()),
    };

    Some(Config {
        source_path: path.to_path_buf(),
        data_dir: data_dir?,
        database: database?,
        server: server?,
        telemetry: telemetry?,
        connectors,
        sinks,
        events: events?,
        inbox: inbox?,
    })
}

/// A `retention` key: absent (`default`), `"keep"` (no limit) or a duration of
/// at least `min`, else an error at the key (`too_short` says why) and `None`.
fn retention(
    c: &mut Checker<'_>,
    path: &KeyPath,
    text: Option<&str>,
    default: Option<Duration>,
    min: Duration,
    too_short: &str,
) -> Option<Option<Duration>> {
    match text {
        None => Some(default),
        Some("keep") => Some(None),
        Some(text) => match parse_duration(text) {
            Ok(d) if d >= min => Some(Some(d)),
            Ok(_) => {
                c.at(&path.key("retention"), too_short);
                None
            }
            Err(e) => {
                c.at(&path.key("retention"), format!("{e}, or \"keep\""));
                None
            }
        },
    }
}

fn events(c: &mut Checker<'_>, path: &KeyPath, raw: RawRetention) -> Option<EventsConfig> {
    let retention = retention(
        c,
        path,
        raw.retention.as_deref(),
        None,
        Duration::from_secs(1),
        "must be at least 1s (or \"keep\")",
    )?;
    Some(EventsConfig { retention })
}

/// The shortest inbox retention accepted: below it a provider's ordinary
/// retries could outlive the record that recognises them.
const MIN_INBOX_RETENTION: Duration = Duration::from_secs(3600);

fn inbox(c: &mut Checker<'_>, path: &KeyPath, raw: RawRetention) -> Option<InboxConfig> {
    let retention = retention(
        c,
        path,
        raw.retention.as_deref(),
        Some(DEFAULT_INBOX_RETENTION),
        MIN_INBOX_RETENTION,
        "must be at least 1h, longer than every provider's retry schedule (or \"keep\")",
    )?;
    Some(InboxConfig { retention })
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

fn connectors(
    c: &mut Checker<'_>,
    path: &KeyPath,
    server: Option<&ServerConfig>,
) -> Vec<ConnectorConfig> {
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

        let plugin = crate::connectors::plugin(&raw.provider);
        if plugin.is_none() {
            c.at(
                &here.key("provider"),
                format!(
                    "unknown provider {:?} (expected one of: {})",
                    raw.provider,
                    crate::connectors::names().join(", ")
                ),
            );
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
                ok = false;
                None
            }
            Some(Err(e)) => {
                c.at(&here.key("base_url"), format!("not a valid URL ({e})"));
                ok = false;
                None
            }
        };
        let schedule = c.schedule(
            &here.key("schedule"),
            raw.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE),
        );
        let rate_limit = match &raw.rate_limit {
            Some(rl) if rl.requests == 0 || rl.per.is_zero() || rl.burst == Some(0) => {
                c.at(
                    &here.key("rate_limit"),
                    "requests, per and burst must all be greater than 0",
                );
                ok = false;
                None
            }
            Some(rl) => Some(RateLimit {
                requests: rl.requests,
                per: rl.per,
                burst: rl.burst.unwrap_or(1),
            }),
            None => None,
        };
        let mut streams = BTreeMap::new();
        for (name, s) in raw.streams {
            let spath = here.key("streams").key(&name);
            if let Some(p) = plugin {
                let known: Vec<&str> = p.capabilities().streams.iter().map(|s| s.name).collect();
                if !known.contains(&name.as_str()) {
                    c.at(
                        &spath,
                        if known.is_empty() {
                            format!("provider {} has no streams to poll", p.name())
                        } else {
                            format!("unknown stream {name:?} (known: {})", known.join(", "))
                        },
                    );
                    ok = false;
                }
            }
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
        let settings = Settings {
            id: raw.id.clone(),
            base_url: base_url.map(|u| u.to_string()),
            api_key: raw.credentials.api_key.filter(|k| !k.expose().is_empty()),
            webhook_secrets: raw.webhook_secrets,
            webhook_tolerance: server.map_or(Duration::from_secs(300), |s| s.webhook_tolerance),
            rate_limit,
            page_sizes: streams
                .iter()
                .filter_map(|(name, s)| s.page_size.map(|p| (name.clone(), p)))
                .collect(),
            stage_map: StageMap::new(stage_map),
            redact: raw.redact,
        };
        let Some(plugin) = plugin else {
            continue;
        };
        ok &= c.plugin_rules(&here, plugin, &settings);
        let options_item = item
            .as_table_like()
            .and_then(|t| t.get("options"))
            .and_then(|o| o.clone().into_value().ok());
        let options = match plugin.parse_options(options_item) {
            Ok(o) => Some(o),
            Err(e) => {
                c.serde_error(&here.key("options"), e);
                None
            }
        };
        if let Some(options) = &options {
            for problem in plugin.validate(&settings, options) {
                let mut at = here.clone();
                for key in &problem.key {
                    at = at.key(key);
                }
                c.at(&at, problem.message);
                ok = false;
            }
        }
        if let (true, Some(schedule), Some(options)) = (ok, schedule, options) {
            out.push(ConnectorConfig {
                id: raw.id,
                plugin,
                enabled: raw.enabled,
                schedule,
                streams,
                settings,
                options,
            });
        }
    }
    out
}

impl Checker<'_> {
    /// What every provider's capabilities demand of its section.
    fn plugin_rules(
        &mut self,
        here: &KeyPath,
        plugin: &'static dyn hirebridge_sdk::Plugin,
        settings: &Settings,
    ) -> bool {
        use hirebridge_sdk::Need;
        let caps = plugin.capabilities();
        let name = plugin.name();
        let mut ok = true;
        if caps.api_key == Need::Required && settings.api_key.is_none() {
            self.at(
                &here.key("credentials"),
                format!(
                    "provider {name} needs credentials.api_key (e.g. api_key = \"${{{}_API_KEY}}\")",
                    name.to_uppercase()
                ),
            );
            ok = false;
        }
        if caps.webhook_secret == Need::Required && settings.webhook_secrets.is_empty() {
            self.at(
                &here.key("webhook_secrets"),
                format!("provider {name} is driven by webhooks: give at least one webhook secret"),
            );
            ok = false;
        }
        if !caps.webhooks && !settings.webhook_secrets.is_empty() {
            self.at(
                &here.key("webhook_secrets"),
                format!("provider {name} sends no webhooks: remove webhook_secrets"),
            );
            ok = false;
        }
        ok
    }
}

// ---------------------------------------------------------------------------
// Keys that hold secrets

/// What a key that holds a secret expects, or `None` for other keys. Errors at
/// these keys (and inside them) never show the value.
pub(super) fn secret_expectation(path: &KeyPath) -> Option<&'static str> {
    let segs: Vec<Option<&str>> = path
        .0
        .iter()
        .map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    Some(match segs.as_slice() {
        [Some("database"), Some("url")] => "a string (a postgres:// URL)",
        [Some("connectors"), None, Some("credentials")] => {
            "a table (credentials = { api_key = \"...\" })"
        }
        [Some("connectors"), None, Some("credentials"), Some("api_key")] => "a string",
        [Some("connectors"), None, Some("webhook_secrets")] => "an array of strings",
        [Some("connectors"), None, Some("webhook_secrets"), None] => "a string",
        [Some("sinks"), None, Some("secrets")] => "an array of strings (whsec_<base64>)",
        [Some("sinks"), None, Some("secrets"), None] => "a string (whsec_<base64>)",
        // A sink's URL may carry a password, its headers a token.
        [Some("sinks"), None, Some("url")] => "a string (an http:// or https:// URL)",
        [Some("sinks"), None, Some("headers")] => "a table of strings",
        [Some("sinks"), None, Some("headers"), Some(_)] => "a string",
        _ => return None,
    })
}

/// The innermost secret key that `path` is or lies inside, with what it expects.
fn secret_scope(path: &KeyPath) -> Option<(KeyPath, &'static str)> {
    (1..=path.0.len()).rev().find_map(|n| {
        let prefix = KeyPath(path.0[..n].to_vec());
        secret_expectation(&prefix).map(|expected| (prefix, expected))
    })
}

/// Every string written under a secret key of `doc`, so a message that
/// quotes one by any route can be redacted.
pub(super) fn secret_strings(doc: &ImDocument<String>) -> Vec<String> {
    fn strings_in(value: &toml_edit::Value, out: &mut Vec<String>) {
        match value {
            toml_edit::Value::String(s) => out.push(s.value().clone()),
            toml_edit::Value::Array(a) => a.iter().for_each(|v| strings_in(v, out)),
            toml_edit::Value::InlineTable(t) => t.iter().for_each(|(_, v)| strings_in(v, out)),
            _ => {}
        }
    }
    fn walk(item: &toml_edit::Item, path: &KeyPath, secret: bool, out: &mut Vec<String>) {
        let secret = secret || secret_expectation(path).is_some();
        match item {
            toml_edit::Item::Table(t) => t
                .iter()
                .for_each(|(k, v)| walk(v, &path.key(k), secret, out)),
            toml_edit::Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    let here = path.index(i);
                    let secret = secret || secret_expectation(&here).is_some();
                    t.iter()
                        .for_each(|(k, v)| walk(v, &here.key(k), secret, out));
                }
            }
            toml_edit::Item::Value(v) => walk_value(v, path, secret, out),
            toml_edit::Item::None => {}
        }
    }
    fn walk_value(value: &toml_edit::Value, path: &KeyPath, secret: bool, out: &mut Vec<String>) {
        if secret || secret_expectation(path).is_some() {
            return strings_in(value, out);
        }
        match value {
            toml_edit::Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk_value(v, &path.index(i), false, out)),
            toml_edit::Value::InlineTable(t) => t
                .iter()
                .for_each(|(k, v)| walk_value(v, &path.key(k), false, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc.as_item(), &KeyPath::default(), false, &mut out);
    out
}

/// Replaces every secret string of `doc` in `message` (short ones, which
/// would mangle ordinary words, excepted).
pub(super) fn redact(message: &str, secrets: &[String]) -> String {
    let mut message = message.to_string();
    for secret in secrets {
        if secret.chars().count() >= 6 && message.contains(secret.as_str()) {
            message = message.replace(secret.as_str(), "**REDACTED**");
        }
    }
    message
}

/// Decodes a Standard Webhooks secret: `whsec_` followed by base64 key bytes.
pub fn decode_sink_secret(secret: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let b64 = secret.strip_prefix("whsec_")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (bytes.len() >= 16).then_some(bytes)
}

/// The sink kinds as written; converted to [`SinkTarget`] once validated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SinkKind {
    Webhook,
    Jsonl,
    Nats,
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
            "nats" => Some(SinkKind::Nats),
            other => {
                c.at(
                    &here.key("kind"),
                    format!("unknown sink kind {other:?} (expected webhook, jsonl or nats)"),
                );
                None
            }
        };
        let schemes: &[&str] = match kind {
            Some(SinkKind::Nats) => &["nats", "tls"],
            _ => &["http", "https"],
        };
        let url = match raw.url.as_deref().map(url::Url::parse) {
            None => {
                if let Some(k @ (SinkKind::Webhook | SinkKind::Nats)) = kind {
                    let what = if k == SinkKind::Nats {
                        "nats"
                    } else {
                        "webhook"
                    };
                    c.at(&here.key("url"), format!("a {what} sink needs a url"));
                    ok = false;
                }
                None
            }
            Some(Ok(u)) if schemes.contains(&u.scheme()) && u.host().is_some() => Some(u),
            Some(Ok(_)) => {
                c.at(
                    &here.key("url"),
                    format!(
                        "must be a {} URL with a host",
                        schemes
                            .iter()
                            .map(|s| format!("{s}://"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
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
        let start = match raw.start.as_deref().map(SinkStart::parse) {
            None => SinkStart::Now,
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                c.at(&here.key("start"), e);
                ok = false;
                SinkStart::Now
            }
        };
        let subject_prefix = raw
            .subject_prefix
            .clone()
            .unwrap_or_else(|| "hirebridge".into());
        let subject_ok = !subject_prefix.is_empty()
            && subject_prefix.split('.').all(|t| {
                !t.is_empty()
                    && t.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
            });
        if kind == Some(SinkKind::Nats) && !subject_ok {
            c.at(
                &here.key("subject_prefix"),
                "must be NATS subject tokens (letters, digits, - and _) separated by dots",
            );
            ok = false;
        }
        let stream = raw.stream.clone().unwrap_or_else(|| "HIREBRIDGE".into());
        if kind == Some(SinkKind::Nats)
            && (stream.is_empty()
                || !stream
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'))
        {
            c.at(
                &here.key("stream"),
                "must be a stream name of letters, digits, - and _",
            );
            ok = false;
        }
        // A key of the other kind is a mistake, not something to ignore.
        let foreign: &[&str] = match kind {
            Some(SinkKind::Webhook) => &["path", "rotate_bytes", "subject_prefix", "stream"],
            Some(SinkKind::Jsonl) => &[
                "url",
                "secrets",
                "timeout",
                "max_in_flight",
                "headers",
                "subject_prefix",
                "stream",
            ],
            Some(SinkKind::Nats) => &["secrets", "headers", "path", "rotate_bytes"],
            None => &[],
        };
        for key in foreign {
            if item.as_table_like().is_some_and(|t| t.contains_key(key)) {
                c.at(
                    &here.key(key),
                    format!("not a setting of a {} sink", raw.kind),
                );
                ok = false;
            }
        }
        if kind == Some(SinkKind::Jsonl) && raw.path.is_none() {
            c.at(&here.key("path"), "a jsonl sink needs a path");
            ok = false;
        }
        let target = match (kind, url) {
            (Some(SinkKind::Webhook), Some(url)) => Some(SinkTarget::Webhook {
                url,
                secrets: raw.secrets,
                timeout: raw.timeout,
                max_in_flight: raw.max_in_flight,
                headers: raw.headers,
            }),
            (Some(SinkKind::Jsonl), _) => raw.path.map(|path| SinkTarget::Jsonl {
                path,
                rotate_bytes: raw.rotate_bytes,
            }),
            (Some(SinkKind::Nats), Some(url)) => Some(SinkTarget::Nats {
                url: Secret::new(url.to_string()),
                subject_prefix,
                stream,
                timeout: raw.timeout,
                max_in_flight: raw.max_in_flight,
            }),
            _ => None,
        };
        if let (true, Some(target)) = (ok, target) {
            out.push(SinkConfig {
                id: raw.id,
                events: raw.events,
                connectors: raw.connectors,
                retry_schedule: raw.retry_schedule.unwrap_or_else(default_retry_schedule),
                start,
                target,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever route a message takes, the strings under secret keys are cut out
    /// of it (the config's tests in `tests/config.rs` check each route).
    #[test]
    fn the_strings_under_secret_keys_are_cut_out_of_any_message() {
        let doc = toml_edit::ImDocument::parse(
            "[[connectors]]\ncredentials = { api_key = \"zq-any-route-2a3\" }\n".to_string(),
        )
        .unwrap();
        let secrets = secret_strings(&doc);
        assert_eq!(secrets, ["zq-any-route-2a3"]);
        assert_eq!(
            redact("bad key zq-any-route-2a3 here", &secrets),
            "bad key **REDACTED** here"
        );
    }
}
