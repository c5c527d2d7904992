//! Writing a sorted run file, and reading one back sequentially (see [`crate::format`]).

use crate::error::{Ctx, Result};
use crate::format::{
    get_entry, put_entry, BlockHandle, EntryPos, Footer, BLOCK_HEADER_LEN, FOOTER_LEN, HEADER_MAGIC,
};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// What the manifest records of one finished file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunMeta {
    /// File id; the name is `{id:08}.run` or `{id:08}.dup`.
    pub id: u64,
    /// File length in bytes.
    pub size: u64,
    /// Pairs held.
    pub kvs: u64,
    /// Key + value bytes held.
    pub kv_bytes: u64,
}

/// Streams entries (in key order) into a new run file.
pub(crate) struct RunWriter {
    ctx: Ctx,
    file: File,
    offset: u64,
    block: Vec<u8>,
    block_size: usize,
    block_kvs: u32,
    block_bytes: u64,
    last_key: (usize, usize),
    index: Vec<u8>,
    blocks: u32,
    kvs: u64,
    kv_bytes: u64,
    /// With `Some`, writeback is started every this many bytes (see [`Self::write_behind`]).
    write_behind: Option<u64>,
    written_back: u64,
}

/// Bytes between writeback starts of a file that will be fsynced.
const WRITE_BEHIND_BYTES: u64 = 1 << 20;

/// Asks the kernel to start writing `len` bytes at `offset` to disk, without waiting.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::unix::io::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a file descriptor we own; it only schedules writeback.
    // Failures are harmless: the final fsync writes whatever is left and reports errors.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

impl RunWriter {
    /// Creates (truncating) the file at `ctx.path`; blocks hold about `block_size` bytes.
    pub fn create(ctx: Ctx, block_size: usize) -> Result<RunWriter> {
        let mut file = File::create(&ctx.path).map_err(ctx.io("create"))?;
        file.write_all(HEADER_MAGIC).map_err(ctx.io("write"))?;
        let mut block = Vec::with_capacity(block_size + block_size / 4);
        block.resize(BLOCK_HEADER_LEN, 0);
        Ok(RunWriter {
            ctx,
            file,
            offset: HEADER_MAGIC.len() as u64,
            block,
            block_size,
            block_kvs: 0,
            block_bytes: 0,
            last_key: (0, 0),
            index: Vec::new(),
            blocks: 0,
            kvs: 0,
            kv_bytes: 0,
            write_behind: None,
            written_back: 0,
        })
    }

    /// For a file that will be fsynced: writes back as it goes, so the final fsync
    /// waits for little (the disk works while the merge computes).
    pub fn write_behind(mut self) -> RunWriter {
        self.write_behind = Some(WRITE_BEHIND_BYTES);
        self
    }

    /// Appends one pair; keys must come in non-decreasing order.
    #[inline]
    pub fn add(&mut self, key: &[u8], value: &[u8], seq: u64) -> Result<()> {
        debug_assert!(
            self.block_kvs == 0 || &self.block[self.last_key.0..self.last_key.1] <= key,
            "run keys out of order"
        );
        let before = self.block.len();
        put_entry(&mut self.block, key, value, seq);
        let key_start = self.block.len() - key.len() - value.len();
        self.last_key = (key_start, key_start + key.len());
        debug_assert!(key_start > before);
        self.block_kvs += 1;
        self.block_bytes += (key.len() + value.len()) as u64;
        if self.block.len() - BLOCK_HEADER_LEN >= self.block_size {
            self.finish_block()?;
        }
        Ok(())
    }

    fn finish_block(&mut self) -> Result<()> {
        if self.block_kvs == 0 {
            return Ok(());
        }
        let payload_len = self.block.len() - BLOCK_HEADER_LEN;
        let crc = crc32fast::hash(&self.block[BLOCK_HEADER_LEN..]);
        self.block[0..4].copy_from_slice(&(payload_len as u32).to_le_bytes());
        self.block[4..8].copy_from_slice(&crc.to_le_bytes());
        self.file
            .write_all(&self.block)
            .map_err(self.ctx.io("write"))?;
        BlockHandle {
            offset: self.offset,
            len: payload_len as u32,
            kvs: self.block_kvs,
            bytes: self.block_bytes,
            last_key: self.block[self.last_key.0..self.last_key.1].to_vec(),
        }
        .encode(&mut self.index);
        self.offset += self.block.len() as u64;
        if let Some(every) = self.write_behind {
            if self.offset - self.written_back >= every {
                start_writeback(
                    &self.file,
                    self.written_back,
                    self.offset - self.written_back,
                );
                self.written_back = self.offset;
            }
        }
        self.blocks += 1;
        self.kvs += u64::from(self.block_kvs);
        self.kv_bytes += self.block_bytes;
        self.block.truncate(BLOCK_HEADER_LEN);
        self.block_kvs = 0;
        self.block_bytes = 0;
        Ok(())
    }

    /// Writes the index and footer; with `sync`, fsyncs the file. Returns `(size, kvs, kv_bytes)`.
    pub fn finish(mut self, sync: bool) -> Result<(u64, u64, u64)> {
        self.finish_block()?;
        let footer = Footer {
            index_offset: self.offset,
            index_len: self.index.len() as u64,
            kvs: self.kvs,
            kv_bytes: self.kv_bytes,
            index_crc: crc32fast::hash(&self.index),
            blocks: self.blocks,
        };
        self.index.extend_from_slice(&footer.encode());
        self.file
            .write_all(&self.index)
            .map_err(self.ctx.io("write"))?;
        if sync {
            self.file.sync_all().map_err(self.ctx.io("fsync"))?;
        }
        let size = self.offset + self.index.len() as u64;
        Ok((size, self.kvs, self.kv_bytes))
    }
}

/// Reads and checks the footer of an open run file whose length should be `expect_len`.
pub(crate) fn read_footer(ctx: &Ctx, file: &mut File, expect_len: Option<u64>) -> Result<Footer> {
    let len = file.metadata().map_err(ctx.io("stat"))?.len();
    if let Some(want) = expect_len {
        if len != want {
            return Err(ctx.corrupt(len, format!("file is {len} bytes, manifest says {want}")));
        }
    }
    let min = (HEADER_MAGIC.len() + FOOTER_LEN) as u64;
    if len < min {
        return Err(ctx.corrupt(
            0,
            format!("file of {len} bytes is shorter than header + footer"),
        ));
    }
    let mut head = [0u8; 8];
    file.seek(SeekFrom::Start(0)).map_err(ctx.io("seek"))?;
    file.read_exact(&mut head).map_err(ctx.io("read"))?;
    if &head != HEADER_MAGIC {
        return Err(ctx.corrupt(0, "bad header magic"));
    }
    let at = len - FOOTER_LEN as u64;
    let mut fb = [0u8; FOOTER_LEN];
    file.seek(SeekFrom::Start(at)).map_err(ctx.io("seek"))?;
    file.read_exact(&mut fb).map_err(ctx.io("read"))?;
    let footer = Footer::decode(&fb).ok_or_else(|| ctx.corrupt(at, "bad footer magic"))?;
    if footer.index_offset.checked_add(footer.index_len) != Some(at) {
        return Err(ctx.corrupt(at, "footer index bounds do not match file length"));
    }
    Ok(footer)
}

/// Reads the block frame at `offset` (payload no longer than `limit - offset - 8`)
/// into `buf`, checking its checksum.
pub(crate) fn read_block(
    ctx: &Ctx,
    file: &mut File,
    offset: u64,
    limit: u64,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let mut hdr = [0u8; BLOCK_HEADER_LEN];
    file.read_exact(&mut hdr).map_err(ctx.io("read"))?;
    let len = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as u64;
    let crc = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    if offset + BLOCK_HEADER_LEN as u64 + len > limit {
        return Err(ctx.corrupt(
            offset,
            format!("block of {len} bytes overruns the data section"),
        ));
    }
    buf.clear();
    buf.resize(len as usize, 0);
    file.read_exact(buf).map_err(ctx.io("read"))?;
    if crc32fast::hash(buf) != crc {
        return Err(ctx.corrupt(offset, "block checksum mismatch"));
    }
    Ok(())
}

/// A forward cursor over the entries of one run file (or of a block range of it).
pub(crate) struct RunCursor {
    ctx: Ctx,
    file: File,
    next_offset: u64,
    end_offset: u64,
    block_offset: u64,
    block: Vec<u8>,
    pos: usize,
    cur: EntryPos,
}

impl RunCursor {
    /// Opens the whole run; the file must be `expect_len` bytes when given.
    pub fn open(ctx: Ctx, expect_len: Option<u64>) -> Result<RunCursor> {
        let mut file = File::open(&ctx.path).map_err(ctx.io("open"))?;
        let footer = read_footer(&ctx, &mut file, expect_len)?;
        Self::from_file(ctx, file, HEADER_MAGIC.len() as u64, footer.index_offset)
    }

    /// A cursor over the blocks in `[start, end)` of an already checked file.
    pub fn from_file(ctx: Ctx, mut file: File, start: u64, end: u64) -> Result<RunCursor> {
        file.seek(SeekFrom::Start(start)).map_err(ctx.io("seek"))?;
        Ok(RunCursor {
            ctx,
            file,
            next_offset: start,
            end_offset: end,
            block_offset: start,
            block: Vec::new(),
            pos: 0,
            cur: EntryPos::default(),
        })
    }

    /// Moves to the next entry; `false` at the end.
    #[inline]
    pub fn advance(&mut self) -> Result<bool> {
        while self.pos >= self.block.len() {
            if self.next_offset >= self.end_offset {
                return Ok(false);
            }
            self.block_offset = self.next_offset;
            read_block(
                &self.ctx,
                &mut self.file,
                self.next_offset,
                self.end_offset,
                &mut self.block,
            )?;
            self.next_offset += (BLOCK_HEADER_LEN + self.block.len()) as u64;
            self.pos = 0;
        }
        let at = self.pos;
        self.cur = get_entry(&self.block, &mut self.pos).ok_or_else(|| {
            self.ctx.corrupt(
                self.block_offset,
                format!("malformed entry at payload byte {at}"),
            )
        })?;
        Ok(true)
    }

    /// Key of the current entry.
    #[inline]
    pub fn key(&self) -> &[u8] {
        &self.block[self.cur.key_start..self.cur.key_end]
    }

    /// Value of the current entry.
    #[inline]
    pub fn value(&self) -> &[u8] {
        &self.block[self.cur.key_end..self.cur.value_end]
    }

    /// Sequence number of the current entry.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.cur.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn write(path: &std::path::Path, n: u32, block: usize) -> (u64, u64, u64) {
        let mut w = RunWriter::create(Ctx::new(Uuid::nil(), path), block).unwrap();
        for i in 0..n {
            w.add(
                format!("k{i:06}").as_bytes(),
                &i.to_le_bytes(),
                u64::from(i),
            )
            .unwrap();
        }
        w.finish(true).unwrap()
    }

    #[test]
    fn written_run_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("1.run");
        let (size, kvs, bytes) = write(&p, 1000, 256);
        assert_eq!(size, std::fs::metadata(&p).unwrap().len());
        assert_eq!((kvs, bytes), (1000, 1000 * 11));
        let mut c = RunCursor::open(Ctx::new(Uuid::nil(), &p), Some(size)).unwrap();
        let mut i = 0u32;
        while c.advance().unwrap() {
            assert_eq!(c.key(), format!("k{i:06}").as_bytes());
            assert_eq!(c.value(), i.to_le_bytes());
            assert_eq!(c.seq(), u64::from(i));
            i += 1;
        }
        assert_eq!(i, 1000);
    }

    #[test]
    fn truncated_or_flipped_run_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("1.run");
        let (size, ..) = write(&p, 500, 128);
        let bytes = std::fs::read(&p).unwrap();
        let ctx = Ctx::new(Uuid::nil(), &p);
        // Truncated: footer check fails.
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        assert!(matches!(
            RunCursor::open(ctx.clone(), None),
            Err(crate::EngineError::Corrupt { .. })
        ));
        // Length differs from the manifest's.
        std::fs::write(&p, &bytes).unwrap();
        assert!(RunCursor::open(ctx.clone(), Some(size + 1)).is_err());
        // One flipped data byte: the block checksum catches it while reading.
        let mut flipped = bytes.clone();
        flipped[100] ^= 0x40;
        std::fs::write(&p, &flipped).unwrap();
        let mut c = RunCursor::open(ctx, Some(size)).unwrap();
        let err = loop {
            match c.advance() {
                Ok(true) => continue,
                Ok(false) => panic!("corruption not detected"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}
