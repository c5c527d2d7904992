//! TiDB's table model: columns with their field types, indexes, and the handle kind.
//!
//! Built from a `CREATE TABLE` statement by [`crate::ddl`] (ids as TiDB assigns them
//! to a freshly created table) or from the table-info JSON a running TiDB reports
//! ([`TableInfo::from_tidb_json`], with [`TableInfo::to_tidb_json`] as its inverse).

use crate::collate::Collation;

/// A column's base type (MySQL `TypeXxx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// TINYINT
    TinyInt,
    /// SMALLINT
    SmallInt,
    /// MEDIUMINT
    MediumInt,
    /// INT
    Int,
    /// BIGINT
    BigInt,
    /// FLOAT
    Float,
    /// DOUBLE / REAL
    Double,
    /// DECIMAL / NUMERIC
    Decimal,
    /// DATE
    Date,
    /// DATETIME(fsp)
    DateTime,
    /// TIMESTAMP(fsp)
    Timestamp,
    /// TIME(fsp)
    Time,
    /// YEAR
    Year,
    /// CHAR(n) / BINARY(n) (binary when the charset is `binary`)
    Char,
    /// VARCHAR(n) / VARBINARY(n)
    VarChar,
    /// TEXT / BLOB family (`flen` = the byte limit)
    Blob,
    /// ENUM
    Enum,
    /// SET
    Set,
    /// BIT(n)
    Bit,
    /// JSON
    Json,
}

/// A column's full type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldType {
    /// Base type.
    pub tp: ColumnType,
    /// `UNSIGNED`.
    pub unsigned: bool,
    /// Display width / precision / character length / bit width, as TiDB's `flen`.
    pub flen: u32,
    /// Scale of DECIMAL/FLOAT/DOUBLE or fsp of temporal types; 0 when unspecified.
    pub decimal: u8,
    /// Character set name (`binary` for binary strings).
    pub charset: String,
    /// Collation name.
    pub collation_name: String,
    /// Resolved collation.
    pub collation: Collation,
    /// ENUM / SET members.
    pub elems: Vec<String>,
}

impl FieldType {
    /// A type with TiDB's defaults for `tp` (binary charset; callers set strings' charset).
    pub fn new(tp: ColumnType) -> Self {
        FieldType {
            tp,
            unsigned: false,
            flen: 0,
            decimal: 0,
            charset: "binary".into(),
            collation_name: "binary".into(),
            collation: Collation::Binary,
            elems: Vec::new(),
        }
    }

    /// True for string types (CHAR/VARCHAR/TEXT/BLOB).
    pub fn is_string(&self) -> bool {
        matches!(
            self.tp,
            ColumnType::Char | ColumnType::VarChar | ColumnType::Blob
        )
    }

    /// True for a string type with a non-binary charset.
    pub fn is_nonbinary_string(&self) -> bool {
        self.is_string() && self.charset != "binary"
    }

    /// True for integer types (not YEAR).
    pub fn is_integer(&self) -> bool {
        matches!(
            self.tp,
            ColumnType::TinyInt
                | ColumnType::SmallInt
                | ColumnType::MediumInt
                | ColumnType::Int
                | ColumnType::BigInt
        )
    }

    /// TiDB's `NeedRestoredData`: whether index values must carry this column's original value.
    pub fn needs_restored_data(&self) -> bool {
        self.is_nonbinary_string()
            && !(self.collation.is_bin() && self.tp != ColumnType::VarChar)
            && self.collation != Collation::Binary
            && self.collation != Collation::Utf8mb4_0900Bin
    }
}

/// A column default.
#[derive(Clone, Debug, PartialEq)]
pub enum DefaultValue {
    /// A literal as written (NULL is `Literal(None)`); cast like an input value.
    Literal(Option<Vec<u8>>),
    /// A binary (hex/bit) literal.
    Binary(Vec<u8>),
    /// `CURRENT_TIMESTAMP[(fsp)]` and synonyms.
    CurrentTimestamp,
    /// An expression we keep as text but cannot evaluate yet.
    Expr(String),
    /// A TIMESTAMP literal already in UTC, as TiDB stores it (column info version ≥ 1).
    Utc(Vec<u8>),
}

/// A generated column's expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// Expression text.
    pub expr: String,
    /// `STORED` (true) or `VIRTUAL`.
    pub stored: bool,
}

/// One column.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnInfo {
    /// Column id (1, 2, … on a fresh table).
    pub id: i64,
    /// Name as written.
    pub name: String,
    /// Position in the table.
    pub offset: usize,
    /// Type.
    pub ft: FieldType,
    /// `NOT NULL` (primary-key columns are implicitly NOT NULL).
    pub not_null: bool,
    /// `DEFAULT …`, if any (`DEFAULT NULL` is `None`, as TiDB's table info has it).
    pub default: Option<DefaultValue>,
    /// `AUTO_INCREMENT`.
    pub auto_increment: bool,
    /// `AUTO_RANDOM(shard_bits, range_bits)`.
    pub auto_random: Option<(u8, u8)>,
    /// `AS (expr) VIRTUAL|STORED`.
    pub generated: Option<Generated>,
    /// `ON UPDATE CURRENT_TIMESTAMP`.
    pub on_update_now: bool,
    /// `COMMENT '…'`.
    pub comment: String,
}

/// One column of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexColumn {
    /// Column offset in the table.
    pub offset: usize,
    /// Prefix length (characters, or bytes for binary strings), if a prefix index.
    pub length: Option<u32>,
}

/// One index (the clustered primary key is an index too, with `primary` set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexInfo {
    /// Index id (1, 2, … in definition order on a fresh table).
    pub id: i64,
    /// Name (`PRIMARY` for the primary key).
    pub name: String,
    /// Columns.
    pub columns: Vec<IndexColumn>,
    /// UNIQUE or PRIMARY.
    pub unique: bool,
    /// The primary key.
    pub primary: bool,
}

/// How rows are keyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandleKind {
    /// A single integer primary key column is the handle (`PKIsHandle`).
    IntPk {
        /// Column offset.
        offset: usize,
    },
    /// A clustered primary key of any types (`IsCommonHandle`); its index is not written separately.
    Clustered {
        /// Position of the primary index in `TableInfo::indices`.
        index: usize,
    },
    /// Hidden `_tidb_rowid`.
    RowId,
}

/// A table as the encoder needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct TableInfo {
    /// Table id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes that exist as index KVs, plus the clustered primary index (if any).
    pub indices: Vec<IndexInfo>,
    /// Handle kind.
    pub handle: HandleKind,
    /// `SHARD_ROW_ID_BITS`.
    pub shard_row_id_bits: u8,
    /// `AUTO_INCREMENT=` table option, if given.
    pub auto_increment_base: Option<u64>,
    /// `AUTO_RANDOM_BASE=` table option, if given.
    pub auto_random_base: Option<u64>,
    /// Table default charset.
    pub charset: String,
    /// Table default collation.
    pub collation: String,
    /// Index-value layout version of clustered tables (TiDB writes 1; 0 without a common handle).
    pub common_handle_version: u16,
}

impl TableInfo {
    /// The column named `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The auto-random column, if any.
    pub fn auto_random_column(&self) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.auto_random.is_some())
    }

    /// Re-numbers the table, e.g. with the id TiDB reported after creating it.
    pub fn with_id(mut self, id: i64) -> Self {
        self.id = id;
        self
    }

    /// True when the table is clustered on a common handle.
    pub fn is_common_handle(&self) -> bool {
        matches!(self.handle, HandleKind::Clustered { .. })
    }
}
