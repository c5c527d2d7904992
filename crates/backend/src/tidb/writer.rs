//! Sending statements: retries for what the server says is retryable, row-by-row
//! replay to isolate the rows it refuses, and fast batches kept only when the server
//! stored them whole (I/O side).

use super::load::{bulk_values, parse_load_info, FastPath, LoadPlan, TAG_NULL, TAG_NUMBER};
use super::{SqlBatch, TargetTable};
use crate::error::{is_retryable_code, is_row_error_code};
use crate::{BackendError, RejectedRow, RowWriter, WriteReport};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, InfileData, Params, Pool, Value};
use std::ops::Range;
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
    /// Fast batches committed, and fast batches replayed as `INSERT`.
    loads: (u64, u64),
    /// The server's `max_allowed_packet`: a bulk command is cut to fit it.
    max_packet: usize,
}

enum Outcome {
    Done,
    RowError { code: u16, message: String },
}

impl SqlWriter {
    pub(crate) fn new(conn: Conn, pool: Pool, table: Arc<TargetTable>, max_packet: usize) -> Self {
        SqlWriter {
            conn,
            pool,
            table,
            charset: None,
            loads: (0, 0),
            max_packet,
        }
    }

    /// How many fast batches this writer committed, and how many it replayed as `INSERT`
    /// because the server did not store them whole.
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
            let loaded = if plan.path == FastPath::Bulk {
                self.bulk(&batch, &plan).await?
            } else {
                // The lines go to the server without a copy; they come back for a replay.
                let body = bytes::Bytes::from(std::mem::take(&mut batch.sql));
                let loaded = self.load(&batch, &plan, body.clone()).await?;
                batch.sql = Vec::from(body);
                loaded
            };
            if loaded {
                self.loads.0 += 1;
            } else {
                self.loads.1 += 1;
            }
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
        self.begin_transaction(&ctx).await?;
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
        self.end_transaction(loaded, &ctx).await?;
        Ok(loaded)
    }

    /// Sends a bulk batch in a transaction, in as many commands as `max_allowed_packet`
    /// needs, and commits it only when every command stored all its rows without a
    /// warning; otherwise rolls it back and returns false, for the caller to replay it as
    /// an `INSERT`. (The OK packet of a command counts only that command's rows and
    /// warnings, so each command is checked on its own.)
    async fn bulk(&mut self, batch: &SqlBatch, plan: &LoadPlan) -> Result<bool, BackendError> {
        let table = self.table.clone();
        let ctx = || {
            format!(
                "writing rows of {} into {}",
                batch.file,
                table.qualified_name()
            )
        };
        self.begin_transaction(&ctx).await?;
        let statement = plan.statement(None);
        let width = plan.kinds.len();
        // The command's own bytes (id, statement, flags, types), with room to spare.
        let limit = self.max_packet.saturating_sub(64 + 2 * width);
        let mut whole = true;
        let mut first = 0;
        while whole && first < batch.rows.len() {
            let command = bulk_command(batch, first, width, limit);
            let end = command.rows.end;
            if end == first {
                // One row larger than a command: the INSERT replay reports it.
                whole = false;
                break;
            }
            match self
                .conn
                .exec_batch(statement.as_str(), bulk_params(batch, &command, width))
                .await
            {
                Ok(()) => {
                    let rows = (end - first) as u64;
                    let (affected, warnings) =
                        (self.conn.affected_rows(), self.conn.get_warnings());
                    // REPLACE counts a replaced row twice; INSERT each row once.
                    whole = affected >= rows && warnings == 0;
                    if !whole {
                        tracing::debug!(file = %batch.file, rows, affected, warnings, "bulk batch not stored whole; replaying it as INSERT");
                    }
                }
                Err(mysql_async::Error::Server(e)) => {
                    tracing::debug!(file = %batch.file, code = e.code, "bulk batch refused; replaying it as INSERT");
                    whole = false;
                }
                Err(e) => return Err(BackendError::from_mysql(ctx(), e)),
            }
            first = end;
        }
        self.end_transaction(whole, &ctx).await?;
        Ok(whole)
    }

    /// Opens the fast batch's transaction (on a fresh connection if this one was dropped
    /// while idle: nothing is written yet).
    async fn begin_transaction(
        &mut self,
        ctx: &(dyn Fn() -> String + Sync),
    ) -> Result<(), BackendError> {
        self.session_statement("BEGIN")
            .await
            .map_err(|e| BackendError::from_mysql(ctx(), e))
    }

    /// Commits the fast batch's transaction when it was stored whole, else rolls it back.
    async fn end_transaction(
        &mut self,
        commit: bool,
        ctx: &(dyn Fn() -> String + Sync),
    ) -> Result<(), BackendError> {
        let end = if commit { "COMMIT" } else { "ROLLBACK" };
        self.conn
            .query_drop(end)
            .await
            .map_err(|e| BackendError::from_mysql(ctx(), e))
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

/// One `COM_STMT_BULK_EXECUTE` of a bulk batch: its rows, and which columns go as 64-bit
/// integers (every value of the column in these rows a NULL or a plain integer number, which
/// stores as its literal does); the others go as strings.
#[derive(Debug, PartialEq)]
struct BulkCommand {
    rows: Range<usize>,
    ints: Vec<bool>,
}

/// The values of row `i` of a bulk batch, each with its tag.
fn row_values(batch: &SqlBatch, i: usize, width: usize) -> impl Iterator<Item = (&[u8], u8)> {
    let tags = batch.tags.get(i * width..(i + 1) * width).unwrap_or(&[]);
    bulk_values(&batch.sql[batch.rows[i].0.clone()]).zip(tags.iter().copied())
}

/// A number's value when it is a plain integer of 64 bits.
fn as_int(v: &[u8]) -> Option<i64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The most bytes a value adds to a command: an indicator byte, then a string's
/// length-encoded bytes, or a number's 8 bytes when it goes as an integer.
fn value_size(v: &[u8], tag: u8) -> usize {
    let n = v.len();
    let lenenc = match n {
        0..=250 => 1,
        251..=0xffff => 3,
        0x1_0000..=0xff_ffff => 4,
        _ => 9,
    };
    match tag {
        TAG_NULL => 1,
        TAG_NUMBER => (1 + lenenc + n).max(9),
        _ => 1 + lenenc + n,
    }
}

/// The command that starts at row `first` of a bulk batch: the most rows whose values fit
/// in `limit` bytes (none when that row alone does not).
fn bulk_command(batch: &SqlBatch, first: usize, width: usize, limit: usize) -> BulkCommand {
    let mut ints = vec![true; width];
    let mut end = first;
    let mut size = 0;
    while end < batch.rows.len() {
        size += row_values(batch, end, width)
            .map(|(v, tag)| value_size(v, tag))
            .sum::<usize>();
        if size > limit {
            break;
        }
        for (int, (v, tag)) in ints.iter_mut().zip(row_values(batch, end, width)) {
            *int &= tag == TAG_NULL || (tag == TAG_NUMBER && as_int(v).is_some());
        }
        end += 1;
    }
    BulkCommand {
        rows: first..end,
        ints,
    }
}

/// A command's rows as statement parameters: integers as such, every other value as a
/// string (read by the server in the session's character set, as a literal would be),
/// NULL by its tag.
fn bulk_params<'a>(
    batch: &'a SqlBatch,
    command: &'a BulkCommand,
    width: usize,
) -> impl Iterator<Item = Params> + Send + 'a {
    command.rows.clone().map(move |i| {
        let mut values = Vec::with_capacity(width);
        for (&int, (v, tag)) in command.ints.iter().zip(row_values(batch, i, width)) {
            values.push(match (tag, int) {
                (TAG_NULL, _) => Value::NULL,
                (_, true) => as_int(v).map_or_else(|| Value::Bytes(v.to_vec()), Value::Int),
                _ => Value::Bytes(v.to_vec()),
            });
        }
        Params::Positional(values)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidb::{ColumnInfo, ColumnKind, SqlEncoder, SqlEncoderOptions};
    use crate::tidb::{FastPath, OnDuplicate};
    use crate::RowEncoder;
    use lightning_parser::{FieldKind, RowBatch};

    /// Rows of (id, 300-byte text, NULL) as one bulk batch.
    fn bulk_batch(rows: usize) -> SqlBatch {
        let col = |name: &str, kind| ColumnInfo {
            name: name.into(),
            kind,
            generated: false,
        };
        let table = Arc::new(TargetTable {
            db: "db".into(),
            name: "t".into(),
            columns: vec![
                col("id", ColumnKind::Integer),
                col("s", ColumnKind::Text),
                col("n", ColumnKind::Text),
            ],
            transactional: true,
            load_serializes: false,
        });
        let opts = SqlEncoderOptions {
            on_duplicate: OnDuplicate::Error,
            max_bytes: 1 << 20,
            max_rows: 1000,
            no_backslash_escapes: false,
            fast_path: Some(FastPath::Bulk),
        };
        let mut b = RowBatch::new();
        for i in 0..rows {
            b.push_field(FieldKind::Number, i.to_string().as_bytes());
            b.push_field(FieldKind::Text, &[b'x'; 300]);
            b.push_field(FieldKind::Null, b"");
            b.finish_row(i as u64 + 1);
        }
        let mut enc = SqlEncoder::new(table, opts, "t.sql", 0);
        let mut out = Vec::new();
        enc.encode(&b, &mut out).unwrap();
        out.extend(enc.flush());
        assert_eq!(out.len(), 1);
        out.pop().unwrap()
    }

    #[test]
    fn bulk_commands_are_cut_to_the_packet_limit() {
        let batch = bulk_batch(10);
        // A row: id (at most 9 bytes as an integer), text (4 + 300), NULL (1).
        let row: usize = row_values(&batch, 0, 3)
            .map(|(v, t)| value_size(v, t))
            .sum();
        assert_eq!(row, 314);
        let ends = |first, limit| bulk_command(&batch, first, 3, limit).rows;
        assert_eq!(ends(0, 4 * row), 0..4);
        assert_eq!(ends(4, 4 * row + row - 1), 4..8);
        assert_eq!(ends(8, 100 * row), 8..10);
        assert_eq!(ends(3, row - 1), 3..3);
        let command = bulk_command(&batch, 1, 3, 1 << 20);
        assert_eq!(command.ints, [true, false, true]);
        let params: Vec<Params> = bulk_params(&batch, &command, 3).collect();
        assert_eq!(params.len(), 9);
        let Params::Positional(values) = &params[0] else {
            panic!("{params:?}")
        };
        assert_eq!(values[0], Value::Int(1));
        assert_eq!(values[1], Value::Bytes(vec![b'x'; 300]));
        assert_eq!(values[2], Value::NULL);
    }

    /// A column goes as integers only when all its numbers in the command are plain
    /// 64-bit integers; otherwise every value of it goes as a string.
    #[test]
    fn only_plain_integer_columns_go_as_integers() {
        assert_eq!(as_int(b"-0042"), Some(-42));
        assert_eq!(as_int(b"+7"), Some(7));
        assert_eq!(as_int(b"9223372036854775808"), None);
        assert_eq!(as_int(b"1.0"), None);
        assert_eq!(as_int(b""), None);
        let mut batch = bulk_batch(3);
        // Row 2's id becomes 18446744073709551615: too large for an i64.
        let mut sql = Vec::new();
        let mut rows = Vec::new();
        for i in 0..3 {
            let line = batch.sql[batch.rows[i].0.clone()].to_vec();
            let mut values: Vec<Vec<u8>> = bulk_values(&line).map(<[u8]>::to_vec).collect();
            if i == 2 {
                values[0] = b"18446744073709551615".to_vec();
            }
            let start = sql.len();
            for v in values {
                sql.extend_from_slice(&(v.len() as u32).to_le_bytes());
                sql.extend_from_slice(&v);
            }
            rows.push((start..sql.len(), batch.rows[i].1));
        }
        batch.sql = sql;
        batch.rows = rows;
        assert_eq!(
            bulk_command(&batch, 0, 3, 1 << 20).ints,
            [false, false, true]
        );
        assert_eq!(
            bulk_command(&batch, 0, 3, 2 * 314).ints,
            [true, false, true]
        );
        let command = bulk_command(&batch, 0, 3, 1 << 20);
        let params: Vec<Params> = bulk_params(&batch, &command, 3).collect();
        let Params::Positional(values) = &params[2] else {
            panic!("{params:?}")
        };
        assert_eq!(values[0], Value::Bytes(b"18446744073709551615".to_vec()));
    }
}
