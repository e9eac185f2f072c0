//! The daemon as a separate process (the real binary), for tests that kill it
//! with -9 or SIGTERM: config built as data, ports chosen free up front (a
//! process cannot hand back port 0's address), readiness waited for.

use super::daemon::{wait_until, DaemonConfig};
use hirebridge::store::cluster::free_port;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A configuration file and the addresses its daemon listens on.
pub struct ProcessConfig {
    pub path: PathBuf,
    pub webhooks: SocketAddr,
    pub admin: SocketAddr,
    _dir: tempfile::TempDir,
}

impl ProcessConfig {
    /// Writes `config` for a daemon on `database_url`, on free loopback ports.
    pub fn write(config: DaemonConfig, database_url: &str) -> ProcessConfig {
        let port = |what| free_port().unwrap_or_else(|e| panic!("a free port for {what}: {e}"));
        let webhooks: SocketAddr = ([127, 0, 0, 1], port("webhooks")).into();
        let admin: SocketAddr = ([127, 0, 0, 1], port("admin")).into();
        let mut config = config;
        config
            .server
            .insert("webhook_listen".into(), json!(webhooks.to_string()));
        config
            .server
            .insert("admin_listen".into(), json!(admin.to_string()));
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("hirebridge.toml");
        std::fs::write(&path, config.to_toml(database_url)).expect("the config is written");
        ProcessConfig {
            path,
            webhooks,
            admin,
            _dir: dir,
        }
    }

    /// Starts `hirebridge run` on this config; returns once `/readyz` says 200.
    pub async fn spawn(&self) -> DaemonProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_hirebridge"))
            .args(["run", "--config"])
            .arg(&self.path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the daemon binary starts");
        let ready = format!("http://{}/readyz", self.admin);
        wait_until(
            "the daemon process is ready",
            Duration::from_secs(60),
            || async {
                reqwest::get(&ready)
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 200)
            },
        )
        .await;
        DaemonProcess { child: Some(child) }
    }
}

/// A running daemon process; killed with -9 when dropped.
pub struct DaemonProcess {
    child: Option<Child>,
}

impl DaemonProcess {
    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; true when it exited 0.
    pub fn terminate(mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
