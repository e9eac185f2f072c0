//! The ITManagerJobs connector (it-manager-jobs.com, an IT job board with an
//! ATS partner API; its developer guide is seed `004_7d555ba706a0066d.txt`, the
//! contract this crate follows): a client for the v1 REST API (`client`), the
//! mapping of its jobs, candidates and webhook applications onto hirebridge's
//! canonical types (`map`), webhook bodies (`webhook`), the
//! [`Connector`](hirebridge_sdk::Connector) with its page-numbered full passes
//! (`connector`), its options (`options`), the plugin the daemon lists
//! (`plugin`), and, behind the `sim` feature, a simulator that behaves like
//! ITManagerJobs for tests, the demo and benchmarks.
//!
//! Documented by ITManagerJobs (seed `004_7d555ba706a0066d.txt`): the base URL,
//! Bearer or `X-Api-Key` auth, the scopes `JobPosting` and `CvSearch`, approval
//! pending as a 401 with no body, the job endpoints and their `{total, page,
//! pageSize, items}` list, soft-close by `DELETE`, the three webhook events and
//! their payload fields, `t=..,v1=..` HMAC-SHA256 signatures with a 300 s
//! tolerance, delivery ids, the retry schedule, the per-family rate limits, and
//! the `{code, message}` error envelope. Everything else (the JSON field names
//! of jobs and candidates beyond the create example, the webhook body envelope)
//! is an assumption stated once, in [`map`] and [`webhook`].

pub mod client;
pub mod connector;
pub mod map;
pub mod options;
pub mod plugin;
#[cfg(feature = "sim")]
pub mod sim;
pub mod webhook;

pub use connector::ItManagerJobsConnector;
pub use options::ItManagerJobsOptions;
pub use plugin::PLUGIN;
