//! Scanning one CSV record: fields, quoting, escapes and the NULL rules.

use super::CsvOptions;
use crate::scan::{Halt, Src, Step};
use crate::{FieldKind, RowBatch};

/// The options compiled for scanning: byte tables of where a field may stop.
#[derive(Clone, Debug)]
pub(crate) struct Syntax {
    pub(super) opts: CsvOptions,
    /// Bytes that may end or interrupt an unquoted field.
    pub(super) stop: [bool; 256],
    /// `\N` is the NULL marker and escapes are on: MySQL's `\N` handling applies.
    mysql_null: bool,
    /// The escape byte followed by `N` (`\N`).
    escaped_n: [u8; 2],
}

/// How the input at some index compares with a pattern.
pub(super) enum Match {
    Yes,
    No,
}

fn unterminated(src: &Src<'_>, at: usize) -> Halt {
    let msg = format!(
        "syntax error: unterminated quoted field starting at byte {}",
        src.base + at as u64
    );
    src.end(at, &msg)
}

impl Syntax {
    pub fn new(opts: CsvOptions) -> Self {
        let mut stop = [false; 256];
        let first = |v: &[u8]| v.first().copied();
        for b in [first(&opts.separator), first(&opts.delimiter)]
            .into_iter()
            .flatten()
        {
            stop[b as usize] = true;
        }
        match first(&opts.terminator) {
            Some(b) => stop[b as usize] = true,
            None => {
                stop[b'\r' as usize] = true;
                stop[b'\n' as usize] = true;
            }
        }
        let escaped_n = [opts.escape.unwrap_or(b'\\'), b'N'];
        if let Some(e) = opts.escape {
            stop[e as usize] = true;
        }
        let mysql_null = opts.escape.is_some()
            && !opts.not_null
            && opts.null.iter().any(|n| n == &escaped_n || n == b"\\N");
        Syntax {
            opts,
            stop,
            mysql_null,
            escaped_n,
        }
    }

    /// Does `pat` occur at `buf[i]`? Asks for more input when it cannot tell yet.
    #[inline]
    pub(super) fn at(&self, src: &Src<'_>, i: usize, pat: &[u8]) -> Step<Match> {
        let rest = &src.buf[i.min(src.buf.len())..];
        if rest.starts_with(pat) {
            Ok(Match::Yes)
        } else if rest.len() < pat.len() && !src.eof && pat.starts_with(rest) {
            Err(Halt::NeedMore)
        } else {
            Ok(Match::No)
        }
    }

    /// Length of the record terminator at `buf[i]`, or 0.
    #[inline]
    pub(super) fn terminator(&self, src: &Src<'_>, i: usize) -> Step<usize> {
        let t = &self.opts.terminator;
        if t.is_empty() {
            return Ok(match src.buf.get(i) {
                Some(b'\r' | b'\n') => 1,
                _ => 0,
            });
        }
        Ok(match self.at(src, i, t)? {
            Match::Yes => t.len(),
            Match::No => 0,
        })
    }

    #[inline]
    fn separator(&self, src: &Src<'_>, i: usize) -> Step<bool> {
        Ok(matches!(self.at(src, i, &self.opts.separator)?, Match::Yes))
    }

    #[inline]
    fn quote(&self, src: &Src<'_>, i: usize) -> Step<bool> {
        let d = &self.opts.delimiter;
        Ok(!d.is_empty() && matches!(self.at(src, i, d)?, Match::Yes))
    }

    /// Reads one record at `buf[i]`, appending its fields to `out` (unfinished). Returns
    /// the index past its terminator and whether it is a record (false: a blank line).
    pub fn record(&self, src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<(usize, bool)> {
        let buf = src.buf;
        let mut j = i;
        let mut fields = 0usize;
        let mut structured = false; // saw a separator or a quoted field
        let mut last_empty;
        let mut field_end;
        loop {
            let (end, raw_empty) = if self.quote(src, j)? {
                structured = true;
                self.quoted_field(src, j, out)?
            } else {
                self.unquoted_field(src, j, out)?
            };
            fields += 1;
            field_end = end;
            last_empty = raw_empty;
            j = end;
            if j == buf.len() {
                if !src.eof {
                    return Err(Halt::NeedMore);
                }
                break;
            }
            let t = self.terminator(src, j)?;
            if t > 0 {
                j += t;
                break;
            }
            if self.separator(src, j)? {
                structured = true;
                j += self.opts.separator.len();
                continue;
            }
            // After a closing delimiter only a separator or terminator may follow.
            return Err(src.fail(
                j,
                "syntax error: cannot have consecutive fields without separator",
            ));
        }
        if fields == 1 && !structured {
            // A blank (or whitespace-only) line is no record, as in Lightning.
            let raw = &buf[i..field_end];
            if raw.iter().all(|b| b.is_ascii_whitespace()) {
                out.discard_partial_row();
                return Ok((j, false));
            }
        }
        if self.opts.trim_last_separator && last_empty && fields > 0 {
            out.pop_field();
        }
        Ok((j, true))
    }

    /// An unquoted field at `buf[i]`; returns its end and whether it was empty.
    fn unquoted_field(&self, src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<(usize, bool)> {
        let buf = src.buf;
        let mut k = i;
        let mut escaped = false;
        loop {
            while k < buf.len() && !self.stop[buf[k] as usize] {
                k += 1;
            }
            let Some(&b) = buf.get(k) else { break };
            if self.terminator(src, k)? > 0 || self.separator(src, k)? {
                break;
            }
            if self.quote(src, k)? {
                return Err(src.fail(
                    k,
                    "syntax error: cannot have consecutive fields without separator",
                ));
            }
            if Some(b) == self.opts.escape {
                if k + 1 >= buf.len() {
                    let msg = match b {
                        b'\\' => "syntax error: no character after backslash".to_string(),
                        _ => format!("syntax error: no character after escape `{}`", b as char),
                    };
                    return Err(src.end(k, &msg));
                }
                escaped = true;
                k += 2;
            } else {
                k += 1;
            }
        }
        let raw = &buf[i..k];
        if escaped {
            let start = out.begin_field();
            unescape_into(raw, self.escaped_n[0], out.field_buf());
            self.end_field(raw, false, start, out);
        } else if self.is_null(raw, raw, false) {
            out.push_field(FieldKind::Null, b"");
        } else {
            out.push_field(FieldKind::Text, raw);
        }
        Ok((k, raw.is_empty()))
    }

    /// A quoted field whose delimiter is at `buf[i]`; returns the index past the
    /// closing delimiter and whether the content was empty.
    fn quoted_field(&self, src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<(usize, bool)> {
        let buf = src.buf;
        let d = &self.opts.delimiter;
        let content = i + d.len();
        let start = out.begin_field();
        let mut k = content;
        let content_end;
        loop {
            let rest = &buf[k..];
            let found = match self.opts.escape {
                Some(e) => memchr::memchr2(d[0], e, rest),
                None => memchr::memchr(d[0], rest),
            };
            let Some(n) = found else {
                return Err(unterminated(src, i));
            };
            let q = k + n;
            out.field_buf().extend_from_slice(&rest[..n]);
            if Some(buf[q]) == self.opts.escape {
                let Some(&e) = buf.get(q + 1) else {
                    return Err(unterminated(src, i));
                };
                out.field_buf().push(unescape_byte(e));
                k = q + 2;
            } else if matches!(self.at(src, q, d)?, Match::Yes) {
                if matches!(self.at(src, q + d.len(), d)?, Match::Yes) {
                    out.field_buf().extend_from_slice(d);
                    k = q + 2 * d.len();
                } else {
                    content_end = q;
                    k = q + d.len();
                    break;
                }
            } else {
                out.field_buf().push(buf[q]);
                k = q + 1;
            }
        }
        let raw = &buf[content..content_end];
        self.end_field(raw, true, start, out);
        Ok((k, raw.is_empty()))
    }

    /// Ends a field whose unescaped bytes were written from `start`, as NULL or text.
    fn end_field(&self, raw: &[u8], quoted: bool, start: usize, out: &mut RowBatch) {
        if self.is_null(raw, &out.field_buf()[start..], quoted) {
            out.field_buf().truncate(start);
            out.end_field(FieldKind::Null, start);
        } else {
            out.end_field(FieldKind::Text, start);
        }
    }

    /// Lightning's NULL rule for a field with content `raw` (as written, between any
    /// delimiters) and unescaped `value`.
    fn is_null(&self, raw: &[u8], value: &[u8], quoted: bool) -> bool {
        let o = &self.opts;
        if self.mysql_null && raw == self.escaped_n {
            return true; // `\N`, quoted or not.
        }
        if o.not_null || (quoted && o.quoted_null_is_text && !o.delimiter.is_empty()) {
            return false;
        }
        if self.mysql_null && value == self.escaped_n {
            return false; // `\\N` is the text `\N`.
        }
        o.null.iter().any(|n| n == value)
    }
}

/// MySQL's meaning of `<esc>b` in `FIELDS ESCAPED BY` data.
#[inline]
fn unescape_byte(e: u8) -> u8 {
    match e {
        b'0' => 0,
        b'b' => 8,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'Z' => 0x1a,
        other => other,
    }
}

/// Appends `raw` with its escapes (by `esc`) resolved.
fn unescape_into(raw: &[u8], esc: u8, dst: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(n) = memchr::memchr(esc, &raw[i..]) {
        dst.extend_from_slice(&raw[i..i + n]);
        match raw.get(i + n + 1) {
            Some(&e) => dst.push(unescape_byte(e)),
            None => dst.push(esc),
        }
        i += n + 2;
    }
    if i < raw.len() {
        dst.extend_from_slice(&raw[i..]);
    }
}
