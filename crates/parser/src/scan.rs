//! Plumbing shared by the parsers: the view of one `parse` call's input, how a scan
//! stops (need more bytes, or a syntax error), and the resume hint that keeps re-scans
//! of one huge incomplete row linear.

use crate::ParseError;

/// The UTF-8 byte order mark, skipped at the very start of a file (as Lightning does).
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a scan stopped before finishing what it was reading.
#[derive(Debug)]
pub(crate) enum Halt {
    /// The input ended in the middle of something and `eof` is false.
    NeedMore,
    /// A syntax error.
    Fail(ParseError),
}

/// Result of a scanning step.
pub(crate) type Step<T> = Result<T, Halt>;

/// The input of one `parse` call, with what is needed to report absolute positions.
pub(crate) struct Src<'a> {
    /// Bytes from the parser's position on.
    pub buf: &'a [u8],
    /// Absolute offset of `buf[0]`.
    pub base: u64,
    /// 1-based line number of `buf[0]`.
    pub line: u64,
    /// True when `buf` ends the chunk.
    pub eof: bool,
}

impl Src<'_> {
    /// A syntax error at `buf[at]`.
    pub fn fail(&self, at: usize, message: impl Into<String>) -> Halt {
        Halt::Fail(self.error(at, message))
    }

    /// The [`ParseError`] for `buf[at]`, with its line counted on demand.
    pub fn error(&self, at: usize, message: impl Into<String>) -> ParseError {
        let at = at.min(self.buf.len());
        ParseError {
            offset: self.base + at as u64,
            line: Some(self.line + count_newlines(&self.buf[..at])),
            message: message.into(),
        }
    }

    /// The input ran out at `at`: ask for more, or fail with `message` at end of file.
    pub fn end(&self, at: usize, message: &str) -> Halt {
        if self.eof {
            self.fail(at, message)
        } else {
            Halt::NeedMore
        }
    }
}

/// Number of `\n` bytes in `bytes`.
/// The index of the first name that repeats an earlier one (compared as MySQL compares
/// column names, ignoring ASCII case).
pub(crate) fn first_duplicate(names: &[String]) -> Option<usize> {
    (1..names.len()).find(|&i| names[..i].iter().any(|n| n.eq_ignore_ascii_case(&names[i])))
}

pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// A byte shown in an error message: printable ASCII as itself, anything else escaped.
pub(crate) fn show(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

/// Remembers how much input an incomplete row needed, so a multi-megabyte row is not
/// re-scanned from its start after every small growth of the caller's buffer.
///
/// After a scan stops inside a row that has `p` bytes so far, the next scan waits for
/// at least `2p` bytes (once `p` is large), so total re-scanning stays linear.
#[derive(Debug, Default, Clone)]
pub(crate) struct Resume {
    need: usize,
}

/// Partial rows shorter than this are simply re-scanned on every call.
const CHEAP_RESCAN: usize = 64 * 1024;

impl Resume {
    /// True when a call with `len` bytes cannot complete the row seen last time.
    pub fn wait(&self, len: usize, eof: bool) -> bool {
        !eof && len < self.need
    }

    /// Records that the scan of `len` bytes stopped in a row starting at `row_start`
    /// (which is also where the call's consumption ends).
    pub fn stalled(&mut self, len: usize, row_start: usize) {
        let partial = len.saturating_sub(row_start);
        self.need = if partial >= CHEAP_RESCAN {
            partial.saturating_mul(2)
        } else {
            0
        };
    }

    /// Forgets the hint after progress.
    pub fn reset(&mut self) {
        self.need = 0;
    }
}

/// Strips a leading UTF-8 BOM when the chunk starts the file. Returns how many bytes to
/// skip, or `None` when `input` is too short to tell.
pub(crate) fn bom_len(input: &[u8], eof: bool) -> Option<usize> {
    if input.starts_with(BOM) {
        Some(BOM.len())
    } else if !eof && input.len() < BOM.len() && BOM.starts_with(input) {
        None
    } else {
        Some(0)
    }
}
