//! Errors of an import, each naming what it concerns (file, offset, table).

use lightning_backend::{BackendError, RejectedRow};
use lightning_parser::ParseError;
use lightning_source::SourceError;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum LightningError {
    /// The data source could not be listed or read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A data file is malformed.
    #[error("{file}: {source}")]
    Parse {
        /// The data file.
        file: String,
        /// Where and what.
        source: ParseError,
    },
    /// A schema file holds a statement an import does not run.
    #[error("{file}: statement at byte {offset} (line {line}): {message}")]
    SchemaFile {
        /// The schema file.
        file: String,
        /// Byte offset of the statement (of the offending byte, when one is to blame).
        offset: u64,
        /// 1-based line of that offset.
        line: u64,
        /// What was refused and why.
        message: String,
    },
    /// The target refused a schema file's statement.
    #[error("{file}: statement at byte {offset}: {source}")]
    SchemaStatement {
        /// The schema file.
        file: String,
        /// Byte offset of the statement in the file.
        offset: u64,
        /// The server's answer.
        source: BackendError,
    },
    /// Reading a data file failed.
    #[error("{file}: read failed: {source}")]
    Io {
        /// The data file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The target refused a statement or could not be reached.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// More rows were refused than `max-error` allows.
    #[error("{count} rows were refused (by the target, by the encoder on the local backend, or for their length), more than max-error = {limit} allows; first: {first}")]
    TooManyErrors {
        /// Rows refused so far.
        count: u64,
        /// The configured limit.
        limit: u64,
        /// The first refused row.
        first: Box<RejectedRow>,
    },
    /// Prechecks failed: target tables that must be empty hold rows.
    #[error("target tables are not empty: {}; {hint}", tables.join(", "))]
    TablesNotEmpty {
        /// The `db`.`table` names.
        tables: Vec<String>,
        /// What the user can do, for the backend at hand.
        hint: &'static str,
    },
    /// Reading or writing checkpoints failed, or a checkpoint cannot be resumed.
    #[error(transparent)]
    Checkpoint(#[from] lightning_checkpoint::CheckpointError),
    /// The configuration asks for something this build cannot do yet.
    #[error("{0}")]
    Unsupported(String),
    /// The import was stopped (signal, or another table failed).
    #[error("import stopped before it finished")]
    Cancelled,
    /// The local backend failed: engines, the cluster, or a post-import step.
    #[error("{0}")]
    Local(String),
    /// A worker thread panicked or was lost.
    #[error("internal error: {0}")]
    Internal(String),
}
