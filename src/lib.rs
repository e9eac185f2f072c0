//! hirebridge: a daemon that bridges Applicant Tracking Systems into one unified
//! hiring schema in PostgreSQL and re-emits signed canonical events.
//!
//! The rooms follow DESIGN.md §2: `config` (TOML, interpolation, validation),
//! `store` (PostgreSQL), `telemetry` (logs and metrics), `admin` (health, readiness,
//! metrics listener) and `app` (start-up and shutdown of the daemon).

pub mod admin;
pub mod app;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod emit;
pub mod engine;
pub mod ingress;
pub mod retention;
pub mod store;
pub mod telemetry;
