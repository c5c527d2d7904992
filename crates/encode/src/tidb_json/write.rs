//! [`TableInfo`] → TiDB's table-info JSON, as a TiDB that just ran the CREATE TABLE reports it.

use super::wire::*;
use super::*;

fn column_flags(t: &TableInfo, c: &ColumnInfo) -> u32 {
    let mut f = 0;
    let set = |f: &mut u32, b: u32, on: bool| {
        if on {
            *f |= b
        }
    };
    let is_handle = t.handle == HandleKind::IntPk { offset: c.offset };
    set(&mut f, F_NOT_NULL, c.not_null || is_handle);
    set(&mut f, F_PRI_KEY, is_handle);
    for ix in &t.indices {
        let at = ix.columns.iter().position(|ic| ic.offset == c.offset);
        if ix.primary && at.is_some() {
            f |= F_PRI_KEY;
        } else if at == Some(0) {
            let single_unique = ix.unique && ix.columns.len() == 1;
            f |= if single_unique {
                F_UNIQUE_KEY
            } else {
                F_MULTIPLE_KEY
            };
        }
    }
    set(&mut f, F_UNSIGNED, c.ft.unsigned);
    set(&mut f, F_BINARY, c.ft.charset == "binary");
    set(&mut f, F_AUTO_INCREMENT, c.auto_increment);
    set(&mut f, F_ON_UPDATE_NOW, c.on_update_now);
    let no_default = c.default.is_none() && (c.not_null || is_handle) && !c.auto_increment;
    set(&mut f, F_NO_DEFAULT, no_default);
    f
}

fn default_json(c: &ColumnInfo) -> (Value, Option<String>, bool) {
    let text = |b: &[u8]| Value::String(String::from_utf8_lossy(b).into_owned());
    match &c.default {
        None | Some(DefaultValue::Literal(None)) => (Value::Null, None, false),
        Some(DefaultValue::Literal(Some(b)) | DefaultValue::Utc(b)) => (text(b), None, false),
        Some(DefaultValue::Binary(b)) if c.ft.tp == ColumnType::Bit => {
            (text(b), Some(base64_encode(b)), false)
        }
        Some(DefaultValue::Binary(b)) => (text(b), None, false),
        Some(DefaultValue::CurrentTimestamp) => {
            let fsp = c.ft.decimal;
            let s = if fsp > 0 && fsp <= 6 {
                format!("CURRENT_TIMESTAMP({fsp})")
            } else {
                "CURRENT_TIMESTAMP".into()
            };
            (Value::String(s), None, false)
        }
        Some(DefaultValue::Expr(e)) => (Value::String(e.clone()), None, true),
    }
}

pub(super) fn to_wire(t: &TableInfo) -> TableJson {
    let cols = t
        .columns
        .iter()
        .map(|c| {
            let (default, default_bit, default_is_expr) = default_json(c);
            let g = c.generated.as_ref();
            ColumnJson {
                id: c.id,
                name: CiStr::new(&c.name),
                offset: c.offset as i64,
                origin_default: default.clone(),
                origin_default_bit: default_bit.clone(),
                default,
                default_bit,
                default_is_expr,
                generated_expr_string: g.map(|g| g.expr.clone()).unwrap_or_default(),
                generated_stored: g.is_some_and(|g| g.stored),
                ft: FieldTypeJson {
                    tp: type_code(&c.ft),
                    flag: column_flags(t, c),
                    flen: i64::from(c.ft.flen),
                    decimal: match c.ft.decimal {
                        0xff => -1,
                        d => i64::from(d),
                    },
                    charset: c.ft.charset.clone(),
                    collate: c.ft.collation_name.clone(),
                    elems: (!c.ft.elems.is_empty()).then(|| c.ft.elems.clone()),
                    ..Default::default()
                },
                state: STATE_PUBLIC,
                comment: c.comment.clone(),
                version: 2,
                ..Default::default()
            }
        })
        .collect();
    let index_info = t
        .indices
        .iter()
        .map(|ix| IndexJson {
            id: ix.id,
            idx_name: CiStr::new(&ix.name),
            tbl_name: CiStr::new(&t.name),
            idx_cols: ix
                .columns
                .iter()
                .map(|ic| IndexColumnJson {
                    name: CiStr::new(t.columns.get(ic.offset).map_or("", |c| &c.name)),
                    offset: ic.offset as i64,
                    length: ic.length.map_or(-1, i64::from),
                })
                .collect(),
            state: STATE_PUBLIC,
            index_type: 1, // BTREE
            is_unique: ix.unique,
            is_primary: ix.primary,
            ..Default::default()
        })
        .collect();
    let (ar_bits, ar_range) = t
        .auto_random_column()
        .and_then(|c| c.auto_random)
        .unwrap_or((0, 0));
    TableJson {
        id: t.id,
        name: CiStr::new(&t.name),
        charset: t.charset.clone(),
        collate: t.collation.clone(),
        cols,
        index_info: Some(index_info),
        state: STATE_PUBLIC,
        pk_is_handle: matches!(t.handle, HandleKind::IntPk { .. }),
        is_common_handle: t.is_common_handle(),
        common_handle_version: t.common_handle_version,
        auto_inc_id: t.auto_increment_base.map_or(0, |v| v as i64),
        auto_rand_id: t.auto_random_base.map_or(0, |v| v as i64),
        max_col_id: t.max_column_id(),
        max_idx_id: t.max_index_id(),
        shard_row_id_bits: u64::from(t.shard_row_id_bits),
        max_shard_row_id_bits: u64::from(t.shard_row_id_bits),
        auto_random_bits: u64::from(ar_bits),
        auto_random_range_bits: u64::from(ar_range),
        version: 5,
        ..Default::default()
    }
}
