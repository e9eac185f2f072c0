//! The one-line-per-component summary `hirebridge check` prints.

use super::types::SinkTarget;
use super::Config;

impl Config {
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
            let polling = if !c.plugin.capabilities().polls() {
                "webhooks only".to_string()
            } else {
                format!("polls on \"{}\"", c.schedule.expr)
            };
            lines.push(format!(
                "connector {} ({}){}: {polling}, {} stream override(s){}, {} webhook secret(s), credentials {}",
                c.id,
                c.provider(),
                if c.enabled { "" } else { " [disabled]" },
                c.streams.len(),
                if disabled > 0 { format!(" ({disabled} off)") } else { String::new() },
                c.settings.webhook_secrets.len(),
                if c.settings.api_key.is_some() { "set" } else { "none" },
            ));
        }
        for s in &self.sinks {
            let (target, secrets) = match &s.target {
                SinkTarget::Webhook { url, secrets, .. } => (redacted_url(url), secrets.len()),
                SinkTarget::Jsonl { path, .. } => (path.display().to_string(), 0),
                SinkTarget::Nats {
                    url,
                    subject_prefix,
                    stream,
                    ..
                } => (
                    format!(
                        "{} stream {stream} subjects {subject_prefix}.>",
                        url::Url::parse(url.expose())
                            .map(|u| redacted_url(&u))
                            .unwrap_or_default()
                    ),
                    0,
                ),
            };
            lines.push(format!(
                "sink {} ({}): {target}, events {}, {secrets} secret(s)",
                s.id,
                s.kind(),
                if s.events.is_empty() {
                    "*".to_string()
                } else {
                    s.events.join(",")
                },
            ));
        }
        match self.inbox.retention {
            Some(r) => lines.push(format!(
                "processed webhook deliveries kept {} (redeliveries recognised for as long)",
                humantime::format_duration(r)
            )),
            None => lines.push("processed webhook deliveries kept forever".to_string()),
        }
        if let Some(r) = self.events.retention {
            lines.push(format!(
                "events kept {} (once every sink has passed them)",
                humantime::format_duration(r)
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
