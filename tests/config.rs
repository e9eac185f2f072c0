//! Loading and checking the TOML config: defaults, durations and cron
//! schedules, secrets that never show, every error with its file, line and key,
//! and each provider's own options (with the real provider plugins, which is
//! why these tests live here and not beside the config code).

use chrono::{Datelike, TimeZone, Utc, Weekday};
use hirebridge::config::*;
use hirebridge_sdk::StageCategory;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn load(text: &str) -> Result<Config, ConfigErrors> {
    Config::from_str_with_env(text, Path::new("t.toml"), &|name| match name {
        "ASHBY_KEY" => Some("sk-live-123".into()),
        _ => None,
    })
}

/// The errors a rejected `text` gets, as the operator reads them.
fn load_error(text: &str) -> String {
    load(text).expect_err("the config is rejected").to_string()
}

#[test]
fn an_empty_file_is_a_valid_config_with_defaults() {
    let c = load("").unwrap();
    assert_eq!(c.data_dir, PathBuf::from("./var"));
    assert!(c.database.url.is_none());
    assert_eq!(c.server.admin_listen.to_string(), "127.0.0.1:8481");
    assert_eq!(c.server.max_body_bytes, 1 << 20);
}

#[test]
fn five_field_crontab_uses_sunday_zero() {
    let s = cron_schedule("0 9 * * 1-5").unwrap();
    let after = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap(); // a Saturday
    let next: Vec<_> = s.after(&after).take(5).collect();
    assert_eq!(next[0].weekday(), Weekday::Mon);
    assert_eq!(next[4].weekday(), Weekday::Fri);
    let sunday = cron_schedule("0 0 * * 0")
        .unwrap()
        .after(&after)
        .next()
        .unwrap();
    assert_eq!(sunday.weekday(), Weekday::Sun);
    let seven = cron_schedule("0 0 * * 7")
        .unwrap()
        .after(&after)
        .next()
        .unwrap();
    assert_eq!(seven.weekday(), Weekday::Sun);
    assert!(cron_schedule("0 */15 * * * *").is_ok());
    assert!(cron_schedule("*/5 * * * MON-FRI").is_ok());
    assert!(cron_schedule("every minute").is_err());
    assert!(cron_schedule("* * * * 9").is_err());
}

#[test]
fn durations_need_units() {
    let e = load("[database]\nacquire_timeout = \"30\"\n").unwrap_err();
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(e.errors[0].key, "database.acquire_timeout");
    assert!(e.errors[0].message.contains("unit"), "{e}");
    let c = load("[database]\nacquire_timeout = \"1m 30s\"\n").unwrap();
    assert_eq!(c.database.acquire_timeout, Duration::from_secs(90));
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let text = r#"
[database]
url = "postgres://u:db-pass-999@h/db"
[[connectors]]
id = "a"
provider = "ashby"
credentials = { api_key = "${ASHBY_KEY}" }
webhook_secrets = ["hook-secret-777"]
[[sinks]]
id = "s"
kind = "webhook"
url = "https://u:sink-pass-555@example.com/x"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
"#;
    let c = load(text).unwrap();
    let debug = format!("{c:?}");
    for secret in [
        "sk-live-123",
        "db-pass-999",
        "hook-secret-777",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(!c.summary_lines().join("\n").contains("sink-pass-555"));
    assert_eq!(
        c.connectors[0].settings.api_key.as_ref().unwrap().expose(),
        "sk-live-123"
    );

    let bad = text
        .replace(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not-base64-topsecret",
        )
        .replace(
            "postgres://u:db-pass-999@h/db",
            "mysql://u:db-pass-999@h/db",
        );
    let errors = load_error(&bad);
    assert!(errors.contains("sinks[0].secrets[0]"), "{errors}");
    assert!(errors.contains("database.url"), "{errors}");
    assert!(
        !errors.contains("topsecret") && !errors.contains("db-pass-999"),
        "{errors}"
    );
}

/// Every key that holds a secret, written with every wrong TOML type, with
/// the value given literally or through `${VAR}`: the errors name the file,
/// line, key and expected type, and never contain the value.
#[test]
fn no_error_at_a_secret_key_shows_the_value() {
    let env = |name: &str| match name {
        "HB_SECRET_STR" => Some("zq-env-secret-9f1".to_string()),
        "HB_SECRET_NUM" => Some("4242424242424242".to_string()),
        _ => None,
    };
    // (TOML value, fragments of it that must not appear, its type).
    let values: &[(&str, &[&str], &str)] = &[
        (
            "\"zq-plain-secret-1a2\"",
            &["zq-plain-secret-1a2"],
            "string",
        ),
        ("\"${HB_SECRET_STR}\"", &["zq-env-secret-9f1"], "string"),
        ("987654321987", &["987654321987"], "integer"),
        ("${HB_SECRET_NUM}", &["4242424242424242"], "integer"),
        ("31415.926535", &["31415.926535", "31415"], "float"),
        ("true", &["true"], "boolean"),
        (
            "1979-05-27T07:32:00.999Z",
            &["1979-05-27", "07:32"],
            "datetime",
        ),
        (
            "[\"zq-in-array-3b4\"]",
            &["zq-in-array-3b4"],
            "array of strings",
        ),
        (
            "[\"${HB_SECRET_STR}\"]",
            &["zq-env-secret-9f1"],
            "array of strings",
        ),
        ("[987654321987]", &["987654321987"], "array"),
        ("[[\"zq-nested-5c6\"]]", &["zq-nested-5c6"], "array"),
        ("{ k = \"zq-in-table-7d8\" }", &["zq-in-table-7d8"], "table"),
        ("{ api_key = 987654321987 }", &["987654321987"], "table"),
        (
            "{ api_key = [\"zq-in-table-7d8\"] }",
            &["zq-in-table-7d8"],
            "table",
        ),
        (
            "[{ k = \"zq-aot-9e0\" }]",
            &["zq-aot-9e0"],
            "array of tables",
        ),
    ];
    // (text before the value, text after it, the key, what it expects, the
    // right types (not tried), and the header of a `[[...]]` form, if any).
    type Key = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        Option<&'static str>,
    );
    let keys: &[Key] = &[
        ("[database]\nurl = ", "\n", "database.url", "a string", &["string"], Some("[[database.url]]")),
        (
            "[[connectors]]\nid = \"c\"\nprovider = \"goodfit\"\ncredentials = ",
            "\n",
            "connectors[0].credentials",
            "a table",
            &["table"],
            Some("[[connectors]]\nid = \"c\"\nprovider = \"goodfit\"\n[[connectors.credentials]]"),
        ),
        (
            "[[connectors]]\nid = \"c\"\nprovider = \"goodfit\"\n[connectors.credentials]\napi_key = ",
            "\n",
            "connectors[0].credentials.api_key",
            "a string",
            &["string"],
            Some("[[connectors]]\nid = \"c\"\nprovider = \"goodfit\"\n[[connectors.credentials.api_key]]"),
        ),
        (
            "[[connectors]]\nid = \"c\"\nprovider = \"goodfit\"\ncredentials = { api_key = ",
            " }\n",
            "connectors[0].credentials.api_key",
            "a string",
            &["string"],
            None,
        ),
        (
            concat!("[[connectors]]\nid = \"c\"\nprovider = \"kit\"\n", "webhook_secrets = "),
            "\n",
            "connectors[0].webhook_secrets",
            "an array of strings",
            &["array of strings"],
            Some(concat!("[[connectors]]\nid = \"c\"\nprovider = \"kit\"\n", "[[connectors.webhook_secrets]]")),
        ),
        (
            "[[connectors]]\nid = \"c\"\nprovider = \"kit\"\nwebhook_secrets = [\"ok-secret\", ",
            "]\n",
            "connectors[0].webhook_secrets[1]",
            "a string",
            &["string"],
            None,
        ),
        (
            "[[sinks]]\nid = \"s\"\nkind = \"webhook\"\nurl = \"https://example.com/x\"\nsecrets = ",
            "\n",
            "sinks[0].secrets",
            "an array of strings",
            &["array of strings"],
            Some("[[sinks]]\nid = \"s\"\nkind = \"webhook\"\nurl = \"https://example.com/x\"\n[[sinks.secrets]]"),
        ),
        (
            "[[sinks]]\nid = \"s\"\nkind = \"webhook\"\nurl = \"https://example.com/x\"\nsecrets = [",
            "]\n",
            "sinks[0].secrets[0]",
            "a string",
            &["string"],
            None,
        ),
        (
            "[[sinks]]\nid = \"s\"\nkind = \"webhook\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\nurl = ",
            "\n",
            "sinks[0].url",
            "a string",
            &["string"],
            None,
        ),
        (
            "[[sinks]]\nid = \"s\"\nkind = \"webhook\"\nurl = \"https://example.com/x\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\nheaders = { Authorization = ",
            " }\n",
            "sinks[0].headers.Authorization",
            "a string",
            &["string"],
            None,
        ),
    ];
    let mut tried = 0;
    for &(before, after, key, expected, right, aot_header) in keys {
        let mut cases: Vec<(String, &[&str], usize)> = Vec::new();
        for &(value, fragments, kind) in values {
            let is_table = kind == "table";
            let tables_only = value.contains("api_key");
            if right.contains(&kind)
                // { api_key = <wrong> } is a wrong type inside credentials,
                // elsewhere the same as any table.
                || (tables_only && key != "connectors[0].credentials")
                || (is_table && !tables_only && key == "connectors[0].credentials")
            {
                continue;
            }
            let text = format!("{before}{value}{after}");
            let line = before.matches('\n').count() + 1;
            cases.push((text, fragments, line));
        }
        if let Some(header) = aot_header {
            let text = format!("{header}\nk = \"zq-aot-header-1f2\"\n");
            let line = header.matches('\n').count() + 1;
            cases.push((text, &["zq-aot-header-1f2"], line));
        }
        for (text, fragments, line) in cases {
            tried += 1;
            let errors = Config::from_str_with_env(&text, Path::new("t.toml"), &env)
                .expect_err(&format!("a wrong type must be an error:\n{text}"));
            let display = errors.to_string();
            let debug = format!("{errors:?}");
            for fragment in fragments {
                assert!(
                    !display.contains(fragment) && !debug.contains(fragment),
                    "{fragment:?} shown for {key}:\n{text}\n--\n{display}\n{debug}"
                );
            }
            // Still: file, line, key and the expected type.
            let wanted_key = if key == "connectors[0].credentials" && text.contains("api_key = ") {
                "connectors[0].credentials.api_key"
            } else {
                key
            };
            let wanted_expected = if wanted_key == key {
                expected
            } else {
                "a string"
            };
            assert!(
                errors.errors.iter().any(|e| e.file == Path::new("t.toml")
                    && e.line == line
                    && ((e.key == wanted_key
                        && e.message.contains(&format!("expected {wanted_expected}")))
                        // A wrong element of a list: the element's key and type.
                        || (e.key.starts_with(&format!("{wanted_key}["))
                            && e.message.contains("expected a string")))),
                "no error at t.toml:{line} for {wanted_key} expecting {wanted_expected}:\n{text}\n--\n{display}"
            );
        }
    }
    assert!(tried > 80, "{tried} cases");
    // Whatever route a message takes, the strings under secret keys are cut
    // out of it (`config::checks`' unit test).
}

#[test]
fn every_error_is_collected_with_line_and_key() {
    let text = "\
[server]
admin_listen = \"nowhere\"
bogus = 1

[[connectors]]
id = \"Bad Id\"
provider = \"ashby\"
schedule = \"61 * * * *\"
stage_map = { \"Phone Screen\" = \"chatting\" }

[[connectors]]
id = \"k\"
provider = \"kit\"

[[sinks]]
id = \"s\"
kind = \"webhook\"
url = \"https://example.com\"
secrets = [\"whsec_AAAAAAAAAAAAAAAAAAAAAA==\"]
connectors = [\"nope\"]
events = [\"Application!\"]
";
    let e = load(text).unwrap_err();
    let got: Vec<(usize, &str)> = e.errors.iter().map(|e| (e.line, e.key.as_str())).collect();
    for wanted in [
        (2, "server.admin_listen"),
        (6, "connectors[0].id"),
        (8, "connectors[0].schedule"),
        (9, "connectors[0].stage_map.Phone Screen"),
        (11, "connectors[1].webhook_secrets"),
        (20, "sinks[0].connectors[0]"),
        (21, "sinks[0].events[0]"),
    ] {
        assert!(got.contains(&wanted), "missing {wanted:?} in {got:?}\n{e}");
    }
    // The ashby connector without credentials is reported too.
    assert!(
        e.errors
            .iter()
            .any(|e| e.key == "connectors[0].credentials"),
        "{e}"
    );
}

#[test]
fn unknown_keys_and_unset_variables_are_errors() {
    let e = load("[database]\nurl = \"${DB_URL}\"\npool = 3\n").unwrap_err();
    assert_eq!(
        e.errors.len(),
        1,
        "interpolation errors stop before parsing: {e}"
    );
    assert_eq!(
        (e.errors[0].line, e.errors[0].key.as_str()),
        (2, "database.url")
    );
    assert!(e.errors[0].message.contains("DB_URL"));

    let e = load("[database]\npool = 3\n[[connectors]]\nid = \"a\"\nprovider = \"ashby\"\ncredentials = { api_key = \"k\" }\ncolour = \"red\"\n").unwrap_err();
    let keys: Vec<_> = e.errors.iter().map(|e| (e.line, e.key.clone())).collect();
    assert!(keys.contains(&(2, "database.pool".into())), "{e}");
    assert!(keys.contains(&(7, "connectors[0].colour".into())), "{e}");
}

#[test]
fn defaults_and_overrides_come_through() {
    let text = r#"
data_dir = "/srv/hb"
[[connectors]]
id = "ashby-main"
provider = "ashby"
base_url = "http://127.0.0.1:9000"
schedule = "0 */10 * * * *"
credentials = { api_key = "k" }
rate_limit = { requests = 100, per = "1m" }
[connectors.streams.candidates]
schedule = "*/2 * * * *"
page_size = 50
[connectors.streams.offers]
enabled = false
[connectors.stage_map]
"Take-home" = "assessment"

[[sinks]]
id = "lake"
kind = "jsonl"
path = "/srv/hb/events.jsonl"
"#;
    let c = load(text).unwrap();
    let k = &c.connectors[0];
    assert_eq!(k.schedule.expr, "0 */10 * * * *");
    assert_eq!(k.streams["candidates"].page_size, Some(50));
    assert!(!k.streams["offers"].enabled);
    assert_eq!(
        k.settings.stage_map.get(None, Some("take-home")),
        Some(StageCategory::Assessment)
    );
    assert_eq!(k.settings.rate_limit.unwrap().per, Duration::from_secs(60));
    assert_eq!(c.sinks[0].retry_schedule, default_retry_schedule());
    assert_eq!(c.sinks[0].timeout(), Duration::from_secs(15));
}

#[test]
fn provider_options_are_typed_per_provider_and_bad_ones_point_at_their_line() {
    let good = "[[connectors]]\nid = \"gf\"\nprovider = \"goodfit\"\ncredentials = { api_key = \"k\" }\n[connectors.options.paging]\nlimit = \"per_page\"\n";
    let c = load(good).unwrap();
    assert_eq!(c.connectors[0].provider(), "goodfit");

    // A key that makes no sense for Ashby is an error at its line.
    let bad = "[[connectors]]\nid = \"a\"\nprovider = \"ashby\"\ncredentials = { api_key = \"k\" }\n[connectors.options]\ncolour = \"red\"\n";
    let e = load(bad).unwrap_err();
    let err = &e.errors[0];
    assert_eq!(err.line, 6, "{e}");
    assert!(err.key.starts_with("connectors[0].options"), "{e}");
    assert!(err.message.contains("colour"), "{e}");

    // The provider's own checks, and the capabilities' needs, with their keys.
    let kit = "[[connectors]]\nid = \"k\"\nprovider = \"kit\"\nwebhook_secrets = [\"s\"]\ncredentials = { api_key = \"x\" }\n";
    let e = load(kit).unwrap_err();
    assert!(e.to_string().contains("connectors[0].credentials"), "{e}");
    let no_key = "[[connectors]]\nid = \"g\"\nprovider = \"goodfit\"\n";
    let e = load(no_key).unwrap_err();
    assert!(e.to_string().contains("needs credentials.api_key"), "{e}");
    let unknown = "[[connectors]]\nid = \"w\"\nprovider = \"workday\"\n";
    let e = load(unknown).unwrap_err();
    assert!(
        e.to_string()
            .contains("expected one of: ashby, kit, goodfit"),
        "{e}"
    );
}

#[test]
fn a_webhook_sink_without_a_url_cannot_be_built() {
    let e = load("[[sinks]]\nid = \"s\"\nkind = \"webhook\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n")
        .unwrap_err();
    assert!(e.to_string().contains("a webhook sink needs a url"), "{e}");
    let c = load("[[sinks]]\nid = \"l\"\nkind = \"jsonl\"\npath = \"/tmp/x.jsonl\"\n").unwrap();
    assert!(matches!(c.sinks[0].target, SinkTarget::Jsonl { .. }));
    // Another kind's keys are errors at their lines, not silently ignored.
    let e = load_error("[[sinks]]\nid = \"l\"\nkind = \"jsonl\"\npath = \"/tmp/x.jsonl\"\nurl = \"http://127.0.0.1:1/\"\n");
    assert!(
        e.contains(":5:") && e.contains("not a setting of a jsonl sink"),
        "{e}"
    );
    let e = load_error("[[sinks]]\nid = \"w\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\nrotate_bytes = 10\n");
    assert!(
        e.contains("rotate_bytes") && e.contains("not a setting of a webhook sink"),
        "{e}"
    );
}

#[test]
fn sink_start_positions_retention_and_nats_sinks_are_checked_at_their_lines() {
    let c = load("[[sinks]]\nid = \"l\"\nkind = \"jsonl\"\npath = \"/tmp/x.jsonl\"\nstart = \"2026-11-01T00:00:00Z\"\n\n[events]\nretention = \"30days\"\n")
        .unwrap();
    assert!(matches!(c.sinks[0].start, SinkStart::At(_)));
    assert_eq!(
        c.events.retention,
        Some(std::time::Duration::from_secs(30 * 86400))
    );
    let c = load("[[sinks]]\nid = \"l\"\nkind = \"jsonl\"\npath = \"/tmp/x.jsonl\"\n").unwrap();
    assert_eq!(c.sinks[0].start, SinkStart::Now);
    assert_eq!(c.events.retention, None, "kept by default");

    let e = load_error(
        "[[sinks]]\nid = \"l\"\nkind = \"jsonl\"\npath = \"/tmp/x.jsonl\"\nstart = \"yesterday\"\n",
    );
    assert!(
        e.contains(":5:") && e.contains("sinks[0].start") && e.contains("RFC 3339"),
        "{e}"
    );
    let e = load_error("[events]\nretention = \"forever\"\n");
    assert!(e.contains(":2:") && e.contains("events.retention"), "{e}");

    assert_eq!(
        c.inbox.retention,
        Some(DEFAULT_INBOX_RETENTION),
        "processed deliveries are kept two weeks by default"
    );
    let c = load("[inbox]\nretention = \"keep\"\n").unwrap();
    assert_eq!(c.inbox.retention, None);
    let c = load("[inbox]\nretention = \"36h\"\n").unwrap();
    assert_eq!(
        c.inbox.retention,
        Some(std::time::Duration::from_secs(36 * 3600))
    );
    let e = load_error("[inbox]\n\nretention = \"5m\"\n");
    assert!(
        e.contains(":3:") && e.contains("inbox.retention") && e.contains("retry schedule"),
        "{e}"
    );
    let e = load_error("[inbox]\nretention = \"a fortnight\"\n");
    assert!(e.contains(":2:") && e.contains("inbox.retention"), "{e}");
    let e = load_error("[inbox]\nkeep_done = \"14d\"\n");
    assert!(e.contains(":2:") && e.contains("keep_done"), "{e}");

    let c = load(
        "[[sinks]]\nid = \"n\"\nkind = \"nats\"\nurl = \"nats://user:hunter2@127.0.0.1:4222\"\n",
    )
    .unwrap();
    match &c.sinks[0].target {
        SinkTarget::Nats {
            subject_prefix,
            stream,
            ..
        } => {
            assert_eq!(
                (subject_prefix.as_str(), stream.as_str()),
                ("hirebridge", "HIREBRIDGE")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{:?}", c.sinks[0]).contains("hunter2"),
        "the URL's password stays out of Debug"
    );
    assert!(!c.summary_lines().join("\n").contains("hunter2"));
    let e = load_error("[[sinks]]\nid = \"n\"\nkind = \"nats\"\nurl = \"http://user:hunter2@127.0.0.1:4222\"\nsubject_prefix = \"a..b\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n");
    assert!(e.contains("nats:// or tls://"), "{e}");
    assert!(e.contains("subject_prefix"), "{e}");
    assert!(e.contains("not a setting of a nats sink"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}
