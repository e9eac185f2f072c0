//! CPU time spent during a bench phase, by the daemon (this process) and by the
//! PostgreSQL server processes on this machine: CPU per record does not swing
//! with the machine's load the way records per second do.

use std::time::Duration;

/// CPU time used so far: this process, and every process named `postgres`.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    daemon: Duration,
    postgres: Option<Duration>,
}

impl CpuSample {
    pub fn now() -> CpuSample {
        CpuSample {
            daemon: own_cpu().unwrap_or_default(),
            postgres: postgres_cpu(),
        }
    }

    /// "CPU per record" for the work between `self` and `later`.
    pub fn per_record(&self, later: &CpuSample, records: u64) -> String {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / records.max(1) as f64;
        let daemon = per(later.daemon.saturating_sub(self.daemon));
        let postgres = match (self.postgres, later.postgres) {
            (Some(a), Some(b)) => format!(
                ", PostgreSQL processes on this machine {:.0} µs",
                per(b.saturating_sub(a))
            ),
            _ => String::new(),
        };
        format!("daemon {daemon:.0} µs{postgres}")
    }
}

/// User and system CPU time of this process.
fn own_cpu() -> Option<Duration> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let (user, system) = (usage.user_time(), usage.system_time());
    let micros = |t: nix::sys::time::TimeVal| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec()).unwrap_or(0)
    };
    Some(Duration::from_micros(micros(user) + micros(system)))
}

/// User and system CPU time of the processes named `postgres` (`/proc`, Linux
/// only), with that of their children that exited: a backend or autovacuum
/// worker that ends mid-phase moves its time into the postmaster's. `None`
/// when there is none (a database on another machine).
fn postgres_cpu() -> Option<Duration> {
    use nix::unistd::{sysconf, SysconfVar};
    let ticks_per_second = sysconf(SysconfVar::CLK_TCK).ok()??;
    let (mut ticks, mut processes) = (0u64, 0usize);
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": the fields after the name start at the third.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if !head.ends_with("(postgres") {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        // utime, stime, cutime, cstime: the 14th to 17th fields.
        ticks += (11..=14).filter_map(field).sum::<u64>();
        processes += 1;
    }
    if processes == 0 {
        return None;
    }
    let ticks_per_second = u64::try_from(ticks_per_second).ok()?.max(1);
    Some(Duration::from_micros(ticks * 1_000_000 / ticks_per_second))
}
