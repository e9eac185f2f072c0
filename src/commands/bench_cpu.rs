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

/// User and system CPU time of the processes named `postgres` now running
/// (`/proc`, Linux only). A backend that exits mid-phase takes its time with
/// it; the benches hold their connections, so that does not happen.
fn postgres_cpu() -> Option<Duration> {
    use nix::unistd::{sysconf, SysconfVar};
    let ticks_per_second = sysconf(SysconfVar::CLK_TCK).ok()??;
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": utime and stime are the 14th and 15th fields.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if !head.ends_with("(postgres") {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        ticks += field(11).unwrap_or(0) + field(12).unwrap_or(0);
    }
    let ticks_per_second = u64::try_from(ticks_per_second).ok()?.max(1);
    Some(Duration::from_micros(ticks * 1_000_000 / ticks_per_second))
}
