//! What a scanned dump looks like: databases, tables, views and their files.

use std::path::PathBuf;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// `CREATE DATABASE` statement (`{db}-schema-create.sql`).
    SchemaSchema,
    /// `CREATE TABLE` statement (`{db}.{table}-schema.sql`).
    TableSchema,
    /// `CREATE VIEW` statement (`{db}.{table}-schema-view.sql`).
    ViewSchema,
    /// SQL `INSERT` statements.
    Sql,
    /// CSV rows.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl DataFormat {
    /// True for data files (SQL, CSV, Parquet).
    pub fn is_data(self) -> bool {
        matches!(
            self,
            DataFormat::Sql | DataFormat::Csv | DataFormat::Parquet
        )
    }
}

/// Whole-file compression of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Plain file.
    #[default]
    None,
    /// gzip, possibly several members (`.gz`, `.gzip`).
    Gzip,
    /// Zstandard, possibly several frames (`.zst`, `.zstd`).
    Zstd,
    /// Snappy framing format as Dumpling writes it (`.snappy`).
    Snappy,
}

/// One file of the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Absolute path (symlinks are not resolved, only followed when read).
    pub path: PathBuf,
    /// Path relative to the data source, `/`-separated; used in messages and checkpoints.
    pub rel: String,
    /// Size on disk in bytes (compressed size for compressed files).
    pub size: u64,
    /// What the file holds.
    pub format: DataFormat,
    /// Its compression.
    pub compression: Compression,
    /// Sort key among the table's data files (the `{seq}` of `{db}.{table}.{seq}.sql`), may be empty.
    pub key: String,
}

/// A table to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSource {
    /// Target schema name (after routes).
    pub db: String,
    /// Target table name (after routes).
    pub name: String,
    /// The `CREATE TABLE` file; `None` with `no-schema` (table must exist).
    pub schema_file: Option<SourceFile>,
    /// Data files, sorted by `key` (stable, in scan order for equal keys).
    pub data_files: Vec<SourceFile>,
    /// Sum of the data files' sizes.
    pub total_size: u64,
}

/// A view to create after the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSource {
    /// Schema name.
    pub db: String,
    /// View name.
    pub name: String,
    /// Dumpling's placeholder `CREATE TABLE` for the view, when present.
    pub schema_file: Option<SourceFile>,
    /// The `CREATE VIEW` file.
    pub view_file: SourceFile,
}

/// A database to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSource {
    /// Target schema name (after routes).
    pub name: String,
    /// The `CREATE DATABASE` file, when the dump has one.
    pub schema_file: Option<SourceFile>,
    /// Tables, smallest first (as upstream orders them).
    pub tables: Vec<TableSource>,
    /// Views.
    pub views: Vec<ViewSource>,
}

/// Everything found in the data source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dump {
    /// Databases in the order their first file was seen (scan order is lexicographic).
    pub databases: Vec<DatabaseSource>,
}

impl Dump {
    /// Finds a table by (target) schema and name.
    pub fn table(&self, db: &str, name: &str) -> Option<&TableSource> {
        self.databases
            .iter()
            .filter(|d| d.name == db)
            .flat_map(|d| d.tables.iter())
            .find(|t| t.name == name)
    }
}
