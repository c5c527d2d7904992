//! Reading one chunk: blocks from the file, rows from the parser, units from the
//! backend's encoder, sent over a bounded channel to the writer (a blocking thread).

use crate::limits::{BlockingSemaphore, StopFlag};
use crate::LightningError;
use lightning_backend::RowEncoder;
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

/// Everything a reader thread needs.
pub(crate) struct ChunkRead<'a> {
    pub chunk: &'a Chunk,
    pub format: &'a Format,
    pub read_block_size: usize,
    pub io: &'a BlockingSemaphore,
    pub stop: &'a StopFlag,
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
    let io_err = |source| LightningError::Io { file: file.clone(), source };
    let mut input = open_at(chunk).map_err(|e| match e {
        OpenError::Source(e) => LightningError::Source(e),
        OpenError::Io(e) => io_err(e),
    })?;
    let mut parser: Box<dyn ChunkParser> = match (job.format, chunk.file.format) {
        (Format::Sql { no_backslash_escapes }, DataFormat::Sql) => {
            let p = SqlParser::new(chunk.offset);
            Box::new(if *no_backslash_escapes { p.no_backslash_escapes() } else { p })
        }
        (Format::Csv { opts, .. }, DataFormat::Csv) => {
            let p = CsvParser::new(opts.clone(), chunk.offset);
            Box::new(match &chunk.columns {
                Some(cols) => p.with_columns(cols.clone()),
                None => p,
            })
        }
        (_, other) => {
            return Err(LightningError::Unsupported(format!("{file}: {other:?} data files are not supported yet")))
        }
    };
    let drop_header = matches!(job.format, Format::Csv { use_header: false, .. });
    let block = job.read_block_size.max(4096);
    let limit = chunk.end.saturating_sub(chunk.offset);
    let mut buf: Vec<u8> = Vec::with_capacity(block * 2);
    let (mut start, mut read_total, mut eof, mut want) = (0usize, 0u64, false, block);
    let mut batch = RowBatch::new();
    let mut units = Vec::new();
    loop {
        if job.stop.is_stopped() {
            return Err(LightningError::Cancelled);
        }
        if !eof && buf.len() - start < want {
            buf.drain(..start);
            start = 0;
            let room = (want.max(block) as u64).min(limit - read_total) as usize;
            let old = buf.len();
            buf.resize(old + room, 0);
            let n = if room == 0 { 0 } else { job.io.with(|| read_some(&mut input, &mut buf[old..])).map_err(io_err)? };
            buf.truncate(old + n);
            read_total += n as u64;
            eof = n == 0 || read_total >= limit;
        }
        let had_rows = !batch.is_empty();
        let consumed = parser
            .parse(&buf[start..], eof, &mut batch)
            .map_err(|source| LightningError::Parse { file: file.clone(), source })?;
        start += consumed;
        if drop_header {
            batch.columns = None;
        }
        if !batch.is_empty() {
            encoder.encode(&batch, &mut units)?;
            batch.clear();
            for unit in units.drain(..) {
                tx.blocking_send(unit).map_err(|_| LightningError::Cancelled)?;
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
            // A row longer than what we hold: read more before parsing again.
            want = (buf.len() - start).max(block) * 2;
        } else {
            want = block;
        }
    }
    if let Some(unit) = encoder.flush() {
        tx.blocking_send(unit).map_err(|_| LightningError::Cancelled)?;
    }
    Ok(read_total)
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
        f.seek(SeekFrom::Start(chunk.offset)).map_err(OpenError::Io)?;
        return Ok(Box::new(f));
    }
    let mut r = lightning_source::open(&chunk.file).map_err(OpenError::Source)?;
    if chunk.offset > 0 {
        std::io::copy(&mut (&mut r).take(chunk.offset), &mut std::io::sink()).map_err(OpenError::Io)?;
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
