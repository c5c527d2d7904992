//! Secondary indexes added after the data (`[tikv-importer] add-index-by-sql`, on by
//! default for the tidb backend): a table this task creates is created without its plain
//! `KEY`/`INDEX` definitions, and once all its rows are in, one `ALTER TABLE … ADD …`
//! builds them, each by one sort, instead of a random B-tree insert per row.
//!
//! Crash safety: the deferred definitions are recorded in the task-info schema's
//! `deferred_index_v1` before the reduced `CREATE TABLE` runs, and removed only after
//! the `ALTER` that adds them. A run that finds a table's record adds whichever of those
//! indexes the table lacks, so a kill at any moment leaves either the full table or a
//! record saying what it still needs. A table that already existed is never changed.

use crate::LightningError;
use lightning_backend::tidb::{quote_ident, TidbTarget};
use lightning_encode::secondary::split_secondary_indexes;
use mysql_async::prelude::Queryable;

/// MySQL error 1061: duplicate key name (the index is there already).
const DUPLICATE_KEY_NAME: u16 = 1061;

/// Where deferred indexes are recorded: `{task-info-schema-name}.deferred_index_v1`.
#[derive(Clone)]
pub(crate) struct DeferredIndexes {
    table: String,
}

fn failed(what: &str, e: impl std::fmt::Display) -> LightningError {
    LightningError::Internal(format!("{what}: {e}"))
}

impl DeferredIndexes {
    /// The record table: created if missing when `create` (deferring is on); otherwise
    /// only when an earlier run left it, so indexes that run deferred are still added.
    pub(crate) async fn open(
        target: &TidbTarget,
        schema: &str,
        create: bool,
    ) -> Result<Option<Self>, LightningError> {
        let this = DeferredIndexes {
            table: format!("{}.`deferred_index_v1`", quote_ident(schema)),
        };
        if !create {
            let mut conn = target.conn().await?;
            let n: Option<u64> = conn
                .exec_first(
                    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'deferred_index_v1'",
                    (schema,),
                )
                .await
                .map_err(|e| failed(&format!("looking up {}", this.table), e))?;
            return Ok((n.unwrap_or(0) > 0).then_some(this));
        }
        let ddl = [
            format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(schema)),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (\
                 table_schema varchar(64) NOT NULL, \
                 table_name varchar(64) NOT NULL, \
                 index_name varchar(64) NOT NULL, \
                 definition text NOT NULL, \
                 PRIMARY KEY (table_schema, table_name, index_name))",
                this.table
            ),
        ];
        target
            .exec_tolerating(None, &ddl, &[])
            .await
            .map_err(|e| failed(&format!("creating {}", this.table), e))?;
        Ok(Some(this))
    }

    /// If `db.name` does not exist yet and `create` has deferrable indexes, records them
    /// and returns the `CREATE TABLE` to run instead; otherwise `None` (run `create`).
    pub(crate) async fn plan_create(
        &self,
        target: &TidbTarget,
        db: &str,
        name: &str,
        create: &str,
    ) -> Result<Option<String>, LightningError> {
        let Some((reduced, indexes)) = split_secondary_indexes(create) else {
            return Ok(None);
        };
        let mut conn = target.conn().await?;
        let exists: Option<u64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, name),
            )
            .await
            .map_err(|e| failed(&format!("looking up {db}.{name}"), e))?;
        if exists.unwrap_or(0) > 0 {
            return Ok(None);
        }
        let rows: Vec<(&str, &str, &str, &str)> = indexes
            .iter()
            .map(|i| (db, name, i.name.as_str(), i.definition.as_str()))
            .collect();
        conn.exec_batch(
            format!(
                "REPLACE INTO {} (table_schema, table_name, index_name, definition) VALUES (?, ?, ?, ?)",
                self.table
            ),
            rows,
        )
        .await
        .map_err(|e| failed(&format!("recording the deferred indexes of {db}.{name}"), e))?;
        let names: Vec<&str> = indexes.iter().map(|i| i.name.as_str()).collect();
        tracing::info!(table = %format!("{db}.{name}"), indexes = ?names, "creating the table without its secondary indexes; they are added after its rows");
        Ok(Some(reduced))
    }

    /// Adds the recorded indexes `db.name` lacks, in one `ALTER TABLE`, then forgets them.
    /// Returns how many it added.
    pub(crate) async fn add_missing(
        &self,
        target: &TidbTarget,
        db: &str,
        name: &str,
    ) -> Result<usize, LightningError> {
        let table = format!("{db}.{name}");
        let mut conn = target.conn().await?;
        let recorded: Vec<(String, String)> = conn
            .exec(
                format!(
                    "SELECT index_name, definition FROM {} WHERE table_schema = ? AND table_name = ? ORDER BY index_name",
                    self.table
                ),
                (db, name),
            )
            .await
            .map_err(|e| failed(&format!("reading the deferred indexes of {table}"), e))?;
        if recorded.is_empty() {
            return Ok(0);
        }
        let mut added = 0;
        for attempt in 0..2 {
            let present: Vec<String> = conn
                .exec(
                    "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                    (db, name),
                )
                .await
                .map_err(|e| failed(&format!("reading the indexes of {table}"), e))?;
            let missing: Vec<&(String, String)> = recorded
                .iter()
                .filter(|(n, _)| !present.iter().any(|p| p.eq_ignore_ascii_case(n)))
                .collect();
            if missing.is_empty() {
                break;
            }
            if attempt == 1 {
                return Err(failed(
                    &format!("adding the secondary indexes of {table}"),
                    format!("{} are still missing", missing.len()),
                ));
            }
            let adds: Vec<String> = missing.iter().map(|(_, d)| format!("ADD {d}")).collect();
            let alter = format!(
                "ALTER TABLE {}.{} {}",
                quote_ident(db),
                quote_ident(name),
                adds.join(", ")
            );
            let started = std::time::Instant::now();
            tracing::info!(table = %table, indexes = missing.len(), "adding the deferred secondary indexes");
            // A kill during an earlier run's ALTER may leave it running on the server: this
            // one then waits for it and finds a name taken; the check above runs again.
            target
                .exec_tolerating(None, &[alter], &[DUPLICATE_KEY_NAME])
                .await
                .map_err(|e| failed(&format!("adding the secondary indexes of {table}"), e))?;
            tracing::info!(table = %table, seconds = started.elapsed().as_secs_f64(), "secondary indexes added");
            added = missing.len();
        }
        conn.exec_drop(
            format!(
                "DELETE FROM {} WHERE table_schema = ? AND table_name = ?",
                self.table
            ),
            (db, name),
        )
        .await
        .map_err(|e| failed(&format!("forgetting the deferred indexes of {table}"), e))?;
        Ok(added)
    }
}
