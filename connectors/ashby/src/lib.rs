//! The Ashby connector: a client for Ashby's POST-RPC API (`api`, `client`), the
//! mapping of its objects onto hirebridge's canonical types (`map`), the
//! [`Connector`](hirebridge_sdk::Connector) implementation with its streams and
//! incremental cursors (`connector`), and, behind the `sim` feature, a simulator
//! that behaves like Ashby for tests, the demo and benchmarks.

pub mod api;
pub mod client;
pub mod connector;
pub mod map;
pub mod plugin;
#[cfg(feature = "sim")]
pub mod sim;

pub use connector::{AshbyConfig, AshbyConnector};
pub use plugin::PLUGIN;
