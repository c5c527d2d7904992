//! The one error type of this crate: every variant names the file (or rule) and the reason.

use std::path::PathBuf;

/// Failures while scanning, routing, reading or chunking the data source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// An I/O failure on a file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// A `[[mydumper.files]]` rule, a `[[routes]]` rule or a filter rule is malformed.
    #[error("invalid rule {rule:?}: {reason}")]
    Rule {
        /// The rule as configured.
        rule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file matched a rule but what the rule produced for it is unusable.
    #[error("apply file routing on file '{path}' failed: {reason}")]
    Route {
        /// Path relative to the data source.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The dump's layout is inconsistent (duplicate or missing schema files, ...).
    #[error("{path}: {reason}")]
    Layout {
        /// The offending file (relative path) or table name.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file's content cannot be decoded (compression, character set, CSV header).
    #[error("{}: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The configuration asks for something this crate does not support yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl SourceError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether retrying the same operation may succeed (transient I/O only).
    pub fn is_retryable(&self) -> bool {
        matches!(self, SourceError::Io { source, .. } if matches!(
            source.kind(),
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ))
    }
}
