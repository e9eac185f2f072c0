//! hirebridge's connector contract: the canonical hiring types every provider maps
//! into, the [`Connector`] trait, the [`Plugin`] each provider crate exports, the
//! typed errors and the one place that decides what they mean ([`Action`]),
//! webhook signing as data, the shared HTTP client, the PII redaction hook and,
//! behind the `sim` feature, the simulator kit.
//!
//! A connector crate depends on this crate and nothing of the daemon: it turns
//! provider bytes into canonical records and back, and never touches the database,
//! the scheduler or the sinks (DESIGN.md §2).

pub mod connector;
pub mod error;
pub mod http;
pub mod model;
pub mod paginate;
pub mod plugin;
pub mod redact;
pub mod secret;
pub mod signature;
#[cfg(feature = "sim")]
pub mod sim;
pub mod simulate;

pub use connector::{
    entity_key_at, Connector, Cursor, Delivery, Inbound, Listed, Page, RemoteRef, StreamId,
    StreamSpec, SyncMode,
};
pub use error::{Action, ConnectorError, WebhookError};
pub use http::{Auth, HttpClient, HttpConfig, RateLimit};
pub use model::*;
pub use plugin::{Capabilities, Need, Options, Plugin, Problem, ProviderPlugin, Settings};
pub use secret::Secret;
pub use signature::SignatureScheme;
