//! The CSV parser, with the semantics of TiDB Lightning's `[mydumper.csv]` section:
//! multi-byte separators and delimiters, doubled delimiters, MySQL backslash escapes,
//! `\N` and configurable NULL markers, an optional header and empty lines skipped.

mod record;
mod skip;

#[cfg(test)]
mod tests;

use crate::scan::{bom_len, count_newlines, first_duplicate, Halt, Resume, Src};
use crate::{ChunkParser, ParseError, RowBatch, Skipped};
use record::Syntax;

/// The `[mydumper.csv]` settings that decide how CSV bytes become fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field separator, one or more bytes (`separator`, default `,`).
    pub separator: Vec<u8>,
    /// Quoting delimiter (`delimiter`, default `"`); empty disables quoting.
    pub delimiter: Vec<u8>,
    /// Record terminator (`terminator`); empty accepts `\r\n`, `\n` and `\r`.
    pub terminator: Vec<u8>,
    /// The file's first record holds column names (`header`, default true).
    pub header: bool,
    /// No field is ever NULL (`not-null`, default false).
    pub not_null: bool,
    /// Field values that mean NULL, compared after unescaping (`null`, default `\N`).
    pub null: Vec<Vec<u8>>,
    /// The byte that escapes the next one, as MySQL `FIELDS ESCAPED BY` (`escaped-by`, default
    /// `\`; `backslash-escape = false` turns it off): `<esc>n` is a newline, `<esc>N` is NULL.
    pub escape: Option<u8>,
    /// Drops one empty last field of each record, for lines ending with a separator
    /// (`trim-last-separator`, default false).
    pub trim_last_separator: bool,
    /// A quoted field is never NULL, except the escape `"\N"` (TiDB's
    /// `quoted-null-is-text`, default false: quoted values can match `null` too).
    pub quoted_null_is_text: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            separator: b",".to_vec(),
            delimiter: b"\"".to_vec(),
            terminator: Vec::new(),
            header: true,
            not_null: false,
            null: vec![b"\\N".to_vec()],
            escape: Some(b'\\'),
            trim_last_separator: false,
            quoted_null_is_text: false,
        }
    }
}

impl CsvOptions {
    /// The format `SELECT ... INTO OUTFILE` writes by default: tab-separated, no quoting,
    /// `\`-escaped, `\n`-terminated, `\N` for NULL, no header.
    pub fn mysql_tsv() -> Self {
        CsvOptions {
            separator: b"\t".to_vec(),
            delimiter: Vec::new(),
            terminator: b"\n".to_vec(),
            header: false,
            ..CsvOptions::default()
        }
    }

    /// Checks the options are usable together; the message names the offending setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.separator.is_empty() {
            return Err("`separator` must not be empty".into());
        }
        let d = &self.delimiter;
        if !d.is_empty() && (self.separator.starts_with(d) || d.starts_with(&self.separator)) {
            return Err("`separator` and `delimiter` must not be prefixes of each other".into());
        }
        if let Some(e) = self.escape {
            if self.separator.first() == Some(&e) || d.first() == Some(&e) {
                return Err(format!(
                    "`separator` and `delimiter` cannot start with the escape character `{}`",
                    e as char
                ));
            }
        }
        let t = &self.terminator;
        if !t.is_empty() && (self.separator.starts_with(t) || t.starts_with(&self.separator)) {
            return Err("`separator` and `terminator` must not be prefixes of each other".into());
        }
        Ok(())
    }
}

/// Decoder of CSV / TSV data files; every field is [`crate::FieldKind::Text`] or `Null`.
#[derive(Debug, Clone)]
pub struct CsvParser {
    syntax: Syntax,
    invalid: Option<String>,
    pos: u64,
    line: u64,
    read_header: bool,
    columns: Option<Vec<String>>,
    bom_checked: bool,
    resume: Resume,
    scratch: RowBatch,
    /// A record being skipped (see [`ChunkParser::skip_row`]).
    skipping: Option<skip::RecordSkip>,
}

impl CsvParser {
    /// A parser for a chunk starting at a record boundary at `start_offset`. With
    /// `header` set and `start_offset == 0`, the first record gives `out.columns`.
    /// Invalid options (see [`CsvOptions::validate`]) make every `parse` fail.
    pub fn new(opts: CsvOptions, start_offset: u64) -> Self {
        let invalid = opts.validate().err();
        CsvParser {
            read_header: opts.header && start_offset == 0,
            syntax: Syntax::new(opts),
            invalid,
            pos: start_offset,
            line: 1,
            columns: None,
            bom_checked: start_offset != 0,
            resume: Resume::default(),
            scratch: RowBatch::new(),
            skipping: None,
        }
    }

    /// Sets the column names (for example the header read by the chunk that starts the
    /// file). A header record at offset 0 is still skipped, its names ignored.
    pub fn with_columns(mut self, columns: Vec<String>) -> Self {
        self.columns = Some(columns);
        self
    }

    /// The column names: the header once read, or those given to `with_columns`.
    pub fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    /// Reads the header record at `buf[p]` into `self.columns` (unless columns were
    /// given), skipping blank lines before it; returns where reading stopped.
    fn header(&mut self, src: &Src<'_>, p: usize) -> Result<Option<usize>, Halt> {
        self.scratch.clear();
        let end = loop_records(&self.syntax, src, p, &mut self.scratch, true)?;
        if let Some(row) = self.scratch.rows().next() {
            self.read_header = false;
            if self.columns.is_none() {
                let names: Vec<String> = row
                    .fields()
                    .map(|f| String::from_utf8_lossy(f.bytes).trim().to_string())
                    .collect();
                if let Some(d) = first_duplicate(&names) {
                    return Err(src.fail(
                        p,
                        format!("column `{}` appears twice in the header", names[d]),
                    ));
                }
                self.columns = Some(names);
            }
        }
        self.scratch.clear();
        Ok(end)
    }
}

/// Parses records from `buf[p]` into `out` (at most one when `one` is set); returns the
/// end of the last complete record, or `None` when there was none to read.
fn loop_records(
    syn: &Syntax,
    src: &Src<'_>,
    mut p: usize,
    out: &mut RowBatch,
    one: bool,
) -> Result<Option<usize>, Halt> {
    let mut last = None;
    while p < src.buf.len() {
        match syn.record(src, p, out) {
            Ok((end, emitted)) => {
                if emitted {
                    out.finish_row(src.base + end as u64);
                }
                p = end;
                last = Some(p);
                if one && emitted {
                    break;
                }
            }
            Err(h) => {
                out.discard_partial_row();
                return match (h, last) {
                    (Halt::NeedMore, Some(_)) => Ok(last),
                    (h, _) => Err(h),
                };
            }
        }
    }
    Ok(last)
}

impl ChunkParser for CsvParser {
    fn parse(&mut self, input: &[u8], eof: bool, out: &mut RowBatch) -> Result<usize, ParseError> {
        if let Some(msg) = &self.invalid {
            let message = format!("invalid CSV options: {msg}");
            return Err(ParseError {
                offset: self.pos,
                line: None,
                message,
            });
        }
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
        let mut res = Ok(None);
        if self.read_header {
            res = self.header(&src, p);
            if let Ok(Some(end)) = res {
                p = end;
            }
        }
        if !self.read_header && res.is_ok() {
            if out.is_empty() && out.columns != self.columns {
                out.columns.clone_from(&self.columns);
            }
            res = loop_records(&self.syntax, &src, p, out, false);
        }
        let err = match res {
            Ok(end) => {
                p = end.unwrap_or(p);
                if p < input.len() {
                    self.resume.stalled(input.len(), p);
                } else {
                    self.resume.reset();
                }
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
