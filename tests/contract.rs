//! The provider contract, checked for every provider in the daemon's plugin
//! list: being listed is enough to be tested. Signatures round-trip and every
//! forgery is refused with nothing stored; a second poll writes nothing; a
//! webhook and a later poll of the same change make one event.

mod support;

use hirebridge::connectors::PLUGINS;
use hirebridge::engine::poller::{self, PassOptions, PassOutcome};
use hirebridge::engine::Engine;
use hirebridge_sdk::signature::{SecretSource, TimestampSource};
use hirebridge_sdk::simulate::{RunningSimulator, SimSpec};
use hirebridge_sdk::{Need, Plugin};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};
use support::daemon::{spawn_daemon, DaemonConfig, TestDaemon};

/// What is wrong with it, its headers, its body.
type Forgery = (&'static str, Vec<(String, String)>, Vec<u8>);

const SECRET: &str = "contract-secret-new";
const OLD_SECRET: &str = "contract-secret-old";
const API_KEY: &str = "contract-key";

async fn start_sim(plugin: &dyn Plugin) -> Box<dyn RunningSimulator> {
    plugin
        .simulator()
        .unwrap_or_else(|| panic!("{} has no simulator", plugin.name()))
        .start(SimSpec {
            listen: ([127, 0, 0, 1], 0).into(),
            seed: 3,
            records: 120,
            api_key: API_KEY.into(),
        })
        .await
        .expect("the simulator starts")
}

/// A connector section for `plugin` against its simulator, never polled on a
/// schedule (tests poll when they mean to).
fn section(plugin: &dyn Plugin, sim: &dyn RunningSimulator) -> Value {
    let caps = plugin.capabilities();
    let mut s = json!({
        "id": plugin.name(),
        "provider": plugin.name(),
        "schedule": "0 0 1 1 *",
    });
    if caps.webhooks {
        s["webhook_secrets"] = json!([OLD_SECRET, SECRET]);
    }
    if caps.api_key != Need::Unused {
        s["credentials"] = json!({"api_key": API_KEY});
    }
    if let Some(url) = sim.base_url() {
        s["base_url"] = json!(url);
    }
    s
}

async fn rejections(d: &TestDaemon, connector: &str) -> i64 {
    d.count(&format!(
        "select coalesce(sum(count), 0)::bigint from hiring.webhook_rejections where connector_id = '{connector}'"
    ))
    .await
}

#[tokio::test]
async fn every_provider_verifies_its_own_signatures_and_refuses_forgeries() {
    let mut checked = 0;
    for plugin in PLUGINS.iter().filter(|p| p.capabilities().webhooks) {
        let name = plugin.name();
        let scheme =
            (plugin.capabilities().signature.unwrap_or_else(|| {
                panic!("{name} takes webhooks but declares no signature scheme")
            }))();
        let sim = start_sim(*plugin).await;
        let d =
            spawn_daemon(DaemonConfig::default().connector(section(*plugin, sim.as_ref()))).await;
        let now = SystemTime::now();
        // A provider that signs with its API key has one key and no rotation.
        let (secret, old_secret) = match scheme.secret {
            SecretSource::ApiKey => (API_KEY, API_KEY),
            SecretSource::WebhookSecrets => (SECRET, OLD_SECRET),
        };

        // Signed with the current secret, and with the old one during a rotation.
        let good = sim.sample_delivery(1, secret, now);
        assert_eq!(
            d.post(name, &good.headers, &good.body).await,
            200,
            "{name}: good signature"
        );
        let old = sim.sample_delivery(2, old_secret, now);
        assert_eq!(
            d.post(name, &old.headers, &old.body).await,
            200,
            "{name}: old secret"
        );
        d.drained().await;
        let stored = d.count("select count(*) from hiring.inbox").await;
        assert_eq!(stored, 2, "{name}: both stored");

        // Every forgery: refused, nothing stored, counted.
        let mut forgeries: Vec<Forgery> = Vec::new();
        let wrong = sim.sample_delivery(3, "not-the-secret", now);
        forgeries.push(("wrong secret", wrong.headers, wrong.body));
        let mut tampered = sim.sample_delivery(4, secret, now);
        tampered.body.extend_from_slice(b" ");
        forgeries.push(("tampered body", tampered.headers, tampered.body));
        let missing = sim.sample_delivery(5, secret, now);
        let without: Vec<(String, String)> = missing
            .headers
            .into_iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(&scheme.header))
            .collect();
        forgeries.push(("missing signature", without, missing.body));
        if scheme.timestamp != TimestampSource::None {
            let hour = Duration::from_secs(3600);
            let stale = sim.sample_delivery(6, secret, now - hour);
            forgeries.push(("stale timestamp", stale.headers, stale.body));
            let future = sim.sample_delivery(7, secret, now + hour);
            forgeries.push(("future timestamp", future.headers, future.body));
        }
        for (n, (what, headers, body)) in forgeries.iter().enumerate() {
            assert_eq!(d.post(name, headers, body).await, 401, "{name}: {what}");
            assert_eq!(
                d.count("select count(*) from hiring.inbox").await,
                stored,
                "{name}: {what} stored nothing"
            );
            assert_eq!(
                rejections(&d, name).await,
                n as i64 + 1,
                "{name}: {what} counted"
            );
        }

        // The connector keys deliveries by the entity they change, so they
        // spread over the inbox partitions (several workers share them).
        for n in 100..116 {
            let sample = sim.sample_delivery(n, secret, now);
            assert_eq!(d.post(name, &sample.headers, &sample.body).await, 200);
        }
        assert!(
            d.count("select count(distinct part) from hiring.inbox")
                .await
                > 1,
            "{name}: deliveries of different entities fall in different partitions"
        );
        d.stop().await;
        sim.shutdown().await;
        checked += 1;
    }
    assert!(
        checked >= 2,
        "the webhook contract ran for {checked} providers"
    );
}

async fn poll_everything(engine: &Engine) -> (u64, u64) {
    let (mut written, mut events) = (0, 0);
    for handle in &engine.connectors {
        for stream in handle.enabled_streams() {
            let report = poller::run_pass(engine, handle, &stream, &PassOptions::default()).await;
            assert_eq!(
                report.outcome,
                PassOutcome::Completed,
                "{} {}: {:?}",
                handle.id,
                stream.name,
                report.error
            );
            written += report.created + report.updated + report.deleted;
            events += report.events;
        }
    }
    (written, events)
}

#[tokio::test]
async fn every_polling_provider_writes_nothing_when_polled_twice() {
    let mut checked = 0;
    // A provider without a list endpoint knows nothing on a fresh database, so
    // its backfill writes nothing; its refresh is tested in its own crate.
    let lists = |p: &&&dyn Plugin| {
        p.capabilities()
            .streams
            .iter()
            .any(|s| !matches!(s.mode, hirebridge_sdk::SyncMode::RefreshKnown { .. }))
    };
    for plugin in PLUGINS
        .iter()
        .filter(|p| p.capabilities().polls())
        .filter(lists)
    {
        let name = plugin.name();
        let sim = start_sim(*plugin).await;
        let db = support::TestDb::migrated().await;
        let config = DaemonConfig::default()
            .connector(section(*plugin, sim.as_ref()))
            .parse(&db.url);
        let (handles, errors) = hirebridge::connectors::build_all(&config.connectors);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let engine = Engine::new(db.pool.clone(), handles).await.unwrap();
        let (written, events) = poll_everything(&engine).await;
        assert!(
            written > 0 && events > 0,
            "{name}: the backfill wrote records"
        );
        assert_eq!(
            poll_everything(&engine).await,
            (0, 0),
            "{name}: the second poll"
        );
        sim.shutdown().await;
        checked += 1;
    }
    assert!(
        checked >= 1,
        "the polling contract ran for {checked} providers"
    );
}

#[tokio::test]
async fn a_webhook_and_a_later_poll_of_the_same_change_make_one_event() {
    let mut checked = 0;
    for plugin in PLUGINS
        .iter()
        .filter(|p| p.capabilities().polls() && p.capabilities().webhooks)
    {
        let name = plugin.name();
        let sim = start_sim(*plugin).await;
        let d =
            spawn_daemon(DaemonConfig::default().connector(section(*plugin, sim.as_ref()))).await;
        let (handles, _) = hirebridge::connectors::build_all(&d.config.connectors);
        let engine = Engine::new(d.pool.clone(), handles).await.unwrap();
        poll_everything(&engine).await;
        let before = d.count("select count(*) from hiring.events").await;

        sim.send_webhooks_to(&d.url(name), SECRET);
        for n in 0..3 {
            sim.change(n)
                .await
                .unwrap_or_else(|e| panic!("{name}: change {n}: {e}"));
        }
        d.drained().await;
        let after_webhooks = d.count("select count(*) from hiring.events").await;
        assert!(after_webhooks > before, "{name}: the webhooks made events");
        let (_, events) = poll_everything(&engine).await;
        assert_eq!(
            events, 0,
            "{name}: the poll found nothing the webhooks had not"
        );
        assert_eq!(
            d.count("select count(*) from hiring.events").await,
            after_webhooks
        );
        d.stop().await;
        sim.shutdown().await;
        checked += 1;
    }
    assert!(
        checked >= 1,
        "the webhook-then-poll contract ran for {checked} providers"
    );
}
