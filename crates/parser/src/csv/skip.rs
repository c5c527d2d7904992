//! Skipping one CSV record without holding it: the record ends at a terminator outside
//! a quoted field, so the state is where in a field the scan stands.

use super::record::Syntax;
use super::CsvParser;
use crate::scan::count_newlines;
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

/// Does `pat` start at `buf[i]`? `None`: the input ends inside a possible match.
fn starts(buf: &[u8], i: usize, pat: &[u8], eof: bool) -> Option<bool> {
    let rest = &buf[i.min(buf.len())..];
    if rest.starts_with(pat) {
        Some(true)
    } else if rest.len() < pat.len() && !eof && pat.starts_with(rest) {
        None
    } else {
        Some(false)
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
    /// Length of a terminator at `buf[i]` (0: none); `None` when it cannot tell yet.
    fn terminator_at(&self, buf: &[u8], i: usize, eof: bool) -> Option<usize> {
        let t = &self.opts.terminator;
        if t.is_empty() {
            return Some(usize::from(matches!(buf.get(i), Some(b'\r' | b'\n'))));
        }
        starts(buf, i, t, eof).map(|m| if m { t.len() } else { 0 })
    }

    /// Scans `buf` (starting at absolute offset `base`) from state `sk`, as
    /// [`Syntax::record`] would find the record's end.
    fn skip_scan(&self, buf: &[u8], base: u64, eof: bool, sk: &mut RecordSkip) -> Found {
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
                At::FieldStart => match (d.is_empty(), starts(buf, i, d, eof)) {
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
                    match self.terminator_at(buf, i, eof) {
                        None => return more(i),
                        Some(n) if n > 0 => return Found::End(i + n),
                        Some(_) => {}
                    }
                    match starts(buf, i, sep, eof) {
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
                    match starts(buf, q, d, eof) {
                        None => return more(q),
                        Some(false) => i = q + 1,
                        Some(true) => match starts(buf, q + d.len(), d, eof) {
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
