//! May a checkpoint be resumed? Refusals name what changed (upstream's `verifyCheckpoint`
//! plus a per-table schema/file fingerprint) or which table failed last time.

use crate::error::{CheckpointError, TableChange};
use crate::model::{TableCheckpoint, TableHash, TableInit, TaskCheckpoint};

/// Checks a new run's task against the stored one. The backend is always compared; with
/// `check_requirements` (`[lightning] check-requirements`) also the Lightning version, data
/// source, sorted-kv-dir (local backend), importer address (importer backend) and target.
pub fn verify_task(
    current: &TaskCheckpoint,
    stored: &TaskCheckpoint,
    check_requirements: bool,
) -> Result<(), CheckpointError> {
    let differs = |setting: &'static str, cur: &str, old: &str| {
        if cur == old {
            Ok(())
        } else {
            Err(CheckpointError::TaskMismatch {
                setting,
                current: cur.to_string(),
                stored: old.to_string(),
            })
        }
    };
    differs("tikv-importer.backend", &current.backend, &stored.backend)?;
    if !check_requirements {
        return Ok(());
    }
    differs(
        "lightning version",
        &current.lightning_ver,
        &stored.lightning_ver,
    )?;
    differs(
        "mydumper.data-source-dir",
        &current.source_dir,
        &stored.source_dir,
    )?;
    if current.backend == "local" {
        differs(
            "tikv-importer.sorted-kv-dir",
            &current.sorted_kv_dir,
            &stored.sorted_kv_dir,
        )?;
    }
    if current.backend == "importer" {
        differs(
            "tikv-importer.addr",
            &current.importer_addr,
            &stored.importer_addr,
        )?;
    }
    differs("tidb.host", &current.tidb_host, &stored.tidb_host)?;
    differs(
        "tidb.port",
        &current.tidb_port.to_string(),
        &stored.tidb_port.to_string(),
    )?;
    differs("tidb.pd-addr", &current.pd_addr, &stored.pd_addr)
}

/// Checks a table about to be (re)recorded against what its checkpoint says. Unknown values
/// (a zero hash or table id on either side) are not compared.
pub fn verify_table(
    init: &TableInit,
    stored_hash: &TableHash,
    stored_table_id: i64,
) -> Result<(), CheckpointError> {
    let changed = |change| {
        Err(CheckpointError::TableChanged {
            table: init.name.clone(),
            change,
        })
    };
    if !init.hash.is_unknown() && !stored_hash.is_unknown() {
        if init.hash.schema_part() != stored_hash.schema_part() {
            return changed(TableChange::Schema);
        }
        if init.hash.files_part() != stored_hash.files_part() {
            return changed(TableChange::DataFiles);
        }
    }
    if init.table_id > 0 && stored_table_id > 0 && init.table_id != stored_table_id {
        return changed(TableChange::TableId {
            stored: stored_table_id,
            current: init.table_id,
        });
    }
    Ok(())
}

/// Refuses a table that failed last time until `tidb-lightning-ctl` clears it.
pub fn ensure_resumable(table: &str, cp: &TableCheckpoint) -> Result<(), CheckpointError> {
    if cp.status.is_failed() {
        return Err(CheckpointError::TableFailed {
            table: table.to_string(),
            status: cp.status,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileStamp;
    use crate::status::CheckpointStatus;

    fn task() -> TaskCheckpoint {
        TaskCheckpoint {
            task_id: 1,
            source_dir: "/data".into(),
            backend: "local".into(),
            importer_addr: String::new(),
            tidb_host: "127.0.0.1".into(),
            tidb_port: 4000,
            pd_addr: "pd:2379".into(),
            sorted_kv_dir: "/kv".into(),
            lightning_ver: "v1".into(),
        }
    }

    #[test]
    fn task_mismatch_names_the_setting() {
        let old = task();
        assert!(verify_task(&task(), &old, true).is_ok());
        type Edit = fn(&mut TaskCheckpoint);
        let cases: [(Edit, &str); 6] = [
            (|t| t.backend = "tidb".into(), "tikv-importer.backend"),
            (
                |t| t.source_dir = "/other".into(),
                "mydumper.data-source-dir",
            ),
            (
                |t| t.sorted_kv_dir = "/kv2".into(),
                "tikv-importer.sorted-kv-dir",
            ),
            (|t| t.tidb_port = 4001, "tidb.port"),
            (|t| t.pd_addr = "pd2:2379".into(), "tidb.pd-addr"),
            (|t| t.lightning_ver = "v2".into(), "lightning version"),
        ];
        for (change, name) in cases {
            let mut cur = task();
            change(&mut cur);
            match verify_task(&cur, &old, true) {
                Err(CheckpointError::TaskMismatch { setting, .. }) => assert_eq!(setting, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        // Without check-requirements only the backend matters.
        let mut cur = task();
        cur.tidb_host = "elsewhere".into();
        assert!(verify_task(&cur, &old, false).is_ok());
        cur.backend = "tidb".into();
        assert!(verify_task(&cur, &old, false).is_err());
    }

    #[test]
    fn table_change_kinds() {
        let f = |size| FileStamp {
            path: "a.sql",
            size,
            mtime: 0,
        };
        let stored = TableHash::of(b"s1", [f(1)]);
        let init = |hash, table_id| TableInit {
            name: "`d`.`t`".into(),
            table_id,
            hash,
            table_info: String::new(),
        };
        assert!(verify_table(&init(stored, 5), &stored, 5).is_ok());
        assert!(verify_table(&init(TableHash::UNKNOWN, 0), &stored, 5).is_ok());
        let change = |r: Result<(), CheckpointError>| match r {
            Err(CheckpointError::TableChanged { change, .. }) => change,
            other => panic!("{other:?}"),
        };
        let schema = TableHash::of(b"s2", [f(1)]);
        assert_eq!(
            change(verify_table(&init(schema, 5), &stored, 5)),
            TableChange::Schema
        );
        let files = TableHash::of(b"s1", [f(2)]);
        assert_eq!(
            change(verify_table(&init(files, 5), &stored, 5)),
            TableChange::DataFiles
        );
        assert_eq!(
            change(verify_table(&init(stored, 6), &stored, 5)),
            TableChange::TableId {
                stored: 5,
                current: 6
            }
        );
    }

    #[test]
    fn failed_tables_are_refused() {
        let mut cp = TableCheckpoint {
            status: CheckpointStatus::CLOSED,
            ..Default::default()
        };
        assert!(ensure_resumable("`d`.`t`", &cp).is_ok());
        cp.status = cp.status.into_failed();
        assert!(matches!(
            ensure_resumable("`d`.`t`", &cp),
            Err(CheckpointError::TableFailed { .. })
        ));
    }
}
