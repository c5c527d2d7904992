//! Maintenance: remove, keep-after-success rename, error ignore/destroy, local-engine
//! listing and CSV dumps, with upstream's SQL semantics.

use std::collections::BTreeMap;
use std::path::Path;

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

use super::read::col;
use super::sql::{quote, Names, CHUNK_TABLE, ENGINE_TABLE, TABLE_TABLE, TASK_TABLE};
use super::MysqlStore;
use crate::dump::{write_dump, DumpRows};
use crate::error::CheckpointError;
use crate::model::{DestroyedTable, TableSelector};
use crate::status::CheckpointStatus;
use crate::store::Result;

/// `WHERE` clause and parameters selecting failed tables (in the table-checkpoint table).
fn failed_filter(sel: &TableSelector) -> (&'static str, Vec<Value>) {
    let max = Value::from(CheckpointStatus::MAX_INVALID.0);
    match sel {
        TableSelector::All => ("status <= ?", vec![max]),
        TableSelector::Table(t) => (
            "table_name = ? AND status <= ?",
            vec![Value::from(t.as_str()), max],
        ),
    }
}

/// A text-protocol value as dump text (NULL as empty).
fn text(v: &Value) -> String {
    match v {
        Value::NULL => String::new(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

impl MysqlStore {
    pub(super) async fn remove_once(&self, sel: &TableSelector) -> Result<()> {
        let n = &self.names;
        match sel {
            TableSelector::All => {
                let mut conn = self.conn().await?;
                conn.query_drop(format!("DROP SCHEMA IF EXISTS {}", n.schema))
                    .await
                    .map_err(CheckpointError::mysql("dropping the checkpoint schema"))
            }
            TableSelector::Table(t) => {
                let mut tx = self.begin().await?;
                Self::table_exists(&mut tx, n, t).await?;
                for q in n.delete_table_rows() {
                    tx.exec_drop(q, (t.as_str(),))
                        .await
                        .map_err(CheckpointError::mysql("removing a table checkpoint"))?;
                }
                tx.commit()
                    .await
                    .map_err(CheckpointError::mysql("committing the removal"))
            }
        }
    }

    pub(super) async fn move_once(&self, task_id: i64) -> Result<()> {
        let backup = format!("{}.{task_id}.bak", self.schema);
        let to = Names::new(&backup);
        let mut conn = self.conn().await?;
        conn.query_drop(format!("CREATE SCHEMA IF NOT EXISTS {}", quote(&backup)))
            .await
            .map_err(CheckpointError::mysql(
                "creating the backup checkpoint schema",
            ))?;
        for t in [CHUNK_TABLE, ENGINE_TABLE, TABLE_TABLE, TASK_TABLE] {
            let q = format!(
                "RENAME TABLE {}.{t} TO {}.{t}",
                self.names.schema, to.schema
            );
            conn.query_drop(q)
                .await
                .map_err(CheckpointError::mysql("moving a checkpoint table"))?;
        }
        Ok(())
    }

    pub(super) async fn local_storing_once(&self) -> Result<BTreeMap<String, Vec<i32>>> {
        let n = &self.names;
        let q = format!(
            "SELECT DISTINCT t.table_name, c.engine_id FROM {} t, {} c, {} e \
             WHERE t.table_name = c.table_name AND t.table_name = e.table_name AND c.engine_id = e.engine_id \
             AND ? < t.status AND t.status < ? AND ? < e.status AND e.status < ? AND c.pos > c.`offset`",
            n.table, n.chunk, n.engine
        );
        let max = CheckpointStatus::MAX_INVALID.0;
        let params = (
            max,
            CheckpointStatus::INDEX_IMPORTED.0,
            max,
            CheckpointStatus::IMPORTED.0,
        );
        let mut conn = self.conn().await?;
        let rows: Vec<(String, i32)> = conn
            .exec(q, params)
            .await
            .map_err(CheckpointError::mysql("listing tables with local engines"))?;
        let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for (name, id) in rows {
            out.entry(name).or_default().push(id);
        }
        out.values_mut().for_each(|ids| ids.sort_unstable());
        Ok(out)
    }

    pub(super) async fn ignore_once(&self, sel: &TableSelector) -> Result<()> {
        let n = &self.names;
        let mut tx = self.begin().await?;
        if let TableSelector::Table(t) = sel {
            Self::table_exists(&mut tx, n, t).await?;
        }
        let (filter, params) = failed_filter(sel);
        for target in [&n.engine, &n.table] {
            let q = format!("UPDATE {target} SET status = ? WHERE {filter}");
            let mut p = vec![Value::from(CheckpointStatus::LOADED.0)];
            p.extend(params.iter().cloned());
            tx.exec_drop(q, p)
                .await
                .map_err(CheckpointError::mysql("ignoring checkpoint errors"))?;
        }
        tx.commit()
            .await
            .map_err(CheckpointError::mysql("committing ignored errors"))
    }

    pub(super) async fn destroy_once(&self, sel: &TableSelector) -> Result<Vec<DestroyedTable>> {
        let n = &self.names;
        let mut tx = self.begin().await?;
        if let TableSelector::Table(t) = sel {
            Self::table_exists(&mut tx, n, t).await?;
        }
        let (filter, params) = failed_filter(sel);
        let select = format!(
            "SELECT t.table_name, COALESCE(MIN(e.engine_id), 0), COALESCE(MAX(e.engine_id), -1) \
             FROM {} t LEFT JOIN {} e ON t.table_name = e.table_name WHERE t.{} \
             GROUP BY t.table_name ORDER BY t.table_name",
            n.table,
            n.engine,
            filter.replace(" AND ", " AND t.")
        );
        let rows: Vec<Row> = tx
            .exec(select, params.clone())
            .await
            .map_err(CheckpointError::mysql("listing failed tables"))?;
        let mut destroyed = Vec::with_capacity(rows.len());
        for mut r in rows {
            let name: String = col(&mut r, 0, TABLE_TABLE, "table_name")?;
            let min = col(&mut r, 1, &name, "engine_id")?;
            let max = col(&mut r, 2, &name, "engine_id")?;
            destroyed.push(DestroyedTable {
                table_name: name,
                min_engine_id: min,
                max_engine_id: max,
            });
        }
        for target in [&n.chunk, &n.engine] {
            let q = format!(
                "DELETE FROM {target} WHERE table_name IN (SELECT table_name FROM {} WHERE {filter})",
                n.table
            );
            tx.exec_drop(q, params.clone())
                .await
                .map_err(CheckpointError::mysql("destroying failed checkpoints"))?;
        }
        tx.exec_drop(format!("DELETE FROM {} WHERE {filter}", n.table), params)
            .await
            .map_err(CheckpointError::mysql("destroying failed checkpoints"))?;
        tx.commit()
            .await
            .map_err(CheckpointError::mysql("committing destroyed checkpoints"))?;
        Ok(destroyed)
    }

    pub(super) async fn dump_once(&self, dir: &Path) -> Result<()> {
        let n = &self.names;
        let mut conn = self.conn().await?;
        let mut rows = DumpRows::default();
        for (sql, out) in [
            (n.dump_tables(), &mut rows.tables),
            (n.dump_engines(), &mut rows.engines),
            (n.dump_chunks(), &mut rows.chunks),
        ] {
            // Text protocol: every value arrives as its text.
            let result: Vec<Row> = conn
                .query(sql)
                .await
                .map_err(CheckpointError::mysql("reading checkpoints to dump"))?;
            out.extend(result.into_iter().map(|r| {
                let values = r.unwrap_raw().into_iter();
                values
                    .map(|v| v.as_ref().map(text).unwrap_or_default())
                    .collect::<Vec<_>>()
            }));
        }
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || write_dump(&dir, &rows))
            .await
            .map_err(|e| CheckpointError::Background(e.to_string()))?
    }
}
