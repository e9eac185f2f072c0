//! Webhook signing as data. A provider describes its scheme once, as a
//! [`SignatureScheme`] value (which header, how it is laid out, hex or base64,
//! what is signed, where the timestamp comes from, the tolerance, whose secret);
//! the same value verifies deliveries in the daemon and signs them in that
//! provider's simulator, so no provider crate computes an HMAC itself.

use crate::error::WebhookError;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// One provider's webhook signature scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureScheme {
    /// The header carrying the signature, e.g. `Ashby-Signature`.
    pub header: String,
    /// How the signature header is laid out.
    pub layout: HeaderLayout,
    pub encoding: Encoding,
    /// What the HMAC is computed over.
    pub signed: SignedContent,
    /// Where the signed timestamp comes from; `None` when nothing is timestamped.
    pub timestamp: TimestampSource,
    /// The header naming the delivery (signed by `id.ts.body`, and used to
    /// deduplicate redeliveries).
    #[serde(default)]
    pub id_header: Option<String>,
    /// How far a signed timestamp may be from our clock, either way (seconds).
    #[serde(default = "default_tolerance_secs")]
    pub tolerance_secs: u64,
    /// Whose secret keys the HMAC.
    #[serde(default)]
    pub secret: SecretSource,
}

fn default_tolerance_secs() -> u64 {
    300
}

/// How the signature header's value is laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeaderLayout {
    /// The whole value is `<prefix><signature>`: Ashby's `sha256=<hex>`, Kit's `<hex>`.
    Plain {
        #[serde(default)]
        prefix: String,
    },
    /// Comma-separated `key=value` pairs, e.g. `t=<unix>,v1=<hex>`; every pair
    /// named `signature_key` is a candidate (several during a rotation).
    Pairs {
        timestamp_key: String,
        signature_key: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Hex,
    Base64,
    /// Either lowercase/uppercase hex or standard base64, for providers that do
    /// not say which (GoodHire); signing uses hex.
    HexOrBase64,
}

/// What is signed, joined by `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedContent {
    /// The raw body alone.
    Body,
    /// `<timestamp>.<raw body>`, the timestamp exactly as sent.
    TimestampBody,
    /// `<delivery id>.<timestamp>.<raw body>` (Standard Webhooks).
    IdTimestampBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TimestampSource {
    None,
    /// A header of its own, e.g. Kit's `X-Webhook-Timestamp`.
    Header {
        name: String,
        format: TimestampFormat,
    },
    /// The `timestamp_key` pair of a [`HeaderLayout::Pairs`] signature header.
    InSignature {
        format: TimestampFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    UnixSeconds,
    Rfc3339,
}

/// Whose secret keys the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// The connector's `webhook_secrets` (several while one is rotated).
    #[default]
    WebhookSecrets,
    /// The API key itself (GoodHire signs with it).
    ApiKey,
}

/// The secrets a connector verifies with, resolved once from its settings by
/// the scheme's [`SecretSource`] (its `webhook_secrets`, or the API key).
/// Debug prints how many, never what.
#[derive(Clone, Default)]
pub struct SigningKeys(Vec<crate::secret::Secret>);

impl SigningKeys {
    pub fn new(secrets: Vec<crate::secret::Secret>) -> SigningKeys {
        SigningKeys(secrets)
    }

    /// The keys `source` names: the webhook secrets, or the API key alone.
    pub fn resolve(
        source: SecretSource,
        webhook_secrets: &[crate::secret::Secret],
        api_key: Option<&crate::secret::Secret>,
    ) -> SigningKeys {
        match source {
            SecretSource::WebhookSecrets => SigningKeys(webhook_secrets.to_vec()),
            SecretSource::ApiKey => SigningKeys(api_key.into_iter().cloned().collect()),
        }
    }

    /// Keys given as plain strings (tests and simulators).
    pub fn from_strs<S: AsRef<str>>(secrets: &[S]) -> SigningKeys {
        SigningKeys(
            secrets
                .iter()
                .map(|s| crate::secret::Secret::new(s.as_ref()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn bytes(&self) -> Vec<&[u8]> {
        self.0.iter().map(|s| s.expose().as_bytes()).collect()
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys({} redacted)", self.0.len())
    }
}

/// What a verified delivery's signature headers said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// The signed timestamp, when the scheme has one.
    pub timestamp: Option<DateTime<Utc>>,
    /// The delivery id from `id_header`, when sent.
    pub delivery_id: Option<String>,
}

impl SignatureScheme {
    fn tolerance(&self) -> Duration {
        Duration::from_secs(self.tolerance_secs)
    }

    /// [`SignatureScheme::verify`] with a connector's resolved keys.
    pub fn verify_with(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
        keys: &SigningKeys,
    ) -> Result<Verified, WebhookError> {
        self.verify(headers, body, now, &keys.bytes())
    }

    /// Authenticates `body`: a missing header is a failure, every configured
    /// secret is tried against every signature sent (in constant time, all of
    /// them, so the time taken does not reveal which matched), and a signed
    /// timestamp must be within the tolerance of `now`.
    pub fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
        secrets: &[&[u8]],
    ) -> Result<Verified, WebhookError> {
        if secrets.is_empty() || secrets.iter().all(|s| s.is_empty()) {
            return Err(WebhookError::NoSecretConfigured);
        }
        let raw = header(headers, &self.header)?.ok_or_else(|| WebhookError::MissingSignature {
            header: self.header.clone(),
        })?;
        let malformed = || WebhookError::MalformedSignature {
            header: self.header.clone(),
        };
        let (candidates, pair_timestamp): (Vec<&str>, Option<&str>) = match &self.layout {
            HeaderLayout::Plain { prefix } => (
                vec![raw
                    .trim()
                    .strip_prefix(prefix.as_str())
                    .ok_or_else(malformed)?],
                None,
            ),
            HeaderLayout::Pairs {
                timestamp_key,
                signature_key,
            } => {
                let mut sigs = Vec::new();
                let mut ts = None;
                for part in raw.split(',') {
                    let (k, v) = part.trim().split_once('=').ok_or_else(malformed)?;
                    if k == timestamp_key {
                        ts = Some(v);
                    } else if k == signature_key {
                        sigs.push(v);
                    }
                }
                (sigs, ts)
            }
        };
        let signatures: Vec<Vec<u8>> = candidates
            .iter()
            .filter_map(|c| self.decode(c.trim()))
            .filter(|s| s.len() == 32)
            .collect();
        if signatures.is_empty() {
            return Err(malformed());
        }
        let timestamp_text = match &self.timestamp {
            TimestampSource::None => None,
            TimestampSource::Header { name, format } => {
                let text =
                    header(headers, name)?.ok_or_else(|| WebhookError::MissingTimestamp {
                        header: name.clone(),
                    })?;
                Some((text.trim(), *format, name.clone()))
            }
            TimestampSource::InSignature { format } => {
                let text = pair_timestamp.ok_or_else(|| WebhookError::MissingTimestamp {
                    header: self.header.clone(),
                })?;
                Some((text.trim(), *format, self.header.clone()))
            }
        };
        let timestamp = match &timestamp_text {
            None => None,
            Some((text, format, name)) => {
                let at = parse_timestamp(text, *format).ok_or_else(|| {
                    WebhookError::MalformedTimestamp {
                        header: name.clone(),
                    }
                })?;
                let at_sys: SystemTime = at.into();
                if at_sys + self.tolerance() < now {
                    return Err(WebhookError::StaleTimestamp);
                }
                if at_sys > now + self.tolerance() {
                    return Err(WebhookError::FutureTimestamp);
                }
                Some(at)
            }
        };
        let delivery_id = match &self.id_header {
            Some(name) => header(headers, name)?.map(|s| s.trim().to_string()),
            None => None,
        };
        let ts = timestamp_text.as_ref().map(|t| t.0).unwrap_or("");
        let id = delivery_id.as_deref().unwrap_or("");
        let mut matched = false;
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            let mac = self.mac(secret, id, ts, body);
            for sig in &signatures {
                matched |= bool::from(mac.as_slice().ct_eq(sig.as_slice()));
            }
        }
        if !matched {
            return Err(WebhookError::BadSignature);
        }
        Ok(Verified {
            timestamp,
            delivery_id,
        })
    }

    /// The headers a provider sends with `body` signed by `secret` at `at`
    /// (and the delivery id, when the scheme has an id header). Simulators and
    /// tests use it; verification is its inverse.
    pub fn sign(
        &self,
        secret: &[u8],
        body: &[u8],
        at: SystemTime,
        delivery_id: Option<&str>,
    ) -> Vec<(String, String)> {
        let ts = match &self.timestamp {
            TimestampSource::None => String::new(),
            TimestampSource::Header { format, .. } | TimestampSource::InSignature { format } => {
                format_timestamp(at, *format)
            }
        };
        let id = delivery_id.unwrap_or("");
        let sig = self.encode(&self.mac(secret, id, &ts, body));
        let mut out = Vec::new();
        let value = match &self.layout {
            HeaderLayout::Plain { prefix } => format!("{prefix}{sig}"),
            HeaderLayout::Pairs {
                timestamp_key,
                signature_key,
            } => match &self.timestamp {
                TimestampSource::InSignature { .. } => {
                    format!("{timestamp_key}={ts},{signature_key}={sig}")
                }
                _ => format!("{signature_key}={sig}"),
            },
        };
        out.push((self.header.clone(), value));
        if let TimestampSource::Header { name, .. } = &self.timestamp {
            out.push((name.clone(), ts));
        }
        if let (Some(name), Some(id)) = (&self.id_header, delivery_id) {
            out.push((name.clone(), id.to_string()));
        }
        out
    }

    fn mac(&self, secret: &[u8], id: &str, ts: &str, body: &[u8]) -> [u8; 32] {
        match self.signed {
            SignedContent::Body => hmac_sha256(secret, &[body]),
            SignedContent::TimestampBody => hmac_sha256(secret, &[ts.as_bytes(), b".", body]),
            SignedContent::IdTimestampBody => {
                hmac_sha256(secret, &[id.as_bytes(), b".", ts.as_bytes(), b".", body])
            }
        }
    }

    fn decode(&self, text: &str) -> Option<Vec<u8>> {
        match self.encoding {
            Encoding::Hex => hex::decode(text).ok(),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.decode(text).ok(),
            // A 64-character hex string is also valid base64 (of 48 bytes), so
            // hex is tried first and only a 32-byte result counts.
            Encoding::HexOrBase64 => hex::decode(text)
                .ok()
                .filter(|b| b.len() == 32)
                .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok()),
        }
    }

    fn encode(&self, mac: &[u8]) -> String {
        match self.encoding {
            Encoding::Hex | Encoding::HexOrBase64 => hex::encode(mac),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(mac),
        }
    }
}

/// A header's value as text; a value that is not visible ASCII is malformed.
fn header<'h>(headers: &'h http::HeaderMap, name: &str) -> Result<Option<&'h str>, WebhookError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| WebhookError::MalformedSignature {
                header: name.to_string(),
            }),
    }
}

fn parse_timestamp(text: &str, format: TimestampFormat) -> Option<DateTime<Utc>> {
    match format {
        TimestampFormat::UnixSeconds => DateTime::from_timestamp(text.parse::<i64>().ok()?, 0),
        TimestampFormat::Rfc3339 => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    }
}

fn format_timestamp(at: SystemTime, format: TimestampFormat) -> String {
    let at: DateTime<Utc> = at.into();
    match format {
        TimestampFormat::UnixSeconds => at.timestamp().to_string(),
        TimestampFormat::Rfc3339 => at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// HMAC-SHA256 of the concatenation of `parts`, keyed with `key`. Public for the
/// downstream Standard Webhooks signer, which signs rather than verifies.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn pairs() -> SignatureScheme {
        SignatureScheme {
            header: "X-Sig".into(),
            layout: HeaderLayout::Pairs {
                timestamp_key: "t".into(),
                signature_key: "v1".into(),
            },
            encoding: Encoding::Hex,
            signed: SignedContent::TimestampBody,
            timestamp: TimestampSource::InSignature {
                format: TimestampFormat::UnixSeconds,
            },
            id_header: None,
            tolerance_secs: 300,
            secret: SecretSource::WebhookSecrets,
        }
    }

    fn headers(list: Vec<(String, String)>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in list {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn standard_webhooks_test_vector_verifies() {
        // The Standard Webhooks specification's published example.
        let scheme = SignatureScheme {
            header: "webhook-signature".into(),
            layout: HeaderLayout::Plain {
                prefix: "v1,".into(),
            },
            encoding: Encoding::Base64,
            signed: SignedContent::IdTimestampBody,
            timestamp: TimestampSource::Header {
                name: "webhook-timestamp".into(),
                format: TimestampFormat::UnixSeconds,
            },
            id_header: Some("webhook-id".into()),
            tolerance_secs: 300,
            secret: SecretSource::WebhookSecrets,
        };
        let secret = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let body = br#"{"test": 2432232314}"#;
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
        let signed = scheme.sign(&secret, body, at, Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
        assert!(signed.contains(&(
            "webhook-signature".into(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into()
        )));
        let h = headers(signed);
        let v = scheme.verify(&h, body, at, &[&secret]).unwrap();
        assert_eq!(
            v.delivery_id.as_deref(),
            Some("msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
    }

    #[test]
    fn sign_then_verify_and_every_failure_is_named() {
        let s = pairs();
        let now = SystemTime::now();
        let body = b"{\"a\":1}";
        let ok = headers(s.sign(b"new", body, now, None));
        // Any configured secret verifies (rotation).
        assert!(s.verify(&ok, body, now, &[b"old", b"new"]).is_ok());
        assert_eq!(
            s.verify(&ok, body, now, &[b"old"]),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            s.verify(&ok, b"{\"a\":2}", now, &[b"new"]),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            s.verify(&http::HeaderMap::new(), body, now, &[b"new"]),
            Err(WebhookError::MissingSignature {
                header: "X-Sig".into()
            })
        );
        assert_eq!(
            s.verify(&ok, body, now, &[]),
            Err(WebhookError::NoSecretConfigured)
        );
        let stale = headers(s.sign(b"new", body, now - Duration::from_secs(301), None));
        assert_eq!(
            s.verify(&stale, body, now, &[b"new"]),
            Err(WebhookError::StaleTimestamp)
        );
        let future = headers(s.sign(b"new", body, now + Duration::from_secs(301), None));
        assert_eq!(
            s.verify(&future, body, now, &[b"new"]),
            Err(WebhookError::FutureTimestamp)
        );
        let mut garbled = http::HeaderMap::new();
        garbled.insert("X-Sig", "t=1,v1=zz".parse().unwrap());
        assert!(matches!(
            s.verify(&garbled, body, now, &[b"new"]),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    #[test]
    fn several_signatures_in_one_header_any_may_match() {
        let s = pairs();
        let now = SystemTime::now();
        let body = b"x";
        let t = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let good = hex::encode(hmac_sha256(b"k", &[t.as_bytes(), b".", body]));
        let mut h = http::HeaderMap::new();
        h.insert(
            "X-Sig",
            format!("t={t},v1={},v1={good}", "00".repeat(32))
                .parse()
                .unwrap(),
        );
        assert!(s.verify(&h, body, now, &[b"k"]).is_ok());
    }

    #[test]
    fn hex_or_base64_accepts_both_and_refuses_forgeries() {
        let scheme = SignatureScheme {
            header: "X-Sig".into(),
            layout: HeaderLayout::Plain {
                prefix: String::new(),
            },
            encoding: Encoding::HexOrBase64,
            signed: SignedContent::Body,
            timestamp: TimestampSource::None,
            id_header: None,
            tolerance_secs: 300,
            secret: SecretSource::ApiKey,
        };
        let now = SystemTime::now();
        let body = b"{\"Id\":\"1\"}";
        let mac = hmac_sha256(b"key", &[body]);
        let sig = |v: String| {
            let mut h = http::HeaderMap::new();
            h.insert("X-Sig", v.parse().unwrap());
            h
        };
        let hex_lower = sig(hex::encode(mac));
        let hex_upper = sig(hex::encode_upper(mac));
        let b64 = sig(base64::engine::general_purpose::STANDARD.encode(mac));
        for h in [&hex_lower, &hex_upper, &b64] {
            assert!(scheme.verify(h, body, now, &[b"key"]).is_ok());
            assert_eq!(
                scheme.verify(h, body, now, &[b"other"]),
                Err(WebhookError::BadSignature)
            );
            assert_eq!(
                scheme.verify(h, b"{}", now, &[b"key"]),
                Err(WebhookError::BadSignature)
            );
        }
        // Signing uses hex.
        let signed = scheme.sign(b"key", body, now, None);
        assert_eq!(signed[0].1, hex::encode(mac));
        assert!(matches!(
            scheme.verify(&sig("not-a-signature".into()), body, now, &[b"key"]),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    #[test]
    fn schemes_are_data_an_operator_can_write() {
        let text = r#"
            header = "X-Goodfit-Signature"
            layout = { kind = "pairs", timestamp_key = "t", signature_key = "v1" }
            encoding = "hex"
            signed = "timestamp_body"
            timestamp = { kind = "in_signature", format = "unix_seconds" }
        "#;
        let scheme: SignatureScheme = toml_edit::de::from_str(text).unwrap();
        assert_eq!(scheme.tolerance_secs, 300);
        assert_eq!(scheme.layout, pairs().layout);
    }
}
