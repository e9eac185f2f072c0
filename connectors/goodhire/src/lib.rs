//! The GoodHire connector (goodhire.com, background checks; seed
//! `001_9bab87cc4353b0db.txt`, the contract): a client for its API
//! (`client`), the mapping of reports and Ongoing Alerts subscriptions onto
//! canonical background checks (`map`), webhook bodies (`webhook`), the
//! [`Connector`](hirebridge_sdk::Connector) (`connector`), its options
//! (`options`), the plugin the daemon lists (`plugin`) and, behind the `sim`
//! feature, a simulator that behaves like GoodHire's sandbox.
//!
//! GoodHire has no list endpoint: checks become known from webhooks and
//! `hirebridge import`, and each pass re-reads the known ones that are not final
//! (`SyncMode::RefreshKnown`). Candidate SSNs, dates of birth, driver's licence
//! numbers and (unless opted in) addresses are never stored: see
//! [`plugin::REDACT`] and [`options::GoodhireOptions::keep_address_fields`].

pub mod client;
pub mod connector;
pub mod map;
pub mod options;
pub mod plugin;
#[cfg(feature = "sim")]
pub mod sim;
pub mod webhook;

pub use connector::GoodhireConnector;
pub use options::GoodhireOptions;
pub use plugin::PLUGIN;
