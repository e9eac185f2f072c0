//! The simulator kit (feature `sim`): what every provider simulator shares, so a
//! simulator holds only what its provider's documents say. An axum harness
//! piece per concern: the provider's auth check ([`authorized`]), rate-limit
//! windows with the provider's headers ([`RateWindow`]), fault injection
//! ([`Faults`]), deterministic fake people shared by every simulator
//! ([`people`]), and one webhook sender that signs by the provider's scheme
//! ([`WebhookSender`]).

mod faults;
pub mod people;
mod rate;
mod sender;
mod server;
mod subscription;

pub use faults::{Fault, Faults};
pub use rate::{totals as rate_totals, RateHeaders, RateWindow};
pub use sender::{Sent, WebhookSender};
pub use server::{add_headers, cut_short, json_response, SimServer};
pub use subscription::{Outgoing, Subscription, SubscriptionCounts};

use crate::http::Auth;
use base64::Engine as _;

/// Whether a request carries the key the way `auth` sends it. Basic auth accepts
/// any password: Ashby says to leave it blank, and real clients send `key:key`.
pub fn authorized(auth: &Auth, headers: &http::HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = get("authorization").unwrap_or("");
    match auth {
        Auth::None => true,
        Auth::BasicKeyAsUser(key) => authorization
            .strip_prefix("Basic ")
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|pair| pair.split(':').next() == Some(key.expose())),
        Auth::Header { name, key } => get(name) == Some(key.expose()),
        Auth::Bearer(key) => authorization.strip_prefix("Bearer ") == Some(key.expose()),
        Auth::Scheme { scheme, key } => {
            authorization
                .strip_prefix(scheme)
                .and_then(|rest| rest.strip_prefix(' '))
                == Some(key.expose())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn headers(name: &str, value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        h
    }

    #[test]
    fn every_auth_kind_is_checked_as_it_is_sent() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let basic = Auth::BasicKeyAsUser(Secret::new("k"));
        assert!(authorized(
            &basic,
            &headers("authorization", &format!("Basic {}", b64("k:")))
        ));
        assert!(authorized(
            &basic,
            &headers("authorization", &format!("Basic {}", b64("k:k")))
        ));
        assert!(!authorized(
            &basic,
            &headers("authorization", &format!("Basic {}", b64("x:k")))
        ));
        let header = Auth::Header {
            name: "x-api-key",
            key: Secret::new("k"),
        };
        assert!(authorized(&header, &headers("x-api-key", "k")));
        assert!(!authorized(&header, &headers("x-api-key", "j")));
        assert!(authorized(
            &Auth::Bearer(Secret::new("k")),
            &headers("authorization", "Bearer k")
        ));
        let scheme = Auth::Scheme {
            scheme: "ApiKey",
            key: Secret::new("k"),
        };
        assert!(authorized(&scheme, &headers("authorization", "ApiKey k")));
        assert!(!authorized(&scheme, &headers("authorization", "Bearer k")));
    }
}
