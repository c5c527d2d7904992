//! Backends: how encoded rows reach the target cluster.
//!
//! The controller hands each parsed [`RowBatch`](lightning_parser::RowBatch) to a
//! backend's [`RowEncoder`] on a CPU thread, and each encoded unit it returns to the
//! backend's async [`RowWriter`] on the I/O runtime. This crate holds [`tidb`], the
//! logical backend's SQL side, which turns rows into batched `INSERT`/`REPLACE` (or
//! `LOAD DATA`, or MariaDB bulk-executed prepared `INSERT`) statements for any
//! MySQL-compatible server. The controller's backend
//! trait (the engine lifecycle every backend implements, `tidb` and `local` alike) is
//! `lightning`'s `backend` module, where both implementations live.

pub mod tidb;

mod error;

pub use error::{BackendError, RejectedRow};

use lightning_parser::RowBatch;
use std::future::Future;

/// Where a batch of rows came from, for error messages and row accounting.
#[derive(Clone, Debug)]
pub struct RowSource {
    /// The data file, as shown to the user (relative to the data source).
    pub file: String,
}

/// Turns parsed rows into the backend's unit of writing; runs on CPU threads.
pub trait RowEncoder: Send {
    /// The unit handed to the writer (a statement, a KV batch, ...).
    type Encoded: Send + 'static;

    /// Encodes every row of `batch`, appending finished units to `out`.
    fn encode(
        &mut self,
        batch: &RowBatch,
        out: &mut Vec<Self::Encoded>,
    ) -> Result<(), BackendError>;

    /// Returns the unit still being filled, if any (call at the end of a chunk).
    fn flush(&mut self) -> Option<Self::Encoded>;

    /// The character set the source's text is in, before any row is encoded: a dump's own
    /// `SET NAMES`, else `[mydumper] data-character-set` (`binary`: bytes as they are).
    fn set_source_charset(&mut self, _charset: &str) {}
}

/// Writes encoded units to the target; runs on the I/O runtime.
pub trait RowWriter: Send {
    /// The unit this writer accepts.
    type Encoded: Send + 'static;

    /// Writes one unit. Rows the target refused are returned, not raised, so the
    /// caller can count them against `max-error`; errors are everything else.
    fn write(
        &mut self,
        unit: Self::Encoded,
    ) -> impl Future<Output = Result<WriteReport, BackendError>> + Send;
}

/// What one write did.
#[derive(Debug, Default, Clone)]
pub struct WriteReport {
    /// Rows the target accepted.
    pub rows: u64,
    /// Source bytes those rows spanned.
    pub bytes: u64,
    /// Rows the target refused, each with its position and the server's reason.
    pub rejected: Vec<RejectedRow>,
}
