//! Errors of the encode crate: malformed bytes, bad schemas and rejected rows.

/// Malformed encoded bytes (a key, a value or a datum).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Fewer bytes than the format needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Bytes that break the format.
    #[error("invalid encoded data: {0}")]
    Invalid(&'static str),
    /// An unknown datum flag byte.
    #[error("invalid encoded key: unknown datum flag 0x{0:02x}")]
    UnknownFlag(u8),
}

/// A table definition we cannot model or encode for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The CREATE TABLE text could not be parsed.
    #[error("cannot parse CREATE TABLE at byte {offset}: {message}")]
    Parse {
        /// Byte offset in the statement.
        offset: usize,
        /// What was expected.
        message: String,
    },
    /// A feature this encoder does not support yet (checked before any data is encoded).
    #[error("unsupported in table `{table}`: {message}")]
    Unsupported {
        /// Table name.
        table: String,
        /// What is unsupported.
        message: String,
    },
    /// TiDB's table-info JSON could not be read.
    #[error("cannot read TiDB table info JSON: {0}")]
    Json(String),
    /// The definition is inconsistent (unknown column in an index, duplicate name...).
    #[error("invalid table `{table}`: {message}")]
    Invalid {
        /// Table name.
        table: String,
        /// What is wrong.
        message: String,
    },
}

/// Why one row could not be encoded; counted against `max-error` by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// A value could not be cast to its column's type under the SQL mode.
    #[error("column `{column}`: {message}")]
    Cast {
        /// Column name.
        column: String,
        /// What went wrong (overflow, truncation, bad date...).
        message: String,
    },
    /// The row has a different number of values than the column list.
    #[error("row has {got} values, expected {expected}")]
    ColumnCount {
        /// Values expected.
        expected: usize,
        /// Values found.
        got: usize,
    },
    /// NULL into a NOT NULL column without a usable default.
    #[error("column `{0}` cannot be null")]
    NotNull(String),
    /// A column list names a column the table does not have.
    #[error("unknown column `{0}`")]
    UnknownColumn(String),
    /// Encoding failed (e.g. decimal overflow at encode time).
    #[error("encode: {0}")]
    Codec(#[from] CodecError),
}
