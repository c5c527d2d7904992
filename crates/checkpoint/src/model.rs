//! What a checkpoint holds: the task, and per table its engines and their chunks,
//! field for field what upstream stores (`TaskCheckpoint`, `TableCheckpoint`, …).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::status::CheckpointStatus;

/// Engine id that status updates use to mean "the whole table" (upstream's `math.MaxInt32`).
pub const WHOLE_TABLE_ENGINE_ID: i32 = i32::MAX;
/// Engine id of a table's index engine (data engines count up from 0).
pub const INDEX_ENGINE_ID: i32 = -1;

/// The run that made the checkpoint; a resumed run must match it (see [`crate::verify`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskCheckpoint {
    /// Task id (upstream: start time in nanoseconds); names the `.bak` of keep-after-success.
    pub task_id: i64,
    /// `mydumper.data-source-dir`.
    pub source_dir: String,
    /// `tikv-importer.backend` ("local", "tidb", "importer").
    pub backend: String,
    /// `tikv-importer.addr` (importer backend).
    pub importer_addr: String,
    /// `tidb.host`.
    pub tidb_host: String,
    /// `tidb.port`.
    pub tidb_port: i32,
    /// `tidb.pd-addr`.
    pub pd_addr: String,
    /// `tikv-importer.sorted-kv-dir` (local backend).
    pub sorted_kv_dir: String,
    /// Version of the Lightning that wrote the checkpoint.
    pub lightning_ver: String,
}

impl TaskCheckpoint {
    /// The task checkpoint a run with this (validated) config would write.
    pub fn from_config(cfg: &lightning_config::Config, task_id: i64, lightning_ver: &str) -> Self {
        TaskCheckpoint {
            task_id,
            source_dir: cfg.mydumper.data_source_dir.clone(),
            backend: cfg.tikv_importer.backend.as_str().to_string(),
            importer_addr: cfg.tikv_importer.addr.clone(),
            tidb_host: cfg.tidb.host.clone(),
            tidb_port: i32::try_from(cfg.tidb.port).unwrap_or(i32::MAX),
            pd_addr: cfg.tidb.pd_addr.clone(),
            sorted_kv_dir: cfg.tikv_importer.sorted_kv_dir.clone(),
            lightning_ver: lightning_ver.to_string(),
        }
    }
}

/// Fingerprint of what a table is imported from: the first 16 bytes digest its schema, the last
/// 16 its data files (path, size, modification time). Stored in upstream's `hash binary(32)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TableHash(pub [u8; 32]);

/// One data file as seen when the checkpoint was made, for [`TableHash::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp<'a> {
    /// Path relative to the data source.
    pub path: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// Modification time (any fixed unit, e.g. Unix nanoseconds); 0 when unknown.
    pub mtime: i64,
}

impl TableHash {
    /// All zeros: "unknown", never reported as changed.
    pub const UNKNOWN: TableHash = TableHash([0; 32]);

    /// Digests a table's schema (CREATE TABLE text or table-info JSON) and its data files.
    pub fn of<'a>(schema: &[u8], files: impl IntoIterator<Item = FileStamp<'a>>) -> Self {
        let mut files: Vec<FileStamp<'a>> = files.into_iter().collect();
        files.sort_by(|a, b| a.path.cmp(b.path));
        let mut fh = Sha256::new();
        for f in &files {
            fh.update((f.path.len() as u64).to_le_bytes());
            fh.update(f.path.as_bytes());
            fh.update(f.size.to_le_bytes());
            fh.update(f.mtime.to_le_bytes());
        }
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&Sha256::digest(schema)[..16]);
        out[16..].copy_from_slice(&fh.finalize()[..16]);
        TableHash(out)
    }

    /// True for [`TableHash::UNKNOWN`].
    pub fn is_unknown(&self) -> bool {
        self.0 == [0; 32]
    }

    /// The schema half.
    pub fn schema_part(&self) -> &[u8] {
        &self.0[..16]
    }

    /// The data-files half.
    pub fn files_part(&self) -> &[u8] {
        &self.0[16..]
    }

    /// Upper-case hex, as upstream's dump shows `hex(hash)`.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Parses [`TableHash::to_hex`] output (either case); `None` when malformed.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(TableHash(out))
    }

    /// From raw bytes read back from a database; shorter input is zero-padded.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut out = [0u8; 32];
        let n = bytes.len().min(32);
        out[..n].copy_from_slice(&bytes[..n]);
        TableHash(out)
    }
}

impl fmt::Debug for TableHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableHash({})", self.to_hex())
    }
}

impl Serialize for TableHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for TableHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TableHash::from_hex(&s).ok_or_else(|| serde::de::Error::custom("bad table hash"))
    }
}

/// A table to record at [`crate::CheckpointStore::initialize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInit {
    /// Unique name, `` `db`.`tbl` `` (see [`unique_table_name`]).
    pub name: String,
    /// Target table id; 0 when not known yet.
    pub table_id: i64,
    /// Fingerprint of schema and files; [`TableHash::UNKNOWN`] skips the change check.
    pub hash: TableHash,
    /// Desired table info as JSON (upstream stores it only with add-index-by-sql); may be empty.
    pub table_info: String,
}

/// A table's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableCheckpoint {
    /// Table status.
    pub status: CheckpointStatus,
    /// Fingerprint recorded at initialization.
    pub hash: TableHash,
    /// Target table id.
    pub table_id: i64,
    /// Desired table info JSON (may be empty).
    pub table_info: String,
    /// Engines by id ([`INDEX_ENGINE_ID`] = index engine).
    pub engines: BTreeMap<i32, EngineCheckpoint>,
    /// Checksum of the target table before the import (upstream's "remote checksum").
    pub checksum: Checksum,
    /// Largest auto-random id used (without shard bits).
    pub auto_rand_base: i64,
    /// Largest AUTO_INCREMENT id used.
    pub auto_incr_base: i64,
    /// Largest `_tidb_rowid` used.
    pub auto_row_id_base: i64,
}

impl TableCheckpoint {
    /// Total chunks over all engines.
    pub fn count_chunks(&self) -> usize {
        self.engines.values().map(|e| e.chunks.len()).sum()
    }
}

/// An engine's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EngineCheckpoint {
    /// Engine status.
    pub status: CheckpointStatus,
    /// Chunks, sorted by [`ChunkKey`].
    pub chunks: Vec<ChunkCheckpoint>,
}

/// Identifies a chunk: its file and start offset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct ChunkKey {
    /// Path of the data file.
    pub path: String,
    /// Byte offset where the chunk starts.
    pub offset: i64,
}

impl fmt::Display for ChunkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.offset)
    }
}

/// The data file a chunk comes from, as upstream's `SourceFileMeta`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileMeta {
    /// Upstream's `mydump.SourceType` code (3 = SQL, 4 = CSV, 5 = Parquet).
    pub file_type: i32,
    /// Upstream's `mydump.Compression` code (0 = none, 1 = gzip, …).
    pub compression: i32,
    /// Sort key among the table's files.
    pub sort_key: String,
    /// File size in bytes (compressed size for compressed files).
    pub file_size: i64,
}

/// Where reading a chunk stands, as upstream's `mydump.Chunk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChunkPosition {
    /// Current position in the (decompressed) stream: where to resume.
    pub offset: i64,
    /// Position in the file on disk (differs from `offset` for compressed files).
    pub real_offset: i64,
    /// Where the chunk ends.
    pub end_offset: i64,
    /// Last row id used so far.
    pub prev_rowid_max: i64,
    /// Largest row id the chunk may use.
    pub rowid_max: i64,
}

/// Order-free KV checksum (same fields as `lightning_encode::KvChecksum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Checksum {
    /// XOR of per-pair CRC-64s.
    pub crc: u64,
    /// Number of pairs.
    pub kvs: u64,
    /// Total bytes of keys and values.
    pub bytes: u64,
}

/// A chunk's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChunkCheckpoint {
    /// File and start offset.
    pub key: ChunkKey,
    /// The data file.
    pub file: FileMeta,
    /// Where each file column goes in the table (empty = not decided yet).
    pub column_permutation: Vec<i32>,
    /// Progress.
    pub chunk: ChunkPosition,
    /// Checksum of what was encoded so far.
    pub checksum: Checksum,
    /// Unix seconds when the chunk was first recorded.
    pub timestamp: i64,
}

/// A failed table whose checkpoint `destroy_error` deleted; the caller drops its data and
/// cleans up engines `min_engine_id..=max_engine_id` (empty range `0..=-1` when it had none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyedTable {
    /// Unique table name.
    pub table_name: String,
    /// Smallest engine id.
    pub min_engine_id: i32,
    /// Largest engine id.
    pub max_engine_id: i32,
}

/// Which tables a maintenance command touches: `all` or one `` `db`.`tbl` ``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSelector {
    /// Every table.
    All,
    /// One table, by unique name.
    Table(String),
}

impl TableSelector {
    /// Parses a `tidb-lightning-ctl` argument: `all`, or a unique table name.
    pub fn parse(arg: &str) -> Self {
        if arg == "all" {
            TableSelector::All
        } else {
            TableSelector::Table(arg.to_string())
        }
    }

    /// True when `name` is selected.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            TableSelector::All => true,
            TableSelector::Table(t) => t == name,
        }
    }
}

/// Upstream's unique table name: `` `db`.`tbl` ``, backquotes inside names doubled.
pub fn unique_table_name(db: &str, table: &str) -> String {
    format!("`{}`.`{}`", db.replace('`', "``"), table.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_quote_backquotes() {
        assert_eq!(unique_table_name("db", "t"), "`db`.`t`");
        assert_eq!(unique_table_name("a`b", "c"), "`a``b`.`c`");
    }

    #[test]
    fn hash_halves_track_schema_and_files_separately() {
        let f = |size| FileStamp {
            path: "db.t.0.sql",
            size,
            mtime: 7,
        };
        let a = TableHash::of(b"CREATE TABLE t (a INT)", [f(10)]);
        let b = TableHash::of(b"CREATE TABLE t (a INT)", [f(11)]);
        let c = TableHash::of(b"CREATE TABLE t (a BIGINT)", [f(10)]);
        assert_eq!(a.schema_part(), b.schema_part());
        assert_ne!(a.files_part(), b.files_part());
        assert_ne!(a.schema_part(), c.schema_part());
        assert_eq!(a.files_part(), c.files_part());
        assert!(!a.is_unknown());
        assert_eq!(TableHash::from_hex(&a.to_hex()), Some(a));
        assert_eq!(TableHash::from_hex("zz"), None);
        // File order does not matter.
        let g = FileStamp {
            path: "db.t.1.sql",
            size: 1,
            mtime: 0,
        };
        assert_eq!(TableHash::of(b"", [f(1), g]), TableHash::of(b"", [g, f(1)]));
    }

    #[test]
    fn selector() {
        assert_eq!(TableSelector::parse("all"), TableSelector::All);
        let one = TableSelector::parse("`db`.`t`");
        assert!(one.matches("`db`.`t`"));
        assert!(!one.matches("`db`.`u`"));
    }
}
