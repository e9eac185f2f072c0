//! `hirebridge top` in a real terminal: tmux runs it against a live daemon,
//! the test reads the screen and quits it with `q`.

mod support;

use hirebridge_kit::sim::{KitSender, Sent};
use serde_json::json;
use std::process::Command;
use std::time::Duration;
use support::daemon::{spawn_daemon, wait_until, DaemonConfig};

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed (.ci/run installs it)")
}

fn screen(session: &str) -> String {
    String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", session]).stdout).into_owned()
}

#[tokio::test]
async fn top_shows_streams_inbox_spool_and_sinks_and_quits_on_q() {
    let dir = tempfile::tempdir().unwrap();
    let d = spawn_daemon(
        DaemonConfig::default()
            .connector(json!({"id": "kit", "provider": "kit", "webhook_secrets": ["kit-secret"]}))
            .sink(json!({
                "id": "lake", "kind": "jsonl",
                "path": dir.path().join("events.jsonl").display().to_string(),
            })),
    )
    .await;
    let kit = KitSender::new(d.url("kit"), "kit-secret");
    let application = json!({"id": 5, "candidate": {"id": 6, "name": "Lin Chen", "email": "lin@example.com"},
        "current_stage": "Applied", "rejected": false, "withdrawn": false, "offered": false});
    assert_eq!(
        kit.send("application.submitted", application)
            .await
            .unwrap(),
        Sent::Status(200)
    );
    d.drained().await;

    let session = format!("hb-top-{}", std::process::id());
    let command = format!(
        "{} top --admin {}",
        env!("CARGO_BIN_EXE_hirebridge"),
        d.admin
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "40",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");
    // The screen shows every part once the first refresh arrived, and the
    // sink's delivered count once the event went out.
    wait_until("top shows the daemon", Duration::from_secs(30), || async {
        let s = screen(&session);
        s.contains("streams")
            && s.contains("inbox")
            && s.contains("spool: 0 deliveries")
            && s.contains("kit")
            && s.contains("lake")
            && s.contains("enabled")
    })
    .await;
    let shown = screen(&session);
    eprintln!("{shown}");
    assert!(shown.contains("hirebridge top"), "{shown}");
    tmux(&["send-keys", "-t", &session, "q"]);
    wait_until("top quits on q", Duration::from_secs(10), || async {
        !tmux(&["has-session", "-t", &session]).status.success()
    })
    .await;
    d.stop().await;
}
