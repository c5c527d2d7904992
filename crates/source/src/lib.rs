//! Where bytes come from: the first stage of the import pipeline.
//!
//! Flow: [`scan`] lists the data source through a [`Storage`] (local directory for now),
//! routes every file with the `[[mydumper.files]]` rules and the built-in Mydumper/Dumpling
//! name rules, drops what the table filter rejects, applies `[[routes]]`, and returns a
//! [`Dump`] of databases, tables and views. [`make_chunks`] cuts a table's data files into
//! [`Chunk`]s with row-id ranges; [`open`] gives a chunk's file as a decompressed stream and
//! [`read_schema`] a schema file as UTF-8 text. Parsing rows is the parser crate's job.
//!
//! ```no_run
//! let cfg = lightning_config::Config::from_toml_str("...").unwrap();
//! let dump = lightning_source::scan(&cfg).unwrap();
//! for db in &dump.databases {
//!     for table in &db.tables {
//!         let chunks = lightning_source::make_chunks(table, &cfg).unwrap();
//!         println!("{}.{}: {} chunks", table.db, table.name, chunks.len());
//!     }
//! }
//! ```

mod chunk;
mod error;
mod filter;
mod model;
mod read;
mod rename;
mod route;
mod scan;
mod storage;

pub use chunk::{largest_chunk_size, make_chunks, make_chunks_for_columns, Chunk};
pub use error::SourceError;
pub use filter::TableFilter;
pub use model::{
    Compression, DataFormat, DatabaseSource, Dump, SourceFile, TableSource, ViewSource,
};
pub use read::{estimate_real_size, estimate_size_for_totals, open, read_schema};
pub use rename::TableRouter;
pub use route::{parse_compression, FileRouter, Routed};
pub use scan::{scan, scan_storage};
pub use storage::{Listed, LocalStorage, Storage};
