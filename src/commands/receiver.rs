//! The downstream receivers' own Standard Webhooks check, used by `demo`,
//! `bench` and the tests: written from the specification, not with the
//! daemon's signer, so a mistake in one is caught by the other.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::HeaderMap;

/// How far a delivery's `webhook-timestamp` may be from the receiver's clock
/// (the specification's five minutes).
pub const TOLERANCE_SECS: i64 = 300;

/// True when `headers` carry a valid, fresh Standard Webhooks signature of
/// `body` under `key` (the decoded `whsec_` secret), at `now_unix` seconds.
pub fn verify_standard_webhook(
    key: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now_unix: i64,
) -> bool {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (
        get("webhook-id"),
        get("webhook-timestamp"),
        get("webhook-signature"),
    ) else {
        return false;
    };
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (now_unix - t).abs() <= TOLERANCE_SECS);
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else {
        return false;
    };
    if !fresh {
        return false;
    }
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    sigs.split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// [`verify_standard_webhook`] against the current time.
pub fn verify_now(key: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    verify_standard_webhook(key, headers, body, chrono::Utc::now().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's published test vector.
    fn vector() -> (Vec<u8>, HeaderMap, &'static [u8]) {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "webhook-id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap(),
        );
        h.insert("webhook-timestamp", "1614265330".parse().unwrap());
        h.insert(
            "webhook-signature",
            "v1,bm9ldHUjKzFob2VudXRob2VodWUzMjRvdWVvdW9ldQo= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
                .parse()
                .unwrap(),
        );
        (key, h, br#"{"test": 2432232314}"#)
    }

    #[test]
    fn accepts_the_specification_vector_and_nothing_else() {
        let (key, h, body) = vector();
        assert!(verify_standard_webhook(&key, &h, body, 1614265330));
        assert!(!verify_standard_webhook(
            &key,
            &h,
            b"{\"test\": 2432232315}",
            1614265330
        ));
        assert!(!verify_standard_webhook(b"other", &h, body, 1614265330));
        // Stale and future timestamps are refused.
        assert!(!verify_standard_webhook(&key, &h, body, 1614265330 + 301));
        assert!(!verify_standard_webhook(&key, &h, body, 1614265330 - 301));
        let mut missing = h.clone();
        missing.remove("webhook-signature");
        assert!(!verify_standard_webhook(&key, &missing, body, 1614265330));
    }
}
