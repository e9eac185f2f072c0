//! The daemon's TOML configuration: types (`types`), cron schedules (`cron`),
//! loading with environment interpolation (`interpolate`), validation that
//! reports every problem with its file, line, column and key (`checks`,
//! `locate`), and the summary `check` prints (`summary`).

mod checks;
mod cron;
mod interpolate;
mod locate;
mod summary;
mod types;

pub use cron::{cron_schedule, CronSchedule};
pub use hirebridge_sdk::Secret;
pub use interpolate::InterpolationError;
pub use types::*;

pub use checks::decode_sink_secret;

use locate::{line_col, path_at};
use std::fmt;
use std::path::{Path, PathBuf};
use toml_edit::ImDocument;

// ---------------------------------------------------------------------------
// Errors

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is with the file as a whole.
    pub line: usize,
    pub column: usize,
    /// The dotted key (`connectors[1].schedule`); empty when none applies.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a config file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Loading

impl Config {
    /// Reads, interpolates from the process environment, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            errors: vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read the config file: {e}"),
            }],
        })?;
        Config::from_str_with_env(&text, path, &|name| std::env::var(name).ok())
    }

    /// Parses and validates `text` as if read from `path`, looking variables up with `env`.
    pub fn from_str_with_env(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let file_error = |offset: usize, key: String, message: String| {
            let (line, column) = line_col(text, offset);
            ConfigError {
                file: path.to_path_buf(),
                line,
                column,
                key,
                message,
            }
        };

        let interpolated = match interpolate::interpolate(text, env) {
            Ok(i) => i,
            Err(errors) => {
                // Name the key each bad reference sits in, when the raw text parses.
                let raw_doc = ImDocument::parse(text.to_string()).ok();
                return Err(ConfigErrors {
                    errors: errors
                        .into_iter()
                        .map(|e| {
                            let key = raw_doc
                                .as_ref()
                                .map(|d| path_at(d, e.offset).to_string())
                                .unwrap_or_default();
                            file_error(e.offset, key, e.message)
                        })
                        .collect(),
                });
            }
        };

        let doc = match ImDocument::parse(interpolated.text.clone()) {
            Ok(doc) => doc,
            Err(e) => {
                let offset = interpolated.original_offset(e.span().map_or(0, |s| s.start));
                let message = e.message().trim().to_string();
                return Err(ConfigErrors {
                    errors: vec![file_error(
                        offset,
                        String::new(),
                        format!("not valid TOML: {message}"),
                    )],
                });
            }
        };

        let mut checker = checks::Checker {
            file: path,
            original: text,
            interpolated: &interpolated,
            doc: &doc,
            errors: Vec::new(),
        };
        let config = checks::build(&mut checker, path);
        if checker.errors.is_empty() {
            if let Some(config) = config {
                return Ok(config);
            }
        }
        let mut errors = checker.errors;
        let secrets = checks::secret_strings(&doc);
        for e in &mut errors {
            e.message = checks::redact(&e.message, &secrets);
        }
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors { errors })
    }
}
