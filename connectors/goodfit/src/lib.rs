//! The Goodfit connector (goodfit.so, a hiring platform; seed
//! `000_56de87d4110788fc.txt`): a client for its REST API (`client`), the
//! mapping of its objects onto hirebridge's canonical types (`map`), webhook
//! bodies (`webhook`), the [`Connector`](hirebridge_sdk::Connector) with its
//! streams and cursors (`connector`), its options (`options`), the plugin the
//! daemon lists (`plugin`), and, behind the `sim` feature, a simulator that
//! behaves like Goodfit for tests, the demo and benchmarks.
//!
//! Documented by Goodfit: the base URL and `x-api-key`, the endpoints, the eight
//! webhook events, HMAC-SHA256 signatures with a timestamp in
//! `X-Goodfit-Signature`, retries for up to 24 hours, 600 requests per minute
//! with `X-RateLimit-*` headers, and "a structured error code and message".
//! Everything else is an assumption stated once, where it is made, and
//! overridable where a user might need it: paging ([`options::Paging`]), the
//! error envelope ([`client::classify`]), the signature layout
//! ([`plugin::signature_scheme`]), the webhook envelope ([`webhook`]) and the
//! object shapes ([`map`]).

pub mod client;
pub mod connector;
pub mod map;
pub mod options;
pub mod plugin;
#[cfg(feature = "sim")]
pub mod sim;
pub mod webhook;

pub use connector::GoodfitConnector;
pub use options::GoodfitOptions;
pub use plugin::PLUGIN;
