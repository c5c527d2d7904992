//! [`TableInfo`] from and to the table-info JSON a running TiDB reports
//! (`GET /schema/{db}/{table}` on the status port, the meta API), so the physical import
//! uses the table, column and index ids and the handle kind TiDB really has.
//!
//! Only what TiDB writes rows for is kept: public columns and indexes. Columns and
//! indexes being dropped (delete-only, delete-reorganization) or not yet visible to
//! writes are skipped, as TiDB's `Cols()` / writable indices skip them; elements a
//! running DDL writes with a default or backfills (write-only, write-reorganization)
//! are refused, because no import can be byte-exact while that DDL runs. TiFlash-only
//! (vector) indexes write no KV and are skipped.

mod wire;
mod write;

use crate::collate::Collation;
use crate::error::SchemaError;
use crate::table::*;
use serde_json::Value;
use wire::*;

// MySQL/TiDB type codes (`pkg/parser/mysql/type.go`).
const T_DECIMAL_OLD: u8 = 0;
const T_TINY: u8 = 1;
const T_SHORT: u8 = 2;
const T_LONG: u8 = 3;
const T_FLOAT: u8 = 4;
const T_DOUBLE: u8 = 5;
const T_TIMESTAMP: u8 = 7;
const T_LONGLONG: u8 = 8;
const T_INT24: u8 = 9;
const T_DATE: u8 = 10;
const T_DURATION: u8 = 11;
const T_DATETIME: u8 = 12;
const T_YEAR: u8 = 13;
const T_NEWDATE: u8 = 14;
const T_VARCHAR: u8 = 15;
const T_BIT: u8 = 16;
const T_JSON: u8 = 0xf5;
const T_NEWDECIMAL: u8 = 0xf6;
const T_ENUM: u8 = 0xf7;
const T_SET: u8 = 0xf8;
const T_TINYBLOB: u8 = 0xf9;
const T_MEDIUMBLOB: u8 = 0xfa;
const T_LONGBLOB: u8 = 0xfb;
const T_BLOB: u8 = 0xfc;
const T_VARSTRING: u8 = 0xfd;
const T_STRING: u8 = 0xfe;

// Column flags.
const F_NOT_NULL: u32 = 1;
const F_PRI_KEY: u32 = 1 << 1;
const F_UNIQUE_KEY: u32 = 1 << 2;
const F_MULTIPLE_KEY: u32 = 1 << 3;
const F_UNSIGNED: u32 = 1 << 5;
const F_BINARY: u32 = 1 << 7;
const F_AUTO_INCREMENT: u32 = 1 << 9;
const F_NO_DEFAULT: u32 = 1 << 12;
const F_ON_UPDATE_NOW: u32 = 1 << 13;

fn state_name(s: u8) -> &'static str {
    match s {
        STATE_NONE => "none",
        STATE_DELETE_ONLY => "delete only",
        STATE_WRITE_ONLY => "write only",
        STATE_WRITE_REORG => "write reorganization",
        STATE_DELETE_REORG => "delete reorganization",
        STATE_PUBLIC => "public",
        _ => "unknown",
    }
}

/// Whether TiDB writes rows for an element in state `s`: `Ok(true)` public, `Ok(false)` skipped.
fn written(s: u8, what: &str, table: &str) -> Result<bool, SchemaError> {
    match s {
        STATE_PUBLIC => Ok(true),
        STATE_NONE | STATE_DELETE_ONLY | STATE_DELETE_REORG => Ok(false),
        _ => Err(SchemaError::Unsupported {
            table: table.to_string(),
            message: format!(
                "{what} is in state {}: a DDL is changing it; import after it finishes",
                state_name(s)
            ),
        }),
    }
}

fn column_type(tp: u8) -> Option<ColumnType> {
    use ColumnType as T;
    Some(match tp {
        T_TINY => T::TinyInt,
        T_SHORT => T::SmallInt,
        T_INT24 => T::MediumInt,
        T_LONG => T::Int,
        T_LONGLONG => T::BigInt,
        T_FLOAT => T::Float,
        T_DOUBLE => T::Double,
        T_DECIMAL_OLD | T_NEWDECIMAL => T::Decimal,
        T_DATE | T_NEWDATE => T::Date,
        T_DATETIME => T::DateTime,
        T_TIMESTAMP => T::Timestamp,
        T_DURATION => T::Time,
        T_YEAR => T::Year,
        T_STRING => T::Char,
        T_VARCHAR | T_VARSTRING => T::VarChar,
        T_TINYBLOB | T_BLOB | T_MEDIUMBLOB | T_LONGBLOB => T::Blob,
        T_ENUM => T::Enum,
        T_SET => T::Set,
        T_BIT => T::Bit,
        T_JSON => T::Json,
        _ => return None,
    })
}

fn type_code(ft: &FieldType) -> u8 {
    use ColumnType as T;
    match ft.tp {
        T::TinyInt => T_TINY,
        T::SmallInt => T_SHORT,
        T::MediumInt => T_INT24,
        T::Int => T_LONG,
        T::BigInt => T_LONGLONG,
        T::Float => T_FLOAT,
        T::Double => T_DOUBLE,
        T::Decimal => T_NEWDECIMAL,
        T::Date => T_DATE,
        T::DateTime => T_DATETIME,
        T::Timestamp => T_TIMESTAMP,
        T::Time => T_DURATION,
        T::Year => T_YEAR,
        T::Char => T_STRING,
        T::VarChar => T_VARCHAR,
        T::Blob => match ft.flen {
            0..=255 => T_TINYBLOB,
            256..=65_535 => T_BLOB,
            65_536..=16_777_215 => T_MEDIUMBLOB,
            _ => T_LONGBLOB,
        },
        T::Enum => T_ENUM,
        T::Set => T_SET,
        T::Bit => T_BIT,
        T::Json => T_JSON,
    }
}

fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn default_value(c: &ColumnJson, ft: &FieldType) -> Option<DefaultValue> {
    let text = json_text(&c.default);
    if ft.tp == ColumnType::Bit {
        if let Some(b) = c.default_bit.as_deref().and_then(base64_decode) {
            return Some(DefaultValue::Binary(b));
        }
    }
    let text = text?;
    let temporal = matches!(ft.tp, ColumnType::DateTime | ColumnType::Timestamp);
    let upper = text.to_ascii_uppercase();
    if temporal && upper.starts_with("CURRENT_TIMESTAMP") {
        return Some(DefaultValue::CurrentTimestamp);
    }
    if c.default_is_expr {
        return Some(DefaultValue::Expr(text));
    }
    if ft.tp == ColumnType::Timestamp && c.version >= 1 {
        return Some(DefaultValue::Utc(text.into_bytes()));
    }
    Some(DefaultValue::Literal(Some(text.into_bytes())))
}

fn field_type(c: &ColumnJson, t: &TableJson, table: &str) -> Result<FieldType, SchemaError> {
    let j = &c.ft;
    let tp = column_type(j.tp).ok_or_else(|| SchemaError::Unsupported {
        table: table.to_string(),
        message: format!("column `{}` has type code {:#x}", c.name.o, j.tp),
    })?;
    if j.array {
        return Err(SchemaError::Unsupported {
            table: table.to_string(),
            message: format!("array column `{}`", c.name.o),
        });
    }
    let mut ft = FieldType::new(tp);
    // UNSIGNED only means something for numbers (TiDB also flags BIT, for instance).
    let numeric = ft.is_integer()
        || matches!(
            tp,
            ColumnType::Float | ColumnType::Double | ColumnType::Decimal
        );
    ft.unsigned = numeric && j.flag & F_UNSIGNED != 0;
    ft.flen = j.flen.clamp(0, i64::from(u32::MAX)) as u32;
    ft.decimal = match tp {
        ColumnType::Float | ColumnType::Double if j.decimal < 0 => 0xff,
        _ => j.decimal.clamp(0, 0xfe) as u8,
    };
    ft.elems = j.elems.clone().unwrap_or_default();
    if ft.is_string() || matches!(tp, ColumnType::Enum | ColumnType::Set) {
        let (cs, coll) = match (j.charset.as_str(), j.collate.as_str()) {
            ("", "") => (t.charset.clone(), t.collate.clone()),
            (cs, "") => {
                let c = Collation::default_for_charset(cs).map(str::to_string);
                (cs.to_string(), c.unwrap_or_default())
            }
            ("", coll) => (
                coll.split('_').next().unwrap_or("").to_string(),
                coll.to_string(),
            ),
            (cs, coll) => (cs.to_string(), coll.to_string()),
        };
        ft.collation = Collation::from_name(&coll).ok_or_else(|| SchemaError::Unsupported {
            table: table.to_string(),
            message: format!("collation {coll} of `{}`", c.name.o),
        })?;
        ft.charset = if cs == "utf8mb3" { "utf8".into() } else { cs };
        ft.collation_name = coll;
    }
    Ok(ft)
}

impl TableInfo {
    /// Builds the table from TiDB's table-info JSON (`model.TableInfo`), with TiDB's own ids.
    pub fn from_tidb_json(json: &str) -> Result<TableInfo, SchemaError> {
        let t: TableJson =
            serde_json::from_str(json).map_err(|e| SchemaError::Json(e.to_string()))?;
        let name = t.name.o.clone();
        let unsupported = |m: String| SchemaError::Unsupported {
            table: name.clone(),
            message: m,
        };
        let invalid = |m: String| SchemaError::Invalid {
            table: name.clone(),
            message: m,
        };
        if t.partition.get("enable").and_then(Value::as_bool) == Some(true) {
            return Err(unsupported("partitioned tables".into()));
        }
        if !t.view.is_null() || !t.sequence.is_null() {
            return Err(unsupported("views and sequences hold no rows".into()));
        }
        // columns: public ones, by offset (TiDB's `Cols()`)
        let mut slots: Vec<Option<ColumnInfo>> = Vec::new();
        let mut pk_col = None;
        for c in &t.cols {
            if !written(c.state, &format!("column `{}`", c.name.o), &name)? {
                continue;
            }
            let offset = usize::try_from(c.offset)
                .ok()
                .filter(|&o| o < t.cols.len())
                .ok_or_else(|| invalid(format!("column `{}` has offset {}", c.name.o, c.offset)))?;
            let ft = field_type(c, &t, &name)?;
            let flag = c.ft.flag;
            if t.pk_is_handle && flag & F_PRI_KEY != 0 {
                pk_col = Some(offset);
            }
            let auto_random = (t.pk_is_handle && flag & F_PRI_KEY != 0 && t.auto_random_bits > 0)
                .then(|| {
                    let range = match t.auto_random_range_bits {
                        0 => 64,
                        r => r.min(64) as u8,
                    };
                    (t.auto_random_bits.min(15) as u8, range)
                });
            let col = ColumnInfo {
                id: c.id,
                name: c.name.o.clone(),
                offset,
                default: default_value(c, &ft),
                ft,
                not_null: flag & F_NOT_NULL != 0,
                auto_increment: flag & F_AUTO_INCREMENT != 0,
                auto_random,
                generated: (!c.generated_expr_string.is_empty()).then(|| Generated {
                    expr: c.generated_expr_string.clone(),
                    stored: c.generated_stored,
                }),
                on_update_now: flag & F_ON_UPDATE_NOW != 0,
                comment: c.comment.clone(),
            };
            if slots.len() <= offset {
                slots.resize(offset + 1, None);
            }
            if slots[offset].replace(col).is_some() {
                return Err(invalid(format!("two public columns at offset {offset}")));
            }
        }
        let columns: Vec<ColumnInfo> = slots
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.ok_or_else(|| invalid(format!("no public column at offset {i}"))))
            .collect::<Result<_, _>>()?;
        // indexes
        let mut indices = Vec::new();
        let mut handle = HandleKind::RowId;
        for ix in t.index_info.iter().flatten() {
            let what = format!("index `{}`", ix.idx_name.o);
            if !written(ix.state, &what, &name)? || !ix.vector_index.is_null() {
                continue;
            }
            if ix.mv_index || ix.is_global {
                return Err(unsupported(format!(
                    "{what}: multi-valued and global indexes"
                )));
            }
            let mut cols = Vec::with_capacity(ix.idx_cols.len());
            for ic in &ix.idx_cols {
                let col = usize::try_from(ic.offset)
                    .ok()
                    .and_then(|o| columns.get(o))
                    .filter(|c| c.name.eq_ignore_ascii_case(&ic.name.o))
                    .ok_or_else(|| {
                        invalid(format!(
                            "{what} names column `{}` at offset {}",
                            ic.name.o, ic.offset
                        ))
                    })?;
                cols.push(IndexColumn {
                    offset: col.offset,
                    length: u32::try_from(ic.length).ok(),
                });
            }
            if ix.is_primary && t.is_common_handle {
                handle = HandleKind::Clustered {
                    index: indices.len(),
                };
            }
            indices.push(IndexInfo {
                id: ix.id,
                name: ix.idx_name.o.clone(),
                columns: cols,
                unique: ix.is_unique || ix.is_primary,
                primary: ix.is_primary,
            });
        }
        if t.pk_is_handle {
            let offset = pk_col
                .ok_or_else(|| invalid("pk_is_handle without a primary key column".into()))?;
            handle = HandleKind::IntPk { offset };
        } else if t.is_common_handle && handle == HandleKind::RowId {
            return Err(invalid(
                "is_common_handle without a public primary index".into(),
            ));
        }
        let positive = |v: i64| u64::try_from(v).ok().filter(|&v| v > 0);
        Ok(TableInfo {
            id: t.id,
            name,
            columns,
            indices,
            handle,
            shard_row_id_bits: t.shard_row_id_bits.min(15) as u8,
            auto_increment_base: positive(t.auto_inc_id),
            auto_random_base: positive(t.auto_rand_id),
            charset: if t.charset.is_empty() {
                "utf8mb4".into()
            } else {
                t.charset.clone()
            },
            collation: if t.collate.is_empty() {
                "utf8mb4_bin".into()
            } else {
                t.collate.clone()
            },
            common_handle_version: t.common_handle_version,
        })
    }

    /// Largest column id (TiDB's `max_col_id` for a freshly created table).
    pub fn max_column_id(&self) -> i64 {
        self.columns.iter().map(|c| c.id).max().unwrap_or(0)
    }

    /// Largest index id (TiDB's `max_idx_id` for a freshly created table).
    pub fn max_index_id(&self) -> i64 {
        self.indices.iter().map(|i| i.id).max().unwrap_or(0)
    }

    /// TiDB's table-info JSON for this table, all elements public (what a TiDB that just ran
    /// the CREATE TABLE would report); [`TableInfo::from_tidb_json`] reads it back.
    pub fn to_tidb_json(&self) -> String {
        serde_json::to_string(&write::to_wire(self)).unwrap_or_default()
    }
}
