//! [`Encoder`]: one table's rows in, TiDB's record and index key-value pairs out.
//!
//! ```
//! use lightning_encode::{ddl::parse_create_table, Encoder, EncodeOptions, KvPairs};
//! use lightning_parser::{Field, FieldKind};
//! let t = parse_create_table("CREATE TABLE t (id INT PRIMARY KEY, k INT, KEY (k))", 42).unwrap();
//! let mut enc = Encoder::new(&t, EncodeOptions::default()).unwrap();
//! let mut out = KvPairs::new();
//! let row = [Field { kind: FieldKind::Number, bytes: b"1" }, Field { kind: FieldKind::Number, bytes: b"7" }];
//! enc.encode_row(&row, 1, &mut out).unwrap();
//! assert_eq!(out.len(), 2); // record + index k
//! ```

use crate::autoid::{auto_random_shard, shard_row_id, ShardFormat};
use crate::cast::{cast_value, char_boundary, CastContext};
use crate::codec::datum::encode_key_datum;
use crate::codec::Datum;
use crate::collate::trailing_spaces;
use crate::decimal::Decimal;
use crate::error::{RowError, SchemaError};
use crate::key::{append_index_key, append_index_value, append_record_key, Handle};
use crate::kvpairs::KvPairs;
use crate::rowv2::RowV2Encoder;
use crate::sqlmode::SqlMode;
use crate::table::{ColumnInfo, ColumnType, DefaultValue, HandleKind, IndexInfo, TableInfo};
use crate::time::Time;
use crate::tz::TimeZone;
use lightning_parser::{Field, FieldKind};

/// Session settings of an encoder.
#[derive(Clone, Debug)]
pub struct EncodeOptions {
    /// SQL mode (`[tidb] sql-mode`).
    pub sql_mode: SqlMode,
    /// Session time zone (`time_zone`): TIMESTAMP input is read in it and stored in UTC.
    pub time_zone: TimeZone,
    /// Unix seconds used for `CURRENT_TIMESTAMP` defaults.
    pub timestamp: i64,
    /// Lightning's `AutoRandomSeed`: seeds Go's `math/rand` for the AUTO_RANDOM shard.
    pub auto_random_seed: i64,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            sql_mode: SqlMode::parse(SqlMode::LIGHTNING_DEFAULT),
            time_zone: TimeZone::utc(),
            timestamp: 0,
            auto_random_seed: 0,
        }
    }
}

/// Largest ids seen, for rebasing TiDB's allocators after the import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxIds {
    /// Largest `_tidb_rowid` or auto-increment value used.
    pub row_id: i64,
    /// Largest increment part of an AUTO_RANDOM handle.
    pub auto_random: i64,
}

/// Encodes rows of one table; keeps its buffers between rows.
pub struct Encoder<'t> {
    table: &'t TableInfo,
    cast: CastContext,
    /// The session's cast settings but in UTC, for defaults TiDB stores in UTC.
    utc_cast: CastContext,
    opts: EncodeOptions,
    /// field position -> column offset ([`ROWID_FIELD`] for an explicit `_tidb_rowid`)
    field_map: Vec<usize>,
    /// The explicit `_tidb_rowid` of the row being encoded, if the fields carry one.
    explicit_row_id: Option<i64>,
    /// column offset -> whether a field supplies it
    supplied: Vec<bool>,
    row: Vec<Datum>,
    key_datums: Vec<Datum>,
    restored: Vec<(i64, Datum)>,
    handle_buf: Vec<u8>,
    scratch: Vec<u8>,
    rowv2: RowV2Encoder,
    shard: Option<(usize, ShardFormat, u64)>,
    /// ids seen so far
    pub max_ids: MaxIds,
}

impl<'t> Encoder<'t> {
    /// Checks the table can be encoded (collations, generated columns) and sets up buffers.
    pub fn new(table: &'t TableInfo, opts: EncodeOptions) -> Result<Self, SchemaError> {
        let unsupported = |m: String| SchemaError::Unsupported {
            table: table.name.clone(),
            message: m,
        };
        for ix in &table.indices {
            for ic in &ix.columns {
                let c = &table.columns[ic.offset];
                c.ft.collation.check_keyable(&table.name, &c.name)?;
                if c.generated.is_some() {
                    return Err(unsupported(format!(
                        "index on generated column `{}`",
                        c.name
                    )));
                }
            }
        }
        for c in &table.columns {
            if let Some(g) = &c.generated {
                if g.stored {
                    return Err(unsupported(format!(
                        "stored generated column `{}` AS ({})",
                        c.name, g.expr
                    )));
                }
            }
        }
        let shard = table.columns.iter().find_map(|c| {
            c.auto_random.map(|(s, r)| {
                (
                    c.offset,
                    ShardFormat::new(s, r, c.ft.unsigned),
                    auto_random_shard(opts.auto_random_seed),
                )
            })
        });
        let n = table.columns.len();
        let mut enc = Encoder {
            table,
            cast: CastContext {
                sql_mode: opts.sql_mode,
                time_zone: opts.time_zone.clone(),
            },
            utc_cast: CastContext {
                sql_mode: opts.sql_mode,
                time_zone: TimeZone::utc(),
            },
            opts,
            field_map: Vec::new(),
            explicit_row_id: None,
            supplied: vec![false; n],
            row: vec![Datum::Null; n],
            key_datums: Vec::new(),
            restored: Vec::new(),
            handle_buf: Vec::new(),
            scratch: Vec::new(),
            rowv2: RowV2Encoder::new(),
            shard,
            max_ids: MaxIds::default(),
        };
        enc.set_columns(None)
            .map_err(|e| unsupported(e.to_string()))?;
        Ok(enc)
    }

    /// Sets the column list the fields follow (an `INSERT` column list or CSV header);
    /// `None` means every non-virtual column in table order.
    pub fn set_columns(&mut self, names: Option<&[String]>) -> Result<(), RowError> {
        self.field_map.clear();
        match names {
            None => self.field_map.extend(
                self.table
                    .columns
                    .iter()
                    .filter(|c| !is_virtual(c))
                    .map(|c| c.offset),
            ),
            Some(names) => {
                for n in names {
                    match self.table.column(n) {
                        Some(c) => self.field_map.push(c.offset),
                        // A dump of a table without a handle column may carry the hidden
                        // row id, which then keys the row (as TiDB's own INSERT allows).
                        None if n.eq_ignore_ascii_case("_tidb_rowid")
                            && self.table.handle == HandleKind::RowId =>
                        {
                            self.field_map.push(ROWID_FIELD)
                        }
                        None => return Err(RowError::UnknownColumn(n.clone())),
                    }
                }
            }
        }
        self.supplied.iter_mut().for_each(|s| *s = false);
        for &o in &self.field_map {
            if o != ROWID_FIELD {
                self.supplied[o] = true;
            }
        }
        Ok(())
    }

    /// The table being encoded.
    pub fn table(&self) -> &TableInfo {
        self.table
    }

    /// Casts and encodes one row, appending its record pair then its index pairs to `out`.
    /// `row_id` is the row's stable position-derived id (the `_tidb_rowid` handle, and the
    /// value of a missing auto-increment column). On error nothing is appended.
    pub fn encode_row(
        &mut self,
        fields: &[Field<'_>],
        row_id: i64,
        out: &mut KvPairs,
    ) -> Result<(), RowError> {
        // `VALUES ()` is a row of defaults, as in TiDB's INSERT; other counts must match.
        if !fields.is_empty() && fields.len() != self.field_map.len() {
            return Err(RowError::ColumnCount {
                expected: self.field_map.len(),
                got: fields.len(),
            });
        }
        self.cast_row(fields, row_id)?;
        let n = out.len();
        let res = self.write_kvs(row_id, out);
        if res.is_err() {
            out.truncate(n);
        }
        res
    }

    /// The typed values of the last row cast, in table column order.
    pub fn row_datums(&self) -> &[Datum] {
        &self.row
    }

    fn cast_err(c: &ColumnInfo, m: impl Into<String>) -> RowError {
        RowError::Cast {
            column: c.name.clone(),
            message: m.into(),
        }
    }

    fn cast_row(&mut self, fields: &[Field<'_>], row_id: i64) -> Result<(), RowError> {
        let table = self.table;
        let all_default = fields.is_empty();
        self.explicit_row_id = None;
        for (f, &off) in fields.iter().zip(&self.field_map) {
            if off == ROWID_FIELD {
                let id = std::str::from_utf8(f.bytes)
                    .ok()
                    .and_then(|t| t.trim().parse::<i64>().ok())
                    .filter(|_| f.kind != FieldKind::Null)
                    .ok_or_else(|| RowError::Cast {
                        column: "_tidb_rowid".into(),
                        message: "not an integer row id".into(),
                    })?;
                self.explicit_row_id = Some(id);
                continue;
            }
            let c = &table.columns[off];
            cast_value(f.kind, f.bytes, &c.ft, &self.cast, &mut self.row[off])
                .map_err(|m| Self::cast_err(c, format!("{m} {}", shown(f.bytes))))?;
        }
        for c in &table.columns {
            let off = c.offset;
            if is_virtual(c) {
                self.row[off] = Datum::Null;
                continue;
            }
            if all_default || !self.supplied[off] {
                self.fill_default(c)?;
            }
            let d = &self.row[off];
            let is_zero = matches!(d, Datum::Int(0) | Datum::Uint(0));
            let auto_fill = d.is_null() || (is_zero && !self.cast.sql_mode.no_auto_value_on_zero);
            if c.auto_increment && auto_fill {
                self.row[off] = if c.ft.unsigned {
                    Datum::Uint(row_id as u64)
                } else {
                    Datum::Int(row_id)
                };
                self.max_ids.row_id = self.max_ids.row_id.max(row_id);
            } else if c.auto_increment {
                let v = datum_as_i64(&self.row[off]);
                self.max_ids.row_id = self.max_ids.row_id.max(v);
            }
            if let Some((o, fmt, shard)) = self.shard {
                if o == off {
                    if auto_fill {
                        let h = fmt.compose(shard, row_id);
                        self.row[off] = if c.ft.unsigned {
                            Datum::Uint(h as u64)
                        } else {
                            Datum::Int(h)
                        };
                        self.max_ids.auto_random = self.max_ids.auto_random.max(row_id);
                    } else {
                        let inc = datum_as_i64(&self.row[off]) & fmt.inc_mask() as i64;
                        self.max_ids.auto_random = self.max_ids.auto_random.max(inc);
                    }
                }
            }
            if self.row[off].is_null() && c.not_null {
                if self.cast.sql_mode.strict {
                    return Err(RowError::NotNull(c.name.clone()));
                }
                zero_value(c, &mut self.row[off]);
            }
        }
        Ok(())
    }

    fn fill_default(&mut self, c: &ColumnInfo) -> Result<(), RowError> {
        let slot = &mut self.row[c.offset];
        match &c.default {
            None => {
                *slot = Datum::Null;
                if c.not_null
                    && !c.auto_increment
                    && c.auto_random.is_none()
                    && self.cast.sql_mode.strict
                {
                    return Err(Self::cast_err(c, "field doesn't have a default value"));
                }
            }
            Some(DefaultValue::Literal(None)) => *slot = Datum::Null,
            Some(DefaultValue::Literal(Some(b))) => {
                cast_value(FieldKind::Text, b, &c.ft, &self.cast, slot)
                    .map_err(|m| Self::cast_err(c, m))?
            }
            Some(DefaultValue::Utc(b)) => {
                cast_value(FieldKind::Text, b, &c.ft, &self.utc_cast, slot)
                    .map_err(|m| Self::cast_err(c, m))?
            }
            Some(DefaultValue::Binary(b)) => {
                cast_value(FieldKind::Binary, b, &c.ft, &self.cast, slot)
                    .map_err(|m| Self::cast_err(c, m))?
            }
            Some(DefaultValue::CurrentTimestamp) => {
                // Stored value: UTC for TIMESTAMP, session-local wall clock otherwise.
                let secs = if c.ft.tp == ColumnType::Timestamp {
                    self.opts.timestamp
                } else {
                    self.opts.timestamp
                        + i64::from(self.opts.time_zone.offset_at(self.opts.timestamp))
                };
                let mut t = Time::from_unix_seconds(secs, 0);
                if c.ft.tp == ColumnType::Date {
                    t = Time {
                        hour: 0,
                        minute: 0,
                        second: 0,
                        ..t
                    };
                }
                *slot = Datum::Time(t);
            }
            Some(DefaultValue::Expr(e)) => {
                return Err(Self::cast_err(
                    c,
                    format!("cannot evaluate default expression ({e}) yet"),
                ));
            }
        }
        Ok(())
    }

    /// Collation key / prefix of column `off`'s value for an index, into `key_datums[i]`.
    fn key_datum(row: &[Datum], c: &ColumnInfo, len: Option<u32>, out: &mut Datum) {
        match &row[c.offset] {
            Datum::Bytes(b) => {
                let b = prefix(b, c, len);
                let buf = out.bytes_buf();
                c.ft.collation.append_key(b, buf);
            }
            other => out.clone_from(other),
        }
    }

    fn write_kvs(&mut self, row_id: i64, out: &mut KvPairs) -> Result<(), RowError> {
        let table = self.table;
        let tid = table.id;
        // handle
        self.handle_buf.clear();
        let int_handle = match &table.handle {
            HandleKind::IntPk { offset } => Some(datum_as_i64(&self.row[*offset])),
            HandleKind::RowId => {
                // The allocator is rebased on the plain id; the key carries the shard.
                let id = self.explicit_row_id.unwrap_or(row_id);
                self.max_ids.row_id = self.max_ids.row_id.max(id);
                Some(shard_row_id(id, table.shard_row_id_bits))
            }
            HandleKind::Clustered { index } => {
                let ix = &table.indices[*index];
                let mut d = Datum::Null;
                for ic in &ix.columns {
                    Self::key_datum(&self.row, &table.columns[ic.offset], ic.length, &mut d);
                    encode_key_datum(&mut self.handle_buf, &d)?;
                }
                None
            }
        };
        let handle = match int_handle {
            Some(h) => Handle::Int(h),
            None => Handle::Common(&self.handle_buf),
        };
        // record
        let skip = match table.handle {
            HandleKind::IntPk { offset } => Some(offset),
            _ => None,
        };
        let row = &self.row;
        let rowv2 = &mut self.rowv2;
        out.push_with(
            0,
            |k| {
                append_record_key(k, tid, handle);
                Ok::<(), RowError>(())
            },
            |v| {
                let cols = table
                    .columns
                    .iter()
                    .filter(|c| Some(c.offset) != skip && !is_virtual(c))
                    .map(|c| (c.id, &row[c.offset]));
                rowv2.encode(cols, v).map_err(RowError::from)
            },
        )?;
        // indexes
        let clustered_index = match table.handle {
            HandleKind::Clustered { index } => Some(index),
            _ => None,
        };
        let hb = std::mem::take(&mut self.handle_buf);
        let res = table
            .indices
            .iter()
            .enumerate()
            .filter(|(pos, _)| Some(*pos) != clustered_index)
            .try_for_each(|(_, ix)| self.write_index(ix, handle_of(int_handle, &hb), out));
        self.handle_buf = hb;
        res
    }

    fn write_index(
        &mut self,
        ix: &IndexInfo,
        handle: Handle<'_>,
        out: &mut KvPairs,
    ) -> Result<(), RowError> {
        let table = self.table;
        if self.key_datums.len() < ix.columns.len() {
            self.key_datums.resize(ix.columns.len(), Datum::Null);
        }
        let mut has_null = false;
        let mut need_restore = false;
        for (ic, kd) in ix.columns.iter().zip(self.key_datums.iter_mut()) {
            let c = &table.columns[ic.offset];
            has_null |= self.row[ic.offset].is_null();
            need_restore |= c.ft.needs_restored_data();
            Self::key_datum(&self.row, c, ic.length, kd);
        }
        let distinct = ix.unique && !has_null;
        let clustered_v1 = table.is_common_handle() && table.common_handle_version >= 1;
        // restored data (index columns, plus clustered primary-key columns that need it)
        self.scratch.clear();
        let mut restored = None;
        let pk_restore = clustered_v1 && self.pk_needs_restore();
        if need_restore || pk_restore {
            // Slots are reused across rows so restored strings need no fresh allocation.
            let mut n = 0;
            let cols = ix.columns.iter().map(|ic| (ic.offset, ic.length)).chain(
                pk_restore
                    .then(|| {
                        self.pk_columns()
                            .map(|ic| (ic.offset, ic.length))
                            .collect::<Vec<_>>()
                    })
                    .into_iter()
                    .flatten(),
            );
            for (off, len) in cols {
                let c = &table.columns[off];
                // Version-0 index values (every table but a v1 clustered one) restore all
                // index columns as they are; v1 restores only those that need it, `_bin`
                // ones as their trailing-space count (tablecodec genIndexValueVersion0 /
                // GenIndexValueForClusteredIndexVersion1).
                let skip = clustered_v1 && !c.ft.needs_restored_data();
                if skip || self.restored[..n].iter().any(|r| r.0 == c.id) {
                    continue;
                }
                if n == self.restored.len() {
                    self.restored.push((c.id, Datum::Null));
                }
                let slot = &mut self.restored[n];
                slot.0 = c.id;
                match &self.row[off] {
                    Datum::Bytes(b) if clustered_v1 && c.ft.collation.is_bin() => {
                        slot.1 = Datum::Uint(trailing_spaces(prefix(b, c, len)) as u64)
                    }
                    Datum::Bytes(b) => slot.1.bytes_buf().extend_from_slice(prefix(b, c, len)),
                    other => slot.1.clone_from(other),
                }
                n += 1;
            }
            if n > 0 {
                self.rowv2.encode(
                    self.restored[..n].iter().map(|(id, d)| (*id, d)),
                    &mut self.scratch,
                )?;
                restored = Some(&self.scratch[..]);
            }
        }
        let key_datums = &self.key_datums[..ix.columns.len()];
        out.push_with(
            ix.id,
            |k| {
                append_index_key(k, table.id, ix.id, key_datums, distinct, handle)
                    .map_err(RowError::from)
            },
            |v| {
                append_index_value(v, distinct, handle, restored, clustered_v1, None);
                Ok(())
            },
        )
    }

    fn pk_columns(&self) -> impl Iterator<Item = &crate::table::IndexColumn> {
        let cols = match self.table.handle {
            HandleKind::Clustered { index } => &self.table.indices[index].columns[..],
            _ => &[],
        };
        cols.iter()
    }

    fn pk_needs_restore(&self) -> bool {
        self.pk_columns()
            .any(|ic| self.table.columns[ic.offset].ft.needs_restored_data())
    }
}

fn handle_of(int: Option<i64>, buf: &[u8]) -> Handle<'_> {
    match int {
        Some(h) => Handle::Int(h),
        None => Handle::Common(buf),
    }
}

fn is_virtual(c: &ColumnInfo) -> bool {
    c.generated.as_ref().is_some_and(|g| !g.stored)
}

fn prefix<'b>(b: &'b [u8], c: &ColumnInfo, len: Option<u32>) -> &'b [u8] {
    match len {
        None => b,
        Some(n) if c.ft.charset == "binary" => &b[..b.len().min(n as usize)],
        Some(n) => &b[..char_boundary(b, n as usize)],
    }
}

/// [`Encoder::field_map`] entry of an explicit `_tidb_rowid` field.
const ROWID_FIELD: usize = usize::MAX;

fn datum_as_i64(d: &Datum) -> i64 {
    match d {
        Datum::Int(v) => *v,
        Datum::Uint(v) => *v as i64,
        _ => 0,
    }
}

/// The implicit value of a NOT NULL column given NULL in non-strict mode.
fn zero_value(c: &ColumnInfo, out: &mut Datum) {
    use ColumnType as T;
    *out = match c.ft.tp {
        T::Float | T::Double => Datum::Float(0.0),
        T::Decimal => Datum::Decimal {
            value: Decimal::zero().round(c.ft.decimal).unwrap_or_default(),
            prec: c.ft.flen.clamp(1, 65) as u8,
            frac: c.ft.decimal,
        },
        T::Date | T::DateTime | T::Timestamp => Datum::Time(Time::ZERO),
        T::Time => Datum::Duration(Default::default()),
        T::Char | T::VarChar | T::Blob => {
            let buf = out.bytes_buf();
            if c.ft.tp == T::Char && c.ft.charset == "binary" {
                buf.resize(c.ft.flen as usize, 0);
            }
            return;
        }
        T::Enum => Datum::Uint(u64::from(!c.ft.elems.is_empty())),
        T::Set | T::Bit => Datum::Uint(0),
        T::Json => Datum::Json(vec![crate::json::TYPE_LITERAL, 0]),
        _ if c.ft.unsigned => Datum::Uint(0),
        _ => Datum::Int(0),
    };
}

/// A source value as an error shows it: quoted, at most 64 bytes, invalid UTF-8 replaced.
fn shown(b: &[u8]) -> String {
    let cut = &b[..b.len().min(64)];
    let more = if b.len() > 64 { "…" } else { "" };
    format!("'{}{more}'", String::from_utf8_lossy(cut))
}
