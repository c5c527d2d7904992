//! Backend errors: structured context, and whether a retry may help.

/// A row the target refused, with where it came from and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// The data file.
    pub file: String,
    /// Byte offset just past the row in the (decompressed) file.
    pub end_offset: u64,
    /// The server's error code; 0 when the row was refused before any server saw it.
    pub code: u16,
    /// The server's message.
    pub message: String,
}

impl std::fmt::Display for RejectedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (row ending at byte {}): ",
            self.file, self.end_offset
        )?;
        // Code 0: refused before reaching a server (the local backend's encoder).
        if self.code != 0 {
            write!(f, "error {}: ", self.code)?;
        }
        f.write_str(&self.message)
    }
}

/// Errors of the backends.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A row cannot be encoded for the target (wrong field count, unknown column ...).
    #[error("{file}: row ending at byte {end_offset}: {message}")]
    Encode {
        /// The data file.
        file: String,
        /// Byte offset just past the row.
        end_offset: u64,
        /// What is wrong.
        message: String,
    },
    /// The server returned an error for a statement that was not about one row.
    #[error("{context}: server error {code} ({state}): {message}")]
    Server {
        /// What we were doing.
        context: String,
        /// MySQL error code.
        code: u16,
        /// SQLSTATE.
        state: String,
        /// The server's message.
        message: String,
    },
    /// The connection failed; whether the statement ran is unknown.
    #[error("{context}: connection error: {message}")]
    Connection {
        /// What we were doing.
        context: String,
        /// The driver's message.
        message: String,
    },
    /// Something about the target's schema prevents the import.
    #[error("{0}")]
    Schema(String),
}

impl BackendError {
    /// True when the same request may succeed if sent again (the server said it did
    /// nothing: deadlock, lock wait timeout, too many connections, read-only blips).
    pub fn is_retryable(&self) -> bool {
        matches!(self, BackendError::Server { code, .. } if is_retryable_code(*code))
    }

    pub(crate) fn from_mysql(context: impl Into<String>, e: mysql_async::Error) -> Self {
        match e {
            mysql_async::Error::Server(s) => BackendError::Server {
                context: context.into(),
                code: s.code,
                state: s.state,
                message: s.message,
            },
            other => BackendError::Connection {
                context: context.into(),
                message: other.to_string(),
            },
        }
    }
}

/// Server error codes after which the statement is known not to have been applied and
/// may be sent again: 1205 lock wait timeout, 1213 deadlock, 1040 too many connections,
/// 1317 query interrupted, 8002/9007/8022/8028 TiDB's write conflict and retryable txn
/// errors, 9001–9006 TiDB's PD/TiKV unavailable.
pub(crate) fn is_retryable_code(code: u16) -> bool {
    matches!(
        code,
        1205 | 1213 | 1040 | 1317 | 8002 | 8022 | 8028 | 9001..=9007
    )
}

/// Server error codes that concern the data of a row (so the statement can be retried
/// row by row to find the culprit): type, range, truncation, NULL, duplicate,
/// foreign key, check constraint and JSON errors.
pub(crate) fn is_row_error_code(code: u16) -> bool {
    matches!(
        code,
        1048 | 1062
            | 1136
            | 1263
            | 1264
            | 1265
            | 1292
            | 1366
            | 1367
            | 1406
            | 1411
            | 1416
            | 1451
            | 1452
            | 1586
            | 1690
            | 1859
            | 3140
            | 3819
            | 4025
            | 4078
            | 1918
            | 1105
    )
}
