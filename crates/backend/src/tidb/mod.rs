//! The logical `tidb` backend: rows become multi-row `INSERT`/`REPLACE` statements.
//!
//! [`TidbTarget`] connects to the server and reads what the encoder needs about each
//! target table ([`TargetTable`]); [`SqlEncoder`] (CPU side) builds statements of at
//! most `logical-import-batch-size` bytes / `logical-import-batch-rows` rows, keeping
//! each row's span so a refused statement can be replayed row by row; [`SqlWriter`]
//! (I/O side) sends them over one connection each, retrying what the server says is
//! retryable and isolating the rows it refuses. Where the target allows, rows go instead as
//! fast batches (`load`: `LOAD DATA LOCAL`, or MariaDB's bulk execution), kept only when
//! they store what the `INSERT` would.

mod encoder;
mod literal;
mod load;
mod schema;
mod target;
mod writer;

pub use encoder::{SqlBatch, SqlEncoder, SqlEncoderOptions};
pub use literal::{write_literal, write_text_literal};
pub use load::{FastPath, LoadPlan};
pub use schema::{ColumnInfo, ColumnKind, TargetTable};
pub use target::{ConnectOptions, TidbTarget};
pub use writer::SqlWriter;

/// How a row that collides with an existing key is handled (`[conflict] strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnDuplicate {
    /// `INSERT INTO`: a duplicate is an error (strategies "" and "error").
    #[default]
    Error,
    /// `REPLACE INTO`: the later row wins.
    Replace,
    /// `INSERT IGNORE INTO`: the earlier row wins.
    Ignore,
}

impl OnDuplicate {
    /// The statement head for this strategy.
    pub fn verb(self) -> &'static str {
        match self {
            OnDuplicate::Error => "INSERT INTO ",
            OnDuplicate::Replace => "REPLACE INTO ",
            OnDuplicate::Ignore => "INSERT IGNORE INTO ",
        }
    }
}

/// Quotes an identifier with backticks, doubling any backtick inside.
pub fn quote_ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('`');
    for c in name.chars() {
        if c == '`' {
            s.push('`');
        }
        s.push(c);
    }
    s.push('`');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_backtick_quoted_with_doubling() {
        assert_eq!(quote_ident("t"), "`t`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }
}
