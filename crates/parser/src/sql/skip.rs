//! Skipping one `VALUES` row without holding it: the row ends at the first `)` outside
//! a string, so only the open string (its quote, a pending backslash) is state.

use super::lex::{skip_ws_comments, EOF_IN_INSERT};
use super::{SqlParser, State};
use crate::scan::{count_newlines, Halt, Src};
use crate::{ParseError, Skipped};

/// How far the skip of one row has come between calls.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RowSkip {
    /// Absolute offset of the row's `(`.
    start: u64,
    /// The open string's quote byte and absolute start.
    string: Option<(u8, u64)>,
    /// The last byte consumed was a backslash inside a string.
    escaped: bool,
}

impl SqlParser {
    /// [`crate::ChunkParser::skip_row`] for SQL dumps.
    pub(super) fn skip(&mut self, input: &[u8], eof: bool) -> Result<Option<Skipped>, ParseError> {
        let src = Src {
            buf: input,
            base: self.pos,
            line: self.line,
            eof,
        };
        let (mut sk, mut i) = match self.skipping {
            Some(sk) => (sk, 0),
            None => match self.row_open(&src)? {
                Some(open) => (
                    RowSkip {
                        start: self.pos + open as u64,
                        ..RowSkip::default()
                    },
                    open + 1,
                ),
                None => return Ok(None),
            },
        };
        let len = input.len();
        while i < len {
            if sk.escaped {
                sk.escaped = false;
                i += 1;
                continue;
            }
            let rest = &input[i..];
            match sk.string {
                Some((q, _)) => {
                    let found = if self.backslash_escapes {
                        memchr::memchr2(q, b'\\', rest)
                    } else {
                        memchr::memchr(q, rest)
                    };
                    let Some(k) = found else { break };
                    if rest[k] == b'\\' {
                        sk.escaped = true;
                    } else {
                        // A doubled quote closes and reopens: the same row end either way.
                        sk.string = None;
                    }
                    i += k + 1;
                }
                None => {
                    let Some(k) = memchr::memchr3(b'\'', b'"', b')', rest) else {
                        break;
                    };
                    let at = i + k;
                    i = at + 1;
                    if input[at] == b')' {
                        let row = (sk.start, self.pos + i as u64);
                        self.advance(input, i, None);
                        self.state = State::AfterRow;
                        return Ok(Some(Skipped {
                            consumed: i,
                            row: Some(row),
                        }));
                    }
                    sk.string = Some((input[at], self.pos + at as u64));
                }
            }
        }
        if eof {
            let what = match sk.string {
                Some((_, at)) => format!("unterminated string literal starting at byte {at}"),
                None => EOF_IN_INSERT.to_string(),
            };
            return Err(src.error(
                len,
                format!("{what}, in the row starting at byte {}", sk.start),
            ));
        }
        self.advance(input, len, Some(sk));
        Ok(Some(Skipped {
            consumed: len,
            row: None,
        }))
    }

    /// The index of the `(` opening the next row, past the `,` after the previous one;
    /// `None` when the parser is not inside an `INSERT`'s rows or cannot tell.
    fn row_open(&self, src: &Src<'_>) -> Result<Option<usize>, ParseError> {
        if self.state == State::Top {
            return Ok(None);
        }
        let ws = |at| match skip_ws_comments(src, at) {
            Ok(j) => Ok(Some(j)),
            Err(Halt::NeedMore) => Ok(None),
            Err(Halt::Fail(e)) => Err(e),
        };
        let Some(mut j) = ws(0)? else { return Ok(None) };
        if self.state == State::AfterRow {
            if src.buf.get(j) != Some(&b',') {
                return Ok(None);
            }
            let Some(k) = ws(j + 1)? else { return Ok(None) };
            j = k;
        }
        Ok((src.buf.get(j) == Some(&b'(')).then_some(j))
    }

    /// Moves the position past `n` consumed bytes of `input`.
    fn advance(&mut self, input: &[u8], n: usize, skipping: Option<RowSkip>) {
        self.line += count_newlines(&input[..n]);
        self.pos += n as u64;
        self.skipping = skipping;
        self.resume.reset();
    }
}
