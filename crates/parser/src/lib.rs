//! Sans-I/O decoders for SQL dumps and CSV: bytes in, rows out.
//!
//! The caller reads a chunk of a data file block by block and hands the bytes to a
//! [`ChunkParser`]; the parser appends every complete row it finds to a [`RowBatch`]
//! and says how many bytes it consumed. The caller keeps the unconsumed tail, appends
//! the next block and calls again; `eof = true` marks the chunk's last bytes. No parser
//! does I/O, so one parser serves sync and async callers and can be fuzzed directly.
//!
//! It sits between `source` (which finds files, cuts them into chunks and decompresses
//! them) and `encode` (which casts fields to the table's column types):
//!
//! - [`SqlParser`]: data files of mysqldump, mydumper and Dumpling (`INSERT ... VALUES`).
//! - [`CsvParser`]: CSV / TSV with the `[mydumper.csv]` options in [`CsvOptions`].
//! - [`split_statements`]: schema files, split into the statements to run on the target;
//!   [`analyze_ddl`] says what each does, so an import runs only what a file is for.
//! - [`escape_sql_string`]: the way back, a value as a SQL string literal.
//!
//! ```
//! use lightning_parser::{ChunkParser, FieldKind, RowBatch, SqlParser};
//!
//! let data = b"INSERT INTO `t` (`id`,`name`) VALUES (1,'a\\nb'),(2,NULL);";
//! let mut parser = SqlParser::new(0);
//! let mut batch = RowBatch::new();
//! let consumed = parser.parse(data, true, &mut batch).unwrap();
//! assert_eq!(consumed, data.len());
//! assert_eq!(batch.columns.as_deref(), Some(&["id".to_string(), "name".to_string()][..]));
//! assert_eq!(batch.row(0).field(1).bytes, b"a\nb"); // `\n` unescaped
//! assert_eq!(batch.row(1).field(1).kind, FieldKind::Null);
//! ```
//!
//! When `parse` consumes nothing and `eof` is false, the input holds no complete row:
//! the caller grows its block and calls again. Parsers remember how far an incomplete
//! huge row reached, so re-scanning stays linear in its size.

mod csv;
mod ddl;
mod escape;
mod row;
mod scan;
mod sql;
mod statements;

pub use csv::{CsvOptions, CsvParser};
pub use ddl::{analyze as analyze_ddl, rename as rename_ddl, DdlKind, DdlStatement, ObjectName};
pub use escape::{escape_sql_hex, escape_sql_string};
pub use row::{Field, FieldKind, Row, RowBatch};
pub use sql::SqlParser;
pub use statements::{split_statement_bytes, split_statements, split_statements_at};

/// What one [`ChunkParser::skip_row`] call did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Bytes of the input consumed; the caller drops them and passes the rest next time.
    pub consumed: usize,
    /// Absolute `(start, end)` offsets of the skipped row, once its end was reached.
    pub row: Option<(u64, u64)>,
}

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

    /// Forgets how far an incomplete row reached, so the next `parse` scans all of it
    /// again: for a caller that cannot give it more bytes than it holds now.
    fn rescan(&mut self);

    /// Discards the row at [`ChunkParser::pos`] as its bytes stream in, keeping none of
    /// them: for a row longer than the caller may hold. Call again with the unconsumed
    /// input plus more until [`Skipped::row`] is set; then `parse` goes on after the row.
    /// `None` when the parser does not stand before a row (a header, or a statement
    /// that is not one of rows). A row that never ends is an error at `eof`.
    fn skip_row(&mut self, input: &[u8], eof: bool) -> Result<Option<Skipped>, ParseError>;
}
