//! Reading files: the decompressed byte stream of a data file, and schema files decoded to
//! UTF-8 according to `mydumper.character-set`.

use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::model::{Compression, SourceFile};
use crate::storage::open_file;
use crate::SourceError;

/// Opens a file as a stream of its decompressed bytes (never reads the whole file at once).
/// gzip may have several members, zstd several frames; snappy is the framing format.
pub fn open(file: &SourceFile) -> Result<Box<dyn Read + Send>, SourceError> {
    let f = BufReader::with_capacity(64 << 10, open_file(&file.path)?);
    Ok(match file.compression {
        Compression::None => Box::new(f),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(f)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(f)
                .map_err(|e| decode(file, format!("zstd: {e}")))?,
        ),
        Compression::Snappy => Box::new(snap::read::FrameDecoder::new(f)),
    })
}

fn decode(file: &SourceFile, reason: String) -> SourceError {
    SourceError::Decode {
        path: file.path.clone(),
        reason,
    }
}

/// Reads a schema file (decompressing it) and decodes it to UTF-8 by `character_set`:
/// `auto` (UTF-8, else GB18030), `utf8`/`utf8mb4`, `gb18030`, `gbk`, `latin1`, or `binary`
/// (bytes kept as they are; invalid UTF-8 is an error since SQL text must be UTF-8 here).
pub fn read_schema(file: &SourceFile, character_set: &str) -> Result<String, SourceError> {
    let mut bytes = Vec::new();
    open(file)?
        .read_to_end(&mut bytes)
        .map_err(|e| decode(file, format!("read failed: {e}")))?;
    decode_text(file, bytes, character_set)
}

fn decode_text(file: &SourceFile, bytes: Vec<u8>, cs: &str) -> Result<String, SourceError> {
    let legacy = |enc: &'static encoding_rs::Encoding| {
        let (text, _, bad) = enc.decode(&bytes);
        if bad {
            Err(decode(file, format!("invalid {} text", enc.name())))
        } else {
            Ok(text.into_owned())
        }
    };
    match cs.to_ascii_lowercase().as_str() {
        "auto" => match String::from_utf8(bytes.clone()) {
            Ok(s) => Ok(s),
            Err(_) => legacy(encoding_rs::GB18030).map_err(|_| {
                decode(
                    file,
                    "character-set = auto: neither UTF-8 nor GB18030".into(),
                )
            }),
        },
        // Bytes pass through: what is UTF-8 stays so, and each other byte becomes the
        // character of the same number (upstream sends such bytes unconverted, and TiDB then
        // reads a GB18030 column name as `Ö÷¼ü`, as lightning_character_sets expects).
        "binary" => Ok(binary_text(&bytes)),
        "utf8" | "utf8mb4" | "" => {
            String::from_utf8(bytes).map_err(|e| decode(file, format!("invalid UTF-8 text: {e}")))
        }
        "gb18030" => legacy(encoding_rs::GB18030),
        "gbk" => legacy(encoding_rs::GBK),
        // MySQL's latin1 is Windows-1252.
        "latin1" => legacy(encoding_rs::WINDOWS_1252),
        other => Err(SourceError::Unsupported(format!("character-set '{other}'"))),
    }
}

fn binary_text(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        s.push_str(chunk.valid());
        s.extend(chunk.invalid().iter().map(|&b| char::from(b)));
    }
    s
}

/// Estimates the decompressed size of a file from a sample of its start (its own size when
/// uncompressed). Used to bound row ids of compressed files.
pub fn estimate_real_size(file: &SourceFile) -> Result<u64, SourceError> {
    if file.compression == Compression::None {
        return Ok(file.size);
    }
    const SAMPLE: u64 = 512 << 10;
    let shared = Arc::new(AtomicU64::new(0));
    let tracked = Tracked {
        inner: open_file(&file.path)?,
        consumed: shared.clone(),
    };
    let boxed: Box<dyn Read + Send> = match file.compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(tracked)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(tracked)
                .map_err(|e| decode(file, format!("zstd: {e}")))?,
        ),
        Compression::Snappy => Box::new(snap::read::FrameDecoder::new(tracked)),
        Compression::None => Box::new(tracked),
    };
    let mut sample = boxed.take(SAMPLE);
    let (mut out, mut buf) = (0u64, vec![0u8; 64 << 10]);
    loop {
        match sample.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(decode(
                    file,
                    format!(
                        "decompression failed after {out} decompressed bytes (compressed bytes read: {}): {e}",
                        shared.load(Ordering::Relaxed)
                    ),
                ))
            }
        }
    }
    let consumed = shared.load(Ordering::Relaxed).max(1);
    if out < SAMPLE {
        // The whole file was decompressed.
        return Ok(out);
    }
    let ratio = out as f64 / consumed as f64;
    Ok((file.size as f64 * ratio) as u64)
}

/// [`estimate_real_size`] for totals (progress, free space): a file that cannot be
/// decompressed counts as its own size, with a warning; the error is left to the import of
/// its table, which fails and records it.
pub fn estimate_size_for_totals(file: &SourceFile) -> u64 {
    estimate_real_size(file).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot estimate a data file's size; counting its stored size");
        file.size
    })
}

/// Counts the compressed bytes a decoder pulls from the file.
struct Tracked<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::binary_text;

    #[test]
    fn binary_text_keeps_utf8_and_maps_other_bytes_to_their_code_points() {
        assert_eq!(binary_text("唯一键 ok".as_bytes()), "唯一键 ok");
        assert_eq!(binary_text(&[0xd6, 0xf7, 0xbc, 0xfc]), "Ö÷¼ü");
        assert_eq!(binary_text(&[b'a', 0xe5, 0x94, b'b']), "aå\u{94}b");
    }
}
