//! How an envelope reaches a sink of each kind: a signed HTTP POST (Standard
//! Webhooks), a line appended to a file, or a JetStream message. Each answers
//! with an [`Outcome`]; the delivery loop decides what it means.

use super::signing;
use crate::config::{decode_sink_secret, SinkConfig, SinkTarget};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Retry-After is honoured within these bounds.
const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// One envelope to deliver.
#[derive(Debug, Clone)]
pub struct Item {
    pub event_id: String,
    pub event_type: String,
    pub body: Vec<u8>,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    Delivered,
    /// Retry after the schedule's delay, or the receiver's Retry-After.
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// 410 Gone: the receiver asks us to stop.
    Gone,
}

/// How far a chain (events of one entity, in order) got.
#[derive(Debug)]
pub struct ChainResult {
    /// The first `delivered` items went.
    pub delivered: usize,
    /// The item after them failed this way; the rest were not attempted.
    pub failed: Option<Outcome>,
}

pub enum Transport {
    Webhook {
        client: reqwest::Client,
        secrets: Vec<Vec<u8>>,
    },
    Jsonl,
    Nats(Box<Nats>),
}

pub struct Nats {
    url: String,
    subject_prefix: String,
    stream: String,
    timeout: Duration,
    context: tokio::sync::OnceCell<async_nats::jetstream::Context>,
}

impl Transport {
    pub fn new(sink: &SinkConfig) -> Transport {
        match &sink.target {
            SinkTarget::Webhook { secrets, .. } => Transport::Webhook {
                client: reqwest::Client::builder()
                    .timeout(sink.timeout())
                    .connect_timeout(sink.timeout())
                    .pool_max_idle_per_host(sink.max_in_flight() as usize)
                    // A 3xx is a failure to report, not a place to send signed events.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default(),
                secrets: secrets
                    .iter()
                    .filter_map(|s| decode_sink_secret(s.expose()))
                    .collect(),
            },
            SinkTarget::Jsonl { .. } => Transport::Jsonl,
            SinkTarget::Nats {
                url,
                subject_prefix,
                stream,
                timeout,
                ..
            } => Transport::Nats(Box::new(Nats {
                url: url.expose().to_string(),
                subject_prefix: subject_prefix.clone(),
                stream: stream.clone(),
                timeout: *timeout,
                context: tokio::sync::OnceCell::new(),
            })),
        }
    }

    /// Whole batches go as one chain (a file is written in order anyway).
    pub fn one_chain(&self) -> bool {
        matches!(self, Transport::Jsonl)
    }

    /// Delivers `items` in order, stopping at the first that fails, or before
    /// the next one once `halt` is set (another chain was told to slow down).
    pub async fn send_chain(
        &self,
        sink: &SinkConfig,
        items: &[Item],
        halt: &AtomicBool,
    ) -> ChainResult {
        if let (Transport::Jsonl, SinkTarget::Jsonl { path, rotate_bytes }) = (self, &sink.target) {
            // One fsync for the whole chain.
            return match append(path, *rotate_bytes, items) {
                Ok(()) => ChainResult {
                    delivered: items.len(),
                    failed: None,
                },
                Err(e) => ChainResult {
                    delivered: 0,
                    failed: Some(Outcome::Failed {
                        status: None,
                        error: format!("writing {}: {e}", path.display()),
                        retry_after: None,
                    }),
                },
            };
        }
        for (n, item) in items.iter().enumerate() {
            if halt.load(Ordering::Relaxed) {
                return ChainResult {
                    delivered: n,
                    failed: None,
                };
            }
            let started = std::time::Instant::now();
            let outcome = self.send(sink, item).await;
            metrics::histogram!("hirebridge_delivery_attempt_seconds", "sink" => sink.id.clone())
                .record(started.elapsed().as_secs_f64());
            if !matches!(outcome, Outcome::Delivered) {
                return ChainResult {
                    delivered: n,
                    failed: Some(outcome),
                };
            }
        }
        ChainResult {
            delivered: items.len(),
            failed: None,
        }
    }

    async fn send(&self, sink: &SinkConfig, item: &Item) -> Outcome {
        match (self, &sink.target) {
            (Transport::Webhook { client, secrets }, SinkTarget::Webhook { url, headers, .. }) => {
                post(client, secrets, url, headers, item).await
            }
            (Transport::Nats(nats), _) => nats.publish(item).await,
            // jsonl chains are appended whole by `send_chain`.
            _ => Outcome::Failed {
                status: None,
                error: "the sink's transport does not match its kind".into(),
                retry_after: None,
            },
        }
    }
}

async fn post(
    client: &reqwest::Client,
    secrets: &[Vec<u8>],
    url: &url::Url,
    headers: &std::collections::BTreeMap<String, String>,
    item: &Item,
) -> Outcome {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = signing::signature_header(secrets, &item.event_id, timestamp, &item.body);
    let mut request = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("hirebridge/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", &item.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = match request.body(item.body.clone()).send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else {
                "request failed"
            };
            return Outcome::Failed {
                status: None,
                // Without the URL: it may carry credentials.
                error: format!("{what}: {}", e.without_url()),
                retry_after: None,
            };
        }
    };
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Outcome::Delivered;
    }
    if status == 410 {
        return Outcome::Gone;
    }
    let retry_after = matches!(status, 429 | 502 | 503 | 504).then(|| {
        hirebridge_sdk::http::retry_after(response.headers(), std::time::SystemTime::now())
            .unwrap_or(MIN_RETRY_AFTER)
            .clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
    });
    Outcome::Failed {
        status: Some(status),
        error: format!("HTTP {status}"),
        retry_after,
    }
}

/// Appends one line per item, rotating the file when it reached
/// `rotate_bytes`, then syncs once.
pub(super) fn append(
    path: &std::path::Path,
    rotate_bytes: u64,
    items: &[Item],
) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    };
    let mut file = open()?;
    let mut size = file.metadata()?.len();
    for item in items {
        if size >= rotate_bytes {
            file.sync_data()?;
            drop(file);
            std::fs::rename(path, rotated_name(path))?;
            file = open()?;
            size = 0;
        }
        let mut line = Vec::with_capacity(item.body.len() + 1);
        line.extend_from_slice(&item.body);
        line.push(b'\n');
        file.write_all(&line)?;
        size += line.len() as u64;
    }
    file.sync_data()
}

/// A free name for a rotated file: the path with a timestamp (and a counter,
/// since two rotations can share a millisecond).
fn rotated_name(path: &std::path::Path) -> std::path::PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut n = 0;
    loop {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let candidate = path.with_extension(format!("{stamp}{suffix}.jsonl"));
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

impl Nats {
    /// The JetStream context, connecting (and creating the stream when it is
    /// missing) on first use; a failure is retried on the next attempt.
    async fn context(&self) -> Result<&async_nats::jetstream::Context, String> {
        self.context
            .get_or_try_init(|| async {
                let client = async_nats::ConnectOptions::new()
                    .connection_timeout(self.timeout)
                    .connect(self.url.as_str())
                    .await
                    // The URL may carry credentials: never in the message.
                    .map_err(|e| format!("connecting to NATS: {}", e.kind()))?;
                let js = async_nats::jetstream::new(client);
                js.get_or_create_stream(async_nats::jetstream::stream::Config {
                    name: self.stream.clone(),
                    subjects: vec![format!("{}.>", self.subject_prefix)],
                    // Redeliveries within this window are dropped by message id.
                    duplicate_window: Duration::from_secs(120),
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("creating stream {}: {e}", self.stream))?;
                Ok(js)
            })
            .await
    }

    async fn publish(&self, item: &Item) -> Outcome {
        let failed = |error: String| Outcome::Failed {
            status: None,
            error,
            retry_after: None,
        };
        let js = match self.context().await {
            Ok(js) => js,
            Err(e) => return failed(e),
        };
        let mut headers = async_nats::HeaderMap::new();
        // JetStream drops a message whose id it saw within the duplicate window.
        headers.insert(async_nats::header::NATS_MESSAGE_ID, item.event_id.as_str());
        let subject = format!("{}.{}", self.subject_prefix, item.event_type);
        let sent = tokio::time::timeout(self.timeout, async {
            js.publish_with_headers(subject, headers, item.body.clone().into())
                .await
                .map_err(|e| format!("publishing: {e}"))?
                .await
                .map_err(|e| format!("no acknowledgement: {e}"))
        })
        .await;
        match sent {
            Ok(Ok(_ack)) => Outcome::Delivered,
            Ok(Err(e)) => failed(e),
            Err(_) => failed("timed out waiting for the acknowledgement".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_files_rotate_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/events.jsonl");
        let items: Vec<Item> = (0..5)
            .map(|i| Item {
                event_id: format!("evt_{i}"),
                event_type: "application.created".into(),
                body: format!("{{\"id\":\"evt_{i}\",\"padding\":\"{}\"}}", "x".repeat(40))
                    .into_bytes(),
            })
            .collect();
        append(&path, 100, &items[..2]).unwrap();
        for item in &items[2..] {
            append(&path, 100, std::slice::from_ref(item)).unwrap();
        }
        let files: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .collect();
        assert!(files.len() >= 2, "rotated: {files:?}");
        let lines: usize = files
            .iter()
            .map(|f| std::fs::read_to_string(f.path()).unwrap().lines().count())
            .sum();
        assert_eq!(lines, 5, "every line kept across rotations");
    }
}
