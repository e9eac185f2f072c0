//! The one lease mechanism of every queue (stream passes, inbox batches,
//! sink deliveries). A row is leased by naming its owner (`lease_owner`) and a
//! backstop expiry (`lease_expires_at`, for a holder that lives but hangs); the
//! lease holds only while that owner heartbeats in `hiring.daemons`. A daemon
//! killed with -9 stops heartbeating and loses every lease within
//! [`LIVENESS`]; one that stops cleanly marks itself stopped and loses them at
//! once; whoever claims next takes them over. Writes that finish leased work
//! still check `lease_owner`, so a holder that lost its lease cannot commit.

use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;

/// How often a daemon heartbeats.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A holder silent for this long has stopped: its leases are free.
pub const LIVENESS: Duration = Duration::from_secs(3);

/// SQL: true when the lease on the row aliased `$alias` is held by a live owner
/// (the owner heartbeated within [`LIVENESS`], has not stopped, and the backstop
/// has not expired). `lease_held!("c")` expands to a string literal.
#[macro_export]
macro_rules! lease_held {
    ($alias:literal) => {
        concat!(
            "(",
            $alias,
            ".lease_owner is not null and ",
            $alias,
            ".lease_expires_at >= now() and exists (select 1 from hiring.daemons h where h.owner = ",
            $alias,
            ".lease_owner and h.stopped_at is null and h.heartbeat_at > now() - interval '3 seconds'))"
        )
    };
}

/// SQL: the negation of [`lease_held!`]: nobody holds the row's lease.
#[macro_export]
macro_rules! lease_free {
    ($alias:literal) => {
        concat!("(not ", $crate::lease_held!($alias), ")")
    };
}

/// Registers `owner` and returns at once; [`heartbeat`] keeps it alive.
pub async fn register(pool: &PgPool, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into hiring.daemons (owner, host, pid, version) values ($1, $2, $3, $4)
         on conflict (owner) do update set heartbeat_at = now(), stopped_at = null",
    )
    .bind(owner)
    .bind(super::super::engine::hostname())
    .bind(std::process::id() as i32)
    .bind(env!("CARGO_PKG_VERSION"))
    .execute(pool)
    .await?;
    Ok(())
}

/// Heartbeats every [`HEARTBEAT`] until `stop` turns true, then marks the
/// owner stopped, which releases every lease it holds at once. Daemons that
/// stopped long ago are forgotten.
pub async fn heartbeat(pool: PgPool, owner: String, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let beat = sqlx::query(
            "insert into hiring.daemons (owner, host, pid, version) values ($1, $2, $3, $4)
             on conflict (owner) do update set heartbeat_at = now()",
        )
        .bind(&owner)
        .bind(super::super::engine::hostname())
        .bind(std::process::id() as i32)
        .bind(env!("CARGO_PKG_VERSION"));
        match tokio::time::timeout(HEARTBEAT, beat.execute(&pool)).await {
            Ok(Ok(_)) if failing => {
                tracing::info!("heartbeat restored");
                failing = false;
            }
            Ok(Err(e)) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "heartbeat failed; this daemon's leases lapse until it succeeds");
            }
            Err(_) if !failing => {
                failing = true;
                tracing::warn!("heartbeat timed out; this daemon's leases lapse until it succeeds");
            }
            _ => {}
        }
    }
    if let Err(e) = release(&pool, &owner).await {
        tracing::warn!(error = %e, "releasing leases at shutdown failed; they lapse in a few seconds");
    }
}

/// Marks `owner` stopped (its leases are free at once) and forgets daemons
/// that stopped or fell silent more than a day ago.
pub async fn release(pool: &PgPool, owner: &str) -> Result<(), sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    sqlx::query("update hiring.daemons set stopped_at = now() where owner = $1")
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update hiring.sync_state set lease_owner = null, lease_expires_at = null where lease_owner = $1",
    )
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from hiring.daemons where heartbeat_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Who holds a lease, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    pub owner: String,
    /// Seconds until the lease lapses if the holder stops now (backstop or
    /// liveness, whichever comes first).
    pub expires_in_secs: i64,
    /// The holder has not heartbeated within [`LIVENESS`]: its lease is free
    /// to be taken over.
    pub silent: bool,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.silent {
            write!(
                f,
                "leased by {} (stopped heartbeating: free to take over)",
                self.owner
            )
        } else {
            write!(
                f,
                "leased by {}, expires in {} s",
                self.owner, self.expires_in_secs
            )
        }
    }
}

/// SQL columns describing the holder of the lease on the row aliased `s`,
/// for a `left join hiring.daemons h on h.owner = s.lease_owner`.
pub const HOLDER_COLUMNS: &str = "s.lease_owner as holder,
    ceil(extract(epoch from least(s.lease_expires_at, h.heartbeat_at + interval '3 seconds') - now()))::bigint as holder_expires_in,
    (h.owner is null or h.stopped_at is not null or h.heartbeat_at <= now() - interval '3 seconds') as holder_silent";

/// The holder from [`HOLDER_COLUMNS`], when the row has an owner whose lease
/// has not run out by its backstop.
pub fn holder_from(row: &sqlx::postgres::PgRow) -> Result<Option<Holder>, sqlx::Error> {
    use sqlx::Row;
    let owner: Option<String> = row.try_get("holder")?;
    let expires: Option<i64> = row.try_get("holder_expires_in")?;
    let silent: Option<bool> = row.try_get("holder_silent")?;
    Ok(owner.map(|owner| Holder {
        owner,
        expires_in_secs: expires.unwrap_or(0).max(0),
        silent: silent.unwrap_or(true),
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_predicates_are_plain_sql() {
        assert!(crate::lease_held!("c").contains("h.owner = c.lease_owner and"));
        assert!(crate::lease_free!("d").starts_with("(not (d.lease_owner"));
        // LIVENESS and the SQL interval agree.
        assert!(crate::lease_held!("x").contains("interval '3 seconds'"));
        assert_eq!(super::LIVENESS.as_secs(), 3);
    }
}

#[cfg(test)]
mod holder_tests {
    use super::Holder;

    #[test]
    fn status_says_who_holds_a_lease_and_flags_a_silent_holder() {
        let live = Holder {
            owner: "host:42:abc".into(),
            expires_in_secs: 2,
            silent: false,
        };
        assert_eq!(live.to_string(), "leased by host:42:abc, expires in 2 s");
        let silent = Holder {
            silent: true,
            ..live
        };
        assert!(silent.to_string().contains("stopped heartbeating"));
    }
}
