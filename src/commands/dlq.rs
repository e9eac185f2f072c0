//! `hirebridge dlq`: see and replay deliveries that could not be processed
//! (webhooks after their last retry, and polled payloads that did not map).

use super::{open_database_read_only, print_table};
use crate::config::Config;
use crate::store::inbox;
use anyhow::bail;

pub async fn list(config: Config, connector: Option<String>, as_json: bool) -> anyhow::Result<()> {
    let db = open_database_read_only(&config).await?;
    let result = inbox::dead_letters(&db.pool, connector.as_deref()).await;
    let deliveries = crate::store::deliveries::dead(&db.pool).await;
    db.close().await;
    let dead = result?;
    let dead_deliveries = deliveries?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&dead)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = dead
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.connector_id.clone(),
                event_label(d.event_type.as_deref(), d.body_event_type.as_deref()),
                d.attempts.to_string(),
                d.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                d.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["id", "connector", "event", "attempts", "received", "reason"],
        &rows,
    );
    println!("{} dead letter(s) in the inbox", dead.len());
    if !dead_deliveries.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = dead_deliveries
            .iter()
            .map(|(sink, seq, event, attempts, error)| {
                vec![
                    seq.to_string(),
                    sink.clone(),
                    event.clone(),
                    attempts.to_string(),
                    error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print_table(&["seq", "sink", "event", "attempts", "last error"], &rows);
        println!(
            "{} dead deliveries (hirebridge dlq retry --sink ID queues them again)",
            dead_deliveries.len()
        );
    }
    Ok(())
}

pub async fn show(config: Config, id: i64) -> anyhow::Result<()> {
    let db = open_database_read_only(&config).await?;
    let result = inbox::body(&db.pool, id).await;
    db.close().await;
    let Some((d, body)) = result? else {
        bail!("no inbox entry {id}");
    };
    println!("id:        {}", d.id);
    println!("connector: {}", d.connector_id);
    println!(
        "event:     {}",
        event_label(d.event_type.as_deref(), d.body_event_type.as_deref())
    );
    println!("status:    {} after {} attempt(s)", d.status, d.attempts);
    println!("received:  {}", d.received_at);
    println!("reason:    {}", d.last_error.as_deref().unwrap_or("-"));
    print!("{}", render_body(&body));
    Ok(())
}

/// The event name to show: the stored one (from the provider's header), unless
/// the body names a different event, which is then shown first, with the
/// header's after it. Control characters (newlines too) are escaped.
pub fn event_label(header: Option<&str>, body: Option<&str>) -> String {
    let one_line = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out
    };
    match (header, body) {
        (Some(h), Some(b)) if h != b => format!("{} (header said: {})", one_line(b), one_line(h)),
        (None, Some(b)) => format!("{} (header said: -)", one_line(b)),
        (Some(h), _) => one_line(h),
        (None, None) => "-".to_string(),
    }
}

/// The `body:` section of `dlq show`: JSON pretty-printed; other text as it is,
/// control characters escaped; a body that is not UTF-8 with its length and its
/// invalid bytes escaped (`\xff`), never raw bytes on the terminal.
pub fn render_body(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        // serde_json escapes control characters in strings.
        if let Ok(pretty) = serde_json::to_string_pretty(&v) {
            return format!("body:\n{pretty}\n");
        }
    }
    if std::str::from_utf8(body).is_ok() {
        return format!("body:\n{}\n", escape_for_terminal(body));
    }
    format!(
        "body ({} bytes, not valid UTF-8; bytes that are not UTF-8 are shown as \\xNN and a backslash as \\\\):\n{}\n",
        body.len(),
        escape_for_terminal(body)
    )
}

/// `bytes` as text that is safe on a terminal: tabs and newlines kept, other
/// control characters escaped (`\u{1b}`); when `bytes` is not UTF-8, each
/// invalid byte as `\xNN` and a backslash as `\\`, so the escapes are unambiguous.
pub fn escape_for_terminal(bytes: &[u8]) -> String {
    let utf8 = std::str::from_utf8(bytes).is_ok();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' if !utf8 => out.push_str("\\\\"),
                '\n' | '\t' => out.push(c),
                c if c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

pub async fn retry(
    config: Config,
    ids: Vec<i64>,
    all: bool,
    sink: Option<String>,
) -> anyhow::Result<()> {
    if let Some(sink) = sink {
        let db = open_database_read_only(&config).await?;
        let retried = crate::store::deliveries::retry_dead(&db.pool, &sink).await;
        let enabled = crate::store::deliveries::enable_sink(&db.pool, &sink).await;
        db.close().await;
        println!("{} dead deliveries of {sink} queued again", retried?);
        if enabled? > 0 {
            println!("sink {sink} was disabled (410) and is enabled again");
        }
        return Ok(());
    }
    if ids.is_empty() && !all {
        bail!("name the entries to retry (hirebridge dlq retry ID...) or pass --all");
    }
    let db = open_database_read_only(&config).await?;
    let result = inbox::retry_dead(&db.pool, &ids).await;
    db.close().await;
    let n = result?;
    println!("{n} dead letter(s) queued again; a running daemon processes them next");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::inbox::body_event_type;

    #[test]
    fn the_body_names_the_event_when_it_differs_from_the_header() {
        let body = br#"{"action": "application.created", "data": {"type": "x"}}"#;
        let from_body = body_event_type(body);
        assert_eq!(from_body.as_deref(), Some("application.created"));
        assert_eq!(
            event_label(Some("candidate.updated"), from_body.as_deref()),
            "application.created (header said: candidate.updated)"
        );
        assert_eq!(
            event_label(Some("application.created"), from_body.as_deref()),
            "application.created"
        );
        assert_eq!(
            event_label(None, from_body.as_deref()),
            "application.created (header said: -)"
        );
        assert_eq!(
            event_label(Some("candidate.updated"), None),
            "candidate.updated"
        );
        assert_eq!(event_label(None, None), "-");

        // Each of the fields, in order; only top-level strings count.
        assert_eq!(
            body_event_type(br#"{"event": "a", "type": "b"}"#).as_deref(),
            Some("a")
        );
        assert_eq!(
            body_event_type(br#"{"eventType": "e"}"#).as_deref(),
            Some("e")
        );
        assert_eq!(
            body_event_type(br#"{"type": 3, "eventType": "e"}"#).as_deref(),
            Some("e")
        );
        assert_eq!(body_event_type(br#"{"data": {"event": "x"}}"#), None);
        assert_eq!(body_event_type(br#"["event"]"#), None);
        assert_eq!(body_event_type(b"event=x"), None);
        assert_eq!(body_event_type(b"\xff{"), None);

        // A body's event name cannot put control characters on the terminal.
        let sneaky = body_event_type(br#"{"event": "a\u001b[2Jb"}"#);
        let label = event_label(Some("h"), sneaky.as_deref());
        assert!(!label.contains('\u{1b}'), "{label:?}");
        assert_eq!(label, "a\\u{1b}[2Jb (header said: h)");
        assert_eq!(event_label(Some("a\nb"), None), "a\\nb");
    }

    #[test]
    fn a_body_that_is_not_utf8_is_shown_escaped_with_its_length() {
        let body = b"ok \xff\xfe a\\b \xe2\x82 \xe2\x82\xac\x1b[31m";
        let shown = render_body(body);
        assert!(shown.contains(&format!("{} bytes", body.len())), "{shown}");
        assert!(shown.contains("not valid UTF-8"), "{shown}");
        assert!(
            shown.ends_with("ok \\xff\\xfe a\\\\b \\xe2\\x82 \u{20ac}\\u{1b}[31m\n"),
            "{shown}"
        );
        assert!(
            !shown.contains('\u{fffd}') && !shown.contains('\u{1b}'),
            "{shown}"
        );

        // Text that is UTF-8 is shown as it is, control characters escaped.
        assert_eq!(
            render_body(b"a=1\tb\\c\n\x07"),
            "body:\na=1\tb\\c\n\\u{7}\n"
        );
        // JSON pretty-printed.
        assert_eq!(render_body(br#"{"a":1}"#), "body:\n{\n  \"a\": 1\n}\n");
    }
}
