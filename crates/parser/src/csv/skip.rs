//! Skipping one CSV record without holding it: the record ends at a terminator outside
//! a quoted field, so the state is where in a field the scan stands.

use super::record::{Match, Syntax};
use super::CsvParser;
use crate::scan::{count_newlines, Src};
use crate::{ParseError, Skipped};

/// Where in the record the skip stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Where a field starts (a delimiter here opens a quoted field).
    FieldStart,
    /// Inside an unquoted field, or after a quoted field's closing delimiter.
    Unquoted,
    /// Inside a quoted field opened at this absolute offset.
    Quoted(u64),
}

/// How far the skip of one record has come between calls.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordSkip {
    /// Absolute offset of the record's first byte.
    start: u64,
    at: At,
    /// The last byte consumed was the escape byte.
    escaped: bool,
}

/// [`Syntax::at`] as a tri-state: `None` when the input ends inside a possible match.
fn starts(syn: &Syntax, src: &Src<'_>, i: usize, pat: &[u8]) -> Option<bool> {
    match syn.at(src, i, pat) {
        Ok(Match::Yes) => Some(true),
        Ok(Match::No) => Some(false),
        Err(_) => None,
    }
}

/// What one scan step found.
enum Found {
    /// The record ends just before this index.
    End(usize),
    /// The input ends, or cannot tell a pattern yet, at this index.
    More(usize),
}

impl Syntax {
    /// Scans `buf` (starting at absolute offset `base`) from state `sk`, as
    /// [`Syntax::record`] would find the record's end.
    fn skip_scan(&self, buf: &[u8], base: u64, eof: bool, sk: &mut RecordSkip) -> Found {
        let src = Src {
            buf,
            base,
            line: 0,
            eof,
        };
        let starts = |i: usize, pat: &[u8]| starts(self, &src, i, pat);
        let mut i = 0;
        let (d, sep, esc) = (&self.opts.delimiter, &self.opts.separator, self.opts.escape);
        let more = Found::More;
        while i < buf.len() {
            if sk.escaped {
                sk.escaped = false;
                i += 1;
                continue;
            }
            match sk.at {
                At::FieldStart => match (d.is_empty(), starts(i, d)) {
                    (true, _) | (false, Some(false)) => sk.at = At::Unquoted,
                    (false, Some(true)) => {
                        sk.at = At::Quoted(base + i as u64);
                        i += d.len();
                    }
                    (false, None) => return more(i),
                },
                At::Unquoted => {
                    while i < buf.len() && !self.stop[buf[i] as usize] {
                        i += 1;
                    }
                    if i == buf.len() {
                        break;
                    }
                    match self.terminator(&src, i) {
                        Err(_) => return more(i),
                        Ok(n) if n > 0 => return Found::End(i + n),
                        Ok(_) => {}
                    }
                    match starts(i, sep) {
                        None => return more(i),
                        Some(true) => {
                            sk.at = At::FieldStart;
                            i += sep.len();
                        }
                        Some(false) => {
                            sk.escaped = Some(buf[i]) == esc;
                            i += 1;
                        }
                    }
                }
                At::Quoted(_) => {
                    let rest = &buf[i..];
                    let found = match esc {
                        Some(e) => memchr::memchr2(d[0], e, rest),
                        None => memchr::memchr(d[0], rest),
                    };
                    let Some(k) = found else { break };
                    let q = i + k;
                    if Some(buf[q]) == esc {
                        sk.escaped = true;
                        i = q + 1;
                        continue;
                    }
                    match starts(q, d) {
                        None => return more(q),
                        Some(false) => i = q + 1,
                        Some(true) => match starts(q + d.len(), d) {
                            None => return more(q),
                            Some(true) => i = q + 2 * d.len(),
                            Some(false) => {
                                sk.at = At::Unquoted;
                                i = q + d.len();
                            }
                        },
                    }
                }
            }
        }
        more(buf.len())
    }
}

impl CsvParser {
    /// [`crate::ChunkParser::skip_row`] for CSV.
    pub(super) fn skip(&mut self, input: &[u8], eof: bool) -> Result<Option<Skipped>, ParseError> {
        if self.read_header || self.invalid.is_some() {
            return Ok(None);
        }
        let mut sk = self.skipping.unwrap_or(RecordSkip {
            start: self.pos,
            at: At::FieldStart,
            escaped: false,
        });
        let (n, done) = match self.syntax.skip_scan(input, self.pos, eof, &mut sk) {
            Found::End(n) => (n, true),
            Found::More(_) if eof => {
                if let At::Quoted(at) = sk.at {
                    return Err(ParseError {
                        offset: at,
                        line: None,
                        message: format!(
                            "syntax error: unterminated quoted field starting at byte {at}, \
                             in the record starting at byte {}",
                            sk.start
                        ),
                    });
                }
                (input.len(), true) // A last record without its terminator.
            }
            Found::More(n) => (n, false),
        };
        self.line += count_newlines(&input[..n]);
        self.pos += n as u64;
        self.resume.reset();
        self.skipping = (!done).then_some(sk);
        Ok(Some(Skipped {
            consumed: n,
            row: done.then_some((sk.start, self.pos)),
        }))
    }
}
