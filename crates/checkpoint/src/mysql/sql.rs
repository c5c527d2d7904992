//! Upstream's checkpoint tables (names, columns, keys) and the statements over them.
//! Tables use a binary collation so names and paths compare byte for byte on any server.

/// Task table (upstream `CheckpointTableNameTask`).
pub const TASK_TABLE: &str = "task_v2";
/// Table-checkpoint table (upstream `CheckpointTableNameTable`).
pub const TABLE_TABLE: &str = "table_v10";
/// Engine-checkpoint table (upstream `CheckpointTableNameEngine`).
pub const ENGINE_TABLE: &str = "engine_v5";
/// Chunk-checkpoint table (upstream `CheckpointTableNameChunk`).
pub const CHUNK_TABLE: &str = "chunk_v6";

/// Quotes an identifier with backquotes.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

const TABLE_OPTIONS: &str = "DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin";

/// Qualified names of the four tables of one checkpoint schema.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub schema: String,
    pub task: String,
    pub table: String,
    pub engine: String,
    pub chunk: String,
}

impl Names {
    pub(crate) fn new(schema: &str) -> Self {
        let q = quote(schema);
        Names {
            task: format!("{q}.{TASK_TABLE}"),
            table: format!("{q}.{TABLE_TABLE}"),
            engine: format!("{q}.{ENGINE_TABLE}"),
            chunk: format!("{q}.{CHUNK_TABLE}"),
            schema: q,
        }
    }

    /// `CREATE DATABASE` and the four `CREATE TABLE IF NOT EXISTS`.
    pub fn create(&self) -> Vec<String> {
        vec![
            format!("CREATE DATABASE IF NOT EXISTS {}", self.schema),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    id tinyint(1) PRIMARY KEY,
                    task_id bigint NOT NULL,
                    source_dir varchar(2048) NOT NULL,
                    backend varchar(16) NOT NULL,
                    importer_addr varchar(256),
                    tidb_host varchar(128) NOT NULL,
                    tidb_port int NOT NULL,
                    pd_addr varchar(128) NOT NULL,
                    sorted_kv_dir varchar(256) NOT NULL,
                    lightning_ver varchar(48) NOT NULL
                ) {TABLE_OPTIONS}",
                self.task
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    task_id bigint NOT NULL,
                    table_name varchar(261) NOT NULL PRIMARY KEY,
                    hash binary(32) NOT NULL,
                    status tinyint unsigned DEFAULT 30,
                    table_id bigint NOT NULL DEFAULT 0,
                    table_info longtext NOT NULL,
                    create_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
                    update_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                    kv_bytes bigint unsigned NOT NULL DEFAULT 0,
                    kv_kvs bigint unsigned NOT NULL DEFAULT 0,
                    kv_checksum bigint unsigned NOT NULL DEFAULT 0,
                    auto_rand_base bigint NOT NULL DEFAULT 0,
                    auto_incr_base bigint NOT NULL DEFAULT 0,
                    auto_row_id_base bigint NOT NULL DEFAULT 0,
                    INDEX(task_id)
                ) {TABLE_OPTIONS}",
                self.table
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    table_name varchar(261) NOT NULL,
                    engine_id int NOT NULL,
                    status tinyint unsigned DEFAULT 30,
                    create_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
                    update_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                    PRIMARY KEY(table_name, engine_id DESC)
                ) {TABLE_OPTIONS}",
                self.engine
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    table_name varchar(261) NOT NULL,
                    engine_id int unsigned NOT NULL,
                    path varchar(2048) NOT NULL,
                    `offset` bigint NOT NULL,
                    type int NOT NULL,
                    compression int NOT NULL,
                    sort_key varchar(256) NOT NULL,
                    file_size bigint NOT NULL,
                    columns text NULL,
                    should_include_row_id BOOL NOT NULL,
                    end_offset bigint NOT NULL,
                    pos bigint NOT NULL,
                    real_pos bigint NOT NULL,
                    prev_rowid_max bigint NOT NULL,
                    rowid_max bigint NOT NULL,
                    kvc_bytes bigint unsigned NOT NULL DEFAULT 0,
                    kvc_kvs bigint unsigned NOT NULL DEFAULT 0,
                    kvc_checksum bigint unsigned NOT NULL DEFAULT 0,
                    create_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
                    update_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                    PRIMARY KEY(table_name, engine_id, path(500), `offset`)
                ) {TABLE_OPTIONS}",
                self.chunk
            ),
        ]
    }

    pub fn read_task(&self) -> String {
        format!(
            "SELECT task_id, source_dir, backend, importer_addr, tidb_host, tidb_port, pd_addr, \
             sorted_kv_dir, lightning_ver FROM {} WHERE id = 1",
            self.task
        )
    }

    pub fn replace_task(&self) -> String {
        format!(
            "REPLACE INTO {} (id, task_id, source_dir, backend, importer_addr, tidb_host, tidb_port, \
             pd_addr, sorted_kv_dir, lightning_ver) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.task
        )
    }

    pub fn insert_table(&self) -> String {
        format!(
            "INSERT INTO {} (task_id, table_name, hash, status, table_id, table_info) \
             VALUES (?, ?, ?, 30, ?, ?)",
            self.table
        )
    }

    pub fn read_table(&self) -> String {
        format!(
            "SELECT status, hash, table_id, table_info, kv_bytes, kv_kvs, kv_checksum, \
             auto_rand_base, auto_incr_base, auto_row_id_base FROM {} WHERE table_name = ?",
            self.table
        )
    }

    pub fn read_engines(&self) -> String {
        format!(
            "SELECT engine_id, status FROM {} WHERE table_name = ? ORDER BY engine_id DESC",
            self.engine
        )
    }

    pub fn read_chunks(&self) -> String {
        format!(
            "SELECT engine_id, path, `offset`, type, compression, sort_key, file_size, columns, \
             pos, real_pos, end_offset, prev_rowid_max, rowid_max, kvc_bytes, kvc_kvs, kvc_checksum, \
             CAST(UNIX_TIMESTAMP(create_time) AS SIGNED) FROM {} WHERE table_name = ? \
             ORDER BY engine_id, path, `offset`",
            self.chunk
        )
    }

    pub fn replace_engine(&self) -> String {
        format!(
            "REPLACE INTO {} (table_name, engine_id, status) VALUES (?, ?, ?)",
            self.engine
        )
    }

    pub fn replace_chunk(&self) -> String {
        format!(
            "REPLACE INTO {} (table_name, engine_id, path, `offset`, type, compression, sort_key, \
             file_size, columns, should_include_row_id, pos, real_pos, end_offset, prev_rowid_max, \
             rowid_max, kvc_bytes, kvc_kvs, kvc_checksum, create_time) VALUES \
             (?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(GREATEST(?, 1)))",
            self.chunk
        )
    }

    pub fn update_chunk(&self) -> String {
        format!(
            "UPDATE {} SET pos = ?, real_pos = ?, prev_rowid_max = ?, kvc_bytes = ?, kvc_kvs = ?, \
             kvc_checksum = ?, columns = ? \
             WHERE table_name = ? AND engine_id = ? AND path = ? AND `offset` = ?",
            self.chunk
        )
    }

    pub fn update_rebase(&self) -> String {
        format!(
            "UPDATE {} SET auto_rand_base = GREATEST(?, auto_rand_base), \
             auto_incr_base = GREATEST(?, auto_incr_base), \
             auto_row_id_base = GREATEST(?, auto_row_id_base) WHERE table_name = ?",
            self.table
        )
    }

    /// `DELETE FROM <table> WHERE table_name = ?` for each of chunk, engine, table.
    pub fn delete_table_rows(&self) -> [String; 3] {
        [&self.chunk, &self.engine, &self.table]
            .map(|t| format!("DELETE FROM {t} WHERE table_name = ?"))
    }

    pub fn dump_tables(&self) -> String {
        format!(
            "SELECT task_id, table_name, HEX(hash), status, create_time, update_time, auto_rand_base, \
             auto_incr_base, auto_row_id_base FROM {} ORDER BY table_name",
            self.table
        )
    }

    pub fn dump_engines(&self) -> String {
        format!(
            "SELECT table_name, engine_id, status, create_time, update_time FROM {} \
             ORDER BY table_name, engine_id",
            self.engine
        )
    }

    pub fn dump_chunks(&self) -> String {
        format!(
            "SELECT table_name, engine_id, path, `offset`, type, compression, sort_key, file_size, \
             columns, pos, real_pos, end_offset, prev_rowid_max, rowid_max, kvc_bytes, kvc_kvs, \
             kvc_checksum, create_time, update_time FROM {} ORDER BY table_name, engine_id, path, `offset`",
            self.chunk
        )
    }
}
