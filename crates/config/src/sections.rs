//! The TOML sections other than `[mydumper]`, with upstream's keys and defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::enums::{Backend, ConflictStrategy, KeepStrategy, MaxError, PauseScope, PostOpLevel};
use crate::units::{duration, size};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// `[lightning]`: logging, server mode and the concurrency knobs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Lightning {
    /// Log level: debug, info, warn, error, fatal (default "info"; "warning" means warn).
    pub level: String,
    /// Log file; empty means the binary picks one (upstream: a timestamped file in the temp dir).
    pub file: String,
    /// Log format: "text" (default, empty) or "json".
    pub format: String,
    /// Rotate the log file above this many MB (default 512).
    pub max_size: u64,
    /// Keep rotated logs this many days (default 7).
    pub max_days: u64,
    /// Keep at most this many rotated logs (0 = all).
    pub max_backups: u64,
    /// HTTP status/metrics/pprof listen address, e.g. ":8289" (empty = disabled).
    pub status_addr: String,
    /// Legacy alias for `status-addr` (":<port>").
    pub pprof_port: u16,
    /// Wait for tasks over HTTP instead of importing right away.
    pub server_mode: bool,
    /// Check cluster versions and free space before starting (default true).
    pub check_requirements: bool,
    /// Tables imported at once; 0 = derived from the backend (6 physical, region-concurrency for tidb).
    pub table_concurrency: usize,
    /// Index engines open at once; 0 = derived (2 physical, region-concurrency for tidb).
    pub index_concurrency: usize,
    /// Chunks encoded at once; 0 = number of CPUs.
    pub region_concurrency: usize,
    /// Concurrent file reads (default 5).
    pub io_concurrency: usize,
    /// Error budgets per kind.
    pub max_error: MaxError,
    /// Deprecated: use `conflict.max-record-rows` (-1 = unset).
    pub max_error_records: i64,
    /// Schema for parallel-import metadata (default "lightning_metadata").
    pub meta_schema_name: String,
    /// Schema where errors and conflicts are recorded (default "lightning_task_info").
    pub task_info_schema_name: String,
}

impl Default for Lightning {
    fn default() -> Self {
        Lightning {
            level: "info".into(),
            file: String::new(),
            format: String::new(),
            max_size: 512,
            max_days: 7,
            max_backups: 0,
            status_addr: String::new(),
            pprof_port: 0,
            server_mode: false,
            check_requirements: true,
            table_concurrency: 0,
            index_concurrency: 0,
            region_concurrency: 0,
            io_concurrency: 5,
            max_error: MaxError::default(),
            max_error_records: -1,
            meta_schema_name: "lightning_metadata".into(),
            task_info_schema_name: "lightning_task_info".into(),
        }
    }
}

/// Region size TiKV splits at, used when `region-split-size` is 0.
pub const DEFAULT_REGION_SPLIT_SIZE: u64 = 96 * MIB;
/// Region key count TiKV splits at, used when `region-split-keys` is 0.
pub const DEFAULT_REGION_SPLIT_KEYS: u64 = 1_280_000;

/// `[tikv-importer]`: the backend and its tuning.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct TikvImporter {
    /// The backend (default local).
    pub backend: Backend,
    /// `host:port` of tikv-importer (importer backend).
    pub addr: String,
    /// Deprecated: use `conflict.strategy`.
    pub on_duplicate: ConflictStrategy,
    /// Deprecated: use `conflict.strategy`.
    pub duplicate_resolution: ConflictStrategy,
    /// Very old boolean duplicate detection switch (local backend); kept for compatibility.
    pub duplicate_detection: bool,
    /// KV pairs per write batch of the importer/local writer (default 4096).
    pub max_kv_pairs: u64,
    /// KV pairs per gRPC write message (default 32768; deprecated upstream).
    pub send_kv_pairs: u64,
    /// Bytes per gRPC write message (default 16 KiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub send_kv_size: u64,
    /// gRPC compression of KV pairs: "" or "gzip".
    pub compress_kv_pairs: String,
    /// Target range size; 0 = TiKV's region size, else 96 MiB.
    #[serde(deserialize_with = "size::deserialize")]
    pub region_split_size: u64,
    /// Target range key count; 0 = 1,280,000.
    pub region_split_keys: u64,
    /// Regions split per PD batch (default 4096).
    pub region_split_batch_size: u64,
    /// Concurrent split requests; 0 = number of CPUs.
    pub region_split_concurrency: usize,
    /// Retries while waiting for split regions to be ready (default 1800).
    pub region_check_backoff_limit: u64,
    /// Local sort directory (required by the local backend).
    pub sorted_kv_dir: String,
    /// Soft limit of disk used under sorted-kv-dir (default unlimited).
    #[serde(deserialize_with = "size::deserialize")]
    pub disk_quota: u64,
    /// Ranges written/ingested at once (default 16).
    pub range_concurrency: usize,
    /// Deprecated alias of `parallel-import`.
    pub incremental_import: bool,
    /// Several Lightning instances import into the same tables.
    pub parallel_import: bool,
    /// Keyspace of the target cluster (API v2).
    pub keyspace_name: String,
    /// Create plain secondary indexes with `ALTER TABLE … ADD` after the data; unset means
    /// the backend's default (see [`TikvImporter::add_index_by_sql`]).
    #[serde(rename = "add-index-by-sql")]
    pub add_index_by_sql_key: Option<bool>,
    /// Memory cache per open engine (default 512 MiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub engine_mem_cache_size: u64,
    /// Memory cache per local writer (default 128 MiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub local_writer_mem_cache_size: u64,
    /// Write bandwidth limit per TiKV store; 0 = unlimited.
    #[serde(deserialize_with = "size::deserialize")]
    pub store_write_bwlimit: u64,
    /// Max bytes per INSERT statement or load batch of the tidb backend (default 1 MiB;
    /// upstream's is 96 KiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub logical_import_batch_size: u64,
    /// Max rows per INSERT statement of the tidb backend (default 65536).
    pub logical_import_batch_rows: u64,
    /// Use prepared statements in the tidb backend.
    pub logical_import_prep_stmt: bool,
    /// Our extension: let the tidb backend stream rows with `LOAD DATA LOCAL INFILE` when
    /// the target allows it (MySQL/MariaDB with `local_infile` on; never TiDB).
    pub logical_import_load_data: bool,
    /// Our extension: on MariaDB 10.2 or later, send those batches as one prepared `INSERT`
    /// run for many rows (`COM_STMT_BULK_EXECUTE`) instead, which costs the server less.
    pub logical_import_bulk: bool,
    /// Scope of PD scheduler pausing (default table).
    pub pause_pd_scheduler_scope: PauseScope,
    /// SST block size (default 16 KiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub block_size: u64,
}

impl Default for TikvImporter {
    fn default() -> Self {
        TikvImporter {
            backend: Backend::Local,
            addr: String::new(),
            on_duplicate: ConflictStrategy::None,
            duplicate_resolution: ConflictStrategy::None,
            duplicate_detection: false,
            max_kv_pairs: 4096,
            send_kv_pairs: 32768,
            send_kv_size: 16 * KIB,
            compress_kv_pairs: String::new(),
            region_split_size: 0,
            region_split_keys: 0,
            region_split_batch_size: 4096,
            region_split_concurrency: 0,
            region_check_backoff_limit: 1800,
            sorted_kv_dir: String::new(),
            disk_quota: crate::enums::UNLIMITED,
            range_concurrency: 16,
            incremental_import: false,
            parallel_import: false,
            keyspace_name: String::new(),
            add_index_by_sql_key: None,
            engine_mem_cache_size: 512 * MIB,
            local_writer_mem_cache_size: 128 * MIB,
            store_write_bwlimit: 0,
            logical_import_batch_size: MIB,
            logical_import_batch_rows: 65536,
            logical_import_prep_stmt: false,
            logical_import_load_data: true,
            logical_import_bulk: true,
            pause_pd_scheduler_scope: PauseScope::Table,
            block_size: 16 * KIB,
        }
    }
}

impl TikvImporter {
    /// Whether plain secondary indexes are added after the data: `add-index-by-sql`, by
    /// default on for the tidb backend (the server sorts each index once instead of
    /// inserting into it row by row) and off for the others.
    pub fn add_index_by_sql(&self) -> bool {
        self.add_index_by_sql_key
            .unwrap_or(self.backend == crate::Backend::Tidb)
    }
}

/// `[conflict]`: primary/unique key conflict handling.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Conflict {
    /// Strategy; `on-duplicate` is accepted as an alias key.
    #[serde(alias = "on-duplicate")]
    pub strategy: ConflictStrategy,
    /// Detect conflicts before importing (physical backends only).
    pub precheck_conflict_before_import: bool,
    /// Conflicts tolerated; -1 = derived (0 for error/none, 10000 for replace/ignore).
    pub threshold: i64,
    /// Conflicting rows recorded; -1 = derived from threshold.
    pub max_record_rows: i64,
}

impl Default for Conflict {
    fn default() -> Self {
        Conflict {
            strategy: ConflictStrategy::None,
            precheck_conflict_before_import: false,
            threshold: -1,
            max_record_rows: -1,
        }
    }
}

/// `[tidb]`: the target SQL server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Tidb {
    /// SQL host (default 127.0.0.1).
    pub host: String,
    /// SQL port (default 4000); validated to fit a u16, kept wider so a bad file value can be
    /// overridden by a flag before validation, as upstream allows.
    pub port: u32,
    /// SQL user (default root).
    pub user: String,
    /// SQL password (never logged).
    pub password: String,
    /// TiDB status port, used to discover the PD address (default 10080).
    pub status_port: u32,
    /// PD address(es), comma separated; empty = ask TiDB's status port.
    pub pd_addr: String,
    /// SQL mode for encoding and the tidb backend.
    pub sql_mode: String,
    /// TLS to the SQL server: "", "false", "cluster", "skip-verify", "preferred".
    pub tls: String,
    /// Per-connection TLS overriding `[security]`.
    pub security: Option<Security>,
    /// Max packet the client sends (default 64 MiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub max_allowed_packet: u64,
    /// TiDB's own log level while Lightning embeds its code (default "error").
    pub log_level: String,
    /// `tidb_build_stats_concurrency` during analyze (default 20).
    pub build_stats_concurrency: usize,
    /// `tidb_distsql_scan_concurrency` during checksum (default 15).
    pub distsql_scan_concurrency: usize,
    /// `tidb_index_serial_scan_concurrency` (default 20).
    pub index_serial_scan_concurrency: usize,
    /// `tidb_checksum_table_concurrency` (default 2).
    pub checksum_table_concurrency: usize,
    /// Extra session variables set on every connection.
    pub session_vars: BTreeMap<String, String>,
}

impl Default for Tidb {
    fn default() -> Self {
        Tidb {
            host: "127.0.0.1".into(),
            port: 4000,
            user: "root".into(),
            password: String::new(),
            status_port: 10080,
            pd_addr: String::new(),
            sql_mode: "ONLY_FULL_GROUP_BY,NO_AUTO_CREATE_USER".into(),
            tls: String::new(),
            security: None,
            max_allowed_packet: 64 * MIB,
            log_level: "error".into(),
            build_stats_concurrency: 20,
            distsql_scan_concurrency: 15,
            index_serial_scan_concurrency: 20,
            checksum_table_concurrency: 2,
            session_vars: BTreeMap::new(),
        }
    }
}

/// `[checkpoint]`: where progress is saved so a killed run can resume.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Checkpoint {
    /// Save checkpoints (default true).
    pub enable: bool,
    /// Database (mysql driver) or file stem (default "tidb_lightning_checkpoint").
    pub schema: String,
    /// "file" (default) or "mysql".
    pub driver: String,
    /// File path or MySQL DSN; empty = derived (file: /tmp/<schema>.pb, mysql: the [tidb] server).
    pub dsn: String,
    /// What to do with checkpoints after success (also the old boolean form).
    pub keep_after_success: KeepStrategy,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            enable: true,
            schema: "tidb_lightning_checkpoint".into(),
            driver: "file".into(),
            dsn: String::new(),
            keep_after_success: KeepStrategy::Remove,
        }
    }
}

/// `[post-restore]`: steps after the data is in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct PostRestore {
    /// Compare checksums (default required; booleans accepted).
    pub checksum: PostOpLevel,
    /// Run ANALYZE TABLE (default optional; booleans accepted).
    pub analyze: PostOpLevel,
    /// Level-1 compaction after each table (deprecated upstream).
    pub level_1_compact: bool,
    /// Full compaction after each table.
    pub compact: bool,
    /// Run checksum/analyze after all tables are imported (default true).
    pub post_process_at_last: bool,
    /// Use `ADMIN CHECKSUM TABLE` instead of the coprocessor request.
    pub checksum_via_sql: bool,
}

impl Default for PostRestore {
    fn default() -> Self {
        PostRestore {
            checksum: PostOpLevel::Required,
            analyze: PostOpLevel::Optional,
            level_1_compact: false,
            compact: false,
            post_process_at_last: true,
            checksum_via_sql: false,
        }
    }
}

/// `[cron]`: periodic background jobs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Cron {
    /// Re-assert TiKV import mode this often (default 5m).
    #[serde(deserialize_with = "duration::deserialize")]
    pub switch_mode: Duration,
    /// Log progress this often (default 5m).
    #[serde(deserialize_with = "duration::deserialize")]
    pub log_progress: Duration,
    /// Check the local backend's disk quota this often (default 1m).
    #[serde(deserialize_with = "duration::deserialize")]
    pub check_disk_quota: Duration,
}

impl Default for Cron {
    fn default() -> Self {
        Cron {
            switch_mode: Duration::from_secs(300),
            log_progress: Duration::from_secs(300),
            check_disk_quota: Duration::from_secs(60),
        }
    }
}

/// `[security]`: TLS files for the cluster connections.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Security {
    /// CA certificate (PEM).
    pub ca_path: String,
    /// Client certificate (PEM).
    pub cert_path: String,
    /// Client private key (PEM).
    pub key_path: String,
    /// Hide user data in logs.
    pub redact_info_log: bool,
}

/// One `[[routes]]` rule: rename matching source schemas/tables.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Route {
    /// Wildcard pattern (`*`, `?`) on the source schema.
    pub schema_pattern: String,
    /// Wildcard pattern on the source table; empty = schema-level rule.
    pub table_pattern: String,
    /// Target schema.
    pub target_schema: String,
    /// Target table; empty = keep the name.
    pub target_table: String,
}

/// One `{ db-name, tbl-name }` entry of the old `[black-white-list]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct TableRef {
    /// Schema name, or a regex when it starts with `~`.
    pub db_name: String,
    /// Table name, or a regex when it starts with `~`.
    pub tbl_name: String,
}

/// The deprecated `[black-white-list]` (MySQL replication-rule style filter).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct BlackWhiteList {
    /// Schemas to import (names or `~regex`).
    pub do_dbs: Vec<String>,
    /// Schemas to skip.
    pub ignore_dbs: Vec<String>,
    /// Tables to import.
    pub do_tables: Vec<TableRef>,
    /// Tables to skip.
    pub ignore_tables: Vec<TableRef>,
}

impl BlackWhiteList {
    /// True when any rule is set (then it replaces `mydumper.filter`).
    pub fn is_set(&self) -> bool {
        !(self.do_dbs.is_empty()
            && self.ignore_dbs.is_empty()
            && self.do_tables.is_empty()
            && self.ignore_tables.is_empty())
    }
}
