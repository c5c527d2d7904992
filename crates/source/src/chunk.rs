//! Chunks: the units parsed and encoded concurrently. One per file, except that with
//! `strict-format` an uncompressed CSV bigger than `max-region-size` (plus 10% slack, as
//! upstream) is cut at row boundaries. Every chunk gets a row-id range so rows get stable
//! `_tidb_rowid`s: ranges follow file order and never overlap.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use lightning_config::{Config, Csv};

use crate::model::{Compression, DataFormat, SourceFile, TableSource};
use crate::read::estimate_real_size;
use crate::storage::open_file;
use crate::SourceError;

/// Upstream's factor on the estimated decompressed size when bounding row ids.
const COMPRESS_SIZE_FACTOR: u64 = 5;

/// A byte range of one data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The file.
    pub file: Arc<SourceFile>,
    /// Position of this chunk in the table's chunk list.
    pub index: usize,
    /// First byte (of the decompressed stream).
    pub offset: u64,
    /// One past the last byte; `u64::MAX` for compressed and Parquet files (read to the end).
    pub end: u64,
    /// CSV header names for a chunk cut from the middle of a file with `header = true` and
    /// `header-schema-match = true`; `None` otherwise. A CSV chunk at offset 0 with
    /// `header = true` starts with the header line and parses it itself.
    pub columns: Option<Vec<String>>,
    /// Rows of this chunk get row ids `row_id_base + 1 ..= row_id_max`.
    pub row_id_base: u64,
    /// Upper bound of this chunk's row ids (an estimate from the byte size).
    pub row_id_max: u64,
}

/// [`make_chunks_for_columns`] when the column count is not known yet (assumes one column,
/// which over-reserves row ids but is always safe).
pub fn make_chunks(table: &TableSource, cfg: &Config) -> Result<Vec<Chunk>, SourceError> {
    make_chunks_for_columns(table, cfg, 1)
}

/// Cuts a table's data files into chunks. Row ids are reserved as upstream does: bytes divided
/// by the column count (plus 2 for SQL), rounded up; compressed files use 5x their estimated
/// decompressed size.
pub fn make_chunks_for_columns(
    table: &TableSource,
    cfg: &Config,
    column_count: usize,
) -> Result<Vec<Chunk>, SourceError> {
    let m = &cfg.mydumper;
    let max = m.max_region_size.max(1);
    let mut chunks = Vec::new();
    let mut row_base = 0u64;
    for file in &table.data_files {
        let file = Arc::new(file.clone());
        let divisor =
            column_count.max(1) as u64 + if file.format == DataFormat::Sql { 2 } else { 0 };
        let ranges = if splits(&file, m.strict_format, max) {
            split_csv(&file, &m.csv, max)?
        } else {
            vec![(0, u64::MAX, None)]
        };
        for (offset, end, columns) in ranges {
            let bytes = match (file.format, file.compression) {
                (DataFormat::Parquet, _) => file.size.saturating_mul(64),
                (_, Compression::None) => end.min(file.size) - offset,
                _ => estimate_real_size(&file)?.saturating_mul(COMPRESS_SIZE_FACTOR),
            };
            let rows = bytes.div_ceil(divisor);
            let end = if file.compression == Compression::None && file.format != DataFormat::Parquet
            {
                end.min(file.size)
            } else {
                u64::MAX
            };
            chunks.push(Chunk {
                file: file.clone(),
                index: chunks.len(),
                offset,
                end,
                columns,
                row_id_base: row_base,
                row_id_max: row_base + rows,
            });
            row_base += rows;
        }
    }
    Ok(chunks)
}

/// The source bytes of `table`'s largest chunk, as [`make_chunks_for_columns`] would cut
/// it (compressed files count their stored size): the least time the table takes, however
/// many writers it gets. The controller starts tables with the largest such chunk first,
/// so an uncuttable file does not start late and run alone at the end.
pub fn largest_chunk_size(table: &TableSource, cfg: &Config) -> u64 {
    let m = &cfg.mydumper;
    let max = m.max_region_size.max(1);
    table
        .data_files
        .iter()
        .map(|f| {
            if splits(f, m.strict_format, max) {
                max
            } else {
                f.size
            }
        })
        .max()
        .unwrap_or(0)
}

/// Whether a file is cut into chunks of about `max` bytes (else it is one chunk).
fn splits(file: &SourceFile, strict_format: bool, max: u64) -> bool {
    file.format == DataFormat::Csv
        && strict_format
        && file.compression == Compression::None
        && file.size > max + max / 10
}

type Range = (u64, u64, Option<Vec<String>>);

/// Cuts an uncompressed strict-format CSV into ranges of about `max` bytes, each ending just
/// after a line terminator.
fn split_csv(file: &SourceFile, csv: &Csv, max: u64) -> Result<Vec<Range>, SourceError> {
    let term: &[u8] = if csv.terminator.is_empty() {
        b"\n"
    } else {
        csv.terminator.as_bytes()
    };
    let mut f = open_file(&file.path)?;
    let (data_start, columns) = if csv.header {
        let end = find_after(&mut f, file, 0, term)?;
        let header = read_range(&mut f, file, 0, end)?;
        let names = parse_header(&header, csv, term);
        (end, csv.header_schema_match.then_some(names))
    } else {
        (0, None)
    };
    let mut out = Vec::new();
    let mut start = 0u64;
    let mut cut = data_start + max;
    while cut < file.size {
        let boundary = find_after(&mut f, file, cut, term)?;
        if boundary >= file.size {
            break;
        }
        out.push((
            start,
            boundary,
            if start == 0 { None } else { columns.clone() },
        ));
        start = boundary;
        cut = start + max;
    }
    out.push((start, file.size, if start == 0 { None } else { columns }));
    Ok(out)
}

/// Position just after the first `term` at or after `pos` (the file size if none).
fn find_after(
    f: &mut std::fs::File,
    file: &SourceFile,
    pos: u64,
    term: &[u8],
) -> Result<u64, SourceError> {
    let io = |e| SourceError::io(&file.path, e);
    f.seek(SeekFrom::Start(pos)).map_err(io)?;
    let mut buf = vec![0u8; 64 << 10];
    let mut carry: Vec<u8> = Vec::new();
    let mut base = pos;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(file.size);
        }
        let start = base - carry.len() as u64;
        carry.extend_from_slice(&buf[..n]);
        if let Some(i) = carry.windows(term.len()).position(|w| w == term) {
            return Ok(start + (i + term.len()) as u64);
        }
        base += n as u64;
        let keep = term.len().saturating_sub(1).min(carry.len());
        carry.drain(..carry.len() - keep);
    }
}

fn read_range(
    f: &mut std::fs::File,
    file: &SourceFile,
    from: u64,
    to: u64,
) -> Result<Vec<u8>, SourceError> {
    let io = |e| SourceError::io(&file.path, e);
    f.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut out = vec![0u8; (to - from) as usize];
    f.read_exact(&mut out).map_err(io)?;
    Ok(out)
}

/// Splits a header line into names: separator, optional quoting (doubled quote or escape
/// character inside quotes), a trailing terminator / `\r` dropped.
fn parse_header(line: &[u8], csv: &Csv, term: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(line.strip_suffix(term).unwrap_or(line));
    let text = text.strip_suffix('\r').unwrap_or(&text);
    let (sep, quote, esc) = (
        csv.separator.as_str(),
        csv.delimiter.as_str(),
        csv.escaped_by.as_str(),
    );
    let mut names = Vec::new();
    let mut cur = String::new();
    let mut rest = text;
    let mut quoted = false;
    while !rest.is_empty() {
        if !esc.is_empty() && rest.starts_with(esc) && rest.len() > esc.len() {
            let next = &rest[esc.len()..];
            let ch = next.chars().next().unwrap_or_default();
            cur.push(ch);
            rest = &next[ch.len_utf8()..];
        } else if !quote.is_empty() && rest.starts_with(quote) {
            if quoted && rest[quote.len()..].starts_with(quote) {
                cur.push_str(quote);
                rest = &rest[2 * quote.len()..];
            } else {
                quoted = !quoted;
                rest = &rest[quote.len()..];
            }
        } else if !quoted && rest.starts_with(sep) {
            names.push(std::mem::take(&mut cur));
            rest = &rest[sep.len()..];
        } else {
            let ch = rest.chars().next().unwrap_or_default();
            cur.push(ch);
            rest = &rest[ch.len_utf8()..];
        }
    }
    names.push(cur);
    names
}
