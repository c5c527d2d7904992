//! Rows to multi-row statements, within a byte and row budget (CPU side).

use super::load::{kind_tag, write_bulk_field, write_load_field, FastPath, LoadPlan};
use super::{literal::write_literal, quote_ident, ColumnKind, OnDuplicate, TargetTable};
use crate::{BackendError, RowEncoder};
use lightning_parser::RowBatch;
use std::ops::Range;
use std::sync::Arc;

/// Budgets and dialect of the statements an encoder builds.
#[derive(Clone, Debug)]
pub struct SqlEncoderOptions {
    /// `INSERT`, `REPLACE` or `INSERT IGNORE`.
    pub on_duplicate: OnDuplicate,
    /// Close a statement once it holds this many bytes (`logical-import-batch-size`).
    pub max_bytes: usize,
    /// Close a statement once it holds this many rows (`logical-import-batch-rows`).
    pub max_rows: usize,
    /// The session runs with `NO_BACKSLASH_ESCAPES`.
    pub no_backslash_escapes: bool,
    /// Send rows as fast batches of this form where that stores them the same.
    pub fast_path: Option<FastPath>,
}

/// One statement ready to send, with the span of each row's tuple in it; or, when `load`
/// is set, the rows of one fast batch (see [`FastPath`]).
#[derive(Debug, Clone)]
pub struct SqlBatch {
    /// The whole statement, a load batch's tab-separated lines, or a bulk batch's values
    /// (see `load::write_bulk_field`).
    pub sql: Vec<u8>,
    /// Length of the head (`INSERT INTO … VALUES `); 0 for a load batch.
    pub head_len: usize,
    /// Each row's `( … )` tuple (or load line) in `sql`, and its end offset in the source.
    pub rows: Vec<(Range<usize>, u64)>,
    /// Source offset where the first row starts (just past the previous row).
    pub start_offset: u64,
    /// The source file, for messages.
    pub file: Arc<str>,
    /// The character set the statement's text is in (`SET NAMES`); `None` = the session's.
    pub charset: Option<Arc<str>>,
    /// For a load batch, its statement and how to replay it as an `INSERT`.
    pub load: Option<Arc<LoadPlan>>,
    /// For a load batch, each value's parsed kind (see `load::kind_tag`).
    pub tags: Vec<u8>,
}

impl SqlBatch {
    /// Source bytes the rows span.
    pub fn source_bytes(&self) -> u64 {
        self.rows
            .last()
            .map_or(0, |r| r.1.saturating_sub(self.start_offset))
    }

    /// The statement for row `i` alone (of an `INSERT` batch).
    pub fn single_row_statement(&self, i: usize) -> Vec<u8> {
        let span = self.rows[i].0.clone();
        let mut s = Vec::with_capacity(self.head_len + span.len());
        s.extend_from_slice(&self.sql[..self.head_len]);
        s.extend_from_slice(&self.sql[span]);
        s
    }
}

/// Takes the batch being built, remembering its rows and values in `hint`.
fn take_batch(current: &mut Option<SqlBatch>, hint: &mut (usize, usize)) -> Option<SqlBatch> {
    let batch = current.take()?;
    *hint = (batch.rows.len(), batch.tags.len());
    Some(batch)
}

/// Builds statements for one table from one data file's rows.
pub struct SqlEncoder {
    table: Arc<TargetTable>,
    opts: SqlEncoderOptions,
    file: Arc<str>,
    /// The column list the current mapping was built for (`None` = implicit).
    columns: Option<Option<Vec<String>>>,
    /// How each value of a row is written; `None` drops it (a generated column's).
    kinds: Vec<Option<ColumnKind>>,
    head: Vec<u8>,
    /// How rows of the current mapping load, when they can.
    plan: Option<Arc<LoadPlan>>,
    current: Option<SqlBatch>,
    last_offset: u64,
    charset: Option<Arc<str>>,
    /// Rows and values of the last batch taken: a new batch reserves as many, so its
    /// buffers are not grown (and copied) row by row.
    hint: (usize, usize),
}

/// Most bytes a new batch reserves up front.
const MAX_RESERVE: usize = 64 << 20;

impl SqlEncoder {
    /// An encoder for rows of `file` (shown in errors) starting at `start_offset`.
    pub fn new(
        table: Arc<TargetTable>,
        opts: SqlEncoderOptions,
        file: &str,
        start_offset: u64,
    ) -> Self {
        SqlEncoder {
            table,
            opts,
            file: file.into(),
            columns: None,
            kinds: Vec::new(),
            head: Vec::new(),
            plan: None,
            current: None,
            last_offset: start_offset,
            charset: None,
            hint: (0, 0),
        }
    }

    fn set_mapping(
        &mut self,
        columns: &Option<Vec<String>>,
        first_row_len: usize,
        offset: u64,
    ) -> Result<(), BackendError> {
        let idx = match columns {
            Some(names) => self
                .table
                .named_columns(names)
                .map_err(|e| self.encode_err(offset, e.to_string()))?,
            None => self
                .table
                .implicit_columns(first_row_len)
                .map_err(|m| self.encode_err(offset, m))?,
        };
        self.kinds = idx
            .iter()
            .map(|i| i.map(|i| self.table.columns[i].kind))
            .collect();
        let mut head = String::from(self.opts.on_duplicate.verb());
        head.push_str(&self.table.qualified_name());
        head.push_str(" (");
        for (n, &i) in idx.iter().flatten().enumerate() {
            if n > 0 {
                head.push(',');
            }
            head.push_str(&quote_ident(&self.table.columns[i].name));
        }
        head.push_str(") VALUES ");
        self.head = head.into_bytes();
        self.columns = Some(columns.clone());
        let mapped: Vec<usize> = idx.into_iter().flatten().collect();
        // A row of no values (all DEFAULTs) has nothing to load.
        self.plan = self
            .opts
            .fast_path
            .filter(|_| !mapped.is_empty())
            .and_then(|path| {
                LoadPlan::new(
                    path,
                    &self.table,
                    &mapped,
                    self.opts.on_duplicate,
                    &self.head,
                    self.opts.no_backslash_escapes,
                )
            })
            .map(Arc::new);
        Ok(())
    }

    fn encode_err(&self, end_offset: u64, message: String) -> BackendError {
        BackendError::Encode {
            file: self.file.to_string(),
            end_offset,
            message,
        }
    }
}

impl RowEncoder for SqlEncoder {
    type Encoded = SqlBatch;

    fn encode(&mut self, batch: &RowBatch, out: &mut Vec<SqlBatch>) -> Result<(), BackendError> {
        let Some(first) = batch.rows().next() else {
            return Ok(());
        };
        if self.columns.as_ref() != Some(&batch.columns) {
            if let Some(done) = self.flush() {
                out.push(done);
            }
            self.set_mapping(&batch.columns, first.len(), first.end_offset())?;
        }
        for row in batch.rows() {
            if row.len() != self.kinds.len() && batch.columns.is_none() {
                // Without a column list, the mapping follows the values: a statement of
                // `VALUES ()` rows fills every DEFAULT, the next may name every column.
                out.extend(self.flush());
                self.set_mapping(&batch.columns, row.len(), row.end_offset())?;
            }
            if row.len() != self.kinds.len() {
                return Err(self.encode_err(
                    row.end_offset(),
                    format!(
                        "row has {} values, expected {} for table {}",
                        row.len(),
                        self.kinds.len(),
                        self.table.qualified_name()
                    ),
                ));
            }
            let binary = self.charset.as_deref() == Some("binary");
            let plan = self.plan.as_ref().filter(|_| {
                row.fields()
                    .zip(&self.kinds)
                    .filter_map(|(f, k)| Some((f, (*k)?)))
                    .all(|(f, k)| LoadPlan::loads_same(f, k, binary))
            });
            if self
                .current
                .as_ref()
                .is_some_and(|c| c.load.is_some() != plan.is_some())
            {
                out.extend(take_batch(&mut self.current, &mut self.hint));
            }
            let cur = self.current.get_or_insert_with(|| {
                // A batch ends once it reaches `max_bytes`: one row past it, at most.
                let mut sql = Vec::with_capacity(
                    self.opts
                        .max_bytes
                        .saturating_add(self.opts.max_bytes / 8)
                        .min(MAX_RESERVE),
                );
                let head_len = if plan.is_some() {
                    0
                } else {
                    sql.extend_from_slice(&self.head);
                    self.head.len()
                };
                SqlBatch {
                    sql,
                    head_len,
                    rows: Vec::with_capacity(self.hint.0),
                    start_offset: self.last_offset,
                    file: self.file.clone(),
                    charset: self.charset.clone(),
                    load: plan.cloned(),
                    tags: Vec::with_capacity(self.hint.1),
                }
            });
            let values = row
                .fields()
                .zip(&self.kinds)
                .filter_map(|(field, kind)| Some((field, (*kind)?)));
            if let Some(FastPath::Bulk) = cur.load.as_ref().map(|p| p.path) {
                let start = cur.sql.len();
                for (field, _) in values {
                    write_bulk_field(&mut cur.sql, field);
                    cur.tags.push(kind_tag(field.kind));
                }
                cur.rows.push((start..cur.sql.len(), row.end_offset()));
            } else if cur.load.is_some() {
                let start = cur.sql.len();
                for (i, (field, _)) in values.enumerate() {
                    if i > 0 {
                        cur.sql.push(b'\t');
                    }
                    write_load_field(&mut cur.sql, field);
                    cur.tags.push(kind_tag(field.kind));
                }
                cur.rows.push((start..cur.sql.len(), row.end_offset()));
                cur.sql.push(b'\n');
            } else {
                if !cur.rows.is_empty() {
                    cur.sql.push(b',');
                }
                let start = cur.sql.len();
                cur.sql.push(b'(');
                for (i, (field, kind)) in values.enumerate() {
                    if i > 0 {
                        cur.sql.push(b',');
                    }
                    write_literal(&mut cur.sql, field, kind, self.opts.no_backslash_escapes);
                }
                cur.sql.push(b')');
                cur.rows.push((start..cur.sql.len(), row.end_offset()));
            }
            self.last_offset = row.end_offset();
            if cur.sql.len() >= self.opts.max_bytes || cur.rows.len() >= self.opts.max_rows {
                out.extend(take_batch(&mut self.current, &mut self.hint));
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Option<SqlBatch> {
        take_batch(&mut self.current, &mut self.hint)
    }

    /// Ignores names that are not plain charset identifiers (they are never sent).
    fn set_source_charset(&mut self, charset: &str) {
        if !charset.is_empty()
            && charset
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.charset = Some(charset.into());
        } else {
            tracing::warn!(file = %self.file, charset, "ignoring a character set name that is not an identifier");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidb::ColumnInfo;
    use lightning_parser::FieldKind;

    fn table() -> Arc<TargetTable> {
        let col = |name: &str, kind, generated| ColumnInfo {
            name: name.into(),
            kind,
            generated,
        };
        Arc::new(TargetTable {
            db: "db".into(),
            name: "t".into(),
            columns: vec![
                col("id", ColumnKind::Integer, false),
                col("s", ColumnKind::Text, false),
                col("g", ColumnKind::Integer, true),
            ],
            transactional: true,
            load_serializes: false,
        })
    }

    fn opts(max_rows: usize) -> SqlEncoderOptions {
        SqlEncoderOptions {
            on_duplicate: OnDuplicate::Replace,
            max_bytes: 1 << 20,
            max_rows,
            no_backslash_escapes: false,
            fast_path: None,
        }
    }

    fn rows(n: usize, columns: Option<Vec<String>>) -> RowBatch {
        let mut b = RowBatch::new();
        b.columns = columns;
        for i in 0..n {
            b.push_field(FieldKind::Number, i.to_string().as_bytes());
            b.push_field(FieldKind::Text, b"x'y");
            b.finish_row(10 * (i as u64 + 1));
        }
        b
    }

    #[test]
    fn statements_respect_the_row_budget_and_keep_row_spans() {
        let mut enc = SqlEncoder::new(table(), opts(2), "f.sql", 0);
        let mut out = Vec::new();
        enc.encode(&rows(3, None), &mut out).unwrap();
        out.extend(enc.flush());
        assert_eq!(out.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&out[0].sql),
            "REPLACE INTO `db`.`t` (`id`,`s`) VALUES (0,'x\\'y'),(1,'x\\'y')"
        );
        assert_eq!(out[0].source_bytes(), 20);
        assert_eq!((out[1].start_offset, out[1].source_bytes()), (20, 10));
        assert_eq!(
            String::from_utf8_lossy(&out[0].single_row_statement(1)),
            "REPLACE INTO `db`.`t` (`id`,`s`) VALUES (1,'x\\'y')"
        );
    }

    #[test]
    fn a_new_column_list_starts_a_new_statement() {
        let mut enc = SqlEncoder::new(table(), opts(100), "f.sql", 0);
        let mut out = Vec::new();
        enc.encode(&rows(1, None), &mut out).unwrap();
        enc.encode(&rows(1, Some(vec!["S".into(), "ID".into()])), &mut out)
            .unwrap();
        out.extend(enc.flush());
        assert_eq!(out.len(), 2);
        assert!(String::from_utf8_lossy(&out[1].sql)
            .starts_with("REPLACE INTO `db`.`t` (`s`,`id`) VALUES (0,'x\\'y')"));
    }

    /// Regression: mysqldump's rows carry the generated column's value; it is dropped.
    #[test]
    fn values_of_generated_columns_are_dropped_from_full_rows() {
        let mut b = RowBatch::new();
        b.push_field(FieldKind::Number, b"7");
        b.push_field(FieldKind::Text, b"s");
        b.push_field(FieldKind::Number, b"14");
        b.finish_row(9);
        let mut enc = SqlEncoder::new(table(), opts(100), "g.sql", 0);
        let mut out = Vec::new();
        enc.encode(&b, &mut out).unwrap();
        out.extend(enc.flush());
        assert_eq!(
            String::from_utf8_lossy(&out[0].sql),
            "REPLACE INTO `db`.`t` (`id`,`s`) VALUES (7,'s')"
        );
    }

    /// `INSERT INTO t VALUES ()` fills every column's DEFAULT; the next statement of the
    /// same file may give every value again.
    #[test]
    fn rows_of_no_values_insert_defaults() {
        let mut b = RowBatch::new();
        b.finish_row(5);
        b.finish_row(8);
        let mut enc = SqlEncoder::new(table(), opts(100), "d.sql", 0);
        let mut out = Vec::new();
        enc.encode(&b, &mut out).unwrap();
        enc.encode(&rows(1, None), &mut out).unwrap();
        out.extend(enc.flush());
        let sql: Vec<_> = out
            .iter()
            .map(|o| String::from_utf8_lossy(&o.sql))
            .collect();
        assert_eq!(
            sql,
            [
                "REPLACE INTO `db`.`t` () VALUES (),()",
                "REPLACE INTO `db`.`t` (`id`,`s`) VALUES (0,'x\\'y')"
            ]
        );
        assert_eq!(out[0].source_bytes(), 8);
    }

    /// A TiDB dump's `_tidb_rowid` has no column on other targets: its values are dropped.
    #[test]
    fn an_explicit_tidb_rowid_without_a_column_is_dropped() {
        let b = rows(2, Some(vec!["_tidb_rowid".into(), "s".into()]));
        let mut enc = SqlEncoder::new(table(), opts(100), "r.sql", 0);
        let mut out = Vec::new();
        enc.encode(&b, &mut out).unwrap();
        out.extend(enc.flush());
        assert_eq!(
            String::from_utf8_lossy(&out[0].sql),
            "REPLACE INTO `db`.`t` (`s`) VALUES ('x\\'y'),('x\\'y')"
        );
    }

    #[test]
    fn wrong_field_counts_and_unknown_columns_name_the_file_and_offset() {
        let mut enc = SqlEncoder::new(table(), opts(100), "a.sql", 0);
        let mut b = rows(1, None);
        b.push_field(FieldKind::Number, b"1");
        b.finish_row(99);
        let err = enc.encode(&b, &mut Vec::new()).unwrap_err().to_string();
        assert_eq!(
            err,
            "a.sql: row ending at byte 99: row has 1 values but table `db`.`t` has 3 columns (2 not generated)"
        );
        let err = SqlEncoder::new(table(), opts(1), "b.sql", 0)
            .encode(
                &rows(1, Some(vec!["nope".into(), "id".into()])),
                &mut Vec::new(),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b.sql: row ending at byte 10: table `db`.`t` has no column `nope`"),
            "{err}"
        );
    }
}
