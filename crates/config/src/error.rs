//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading flags and the config file, or validating them.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file `{}`: {source}", path.display())]
    Read {
        /// The file named by `--config`.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The TOML is malformed or a value has the wrong type; the message names the key and line.
    #[error("cannot parse config file{}: {message}", path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default())]
    Parse {
        /// The file, when the TOML came from one.
        path: Option<PathBuf>,
        /// The TOML parser's message (it carries the line, column and key).
        message: String,
    },
    /// Keys that no section accepts (all of them, as upstream reports them).
    #[error("config file contained unknown configuration options: {}", keys.join(", "))]
    UnknownKeys {
        /// Dotted paths such as `lightning.typo-2`.
        keys: Vec<String>,
    },
    /// One setting has a value we cannot accept.
    #[error("invalid config: `{key}` = {value:?}: {reason}")]
    InvalidValue {
        /// Dotted key, e.g. `tikv-importer.backend`.
        key: String,
        /// The offending value as written.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Settings that are fine alone but not together (or a required one is missing).
    #[error("invalid config: {0}")]
    Invalid(String),
    /// A command-line flag we do not know.
    #[error("flag provided but not defined: {0}")]
    UnknownFlag(String),
    /// A flag that needs a value got none.
    #[error("flag needs an argument: {0}")]
    MissingFlagValue(String),
    /// A flag got a value it cannot take.
    #[error("invalid value {value:?} for flag {flag}: {reason}")]
    InvalidFlag {
        /// The flag as typed, e.g. `-backend`.
        flag: String,
        /// The value given.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn value(key: &str, value: impl ToString, reason: impl Into<String>) -> Self {
        ConfigError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
