//! The JSON shape of TiDB's `model.TableInfo` (as `GET /schema/{db}/{table}` on the status
//! port returns it and as it is stored in the meta keys), limited to what we read or write.
//!
//! Field names follow the Go struct tags: `pkg/meta/model/table.go`, `column.go`, `index.go`,
//! `pkg/parser/types/field_type.go` (`jsonFieldType`, untagged, hence `Tp`, `Flag`…) and
//! `CIStr` (`{"O": original, "L": lower}`). Fields we do not model are kept as raw JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `model.SchemaState` values.
pub const STATE_NONE: u8 = 0;
/// Being dropped (or just being added): not written.
pub const STATE_DELETE_ONLY: u8 = 1;
/// Written with its default by TiDB while a DDL runs.
pub const STATE_WRITE_ONLY: u8 = 2;
/// Written, backfill running.
pub const STATE_WRITE_REORG: u8 = 3;
/// Being dropped, data being removed.
pub const STATE_DELETE_REORG: u8 = 4;
/// Visible and written.
pub const STATE_PUBLIC: u8 = 5;

/// Case-preserving identifier.
#[derive(Serialize, Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct CiStr {
    /// Original.
    #[serde(rename = "O")]
    pub o: String,
    /// Lower-cased.
    #[serde(rename = "L")]
    pub l: String,
}

impl CiStr {
    pub fn new(s: &str) -> Self {
        CiStr {
            o: s.to_string(),
            l: s.to_lowercase(),
        }
    }
}

/// `types.FieldType` as marshalled through `jsonFieldType`.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
pub struct FieldTypeJson {
    #[serde(rename = "Tp")]
    pub tp: u8,
    #[serde(rename = "Flag")]
    pub flag: u32,
    #[serde(rename = "Flen")]
    pub flen: i64,
    #[serde(rename = "Decimal")]
    pub decimal: i64,
    #[serde(rename = "Charset")]
    pub charset: String,
    #[serde(rename = "Collate")]
    pub collate: String,
    #[serde(rename = "Elems")]
    pub elems: Option<Vec<String>>,
    #[serde(rename = "ElemsIsBinaryLit")]
    pub elems_is_binary_lit: Option<Vec<bool>>,
    #[serde(rename = "Array")]
    pub array: bool,
}

/// `model.ColumnInfo`.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
pub struct ColumnJson {
    pub id: i64,
    pub name: CiStr,
    pub offset: i64,
    pub origin_default: Value,
    pub origin_default_bit: Option<String>,
    pub default: Value,
    pub default_bit: Option<String>,
    pub default_is_expr: bool,
    pub generated_expr_string: String,
    pub generated_stored: bool,
    pub dependences: Value,
    #[serde(rename = "type")]
    pub ft: FieldTypeJson,
    pub state: u8,
    pub comment: String,
    pub hidden: bool,
    pub change_state_info: Value,
    pub version: u64,
}

/// `model.IndexColumn`.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
pub struct IndexColumnJson {
    pub name: CiStr,
    pub offset: i64,
    /// -1 (`UnspecifiedLength`) unless a prefix.
    pub length: i64,
}

/// `model.IndexInfo`.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
pub struct IndexJson {
    pub id: i64,
    pub idx_name: CiStr,
    pub tbl_name: CiStr,
    pub idx_cols: Vec<IndexColumnJson>,
    pub state: u8,
    pub backfill_state: u8,
    pub comment: String,
    pub index_type: i64,
    pub is_unique: bool,
    pub is_primary: bool,
    pub is_invisible: bool,
    pub is_global: bool,
    pub mv_index: bool,
    pub vector_index: Value,
}

/// `model.TableInfo`.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
pub struct TableJson {
    pub id: i64,
    pub name: CiStr,
    pub charset: String,
    pub collate: String,
    pub cols: Vec<ColumnJson>,
    pub index_info: Option<Vec<IndexJson>>,
    pub constraint_info: Value,
    pub fk_info: Value,
    pub state: u8,
    pub pk_is_handle: bool,
    pub is_common_handle: bool,
    pub common_handle_version: u16,
    pub comment: String,
    pub auto_inc_id: i64,
    pub auto_id_cache: i64,
    pub auto_rand_id: i64,
    pub max_col_id: i64,
    pub max_idx_id: i64,
    pub max_fk_id: i64,
    pub max_cst_id: i64,
    pub update_timestamp: u64,
    /// Untagged in Go, hence the Go field name.
    #[serde(rename = "ShardRowIDBits")]
    pub shard_row_id_bits: u64,
    pub max_shard_row_id_bits: u64,
    pub auto_random_bits: u64,
    pub auto_random_range_bits: u64,
    pub pre_split_regions: u64,
    pub partition: Value,
    pub compression: String,
    pub view: Value,
    pub sequence: Value,
    #[serde(rename = "Lock")]
    pub lock: Value,
    pub version: u16,
    pub tiflash_replica: Value,
    pub is_columnar: bool,
    pub temp_table_type: u8,
    pub cache_table_status: u8,
    pub policy_ref_info: Value,
    pub stats_options: Value,
    pub exchange_partition_info: Value,
    pub ttl_info: Value,
    pub revision: u64,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64, as Go's `encoding/json` writes `[]byte`.
pub fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(B64[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Inverse of [`base64_encode`]; `None` on malformed input.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for ch in s.bytes() {
        let v = B64.iter().position(|&x| x == ch)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
