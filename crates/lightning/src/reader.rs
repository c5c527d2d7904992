//! Reading one chunk: blocks from the file, rows from the parser, units from the
//! backend's encoder, sent over a bounded channel to the writer (a blocking thread).

use crate::limits::{BlockingSemaphore, ErrorBudget, StopFlag};
use crate::LightningError;
use lightning_backend::{RejectedRow, RowEncoder};
use lightning_config::Config;
use lightning_parser::{ChunkParser, CsvOptions, CsvParser, RowBatch, SqlParser};
use lightning_source::{Chunk, Compression, DataFormat};
use std::io::{Read, Seek, SeekFrom};
use tokio::sync::mpsc::Sender;

/// How to parse a chunk's bytes.
#[derive(Clone, Debug)]
pub(crate) enum Format {
    /// A SQL dump (`INSERT` statements).
    Sql { no_backslash_escapes: bool },
    /// CSV with its options; `use_header` false drops header names (header-schema-match off).
    Csv { opts: CsvOptions, use_header: bool },
}

/// How each kind of data file of one import is parsed.
#[derive(Clone, Debug)]
pub(crate) struct Formats {
    sql: Format,
    csv: Format,
}

impl Formats {
    /// SQL dumps read as the target session's `sql_mode` says; CSV per `[mydumper.csv]`.
    pub(crate) fn new(cfg: &Config, no_backslash_escapes: bool) -> Result<Self, LightningError> {
        Ok(Formats {
            sql: Format::Sql {
                no_backslash_escapes,
            },
            csv: Format::Csv {
                opts: csv_options(cfg)?,
                use_header: cfg.mydumper.csv.header_schema_match,
            },
        })
    }

    /// The format of `chunk`'s file.
    pub(crate) fn of(&self, chunk: &Chunk) -> &Format {
        match chunk.file.format {
            DataFormat::Csv => &self.csv,
            _ => &self.sql,
        }
    }
}

/// Everything a reader thread needs.
pub(crate) struct ChunkRead<'a> {
    pub chunk: &'a Chunk,
    pub format: &'a Format,
    pub read_block_size: usize,
    /// `[mydumper] max-row-size`: the most bytes one row may span.
    pub max_row_size: usize,
    /// `max-error` (type): a row past `max_row_size` that ends is skipped and counted here.
    pub refused: &'a ErrorBudget,
    pub io: &'a BlockingSemaphore,
    pub stop: &'a StopFlag,
    /// `[mydumper] data-character-set`: the charset of text a file does not declare.
    pub data_charset: &'a str,
    /// Rows ending at or before this offset were imported by an earlier run: parse them
    /// (a resumed chunk is re-read from its start, a statement or record boundary) but do
    /// not encode them.
    pub skip_through: u64,
}

impl<'a> ChunkRead<'a> {
    /// The read of `chunk` an import with `cfg` does, skipping rows through `skip_through`
    /// and counting rows too long to read against `refused`.
    pub(crate) fn new(
        chunk: &'a Chunk,
        formats: &'a Formats,
        cfg: &'a Config,
        refused: &'a ErrorBudget,
        io: &'a BlockingSemaphore,
        stop: &'a StopFlag,
        skip_through: u64,
    ) -> Self {
        ChunkRead {
            chunk,
            format: formats.of(chunk),
            read_block_size: cfg.mydumper.read_block_size as usize,
            max_row_size: cfg.mydumper.max_row_size as usize,
            refused,
            io,
            stop,
            data_charset: &cfg.mydumper.data_character_set,
            skip_through,
        }
    }
}

/// Reads, parses and encodes the chunk, sending each unit to `tx`. Returns the number of
/// source bytes read.
pub(crate) fn read_chunk<E: RowEncoder>(
    job: ChunkRead<'_>,
    encoder: &mut E,
    tx: &Sender<E::Encoded>,
) -> Result<u64, LightningError> {
    let chunk = job.chunk;
    let file = &chunk.file.rel;
    let io_err = |source| LightningError::Io {
        file: file.clone(),
        source,
    };
    let mut input = open_at(chunk).map_err(|e| match e {
        OpenError::Source(e) => LightningError::Source(e),
        OpenError::Io(e) => io_err(e),
    })?;
    let mut parser: Box<dyn ChunkParser> = match (job.format, chunk.file.format) {
        (
            Format::Sql {
                no_backslash_escapes,
            },
            DataFormat::Sql,
        ) => {
            let p = SqlParser::new(chunk.offset);
            Box::new(if *no_backslash_escapes {
                p.no_backslash_escapes()
            } else {
                p
            })
        }
        (Format::Csv { opts, .. }, DataFormat::Csv) => {
            let p = CsvParser::new(opts.clone(), chunk.offset);
            Box::new(match &chunk.columns {
                Some(cols) => p.with_columns(cols.clone()),
                None => p,
            })
        }
        (_, other) => {
            return Err(LightningError::Unsupported(format!(
                "{file}: {other:?} data files are not supported yet"
            )))
        }
    };
    let drop_header = matches!(
        job.format,
        Format::Csv {
            use_header: false,
            ..
        }
    );
    let block = job.read_block_size.max(4096);
    // The buffer never holds more than one row of the cap plus a block: a row that does
    // not end within it is refused before more is read.
    let cap = job.max_row_size.max(block);
    let limit = chunk.end.saturating_sub(chunk.offset);
    let mut buf: Vec<u8> = Vec::with_capacity(block * 2);
    let (mut start, mut read_total, mut eof, mut want) = (0usize, 0u64, false, block);
    let mut batch = RowBatch::new();
    let mut units = Vec::new();
    let mut charset_known = false;
    // `rescanned`: the parser re-read the held row in full since the last progress;
    // `skipping`: a row past the cap is being dropped as it streams in.
    let (mut rescanned, mut skipping) = (false, false);
    let parse_err = |source| LightningError::Parse {
        file: file.clone(),
        source,
    };
    let m = crate::metrics::metrics();
    let pauser = crate::pause::pauser();
    loop {
        pauser.wait_blocking(job.stop);
        if job.stop.is_stopped() {
            return Err(LightningError::Cancelled);
        }
        let parse_started = std::time::Instant::now();
        if !eof && buf.len() - start < want {
            buf.drain(..start);
            start = 0;
            let room =
                (want.saturating_sub(buf.len()).max(block) as u64).min(limit - read_total) as usize;
            let old = buf.len();
            // Exactly what is read next: `resize` alone would double the capacity.
            buf.reserve_exact(room);
            buf.resize(old + room, 0);
            let n = if room == 0 {
                0
            } else {
                let at = chunk.offset + read_total;
                let _timer = m.chunk_parser_read_block_seconds.start_timer();
                job.io
                    .with(|| read_some(&mut input, &mut buf[old..]))
                    .map_err(|e| {
                        // A corrupt compressed stream: say how far it decompressed.
                        io_err(std::io::Error::new(
                            e.kind(),
                            format!("reading at decompressed byte {at}: {e}"),
                        ))
                    })?
            };
            buf.truncate(old + n);
            read_total += n as u64;
            eof = n == 0 || read_total >= limit;
        }
        if !charset_known {
            // Dumps say how their text is encoded (mydumper and Dumpling `SET NAMES binary`:
            // the columns' own bytes; mysqldump `utf8mb4`) before the first INSERT.
            let declared = match job.format {
                Format::Sql { .. } if chunk.offset == 0 => declared_charset(&buf),
                _ => None,
            };
            encoder.set_source_charset(declared.as_deref().unwrap_or(job.data_charset));
            charset_known = true;
        }
        if skipping {
            let s = parser.skip_row(&buf[start..], eof).map_err(parse_err)?;
            let s = s.ok_or_else(|| {
                LightningError::Internal(format!("{file}: lost the row being skipped"))
            })?;
            start += s.consumed;
            if let Some(span) = s.row {
                skipping = false;
                refuse_long_row(&job, span, cap)?;
            }
            want = block;
            continue;
        }
        let had_rows = !batch.is_empty();
        let consumed = parser
            .parse(&buf[start..], eof, &mut batch)
            .map_err(parse_err)?;
        start += consumed;
        if drop_header {
            batch.columns = None;
        }
        if job.skip_through > chunk.offset {
            batch.skip_rows_through(job.skip_through);
            if batch.is_empty() {
                batch.clear();
            }
        }
        if !batch.is_empty() {
            m.row_read_seconds
                .observe(parse_started.elapsed().as_secs_f64());
            m.row_read_bytes.observe(consumed as f64);
            let _timer = m.row_encode_seconds.start_timer();
            encoder.encode(&batch, &mut units)?;
            drop(_timer);
            batch.clear();
            for unit in units.drain(..) {
                tx.blocking_send(unit)
                    .map_err(|_| LightningError::Cancelled)?;
            }
        }
        if eof && start == buf.len() {
            break;
        }
        if consumed == 0 {
            if eof && !had_rows {
                return Err(LightningError::Internal(format!(
                    "{file}: parser made no progress at byte {}",
                    parser.pos()
                )));
            }
            // A row longer than what we hold: read more before parsing again, up to the cap.
            let pending = buf.len() - start;
            if !eof && pending >= cap {
                if !rescanned {
                    // The parser may not have looked at all of it (it waits for twice
                    // what it saw last); it gets no more, so it looks now.
                    parser.rescan();
                    rescanned = true;
                    continue;
                }
                // Past the cap: with room under `max-error`, drop the row as it streams
                // in and count it; without, or when it is no row, fail here.
                let skipped = if job.refused.has_room() {
                    parser.skip_row(&buf[start..], false).map_err(parse_err)?
                } else {
                    None
                };
                let Some(s) = skipped else {
                    return Err(parse_err(lightning_parser::ParseError {
                        offset: parser.pos(),
                        line: None,
                        message: format!(
                            "the row starting here runs past {pending} bytes without ending, \
                             more than mydumper.max-row-size = {cap} allows (an unterminated \
                             string or quoted field, or a row too long to import; while there is \
                             room left under lightning.max-error, a long row that ends is \
                             skipped instead)"
                        ),
                    }));
                };
                start += s.consumed;
                skipping = s.row.is_none();
                if let Some(span) = s.row {
                    refuse_long_row(&job, span, cap)?;
                }
                want = block;
                continue;
            }
            want = (pending.max(block) * 2).min(cap + block);
        } else {
            rescanned = false;
            want = block;
        }
    }
    if let Some(unit) = encoder.flush() {
        tx.blocking_send(unit)
            .map_err(|_| LightningError::Cancelled)?;
    }
    Ok(read_total)
}

/// Counts a row skipped for its length, spanning `span` of the file, against
/// `max-error`, unless an earlier run already passed it.
fn refuse_long_row(
    job: &ChunkRead<'_>,
    span: (u64, u64),
    cap: usize,
) -> Result<(), LightningError> {
    let (from, to) = span;
    if to <= job.skip_through {
        return Ok(());
    }
    job.refused.refuse(vec![RejectedRow {
        file: job.chunk.file.rel.clone(),
        end_offset: to,
        code: 0,
        message: format!(
            "the row of {} bytes starting at byte {from} is longer than \
             mydumper.max-row-size = {cap}; skipped",
            to - from
        ),
    }])
}

/// The charset of the last `SET NAMES x` (bare or in a `/*!40101 … */` comment) before the
/// first `INSERT`/`REPLACE` of a dump's first block.
fn declared_charset(head: &[u8]) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    let find = |needle: &[u8]| lower.windows(needle.len()).position(|w| w == needle);
    let end = [find(b"insert"), find(b"replace")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(lower.len());
    let lower = &lower[..end];
    let at = lower.windows(9).rposition(|w| w == b"set names")? + 9;
    let rest = &lower[at..];
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let rest = rest.strip_prefix(b"'").unwrap_or(rest);
    let name: Vec<u8> = rest
        .iter()
        .copied()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .collect();
    (!name.is_empty()).then(|| String::from_utf8_lossy(&name).into_owned())
}

enum OpenError {
    Source(lightning_source::SourceError),
    Io(std::io::Error),
}

/// The chunk's bytes from its start offset: a seek for plain files, a decompressing
/// stream (read from the file start) otherwise.
fn open_at(chunk: &Chunk) -> Result<Box<dyn Read + Send>, OpenError> {
    if chunk.file.compression == Compression::None && chunk.offset > 0 {
        let mut f = std::fs::File::open(&chunk.file.path).map_err(OpenError::Io)?;
        f.seek(SeekFrom::Start(chunk.offset))
            .map_err(OpenError::Io)?;
        return Ok(Box::new(f));
    }
    let mut r = lightning_source::open(&chunk.file).map_err(OpenError::Source)?;
    if chunk.offset > 0 {
        std::io::copy(&mut (&mut r).take(chunk.offset), &mut std::io::sink())
            .map_err(OpenError::Io)?;
    }
    Ok(r)
}

/// One `read`, retried on EINTR.
fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The CSV parser's options from `[mydumper.csv]`.
pub(crate) fn csv_options(cfg: &Config) -> Result<CsvOptions, LightningError> {
    let c = &cfg.mydumper.csv;
    // Validation left `escaped-by` empty or one character (and `backslash-escape` folded in).
    let escape = match c.escaped_by.as_bytes() {
        [] => None,
        [b] if b.is_ascii() => Some(*b),
        _ => {
            return Err(LightningError::Unsupported(format!(
                "[mydumper.csv] escaped-by = {:?}: only a single ASCII character is supported",
                c.escaped_by
            )))
        }
    };
    let opts = CsvOptions {
        separator: c.separator.as_bytes().to_vec(),
        delimiter: c.delimiter.as_bytes().to_vec(),
        terminator: c.terminator.as_bytes().to_vec(),
        header: c.header,
        not_null: c.not_null,
        null: c.null.iter().map(|n| n.as_bytes().to_vec()).collect(),
        escape,
        trim_last_separator: c.trim_last_separator,
        quoted_null_is_text: false,
    };
    opts.validate()
        .map_err(|e| LightningError::Unsupported(format!("[mydumper.csv]: {e}")))?;
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::{csv_options, declared_charset};
    use lightning_config::Config;

    #[test]
    fn dumps_declare_their_charset_before_the_first_insert() {
        let mydumper = b"/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\nINSERT INTO `t` VALUES (1)";
        assert_eq!(declared_charset(mydumper).as_deref(), Some("binary"));
        let mysqldump = b"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n/*!40101 SET NAMES utf8mb4 */;\nLOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES ('set names latin1')";
        assert_eq!(declared_charset(mysqldump).as_deref(), Some("utf8mb4"));
        assert_eq!(
            declared_charset(b"SET NAMES 'GBK';\nREPLACE INTO t VALUES (1)").as_deref(),
            Some("gbk")
        );
        assert_eq!(
            declared_charset(b"INSERT INTO t VALUES ('SET NAMES latin1')"),
            None
        );
        assert_eq!(declared_charset(b""), None);
    }

    fn escape_of(csv_section: &str) -> Result<Option<u8>, String> {
        let toml = format!("[tikv-importer]\nbackend = \"tidb\"\n[mydumper]\ndata-source-dir = \"/tmp\"\n[mydumper.csv]\n{csv_section}\n");
        let cfg = Config::from_toml_str(&toml).map_err(|e| e.to_string())?;
        csv_options(&cfg)
            .map(|o| o.escape)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn escaped_by_and_backslash_escape_pick_the_parser_escape() {
        assert_eq!(escape_of(""), Ok(Some(b'\\')));
        assert_eq!(escape_of("escaped-by = '!'"), Ok(Some(b'!')));
        assert_eq!(escape_of("backslash-escape = false"), Ok(None));
        assert!(escape_of("escaped-by = 'é'")
            .unwrap_err()
            .contains("escaped-by"));
    }
}
