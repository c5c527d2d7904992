//! The rows a parser produces: one reusable batch holding the bytes of many rows.
//!
//! A batch owns a single byte buffer; fields are spans into it, rows are spans of
//! fields. Clearing a batch keeps its allocations, so the hot path allocates nothing
//! once buffers have grown to the working size.

use std::ops::Range;

/// What a field was written as in the source; decides how it is cast and re-emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// SQL `NULL`, or a CSV field matching the configured null value.
    Null,
    /// A quoted SQL string (after unescaping) or any CSV field: the bytes of the text.
    Text,
    /// An unquoted SQL number, as written (`-12`, `3.5e-2`, `.5`); `TRUE`/`FALSE` give `1`/`0`.
    Number,
    /// A SQL hex or bit literal (`0x0A`, `x'0a'`, `b'101'`, `0b101`), decoded to its bytes.
    Binary,
}

/// One field of a row: its kind and its bytes (unescaped text, number text or binary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// How the value was written.
    pub kind: FieldKind,
    /// The value's bytes; empty for `Null`.
    pub bytes: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldSpan {
    kind: FieldKind,
    start: u32,
    end: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct RowSpan {
    fields: Range<u32>,
    end_offset: u64,
}

/// A batch of parsed rows sharing one column list.
#[derive(Clone, Debug, Default)]
pub struct RowBatch {
    buf: Vec<u8>,
    fields: Vec<FieldSpan>,
    rows: Vec<RowSpan>,
    row_start: u32,
    row_buf_start: u32,
    /// The column names these rows are written for (an `INSERT` column list or a CSV
    /// header), or `None` when rows follow the table's own column order.
    pub columns: Option<Vec<String>>,
}

impl RowBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets all rows, keeping the allocations (and the column list).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.fields.clear();
        self.rows.clear();
        self.row_start = 0;
        self.row_buf_start = 0;
    }

    /// Number of complete rows.
    /// Drops the rows that end at or before `pos` (rows already imported by an earlier run
    /// that is being resumed); returns how many were dropped.
    pub fn skip_rows_through(&mut self, pos: u64) -> usize {
        let n = self.rows.iter().take_while(|r| r.end_offset <= pos).count();
        self.rows.drain(..n);
        n
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the batch holds no complete row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes of field data held, a measure of the batch's memory.
    pub fn data_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Row `i`; panics when `i >= len()`.
    pub fn row(&self, i: usize) -> Row<'_> {
        Row {
            batch: self,
            span: &self.rows[i],
        }
    }

    /// The rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        self.rows.iter().map(move |span| Row { batch: self, span })
    }

    // ---- building (used by parsers) ----

    /// Appends a field to the row being built.
    pub fn push_field(&mut self, kind: FieldKind, bytes: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        self.fields.push(FieldSpan {
            kind,
            start,
            end: self.buf.len() as u32,
        });
    }

    /// Starts a field whose bytes the parser appends piecewise with [`RowBatch::field_buf`].
    pub fn begin_field(&mut self) -> usize {
        self.buf.len()
    }

    /// The byte buffer, for appending the bytes of a field begun with `begin_field`.
    pub fn field_buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Ends a field begun at `start` (the value `begin_field` returned).
    pub fn end_field(&mut self, kind: FieldKind, start: usize) {
        self.fields.push(FieldSpan {
            kind,
            start: start as u32,
            end: self.buf.len() as u32,
        });
    }

    /// Ends the row being built; `end_offset` is the absolute source offset just past it.
    pub fn finish_row(&mut self, end_offset: u64) {
        let end = self.fields.len() as u32;
        self.rows.push(RowSpan {
            fields: self.row_start..end,
            end_offset,
        });
        self.row_start = end;
        self.row_buf_start = self.buf.len() as u32;
    }

    /// Drops the fields of a row begun but not finished (for example on a parse error),
    /// including the bytes of a field begun with `begin_field` and never ended.
    pub fn discard_partial_row(&mut self) {
        self.buf.truncate(self.row_buf_start as usize);
        self.fields.truncate(self.row_start as usize);
    }

    /// Removes the last field of the row being built, if any (and its bytes).
    pub fn pop_field(&mut self) {
        if self.fields.len() > self.row_start as usize {
            if let Some(f) = self.fields.pop() {
                self.buf.truncate(f.start as usize);
            }
        }
    }

    /// Number of fields in the row being built.
    pub fn partial_row_len(&self) -> usize {
        self.fields.len() - self.row_start as usize
    }
}

/// A borrowed view of one row of a [`RowBatch`].
#[derive(Clone, Copy)]
pub struct Row<'a> {
    batch: &'a RowBatch,
    span: &'a RowSpan,
}

impl<'a> Row<'a> {
    /// Number of fields.
    pub fn len(&self) -> usize {
        (self.span.fields.end - self.span.fields.start) as usize
    }

    /// True for a row with no field (`VALUES ()`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Field `i`; panics when `i >= len()`.
    pub fn field(&self, i: usize) -> Field<'a> {
        let f = self.batch.fields[self.span.fields.start as usize + i];
        Field {
            kind: f.kind,
            bytes: &self.batch.buf[f.start as usize..f.end as usize],
        }
    }

    /// The fields in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = Field<'a>> + 'a {
        let batch = self.batch;
        batch.fields[self.span.fields.start as usize..self.span.fields.end as usize]
            .iter()
            .map(move |f| Field {
                kind: f.kind,
                bytes: &batch.buf[f.start as usize..f.end as usize],
            })
    }

    /// Absolute byte offset in the (decompressed) source just past this row.
    pub fn end_offset(&self) -> u64 {
        self.span.end_offset
    }
}

impl std::fmt::Debug for Row<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fields()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_fields_and_clear_keeps_nothing() {
        let mut b = RowBatch::new();
        b.push_field(FieldKind::Number, b"1");
        b.push_field(FieldKind::Text, b"a'b");
        b.finish_row(10);
        let s = b.begin_field();
        b.field_buf().extend_from_slice(b"xy");
        b.end_field(FieldKind::Text, s);
        b.push_field(FieldKind::Null, b"");
        b.finish_row(20);
        b.push_field(FieldKind::Text, b"partial");
        b.discard_partial_row();
        assert_eq!(b.len(), 2);
        assert_eq!(
            b.row(0).field(1),
            Field {
                kind: FieldKind::Text,
                bytes: b"a'b"
            }
        );
        assert_eq!(b.row(1).field(0).bytes, b"xy");
        assert_eq!(b.row(1).field(1).kind, FieldKind::Null);
        assert_eq!(b.row(1).end_offset(), 20);
        assert_eq!(b.data_bytes(), 6);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.data_bytes(), 0);
    }

    #[test]
    fn skipping_rows_through_an_offset_keeps_the_later_ones_intact() {
        let mut b = RowBatch::new();
        for (v, end) in [(b"1", 10), (b"2", 20), (b"3", 30)] {
            b.push_field(FieldKind::Number, v);
            b.finish_row(end);
        }
        assert_eq!(b.skip_rows_through(5), 0);
        assert_eq!(b.skip_rows_through(20), 2);
        assert_eq!(b.len(), 1);
        assert_eq!(b.row(0).field(0).bytes, b"3");
        assert_eq!(b.row(0).end_offset(), 30);
        assert_eq!(b.skip_rows_through(30), 1);
        assert!(b.is_empty());
    }
}
