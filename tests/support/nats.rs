//! A real `nats-server` with JetStream for a test: the system's binary, on a
//! port it picks itself (read back from its log), its store in a temporary
//! directory; killed when dropped. `.ci/run` installs the binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NatsServer {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server is installed (apt-get install nats-server; .ci/run does)");
        let stderr = child.stderr.take().expect("its log");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log for the client port, then keeps draining it.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("Listening for client connections on ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = rx
            .recv_timeout(deadline - Instant::now())
            .expect("nats-server says where it listens");
        NatsServer {
            url: format!("nats://{addr}"),
            child,
            _dir: dir,
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
