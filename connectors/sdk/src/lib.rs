//! hirebridge's connector contract: the canonical hiring types every provider maps
//! into, the [`Connector`] trait, the typed errors the engine acts on, and the
//! signature helpers every webhook verifier shares.
//!
//! A connector crate depends on this crate and nothing of the daemon: it turns
//! provider bytes into canonical records and back, and never touches the database,
//! the scheduler or the sinks (DESIGN.md §2).

pub mod connector;
pub mod error;
pub mod http;
pub mod model;
pub mod signature;

pub use connector::{
    Connector, Cursor, Delivery, Inbound, Page, RemoteRef, StreamId, StreamSpec, SyncMode,
};
pub use error::{ConnectorError, WebhookError};
pub use http::{HttpClient, HttpConfig, RateLimit};
pub use model::*;
