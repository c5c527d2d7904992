//! What the encoder needs to know about a target table, read from the server.

use crate::BackendError;

/// How a column's values are written as literals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// Integer types (and YEAR): numbers may stay unquoted.
    Integer,
    /// DECIMAL: numbers may stay unquoted.
    Numeric,
    /// FLOAT, DOUBLE: numbers may stay unquoted, and read the same as text in any form.
    Float,
    /// BIT(n): text is taken as raw bytes (`_binary'…'`), as `SELECT … INTO OUTFILE` writes it.
    Bit,
    /// BINARY, VARBINARY, BLOB and spatial types: text is raw bytes (`_binary'…'`).
    Binary,
    /// JSON (MySQL, TiDB): text sent as `_utf8mb4'…'`, since JSON is always UTF-8 and a
    /// binary session's strings are not accepted as JSON.
    Json,
    /// Everything else (strings, dates, times, ENUM, SET; MariaDB's JSON is LONGTEXT): quoted text.
    Text,
}

impl ColumnKind {
    /// Maps information_schema's `DATA_TYPE` to a kind.
    pub fn from_data_type(t: &str) -> ColumnKind {
        match t.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
                ColumnKind::Integer
            }
            "decimal" | "numeric" => ColumnKind::Numeric,
            "float" | "double" | "real" => ColumnKind::Float,
            "bit" => ColumnKind::Bit,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
            | "geometry" | "point" | "linestring" | "polygon" | "multipoint"
            | "multilinestring" | "multipolygon" | "geometrycollection" | "geomcollection" => {
                ColumnKind::Binary
            }
            "json" => ColumnKind::Json,
            _ => ColumnKind::Text,
        }
    }

    /// True when a bare number is a valid literal for the column.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ColumnKind::Integer | ColumnKind::Numeric | ColumnKind::Float
        )
    }
}

/// One column of a target table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name as the server spells it.
    pub name: String,
    /// How its literals are written.
    pub kind: ColumnKind,
    /// Generated (virtual or stored) columns take no value from the data.
    pub generated: bool,
}

/// A table rows are written into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetTable {
    /// Database name.
    pub db: String,
    /// Table name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<ColumnInfo>,
    /// False for storage engines without statement atomicity (MyISAM, ...), where a
    /// refused multi-row statement may have written some rows: no row-by-row replay.
    pub transactional: bool,
    /// Concurrent `LOAD DATA` statements into this table would queue on InnoDB's table-level
    /// AUTO-INC lock, which "bulk inserts" hold to the end of the statement unless the server
    /// runs `innodb_autoinc_lock_mode = 2`: such a table is written with `INSERT` only.
    pub load_serializes: bool,
}

/// TiDB's hidden row id, which dumps of TiDB tables may name in their column lists.
const ROWID_COLUMN: &str = "_tidb_rowid";

impl TargetTable {
    /// `` `db`.`table` ``.
    pub fn qualified_name(&self) -> String {
        format!(
            "{}.{}",
            super::quote_ident(&self.db),
            super::quote_ident(&self.name)
        )
    }

    /// Index of the column named `name` (case-insensitively, as MySQL compares them).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The column each value of a row without a column list goes to. A row with a value
    /// for every column (mysqldump, `SELECT … INTO OUTFILE`) has those of generated columns
    /// dropped (`None`), as upstream does; a row with one value per non-generated column
    /// (dumps that leave generated columns out) fills those.
    /// A row of no values (`VALUES ()`) maps to no column: every column gets its DEFAULT.
    pub fn implicit_columns(&self, fields: usize) -> Result<Vec<Option<usize>>, String> {
        if fields == 0 {
            return Ok(Vec::new());
        }
        if fields == self.columns.len() {
            return Ok((0..fields)
                .map(|i| (!self.columns[i].generated).then_some(i))
                .collect());
        }
        let stored: Vec<usize> = (0..self.columns.len())
            .filter(|&i| !self.columns[i].generated)
            .collect();
        if fields == stored.len() {
            return Ok(stored.into_iter().map(Some).collect());
        }
        Err(format!(
            "row has {fields} values but table {} has {} columns ({} not generated)",
            self.qualified_name(),
            self.columns.len(),
            stored.len()
        ))
    }

    /// Builds the column mapping for an explicit column list. A `_tidb_rowid` the table has
    /// no column for (a dump of a TiDB table's hidden row id) is dropped (`None`): the
    /// target numbers its rows itself.
    pub fn named_columns(&self, names: &[String]) -> Result<Vec<Option<usize>>, BackendError> {
        names
            .iter()
            .map(|n| match self.column_index(n) {
                Some(i) => Ok(Some(i)),
                None if n.eq_ignore_ascii_case(ROWID_COLUMN) => Ok(None),
                None => Err(BackendError::Schema(format!(
                    "table {} has no column `{n}`",
                    self.qualified_name()
                ))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(gen: &[bool]) -> TargetTable {
        TargetTable {
            load_serializes: false,
            db: "d".into(),
            name: "t".into(),
            columns: gen
                .iter()
                .enumerate()
                .map(|(i, &g)| ColumnInfo {
                    name: format!("c{i}"),
                    kind: ColumnKind::Text,
                    generated: g,
                })
                .collect(),
            transactional: true,
        }
    }

    #[test]
    fn implicit_columns_skip_generated_ones() {
        assert_eq!(
            table(&[false, false]).implicit_columns(2).unwrap(),
            vec![Some(0), Some(1)]
        );
        assert_eq!(
            table(&[false, true, false]).implicit_columns(2).unwrap(),
            vec![Some(0), Some(2)]
        );
        assert_eq!(table(&[false, true]).implicit_columns(0).unwrap(), vec![]);
        let err = table(&[false, true]).implicit_columns(3).unwrap_err();
        assert!(
            err.contains("row has 3 values but table `d`.`t` has 2 columns"),
            "{err}"
        );
    }

    /// Regression: mysqldump and `SELECT * … INTO OUTFILE` write a value for generated
    /// columns too; it was refused as a column-count mismatch instead of being dropped.
    #[test]
    fn implicit_columns_drop_values_of_generated_columns_in_full_rows() {
        let t = table(&[false, false, true, true]);
        assert_eq!(
            t.implicit_columns(4).unwrap(),
            vec![Some(0), Some(1), None, None]
        );
        assert_eq!(t.implicit_columns(2).unwrap(), vec![Some(0), Some(1)]);
        let err = t.implicit_columns(3).unwrap_err();
        assert!(
            err.contains("row has 3 values but table `d`.`t` has 4 columns (2 not generated)"),
            "{err}"
        );
    }

    #[test]
    fn named_columns_match_case_insensitively() {
        let t = table(&[false, false]);
        assert_eq!(
            t.named_columns(&["C1".into(), "c0".into()]).unwrap(),
            vec![Some(1), Some(0)]
        );
        assert_eq!(
            t.named_columns(&["c0".into(), "_TiDB_RowID".into()])
                .unwrap(),
            vec![Some(0), None]
        );
        assert!(t
            .named_columns(&["nope".into()])
            .unwrap_err()
            .to_string()
            .contains("no column `nope`"));
    }

    #[test]
    fn data_types_map_to_literal_kinds() {
        assert_eq!(ColumnKind::from_data_type("BIGINT"), ColumnKind::Integer);
        assert_eq!(ColumnKind::from_data_type("decimal"), ColumnKind::Numeric);
        assert_eq!(ColumnKind::from_data_type("DOUBLE"), ColumnKind::Float);
        assert_eq!(ColumnKind::from_data_type("longblob"), ColumnKind::Binary);
        assert_eq!(ColumnKind::from_data_type("bit"), ColumnKind::Bit);
        assert_eq!(ColumnKind::from_data_type("datetime"), ColumnKind::Text);
    }
}
