//! A fixed-window request limit that answers with the provider's headers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Requests every rate window in this process counted, and how many it refused
/// with a 429 (`hirebridge simulate` prints both when it stops; `bench sync`
/// reads them).
static COUNTED: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// (requests counted, requests refused with 429) by every window so far.
pub fn totals() -> (u64, u64) {
    (
        COUNTED.load(Ordering::Relaxed),
        REFUSED.load(Ordering::Relaxed),
    )
}

/// What a rate-limited response carries: `X-RateLimit-Limit`, `-Remaining`,
/// `-Reset` (epoch seconds), and on refusal the `Retry-After` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: u32,
    pub remaining: u32,
    pub reset_epoch_secs: u64,
    pub retry_after_secs: Option<u64>,
}

impl RateHeaders {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset_epoch_secs.to_string()),
        ];
        if let Some(s) = self.retry_after_secs {
            out.push(("retry-after", s.to_string()));
        }
        out
    }
}

/// `limit` requests per `window`, counted from the first request of a window.
#[derive(Debug)]
pub struct RateWindow {
    limit: u32,
    window: Duration,
    state: Mutex<(SystemTime, u32)>,
}

impl RateWindow {
    pub fn new(limit: u32, window: Duration) -> RateWindow {
        RateWindow {
            limit,
            window,
            state: Mutex::new((SystemTime::UNIX_EPOCH, 0)),
        }
    }

    /// Counts one request: `Ok` with the headers to send, or `Err` for a 429.
    pub fn check(&self) -> Result<RateHeaders, RateHeaders> {
        COUNTED.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now();
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if now.duration_since(guard.0).unwrap_or_default() >= self.window {
            *guard = (now, 0);
        }
        let reset = guard.0 + self.window;
        let reset_epoch_secs = reset
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64().ceil() as u64)
            .unwrap_or_default();
        if guard.1 >= self.limit {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            let wait = reset.duration_since(now).unwrap_or_default();
            return Err(RateHeaders {
                limit: self.limit,
                remaining: 0,
                reset_epoch_secs,
                retry_after_secs: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
            });
        }
        guard.1 += 1;
        Ok(RateHeaders {
            limit: self.limit,
            remaining: self.limit - guard.1,
            reset_epoch_secs,
            retry_after_secs: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_with_a_wait() {
        let w = RateWindow::new(2, Duration::from_secs(60));
        assert_eq!(w.check().map(|h| h.remaining), Ok(1));
        assert_eq!(w.check().map(|h| h.remaining), Ok(0));
        let refused = w.check().unwrap_err();
        assert!(refused.retry_after_secs.is_some_and(|s| s <= 60));
    }
}
