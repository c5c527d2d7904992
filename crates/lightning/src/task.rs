//! One import task from start to summary.

use crate::checkpoint::Checkpoints;
use crate::deferred::DeferredIndexes;
use crate::limits::{join_all, BlockingSemaphore, ErrorBudget, FairSlots, StopFlag};
use crate::progress::Progress;
use crate::reader::Formats;
use crate::table::{import_table, Ctx};
use crate::{schema, LightningError};
use lightning_backend::tidb::{ConnectOptions, OnDuplicate, SqlEncoderOptions, TidbTarget};
use lightning_checkpoint::unique_table_name;
use lightning_config::{Backend, Config, ConflictStrategy};
use lightning_parser::CsvOptions;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What one table's import did.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSummary {
    /// `` `db`.`table` ``.
    pub name: String,
    /// Rows written.
    pub rows: u64,
    /// Source bytes read.
    pub bytes: u64,
    /// Wall seconds.
    pub seconds: f64,
}

/// What the whole import did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportSummary {
    /// Per table, in completion order.
    pub tables: Vec<TableSummary>,
    /// Rows the target refused (each logged with file and offset), within `max-error`.
    pub refused_rows: u64,
    /// Wall seconds of the whole task.
    pub seconds: f64,
}

impl ImportSummary {
    /// Rows written in all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Source bytes read in all tables.
    pub fn bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mb_s = |b: u64, s: f64| b as f64 / 1e6 / s.max(1e-3);
        writeln!(
            f,
            "{:<40} {:>12} {:>14} {:>9} {:>9}",
            "table", "rows", "bytes", "seconds", "MB/s"
        )?;
        for t in &self.tables {
            writeln!(
                f,
                "{:<40} {:>12} {:>14} {:>9.2} {:>9.2}",
                t.name,
                t.rows,
                t.bytes,
                t.seconds,
                mb_s(t.bytes, t.seconds)
            )?;
        }
        writeln!(
            f,
            "{:<40} {:>12} {:>14} {:>9.2} {:>9.2}",
            format!("total ({} tables)", self.tables.len()),
            self.rows(),
            self.bytes(),
            self.seconds,
            mb_s(self.bytes(), self.seconds)
        )?;
        if self.refused_rows > 0 {
            writeln!(
                f,
                "{} rows were refused by the target (see the log for each file and offset)",
                self.refused_rows
            )?;
        }
        Ok(())
    }
}

/// Runs an import to completion.
pub async fn run(cfg: Config) -> Result<ImportSummary, LightningError> {
    run_with_stop(cfg, Arc::new(StopFlag::default())).await
}

/// Runs an import that stops early (with [`LightningError::Cancelled`]) once `stop` is set.
pub async fn run_with_stop(
    cfg: Config,
    stop: Arc<StopFlag>,
) -> Result<ImportSummary, LightningError> {
    crate::status::task_begun();
    let res = if cfg.tikv_importer.backend == Backend::Local {
        crate::local::run(cfg, stop).await
    } else {
        run_logical(cfg, stop).await
    };
    let error = res.as_ref().err().map(ToString::to_string);
    crate::status::task_finished(error.as_deref());
    res
}

/// [`run_with_stop`] for the logical (`tidb`) backend.
async fn run_logical(cfg: Config, stop: Arc<StopFlag>) -> Result<ImportSummary, LightningError> {
    let started = Instant::now();
    if cfg.tikv_importer.backend != Backend::Tidb {
        return Err(LightningError::Unsupported(format!(
            "backend \"{}\" is not implemented yet; use --backend tidb (the logical backend)",
            cfg.tikv_importer.backend.as_str()
        )));
    }
    let cfg = Arc::new(cfg);
    let scan_cfg = cfg.clone();
    let dump = tokio::task::spawn_blocking(move || lightning_source::scan(&scan_cfg))
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))??;
    let crate::checkpoint::TaskCheckpoints {
        store,
        task_id,
        started: started_tables,
    } = crate::checkpoint::open_task(&cfg, &dump).await?;
    let target = TidbTarget::connect(&connect_options(&cfg)).await?;
    tracing::info!(version = %target.version(), "connected to the target");
    let charset = cfg.mydumper.character_set.clone();
    let defer = cfg.tikv_importer.add_index_by_sql() && !cfg.mydumper.no_schema;
    let deferred =
        DeferredIndexes::open(&target, &cfg.lightning.task_info_schema_name, defer).await?;
    if !cfg.mydumper.no_schema {
        let d = deferred.as_ref().filter(|_| defer);
        schema::create_tables(&target, &dump, &charset, d).await?;
    }

    // Load every target table, then check the ones that must be empty are. Upstream's tidb
    // backend checks none; we still refuse a non-empty table without a primary or unique
    // key that no checkpoint of this task has seen, where a plain INSERT would add a second
    // copy of rows silently. A keyed table runs, and a conflicting row is reported by the
    // server as a duplicate key (strategy "error"), as upstream does.
    let strategy = on_duplicate(cfg.conflict.strategy);
    let mut work = Vec::new();
    let mut not_empty = Vec::new();
    for table in dump.databases.iter().flat_map(|d| d.tables.iter()) {
        let target_table = Arc::new(target.load_table(&table.db, &table.name).await?);
        // A table an earlier run of this task started holds that run's rows.
        let resumed = started_tables.contains(&unique_table_name(&table.db, &table.name));
        if cfg.lightning.check_requirements
            && !resumed
            && strategy == OnDuplicate::Error
            && !target.is_empty(&target_table).await?
            && !crate::checkpoint::has_unique_key(&target, &target_table).await?
        {
            not_empty.push(target_table.qualified_name());
        }
        work.push((table.clone(), target_table));
    }
    if !not_empty.is_empty() {
        return Err(LightningError::TablesNotEmpty {
            tables: not_empty,
            hint: "they have no primary or unique key, so a plain INSERT would add a second copy of any row already there. \
                   If an earlier run of this task finished, it imported them (a finished run removes its checkpoint, \
                   [checkpoint] keep-after-success = \"remove\"). Otherwise empty them, or set \
                   check-requirements = false to append anyway",
        });
    }

    let total = crate::status::task_started(work.iter().map(|(t, _)| t), &cfg);
    let progress = Progress::start(
        Arc::default(),
        total,
        work.len(),
        cfg.cron.log_progress,
        false,
    );
    let ctx = Arc::new(Ctx {
        target: target.clone(),
        region: FairSlots::new(cfg.lightning.region_concurrency),
        io: BlockingSemaphore::new(cfg.lightning.io_concurrency),
        stop: stop.clone(),
        counters: progress.counters().clone(),
        encoder: SqlEncoderOptions {
            on_duplicate: strategy,
            max_bytes: cfg.tikv_importer.logical_import_batch_size.max(1) as usize,
            max_rows: cfg.tikv_importer.logical_import_batch_rows.max(1) as usize,
            no_backslash_escapes: target.no_backslash_escapes(),
            load_data: cfg.tikv_importer.logical_import_load_data && target.accepts_local_infile(),
        },
        formats: Formats::new(&cfg, target.no_backslash_escapes())?,
        refused: ErrorBudget::new(cfg.lightning.max_error.type_),
        cfg: cfg.clone(),
        cp: Checkpoints {
            store,
            enabled: cfg.checkpoint.enable,
        },
        deferred,
    });

    let tables = Arc::new(Semaphore::new(cfg.lightning.table_concurrency.max(1)));
    let mut set = JoinSet::new();
    // Largest tables first: the small ones fill in at the end, instead of a large one
    // starting late and running alone. Each table takes its slot after the one before it
    // (a chain of turns), so the order holds whatever order the tasks are polled in.
    work.sort_by_key(|(src, _)| std::cmp::Reverse(src.total_size));
    let mut turn: Option<tokio::sync::oneshot::Receiver<()>> = None;
    for (src, table) in work {
        let (ctx, tables) = (ctx.clone(), tables.clone());
        let (mine, next) = tokio::sync::oneshot::channel::<()>();
        let before = turn.replace(next);
        set.spawn(async move {
            if let Some(before) = before {
                // Err: the table before ended without a slot (stopped); go on all the same.
                let _ = before.await;
            }
            let _permit = tables.acquire_owned().await.map_err(|_| LightningError::Cancelled)?;
            drop(mine);
            let _busy = crate::status::busy("table");
            if ctx.stop.is_stopped() {
                return Err(LightningError::Cancelled);
            }
            let name = table.qualified_name();
            let done = import_table(ctx.clone(), src, table).await?;
            ctx.counters.tables_done.fetch_add(1, Ordering::Relaxed);
            if done.skipped {
                return Ok(None);
            }
            tracing::info!(table = %name, rows = done.rows, bytes = done.bytes, seconds = done.seconds, "table imported");
            Ok(Some(TableSummary { name, rows: done.rows, bytes: done.bytes, seconds: done.seconds }))
        });
    }
    let mut summary = ImportSummary::default();
    let first_err = join_all(&mut set, &stop, |t| summary.tables.extend(t)).await;
    drop(progress);
    summary.refused_rows = ctx.refused.count();
    if let Some(e) = first_err {
        ctx.cp.close_after_failure().await;
        tracing::error!(error = %e, imported_tables = summary.tables.len(), "import failed");
        return Err(e);
    }
    if !cfg.mydumper.no_schema {
        schema::create_views(&target, &dump, &charset).await?;
    }
    ctx.cp.finish(&cfg, task_id).await?;
    drop(ctx);
    target.close().await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn on_duplicate(s: ConflictStrategy) -> OnDuplicate {
    match s {
        ConflictStrategy::None | ConflictStrategy::Error => OnDuplicate::Error,
        ConflictStrategy::Replace => OnDuplicate::Replace,
        ConflictStrategy::Ignore => OnDuplicate::Ignore,
    }
}

pub(crate) fn connect_options(cfg: &Config) -> ConnectOptions {
    let security = cfg.tidb.security.as_ref().unwrap_or(&cfg.security);
    let path = |p: &str| (!p.is_empty()).then(|| p.into());
    ConnectOptions {
        host: cfg.tidb.host.clone(),
        port: cfg.tidb.port as u16,
        user: cfg.tidb.user.clone(),
        password: cfg.tidb.password.clone(),
        // As upstream, `sql-mode = ""` sets the empty mode (nothing strict), not the server's.
        sql_mode: Some(cfg.tidb.sql_mode.clone()),
        tls: cfg.tidb.tls.clone(),
        ca_path: path(&security.ca_path),
        cert_path: path(&security.cert_path),
        key_path: path(&security.key_path),
        max_connections: cfg.lightning.region_concurrency + 2,
        session_vars: session_vars(cfg),
    }
}

/// `[tidb.session-vars]`, plus `time_zone = '+00:00'` unless set there: Dumpling, mydumper
/// and mysqldump write TIMESTAMP values in UTC (each data file says `SET TIME_ZONE='+00:00'`,
/// a statement the parser skips), so the session must read them in UTC too.
fn session_vars(cfg: &Config) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = cfg
        .tidb
        .session_vars
        .iter()
        .filter(|(k, _)| {
            let ok = k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                tracing::warn!(name = %k, "ignoring [tidb.session-vars] entry: not a variable name");
            }
            ok
        })
        .map(|(k, v)| {
            let literal = if v.parse::<f64>().is_ok() { v.clone() } else { format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''")) };
            (k.clone(), literal)
        })
        .collect();
    if !vars
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("time_zone"))
    {
        vars.push(("time_zone".into(), "'+00:00'".into()));
    }
    vars
}

pub(crate) fn csv_options(cfg: &Config) -> Result<CsvOptions, LightningError> {
    let c = &cfg.mydumper.csv;
    // Validation left `escaped-by` empty or one character (and `backslash-escape` folded in).
    let escape = match c.escaped_by.as_bytes() {
        [] => None,
        [b] if b.is_ascii() => Some(*b),
        _ => {
            return Err(LightningError::Unsupported(format!(
                "[mydumper.csv] escaped-by = {:?}: only a single ASCII character is supported",
                c.escaped_by
            )))
        }
    };
    let opts = CsvOptions {
        separator: c.separator.as_bytes().to_vec(),
        delimiter: c.delimiter.as_bytes().to_vec(),
        terminator: c.terminator.as_bytes().to_vec(),
        header: c.header,
        not_null: c.not_null,
        null: c.null.iter().map(|n| n.as_bytes().to_vec()).collect(),
        escape,
        trim_last_separator: c.trim_last_separator,
        quoted_null_is_text: false,
    };
    opts.validate()
        .map_err(|e| LightningError::Unsupported(format!("[mydumper.csv]: {e}")))?;
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::csv_options;
    use lightning_config::Config;

    fn escape_of(csv_section: &str) -> Result<Option<u8>, String> {
        let toml = format!("[tikv-importer]\nbackend = \"tidb\"\n[mydumper]\ndata-source-dir = \"/tmp\"\n[mydumper.csv]\n{csv_section}\n");
        let cfg = Config::from_toml_str(&toml).map_err(|e| e.to_string())?;
        csv_options(&cfg)
            .map(|o| o.escape)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn escaped_by_and_backslash_escape_pick_the_parser_escape() {
        assert_eq!(escape_of(""), Ok(Some(b'\\')));
        assert_eq!(escape_of("escaped-by = '!'"), Ok(Some(b'!')));
        assert_eq!(escape_of("backslash-escape = false"), Ok(None));
        assert!(escape_of("escaped-by = 'é'")
            .unwrap_err()
            .contains("escaped-by"));
    }
}
