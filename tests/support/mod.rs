//! Test support: a real PostgreSQL for every test. `DATABASE_URL` when set;
//! otherwise one throwaway cluster per test binary, started from the system's
//! server binaries (as the `postgres` user when the tests run as root), with a
//! fresh database per test.
//!
//! The throwaway server runs as a direct child of a thread that never exits, with
//! PR_SET_PDEATHSIG, so it dies with the test process whatever way that ends.
#![allow(dead_code)]

pub mod daemon;
pub mod nats;
pub mod process;
pub mod receiver;

use hirebridge::store::cluster::{find_binaries, free_port};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// A fresh database for one test (clones share it: several daemons on one database).
#[derive(Clone)]
pub struct TestDb {
    pub url: String,
    pub name: String,
    pub pool: PgPool,
}

impl TestDb {
    /// A fresh database with the schema migrated.
    pub async fn migrated() -> TestDb {
        let db = test_db().await;
        hirebridge::store::migrate(&db.pool)
            .await
            .expect("migrations apply");
        db
    }
}

static SERVER: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The server's URL without a database path.
async fn server_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url;
    }
    SERVER.get_or_init(start_throwaway_cluster).await.clone()
}

fn with_database(url: &str, database: &str) -> String {
    let mut u = url::Url::parse(url).expect("a valid database URL");
    u.set_path(&format!("/{database}"));
    u.to_string()
}

/// A temporary directory under /tmp that the server's user can traverse: a
/// managed cluster in it runs as `postgres` when the tests run as root.
pub fn server_reachable_tempdir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// The options of a managed cluster of a test's own in `dir`, for tests that
/// crash it: on a fixed free port, so it comes back where its clients look.
pub fn own_cluster_options(dir: &Path) -> hirebridge::store::cluster::ClusterOptions {
    hirebridge::store::cluster::ClusterOptions {
        data_dir: dir.join("var"),
        port: free_port().unwrap(),
        bin_dir: None,
        system_user: "postgres".into(),
    }
}

/// Creates a uniquely named database and returns a pool on it.
pub async fn test_db() -> TestDb {
    let server = server_url().await;
    let name = format!(
        "hb_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u16>()
    );
    let admin_url = with_database(&server, "postgres");
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("connect to the test server");
    sqlx::query(&format!("create database {name}"))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    let _ = admin.close().await;
    let url = with_database(&server, &name);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .expect("connect to the test database");
    TestDb { url, name, pool }
}

/// Runs `cmd` as `postgres` when root (PostgreSQL refuses to run as root).
fn as_server_user(cmd: &mut Command) -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name("postgres")
        .ok()
        .flatten()
        .expect("tests run as root need a `postgres` system user for the throwaway PostgreSQL");
    cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// Removes throwaway clusters of earlier test runs whose server is gone.
fn clean_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("hirebridge-test-pg-") {
            continue;
        }
        let pid = std::fs::read_to_string(e.path().join("data/postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()));
        let alive = pid
            .is_some_and(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok());
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(60));
        if !alive && old {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

async fn start_throwaway_cluster() -> String {
    let bin = find_binaries(None).unwrap_or_else(|e| panic!("{e}"));
    clean_stale(Path::new("/tmp"));
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("hirebridge-test-pg-")
        .tempdir_in("/tmp")
        .expect("a temp dir for the test cluster")
        .keep();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pgdata = dir.join("data");

    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&pgdata)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
            "--no-instructions",
        ])
        .env("LC_ALL", "C");
    if let Some((uid, gid)) = as_server_user(&mut initdb) {
        nix::unistd::chown(&dir, Some(uid.into()), Some(gid.into())).unwrap();
    }
    let out = initdb.output().expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let port = free_port().unwrap();
    let log = dir.join("postgres.log");
    let (tx, rx) = std::sync::mpsc::channel::<std::io::Result<u32>>();
    let socket_dir = dir.clone();
    std::thread::Builder::new()
        .name("test-postgres".into())
        .spawn(move || {
            let mut cmd = Command::new(bin.join("postgres"));
            cmd.arg("-D")
                .arg(&pgdata)
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    &format!("port={port}"),
                ])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", socket_dir.display()))
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ])
                .args(["-c", "max_connections=300", "-c", "shared_buffers=128MB"])
                .env("LC_ALL", "C")
                .stdin(Stdio::null());
            match std::fs::File::create(&log) {
                Ok(f) => {
                    let f2 = f.try_clone().ok();
                    cmd.stdout(f);
                    if let Some(f2) = f2 {
                        cmd.stderr(f2);
                    }
                }
                Err(_) => {
                    cmd.stdout(Stdio::null()).stderr(Stdio::null());
                }
            }
            as_server_user(&mut cmd);
            unsafe {
                cmd.pre_exec(|| {
                    // Runs after std changed the uid. Set after the uid change (a credential change clears it):
                    // the server gets SIGQUIT when this thread, hence the test
                    // process, goes away.
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGQUIT)
                        .map_err(std::io::Error::from)?;
                    Ok(())
                });
            }
            let child = cmd.spawn();
            let _ = tx.send(
                child
                    .as_ref()
                    .map(|c| c.id())
                    .map_err(|e| std::io::Error::new(e.kind(), e.to_string())),
            );
            // Keep the parent thread (and so the server) alive for the whole test run.
            let _child = child;
            loop {
                std::thread::park();
            }
        })
        .expect("spawn the test-postgres thread");
    rx.recv()
        .expect("postgres spawn result")
        .expect("start postgres");

    let url = format!("postgres://postgres@127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(c) = PgConnection::connect(&with_database(&url, "postgres")).await {
            let _ = c.close().await;
            return url;
        }
        if Instant::now() > deadline {
            panic!(
                "the throwaway PostgreSQL did not come up; its log:\n{}",
                std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
