//! An open engine: takes sorted runs from its writers, makes them durable on flush,
//! and on close merges them into the closed engine's segments.

use crate::closed::{run_blocks, run_bounds, ClosedEngine, Sealed};
use crate::error::{io_err, EngineError, Result};
use crate::files::{parse_name, sync_dir, Files, Kind, Manifest, MANIFEST};
use crate::merge::merge_range;
use crate::options::EngineOptions;
use crate::resolve::{write_pass, Written};
use crate::run::{read_footer, RunCursor, RunMeta};
use crate::writer::EngineWriter;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use uuid::Uuid;

/// Locks a mutex, ignoring poisoning (state stays consistent: every update is one step).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct State {
    manifest: Manifest,
    /// Runs spilled but not yet fsynced nor in the manifest.
    pending: Vec<RunMeta>,
    /// Conflict files likewise.
    pending_dups: Vec<RunMeta>,
    writers: usize,
    /// Runs handed out as an [`EnginePart`] (still in the manifest until released).
    detached: Vec<RunMeta>,
    closing: bool,
    sealed: Option<Arc<Sealed>>,
}

/// Shared state of one engine.
pub(crate) struct Inner {
    pub files: Files,
    pub opts: EngineOptions,
    state: Mutex<State>,
    commit: Mutex<()>,
    close_lock: Mutex<()>,
    /// Signalled when a part is released or returned.
    part_done: Condvar,
    mem_used: AtomicUsize,
}

impl Inner {
    /// Opens (creating if needed) the engine in `dir`, dropping files a crash left behind.
    pub fn open(engine: Uuid, dir: PathBuf, opts: EngineOptions) -> Result<Arc<Inner>> {
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir).map_err(io_err(engine, "create dir", &dir))?;
            if let Some(parent) = dir.parent() {
                sync_dir(engine, parent)?;
            }
        }
        let probe = Files::new(engine, dir.clone(), 0);
        let manifest = match probe.load_manifest()? {
            Some(m) => m,
            None => {
                let m = Manifest::default();
                probe.store_manifest(&m)?;
                m
            }
        };
        let referenced: HashSet<(u64, Kind)> = manifest.files().collect();
        let mut max_id = 0;
        let mut removed = false;
        for entry in std::fs::read_dir(&dir).map_err(io_err(engine, "list", &dir))? {
            let entry = entry.map_err(io_err(engine, "list", &dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == MANIFEST {
                continue;
            }
            match parse_name(&name) {
                Some(f) if referenced.contains(&f) => max_id = max_id.max(f.0),
                _ => {
                    let p = entry.path();
                    tracing::info!(engine = %engine, file = %p.display(), "removing file left by an unfinished write");
                    let r = if p.is_dir() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                    r.map_err(io_err(engine, "remove", &p))?;
                    removed = true;
                }
            }
        }
        if removed {
            probe.sync_dir()?;
        }
        let files = Files::new(engine, dir, max_id + 1);
        for (id, kind) in manifest.files() {
            let meta = manifest
                .runs
                .iter()
                .chain(&manifest.segments)
                .chain(&manifest.conflicts)
                .find(|r| r.id == id);
            let ctx = files.ctx(id, kind);
            let mut f = std::fs::File::open(&ctx.path).map_err(ctx.io("open"))?;
            read_footer(&ctx, &mut f, meta.map(|m| m.size))?;
        }
        Ok(Arc::new(Inner {
            files,
            opts,
            state: Mutex::new(State {
                manifest,
                ..State::default()
            }),
            commit: Mutex::new(()),
            close_lock: Mutex::new(()),
            part_done: Condvar::new(),
            mem_used: AtomicUsize::new(0),
        }))
    }

    /// Registers a writer; fails once the engine is closing or closed.
    pub fn add_writer(&self) -> Result<()> {
        let mut st = lock(&self.state);
        if st.closing || st.manifest.closed {
            return Err(EngineError::Closed {
                engine: self.files.engine,
            });
        }
        st.writers += 1;
        Ok(())
    }

    /// Unregisters a writer.
    pub fn remove_writer(&self) {
        lock(&self.state).writers -= 1;
    }

    /// Takes `n` bytes of the engine's memory budget if available.
    pub fn try_reserve(&self, n: usize) -> bool {
        let limit = self.opts.engine_mem_cache_size;
        self.mem_used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur + n <= limit).then_some(cur + n)
            })
            .is_ok()
    }

    /// Takes `n` bytes even over budget (a writer with an empty buffer must progress).
    pub fn force_reserve(&self, n: usize) {
        self.mem_used.fetch_add(n, Ordering::AcqRel);
    }

    /// Returns `n` bytes to the budget.
    pub fn release(&self, n: usize) {
        self.mem_used.fetch_sub(n, Ordering::AcqRel);
    }

    /// This writer's share of the engine budget.
    pub fn writer_limit(&self) -> usize {
        let writers = lock(&self.state).writers.max(1);
        (self.opts.engine_mem_cache_size / writers).min(self.opts.local_writer_mem_cache_size)
    }

    /// Records a spilled run (and its conflicts) as written but not yet durable.
    pub fn add_pending(&self, w: Written) {
        let mut st = lock(&self.state);
        st.pending.push(w.run);
        st.pending_dups.extend(w.conflicts);
    }

    /// Makes every spilled run durable and listed in the manifest.
    pub fn sync(&self) -> Result<()> {
        let _c = lock(&self.commit);
        let (runs, dups) = {
            let st = lock(&self.state);
            (st.pending.clone(), st.pending_dups.clone())
        };
        if runs.is_empty() && dups.is_empty() {
            return Ok(());
        }
        for r in &runs {
            self.files.sync_file(r.id, Kind::Run)?;
        }
        self.commit_locked(&runs, &[], &[], false, false)
    }

    /// Updates the manifest (caller holds `commit`): drops `remove`, adds `add`, takes in
    /// all pending conflict files, and with `close` turns the remaining data into segments.
    fn commit_locked(
        &self,
        promote: &[RunMeta],
        remove: &[RunMeta],
        add: &[RunMeta],
        close: bool,
        delete: bool,
    ) -> Result<()> {
        let dups = lock(&self.state).pending_dups.clone();
        for d in &dups {
            self.files.sync_file(d.id, Kind::Dup)?;
        }
        self.files.sync_dir()?;
        let m = {
            let mut st = lock(&self.state);
            let st = &mut *st;
            let has = |set: &[RunMeta], r: &RunMeta| set.iter().any(|x| x.id == r.id);
            st.pending.retain(|r| !has(promote, r) && !has(remove, r));
            st.pending_dups.retain(|r| !has(&dups, r));
            for p in promote {
                if !has(&st.manifest.runs, p) {
                    st.manifest.runs.push(p.clone());
                }
            }
            st.manifest.runs.retain(|r| !has(remove, r));
            st.manifest.conflicts.extend(dups);
            if close && promote.len() > 1 {
                // Promoted runs become segments in the order given (key order).
                let at = |r: &RunMeta| promote.iter().position(|p| p.id == r.id);
                st.manifest
                    .runs
                    .sort_by_key(|r| at(r).unwrap_or(usize::MAX));
            }
            if close {
                st.manifest.closed = true;
                st.manifest.segments.extend(add.iter().cloned());
                st.manifest.segments.append(&mut st.manifest.runs);
            } else {
                st.manifest.runs.extend(add.iter().cloned());
            }
            st.manifest.clone()
        };
        self.files.store_manifest(&m)?;
        if delete {
            for r in remove {
                self.files.remove(r.id, Kind::Run)?;
            }
        }
        Ok(())
    }

    /// Merges `runs` into one new durable run.
    fn merge(&self, runs: &[RunMeta]) -> Result<Written> {
        self.merge_bounded(runs, &[], None)
    }

    /// Merges `runs` into runs of consecutive key ranges, one per CPU (up to 8), merged on
    /// threads of their own: the final merge of a large engine is CPU-bound, and a single
    /// k-way merge would use one core. Small inputs are merged as one.
    fn merge_partitioned(&self, runs: &[RunMeta]) -> Result<Vec<Written>> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let splits = self.split_keys(runs, cpus.min(8))?;
        if splits.is_empty() {
            return Ok(vec![self.merge(runs)?]);
        }
        let bounds: Vec<(&[u8], Option<&[u8]>)> = (0..=splits.len())
            .map(|i| {
                let lo = if i == 0 { &[][..] } else { &splits[i - 1][..] };
                (lo, splits.get(i).map(|k| &k[..]))
            })
            .collect();
        let results: Vec<Result<Written>> = std::thread::scope(|s| {
            let handles: Vec<_> = bounds
                .iter()
                .map(|&(lo, hi)| s.spawn(move || self.merge_bounded(runs, lo, hi)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(self.panicked())))
                .collect()
        });
        let mut out = Vec::with_capacity(results.len());
        let mut first_err = None;
        for r in results {
            match r {
                Ok(w) => out.push(w),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            for w in out {
                let _ = self.files.remove(w.run.id, Kind::Run);
                if let Some(d) = w.conflicts {
                    let _ = self.files.remove(d.id, Kind::Dup);
                }
            }
            return Err(e);
        }
        Ok(out)
    }

    /// Keys splitting `runs` into `parts` ranges of about equal bytes, from their block
    /// indexes; none when the runs are too small to be worth splitting.
    fn split_keys(&self, runs: &[RunMeta], parts: usize) -> Result<Vec<Vec<u8>>> {
        if parts < 2 {
            return Ok(Vec::new());
        }
        let mut blocks = Vec::new();
        for r in runs {
            let (index, _) = run_blocks(self.files.ctx(r.id, Kind::Run), r)?;
            blocks.extend(index.into_iter().map(|h| (h.last_key, h.bytes)));
        }
        if blocks.len() < parts * 8 {
            return Ok(Vec::new());
        }
        blocks.sort_unstable();
        let total: u64 = blocks.iter().map(|b| b.1).sum();
        let mut splits: Vec<Vec<u8>> = Vec::with_capacity(parts - 1);
        let mut acc = 0u64;
        for (key, bytes) in blocks {
            acc += bytes;
            let want = total / parts as u64 * (splits.len() as u64 + 1);
            if acc >= want && splits.len() + 1 < parts && splits.last().is_none_or(|l| *l < key) {
                splits.push(key);
            }
        }
        Ok(splits)
    }

    /// Merges the keys of `runs` in `[lo, hi)` into one new durable run; a run is read from
    /// its first block that may hold `lo` (found in its block index).
    fn merge_bounded(&self, runs: &[RunMeta], lo: &[u8], hi: Option<&[u8]>) -> Result<Written> {
        let mut cursors = Vec::with_capacity(runs.len());
        for r in runs {
            let ctx = self.files.ctx(r.id, Kind::Run);
            if lo.is_empty() {
                cursors.push(RunCursor::open(ctx, Some(r.size))?);
                continue;
            }
            let (index, end) = run_blocks(ctx.clone(), r)?;
            let first = index.partition_point(|h| h.last_key.as_slice() < lo);
            let start = index.get(first).map_or(end, |h| h.offset);
            let file = std::fs::File::open(&ctx.path).map_err(ctx.io("open"))?;
            cursors.push(RunCursor::from_file(ctx, file, start, end)?);
        }
        write_pass(&self.files, &self.opts, true, |w, res| {
            merge_range(cursors, lo, hi, w, res)
        })
    }

    fn panicked(&self) -> EngineError {
        EngineError::Io {
            engine: self.files.engine,
            op: "merge",
            path: self.files.path(0, Kind::Run),
            source: std::io::Error::other("a merge thread panicked"),
        }
    }

    fn all_runs(&self) -> Vec<RunMeta> {
        let st = lock(&self.state);
        let mut runs: Vec<RunMeta> = st
            .manifest
            .runs
            .iter()
            .chain(&st.pending)
            .filter(|r| !st.detached.iter().any(|d| d.id == r.id))
            .cloned()
            .collect();
        runs.sort_by_key(|r| r.id);
        runs
    }

    /// Closes the engine (idempotent): compacts runs to at most the merge fan-in, then
    /// merges them into the closed engine's segment.
    pub fn close(self: &Arc<Self>) -> Result<Arc<Sealed>> {
        let _g = lock(&self.close_lock);
        {
            let mut st = lock(&self.state);
            // A part being imported ends (released or returned) before the rest is sorted.
            while !st.detached.is_empty() {
                st = self
                    .part_done
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if let Some(s) = &st.sealed {
                return Ok(s.clone());
            }
            if st.writers > 0 {
                return Err(EngineError::WritersOpen {
                    engine: self.files.engine,
                    writers: st.writers,
                });
            }
            st.closing = true;
        }
        let res = self.close_runs();
        let mut st = lock(&self.state);
        match res {
            Ok(s) => {
                st.sealed = Some(s.clone());
                Ok(s)
            }
            Err(e) => {
                st.closing = false;
                Err(e)
            }
        }
    }

    /// The runs in key order when their key ranges do not overlap (each run ends below
    /// the next one's first key), as when sorted chunks of a dump each fill their own runs;
    /// `None` when some overlap, or a run is empty.
    fn disjoint_order(&self, runs: &[RunMeta]) -> Result<Option<Vec<RunMeta>>> {
        let mut bounded = Vec::with_capacity(runs.len());
        for r in runs {
            match run_bounds(self.files.ctx(r.id, Kind::Run), r)? {
                Some((first, last)) => bounded.push((first, last, r)),
                None => return Ok(None),
            }
        }
        bounded.sort_by(|a, b| a.0.cmp(&b.0));
        if bounded.windows(2).any(|w| w[0].1 >= w[1].0) {
            return Ok(None);
        }
        Ok(Some(
            bounded.into_iter().map(|(_, _, r)| r.clone()).collect(),
        ))
    }

    fn close_runs(&self) -> Result<Arc<Sealed>> {
        if !lock(&self.state).manifest.closed {
            let runs = self.all_runs();
            if runs.len() > 1 {
                if let Some(ordered) = self.disjoint_order(&runs)? {
                    // No key is in two runs: the runs, in key order, are the segments as they
                    // stand, with nothing to merge or resolve.
                    for r in &ordered {
                        self.files.sync_file(r.id, Kind::Run)?;
                    }
                    let _c = lock(&self.commit);
                    self.commit_locked(&ordered, &[], &[], true, false)?;
                    let m = lock(&self.state).manifest.clone();
                    return Ok(Arc::new(Sealed::open(&self.files, &m)?));
                }
            }
            let fan_in = self.opts.max_merge_fan_in;
            loop {
                let mut runs = self.all_runs();
                if runs.len() <= fan_in {
                    break;
                }
                runs.sort_by_key(|r| (r.size, r.id));
                runs.truncate(fan_in);
                runs.sort_by_key(|r| r.id);
                let w = self.merge(&runs)?;
                let _c = lock(&self.commit);
                lock(&self.state).pending_dups.extend(w.conflicts);
                self.commit_locked(&[], &runs, &[w.run], false, true)?;
            }
            let runs = self.all_runs();
            if runs.len() > 1 {
                let parts = self.merge_partitioned(&runs)?;
                let _c = lock(&self.commit);
                let mut segments = Vec::with_capacity(parts.len());
                for w in parts {
                    lock(&self.state).pending_dups.extend(w.conflicts);
                    segments.push(w.run);
                }
                self.commit_locked(&[], &runs, &segments, true, true)?;
            } else {
                // Zero or one run: it is the segment as it stands.
                for r in &runs {
                    self.files.sync_file(r.id, Kind::Run)?;
                }
                let _c = lock(&self.commit);
                self.commit_locked(&runs, &[], &[], true, false)?;
            }
        }
        let m = lock(&self.state).manifest.clone();
        Ok(Arc::new(Sealed::open(&self.files, &m)?))
    }

    /// Detaches every run on disk (pending ones made durable first) as a sorted part to
    /// import while writers go on; `None` when there is nothing on disk, a part is already
    /// out, or the engine is closing.
    pub fn take_part(self: &Arc<Self>) -> Result<Option<EnginePart>> {
        let Ok(_g) = self.close_lock.try_lock() else {
            return Ok(None);
        };
        let runs = {
            let _c = lock(&self.commit);
            let pending = {
                let st = lock(&self.state);
                if st.closing || st.manifest.closed || !st.detached.is_empty() {
                    return Ok(None);
                }
                st.pending.clone()
            };
            for r in &pending {
                self.files.sync_file(r.id, Kind::Run)?;
            }
            if !pending.is_empty() {
                self.commit_locked(&pending, &[], &[], false, false)?;
            }
            let mut st = lock(&self.state);
            st.detached = st.manifest.runs.clone();
            st.detached.clone()
        };
        if runs.is_empty() {
            return Ok(None);
        }
        let mut part = EnginePart {
            inner: self.clone(),
            runs,
            temps: Vec::new(),
            closed: None,
            released: false,
        };
        // On error `part` is dropped: its runs return to the engine, temporary merges go.
        let segments = part.sort()?;
        let m = Manifest {
            segments,
            ..Manifest::default()
        };
        let sealed = Arc::new(Sealed::open(&self.files, &m)?);
        part.closed = Some(ClosedEngine::new(self.clone(), sealed));
        Ok(Some(part))
    }

    /// Ends a part: with `imported`, its runs leave the manifest and are deleted; else they
    /// return to the engine. Temporary merges are deleted either way.
    fn end_part(&self, part: &EnginePart, imported: bool) -> Result<()> {
        let res = if imported {
            let _c = lock(&self.commit);
            self.commit_locked(&[], &part.runs, &[], false, true)
        } else {
            Ok(())
        };
        for t in &part.temps {
            let _ = self.files.remove(t.id, Kind::Run);
        }
        lock(&self.state).detached.clear();
        self.part_done.notify_all();
        res
    }

    /// Bytes of this engine's files on disk.
    pub fn disk_size(&self) -> u64 {
        let st = lock(&self.state);
        st.manifest.disk_size()
            + st.pending
                .iter()
                .chain(&st.pending_dups)
                .map(|r| r.size)
                .sum::<u64>()
    }

    /// Bytes held by writer buffers.
    pub fn mem_size(&self) -> u64 {
        self.mem_used.load(Ordering::Acquire) as u64
    }

    /// True once closed (in this process or on disk).
    pub fn is_closed(&self) -> bool {
        lock(&self.state).manifest.closed
    }
}

/// The runs an open engine had on disk, detached and sorted for an early import
/// (`disk-quota`). Release it after a successful import; dropped unreleased, its runs
/// return to the engine (a crash before the release keeps them too: importing them
/// again writes the same pairs).
pub struct EnginePart {
    inner: Arc<Inner>,
    runs: Vec<RunMeta>,
    /// Merge outputs not in the manifest, deleted when the part ends.
    temps: Vec<RunMeta>,
    closed: Option<ClosedEngine>,
    released: bool,
}

impl EnginePart {
    /// The part as a closed engine: split it into ranges and ingest it.
    pub fn engine(&self) -> Option<&ClosedEngine> {
        self.closed.as_ref()
    }

    /// Bytes of the detached runs.
    pub fn disk_size(&self) -> u64 {
        self.runs.iter().map(|r| r.size).sum()
    }

    /// Marks the part imported: its runs are deleted from the engine.
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        self.closed = None;
        self.inner.end_part(&self, true)
    }

    /// The part's segments in key order: the runs as they are when they do not overlap,
    /// else merged (in groups of the merge fan-in) into temporary runs.
    fn sort(&mut self) -> Result<Vec<RunMeta>> {
        let inner = self.inner.clone();
        let mut runs = self.runs.clone();
        if runs.len() > 1 {
            if let Some(ordered) = inner.disjoint_order(&runs)? {
                return Ok(ordered);
            }
        }
        let fan_in = inner.opts.max_merge_fan_in;
        while runs.len() > 1 {
            let group: Vec<RunMeta> = runs.drain(..runs.len().min(fan_in)).collect();
            let w = inner.merge(&group)?;
            lock(&inner.state).pending_dups.extend(w.conflicts);
            self.temps.push(w.run.clone());
            runs.push(w.run);
        }
        Ok(runs)
    }
}

impl Drop for EnginePart {
    fn drop(&mut self) {
        if !self.released {
            self.closed = None;
            let _ = self.inner.end_part(self, false);
        }
    }
}

/// An open engine. Clones share it; writers append, [`Engine::close`] sorts it for import.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// The engine's id.
    pub fn uuid(&self) -> Uuid {
        self.inner.files.engine
    }

    /// A new writer; each writer is used from one thread at a time.
    pub fn writer(&self) -> Result<EngineWriter> {
        EngineWriter::new(self.inner.clone())
    }

    /// Makes all runs already spilled by writers durable (writers' unspilled buffers are
    /// flushed by [`EngineWriter::flush`]).
    pub fn flush(&self) -> Result<()> {
        self.inner.sync()
    }

    /// Closes the engine: fails while writers are open; closing again (also after a
    /// restart) returns the same closed engine.
    pub fn close(&self) -> Result<ClosedEngine> {
        let started = std::time::Instant::now();
        tracing::info!(engine = %self.uuid(), runs = self.inner.all_runs().len(), "closing engine");
        let sealed = self.inner.close()?;
        let closed = ClosedEngine::new(self.inner.clone(), sealed);
        tracing::info!(
            engine = %self.uuid(),
            kvs = closed.total_kvs(),
            bytes = closed.total_size(),
            seconds = started.elapsed().as_secs_f64(),
            "engine closed"
        );
        Ok(closed)
    }

    /// True once the engine is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Detaches the runs the engine has on disk as a sorted part, for `disk-quota`'s
    /// early import; `None` when there is nothing on disk, a part is out, or it is closing.
    pub fn take_part(&self) -> Result<Option<EnginePart>> {
        self.inner.take_part()
    }

    /// Bytes of the engine's files on disk (for `disk-quota`).
    pub fn disk_size(&self) -> u64 {
        self.inner.disk_size()
    }

    /// Bytes buffered in memory by its writers.
    pub fn mem_size(&self) -> u64 {
        self.inner.mem_size()
    }
}
