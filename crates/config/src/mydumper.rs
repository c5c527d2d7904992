//! `[mydumper]`, `[mydumper.csv]` and `[[mydumper.files]]`: the data source and its format.

use serde::Deserialize;

use crate::enums::string_or_list;
use crate::units::size;

/// Upstream's default table filter: everything except the system schemas.
pub const DEFAULT_FILTER: &[&str] = &[
    "*.*",
    "!mysql.*",
    "!sys.*",
    "!INFORMATION_SCHEMA.*",
    "!PERFORMANCE_SCHEMA.*",
    "!METRICS_SCHEMA.*",
    "!INSPECTION_SCHEMA.*",
];

/// `[mydumper]`: where the dump is and how to read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Mydumper {
    /// The dump: a local directory or a storage URL (required).
    pub data_source_dir: String,
    /// Identifies this source when several instances import in parallel.
    pub source_id: String,
    /// Bytes read from a file at a time (default 64 KiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub read_block_size: u64,
    /// Longest row (SQL tuple or CSV record) read, in decompressed bytes (default 120 MiB,
    /// upstream's fixed `LargestEntryLimit`); a longer one fails its file while reading.
    #[serde(deserialize_with = "size::deserialize")]
    pub max_row_size: u64,
    /// Bytes of data per engine batch (default 100 GiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub batch_size: u64,
    /// Ratio used to size engine batches; outside [0, 1) it becomes 0.75 (upstream leaves 0 by default).
    pub batch_import_ratio: f64,
    /// Character set of schema files: auto (default), utf8mb4, binary, gb18030, gbk, latin1.
    pub character_set: String,
    /// Character set of CSV data: binary (default), utf8mb4, gb18030, gbk, latin1, ascii.
    pub data_character_set: String,
    /// Replacement for undecodable data characters (default U+FFFD).
    pub data_invalid_char_replace: String,
    /// CSV options.
    pub csv: Csv,
    /// Cut large strict-format CSV files into chunks of about this size (default 256 MiB).
    #[serde(deserialize_with = "size::deserialize")]
    pub max_region_size: u64,
    /// Table filter rules (see the table-filter syntax); replaced by `-f` flags.
    pub filter: Vec<String>,
    /// Custom file routing rules, tried before the default ones.
    pub files: Vec<FileRule>,
    /// Skip schema files; tables must already exist.
    pub no_schema: bool,
    /// Match schema/table names case-sensitively (filter, routes).
    pub case_sensitive: bool,
    /// Promise that CSV fields contain no terminator, so files may be split.
    pub strict_format: bool,
    /// Apply the default file rules (forced on when `files` is empty).
    pub default_file_rules: bool,
    /// Columns to drop from the data of some tables.
    pub ignore_data_columns: Vec<IgnoreColumns>,
}

impl Default for Mydumper {
    fn default() -> Self {
        Mydumper {
            data_source_dir: String::new(),
            source_id: String::new(),
            read_block_size: 64 << 10,
            max_row_size: 120 << 20,
            batch_size: 100 << 30,
            batch_import_ratio: 0.0,
            character_set: "auto".into(),
            data_character_set: "binary".into(),
            data_invalid_char_replace: "\u{FFFD}".into(),
            csv: Csv::default(),
            max_region_size: 256 << 20,
            filter: DEFAULT_FILTER.iter().map(|s| s.to_string()).collect(),
            files: Vec::new(),
            no_schema: false,
            case_sensitive: false,
            strict_format: false,
            default_file_rules: false,
            ignore_data_columns: Vec::new(),
        }
    }
}

/// `[mydumper.csv]`: how CSV data files are written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Csv {
    /// Field separator (default ",").
    pub separator: String,
    /// Quote character; empty = unquoted (default `"`).
    pub delimiter: String,
    /// Line terminator; empty = "\r", "\n" or "\r\n".
    pub terminator: String,
    /// Strings meaning NULL; a bare string is accepted (default `\N`).
    #[serde(deserialize_with = "string_or_list::deserialize")]
    pub null: Vec<String>,
    /// The first line holds column names (default true).
    pub header: bool,
    /// Header names must match the table's columns (default true).
    pub header_schema_match: bool,
    /// Drop a trailing separator at line end.
    pub trim_last_separator: bool,
    /// No field can be NULL.
    pub not_null: bool,
    /// Backslash escapes (default true); sets `escaped-by` to `\`.
    pub backslash_escape: bool,
    /// Escape character; empty or one character (default `\`).
    pub escaped_by: String,
}

impl Default for Csv {
    fn default() -> Self {
        Csv {
            separator: ",".into(),
            delimiter: "\"".into(),
            terminator: String::new(),
            null: vec!["\\N".into()],
            header: true,
            header_schema_match: true,
            trim_last_separator: false,
            not_null: false,
            backslash_escape: true,
            escaped_by: "\\".into(),
        }
    }
}

/// One `[[mydumper.files]]` rule: a regex (or an exact path) and what matching files are.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct FileRule {
    /// Regex on the path relative to the data source (`/`-separated).
    pub pattern: String,
    /// Exact relative path (instead of `pattern`).
    pub path: String,
    /// Target schema; may use `$1`-style captures.
    pub schema: String,
    /// Target table; may use captures.
    pub table: String,
    /// File type: schema-schema, table-schema, view-schema, sql, csv, parquet, ignore; may use captures.
    #[serde(rename = "type")]
    pub kind: String,
    /// Sort key among a table's files; may use captures.
    pub key: String,
    /// Compression: gz/gzip, zst/zstd, snappy or empty; may use captures.
    pub compression: String,
}

/// One `[[mydumper.ignore-data-columns]]` entry.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct IgnoreColumns {
    /// Schema name.
    pub db: String,
    /// Table name.
    pub table: String,
    /// Table filter rules instead of db/table.
    pub table_filter: Vec<String>,
    /// Column names to drop.
    pub columns: Vec<String>,
}
