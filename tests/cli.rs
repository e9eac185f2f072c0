//! The `hirebridge` binary as an operator uses it: `check` on good and bad
//! configs, and `run` with no database URL, which starts its own PostgreSQL,
//! becomes ready and stops cleanly on Ctrl-C (SIGINT).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hirebridge");

#[test]
fn check_accepts_the_example_config() {
    let out = Command::new(BIN)
        .args(["check", "--config", "config/hirebridge.example.toml"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok"), "{stdout}");
    assert!(
        stdout.contains("connector "),
        "one line per connector: {stdout}"
    );
    assert!(stdout.contains("sink "), "one line per sink: {stdout}");
}

#[test]
fn check_reports_every_error_with_its_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"[[connectors]]
id = "one"
provider = "ashby"
schedule = "not a cron"
credentials = { api_key = "k" }

[[connectors]]
id = "one"
provider = "workday"

[[sinks]]
id = "out"
kind = "webhook"
url = "not a url"
secrets = ["whsec_%%%"]
"#,
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let file = path.display().to_string();
    for (line, key) in [
        (4, "connectors[0].schedule"),
        (8, "connectors[1].id"),
        (9, "connectors[1].provider"),
        (14, "sinks[0].url"),
        (15, "sinks[0].secrets[0]"),
    ] {
        let wanted = format!("{file}:{line}:");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&wanted) && l.contains(key)),
            "no error at {wanted} for {key} in:\n{stderr}"
        );
    }
}

/// Waits for `url` to answer 200, up to `timeout`.
fn wait_ready(url: &str, timeout: Duration) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let status = rt.block_on(async {
            let resp = client
                .get(url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?;
            Some(resp.status().as_u16())
        });
        if status == Some(200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn run_without_database_url_starts_its_own_postgres_and_stops_on_sigint() {
    // Under /tmp and world-traversable, so the server can run as an unprivileged
    // user when the tests run as root.
    let dir = support::server_reachable_tempdir("hb-run-");
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("hirebridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"data_dir = "{}"
[server]
admin_listen = "127.0.0.1:{admin_port}"
webhook_listen = "127.0.0.1:0"
[telemetry]
log_format = "json"
"#,
            dir.path().join("var").display()
        ),
    )
    .unwrap();

    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = wait_ready(
        &format!("http://127.0.0.1:{admin_port}/readyz"),
        Duration::from_secs(90),
    );
    let pid_file = dir.path().join("var/postgres/postmaster.pid");
    let server_was_running = pid_file.exists();

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = {
        use std::io::Read;
        let mut s = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    };
    assert!(ready, "never became ready:\n{stderr}");
    assert!(
        server_was_running,
        "no managed cluster under data_dir:\n{stderr}"
    );
    let status = status.unwrap_or_else(|| panic!("did not exit within 30s of SIGINT:\n{stderr}"));
    assert!(status.success(), "exit {status:?}:\n{stderr}");
    assert!(
        !Path::new(&pid_file).exists(),
        "the managed PostgreSQL is still running after shutdown:\n{stderr}"
    );
    assert!(!stderr.contains("password="), "{stderr}");
    // Log fields say values, never Rust's `Some(..)`.
    assert!(!stderr.contains("Some("), "{stderr}");
}

/// Runs the demo for `duration` on the data directory `dir`; its output, after
/// checking that it succeeded.
fn run_demo(dir: &std::path::Path, duration: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "demo",
            "--duration",
            duration,
            "--records",
            "300",
            "--rate",
            "20",
        ])
        .env("DEMO_DATA_DIR", dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The line of the demo's summary that starts with `label`.
fn summary_line<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {stdout}"))
}

/// The number that follows `label` in the demo's summary.
fn summary_number(stdout: &str, label: &str) -> u64 {
    summary_line(stdout, label)[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn demo_backfills_drives_live_changes_and_every_event_is_delivered_and_verified() {
    let dir = support::server_reachable_tempdir("hb-demo-");
    let stdout = run_demo(&dir.path().join("demo"), "3s");
    let number = |label: &str| summary_number(&stdout, label);
    let events = number("events emitted:");
    assert!(events > 300, "{stdout}");
    assert_eq!(number("delivered and verified:"), events, "{stdout}");
    assert!(stdout.contains("(signature failures: 0)"), "{stdout}");
    assert!(number("live changes made:") > 10, "{stdout}");
    // Columns widen with the longest entity name, so match by fields.
    assert!(
        stdout.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() == 3 && f[0] == "applications" && f[1] == "kit"
        }),
        "Kit webhooks landed: {stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("background_checks ")),
        "GoodHire webhooks landed: {stdout}"
    );
    // A check lands on the same person as that person's applications elsewhere.
    assert!(number("checked persons:") > 0, "{stdout}");
    assert!(
        !dir.path().join("demo/postgres/postmaster.pid").exists(),
        "the demo's PostgreSQL was stopped"
    );

    // Run again on the same data directory: the earlier run's events are in the
    // log, and only this run's are counted, delivered and waited for.
    let stdout = run_demo(&dir.path().join("demo"), "2s");
    let line = summary_line(&stdout, "events emitted:");
    assert!(
        line.contains("this run") && line.contains(&format!("{events} from earlier runs")),
        "{line}"
    );
    let this_run = summary_number(&stdout, "events emitted:");
    assert_eq!(
        summary_number(&stdout, "delivered and verified:"),
        this_run,
        "{stdout}"
    );
    assert!(!stdout.contains("still pending"), "{stdout}");
}
