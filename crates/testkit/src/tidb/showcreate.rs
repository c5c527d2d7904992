//! `SHOW CREATE TABLE` text from a [`TableInfo`], in TiDB's layout: lower-case types with
//! display widths, `DEFAULT NULL` on nullable columns, the clustered-index and auto-random
//! feature comments (`/*T![clustered_index] CLUSTERED */`, `/*T![auto_rand] … */`), then
//! `ENGINE=InnoDB DEFAULT CHARSET=… COLLATE=…` and the recorded allocator bases.

use lightning_encode::table::{
    ColumnInfo, ColumnType, DefaultValue, FieldType, HandleKind, IndexColumn,
};
use lightning_encode::TableInfo;

fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn quote_str(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The column type as `SHOW CREATE TABLE` and `information_schema.columns.COLUMN_TYPE` show it.
pub fn column_type(ft: &FieldType) -> String {
    use ColumnType as T;
    let binary = ft.charset == "binary";
    let mut s = match ft.tp {
        T::TinyInt => format!("tinyint({})", ft.flen),
        T::SmallInt => format!("smallint({})", ft.flen),
        T::MediumInt => format!("mediumint({})", ft.flen),
        T::Int => format!("int({})", ft.flen),
        T::BigInt => format!("bigint({})", ft.flen),
        T::Float | T::Double => {
            let base = if ft.tp == T::Float { "float" } else { "double" };
            if ft.decimal == 0xff {
                base.to_string()
            } else {
                format!("{base}({},{})", ft.flen, ft.decimal)
            }
        }
        T::Decimal => format!("decimal({},{})", ft.flen, ft.decimal),
        T::Date => "date".into(),
        T::DateTime | T::Timestamp | T::Time => {
            let base = match ft.tp {
                T::DateTime => "datetime",
                T::Timestamp => "timestamp",
                _ => "time",
            };
            if ft.decimal > 0 {
                format!("{base}({})", ft.decimal)
            } else {
                base.to_string()
            }
        }
        T::Year => format!("year({})", ft.flen),
        T::Char if binary => format!("binary({})", ft.flen),
        T::Char => format!("char({})", ft.flen),
        T::VarChar if binary => format!("varbinary({})", ft.flen),
        T::VarChar => format!("varchar({})", ft.flen),
        T::Blob => {
            let size = match ft.flen {
                0..=255 => "tiny",
                256..=65_535 => "",
                65_536..=16_777_215 => "medium",
                _ => "long",
            };
            format!("{size}{}", if binary { "blob" } else { "text" })
        }
        T::Enum | T::Set => {
            let elems: Vec<String> = ft.elems.iter().map(|e| quote_str(e.as_bytes())).collect();
            let base = if ft.tp == T::Enum { "enum" } else { "set" };
            format!("{base}({})", elems.join(","))
        }
        T::Bit => format!("bit({})", ft.flen),
        T::Json => "json".into(),
    };
    if ft.unsigned {
        s.push_str(" unsigned");
    }
    s
}

/// `information_schema.columns.EXTRA` of a column.
pub fn extra(c: &ColumnInfo) -> String {
    if c.auto_increment {
        "auto_increment".into()
    } else if let Some(g) = &c.generated {
        if g.stored {
            "STORED GENERATED"
        } else {
            "VIRTUAL GENERATED"
        }
        .into()
    } else if c.on_update_now {
        "DEFAULT_GENERATED on update CURRENT_TIMESTAMP".into()
    } else {
        String::new()
    }
}

fn column_line(c: &ColumnInfo, t: &TableInfo) -> String {
    let mut s = format!("  {} {}", quote_ident(&c.name), column_type(&c.ft));
    // pkg/executor/show.go, ConstructResultOfShowCreateTable: CHARACTER SET when the column's
    // charset differs from the table's, COLLATE when its collation differs from the table's
    // or is not its charset's default.
    let string_like =
        c.ft.is_nonbinary_string() || matches!(c.ft.tp, ColumnType::Enum | ColumnType::Set);
    if string_like {
        if c.ft.charset != t.charset {
            s.push_str(&format!(" CHARACTER SET {}", c.ft.charset));
        }
        if c.ft.collation_name != t.collation
            || c.ft.collation_name != format!("{}_bin", c.ft.charset)
        {
            s.push_str(&format!(" COLLATE {}", c.ft.collation_name));
        }
    }
    if let Some(g) = &c.generated {
        let kind = if g.stored { "STORED" } else { "VIRTUAL" };
        s.push_str(&format!(" GENERATED ALWAYS AS ({}) {kind}", g.expr));
    }
    // An auto-increment column prints "NOT NULL AUTO_INCREMENT" and no default; otherwise
    // NOT NULL, then the default, with DEFAULT NULL on nullable columns (" NULL DEFAULT NULL"
    // for TIMESTAMP), and none for generated columns (same function of show.go).
    if c.auto_increment {
        s.push_str(" NOT NULL AUTO_INCREMENT");
    } else if c.not_null {
        s.push_str(" NOT NULL");
    }
    if let Some((shard, range)) = c.auto_random {
        if range == 64 {
            s.push_str(&format!(" /*T![auto_rand] AUTO_RANDOM({shard}) */"));
        } else {
            s.push_str(&format!(
                " /*T![auto_rand] AUTO_RANDOM({shard}, {range}) */"
            ));
        }
    }
    let default = if c.auto_increment || c.generated.is_some() {
        None
    } else {
        c.default.as_ref()
    };
    match default {
        None if c.not_null || c.auto_increment || c.generated.is_some() => {}
        None | Some(DefaultValue::Literal(None)) => {
            if c.ft.tp == ColumnType::Timestamp {
                s.push_str(" NULL");
            }
            s.push_str(" DEFAULT NULL");
        }
        Some(DefaultValue::Literal(Some(v))) | Some(DefaultValue::Utc(v)) => {
            s.push_str(&format!(" DEFAULT {}", quote_str(v)))
        }
        Some(DefaultValue::Binary(b)) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            s.push_str(&format!(" DEFAULT x'{hex}'"));
        }
        Some(DefaultValue::CurrentTimestamp) if c.ft.decimal > 0 && c.ft.decimal != 0xff => {
            s.push_str(&format!(" DEFAULT CURRENT_TIMESTAMP({})", c.ft.decimal))
        }
        Some(DefaultValue::CurrentTimestamp) => s.push_str(" DEFAULT CURRENT_TIMESTAMP"),
        Some(DefaultValue::Expr(e)) => s.push_str(&format!(" DEFAULT ({e})")),
    }
    if c.on_update_now {
        s.push_str(" ON UPDATE CURRENT_TIMESTAMP");
    }
    if !c.comment.is_empty() {
        s.push_str(&format!(" COMMENT {}", quote_str(c.comment.as_bytes())));
    }
    s
}

fn index_cols(t: &TableInfo, cols: &[IndexColumn]) -> String {
    let parts: Vec<String> = cols
        .iter()
        .map(|ic| {
            let name = quote_ident(&t.columns[ic.offset].name);
            match ic.length {
                Some(n) => format!("{name}({n})"),
                None => name,
            }
        })
        .collect();
    parts.join(",")
}

/// The `Create Table` column of `SHOW CREATE TABLE`.
pub fn render(t: &TableInfo) -> String {
    let mut lines: Vec<String> = t.columns.iter().map(|c| column_line(c, t)).collect();
    if let HandleKind::IntPk { offset } = t.handle {
        lines.push(format!(
            "  PRIMARY KEY ({}) /*T![clustered_index] CLUSTERED */",
            quote_ident(&t.columns[offset].name)
        ));
    }
    for ix in &t.indices {
        let cols = index_cols(t, &ix.columns);
        lines.push(if ix.primary {
            let kind = if t.is_common_handle() {
                "CLUSTERED"
            } else {
                "NONCLUSTERED"
            };
            format!("  PRIMARY KEY ({cols}) /*T![clustered_index] {kind} */")
        } else if ix.unique {
            format!("  UNIQUE KEY {} ({cols})", quote_ident(&ix.name))
        } else {
            format!("  KEY {} ({cols})", quote_ident(&ix.name))
        });
    }
    let mut s = format!(
        "CREATE TABLE {} (\n{}\n)",
        quote_ident(&t.name),
        lines.join(",\n")
    );
    s.push_str(&format!(
        " ENGINE=InnoDB DEFAULT CHARSET={} COLLATE={}",
        t.charset, t.collation
    ));
    // The allocators' next ids, shown when above 1: AUTO_INCREMENT only for a table with an
    // auto-increment column, AUTO_RANDOM_BASE only for one with an auto-random column.
    let has_auto_inc = t.columns.iter().any(|c| c.auto_increment);
    if let Some(n) = t.auto_increment_base.filter(|&n| n > 1 && has_auto_inc) {
        s.push_str(&format!(" AUTO_INCREMENT={n}"));
    }
    let has_random = t.auto_random_column().is_some();
    if let Some(n) = t.auto_random_base.filter(|&n| n > 1 && has_random) {
        s.push_str(&format!(" /*T![auto_rand_base] AUTO_RANDOM_BASE={n} */"));
    }
    if t.shard_row_id_bits > 0 {
        s.push_str(&format!(
            " /*T! SHARD_ROW_ID_BITS={} */",
            t.shard_row_id_bits
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightning_encode::ddl::parse_create_table;

    fn round_trip(sql: &str) {
        let t = parse_create_table(sql, 7).unwrap();
        let text = render(&t);
        let back = parse_create_table(&text, 7).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, t, "{text}");
    }

    #[test]
    fn round_trips_common_shapes() {
        round_trip("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) NOT NULL DEFAULT 'x', k BIGINT UNSIGNED, KEY ik (k), UNIQUE KEY uv (v(5)))");
        round_trip("CREATE TABLE t (a CHAR(3), b DECIMAL(12,2), c DATETIME(3) DEFAULT CURRENT_TIMESTAMP(3), d BLOB, e ENUM('x','y'), PRIMARY KEY (a, b) CLUSTERED)");
        round_trip("CREATE TABLE t (a INT, b TEXT, c DOUBLE, d VARBINARY(8), PRIMARY KEY (a) NONCLUSTERED)");
        round_trip(
            "CREATE TABLE t (id BIGINT AUTO_RANDOM(4) PRIMARY KEY, y YEAR, j JSON, f FLOAT(7,3))",
        );
    }

    #[test]
    fn auto_increment_shows_only_with_an_auto_increment_column() {
        let mut t =
            parse_create_table("CREATE TABLE t (id INT PRIMARY KEY, ts TIMESTAMP)", 7).unwrap();
        t.auto_increment_base = Some(50);
        let text = render(&t);
        assert!(!text.contains("AUTO_INCREMENT"), "{text}");
        assert!(text.contains("`ts` timestamp NULL DEFAULT NULL"), "{text}");
    }

    #[test]
    fn shows_recorded_auto_increment() {
        let mut t =
            parse_create_table("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY)", 7).unwrap();
        t.auto_increment_base = Some(1001);
        let text = render(&t);
        assert!(
            text.ends_with("COLLATE=utf8mb4_bin AUTO_INCREMENT=1001"),
            "{text}"
        );
    }
}
