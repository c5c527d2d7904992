//! Fast batches: rows sent in a form the server reads far more cheaply than `INSERT …
//! VALUES` literals, kept only when they store exactly what the `INSERT` would.
//!
//! Two forms ([`FastPath`]): `LOAD DATA LOCAL INFILE` batches, rows as tab-separated
//! text streamed to the server; and on MariaDB, bulk batches, a prepared `INSERT` run for
//! every row in one `COM_STMT_BULK_EXECUTE` command with each value as a string
//! parameter (no text for the server to scan byte by byte: it costs MariaDB about a third
//! less CPU per row than `LOAD DATA`).
//!
//! `LOCAL` makes the server downgrade errors to warnings (a duplicate key is skipped, a bad
//! value truncated), so a batch is sent inside a transaction and kept only when the server
//! reports every row loaded with no warning; otherwise it is rolled back and replayed as
//! the `INSERT` statement the batch would have been ([`SqlBatch::to_insert`]), which gives
//! exactly the `INSERT` path's result and row-by-row isolation. A bulk batch is an
//! `INSERT` already, but its string parameters could store a value differently from a
//! literal, which the server says with a warning: it is kept under the same rule. Only
//! values whose text reads the same through every path go into a fast batch; the encoder
//! sends any other row as an `INSERT`.

use super::encoder::SqlBatch;
use super::literal::{is_number, write_literal};
use super::{quote_ident, ColumnKind, OnDuplicate, TargetTable};
use lightning_parser::{Field, FieldKind};

/// How fast batches reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastPath {
    /// `LOAD DATA LOCAL INFILE` of tab-separated lines.
    Load,
    /// A prepared `INSERT` run for many rows by MariaDB's `COM_STMT_BULK_EXECUTE`.
    Bulk,
}

/// What a fast batch needs besides its rows: the statement, and how to write its rows
/// as an `INSERT` instead.
#[derive(Debug)]
pub struct LoadPlan {
    /// The form of this plan's batches.
    pub path: FastPath,
    /// `LOAD DATA LOCAL INFILE … INTO TABLE …`, before the character set; or the whole
    /// prepared statement of a bulk plan.
    head: String,
    /// The field and line format and the column list, after the character set (load).
    tail: String,
    /// `INSERT INTO … (columns) VALUES `, for the replay.
    pub(crate) insert_head: Vec<u8>,
    /// Each value's column kind, in order.
    pub(crate) kinds: Vec<ColumnKind>,
    /// Write literals for a `NO_BACKSLASH_ESCAPES` session.
    pub(crate) no_backslash_escapes: bool,
}

impl LoadPlan {
    /// A plan for `columns` of `table`, or `None` when a load could read some value of these
    /// columns differently from an `INSERT` (BIT and JSON columns), when a refused row could
    /// not be rolled back (non-transactional tables), when concurrent loads would queue on
    /// the table's AUTO-INC lock, or for `INSERT IGNORE` (whose skipped rows cannot be told
    /// apart from a refused batch).
    pub fn new(
        path: FastPath,
        table: &TargetTable,
        columns: &[usize],
        on_duplicate: OnDuplicate,
        insert_head: &[u8],
        no_backslash_escapes: bool,
    ) -> Option<Self> {
        let kinds: Vec<ColumnKind> = columns.iter().map(|&i| table.columns[i].kind).collect();
        // LOAD DATA reads BIT text as a number; a bulk parameter stores its bytes, as the
        // `_binary` literal does.
        let loadable = |k: &ColumnKind| {
            matches!(
                k,
                ColumnKind::Integer
                    | ColumnKind::Numeric
                    | ColumnKind::Float
                    | ColumnKind::Text
                    | ColumnKind::Binary
            ) || (path == FastPath::Bulk && *k == ColumnKind::Bit)
        };
        if !table.transactional
            || table.load_serializes
            || on_duplicate == OnDuplicate::Ignore
            || !kinds.iter().all(loadable)
        {
            return None;
        }
        if path == FastPath::Bulk {
            let mut head = String::from_utf8_lossy(insert_head).into_owned();
            head.push('(');
            head.push_str(&vec!["?"; columns.len()].join(","));
            head.push(')');
            return Some(LoadPlan {
                path,
                head,
                tail: String::new(),
                insert_head: insert_head.to_vec(),
                kinds,
                no_backslash_escapes,
            });
        }
        let replace = if on_duplicate == OnDuplicate::Replace {
            "REPLACE "
        } else {
            ""
        };
        let head = format!(
            "LOAD DATA LOCAL INFILE 'lightning-batch' {replace}INTO TABLE {}",
            table.qualified_name()
        );
        let names: Vec<String> = columns
            .iter()
            .map(|&i| quote_ident(&table.columns[i].name))
            .collect();
        // Spelled out, so that no server default changes how the text is read; tab and
        // newline as themselves and the backslash as the sql_mode reads it.
        let backslash = if no_backslash_escapes {
            "'\\'"
        } else {
            "'\\\\'"
        };
        let tail = format!(
            "FIELDS TERMINATED BY '\t' ENCLOSED BY '' ESCAPED BY {backslash} \
             LINES STARTING BY '' TERMINATED BY '\n' ({})",
            names.join(",")
        );
        Some(LoadPlan {
            path,
            head,
            tail,
            insert_head: insert_head.to_vec(),
            kinds,
            no_backslash_escapes,
        })
    }

    /// The statement for data in `charset` (an identifier; `None` = utf8mb4). A bulk plan's
    /// prepared statement reads its parameters in the session's character set.
    pub fn statement(&self, charset: Option<&str>) -> String {
        if self.path == FastPath::Bulk {
            return self.head.clone();
        }
        format!(
            "{} CHARACTER SET {} {}",
            self.head,
            charset.unwrap_or("utf8mb4"),
            self.tail
        )
    }

    /// True when `field`, sent as text, stores what its `INSERT` literal would for a
    /// column of `kind`, with the batch's text in `binary_charset` or not:
    /// - a number the `INSERT` writes bare (any number in a numeric column) reads the same
    ///   as text, except in exponent form outside FLOAT/DOUBLE: the literal `2.5e0` is a
    ///   double, which an integer column rounds to even (2) while the text rounds up (3),
    ///   and a DECIMAL gets it through a double's precision;
    /// - an unquoted number is not sent for other columns (the server would first make it a
    ///   number);
    /// - hex bytes only where no character set conversion applies.
    pub fn loads_same(field: Field<'_>, kind: ColumnKind, binary_charset: bool) -> bool {
        let bare = kind.is_numeric() && is_number(field.bytes);
        let exponent = || field.bytes.iter().any(|&b| b == b'e' || b == b'E');
        match field.kind {
            FieldKind::Null => true,
            FieldKind::Number if !kind.is_numeric() => false,
            FieldKind::Text | FieldKind::Number => {
                !bare || kind == ColumnKind::Float || !exponent()
            }
            FieldKind::Binary => {
                binary_charset || matches!(kind, ColumnKind::Binary | ColumnKind::Bit)
            }
        }
    }
}

/// Appends `field` to a load batch: `\N` for NULL, else its bytes with backslash, tab and
/// newline escaped (the defaults `FIELDS ESCAPED BY '\\'` reads back).
pub fn write_load_field(out: &mut Vec<u8>, field: Field<'_>) {
    if field.kind == FieldKind::Null {
        out.extend_from_slice(b"\\N");
        return;
    }
    let bytes = field.bytes;
    let mut start = 0;
    // Runs without a byte to escape are copied whole (the hot path of an import).
    for i in memchr::memchr3_iter(b'\\', b'\t', b'\n', bytes) {
        let esc = match bytes[i] {
            b'\t' => b't',
            b'\n' => b'n',
            _ => b'\\',
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(&[b'\\', esc]);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends `field` to a bulk batch: its bytes after their length (4 bytes, little-endian);
/// a NULL is known by its tag and has length 0.
pub fn write_bulk_field(out: &mut Vec<u8>, field: Field<'_>) {
    let bytes = if field.kind == FieldKind::Null {
        &[][..]
    } else {
        field.bytes
    };
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The values of one row of a bulk batch, as [`write_bulk_field`] wrote them; whether each
/// is NULL is the caller's (the tags).
pub fn bulk_values(mut row: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = row.split_first_chunk::<4>()?;
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (value, rest) = rest.split_at(len);
        row = rest;
        Some(value)
    })
}

/// Reads one line of a load batch back into its fields' bytes (`None` = NULL).
fn read_load_line(line: &[u8]) -> Vec<Option<Vec<u8>>> {
    let mut fields = Vec::new();
    let mut cur = Vec::new();
    let mut null = false;
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b'\t' => fields.push(if std::mem::take(&mut null) {
                cur.clear();
                None
            } else {
                Some(std::mem::take(&mut cur))
            }),
            b'\\' if i + 1 < line.len() => {
                i += 1;
                match line[i] {
                    b'N' if cur.is_empty() => null = true,
                    b't' => cur.push(b'\t'),
                    b'n' => cur.push(b'\n'),
                    other => cur.push(other),
                }
            }
            b => cur.push(b),
        }
        i += 1;
    }
    fields.push(if null { None } else { Some(cur) });
    fields
}

/// The counts in a `LOAD DATA` OK packet's info: `Records: N  Deleted: N  Skipped: N
/// Warnings: N`, as (records, skipped, warnings).
pub fn parse_load_info(info: &str) -> Option<(u64, u64, u64)> {
    let mut words = info.split_whitespace();
    let (mut records, mut skipped, mut warnings) = (None, None, None);
    while let Some(label) = words.next() {
        let value = words.next()?.parse().ok()?;
        match label {
            "Records:" => records = Some(value),
            "Skipped:" => skipped = Some(value),
            "Warnings:" => warnings = Some(value),
            _ => {}
        }
    }
    Some((records?, skipped?, warnings?))
}

impl SqlBatch {
    /// For a load batch, the `INSERT` statement it stands for (same rows, offsets and
    /// literals as the `INSERT` path writes); any other batch is returned as it is.
    pub fn to_insert(&self) -> SqlBatch {
        let Some(plan) = &self.load else {
            return self.clone();
        };
        let mut sql = plan.insert_head.clone();
        let mut rows = Vec::with_capacity(self.rows.len());
        let mut tags = self.tags.iter();
        for (n, (span, end)) in self.rows.iter().enumerate() {
            if n > 0 {
                sql.push(b',');
            }
            let start = sql.len();
            sql.push(b'(');
            let line = &self.sql[span.clone()];
            let fields: Vec<Option<Vec<u8>>> = match plan.path {
                FastPath::Load => read_load_line(line),
                FastPath::Bulk => bulk_values(line).map(|v| Some(v.to_vec())).collect(),
            };
            for (i, (value, kind)) in fields.iter().zip(&plan.kinds).enumerate() {
                if i > 0 {
                    sql.push(b',');
                }
                let kind_of_tag = tag_kind(tags.next().copied().unwrap_or(TAG_TEXT));
                let field = match value {
                    Some(bytes) if kind_of_tag != FieldKind::Null => Field {
                        kind: kind_of_tag,
                        bytes,
                    },
                    _ => Field {
                        kind: FieldKind::Null,
                        bytes: b"",
                    },
                };
                write_literal(&mut sql, field, *kind, plan.no_backslash_escapes);
            }
            sql.push(b')');
            rows.push((start..sql.len(), *end));
        }
        SqlBatch {
            sql,
            head_len: plan.insert_head.len(),
            rows,
            start_offset: self.start_offset,
            file: self.file.clone(),
            charset: self.charset.clone(),
            load: None,
            tags: Vec::new(),
        }
    }
}

pub(crate) const TAG_TEXT: u8 = 0;
/// The tag of an unquoted number.
pub(crate) const TAG_NUMBER: u8 = 1;
/// The tag of a NULL value.
pub(crate) const TAG_NULL: u8 = 3;

/// The one-byte tag a load batch keeps per value, so a replay writes the same literal.
pub(crate) fn kind_tag(kind: FieldKind) -> u8 {
    match kind {
        FieldKind::Text => TAG_TEXT,
        FieldKind::Number => TAG_NUMBER,
        FieldKind::Binary => 2,
        FieldKind::Null => TAG_NULL,
    }
}

fn tag_kind(tag: u8) -> FieldKind {
    match tag {
        TAG_NUMBER => FieldKind::Number,
        2 => FieldKind::Binary,
        TAG_NULL => FieldKind::Null,
        _ => FieldKind::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_text_reads_back_to_the_same_bytes() {
        let values: [&[u8]; 6] = [b"", b"N", b"\\N", b"a\tb\nc\\d", b"\0\r'\"", b"\\"];
        let mut line = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                line.push(b'\t');
            }
            write_load_field(
                &mut line,
                Field {
                    kind: FieldKind::Text,
                    bytes: v,
                },
            );
        }
        line.push(b'\t');
        write_load_field(
            &mut line,
            Field {
                kind: FieldKind::Null,
                bytes: b"",
            },
        );
        let back = read_load_line(&line);
        let mut want: Vec<Option<Vec<u8>>> = values.iter().map(|v| Some(v.to_vec())).collect();
        want.push(None);
        assert_eq!(back, want);
        assert!(!line.contains(&b'\n'));
    }

    #[test]
    fn load_info_counts_are_read() {
        assert_eq!(
            parse_load_info("Records: 3  Deleted: 0  Skipped: 1  Warnings: 2"),
            Some((3, 1, 2))
        );
        assert_eq!(parse_load_info(""), None);
        assert_eq!(parse_load_info("Records: x"), None);
    }
}
