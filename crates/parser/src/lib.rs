//! Sans-I/O decoders for SQL dumps and CSV: bytes in, rows out.
//!
//! The caller reads a chunk of a data file block by block and hands the bytes to a
//! [`ChunkParser`]; the parser appends every complete row it finds to a [`RowBatch`]
//! and says how many bytes it consumed. The caller keeps the unconsumed tail, appends
//! the next block and calls again; `eof = true` marks the chunk's last bytes. No parser
//! does I/O, so one parser serves sync and async callers and can be fuzzed directly.

mod csv;
mod row;
mod scan;
mod sql;

pub use csv::{CsvOptions, CsvParser};
pub use row::{Field, FieldKind, Row, RowBatch};
pub use sql::SqlParser;

/// A malformed input: where it is and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct ParseError {
    /// Absolute byte offset in the decompressed source file.
    pub offset: u64,
    /// 1-based line number, when the parser tracks lines.
    pub line: Option<u64>,
    /// What was found and what was expected.
    pub message: String,
}

/// A decoder of one chunk of a data file.
pub trait ChunkParser: Send {
    /// Parses the complete rows in `input` (the bytes from [`ChunkParser::pos`] on),
    /// appending them to `out`, and returns how many bytes it consumed. It may stop early
    /// (for example when `out` already holds a lot, or before a statement whose column
    /// list differs from `out.columns` while `out` is not empty). When `eof` is false it
    /// never consumes an incomplete row; when `eof` is true the input ends the chunk and
    /// an incomplete row is an error. A call that consumes nothing with `eof` false asks
    /// for more bytes.
    fn parse(&mut self, input: &[u8], eof: bool, out: &mut RowBatch) -> Result<usize, ParseError>;

    /// Absolute offset of the next byte to consume.
    fn pos(&self) -> u64;
}
