//! Standard Webhooks signatures: `webhook-signature` = space-separated
//! `v1,<base64 HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")>`, one per
//! active secret (https://www.standardwebhooks.com).

use base64::Engine as _;
use hirebridge_sdk::signature::hmac_sha256;

/// One `v1,<base64>` signature.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac_sha256(secret, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    )
}

/// The `webhook-signature` header value for every secret.
pub fn signature_header(secrets: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::decode_sink_secret;

    /// The Standard Webhooks specification's published example (also svix's).
    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let secret = decode_sink_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn one_signature_per_secret() {
        let header = signature_header(
            &[b"0123456789abcdef".to_vec(), b"fedcba9876543210".to_vec()],
            "evt_1",
            1,
            b"{}",
        );
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
    }
}
