//! The backend seam: what the controller (`controller`) asks of a backend, shaped by the
//! engine lifecycle the reference design and upstream's backend interface share.
//!
//! For each table the controller asks the backend for its model ([`Backend::load_table`]),
//! plans its chunks into engines (one engine for all chunks, or data engines of
//! `batch-size` source bytes plus an index engine: [`Capabilities::batched_engines`]), and
//! for each engine: open → per chunk, an encoder on a CPU thread whose units a writer
//! delivers on the I/O runtime → close → import → cleanup; then the post-process steps.
//! The controller records every step in the checkpoint; a backend decides only how its
//! own writes become durable ([`Backend::deliver`], through a [`ChunkRecorder`]).
//!
//! This module holds the trait and the state the controller shares with a backend across
//! it ([`Ctx`], [`TableRun`], [`ChunkRecorder`]); `tidb` and `local` implement it.

use crate::checkpoint::{self, Checkpoints};
use crate::limits::{BlockingSemaphore, ErrorBudget, FairSlots, StopFlag};
use crate::progress::Counters;
use crate::reader::Formats;
use crate::LightningError;
use lightning_backend::tidb::TidbTarget;
use lightning_backend::{RejectedRow, RowEncoder};
use lightning_checkpoint::{
    CheckpointDiffs, CheckpointUpdate, ChunkCheckpoint, ChunkDiff, ChunkKey, Rebase,
};
use lightning_config::Config;
use lightning_encode::{KvChecksum, MaxIds};
use lightning_source::{Chunk, Dump, TableSource};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What differs between backends, as far as the controller is concerned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Capabilities {
    /// Chunks go to data engines of about `[mydumper] batch-size` source bytes each, and
    /// index pairs to one index engine; otherwise every chunk goes to one engine.
    pub batched_engines: bool,
    /// Reports an import phase after writing (KV bytes ingested of those written).
    pub import_phase: bool,
    /// Engine and table statuses may be recorded once per table: closing and importing
    /// its engines does nothing and every post step is idempotent, so a rerun that finds
    /// them unrecorded only repeats no-ops. Otherwise each is recorded as it is reached.
    pub lazy_statuses: bool,
    /// `[conflict]` is resolved across the table's engines before any is imported
    /// ([`Backend::resolve`]): engines are then kept until the checksum.
    pub resolves_conflicts: bool,
}

/// Where a chunk stands. Every row before `pos` is in the target (or durable in its
/// engine); it is recorded as the chunk's checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ChunkProgress {
    /// Resume offset.
    pub pos: u64,
    /// Position after a batch in flight (sent, not known committed); `pos` when none.
    pub inflight_end: u64,
    /// Last row id used.
    pub row_id: u64,
    /// What the rows before `pos` added: their KV checksum (physical backends), or rows
    /// accepted in `kvs` and the source bytes they span in `bytes` (the tidb backend).
    pub checksum: KvChecksum,
    /// Largest ids those rows used.
    pub max_ids: MaxIds,
}

impl ChunkProgress {
    /// A chunk nothing of which was imported.
    pub fn start_of(c: &Chunk) -> Self {
        ChunkProgress {
            pos: c.offset,
            inflight_end: c.offset,
            row_id: c.row_id_base,
            ..ChunkProgress::default()
        }
    }

    /// As a checkpoint recorded it.
    pub fn from_stored(c: &ChunkCheckpoint) -> Self {
        let pos = checkpoint::from_i64(c.chunk.offset);
        ChunkProgress {
            pos,
            inflight_end: checkpoint::from_i64(c.chunk.real_offset).max(pos),
            row_id: checkpoint::from_i64(c.chunk.prev_rowid_max),
            checksum: checkpoint::from_stored(&c.checksum),
            max_ids: MaxIds::default(),
        }
    }

    /// This progress with one more unit delivered after it.
    pub fn after(mut self, d: &UnitDone) -> Self {
        // An empty unit ends nowhere: positions only move forward.
        self.pos = self.pos.max(d.end);
        self.inflight_end = self.pos;
        self.row_id += d.row_ids;
        self.checksum.kvs += d.rows;
        self.checksum.bytes += d.bytes;
        self
    }

    fn diff(&self) -> ChunkDiff {
        ChunkDiff {
            pos: checkpoint::to_i64(self.pos),
            real_pos: checkpoint::to_i64(self.inflight_end.max(self.pos)),
            row_id: checkpoint::to_i64(self.row_id),
            checksum: checkpoint::to_stored(&self.checksum),
            column_permutation: Vec::new(),
        }
    }
}

/// How often a chunk in progress records its position, `default` unless the
/// `TIDB_LIGHTNING_CHUNK_SAVE_INTERVAL_MS` environment variable overrides it (tests: so
/// kills land between records).
pub(crate) fn chunk_save_interval(default: Duration) -> Duration {
    std::env::var("TIDB_LIGHTNING_CHUNK_SAVE_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(default, Duration::from_millis)
}

/// What one unit sent by [`Backend::send`] adds to its chunk's progress.
#[derive(Debug, Default)]
pub(crate) struct UnitDone {
    /// Source offset the unit's last row ends at.
    pub end: u64,
    /// Row ids its rows used.
    pub row_ids: u64,
    /// Rows the target took.
    pub rows: u64,
    /// Source bytes of those rows.
    pub bytes: u64,
    /// Rows the target refused, counted against `max-error` once the unit is recorded.
    pub rejected: Vec<RejectedRow>,
}

/// What a chunk's encoder did, once its thread ended.
#[derive(Debug, Default)]
pub(crate) struct EncodeEnd {
    /// Rows it encoded, when the encoder counts them (else the writer's reports do).
    pub rows: Option<u64>,
    /// Its last progress, durable, when the encoder tracks it (else the recorder does).
    pub last: Option<ChunkProgress>,
    /// Source bytes it reported as restored itself.
    pub restored: u64,
}

/// A backend: how encoded rows reach the target, step by step of the engine lifecycle.
/// Methods take the controller's state ([`Ctx`], [`TableRun`]) so a backend reads the
/// configuration, the target and the checkpoint from one place.
pub(crate) trait Backend: Send + Sync + Sized + 'static {
    /// A target table, as this backend writes it.
    type Table: Send + Sync + 'static;
    /// An open engine.
    type Engine: Clone + Send + Sync + 'static;
    /// A closed engine, ready to import.
    type Closed: Clone + Send + Sync + 'static;
    /// What a chunk's encoder hands to its writer.
    type Unit: Send + 'static;
    /// A chunk's encoder, on a CPU thread; it may borrow the table.
    type Encoder<'a>: RowEncoder<Encoded = Self::Unit>;
    /// A chunk's writer, on the I/O runtime.
    type Writer: Send + 'static;
    /// Held for the whole task (import mode, a scheduler pause, background checks).
    type TaskGuard: Send;
    /// Held while a table's engines are written and imported.
    type TableGuard: Send;

    /// Opens the backend for a task, once the target is connected.
    fn open(
        cfg: &Arc<Config>,
        target: &TidbTarget,
    ) -> impl Future<Output = Result<Self, LightningError>> + Send;

    /// This backend's capabilities.
    fn capabilities(&self) -> Capabilities;

    // The task.

    /// Creates the dump's databases and tables on the target.
    fn create_schemas(
        &self,
        target: &TidbTarget,
        dump: &Dump,
        charset: &str,
    ) -> impl Future<Output = Result<(), LightningError>> + Send;

    /// The table's model, as the target has it.
    fn load_table(
        &self,
        target: &TidbTarget,
        src: &TableSource,
    ) -> impl Future<Output = Result<Self::Table, LightningError>> + Send;

    /// Precheck for a table no earlier run started: `Some(name)` when it must be empty
    /// and is not.
    fn refuse_not_empty(
        &self,
        target: &TidbTarget,
        src: &TableSource,
        table: &Self::Table,
    ) -> impl Future<Output = Result<Option<String>, LightningError>> + Send;

    /// What the user can do about tables [`Backend::refuse_not_empty`] refused.
    fn not_empty_hint(&self) -> &'static str;

    /// Prechecks over the whole dump (free space, ...).
    fn precheck(&self, _cfg: &Config, _tables: &[&TableSource]) -> Result<(), LightningError> {
        Ok(())
    }

    /// Before the first table starts.
    fn begin_task(
        ctx: &Arc<Ctx<Self>>,
    ) -> impl Future<Output = Result<Self::TaskGuard, LightningError>> + Send;

    /// After the last table ended, whatever happened; may replace `failure` with its cause.
    fn end_task(
        ctx: &Arc<Ctx<Self>>,
        guard: Self::TaskGuard,
        failure: &mut Option<LightningError>,
    ) -> impl Future<Output = Result<(), LightningError>> + Send;

    // A table.

    /// Columns a data row has (generated ones excluded), for row-id reservation.
    fn column_count(table: &Self::Table) -> usize;

    /// Row ids of a first run continue above this (the table's allocator base).
    fn row_id_base(_table: &Self::Table) -> u64 {
        0
    }

    /// First run: what the table holds before anything is written, recorded as the
    /// table's checksum when `Some` (compared or counted on at the end).
    fn before_first_run(
        run: &TableRun<Self>,
    ) -> impl Future<Output = Result<Option<KvChecksum>, LightningError>> + Send;

    /// Resumed run: settles what the checkpoint cannot tell (a batch in flight at a crash).
    fn resume(
        _run: &TableRun<Self>,
        _before: &KvChecksum,
        _stored: &[&ChunkCheckpoint],
    ) -> impl Future<Output = Result<(), LightningError>> + Send {
        async { Ok(()) }
    }

    /// Before a table's engines are written (`ingest`: some engine is not imported yet).
    fn begin_table(
        run: &TableRun<Self>,
        ingest: bool,
    ) -> impl Future<Output = Result<Self::TableGuard, LightningError>> + Send;

    /// After them, whatever happened.
    fn end_table(run: &TableRun<Self>, guard: Self::TableGuard) -> impl Future<Output = ()> + Send;

    // Engines.

    /// Opens (or reopens) engine `id` of the table.
    fn open_engine(run: &TableRun<Self>, id: i32) -> Result<Self::Engine, LightningError>;

    /// Closes an engine: what it holds is complete.
    fn close_engine(
        run: &TableRun<Self>,
        engine: Self::Engine,
    ) -> impl Future<Output = Result<Self::Closed, LightningError>> + Send;

    /// Imports a closed engine into the target.
    fn import_engine(
        run: &TableRun<Self>,
        closed: &Self::Closed,
    ) -> impl Future<Output = Result<(), LightningError>> + Send;

    /// Removes an engine's files (nothing when it is gone already).
    fn cleanup_engine(run: &TableRun<Self>, id: i32) -> Result<(), LightningError>;

    /// Resolves conflicts across the closed engines; the views to import, in order.
    fn resolve(
        _run: &TableRun<Self>,
        data: Vec<Self::Closed>,
        index: Self::Closed,
    ) -> impl Future<Output = Result<(Vec<Self::Closed>, Self::Closed), LightningError>> + Send
    {
        async { Ok((data, index)) }
    }

    // Chunks.

    /// The encoder of one chunk, starting at `start`, writing into `data` (and `index`).
    fn encoder<'a>(
        run: &'a TableRun<Self>,
        data: &Self::Engine,
        index: Option<&Self::Engine>,
        chunk: &Chunk,
        start: ChunkProgress,
    ) -> Result<Self::Encoder<'a>, LightningError>;

    /// Ends an encoder after its read (`read`: source bytes, or the read's error).
    fn end_encoder(
        run: &TableRun<Self>,
        encoder: Self::Encoder<'_>,
        read: Result<u64, LightningError>,
    ) -> Result<(u64, EncodeEnd), LightningError>;

    /// A writer for one chunk's units.
    fn writer(
        run: &TableRun<Self>,
    ) -> impl Future<Output = Result<Self::Writer, LightningError>> + Send;

    /// Delivers one unit and records the progress it made through `rec`, as this backend's
    /// durability requires.
    fn deliver(
        run: &TableRun<Self>,
        writer: &mut Self::Writer,
        unit: Self::Unit,
        rec: &mut ChunkRecorder<'_, Self>,
    ) -> impl Future<Output = Result<(), LightningError>> + Send;

    /// `Some(every)` when this table's units may be sent by several writers at once
    /// ([`Backend::send`]): each is durable on its own and replaying any of them after a
    /// crash is harmless. A chunk then records the end of its longest run of units all
    /// sent, at most `every`, and region slots no chunk waits for become extra writers.
    fn parallel_units(_run: &TableRun<Self>) -> Option<Duration> {
        None
    }

    /// Sends one unit of a [`Backend::parallel_units`] table, recording nothing.
    fn send(
        _run: &TableRun<Self>,
        _writer: &mut Self::Writer,
        _unit: Self::Unit,
    ) -> impl Future<Output = Result<UnitDone, LightningError>> + Send {
        async {
            Err(LightningError::Internal(
                "this backend delivers its units one by one".into(),
            ))
        }
    }

    // Post-process, in upstream's order; each returns whether it ran (else it is skipped).

    /// Moves the target's id allocators past the ids the import used.
    fn rebase(
        run: &TableRun<Self>,
        max_ids: MaxIds,
    ) -> impl Future<Output = Result<(), LightningError>> + Send;

    /// `[post-restore] checksum`: the target's against `local` (what the table held before
    /// plus every chunk's); false when skipped.
    fn checksum(
        run: &TableRun<Self>,
        local: KvChecksum,
    ) -> impl Future<Output = Result<bool, LightningError>> + Send;

    /// Adds indexes deferred to the end of the table; false when there were none to add.
    fn add_indexes(
        _run: &TableRun<Self>,
    ) -> impl Future<Output = Result<bool, LightningError>> + Send {
        async { Ok(false) }
    }

    /// `[post-restore] analyze`; false when skipped.
    fn analyze(run: &TableRun<Self>) -> impl Future<Output = Result<bool, LightningError>> + Send;
}

/// What every table of an import shares.
pub(crate) struct Ctx<B> {
    pub cfg: Arc<Config>,
    pub backend: B,
    pub target: TidbTarget,
    /// `region-concurrency` chunks in flight, fairly across tables.
    pub region: FairSlots,
    /// `io-concurrency` reads at once.
    pub io: BlockingSemaphore,
    pub stop: Arc<StopFlag>,
    pub counters: Arc<Counters>,
    pub formats: Formats,
    /// `max-error` (type errors).
    pub errors: Arc<ErrorBudget>,
    pub cp: Checkpoints,
    /// The task's id (its checkpoint's).
    pub task_id: i64,
}

/// One table's import in progress.
pub(crate) struct TableRun<B: Backend> {
    pub ctx: Arc<Ctx<B>>,
    pub src: TableSource,
    /// Unique name, as checkpoints know the table.
    pub name: String,
    pub table: Arc<B::Table>,
    /// An earlier run of this task started the table.
    pub resumed: bool,
    /// Names the table to [`FairSlots`].
    pub slot_key: usize,
    /// Every chunk's progress; the table's local checksum is their sum.
    pub progress: Mutex<BTreeMap<ChunkKey, ChunkProgress>>,
    /// Largest ids used, from the checkpoint and this run.
    pub max_ids: Mutex<MaxIds>,
    /// Statuses reached and not recorded yet ([`Capabilities::lazy_statuses`]).
    pub statuses: Mutex<CheckpointDiffs>,
}

impl<B: Backend> TableRun<B> {
    /// A chunk's progress as last recorded.
    pub fn progress_of(&self, c: &Chunk) -> ChunkProgress {
        let map = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&checkpoint::chunk_key(c))
            .copied()
            .unwrap_or_else(|| ChunkProgress::start_of(c))
    }
}

/// Records one chunk's progress, in memory and in the checkpoint, for its writer.
pub(crate) struct ChunkRecorder<'a, B: Backend> {
    pub run: &'a TableRun<B>,
    pub engine_id: i32,
    pub key: ChunkKey,
    /// The progress made so far (recorded or not).
    pub progress: ChunkProgress,
    /// Progress made that is not recorded yet.
    pub dirty: bool,
    saved_at: Instant,
    /// Rows the writer's reports counted.
    pub rows: u64,
    /// Source bytes reported restored through [`ChunkRecorder::restored`].
    pub counted: u64,
}

impl<'a, B: Backend> ChunkRecorder<'a, B> {
    /// A recorder for `key` of engine `engine_id`, starting at `start`.
    pub fn new(run: &'a TableRun<B>, engine_id: i32, key: ChunkKey, start: ChunkProgress) -> Self {
        ChunkRecorder {
            run,
            engine_id,
            key,
            progress: start,
            dirty: false,
            saved_at: Instant::now(),
            rows: 0,
            counted: 0,
        }
    }

    /// Records `p` now.
    pub async fn save(&mut self, p: ChunkProgress) -> Result<(), LightningError> {
        self.progress = p;
        self.write(p.diff()).await?;
        self.dirty = false;
        self.saved_at = Instant::now();
        Ok(())
    }

    /// Records `p`, unless one was recorded less than `every` ago (then it is only dirty).
    pub async fn save_at_most_every(
        &mut self,
        p: ChunkProgress,
        every: Duration,
    ) -> Result<(), LightningError> {
        if self.saved_at.elapsed() < every {
            self.progress = p;
            self.dirty = true;
            return Ok(());
        }
        self.save(p).await
    }

    /// Records the current progress with a batch of `rows` rows in flight up to `end`.
    pub async fn save_inflight(&self, end: u64, rows: u64) -> Result<(), LightningError> {
        let mut p = self.progress;
        p.inflight_end = end;
        let mut diff = p.diff();
        diff.checksum.crc = rows;
        self.write(diff).await
    }

    /// Source bytes and rows now in the target, for progress and the status API.
    pub fn restored(&mut self, bytes: u64, rows: u64) {
        let c = &self.run.ctx.counters;
        c.bytes.fetch_add(bytes, Ordering::Relaxed);
        c.rows.fetch_add(rows, Ordering::Relaxed);
        crate::status::restored(&self.run.name, bytes, rows);
        self.counted += bytes;
    }

    async fn write(&self, diff: ChunkDiff) -> Result<(), LightningError> {
        let run = self.run;
        let p = self.progress;
        run.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.key.clone(), p);
        let mut d = CheckpointDiffs::new();
        d.merge(
            &run.name,
            &CheckpointUpdate::Chunk {
                engine_id: self.engine_id,
                key: self.key.clone(),
                diff,
            },
        );
        if p.max_ids != MaxIds::default() {
            {
                let mut m = run.max_ids.lock().unwrap_or_else(|e| e.into_inner());
                m.row_id = m.row_id.max(p.max_ids.row_id);
                m.auto_random = m.auto_random.max(p.max_ids.auto_random);
            }
            d.merge(
                &run.name,
                &CheckpointUpdate::Rebase(Rebase {
                    auto_rand_base: p.max_ids.auto_random,
                    auto_incr_base: p.max_ids.row_id,
                    auto_row_id_base: p.max_ids.row_id,
                }),
            );
        }
        run.ctx.cp.store.update(&d).await?;
        Ok(())
    }
}
