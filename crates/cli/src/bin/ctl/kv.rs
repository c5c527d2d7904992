//! `kv encode` and `kv decode`: the codec of `lightning-encode` on the command line.

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use lightning_encode::explain::{explain, Explained};
use lightning_encode::{ddl::parse_create_table, EncodeOptions, Encoder, KvPairs, SqlMode};
use lightning_parser::{ChunkParser, RowBatch, SqlParser};
use serde_json::json;
use std::fmt::Write as _;

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    #[default]
    Text,
    /// JSON.
    Json,
}

/// The `kv` subcommands.
#[derive(Subcommand, Debug)]
pub enum KvCommand {
    /// Print every key and value the importer would write for one row, plus its checksum.
    Encode {
        /// CREATE TABLE statement, or a path to a file holding it.
        #[arg(long)]
        schema: String,
        /// Table id (as TiDB assigned it).
        #[arg(long = "table-id")]
        table_id: i64,
        /// The row as a SQL VALUES tuple, e.g. `(1, 'a', NULL)`.
        #[arg(long)]
        row: String,
        /// SQL mode, as `[tidb] sql-mode`.
        #[arg(long = "sql-mode", default_value = SqlMode::LIGHTNING_DEFAULT)]
        sql_mode: String,
        /// The hidden `_tidb_rowid` (and auto-increment value) for this row.
        #[arg(long = "row-id", default_value_t = 1)]
        row_id: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Explain a raw TiKV key or value given in hex.
    Decode {
        /// The bytes in hex.
        hex: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.len() & 1 == 1 {
        bail!("hex input has an odd number of digits");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16).with_context(|| format!("bad hex digit at {i}"))
        })
        .collect()
}

/// Runs a `kv` subcommand, returning what to print.
pub fn run(cmd: KvCommand) -> Result<String> {
    match cmd {
        KvCommand::Encode {
            schema,
            table_id,
            row,
            sql_mode,
            row_id,
            format,
        } => encode(&schema, table_id, &row, &sql_mode, row_id, format),
        KvCommand::Decode { hex, format } => decode(&hex, format),
    }
}

fn encode(
    schema: &str,
    table_id: i64,
    row: &str,
    sql_mode: &str,
    row_id: i64,
    format: Format,
) -> Result<String> {
    let sql = if std::path::Path::new(schema).is_file() {
        std::fs::read_to_string(schema).with_context(|| format!("reading schema file {schema}"))?
    } else {
        schema.to_string()
    };
    let table = parse_create_table(&sql, table_id)?;
    let opts = EncodeOptions {
        sql_mode: SqlMode::parse(sql_mode),
        ..Default::default()
    };
    let mut enc = Encoder::new(&table, opts)?;
    let stmt = format!("INSERT INTO t VALUES {};", row.trim().trim_end_matches(';'));
    let mut batch = RowBatch::new();
    let mut parser = SqlParser::new(0);
    parser
        .parse(stmt.as_bytes(), true, &mut batch)
        .context("parsing --row")?;
    if batch.len() != 1 {
        bail!(
            "--row must hold exactly one VALUES tuple, found {}",
            batch.len()
        );
    }
    let fields: Vec<_> = batch.row(0).fields().collect();
    let mut out = KvPairs::new();
    enc.encode_row(&fields, row_id, &mut out)?;
    let sum = out.checksum();
    let mut s = String::new();
    match format {
        Format::Json => {
            let arr: Vec<_> = out
                .iter()
                .map(|p| {
                    json!({
                        "kind": if p.index_id.is_some() { "index" } else { "record" },
                        "index_id": p.index_id,
                        "key": hex(p.key),
                        "value": hex(p.value),
                    })
                })
                .collect();
            s = serde_json::to_string_pretty(&arr)?;
            s.push('\n');
        }
        Format::Text => {
            for p in out.iter() {
                match p.index_id {
                    None => writeln!(s, "record")?,
                    Some(id) => writeln!(s, "index {id}")?,
                }
                writeln!(s, "  key:   {}", hex(p.key))?;
                writeln!(s, "  value: {}", hex(p.value))?;
            }
            writeln!(
                s,
                "checksum: crc64xor={} kvs={} bytes={}",
                sum.crc, sum.kvs, sum.bytes
            )?;
        }
    }
    Ok(s)
}

fn decode(input: &str, format: Format) -> Result<String> {
    let bytes = unhex(input)?;
    let e = explain(&bytes)?;
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&explained_json(&e))?),
        Format::Text => format!("{e}\n"),
    })
}

fn explained_json(e: &Explained) -> serde_json::Value {
    match e {
        Explained::RecordKey { table_id, handle } => {
            json!({"kind": "record", "table_id": table_id, "handle": handle})
        }
        Explained::IndexKey {
            table_id,
            index_id,
            values,
        } => {
            json!({"kind": "index", "table_id": table_id, "index_id": index_id, "values": values})
        }
        Explained::RowValue { columns } => json!({
            "kind": "row_value",
            "table_id": null,
            "columns": columns.iter().map(|(id, v)| json!({"id": id, "value": v})).collect::<Vec<_>>(),
        }),
        Explained::IndexValue { description } => {
            json!({"kind": "index_value", "table_id": null, "description": description})
        }
    }
}
