//! The crate's one error type; messages tell the user which `tidb-lightning-ctl` command
//! clears the situation, as upstream's do.

use std::path::PathBuf;

use crate::status::CheckpointStatus;

/// What to do about a checkpoint that no longer matches the task.
const RETRY_USAGE: &str = "destroy all checkpoints and remove all restored tables and try again";

/// What changed in a table since its checkpoint was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableChange {
    /// Its CREATE TABLE / table info.
    Schema,
    /// Its data files (added, removed, resized or modified).
    DataFiles,
    /// It was re-created in the target (different table id).
    TableId {
        /// Id in the checkpoint.
        stored: i64,
        /// Id now.
        current: i64,
    },
}

impl std::fmt::Display for TableChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableChange::Schema => f.write_str("its schema changed"),
            TableChange::DataFiles => f.write_str("its data files changed"),
            TableChange::TableId { stored, current } => write!(
                f,
                "its target table id is {current} but the checkpoint has {stored}"
            ),
        }
    }
}

/// Everything that can go wrong reading or writing checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The task in the checkpoint was made with a different config or Lightning version.
    #[error("{}", mismatch_message(setting, current, stored))]
    TaskMismatch {
        /// Config key (e.g. `tidb.host`) or `lightning version`.
        setting: &'static str,
        /// Value now.
        current: String,
        /// Value in the checkpoint.
        stored: String,
    },
    /// A table's source or target no longer matches its checkpoint.
    #[error(
        "checkpoint of table {table} cannot be reused: {change}. To prevent data loss this run \
         stops; run `tidb-lightning-ctl --checkpoint-remove='{table}' --config=...` (and drop the \
         table's imported data) to import it from scratch"
    )]
    TableChanged {
        /// Unique table name.
        table: String,
        /// What changed.
        change: TableChange,
    },
    /// A table failed in an earlier run and has not been cleared with `tidb-lightning-ctl`.
    #[error("{}", failed_message(table, *status))]
    TableFailed {
        /// Unique table name.
        table: String,
        /// Its failed status.
        status: CheckpointStatus,
    },
    /// No checkpoint for this table.
    #[error(
        "no checkpoint for table {table}; name tables as '`db`.`table`' (case-sensitive) or use 'all'"
    )]
    TableNotFound {
        /// The name asked for.
        table: String,
    },
    /// The checkpoint file exists but cannot be decoded.
    #[error("checkpoint file {} is unreadable (remove it to start over): {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Decoding error.
        source: serde_json::Error,
    },
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A checkpoint-database statement failed.
    #[error("checkpoint database: {op}: {source}")]
    Mysql {
        /// What was being done.
        op: &'static str,
        /// The client error.
        source: mysql_async::Error,
    },
    /// The checkpoint database holds a value this crate cannot represent.
    #[error("checkpoint database: table {table}: bad {column} value: {detail}")]
    BadValue {
        /// Unique table name (or checkpoint table).
        table: String,
        /// Column.
        column: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// `[checkpoint] dsn` cannot be parsed (the DSN itself is not repeated: it may hold a password).
    #[error("invalid [checkpoint] dsn: {reason}")]
    Dsn {
        /// What is wrong.
        reason: String,
    },
    /// `[checkpoint] driver` is neither "file" nor "mysql".
    #[error("unknown checkpoint driver '{driver}': choose 'file' or 'mysql'")]
    UnknownDriver {
        /// The value given.
        driver: String,
    },
    /// A maintenance command on a store opened with `[checkpoint] enable = false`.
    #[error("cannot {op} while checkpoints are disabled ([checkpoint] enable = false)")]
    Disabled {
        /// The command.
        op: &'static str,
    },
    /// The blocking file task panicked or was cancelled.
    #[error("checkpoint file task did not finish: {0}")]
    Background(String),
}

impl CheckpointError {
    /// True when repeating the operation may succeed (lost connection, deadlock, lock timeout).
    pub fn is_retryable(&self) -> bool {
        match self {
            CheckpointError::Mysql { source, .. } => match source {
                mysql_async::Error::Io(_) => true,
                // Lock wait timeout, deadlock, TiDB write conflicts / server busy.
                mysql_async::Error::Server(e) => {
                    matches!(e.code, 1205 | 1213 | 8002 | 8022 | 9007 | 8027)
                }
                _ => false,
            },
            _ => false,
        }
    }

    pub(crate) fn mysql(op: &'static str) -> impl FnOnce(mysql_async::Error) -> Self {
        move |source| CheckpointError::Mysql { op, source }
    }

    pub(crate) fn io(
        op: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { op, path, source }
    }
}

fn mismatch_message(setting: &str, current: &str, stored: &str) -> String {
    match setting {
        "tikv-importer.backend" => format!(
            "config '{setting}' value '{current}' different from checkpoint value '{stored}', please {RETRY_USAGE}"
        ),
        "lightning version" => {
            let made = if stored.is_empty() {
                "by an unknown version".to_string()
            } else {
                format!("at '{stored}'")
            };
            format!("lightning version is '{current}', but checkpoint was created {made}, please {RETRY_USAGE}")
        }
        _ => format!(
            "config '{setting}' value '{current}' different from checkpoint value '{stored}'. You may set \
             'check-requirements = false' to skip this check or {RETRY_USAGE}"
        ),
    }
}

fn failed_message(table: &str, status: CheckpointStatus) -> String {
    let step = status.failed_step();
    let action = if step == CheckpointStatus::ALTERED_AUTO_INC || step == CheckpointStatus::ANALYZED
    {
        "ignore"
    } else {
        "destroy"
    };
    format!(
        "TiDB Lightning has failed last time. To prevent data loss, this run will stop now: {table} failed in \
         step({}) (checkpoint status {}). Run `tidb-lightning-ctl --checkpoint-error-{action}='{table}' \
         --config=...`, or `tidb-lightning-ctl --checkpoint-error-destroy=all --config=...` to start from \
         scratch. For details of this failure, read the log file of the PREVIOUS run",
        step.metric_name(),
        status.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_fix() {
        let e = CheckpointError::TableFailed {
            table: "`db`.`t`".into(),
            status: CheckpointStatus::IMPORTED.into_failed(),
        };
        let m = e.to_string();
        assert!(m.contains("step(imported)"), "{m}");
        assert!(m.contains("--checkpoint-error-destroy='`db`.`t`'"), "{m}");
        let e = CheckpointError::TableFailed {
            table: "`db`.`t`".into(),
            status: CheckpointStatus::ANALYZED.into_failed(),
        };
        assert!(e
            .to_string()
            .contains("--checkpoint-error-ignore='`db`.`t`'"));
        let e = CheckpointError::TaskMismatch {
            setting: "tidb.port",
            current: "4000".into(),
            stored: "4001".into(),
        };
        assert!(e
            .to_string()
            .contains("config 'tidb.port' value '4000' different from checkpoint value '4001'"));
        assert!(e.to_string().contains("check-requirements = false"));
    }
}
