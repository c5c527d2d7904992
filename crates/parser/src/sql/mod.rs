//! The SQL dump parser: rows of the `INSERT`/`REPLACE ... VALUES` statements that
//! mysqldump, mydumper and Dumpling write. The session, lock and transaction statements
//! those tools write around them are skipped; any other statement is an error, so a
//! misspelled or foreign file never parses to nothing.
//!
//! The parser is a small state machine whose state only changes at row and statement
//! boundaries, so a multi-megabyte statement streams: each call emits the rows it can
//! complete and consumes up to the end of the last one.

mod lex;
mod skip;
mod value;

#[cfg(test)]
mod tests;

use crate::scan::{bom_len, count_newlines, show, Halt, Resume, Src, Step};
use crate::{ChunkParser, ParseError, RowBatch, Skipped};
use lex::{
    insert_header, is_ident, is_skippable, skip_statement, skip_ws_comments, word_end,
    EOF_IN_INSERT, SKIPPABLE,
};

/// Where the parser stands between calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between statements.
    Top,
    /// After `VALUES`, before the first row.
    FirstRow,
    /// After a row: `,` and another row, or `;`, come next.
    AfterRow,
}

/// Why the statement loop stopped without an error.
enum Stop {
    /// All input handled (or ran out at a boundary).
    Input,
    /// The next statement has another column list than the rows already in `out`.
    Columns,
}

/// Decoder of SQL dump data files (`INSERT INTO t [(cols)] VALUES (...),(...);`).
///
/// Values become [`crate::FieldKind`]s: quoted strings are unescaped `Text`, numbers
/// keep their text (a leading `+` dropped), `TRUE`/`FALSE` are `1`/`0`, hex and bit
/// literals are decoded `Binary`, `NULL` is `Null`. Charset introducers are dropped.
#[derive(Debug, Clone)]
pub struct SqlParser {
    pos: u64,
    line: u64,
    state: State,
    columns: Option<Vec<String>>,
    backslash_escapes: bool,
    bom_checked: bool,
    resume: Resume,
    /// A row being skipped (see [`ChunkParser::skip_row`]).
    skipping: Option<skip::RowSkip>,
}

impl SqlParser {
    /// A parser for a chunk starting at a statement boundary at `start_offset` (the
    /// file start, or any offset between statements).
    pub fn new(start_offset: u64) -> Self {
        SqlParser {
            pos: start_offset,
            line: 1,
            state: State::Top,
            columns: None,
            backslash_escapes: true,
            bom_checked: start_offset != 0,
            resume: Resume::default(),
            skipping: None,
        }
    }

    /// A parser resuming inside an `INSERT` statement just after a row (a checkpointed
    /// position), whose statement had the column list `columns`.
    pub fn resume_after_row(offset: u64, columns: Option<Vec<String>>) -> Self {
        SqlParser {
            state: State::AfterRow,
            columns,
            ..SqlParser::new(offset)
        }
    }

    /// Treats backslash as an ordinary character in strings, as the server does with
    /// `sql_mode = NO_BACKSLASH_ESCAPES`.
    pub fn no_backslash_escapes(mut self) -> Self {
        self.backslash_escapes = false;
        self
    }

    /// The column list of the current `INSERT` statement (`None`: table order).
    pub fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    /// True when the parser stands between statements (not inside an `INSERT`).
    pub fn at_statement_boundary(&self) -> bool {
        self.state == State::Top
    }

    /// The statement loop; `p` is the consumed length, kept at row/statement ends.
    fn run(&mut self, src: &Src<'_>, p: &mut usize, out: &mut RowBatch) -> Step<Stop> {
        let buf = src.buf;
        loop {
            match self.state {
                State::Top => {
                    let i = skip_ws_comments(src, *p)?;
                    *p = i;
                    let Some(&c) = buf.get(i) else {
                        return Ok(Stop::Input);
                    };
                    if c == b';' {
                        *p = i + 1;
                    } else if is_ident(c) {
                        let j = word_end(src, i)?;
                        let w = &buf[i..j];
                        if w.eq_ignore_ascii_case(b"INSERT") || w.eq_ignore_ascii_case(b"REPLACE") {
                            let h = insert_header(src, j)?;
                            if !out.is_empty() && out.columns != h.columns {
                                return Ok(Stop::Columns);
                            }
                            out.columns.clone_from(&h.columns);
                            self.columns = h.columns;
                            self.state = State::FirstRow;
                            *p = h.end;
                        } else {
                            let end = skip_statement(src, j, self.backslash_escapes)?;
                            if !is_skippable(w, &buf[j..end]) {
                                let shown = String::from_utf8_lossy(&w[..w.len().min(32)]);
                                return Err(src.fail(
                                    i,
                                    format!(
                                        "'{shown}' is not an INSERT or REPLACE statement; a SQL data file holds only those, and {SKIPPABLE}, which are skipped"
                                    ),
                                ));
                            }
                            *p = end;
                        }
                    } else {
                        return Err(
                            src.fail(i, format!("expected a statement, found '{}'", show(c)))
                        );
                    }
                }
                State::FirstRow | State::AfterRow => {
                    let mut i = skip_ws_comments(src, *p)?;
                    let Some(&c) = buf.get(i) else {
                        if !src.eof {
                            return Ok(Stop::Input);
                        }
                        if self.state == State::FirstRow {
                            return Err(src.fail(i, EOF_IN_INSERT));
                        }
                        // A last statement without its `;`: accepted, as Lightning does.
                        *p = i;
                        self.state = State::Top;
                        return Ok(Stop::Input);
                    };
                    if self.state == State::AfterRow {
                        match c {
                            b';' => {
                                *p = i + 1;
                                self.state = State::Top;
                                continue;
                            }
                            b',' => i = skip_ws_comments(src, i + 1)?,
                            _ => {
                                return Err(src.fail(
                                    i,
                                    format!("expected ',' or ';' after a row, found '{}'", show(c)),
                                ));
                            }
                        }
                    }
                    if out.is_empty() && out.columns != self.columns {
                        out.columns.clone_from(&self.columns);
                    }
                    match buf.get(i) {
                        Some(b'(') => {}
                        Some(&c) => {
                            return Err(src.fail(
                                i,
                                format!("expected '(' to start a row, found '{}'", show(c)),
                            ))
                        }
                        None => return Err(src.end(i, EOF_IN_INSERT)),
                    }
                    let end = match value::parse_row(src, i + 1, self.backslash_escapes, out) {
                        Ok(end) => end,
                        Err(e) => {
                            out.discard_partial_row();
                            return Err(e);
                        }
                    };
                    out.finish_row(src.base + end as u64);
                    *p = end;
                    self.state = State::AfterRow;
                }
            }
        }
    }
}

impl ChunkParser for SqlParser {
    fn parse(&mut self, input: &[u8], eof: bool, out: &mut RowBatch) -> Result<usize, ParseError> {
        if self.resume.wait(input.len(), eof) {
            return Ok(0);
        }
        let mut p = 0;
        if !self.bom_checked {
            match bom_len(input, eof) {
                Some(n) => p = n,
                None => return Ok(0),
            }
            self.bom_checked = true;
        }
        let src = Src {
            buf: input,
            base: self.pos,
            line: self.line,
            eof,
        };
        let res = self.run(&src, &mut p, out);
        let err = match res {
            Ok(_) => {
                self.resume.reset();
                None
            }
            Err(Halt::NeedMore) => {
                self.resume.stalled(input.len(), p);
                None
            }
            Err(Halt::Fail(e)) => Some(e),
        };
        self.line += count_newlines(&input[..p]);
        self.pos += p as u64;
        match err {
            Some(e) => Err(e),
            None => Ok(p),
        }
    }

    fn pos(&self) -> u64 {
        self.pos
    }

    fn rescan(&mut self) {
        self.resume.reset();
    }

    fn skip_row(&mut self, input: &[u8], eof: bool) -> Result<Option<Skipped>, ParseError> {
        self.skip(input, eof)
    }
}
