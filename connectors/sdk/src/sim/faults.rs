//! Fault injection for simulators: 5xx errors, 429 storms, latency and malformed
//! bodies, switchable while the simulator runs.

use rand::Rng;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Knobs a test turns; all off by default.
#[derive(Debug, Default)]
pub struct Faults {
    /// Per mille of requests answered 500.
    pub error_per_mille: AtomicU32,
    /// The next this-many requests are answered 429.
    pub rate_limit_storm: AtomicU32,
    /// The next this-many requests after a storm are answered 500: a test that
    /// must see a retry gets one whatever the random draws are.
    pub server_error_burst: AtomicU32,
    /// Added to every request, in milliseconds.
    pub latency_ms: AtomicU64,
    /// Per mille of successful responses whose body is cut short (invalid JSON).
    pub malformed_per_mille: AtomicU32,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    ServerError,
    RateLimited,
    /// Answer, but with a body that is not valid JSON.
    Malformed,
}

impl Faults {
    pub fn set_error_per_mille(&self, n: u32) {
        self.error_per_mille.store(n, Ordering::Relaxed);
    }
    pub fn storm(&self, requests: u32) {
        self.rate_limit_storm.store(requests, Ordering::Relaxed);
    }
    pub fn server_errors(&self, requests: u32) {
        self.server_error_burst.store(requests, Ordering::Relaxed);
    }
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }
    pub fn set_malformed_per_mille(&self, n: u32) {
        self.malformed_per_mille.store(n, Ordering::Relaxed);
    }

    /// Waits the configured latency, then draws this request's fault.
    pub async fn draw(&self) -> Fault {
        let latency = self.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let storm = self
            .rate_limit_storm
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if storm.is_ok() {
            return Fault::RateLimited;
        }
        let burst =
            self.server_error_burst
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if burst.is_ok() {
            return Fault::ServerError;
        }
        let mut rng = rand::thread_rng();
        if rng.gen_range(0..1000) < self.error_per_mille.load(Ordering::Relaxed) {
            return Fault::ServerError;
        }
        if rng.gen_range(0..1000) < self.malformed_per_mille.load(Ordering::Relaxed) {
            return Fault::Malformed;
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_storm_refuses_exactly_its_count() {
        let f = Faults::default();
        f.storm(2);
        assert_eq!(f.draw().await, Fault::RateLimited);
        assert_eq!(f.draw().await, Fault::RateLimited);
        assert_eq!(f.draw().await, Fault::None);
        f.storm(1);
        f.server_errors(2);
        assert_eq!(f.draw().await, Fault::RateLimited);
        assert_eq!(f.draw().await, Fault::ServerError);
        assert_eq!(f.draw().await, Fault::ServerError);
        assert_eq!(f.draw().await, Fault::None);
        f.set_error_per_mille(1000);
        assert_eq!(f.draw().await, Fault::ServerError);
    }
}
