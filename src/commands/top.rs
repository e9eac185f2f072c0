//! `hirebridge top`: a live terminal dashboard of a running daemon, in the
//! manner of `vector top`. It polls the admin API's `/api/status` once a
//! second (so it works over SSH wherever the admin port reaches) and shows each
//! connector's streams, the inbox, the webhook spool and each sink, with rates
//! computed from one refresh to the next. `q`, Esc or Ctrl-C quits.

use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How often the dashboard refreshes.
const REFRESH: Duration = Duration::from_secs(1);

/// One refresh: the report and when it was read.
struct Snapshot {
    at: Instant,
    report: Value,
}

/// What the screen shows.
struct View {
    admin: SocketAddr,
    report: Option<Value>,
    error: Option<String>,
    /// Per-second rates since the previous refresh, by row key.
    rates: HashMap<String, f64>,
}

pub async fn top(admin: SocketAddr) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(900))
        .build()?;
    let mut terminal = ratatui::init();
    let result = run(&mut terminal, &client, admin).await;
    ratatui::restore();
    result
}

async fn run(
    terminal: &mut ratatui::DefaultTerminal,
    client: &reqwest::Client,
    admin: SocketAddr,
) -> anyhow::Result<()> {
    let url = format!("http://{admin}/api/status");
    let mut previous: Option<Snapshot> = None;
    loop {
        let started = Instant::now();
        let fetched = fetch(client, &url).await;
        let mut view = View {
            admin,
            report: None,
            error: None,
            rates: HashMap::new(),
        };
        match fetched {
            Ok(report) => {
                let now = Snapshot {
                    at: Instant::now(),
                    report,
                };
                if let Some(prev) = &previous {
                    view.rates = rates(prev, &now);
                }
                view.report = Some(now.report.clone());
                previous = Some(now);
            }
            Err(e) => {
                view.error = Some(e);
                view.report = previous.as_ref().map(|p| p.report.clone());
            }
        }
        terminal.draw(|f| render(f, &view))?;
        // Keys until the next refresh.
        while started.elapsed() < REFRESH {
            let left = REFRESH.saturating_sub(started.elapsed());
            if event::poll(left.min(Duration::from_millis(100)))? {
                if let Event::Key(key) = event::read()? {
                    let ctrl_c = key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                        return Ok(());
                    }
                }
            }
        }
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = client.get(url).send().await.map_err(|e| {
        format!(
            "the daemon's admin API does not answer: {}",
            e.without_url()
        )
    })?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("unreadable status: {}", e.without_url()))?;
    if !status.is_success() {
        return Err(format!(
            "not ready: {}",
            body["reason"].as_str().unwrap_or("unknown")
        ));
    }
    Ok(body)
}

/// Per-second changes of the counters between two refreshes.
fn rates(prev: &Snapshot, now: &Snapshot) -> HashMap<String, f64> {
    let secs = now.at.duration_since(prev.at).as_secs_f64().max(0.001);
    let mut out = HashMap::new();
    let counters = |report: &Value| -> HashMap<String, f64> {
        let mut m = HashMap::new();
        for s in report["streams"].as_array().into_iter().flatten() {
            let key = format!("stream:{}:{}", text(&s["connector"]), text(&s["stream"]));
            m.insert(key, s["records"].as_f64().unwrap_or(0.0));
        }
        for s in report["sinks"].as_array().into_iter().flatten() {
            m.insert(
                format!("sink:{}", text(&s["sink"])),
                // The log position: its rate is events passed per second.
                s["position"].as_f64().unwrap_or(0.0),
            );
        }
        m
    };
    let (before, after) = (counters(&prev.report), counters(&now.report));
    for (key, value) in after {
        if let Some(old) = before.get(&key) {
            out.insert(key, ((value - old) / secs).max(0.0));
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn seconds(v: &Value) -> String {
    v.as_f64()
        .map(|s| format!("{:.0}s", s.max(0.0)))
        .unwrap_or_else(|| "-".into())
}

fn ago(v: &Value) -> String {
    v.as_i64()
        .map(|s| format!("{s}s ago"))
        .unwrap_or_else(|| "never".into())
}

fn rate(view: &View, key: &str) -> String {
    view.rates
        .get(key)
        .map(|r| format!("{r:.1}/s"))
        .unwrap_or_else(|| "-".into())
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn render(f: &mut Frame, view: &View) {
    let [header, streams, inbox, sinks, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let title = match &view.error {
        Some(e) => format!("hirebridge top — {} — {e}", view.admin),
        None => format!(
            "hirebridge top — {} — {}",
            view.admin,
            view.report
                .as_ref()
                .map(|r| text(&r["generated_at"]))
                .unwrap_or_default()
        ),
    };
    f.render_widget(Paragraph::new(Line::styled(title, bold())), header);
    let empty = Value::Null;
    let report = view.report.as_ref().unwrap_or(&empty);

    // Connectors and their streams.
    let paused: HashMap<String, String> = report["connectors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["paused"].as_bool() == Some(true))
        .map(|c| (text(&c["connector"]), text(&c["paused_reason"])))
        .collect();
    let rows: Vec<Row> = report["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let connector = text(&s["connector"]);
            let state = if let Some(reason) = paused.get(&connector) {
                format!("PAUSED: {reason}")
            } else if !s["warning"].is_null() {
                "WARNING".into()
            } else if let Some(lease) = s["lease"].as_str() {
                format!("running ({lease})")
            } else {
                text(&s["health"])
            };
            let key = format!("stream:{connector}:{}", text(&s["stream"]));
            let errors = match s["consecutive_failures"].as_i64().unwrap_or(0) {
                0 => "-".to_string(),
                n => format!("{n}: {}", text(&s["last_error"])),
            };
            Row::new(vec![
                connector,
                text(&s["stream"]),
                state,
                ago(&s["seconds_since_success"]),
                text(&s["records"]),
                rate(view, &key),
                errors,
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(22),
            Constraint::Length(28),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new([
            "connector",
            "stream",
            "state",
            "success",
            "records",
            "rate",
            "errors",
        ])
        .style(bold()),
    )
    .block(Block::default().borders(Borders::ALL).title("streams"));
    f.render_widget(table, streams);

    // The inbox per connector, and the spool.
    let spool = &report["spool"];
    let rows: Vec<Row> = report["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            Row::new(vec![
                text(&i["connector"]),
                text(&i["inbox_backlog"]),
                seconds(&i["oldest_pending_seconds"]),
                text(&i["dead_letters"]),
                text(&i["last_heard_at"]),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(["connector", "backlog", "oldest", "dead", "last heard"]).style(bold()))
    .block(Block::default().borders(Borders::ALL).title(format!(
        "inbox — spool: {} deliveries, {} bytes, oldest {}",
        text(&spool["records"]),
        text(&spool["bytes"]),
        seconds(&spool["oldest_age_secs"])
    )));
    f.render_widget(table, inbox);

    // Sinks.
    let rows: Vec<Row> = report["sinks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let key = format!("sink:{}", text(&s["sink"]));
            Row::new(vec![
                text(&s["sink"]),
                text(&s["position"]),
                rate(view, &key),
                text(&s["pending"]),
                seconds(&s["oldest_pending_seconds"]),
                text(&s["held_entities"]),
                text(&s["dead"]),
                s["disabled_reason"]
                    .as_str()
                    .map(|r| format!("DISABLED: {r}"))
                    .unwrap_or_else(|| "enabled".into()),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Min(8),
        ],
    )
    .header(
        Row::new([
            "sink", "position", "rate", "lag", "lag age", "held", "dead", "state",
        ])
        .style(bold()),
    )
    .block(Block::default().borders(Borders::ALL).title("sinks"));
    f.render_widget(table, sinks);
    f.render_widget(Paragraph::new("q: quit — refreshes every second"), footer);
}
