//! A closed engine: its data sorted and deduplicated in non-overlapping segment files,
//! split into region-sized ranges and streamed range by range for ingest.

use crate::engine::Inner;
use crate::error::{Ctx, Result};
use crate::files::{Files, Kind, Manifest};
use crate::format::{get_entry, BlockHandle, Footer, BLOCK_HEADER_LEN};
use crate::run::{read_footer, RunCursor, RunMeta};
use lightning_encode::KvChecksum;
use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use uuid::Uuid;

/// A key range `[start, end)` of a closed engine, with the pairs it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// First key in the range (inclusive).
    pub start: Vec<u8>,
    /// End of the range (exclusive); the last range ends just after the engine's last key.
    pub end: Vec<u8>,
    /// Pairs in the range.
    pub kvs: u64,
    /// Key + value bytes in the range.
    pub bytes: u64,
}

/// One segment file with its block index in memory.
struct Segment {
    ctx: Ctx,
    footer: Footer,
    blocks: Vec<BlockHandle>,
    file: File,
}

impl Segment {
    fn open(ctx: Ctx, meta: &RunMeta) -> Result<Segment> {
        let mut file = File::open(&ctx.path).map_err(ctx.io("open"))?;
        let footer = read_footer(&ctx, &mut file, Some(meta.size))?;
        let mut index = vec![0u8; footer.index_len as usize];
        file.seek(SeekFrom::Start(footer.index_offset))
            .map_err(ctx.io("seek"))?;
        file.read_exact(&mut index).map_err(ctx.io("read"))?;
        if crc32fast::hash(&index) != footer.index_crc {
            return Err(ctx.corrupt(footer.index_offset, "index checksum mismatch"));
        }
        let mut pos = 0;
        let mut blocks = Vec::with_capacity(footer.blocks as usize);
        while pos < index.len() {
            let h = BlockHandle::decode(&index, &mut pos).ok_or_else(|| {
                ctx.corrupt(footer.index_offset + pos as u64, "malformed index entry")
            })?;
            blocks.push(h);
        }
        let kvs: u64 = blocks.iter().map(|b| u64::from(b.kvs)).sum();
        if blocks.len() != footer.blocks as usize || kvs != footer.kvs {
            return Err(ctx.corrupt(footer.index_offset, "index disagrees with footer"));
        }
        Ok(Segment {
            ctx,
            footer,
            blocks,
            file,
        })
    }

    /// First and last key (`None` when empty), from the first block and the block index.
    fn bounds(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(last) = self.blocks.last() else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        self.read_block(0, &mut buf)?;
        let mut pos = 0;
        let Some(e) = get_entry(&buf, &mut pos) else {
            return Err(self.ctx.corrupt(self.blocks[0].offset, "malformed entry"));
        };
        Ok(Some((
            buf[e.key_start..e.key_end].to_vec(),
            last.last_key.clone(),
        )))
    }

    /// Reads and checks block `i`'s payload into `buf`.
    fn read_block(&self, i: usize, buf: &mut Vec<u8>) -> Result<()> {
        let h = &self.blocks[i];
        buf.clear();
        buf.resize(BLOCK_HEADER_LEN + h.len as usize, 0);
        self.file
            .read_exact_at(buf, h.offset)
            .map_err(self.ctx.io("read"))?;
        let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        if buf[0..4] != h.len.to_le_bytes() || crc32fast::hash(&buf[BLOCK_HEADER_LEN..]) != crc {
            return Err(self.ctx.corrupt(h.offset, "block checksum mismatch"));
        }
        buf.drain(..BLOCK_HEADER_LEN);
        Ok(())
    }
}

/// The block index of a finished run, and where its blocks end (the index's offset).
pub(crate) fn run_blocks(ctx: Ctx, meta: &RunMeta) -> Result<(Vec<BlockHandle>, u64)> {
    let seg = Segment::open(ctx, meta)?;
    Ok((seg.blocks, seg.footer.index_offset))
}

/// First and last key of a finished run (`None` when it holds no pair).
pub(crate) fn run_bounds(ctx: Ctx, meta: &RunMeta) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    Segment::open(ctx, meta)?.bounds()
}

/// The sorted data of a closed engine, shared by its handles.
pub(crate) struct Sealed {
    engine: Uuid,
    segments: Vec<Segment>,
    conflicts: Vec<(Ctx, RunMeta)>,
}

impl Sealed {
    /// Opens the segments and conflict files a closed manifest lists.
    pub fn open(files: &Files, m: &Manifest) -> Result<Sealed> {
        let segments = m
            .segments
            .iter()
            .map(|r| Segment::open(files.ctx(r.id, Kind::Run), r))
            .collect::<Result<Vec<_>>>()?;
        let conflicts = m
            .conflicts
            .iter()
            .map(|r| (files.ctx(r.id, Kind::Dup), r.clone()))
            .collect();
        Ok(Sealed {
            engine: files.engine,
            segments,
            conflicts,
        })
    }
}

/// A pair borrowed from an iterator, with the sequence it was written under.
pub type Entry<'a> = (&'a [u8], &'a [u8], u64);

/// Sequences whose pairs a view of a closed engine leaves out.
pub type SeqSet = Arc<HashSet<u64>>;

/// A closed engine: iterate it in key order, split it into ranges, read its conflicts.
#[derive(Clone)]
pub struct ClosedEngine {
    _engine: Arc<Inner>,
    sealed: Arc<Sealed>,
    exclude: Option<SeqSet>,
}

impl ClosedEngine {
    pub(crate) fn new(engine: Arc<Inner>, sealed: Arc<Sealed>) -> ClosedEngine {
        ClosedEngine {
            _engine: engine,
            sealed,
            exclude: None,
        }
    }

    /// A view of this engine without the pairs written under any of `seqs` (the rows a
    /// `replace` resolution removes): ranges, iteration and checksum leave them out; the
    /// files are unchanged, so the same view can be taken again after a restart.
    pub fn excluding(&self, seqs: SeqSet) -> ClosedEngine {
        ClosedEngine {
            exclude: Some(seqs),
            ..self.clone()
        }
    }

    /// The engine's id.
    pub fn uuid(&self) -> Uuid {
        self.sealed.engine
    }

    /// Pairs in the engine's files (after duplicate resolution; a view's exclusions are
    /// still counted).
    pub fn total_kvs(&self) -> u64 {
        self.sealed.segments.iter().map(|s| s.footer.kvs).sum()
    }

    /// Key + value bytes in the engine.
    pub fn total_size(&self) -> u64 {
        self.sealed.segments.iter().map(|s| s.footer.kv_bytes).sum()
    }

    /// Bytes of the engine's files on disk.
    pub fn disk_size(&self) -> u64 {
        self._engine.disk_size()
    }

    /// Splits the engine into consecutive ranges covering every key exactly once, each
    /// holding at most `region_split_size` bytes and `region_split_keys` pairs (0 = no
    /// limit); a single pair over the size limit is a range of its own.
    pub fn split_ranges(
        &self,
        region_split_size: u64,
        region_split_keys: u64,
    ) -> Result<Vec<KeyRange>> {
        let started = std::time::Instant::now();
        let ranges = self.compute_ranges(region_split_size, region_split_keys)?;
        tracing::info!(
            engine = %self.uuid(),
            ranges = ranges.len(),
            seconds = started.elapsed().as_secs_f64(),
            "engine split into ranges"
        );
        Ok(ranges)
    }

    fn compute_ranges(
        &self,
        region_split_size: u64,
        region_split_keys: u64,
    ) -> Result<Vec<KeyRange>> {
        let max_size = if region_split_size == 0 {
            u64::MAX
        } else {
            region_split_size
        };
        let max_keys = if region_split_keys == 0 {
            u64::MAX
        } else {
            region_split_keys
        };
        let mut ranges = Vec::new();
        let mut cur: Option<KeyRange> = None;
        let mut last_key = Vec::new();
        let mut buf = Vec::new();
        for seg in &self.sealed.segments {
            for (i, h) in seg.blocks.iter().enumerate() {
                if let (Some(c), None) = (&mut cur, &self.exclude) {
                    if c.kvs + u64::from(h.kvs) <= max_keys
                        && c.bytes.saturating_add(h.bytes) <= max_size
                    {
                        c.kvs += u64::from(h.kvs);
                        c.bytes += h.bytes;
                        last_key.clone_from(&h.last_key);
                        continue;
                    }
                }
                seg.read_block(i, &mut buf)?;
                let mut pos = 0;
                while pos < buf.len() {
                    let e = get_entry(&buf, &mut pos)
                        .ok_or_else(|| seg.ctx.corrupt(h.offset, "malformed entry"))?;
                    if self.exclude.as_ref().is_some_and(|x| x.contains(&e.seq)) {
                        continue;
                    }
                    let key = &buf[e.key_start..e.key_end];
                    let size = (e.value_end - e.key_start) as u64;
                    match &mut cur {
                        Some(c) if c.kvs < max_keys && c.bytes.saturating_add(size) <= max_size => {
                            c.kvs += 1;
                            c.bytes += size;
                        }
                        _ => {
                            let next = KeyRange {
                                start: key.to_vec(),
                                end: Vec::new(),
                                kvs: 1,
                                bytes: size,
                            };
                            if let Some(mut done) = cur.replace(next) {
                                done.end = key.to_vec();
                                ranges.push(done);
                            }
                        }
                    }
                    last_key.clear();
                    last_key.extend_from_slice(key);
                }
            }
        }
        if let Some(mut done) = cur {
            last_key.push(0);
            done.end = last_key;
            ranges.push(done);
        }
        Ok(ranges)
    }

    /// Streams the pairs of `range` in key order.
    pub fn iter_range(&self, range: &KeyRange) -> RangeIter {
        RangeIter::new(
            self.sealed.clone(),
            self.exclude.clone(),
            range.start.clone(),
            Some(range.end.clone()),
        )
    }

    /// Streams every pair in key order.
    pub fn iter(&self) -> RangeIter {
        RangeIter::new(self.sealed.clone(), self.exclude.clone(), Vec::new(), None)
    }

    /// First and last key (`None` when empty), read from the segments' first block and
    /// block index (a view's exclusions are not applied).
    pub fn bounds(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let mut first = None;
        let mut last = None;
        for seg in &self.sealed.segments {
            if let Some((f, l)) = seg.bounds()? {
                first.get_or_insert(f);
                last = Some(l);
            }
        }
        Ok(first.zip(last))
    }

    /// The checksum of every pair in the engine.
    pub fn checksum(&self) -> Result<KvChecksum> {
        let mut sum = KvChecksum::new();
        let mut it = self.iter();
        while let Some((k, v)) = it.next_pair()? {
            sum.update(k, v);
        }
        Ok(sum)
    }

    /// Number of pairs dropped as duplicates (`replace` mode).
    pub fn conflict_count(&self) -> u64 {
        self.sealed.conflicts.iter().map(|(_, r)| r.kvs).sum()
    }

    /// The pairs dropped as duplicates (`replace` mode), file by file.
    pub fn conflicts(&self) -> ConflictIter {
        ConflictIter {
            files: self.sealed.conflicts.clone(),
            next: 0,
            cursor: None,
        }
    }
}

/// A forward stream over the pairs of a key range of a closed engine.
pub struct RangeIter {
    sealed: Arc<Sealed>,
    exclude: Option<SeqSet>,
    start: Vec<u8>,
    end: Option<Vec<u8>>,
    next_segment: usize,
    cursor: Option<RunCursor>,
    done: bool,
}

impl RangeIter {
    fn new(
        sealed: Arc<Sealed>,
        exclude: Option<SeqSet>,
        start: Vec<u8>,
        end: Option<Vec<u8>>,
    ) -> RangeIter {
        RangeIter {
            sealed,
            exclude,
            start,
            end,
            next_segment: 0,
            cursor: None,
            done: false,
        }
    }

    /// Opens a cursor on the next segment holding keys ≥ start; `false` when none is left.
    fn open_next(&mut self) -> Result<bool> {
        while let Some(seg) = self.sealed.segments.get(self.next_segment) {
            self.next_segment += 1;
            let first = seg
                .blocks
                .partition_point(|h| h.last_key.as_slice() < self.start.as_slice());
            let Some(h) = seg.blocks.get(first) else {
                continue;
            };
            let file = File::open(&seg.ctx.path).map_err(seg.ctx.io("open"))?;
            self.cursor = Some(RunCursor::from_file(
                seg.ctx.clone(),
                file,
                h.offset,
                seg.footer.index_offset,
            )?);
            return Ok(true);
        }
        Ok(false)
    }

    /// The next pair, borrowed until the following call; `None` at the end of the range.
    pub fn next_pair(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        Ok(self.next_entry()?.map(|(k, v, _)| (k, v)))
    }

    /// The next pair with the sequence it was written under.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let advanced = match &mut self.cursor {
                Some(c) => c.advance()?,
                None => false,
            };
            if !advanced {
                self.cursor = None;
                if !self.open_next()? {
                    self.done = true;
                }
                continue;
            }
            let Some(c) = &self.cursor else { continue };
            if c.key() < self.start.as_slice() {
                continue;
            }
            if self.end.as_deref().is_some_and(|e| c.key() >= e) {
                self.done = true;
                continue;
            }
            if self.exclude.as_ref().is_some_and(|x| x.contains(&c.seq())) {
                continue;
            }
            break;
        }
        Ok(self.cursor.as_ref().map(|c| (c.key(), c.value(), c.seq())))
    }
}

impl Iterator for RangeIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_pair()
            .map(|p| p.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .transpose()
    }
}

/// A pair dropped as a duplicate, with the sequence it was written with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictRecord {
    /// The duplicated key.
    pub key: Vec<u8>,
    /// The dropped value.
    pub value: Vec<u8>,
    /// The dropped pair's sequence.
    pub seq: u64,
}

/// Iterates the conflict records of a closed engine.
pub struct ConflictIter {
    files: Vec<(Ctx, RunMeta)>,
    next: usize,
    cursor: Option<RunCursor>,
}

impl Iterator for ConflictIter {
    type Item = Result<ConflictRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(c) = &mut self.cursor {
                match c.advance() {
                    Ok(true) => {
                        return Some(Ok(ConflictRecord {
                            key: c.key().to_vec(),
                            value: c.value().to_vec(),
                            seq: c.seq(),
                        }))
                    }
                    Ok(false) => self.cursor = None,
                    Err(e) => {
                        self.next = self.files.len();
                        self.cursor = None;
                        return Some(Err(e));
                    }
                }
            }
            let (ctx, meta) = self.files.get(self.next)?.clone();
            self.next += 1;
            match RunCursor::open(ctx, Some(meta.size)) {
                Ok(c) => self.cursor = Some(c),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
