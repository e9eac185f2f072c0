//! The HTTP layer every connector uses: timeouts, a rate limiter per endpoint
//! family, honest 429 handling (wait for `Retry-After` / `X-RateLimit-Reset`),
//! capped exponential backoff with jitter for 5xx and network errors, and the
//! mapping of HTTP outcomes onto [`ConnectorError`].

use crate::error::ConnectorError;
use crate::secret::Secret;
use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A request rate: `requests` per `per`, with up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
    pub burst: u32,
}

impl RateLimit {
    fn quota(&self) -> Option<Quota> {
        let requests = NonZeroU32::new(self.requests)?;
        let burst = NonZeroU32::new(self.burst.max(1))?;
        let period = self.per.checked_div(requests.get())?;
        Quota::with_period(period).map(|q| q.allow_burst(burst))
    }
}

/// How a provider authenticates API calls. The key never appears in Debug output.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// HTTP Basic with the key as user name and an empty password (Ashby).
    BasicKeyAsUser(Secret),
    /// The key in a header of its own (`x-api-key`: Goodfit, ITManagerJobs).
    Header { name: &'static str, key: Secret },
    /// `Authorization: Bearer <key>` (ITManagerJobs, Kit).
    Bearer(Secret),
    /// `Authorization: <scheme> <key>`, e.g. GoodHire's `ApiKey <key>`.
    Scheme { scheme: &'static str, key: Secret },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Auth::None => "None",
            Auth::BasicKeyAsUser(_) => "BasicKeyAsUser(**REDACTED**)",
            Auth::Header { .. } => "Header(**REDACTED**)",
            Auth::Bearer(_) => "Bearer(**REDACTED**)",
            Auth::Scheme { .. } => "Scheme(**REDACTED**)",
        };
        f.write_str(kind)
    }
}

impl Auth {
    /// Adds the credentials to a request.
    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::None => request,
            Auth::BasicKeyAsUser(key) => request.basic_auth(key.expose(), Some("")),
            Auth::Header { name, key } => request.header(*name, key.expose()),
            Auth::Bearer(key) => request.bearer_auth(key.expose()),
            Auth::Scheme { scheme, key } => request.header(
                http::header::AUTHORIZATION,
                format!("{scheme} {}", key.expose()),
            ),
        }
    }
}

/// How a connector's HTTP client behaves. Defaults suit a polite API client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub user_agent: String,
    /// The limit for requests of no listed family (and the default family).
    pub rate_limit: Option<RateLimit>,
    /// Separate limits per endpoint family, where a provider documents them.
    pub family_limits: HashMap<String, RateLimit>,
    /// Retries of 5xx, timeouts and connection errors before giving up.
    pub max_retries: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// 429s waited out within one call before it is handed back as retryable.
    pub max_rate_limit_waits: usize,
    /// The longest single wait a `Retry-After` may impose inside a call; longer
    /// waits end the call with a retryable error carrying the wait.
    pub max_rate_limit_wait: Duration,
    /// Added to every request.
    pub auth: Auth,
}

impl HttpConfig {
    /// The config for a connector: the provider's documented limits (`default`
    /// for requests of no family, `families` for the rest), unless the operator
    /// set `override_limit`, which then applies to every family.
    pub fn for_provider(
        auth: Auth,
        default: Option<RateLimit>,
        families: &[(&str, RateLimit)],
        override_limit: Option<RateLimit>,
    ) -> HttpConfig {
        HttpConfig {
            auth,
            rate_limit: override_limit.or(default),
            family_limits: match override_limit {
                Some(_) => HashMap::new(),
                None => families
                    .iter()
                    .map(|(f, rl)| (f.to_string(), *rl))
                    .collect(),
            },
            ..HttpConfig::default()
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            user_agent: format!("hirebridge/{}", env!("CARGO_PKG_VERSION")),
            rate_limit: None,
            family_limits: HashMap::new(),
            max_retries: 5,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_rate_limit_waits: 10,
            max_rate_limit_wait: Duration::from_secs(120),
            auth: Auth::None,
        }
    }
}

/// Counters of what the client did, for metrics and `sync` output.
#[derive(Debug, Default)]
pub struct HttpStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub failures: AtomicU64,
}

/// A snapshot of [`HttpStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpCounts {
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub failures: u64,
}

impl HttpStats {
    pub fn snapshot(&self) -> HttpCounts {
        HttpCounts {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

/// A successful (2xx) response, read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// A client for one connector: one connection pool, its limiters and counters.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    config: Arc<HttpConfig>,
    default_limiter: Option<Arc<DefaultDirectRateLimiter>>,
    family_limiters: Arc<HashMap<String, Arc<DefaultDirectRateLimiter>>>,
    /// Per family, the instant before which no request is
    /// sent, learned from `X-RateLimit-Remaining: 0` and its reset header.
    not_before: Arc<std::sync::Mutex<HashMap<String, SystemTime>>>,
    pub stats: Arc<HttpStats>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish()
    }
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<HttpClient, ConnectorError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| ConnectorError::Rejected {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let limiter = |rl: &RateLimit| {
            rl.quota()
                .map(|q| Arc::new(DefaultDirectRateLimiter::direct(q)))
        };
        let default_limiter = config.rate_limit.as_ref().and_then(limiter);
        let family_limiters = config
            .family_limits
            .iter()
            .filter_map(|(family, rl)| limiter(rl).map(|l| (family.clone(), l)))
            .collect();
        Ok(HttpClient {
            client,
            config: Arc::new(config),
            default_limiter,
            family_limiters: Arc::new(family_limiters),
            not_before: Arc::new(std::sync::Mutex::new(HashMap::new())),
            stats: Arc::new(HttpStats::default()),
        })
    }

    /// The underlying reqwest client, to build requests with.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes (called again for every attempt), within
    /// `family`'s rate limit, retrying what is worth retrying. Returns the 2xx
    /// response or a classified error.
    pub async fn send<F>(&self, family: &str, build: F) -> Result<HttpResponse, ConnectorError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_jitter()
            .with_max_times(self.config.max_retries)
            .build();
        let mut rate_limit_waits = 0;
        loop {
            if let Some(limiter) = self
                .family_limiters
                .get(family)
                .or(self.default_limiter.as_ref())
            {
                limiter.until_ready().await;
            }
            self.wait_for_window(family).await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let request = self.config.auth.apply(build(&self.client));
            let outcome = match request.send().await {
                Ok(resp) => {
                    self.learn_window(family, resp.headers());
                    classify(resp).await
                }
                Err(e) => Err(network_error(&e)),
            };
            let err = match outcome {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            match &err {
                ConnectorError::Retryable {
                    retry_after: Some(wait),
                    ..
                } => {
                    // A 429 (or 503) that says how long to wait.
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    rate_limit_waits += 1;
                    if rate_limit_waits > self.config.max_rate_limit_waits
                        || *wait > self.config.max_rate_limit_wait
                    {
                        self.stats.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(err);
                    }
                    tracing::debug!(
                        family,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited; waiting as asked"
                    );
                    tokio::time::sleep(*wait).await;
                }
                ConnectorError::Retryable { message, .. } => match backoff.next() {
                    Some(delay) => {
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(family, error = %message, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                    }
                    None => {
                        self.stats.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(err);
                    }
                },
                _ => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(err);
                }
            }
        }
    }
}

impl HttpClient {
    /// Sleeps while the provider's headers said this family's window is spent.
    async fn wait_for_window(&self, family: &str) {
        let until = self
            .not_before
            .lock()
            .ok()
            .and_then(|m| m.get(family).copied());
        if let Some(until) = until {
            if let Ok(wait) = until.duration_since(SystemTime::now()) {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    family,
                    wait_ms = wait.as_millis() as u64,
                    "rate-limit window spent; waiting for its reset"
                );
                tokio::time::sleep(wait.min(self.config.max_rate_limit_wait)).await;
            }
        }
    }

    /// Stays under the provider's limit proactively: when a response says no
    /// requests remain (`X-RateLimit-Remaining: 0`), the next request of that
    /// family waits for `X-RateLimit-Reset` instead of earning a 429.
    fn learn_window(&self, family: &str, headers: &http::HeaderMap) {
        let remaining = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let Ok(mut map) = self.not_before.lock() else {
            return;
        };
        match remaining {
            Some(r) if r < 1.0 => {
                let now = SystemTime::now();
                let wait = reset_in(headers, now).unwrap_or(Duration::from_secs(1));
                map.insert(family.to_string(), now + wait);
            }
            _ => {
                map.remove(family);
            }
        }
    }
}

/// The wait until `X-RateLimit-Reset` (epoch seconds, or seconds from now).
fn reset_in(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    if v > 1_000_000_000.0 {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(v);
        return Some(at.duration_since(now).unwrap_or_default());
    }
    Some(Duration::from_secs_f64(v))
}

fn network_error(e: &reqwest::Error) -> ConnectorError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // reqwest's Display includes the URL but never headers, so credentials sent
    // as headers stay out of the message.
    ConnectorError::retryable(format!("{what}: {}", without_url(e)))
}

fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut parts = Vec::new();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// Maps a response onto success or a classified error.
async fn classify(resp: reqwest::Response) -> Result<HttpResponse, ConnectorError> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = match resp.bytes().await {
        Ok(b) => b.to_vec(),
        Err(e) => return Err(network_error(&e)),
    };
    if (200..300).contains(&status) {
        return Ok(HttpResponse {
            status,
            headers,
            body,
        });
    }
    let snippet = body_snippet(&body);
    let retry_after = retry_after(&headers, SystemTime::now());
    Err(match status {
        401 | 403 => ConnectorError::Auth {
            message: format!("HTTP {status}: {snippet}"),
        },
        404 | 410 => ConnectorError::NotFound {
            message: format!("HTTP {status}: {snippet}"),
        },
        402 => ConnectorError::Quota {
            message: format!("HTTP 402: {snippet}"),
            retry_after,
        },
        429 => ConnectorError::Retryable {
            message: format!("HTTP 429 rate limited: {snippet}"),
            // No hint: a short pause rather than hammering.
            retry_after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
        },
        408 | 500..=599 => ConnectorError::Retryable {
            message: format!("HTTP {status}: {snippet}"),
            retry_after: if status == 503 { retry_after } else { None },
        },
        _ => ConnectorError::Rejected {
            message: format!("HTTP {status}: {snippet}"),
        },
    })
}

fn body_snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text.to_string()
    }
}

/// How long the provider asked us to wait: `Retry-After` (seconds or an HTTP
/// date), else `X-RateLimit-Reset` (epoch seconds, or seconds from now when small).
pub fn retry_after(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = header("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs));
            }
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let at: SystemTime = at.with_timezone(&chrono::Utc).into();
            return Some(at.duration_since(now).unwrap_or_default());
        }
    }
    // The window's reset is a wait only when the window is spent: providers
    // (Goodfit) send it on every response, and a 503 with requests to spare
    // should back off, not wait for the window.
    let spent = header("x-ratelimit-remaining")
        .and_then(|v| v.parse::<f64>().ok())
        .is_none_or(|r| r < 1.0);
    if let (true, Some(v)) = (spent, header("x-ratelimit-reset")) {
        if let Ok(n) = v.parse::<f64>() {
            if !n.is_finite() || n < 0.0 {
                return None;
            }
            // Values that look like epoch seconds are instants; small ones are delays.
            if n > 1_000_000_000.0 {
                let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(n);
                return Some(at.duration_since(now).unwrap_or_default());
            }
            return Some(Duration::from_secs_f64(n));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_retry_after_in_all_its_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Fri, 15 Jan 2027 08:00:10 GMT".parse().unwrap(),
        );
        let at = chrono::DateTime::parse_from_rfc2822("Fri, 15 Jan 2027 08:00:10 GMT").unwrap();
        let now2: SystemTime = (at - chrono::Duration::seconds(10))
            .with_timezone(&chrono::Utc)
            .into();
        assert_eq!(retry_after(&h, now2), Some(Duration::from_secs(10)));
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-reset", "1800000003".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert("x-ratelimit-reset", "2".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        // Requests to spare: the reset is no reason to wait.
        h.insert("x-ratelimit-remaining", "12".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
        assert_eq!(retry_after(&http::HeaderMap::new(), now), None);
    }

    #[test]
    fn quotas_follow_the_rate() {
        let q = RateLimit {
            requests: 600,
            per: Duration::from_secs(60),
            burst: 5,
        }
        .quota()
        .unwrap();
        assert_eq!(q.replenish_interval(), Duration::from_millis(100));
        assert_eq!(q.burst_size().get(), 5);
        assert!(RateLimit {
            requests: 0,
            per: Duration::from_secs(1),
            burst: 1
        }
        .quota()
        .is_none());
    }
}
