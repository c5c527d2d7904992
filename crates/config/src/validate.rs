//! Cross-key checks and derived defaults, following upstream's `Adjust` order:
//! importer, lightning, mydumper, post-restore, tidb, checkpoint, routes, conflict.

use std::path::Path;

use crate::enums::{Backend, ConflictStrategy, PostOpLevel};
use crate::mydumper::DEFAULT_FILTER;
use crate::{Config, ConfigError};

/// Storage URL schemes upstream accepts for `data-source-dir`.
const STORAGE_SCHEMES: &[&str] = &[
    "file", "local", "s3", "noop", "gcs", "gs", "azure", "azblob",
];

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

impl Config {
    /// Checks ranges, enum values and combinations, and fills derived defaults. Idempotent.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        self.refuse_unbuilt()?;
        self.adjust_importer()?;
        self.adjust_lightning()?;
        self.adjust_mydumper()?;
        if self.tikv_importer.backend == Backend::Tidb {
            let p = &mut self.post_restore;
            p.checksum = PostOpLevel::Off;
            p.analyze = PostOpLevel::Off;
            p.compact = false;
            p.checksum_via_sql = false;
        }
        self.adjust_tidb()?;
        self.adjust_checkpoint()?;
        self.adjust_routes()?;
        let sec = &self.security;
        if sec.cert_path.is_empty() != sec.key_path.is_empty() {
            let (key, value) = if sec.key_path.is_empty() {
                ("security.key-path", "")
            } else {
                ("security.cert-path", "")
            };
            return Err(ConfigError::value(
                key,
                value,
                "security.cert-path and security.key-path go together: set both or neither",
            ));
        }
        self.adjust_conflict()
    }

    /// Upstream keys this build reads but cannot act on yet: any value other than the
    /// one that matches what it does is refused (exit 2), naming the key, so that no
    /// setting is silently ignored. Runs before derived values are filled, and accepts
    /// those too (validation is idempotent).
    fn refuse_unbuilt(&self) -> Result<(), ConfigError> {
        let (l, t, m, d) = (
            &self.lightning,
            &self.tikv_importer,
            &self.mydumper,
            &self.tidb,
        );
        let physical = t.backend != Backend::Tidb;
        let e = &l.max_error;
        let def = Config::default();
        let (dl, dt, dm, dd) = (&def.lightning, &def.tikv_importer, &def.mydumper, &def.tidb);
        let limits = &dl.max_error;
        // Zero asks for the default where upstream derives it.
        let default_or_zero = |v: usize, d: usize| v == 0 || v == d;
        let parallel = "parallel import (several instances into one table) is not built yet";
        let post = "compaction after the import is not built";
        let logs = "log files are not rotated: leave it at its default";
        let unused = "this build has no code that reads it";
        let checks: [(&str, bool, String, &str); 24] = [
            ("tikv-importer.backend", t.backend != Backend::Importer, "importer".into(),
             "tikv-importer is not built yet; use \"local\" (physical) or \"tidb\" (logical)"),
            ("lightning.max-size", l.max_size == dl.max_size, l.max_size.to_string(), logs),
            ("lightning.max-days", l.max_days == dl.max_days, l.max_days.to_string(), logs),
            ("lightning.max-backups", l.max_backups == dl.max_backups, l.max_backups.to_string(), logs),
            ("lightning.meta-schema-name",
             matches!(l.meta_schema_name.as_str(), "" | "lightning_metadata"),
             l.meta_schema_name.clone(), parallel),
            ("lightning.max-error-records", l.max_error_records == dl.max_error_records,
             l.max_error_records.to_string(), "deprecated upstream: use conflict.max-record-rows"),
            ("lightning.max-error.syntax", e.syntax == limits.syntax, e.syntax.to_string(),
             "syntax errors always stop the table, as upstream (only `type` is a budget)"),
            ("lightning.max-error.charset", e.charset == limits.charset, e.charset.to_string(),
             "only `type` is a budget in this build"),
            ("lightning.max-error.conflict", e.conflict == limits.conflict, e.conflict.to_string(),
             "deprecated upstream: use conflict.threshold"),
            ("tikv-importer.parallel-import", !(t.parallel_import || t.incremental_import),
             "true".into(), parallel),
            ("tikv-importer.keyspace-name", t.keyspace_name.is_empty(), t.keyspace_name.clone(),
             "keyspaces (API v2 key prefixes) are not built yet"),
            ("tikv-importer.compress-kv-pairs", t.compress_kv_pairs.is_empty(),
             t.compress_kv_pairs.clone(), "gRPC compression of KV pairs is not built yet"),
            ("tikv-importer.region-check-backoff-limit", t.region_check_backoff_limit == dt.region_check_backoff_limit,
             t.region_check_backoff_limit.to_string(), unused),
            ("tikv-importer.block-size", t.block_size == 0 || t.block_size == dt.block_size,
             t.block_size.to_string(), "SST blocks have a fixed size in this build"),
            ("tikv-importer.logical-import-prep-stmt", !t.logical_import_prep_stmt,
             "true".into(), "the tidb backend sends literal statements (or LOAD DATA)"),
            ("conflict.precheck-conflict-before-import",
             !self.conflict.precheck_conflict_before_import, "true".into(),
             "conflicts are detected while the engines are imported, not before"),
            ("tidb.max-allowed-packet", d.max_allowed_packet == dd.max_allowed_packet,
             d.max_allowed_packet.to_string(),
             "statements follow logical-import-batch-size; the server's own max_allowed_packet applies"),
            ("tidb.log-level", d.log_level == dd.log_level, d.log_level.clone(),
             "there is no embedded TiDB to log"),
            ("tidb.build-stats-concurrency", default_or_zero(d.build_stats_concurrency, dd.build_stats_concurrency),
             d.build_stats_concurrency.to_string(), unused),
            ("tidb.distsql-scan-concurrency", default_or_zero(d.distsql_scan_concurrency, dd.distsql_scan_concurrency),
             d.distsql_scan_concurrency.to_string(), unused),
            ("tidb.index-serial-scan-concurrency",
             default_or_zero(d.index_serial_scan_concurrency, dd.index_serial_scan_concurrency),
             d.index_serial_scan_concurrency.to_string(), unused),
            ("tidb.checksum-table-concurrency", default_or_zero(d.checksum_table_concurrency, dd.checksum_table_concurrency),
             d.checksum_table_concurrency.to_string(), unused),
            ("post-restore.compact", !self.post_restore.compact, "true".into(), post),
            ("post-restore.level-1-compact", !self.post_restore.level_1_compact, "true".into(),
             post),
        ];
        let more: [(&str, bool, String, &str); 6] = [
            ("security.redact-info-log",
             !self.security.redact_info_log
                 && !d.security.as_ref().is_some_and(|s| s.redact_info_log),
             "true".into(), "log redaction is not built yet"),
            ("mydumper.source-id", m.source_id.is_empty(), m.source_id.clone(), parallel),
            ("mydumper.batch-import-ratio",
             m.batch_import_ratio == dm.batch_import_ratio || m.batch_import_ratio == 0.75,
             m.batch_import_ratio.to_string(), "engines are cut at batch-size alone"),
            ("mydumper.data-invalid-char-replace", m.data_invalid_char_replace == dm.data_invalid_char_replace,
             m.data_invalid_char_replace.clone(), unused),
            ("mydumper.ignore-data-columns", m.ignore_data_columns.is_empty(),
             format!("{} rules", m.ignore_data_columns.len()), "dropping columns is not built yet"),
            ("mydumper.data-character-set",
             !physical || matches!(m.data_character_set.as_str(), "" | "binary"),
             m.data_character_set.clone(),
             "the local backend imports the source bytes as they are; only the tidb backend converts"),
        ];
        for (key, ok, value, why) in checks.into_iter().chain(more) {
            if !ok {
                return Err(ConfigError::value(
                    key,
                    value,
                    format!("not supported: {why}"),
                ));
            }
        }
        Ok(())
    }

    /// Settings upstream's own test configs set that have no effect in this build: they
    /// are accepted, so those configs run, and each is named in a warning at start-up
    /// (`key`, value, why). Every other inert key is refused by [`Config::validate`].
    pub fn inert_settings(&self) -> Vec<(&'static str, String, &'static str)> {
        let (l, t) = (&self.lightning, &self.tikv_importer);
        let dt = Config::default().tikv_importer;
        let physical = t.backend != Backend::Tidb;
        let mut out = Vec::new();
        if physical && !matches!(l.index_concurrency, 0 | 2) {
            out.push((
                "lightning.index-concurrency",
                l.index_concurrency.to_string(),
                "each table in flight (table-concurrency) keeps one index engine open",
            ));
        }
        if t.max_kv_pairs != dt.max_kv_pairs {
            out.push((
                "tikv-importer.max-kv-pairs",
                t.max_kv_pairs.to_string(),
                "encoded rows go to the engine writers one by one, with no delivery batches",
            ));
        }
        if t.send_kv_pairs != dt.send_kv_pairs {
            out.push((
                "tikv-importer.send-kv-pairs",
                t.send_kv_pairs.to_string(),
                "deprecated upstream, where it has no effect either; send-kv-size applies",
            ));
        }
        if t.duplicate_detection {
            out.push((
                "tikv-importer.duplicate-detection",
                "true".into(),
                "removed upstream; conflict.strategy decides what happens to duplicates",
            ));
        }
        out
    }

    fn adjust_importer(&mut self) -> Result<(), ConfigError> {
        let t = &mut self.tikv_importer;
        if t.incremental_import {
            t.parallel_import = true;
        }
        match t.backend {
            Backend::Tidb => {
                if t.logical_import_batch_size == 0 {
                    return Err(ConfigError::value(
                        "tikv-importer.logical-import-batch-size",
                        0,
                        "should be larger than 0",
                    ));
                }
                if t.logical_import_batch_rows == 0 {
                    return Err(ConfigError::value(
                        "tikv-importer.logical-import-batch-rows",
                        0,
                        "should be larger than 0",
                    ));
                }
            }
            Backend::Local => {
                if t.region_split_batch_size == 0 {
                    return Err(ConfigError::value(
                        "tikv-importer.region-split-batch-size",
                        0,
                        "should be larger than 0",
                    ));
                }
                if t.region_split_concurrency == 0 {
                    t.region_split_concurrency = cpus();
                }
                if t.range_concurrency == 0 {
                    t.range_concurrency = 16;
                }
                if t.engine_mem_cache_size == 0 {
                    t.engine_mem_cache_size = 512 << 20;
                }
                if t.local_writer_mem_cache_size == 0 {
                    t.local_writer_mem_cache_size = 128 << 20;
                }
                if t.block_size == 0 {
                    t.block_size = 16 << 10;
                }
                if t.add_index_by_sql_key == Some(true) {
                    return Err(ConfigError::value(
                        "tikv-importer.add-index-by-sql",
                        true,
                        "is not implemented for backend \"local\" yet (the tidb backend has it)",
                    ));
                }
                if t.sorted_kv_dir.is_empty() {
                    return Err(invalid(
                        "tikv-importer.sorted-kv-dir must not be empty when backend is \"local\"",
                    ));
                }
                let dir = Path::new(&t.sorted_kv_dir);
                if dir.exists() && !dir.is_dir() {
                    return Err(ConfigError::value(
                        "tikv-importer.sorted-kv-dir",
                        &t.sorted_kv_dir,
                        "is not a directory",
                    ));
                }
            }
            Backend::Importer => {
                if t.addr.is_empty() {
                    return Err(invalid(
                        "tikv-importer.addr must not be empty when backend is \"importer\"",
                    ));
                }
            }
        }
        if t.duplicate_detection && t.backend != Backend::Local {
            return Err(ConfigError::value(
                "tikv-importer.duplicate-detection",
                true,
                format!("unsupported by backend {}", t.backend.as_str()),
            ));
        }
        if !matches!(
            t.compress_kv_pairs.to_ascii_lowercase().as_str(),
            "" | "gz" | "gzip"
        ) {
            return Err(ConfigError::value(
                "tikv-importer.compress-kv-pairs",
                &t.compress_kv_pairs,
                "choose '' or 'gzip'",
            ));
        }
        Ok(())
    }

    fn adjust_lightning(&mut self) -> Result<(), ConfigError> {
        let backend = self.tikv_importer.backend;
        let l = &mut self.lightning;
        l.level = l.level.to_ascii_lowercase();
        match l.level.as_str() {
            "" => l.level = "info".into(),
            "warning" => l.level = "warn".into(),
            "debug" | "info" | "warn" | "error" | "dpanic" | "panic" | "fatal" => {}
            _ => {
                return Err(ConfigError::value(
                    "lightning.level",
                    &l.level,
                    "choose one of: debug, info, warn, error, fatal",
                ))
            }
        }
        if l.io_concurrency == 0 {
            return Err(ConfigError::value(
                "lightning.io-concurrency",
                0,
                "must be positive",
            ));
        }
        if l.status_addr.is_empty() && l.pprof_port != 0 {
            l.status_addr = format!(":{}", l.pprof_port);
        }
        if l.server_mode && l.status_addr.is_empty() {
            return Err(invalid(
                "if server-mode is enabled, lightning.status-addr must be a valid listen address",
            ));
        }
        let cpus = cpus();
        if l.region_concurrency == 0 {
            l.region_concurrency = cpus;
        }
        match backend {
            Backend::Tidb => {
                if l.table_concurrency == 0 {
                    l.table_concurrency = l.region_concurrency;
                }
                if l.index_concurrency == 0 {
                    l.index_concurrency = l.region_concurrency;
                }
            }
            Backend::Local | Backend::Importer => {
                if l.index_concurrency == 0 {
                    l.index_concurrency = 2;
                }
                if l.table_concurrency == 0 {
                    l.table_concurrency = 6;
                }
                if l.meta_schema_name.is_empty() {
                    l.meta_schema_name = "lightning_metadata".into();
                }
                // More encoders than CPUs only adds contention for physical import.
                l.region_concurrency = l.region_concurrency.min(cpus);
            }
        }
        Ok(())
    }

    fn adjust_mydumper(&mut self) -> Result<(), ConfigError> {
        let m = &mut self.mydumper;
        let csv = &mut m.csv;
        if csv.separator.is_empty() {
            return Err(invalid("`mydumper.csv.separator` must not be empty"));
        }
        if !csv.delimiter.is_empty()
            && (csv.separator.starts_with(&csv.delimiter)
                || csv.delimiter.starts_with(&csv.separator))
        {
            return Err(invalid(
                "`mydumper.csv.separator` and `mydumper.csv.delimiter` must not be prefix of each other",
            ));
        }
        if csv.escaped_by.chars().count() > 1 {
            return Err(ConfigError::value(
                "mydumper.csv.escaped-by",
                &csv.escaped_by,
                "must be empty or a single character",
            ));
        }
        if csv.backslash_escape && csv.escaped_by.is_empty() {
            csv.escaped_by = "\\".into();
        }
        if !csv.backslash_escape && csv.escaped_by == "\\" {
            csv.escaped_by.clear();
        }
        if !csv.not_null && csv.null.is_empty() {
            csv.null = vec![String::new()];
        }
        if !csv.escaped_by.is_empty() {
            for (what, v) in [
                ("separator", &csv.separator),
                ("delimiter", &csv.delimiter),
                ("terminator", &csv.terminator),
            ] {
                if *v == csv.escaped_by {
                    return Err(invalid(format!(
                        "cannot use '{v}' both as CSV {what} and `mydumper.csv.escaped-by`"
                    )));
                }
            }
        }
        for (i, rule) in m.files.iter_mut().enumerate() {
            if rule.pattern.is_empty() && rule.path.is_empty() {
                return Err(invalid(format!(
                    "mydumper.files[{i}]: either `pattern` or `path` must be set"
                )));
            }
            if Path::new(&rule.path).is_absolute() {
                let rel = Path::new(&rule.path)
                    .strip_prefix(&m.data_source_dir)
                    .map_err(|_| {
                        invalid(format!(
                            "file route path '{}' is not in source dir '{}'",
                            rule.path, m.data_source_dir
                        ))
                    })?;
                rule.path = rel.to_string_lossy().into_owned();
            }
        }
        if m.files.is_empty() {
            m.default_file_rules = true;
        }
        if m.data_character_set.is_empty() {
            m.data_character_set = "binary".into();
        }
        m.data_character_set = m.data_character_set.to_ascii_lowercase();
        if !matches!(
            m.data_character_set.as_str(),
            "binary" | "utf8" | "utf8mb4" | "gb18030" | "gbk" | "latin1" | "ascii"
        ) {
            return Err(ConfigError::value(
                "mydumper.data-character-set",
                &m.data_character_set,
                "unsupported character set",
            ));
        }
        if m.character_set.is_empty() {
            m.character_set = "auto".into();
        }
        m.character_set = m.character_set.to_ascii_lowercase();
        if !matches!(
            m.character_set.as_str(),
            "auto" | "utf8" | "utf8mb4" | "binary" | "gb18030" | "gbk" | "latin1"
        ) {
            return Err(ConfigError::value(
                "mydumper.character-set",
                &m.character_set,
                "choose one of: auto, utf8mb4, binary, gb18030, gbk, latin1",
            ));
        }
        if !(0.0..1.0).contains(&m.batch_import_ratio) {
            m.batch_import_ratio = 0.75;
        }
        if m.read_block_size == 0 {
            m.read_block_size = 64 << 10;
        }
        if m.max_row_size < 1024 {
            return Err(ConfigError::value(
                "mydumper.max-row-size",
                m.max_row_size,
                "must be at least 1KiB",
            ));
        }
        if m.batch_size == 0 {
            m.batch_size = 100 << 30;
        }
        if m.max_region_size == 0 {
            return Err(ConfigError::value(
                "mydumper.max-region-size",
                0,
                "must be positive",
            ));
        }
        if self.black_white_list.is_set() {
            let default: Vec<String> = DEFAULT_FILTER.iter().map(|s| s.to_string()).collect();
            if m.filter != default {
                return Err(invalid(
                    "`mydumper.filter` and `black-white-list` cannot be simultaneously defined",
                ));
            }
        }
        if self.lightning.server_mode && m.data_source_dir.is_empty() {
            // A server's tasks bring their own (`POST /tasks`).
            return Ok(());
        }
        check_source_dir(&m.data_source_dir)
    }

    fn adjust_tidb(&mut self) -> Result<(), ConfigError> {
        let backend = self.tikv_importer.backend;
        let t = &mut self.tidb;
        if t.host.is_empty() {
            return Err(invalid("`tidb.host` must not be empty"));
        }
        if t.port == 0 || t.port > u32::from(u16::MAX) {
            return Err(ConfigError::value(
                "tidb.port",
                t.port,
                "invalid `tidb.port` setting",
            ));
        }
        if t.status_port > u32::from(u16::MAX) {
            return Err(ConfigError::value(
                "tidb.status-port",
                t.status_port,
                "invalid `tidb.status-port` setting",
            ));
        }
        if backend != Backend::Tidb {
            if t.build_stats_concurrency == 0 {
                t.build_stats_concurrency = 20;
            }
            if t.index_serial_scan_concurrency == 0 {
                t.index_serial_scan_concurrency = 20;
            }
            if t.checksum_table_concurrency == 0 {
                t.checksum_table_concurrency = 2;
            }
        }
        match t.tls.as_str() {
            "" | "false" | "skip-verify" | "preferred" => Ok(()),
            "cluster" if self.security.ca_path.is_empty() => Err(invalid(
                "cannot set `tidb.tls` to 'cluster' without a [security] section",
            )),
            "cluster" => Ok(()),
            other => Err(ConfigError::value(
                "tidb.tls",
                other,
                "choose one of: '', 'false', 'cluster', 'skip-verify', 'preferred'",
            )),
        }
    }

    fn adjust_checkpoint(&mut self) -> Result<(), ConfigError> {
        let c = &mut self.checkpoint;
        if c.schema.is_empty() {
            c.schema = "tidb_lightning_checkpoint".into();
        }
        if c.driver.is_empty() {
            c.driver = "file".into();
        }
        c.driver = c.driver.to_ascii_lowercase();
        match c.driver.as_str() {
            "file" if c.dsn.is_empty() => c.dsn = format!("/tmp/{}.pb", c.schema),
            // An empty MySQL DSN means: the [tidb] server.
            "file" | "mysql" => {}
            other => {
                return Err(ConfigError::value(
                    "checkpoint.driver",
                    other,
                    "choose 'file' or 'mysql'",
                ))
            }
        }
        Ok(())
    }

    fn adjust_routes(&mut self) -> Result<(), ConfigError> {
        for (i, r) in self.routes.iter().enumerate() {
            if r.schema_pattern.is_empty() {
                return Err(invalid(format!(
                    "routes[{i}]: schema-pattern must not be empty"
                )));
            }
            if r.table_pattern.is_empty() && !r.target_table.is_empty() {
                return Err(invalid(format!(
                    "routes[{i}]: target-table must be empty when table-pattern is empty"
                )));
            }
        }
        Ok(())
    }

    fn adjust_conflict(&mut self) -> Result<(), ConfigError> {
        let imp = &self.tikv_importer;
        let c = &mut self.conflict;
        let mut from = "conflict.strategy";
        if c.strategy == ConflictStrategy::None {
            if imp.on_duplicate != ConflictStrategy::None {
                from = "tikv-importer.on-duplicate";
                c.strategy = imp.on_duplicate;
            } else if imp.backend == Backend::Tidb {
                c.strategy = ConflictStrategy::Error;
            }
        }
        let mut from_resolution = false;
        if c.strategy == ConflictStrategy::None
            && imp.duplicate_resolution != ConflictStrategy::None
        {
            c.strategy = imp.duplicate_resolution;
            from_resolution = true;
        }
        if !from_resolution
            && c.strategy != ConflictStrategy::None
            && imp.duplicate_resolution != ConflictStrategy::None
        {
            return Err(invalid(format!(
                "{from} cannot be used with tikv-importer.duplicate-resolution"
            )));
        }
        if c.strategy == ConflictStrategy::Ignore && imp.backend == Backend::Local {
            return Err(invalid(format!(
                "{from} cannot be set to \"ignore\" when tikv-importer.backend = \"local\""
            )));
        }
        if c.precheck_conflict_before_import && imp.backend == Backend::Tidb {
            return Err(invalid(
                "conflict.precheck-conflict-before-import cannot be true when tikv-importer.backend = \"tidb\"",
            ));
        }
        if c.threshold < 0 {
            c.threshold = match c.strategy {
                ConflictStrategy::Error | ConflictStrategy::None => 0,
                ConflictStrategy::Ignore | ConflictStrategy::Replace => 10_000,
            };
        }
        if c.threshold > 0 && c.strategy == ConflictStrategy::Error {
            return Err(invalid(
                "conflict.threshold cannot be set when conflict.strategy = \"error\"",
            ));
        }
        let derived = if c.strategy == ConflictStrategy::Replace && imp.backend == Backend::Tidb {
            0
        } else {
            c.threshold
        };
        // Upstream overwrites a user's value with a warning; we refuse it rather than
        // ignore it (the derived value itself is accepted: validation is idempotent).
        if c.max_record_rows >= 0 && c.max_record_rows != derived {
            return Err(ConfigError::value(
                "conflict.max-record-rows",
                c.max_record_rows,
                format!(
                    "not supported: as upstream, the number of conflicts recorded follows \
                     conflict.threshold ({derived} here); set that instead"
                ),
            ));
        }
        c.max_record_rows = derived;
        Ok(())
    }
}

fn check_source_dir(dir: &str) -> Result<(), ConfigError> {
    if dir.is_empty() {
        return Err(invalid("`mydumper.data-source-dir` is not set"));
    }
    if let Some((scheme, _)) = dir.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if !STORAGE_SCHEMES.contains(&scheme.as_str()) {
            return Err(ConfigError::value(
                "mydumper.data-source-dir",
                dir,
                format!(
                    "unsupported storage type, use one of {}",
                    STORAGE_SCHEMES.join(",")
                ),
            ));
        }
        if scheme != "file" && scheme != "local" {
            return Ok(());
        }
        let path = &dir[scheme.len() + 3..];
        return check_local_dir(dir, path);
    }
    check_local_dir(dir, dir)
}

fn check_local_dir(raw: &str, path: &str) -> Result<(), ConfigError> {
    if Path::new(path).is_dir() {
        Ok(())
    } else {
        Err(ConfigError::value(
            "mydumper.data-source-dir",
            raw,
            "directory does not exist",
        ))
    }
}
