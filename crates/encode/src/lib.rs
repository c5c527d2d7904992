//! TiDB's table model, value casting, row/index key-value codec and KV checksum.
//!
//! This is the `encode` stage: a parsed row (fields from `lightning-parser`) is
//! cast to typed [`Datum`]s under the SQL mode, then turned into exactly the
//! key-value pairs TiDB itself would write — a record key `t{table}_r{handle}`
//! with a row-format-v2 value, and one `t{table}_i{index}…` pair per index —
//! while a [`KvChecksum`] accumulates what `ADMIN CHECKSUM TABLE` will report.
//! No I/O and no async: callers feed bytes and reuse buffers.
//!
//! Data flow: [`ddl::parse_create_table`] (or TiDB's table-info JSON via
//! [`TableInfo::from_tidb_json`]) → [`TableInfo`] →
//! [`Encoder::encode_row`] (cast via [`cast`], keys via [`key`], values via
//! [`rowv2`]) → [`KvPairs`] → [`KvPairs::checksum`].
//!
//! Layers, bottom up: [`codec`] (memcomparable and compact datum encodings),
//! [`decimal`], [`time`], [`json`] (value types), [`collate`] (index sort keys),
//! [`autoid`] / [`gorand`] (AUTO_RANDOM and shard row ids), [`key`] (table keys and index
//! values), [`rowv2`] (row values), [`checksum`].
//! [`tz`] loads session time zones (the one place that reads files: the system tz
//! database, once, when options are built).

pub mod autoid;
pub mod cast;
pub mod checksum;
pub mod codec;
pub mod collate;
pub mod ddl;
pub mod decimal;
pub mod encoder;
pub mod error;
pub mod explain;
pub mod gorand;
pub mod json;
pub mod key;
pub mod kvpairs;
pub mod rowv2;
pub mod secondary;
pub mod sqlmode;
pub mod table;
mod tidb_json;
pub mod time;
pub mod tz;

pub use checksum::KvChecksum;
pub use codec::Datum;
pub use decimal::Decimal;
pub use encoder::{EncodeOptions, Encoder, MaxIds};
pub use error::{CodecError, RowError, SchemaError};
pub use key::Handle;
pub use kvpairs::{KvPair, KvPairs};
pub use sqlmode::SqlMode;
pub use table::TableInfo;
pub use tz::TimeZone;
