//! The import controller: it drives one import from a dump folder to the target, the
//! same way whatever the backend.
//!
//! Layout, top down (files import downward only; `tests/layers.rs` checks it):
//! * `task` picks the backend (`tidb` or `local`) and runs `controller` with it.
//! * `controller` (one for every backend): scan the data source (`lightning-source`),
//!   open the checkpoints (`checkpoint`), create the schemas, precheck the tables, then
//!   import `table-concurrency` tables at a time (`controller::table`): chunks planned into
//!   engines, each engine opened → its chunks written → closed → imported → cleaned up,
//!   then the post-process steps, each recorded in the checkpoint so a rerun resumes.
//!   Chunks (`controller::chunk`, `region-concurrency` at once) are read and parsed on
//!   blocking threads (`reader`, `lightning-parser`), encoded by the backend's encoder and
//!   delivered by its writer across a bounded channel, so memory per chunk is a few
//!   batches whatever the file size.
//! * `backend` is the seam: the [`Backend`](backend::Backend) trait, shaped by the engine
//!   lifecycle, and the state the controller shares across it.
//! * `tidb` implements it with batched SQL (`lightning-backend`); `local` with sorted
//!   key-value engines (`lightning-engine`) ingested into TiKV (`lightning-cluster`).
//! * Below them: `schema`/`ddl`/`deferred` (schema files), `connect`, `limits`, `pause`,
//!   `progress`, `status` (what `/progress/task` shows) and `metrics` (Prometheus, upstream's
//!   names), which every chunk, engine and table reports to.
//!
//! A summary per table comes back to the binary (`summary`); `ctl` is what
//! `tidb-lightning-ctl` runs.

mod backend;
mod checkpoint;
mod connect;
mod controller;
mod ctl;
mod ddl;
mod deferred;
mod error;
mod limits;
mod local;
pub mod metrics;
mod pause;
mod progress;
mod reader;
mod schema;
pub mod status;
mod summary;
mod task;
mod tidb;

pub use ctl::{
    checkpoint_command, engine_command, fetch_mode_command, switch_mode_command, CheckpointCommand,
    EngineCommand,
};
pub use error::LightningError;
pub use limits::StopFlag;
pub use pause::{pauser, Pauser};
pub use summary::{ImportSummary, TableSummary};
pub use task::{run, run_with_stop};
