//! A provider's webhook subscription as a simulator runs it, written once for
//! every provider: deliveries go out first-attempt-in-order through a
//! [`WebhookSender`]; a failed one is retried on its own (so it holds back
//! nothing after it) after each wait of the provider's schedule, re-signed
//! each time with the same delivery id, and is dead when the schedule is
//! spent. A provider that disables a subscription after N consecutive failed
//! attempts (ITManagerJobs) says so with `disable_after`; while disabled,
//! deliveries are dropped.

use super::{Sent, WebhookSender};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// One delivery: its signed-over body, its delivery id and any headers besides
/// the signature (an event-name header, say).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub body: Vec<u8>,
    pub delivery_id: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Counters {
    fired: AtomicU64,
    answered: AtomicU64,
    delivered: AtomicU64,
    dead: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
    consecutive_failures: AtomicU64,
    disabled: AtomicBool,
}

/// A snapshot of a subscription's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriptionCounts {
    pub fired: u64,
    /// First attempts answered (or failed to connect), whatever the status.
    pub answered: u64,
    pub delivered: u64,
    /// Gave up after the whole schedule (dead-lettered by the provider).
    pub dead: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Fired while the subscription was disabled: never sent.
    pub dropped: u64,
    pub consecutive_failures: u64,
    pub disabled: bool,
}

/// One webhook subscription. Clones share it.
#[derive(Clone)]
pub struct Subscription {
    sender: WebhookSender,
    tx: mpsc::UnboundedSender<Outgoing>,
    counters: Arc<Counters>,
    disable_after: Option<u64>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("url", &self.sender.url())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Starts delivering through `sender` on the current tokio runtime.
    pub fn start(
        sender: WebhookSender,
        schedule: Vec<Duration>,
        disable_after: Option<u64>,
    ) -> Subscription {
        let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
        let sub = Subscription {
            sender,
            tx,
            counters: Arc::new(Counters::default()),
            disable_after,
        };
        let task = sub.clone();
        tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                let ok = task.attempt(&out).await;
                task.counters.answered.fetch_add(1, Ordering::SeqCst);
                if ok {
                    task.counters.delivered.fetch_add(1, Ordering::SeqCst);
                } else {
                    tokio::spawn(task.clone().retry(schedule.clone(), out));
                }
            }
        });
        sub
    }

    /// Queues a delivery now; dropped while the subscription is disabled.
    pub fn fire(&self, out: Outgoing) {
        let c = &self.counters;
        c.fired.fetch_add(1, Ordering::SeqCst);
        if c.disabled.load(Ordering::SeqCst) {
            c.dropped.fetch_add(1, Ordering::SeqCst);
            c.answered.fetch_add(1, Ordering::SeqCst);
            return;
        }
        if self.tx.send(out).is_err() {
            c.answered.fetch_add(1, Ordering::SeqCst);
            c.dead.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Sends one delivery now, concurrently with any others and without
    /// retries; returns the answer's status. Counts toward disabling like any
    /// attempt.
    pub async fn deliver_now(&self, out: &Outgoing) -> Result<u16, String> {
        match self
            .sender
            .send_once(
                &out.body,
                &out.headers,
                Some(&out.delivery_id),
                SystemTime::now(),
            )
            .await
        {
            Ok(Sent::Status(s)) => {
                self.note((200..300).contains(&s));
                Ok(s)
            }
            Ok(Sent::Dropped) => Err("the subscription is paused".into()),
            Err(e) => {
                self.note(false);
                Err(e.to_string())
            }
        }
    }

    pub fn counts(&self) -> SubscriptionCounts {
        let c = &self.counters;
        SubscriptionCounts {
            fired: c.fired.load(Ordering::SeqCst),
            answered: c.answered.load(Ordering::SeqCst),
            delivered: c.delivered.load(Ordering::SeqCst),
            dead: c.dead.load(Ordering::SeqCst),
            retries: c.retries.load(Ordering::SeqCst),
            dropped: c.dropped.load(Ordering::SeqCst),
            consecutive_failures: c.consecutive_failures.load(Ordering::SeqCst),
            disabled: c.disabled.load(Ordering::SeqCst),
        }
    }

    /// What the provider's admin does after a disable: turn it back on.
    pub fn re_enable(&self) {
        self.counters
            .consecutive_failures
            .store(0, Ordering::SeqCst);
        self.counters.disabled.store(false, Ordering::SeqCst);
    }

    /// The SDK sender underneath (tests send stale and replayed deliveries with it).
    pub fn webhook_sender(&self) -> &WebhookSender {
        &self.sender
    }

    /// Records one attempt's outcome: a success resets the failure run; the
    /// `disable_after`-th failure in a row disables the subscription.
    fn note(&self, ok: bool) {
        let c = &self.counters;
        if ok {
            c.consecutive_failures.store(0, Ordering::SeqCst);
        } else {
            let run = c.consecutive_failures.fetch_add(1, Ordering::SeqCst) + 1;
            if self.disable_after.is_some_and(|n| run >= n) {
                c.disabled.store(true, Ordering::SeqCst);
            }
        }
    }

    /// One attempt; true on a 2xx.
    async fn attempt(&self, out: &Outgoing) -> bool {
        let ok = matches!(
            self.sender
                .send_once(&out.body, &out.headers, Some(&out.delivery_id), SystemTime::now())
                .await,
            Ok(Sent::Status(s)) if (200..300).contains(&s)
        );
        self.note(ok);
        ok
    }

    /// Re-sends a failed delivery after each wait until one is accepted, the
    /// schedule ends (dead) or the subscription is disabled.
    async fn retry(self, waits: Vec<Duration>, out: Outgoing) {
        for wait in waits {
            tokio::time::sleep(wait).await;
            if self.counters.disabled.load(Ordering::SeqCst) {
                break;
            }
            self.counters.retries.fetch_add(1, Ordering::SeqCst);
            if self.attempt(&out).await {
                self.counters.delivered.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
        self.counters.dead.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(disable_after: Option<u64>) -> Subscription {
        let scheme = crate::signature::SignatureScheme {
            header: "X-Sig".into(),
            layout: crate::signature::HeaderLayout::Plain {
                prefix: String::new(),
            },
            encoding: crate::signature::Encoding::Hex,
            signed: crate::signature::SignedContent::Body,
            timestamp: crate::signature::TimestampSource::None,
            id_header: None,
            tolerance_secs: 300,
            secret: crate::signature::SecretSource::WebhookSecrets,
        };
        Subscription::start(
            WebhookSender::new("http://127.0.0.1:9/", scheme, "s"),
            Vec::new(),
            disable_after,
        )
    }

    #[tokio::test]
    async fn ten_failures_in_a_row_disable_and_a_success_resets() {
        let s = sub(Some(10));
        for _ in 0..9 {
            s.note(false);
        }
        s.note(true);
        assert!(!s.counts().disabled);
        for _ in 0..10 {
            s.note(false);
        }
        assert!(s.counts().disabled);
        s.re_enable();
        assert!(!s.counts().disabled);
        // Without a limit, failures never disable.
        let never = sub(None);
        for _ in 0..50 {
            never.note(false);
        }
        assert!(!never.counts().disabled);
    }
}
