//! The import controller: it drives one import from a dump folder to the target.
//!
//! Flow of [`run`]: scan the data source (`lightning-source`), create databases and
//! tables on the target from the schema files, check the target tables are empty, then
//! import `table-concurrency` tables at a time. Each table's data files are cut into
//! chunks; `region-concurrency` chunks are in flight at once. A chunk is read and parsed
//! on a blocking thread (`lightning-parser`), its rows encoded by the backend's encoder
//! (`lightning-backend`), and the encoded units cross a bounded channel to an async
//! writer, so memory per chunk is a few batches whatever the file size. Rows the target
//! refuses are counted against `max-error`; views are created last; a summary per table
//! comes back to the binary. With `[checkpoint]` on, chunk positions and table statuses are
//! saved as rows commit (`checkpoint`), so a rerun resumes and a failed table is refused
//! until `tidb-lightning-ctl` clears it (`ctl`).
//!
//! With `--backend local` (module `local`), encoded key-value pairs go to sort engines
//! (`lightning-engine`) instead: a data engine per `batch-size` of a table's source and one
//! index engine, each split into ranges and ingested into TiKV in import mode
//! (`lightning-cluster`) once closed, then the table is checksummed against the cluster.
//! Its checkpoints record chunk positions once their pairs are durable in the engines, and
//! engine and table statuses, so a rerun reopens engines instead of re-encoding.
//!
//! Both paths report to `status` (what `/progress/task` shows) and `metrics` (Prometheus,
//! upstream's names) as tables, chunks and engines move, and wait on `pause` (`PUT /pause`)
//! before each chunk, block read and delivery. The HTTP server itself is the binary's.

mod checkpoint;
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
mod table;
mod task;

pub use ctl::{
    checkpoint_command, engine_command, fetch_mode_command, switch_mode_command, CheckpointCommand,
    EngineCommand,
};
pub use error::LightningError;
pub use limits::StopFlag;
pub use pause::{pauser, Pauser};
pub use task::{run, run_with_stop, ImportSummary, TableSummary};
