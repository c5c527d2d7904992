//! Read-only virtual tables: the `information_schema` tables Lightning and its precheck
//! read (`TABLES` with `TIDB_TABLE_ID`, `SCHEMATA`, `COLUMNS`, `TIDB_INDEXES`, `VIEWS`) and
//! `mysql.tidb`, each as column names plus text rows for the generic SELECT in
//! [`super::query`].

use lightning_encode::table::HandleKind;

use super::catalog::Catalog;
use super::showcreate::{column_type, extra};

/// A materialized virtual table.
pub struct Virtual {
    /// Column names in TiDB's spelling.
    pub cols: Vec<&'static str>,
    /// Rows (`None` is NULL).
    pub rows: Vec<Vec<Option<String>>>,
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// The virtual table `schema`.`name`, if the simulator has it.
pub fn lookup(cat: &Catalog, schema: &str, name: &str) -> Option<Virtual> {
    let schema = schema.to_lowercase();
    let name = name.to_lowercase();
    match (schema.as_str(), name.as_str()) {
        ("information_schema", "tables") => Some(tables(cat)),
        ("information_schema", "schemata") => Some(schemata(cat)),
        ("information_schema", "columns") => Some(columns(cat)),
        ("information_schema", "tidb_indexes") => Some(tidb_indexes(cat)),
        // Lightning's schema importer lists existing views before creating them
        // (pkg/lightning/mydump/schema_import.go, getExistingViews); the simulator has none.
        ("information_schema", "views") => Some(Virtual {
            cols: vec![
                "TABLE_CATALOG",
                "TABLE_SCHEMA",
                "TABLE_NAME",
                "VIEW_DEFINITION",
            ],
            rows: Vec::new(),
        }),
        ("mysql", "tidb") => Some(Virtual {
            cols: vec!["VARIABLE_NAME", "VARIABLE_VALUE", "COMMENT"],
            rows: cat
                .mysql_tidb
                .iter()
                .map(|(k, v)| vec![s(k), s(v), s("")])
                .collect(),
        }),
        _ => None,
    }
}

fn tables(cat: &Catalog) -> Virtual {
    let mut rows = Vec::new();
    for d in cat.dbs.values() {
        for t in d.tables.values() {
            let i = &t.info;
            let pk = match i.handle {
                HandleKind::IntPk { .. } | HandleKind::Clustered { .. } => "CLUSTERED",
                HandleKind::RowId => "NONCLUSTERED",
            };
            let sharding = if i.auto_random_column().is_some() {
                "PK_AUTO_RANDOM_BITS=5".to_string()
            } else if i.shard_row_id_bits > 0 {
                format!("SHARD_BITS={}", i.shard_row_id_bits)
            } else {
                "NOT_SHARDED".to_string()
            };
            rows.push(vec![
                s("def"),
                s(&d.name),
                s(&i.name),
                s("BASE TABLE"),
                s("InnoDB"),
                s(&i.collation),
                i.auto_increment_base.map(|v| v.to_string()),
                s(i.id),
                s(sharding),
                s(pk),
            ]);
        }
    }
    Virtual {
        cols: vec![
            "TABLE_CATALOG",
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "TABLE_TYPE",
            "ENGINE",
            "TABLE_COLLATION",
            "AUTO_INCREMENT",
            "TIDB_TABLE_ID",
            "TIDB_ROW_ID_SHARDING_INFO",
            "TIDB_PK_TYPE",
        ],
        rows,
    }
}

fn schemata(cat: &Catalog) -> Virtual {
    Virtual {
        cols: vec![
            "CATALOG_NAME",
            "SCHEMA_NAME",
            "DEFAULT_CHARACTER_SET_NAME",
            "DEFAULT_COLLATION_NAME",
            "SQL_PATH",
        ],
        rows: cat
            .dbs
            .values()
            .map(|d| vec![s("def"), s(&d.name), s(&d.charset), s(&d.collation), None])
            .collect(),
    }
}

fn columns(cat: &Catalog) -> Virtual {
    let mut rows = Vec::new();
    for d in cat.dbs.values() {
        for t in d.tables.values() {
            for c in &t.info.columns {
                let ty = column_type(&c.ft);
                let data_type = ty.split(['(', ' ']).next().unwrap_or("").to_string();
                rows.push(vec![
                    s("def"),
                    s(&d.name),
                    s(&t.info.name),
                    s(&c.name),
                    s(c.offset + 1),
                    s(if c.not_null { "NO" } else { "YES" }),
                    s(data_type),
                    s(ty),
                    s(extra(c)),
                    s(c.generated.as_ref().map_or("", |g| g.expr.as_str())),
                ]);
            }
        }
    }
    Virtual {
        cols: vec![
            "TABLE_CATALOG",
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "COLUMN_NAME",
            "ORDINAL_POSITION",
            "IS_NULLABLE",
            "DATA_TYPE",
            "COLUMN_TYPE",
            "EXTRA",
            "GENERATION_EXPRESSION",
        ],
        rows,
    }
}

fn tidb_indexes(cat: &Catalog) -> Virtual {
    let mut rows = Vec::new();
    for d in cat.dbs.values() {
        for t in d.tables.values() {
            let i = &t.info;
            let mut push = |key: &str,
                            non_unique: bool,
                            seq: usize,
                            col: &str,
                            sub: Option<u32>,
                            id: i64,
                            clustered: bool| {
                rows.push(vec![
                    s(&d.name),
                    s(&i.name),
                    s(u8::from(non_unique)),
                    s(key),
                    s(seq),
                    s(col),
                    sub.map(|n| n.to_string()),
                    s(""),
                    None,
                    s(id),
                    s("YES"),
                    s(if clustered { "YES" } else { "NO" }),
                ]);
            };
            // An integer primary key that is the handle has no index of its own; TiDB lists
            // it as PRIMARY with index id 0.
            if let HandleKind::IntPk { offset } = i.handle {
                push("PRIMARY", false, 1, &i.columns[offset].name, None, 0, true);
            }
            for ix in &i.indices {
                let clustered = ix.primary && i.is_common_handle();
                for (n, ic) in ix.columns.iter().enumerate() {
                    let col = &i.columns[ic.offset].name;
                    push(
                        &ix.name,
                        !ix.unique,
                        n + 1,
                        col,
                        ic.length,
                        ix.id,
                        clustered,
                    );
                }
            }
        }
    }
    Virtual {
        cols: vec![
            "TABLE_SCHEMA",
            "TABLE_NAME",
            "NON_UNIQUE",
            "KEY_NAME",
            "SEQ_IN_INDEX",
            "COLUMN_NAME",
            "SUB_PART",
            "INDEX_COMMENT",
            "Expression",
            "INDEX_ID",
            "IS_VISIBLE",
            "CLUSTERED",
        ],
        rows,
    }
}
