//! Sending statements: retries for what the server says is retryable, row-by-row
//! replay to isolate the rows it refuses, and load batches kept only when the server
//! loaded them whole (I/O side).

use super::load::{parse_load_info, LoadPlan};
use super::{SqlBatch, TargetTable};
use crate::error::{is_retryable_code, is_row_error_code};
use crate::{BackendError, RejectedRow, RowWriter, WriteReport};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, InfileData, Pool};
use std::sync::Arc;
use std::time::Duration;

const MAX_ATTEMPTS: u32 = 8;

/// Writes statements for one table over one connection.
pub struct SqlWriter {
    conn: Conn,
    /// Where a replacement connection comes from when this one turns out dead.
    pool: Pool,
    table: Arc<TargetTable>,
    /// The `SET NAMES` this session runs with, when changed from the pool's default.
    charset: Option<Arc<str>>,
    /// Load batches committed, and load batches replayed as `INSERT`.
    loads: (u64, u64),
}

enum Outcome {
    Done,
    RowError { code: u16, message: String },
}

impl SqlWriter {
    pub(crate) fn new(conn: Conn, pool: Pool, table: Arc<TargetTable>) -> Self {
        SqlWriter {
            conn,
            pool,
            table,
            charset: None,
            loads: (0, 0),
        }
    }

    /// How many load batches this writer committed, and how many it replayed as `INSERT`
    /// because the server did not load them whole.
    pub fn load_stats(&self) -> (u64, u64) {
        self.loads
    }

    /// Sends one statement, retrying with backoff while the server says it did nothing.
    async fn send(&mut self, sql: &[u8]) -> Result<Outcome, BackendError> {
        let mut attempt = 0;
        loop {
            match self.conn.query_drop(sql).await {
                Ok(()) => return Ok(Outcome::Done),
                Err(mysql_async::Error::Server(e))
                    if is_retryable_code(e.code) && attempt + 1 < MAX_ATTEMPTS =>
                {
                    attempt += 1;
                    tracing::warn!(table = %self.table.qualified_name(), code = e.code, attempt, "retrying statement");
                    tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
                }
                Err(mysql_async::Error::Server(e)) if is_row_error_code(e.code) => {
                    return Ok(Outcome::RowError {
                        code: e.code,
                        message: e.message,
                    })
                }
                Err(e) => {
                    return Err(BackendError::from_mysql(
                        format!("writing rows into {}", self.table.qualified_name()),
                        e,
                    ))
                }
            }
        }
    }
}

impl RowWriter for SqlWriter {
    type Encoded = SqlBatch;

    async fn write(&mut self, mut batch: SqlBatch) -> Result<WriteReport, BackendError> {
        if batch.charset.is_some() && batch.charset != self.charset {
            if let Some(cs) = &batch.charset {
                // The encoder only lets identifier characters through.
                self.session_statement(&format!("SET NAMES {cs}"))
                    .await
                    .map_err(|e| {
                        BackendError::from_mysql(format!("SET NAMES {cs} for {}", batch.file), e)
                    })?;
            }
            self.charset = batch.charset.clone();
        }
        if let Some(plan) = batch.load.clone() {
            // The lines go to the server without a copy; they come back for a replay.
            let body = bytes::Bytes::from(std::mem::take(&mut batch.sql));
            let loaded = self.load(&batch, &plan, body.clone()).await?;
            batch.sql = Vec::from(body);
            if loaded {
                return Ok(WriteReport {
                    rows: batch.rows.len() as u64,
                    bytes: batch.source_bytes(),
                    rejected: Vec::new(),
                });
            }
            return self.write_insert(batch.to_insert()).await;
        }
        self.write_insert(batch).await
    }
}

impl SqlWriter {
    /// After the writer sat idle (a paused import): checks the connection still answers,
    /// replacing it when the server or the network dropped it meanwhile.
    pub async fn check_alive(&mut self) -> Result<(), BackendError> {
        self.session_statement("DO 1")
            .await
            .map_err(|e| BackendError::from_mysql("checking the connection after a pause", e))
    }

    /// Runs a statement that writes no data; if the connection turns out closed (the server
    /// or network dropped it while it sat idle), runs it once more on a fresh connection,
    /// which is safe because nothing was written. The session's `SET NAMES` is redone there.
    async fn session_statement(&mut self, sql: &str) -> Result<(), mysql_async::Error> {
        match self.conn.query_drop(sql).await {
            Err(mysql_async::Error::Io(e)) => {
                tracing::warn!(table = %self.table.qualified_name(), error = %e, "connection lost while idle; reconnecting");
                self.conn = self.pool.get_conn().await?;
                if let Some(cs) = self
                    .charset
                    .clone()
                    .filter(|_| !sql.starts_with("SET NAMES"))
                {
                    self.conn.query_drop(format!("SET NAMES {cs}")).await?;
                }
                self.conn.query_drop(sql).await
            }
            other => other,
        }
    }

    /// Sends a load batch in a transaction and commits it only when the server loaded every
    /// row without a warning; otherwise rolls it back and returns false, for the caller to
    /// replay it as an `INSERT` (see `load`).
    async fn load(
        &mut self,
        batch: &SqlBatch,
        plan: &LoadPlan,
        body: bytes::Bytes,
    ) -> Result<bool, BackendError> {
        let table = self.table.clone();
        let ctx = || {
            format!(
                "loading rows of {} into {}",
                batch.file,
                table.qualified_name()
            )
        };
        self.session_statement("BEGIN")
            .await
            .map_err(|e| BackendError::from_mysql(ctx(), e))?;
        self.conn.set_infile_handler(async move {
            let data: InfileData = Box::pin(futures_util::stream::once(async move { Ok(body) }));
            Ok(data)
        });
        let loaded = match self
            .conn
            .query_drop(plan.statement(batch.charset.as_deref()))
            .await
        {
            Ok(()) => {
                let counts = parse_load_info(&self.conn.info());
                let warnings = self.conn.get_warnings();
                let whole = counts == Some((batch.rows.len() as u64, 0, 0)) && warnings == 0;
                if !whole {
                    tracing::debug!(file = %batch.file, ?counts, warnings, "load batch not loaded whole; replaying it as INSERT");
                }
                whole
            }
            Err(mysql_async::Error::Server(e)) => {
                tracing::debug!(file = %batch.file, code = e.code, "load batch refused; replaying it as INSERT");
                false
            }
            Err(e) => return Err(BackendError::from_mysql(ctx(), e)),
        };
        if loaded {
            self.loads.0 += 1;
        } else {
            self.loads.1 += 1;
        }
        let end = if loaded { "COMMIT" } else { "ROLLBACK" };
        self.conn
            .query_drop(end)
            .await
            .map_err(|e| BackendError::from_mysql(ctx(), e))?;
        Ok(loaded)
    }

    /// Sends an `INSERT` batch, isolating the rows the server refuses.
    async fn write_insert(&mut self, batch: SqlBatch) -> Result<WriteReport, BackendError> {
        let mut report = WriteReport {
            rows: 0,
            bytes: batch.source_bytes(),
            rejected: Vec::new(),
        };
        match self.send(&batch.sql).await? {
            Outcome::Done => report.rows = batch.rows.len() as u64,
            Outcome::RowError { code, message } if batch.rows.len() == 1 => {
                report.rejected.push(RejectedRow {
                    file: batch.file.to_string(),
                    end_offset: batch.rows[0].1,
                    code,
                    message,
                })
            }
            Outcome::RowError { code, message } => {
                if !self.table.transactional {
                    return Err(BackendError::Server {
                        context: format!(
                            "writing rows of {} into non-transactional table {} (some rows of the statement may be written, so they are not replayed one by one)",
                            batch.file,
                            self.table.qualified_name()
                        ),
                        code,
                        state: String::new(),
                        message,
                    });
                }
                // The statement was rolled back as a whole: find the rows at fault.
                for i in 0..batch.rows.len() {
                    match self.send(&batch.single_row_statement(i)).await? {
                        Outcome::Done => report.rows += 1,
                        Outcome::RowError { code, message } => report.rejected.push(RejectedRow {
                            file: batch.file.to_string(),
                            end_offset: batch.rows[i].1,
                            code,
                            message,
                        }),
                    }
                }
            }
        }
        Ok(report)
    }
}
