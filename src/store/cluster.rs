//! The private PostgreSQL cluster the daemon runs when no database URL is configured.
//!
//! Layout under `data_dir`: `postgres/` (the cluster, also its socket directory),
//! `postgres.password` (generated once, mode 0600) and `postgres.log`. The server
//! listens on 127.0.0.1 only, with scram-sha-256 authentication. PostgreSQL
//! refuses to run as root, so when the daemon is root the server runs as an
//! unprivileged system user (default `postgres`).

use rand::distributions::Alphanumeric;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The database the daemon uses inside the managed cluster.
pub const DATABASE: &str = "hirebridge";
const SUPERUSER: &str = "postgres";

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub data_dir: PathBuf,
    /// 0 picks a free loopback port.
    pub port: u16,
    pub bin_dir: Option<PathBuf>,
    /// Runs the server when the daemon is root.
    pub system_user: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found{searched}. Install the \
         PostgreSQL server package (e.g. `apt-get install postgresql`, `dnf install postgresql-server` \
         or `brew install postgresql@16`), point database.managed.bin_dir at their directory, or set \
         database.url to use an existing server"
    )]
    BinariesNotFound { searched: String },
    #[error(
        "hirebridge runs as root, and PostgreSQL refuses to; it would run the server as system user \
         {user:?}, which does not exist. Create it (e.g. `useradd --system postgres`), set \
         database.managed.system_user, or set database.url"
    )]
    NoSystemUser { user: String },
    #[error(
        "the PostgreSQL server runs as {user:?}, which cannot reach {dir}: make it traversable \
         (e.g. `chmod o+x {dir}`), choose a data_dir elsewhere, or set database.url"
    )]
    NotTraversable { user: String, dir: PathBuf },
    #[error("initdb failed ({status}):\n{output}")]
    Initdb { status: String, output: String },
    #[error("the managed PostgreSQL did not start ({status}); the end of {log}:\n{tail}")]
    Start {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("stopping the managed PostgreSQL failed: {0}")]
    Stop(String),
    #[error("creating database {DATABASE} failed: {0}")]
    CreateDatabase(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// Who runs the server processes.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// A running managed cluster.
pub struct ManagedCluster {
    pgdata: PathBuf,
    log: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    password: SecretString,
    run_as: Option<RunAs>,
    started_by_us: bool,
    stopped: bool,
}

impl fmt::Debug for ManagedCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedCluster")
            .field("pgdata", &self.pgdata)
            .field("port", &self.port)
            .field("started_by_us", &self.started_by_us)
            .finish_non_exhaustive()
    }
}

/// Finds a directory holding initdb, pg_ctl and postgres: `bin_dir`, then PATH,
/// then /usr/lib/postgresql/*/bin (newest version first).
pub fn find_binaries(bin_dir: Option<&Path>) -> Result<PathBuf, ClusterError> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| is_executable(&dir.join(b)))
    };
    let mut searched = Vec::new();
    if let Some(dir) = bin_dir {
        if has_all(dir) {
            return Ok(dir.to_path_buf());
        }
        return Err(ClusterError::BinariesNotFound {
            searched: format!(" in {} (database.managed.bin_dir)", dir.display()),
        });
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_all(&dir) {
                // Resolve symlinks so the binaries' own share/lib directories are found.
                let real = std::fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .filter(|d| has_all(d))
                    .unwrap_or(dir);
                return Ok(real);
            }
        }
        searched.push("PATH".to_string());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    searched.push("/usr/lib/postgresql/*/bin".into());
    versions
        .into_iter()
        .map(|(_, dir)| dir)
        .find(|dir| has_all(dir))
        .ok_or(ClusterError::BinariesNotFound {
            searched: format!(" (searched {})", searched.join(" and ")),
        })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A free loopback port right now.
pub fn free_port() -> Result<u16, ClusterError> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(io("finding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io("finding a free port"))?
        .port();
    Ok(port)
}

/// The port a running server recorded in postmaster.pid (its fourth line).
pub fn port_from_pid_file(text: &str) -> Option<u16> {
    text.lines().nth(3)?.trim().parse().ok()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn describe(output: &Output) -> String {
    let mut s = String::from_utf8_lossy(&output.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Checks that every ancestor of `dir` can be traversed by `uid`/`gid`.
fn check_traversable(dir: &Path, run_as: RunAs, user: &str) -> Result<(), ClusterError> {
    let mut current = Some(dir);
    while let Some(d) = current {
        if let Ok(meta) = std::fs::metadata(d) {
            let mode = meta.mode();
            let ok = if meta.uid() == run_as.uid {
                mode & 0o100 != 0
            } else if meta.gid() == run_as.gid {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            if !ok {
                return Err(ClusterError::NotTraversable {
                    user: user.to_string(),
                    dir: d.to_path_buf(),
                });
            }
        }
        current = d.parent();
    }
    Ok(())
}

fn chown_tree(path: &Path, run_as: RunAs) -> Result<(), ClusterError> {
    let owner = (
        Some(nix::unistd::Uid::from_raw(run_as.uid)),
        Some(nix::unistd::Gid::from_raw(run_as.gid)),
    );
    nix::unistd::chown(path, owner.0, owner.1).map_err(|e| ClusterError::Io {
        what: format!("chown {}", path.display()),
        source: std::io::Error::from(e),
    })?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(io(format!("reading {}", path.display())))? {
            let entry = entry.map_err(io(format!("reading {}", path.display())))?;
            chown_tree(&entry.path(), run_as)?;
        }
    }
    Ok(())
}

impl ManagedCluster {
    /// Starts the cluster under `options.data_dir`, creating it on first use. If a
    /// server from an earlier run is still up on this directory, it is reused (and
    /// left running on [`ManagedCluster::stop`]).
    pub async fn start(options: &ClusterOptions) -> Result<ManagedCluster, ClusterError> {
        let options = options.clone();
        let cluster = tokio::task::spawn_blocking(move || Self::start_blocking(&options))
            .await
            .map_err(|e| ClusterError::Io {
                what: "starting the managed PostgreSQL".into(),
                source: std::io::Error::other(e.to_string()),
            })??;
        // On failure the cluster is dropped, which stops a server we started.
        cluster.ensure_database().await?;
        Ok(cluster)
    }

    fn start_blocking(options: &ClusterOptions) -> Result<ManagedCluster, ClusterError> {
        let bin_dir = find_binaries(options.bin_dir.as_deref())?;
        std::fs::create_dir_all(&options.data_dir).map_err(io(format!(
            "creating data_dir {}",
            options.data_dir.display()
        )))?;
        let data_dir = std::fs::canonicalize(&options.data_dir).map_err(io(format!(
            "resolving data_dir {}",
            options.data_dir.display()
        )))?;
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name(&options.system_user)
                .ok()
                .flatten()
                .ok_or_else(|| ClusterError::NoSystemUser {
                    user: options.system_user.clone(),
                })?;
            let run_as = RunAs {
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
            };
            check_traversable(&data_dir, run_as, &options.system_user)?;
            Some(run_as)
        } else {
            None
        };
        let pgdata = data_dir.join("postgres");
        let log = data_dir.join("postgres.log");
        let password_file = data_dir.join("postgres.password");
        let password = Self::password(&password_file)?;
        let mut cluster = ManagedCluster {
            pgdata,
            log,
            bin_dir,
            port: options.port,
            password,
            run_as,
            started_by_us: false,
            stopped: false,
        };

        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        // A server from an earlier run still up on this directory: reuse it.
        if let Some(port) = cluster.running_port() {
            cluster.port = port;
            cluster.stopped = true; // not ours to stop
            tracing::info!(port, "reusing the managed PostgreSQL already running");
        } else {
            if cluster.port == 0 {
                cluster.port = free_port()?;
            }
            cluster.pg_ctl_start()?;
            cluster.started_by_us = true;
        }
        Ok(cluster)
    }

    fn password(path: &Path) -> Result<SecretString, ClusterError> {
        if let Ok(existing) = std::fs::read_to_string(path) {
            let existing = existing.trim().to_string();
            if !existing.is_empty() {
                return Ok(SecretString::from(existing));
            }
        }
        let generated: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        std::fs::write(path, &generated).map_err(io(format!("writing {}", path.display())))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io(format!("chmod {}", path.display())))?;
        Ok(SecretString::from(generated))
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        cmd.env("LC_ALL", "C").env_remove("PGPASSWORD");
        if let Some(run_as) = self.run_as {
            // std also drops root's supplementary groups when it changes the uid.
            cmd.uid(run_as.uid)
                .gid(run_as.gid)
                .env("HOME", &self.pgdata);
        }
        cmd
    }

    fn initdb(&self) -> Result<(), ClusterError> {
        std::fs::create_dir_all(&self.pgdata)
            .map_err(io(format!("creating {}", self.pgdata.display())))?;
        std::fs::set_permissions(&self.pgdata, std::fs::Permissions::from_mode(0o700))
            .map_err(io(format!("chmod {}", self.pgdata.display())))?;
        // initdb reads the superuser password from a file the server user can read
        // (next to the cluster: initdb wants an empty directory).
        let pwfile = self.pgdata.with_file_name(".initdb-password");
        std::fs::write(&pwfile, self.password.expose_secret())
            .map_err(io("writing the initdb password file"))?;
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod the initdb password file"))?;
        if let Some(run_as) = self.run_as {
            chown_tree(&self.pgdata, run_as)?;
            chown_tree(&pwfile, run_as)?;
        }
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&self.pgdata)
            .args([
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .map_err(io("running initdb"));
        let _ = std::fs::remove_file(&pwfile);
        let output = output?;
        if !output.status.success() {
            return Err(ClusterError::Initdb {
                status: output.status.to_string(),
                output: describe(&output),
            });
        }
        Ok(())
    }

    /// The port of a live server on this cluster, if one answers.
    fn running_port(&self) -> Option<u16> {
        let text = std::fs::read_to_string(self.pgdata.join("postmaster.pid")).ok()?;
        let port = port_from_pid_file(&text)?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
        Some(port)
    }

    fn pg_ctl_start(&self) -> Result<(), ClusterError> {
        if let Some(run_as) = self.run_as {
            if !self.log.exists() {
                std::fs::write(&self.log, b"")
                    .map_err(io(format!("creating {}", self.log.display())))?;
            }
            chown_tree(&self.log, run_as)?;
        }
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories='{}'",
            self.port,
            self.pgdata.display()
        );
        let output = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(&self.pgdata)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60", "-o", &options])
            .output()
            .map_err(io("running pg_ctl start"))?;
        if !output.status.success() {
            return Err(ClusterError::Start {
                status: output.status.to_string(),
                log: self.log.clone(),
                tail: format!("{}\n{}", describe(&output), tail(&self.log, 20)),
            });
        }
        tracing::info!(port = self.port, pgdata = %self.pgdata.display(), "managed PostgreSQL started");
        Ok(())
    }

    async fn ensure_database(&self) -> Result<(), ClusterError> {
        let url = self.url_for("postgres");
        {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url.expose_secret())
                .await
                .map_err(|e| ClusterError::CreateDatabase(e.to_string()))?;
            let exists: bool =
                sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                    .bind(DATABASE)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| ClusterError::CreateDatabase(e.to_string()))?;
            if !exists {
                sqlx::query(&format!("create database {DATABASE}"))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| ClusterError::CreateDatabase(e.to_string()))?;
            }
            let _ = conn.close().await;
            Ok(())
        }
    }

    fn url_for(&self, database: &str) -> SecretString {
        SecretString::from(format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password.expose_secret(),
            self.port
        ))
    }

    /// The URL of the daemon's database (it holds the password: keep it secret).
    pub fn url(&self) -> SecretString {
        self.url_for(DATABASE)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// False when an already running server was reused.
    pub fn started_by_us(&self) -> bool {
        self.started_by_us
    }

    fn stop_blocking(&mut self) -> Result<(), ClusterError> {
        self.stop_blocking_with("fast")
    }

    fn stop_blocking_with(&mut self, mode: &str) -> Result<(), ClusterError> {
        if self.stopped || !self.started_by_us {
            self.stopped = true;
            return Ok(());
        }
        self.stopped = true;
        let output = self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(&self.pgdata)
            .args(["-m", mode, "-w", "-t", "60"])
            .output()
            .map_err(|e| ClusterError::Stop(e.to_string()))?;
        if !output.status.success() {
            return Err(ClusterError::Stop(describe(&output)));
        }
        tracing::info!("managed PostgreSQL stopped");
        Ok(())
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no
    /// checkpoint, clients cut off), for fault-injection tests and benches.
    pub async fn crash(mut self) -> Result<(), ClusterError> {
        let result = tokio::task::spawn_blocking(move || {
            let r = self.stop_blocking_with("immediate");
            (self, r)
        })
        .await;
        match result {
            Ok((_, r)) => r,
            Err(e) => Err(ClusterError::Stop(e.to_string())),
        }
    }

    /// Stops the server if this process started it.
    pub async fn stop(mut self) -> Result<(), ClusterError> {
        let result = tokio::task::spawn_blocking(move || {
            let r = self.stop_blocking();
            (self, r)
        })
        .await;
        match result {
            Ok((_, r)) => r,
            Err(e) => Err(ClusterError::Stop(e.to_string())),
        }
    }
}

impl Drop for ManagedCluster {
    /// A cluster dropped without `stop` (an early error, a panic) is stopped
    /// anyway, so no server is left behind.
    fn drop(&mut self) {
        if let Err(e) = self.stop_blocking() {
            tracing::warn!(error = %e, "stopping the managed PostgreSQL on drop failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_from_postmaster_pid() {
        let text = "12345\n/var/lib/pg\n1700000000\n54321\n/var/run\n127.0.0.1\n";
        assert_eq!(port_from_pid_file(text), Some(54321));
        assert_eq!(port_from_pid_file("1\n2\n"), None);
    }

    #[test]
    fn finds_binaries_in_a_configured_directory_or_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_binaries(Some(dir.path())).unwrap_err().to_string();
        assert!(
            err.contains("database.url") && err.contains("apt-get install postgresql"),
            "{err}"
        );
        for name in ["initdb", "pg_ctl", "postgres"] {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(find_binaries(Some(dir.path())).unwrap(), dir.path());
    }
}
