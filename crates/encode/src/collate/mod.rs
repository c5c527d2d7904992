//! Collations under TiDB's new collation framework: the key bytes a string sorts by.
//!
//! Sort keys are byte-for-byte those of TiDB's `pkg/util/collate` `Key()`:
//! - `binary`, `utf8mb4_0900_bin`: the bytes as they are (NO PAD);
//! - `_bin` PAD SPACE collations: the bytes without trailing spaces;
//! - `utf8mb4_general_ci` / `utf8_general_ci`: trailing spaces trimmed, then one
//!   big-endian u16 per character from MySQL's general_ci folding table (characters
//!   above U+FFFF weigh 0xFFFD);
//! - `utf8mb4_unicode_ci` (UCA 4.0.0, PAD SPACE) and `utf8mb4_0900_ai_ci` (UCA 9.0.0,
//!   NO PAD): the non-zero primary weights of each character, big-endian u16 each.
//!
//! For every `_ci` collation, decoding stops at the first invalid UTF-8 sequence and
//! the key holds the weights of the characters before it, as in TiDB.

mod table;
mod uca;

use crate::error::SchemaError;

/// A supported collation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collation {
    /// `binary`: bytes as they are.
    Binary,
    /// A `_bin` PAD SPACE collation (`utf8mb4_bin`, `utf8_bin`, `latin1_bin`, `ascii_bin`): trailing spaces ignored.
    BinPadSpace,
    /// `utf8mb4_0900_bin`: NO PAD, bytes as they are.
    Utf8mb4_0900Bin,
    /// `utf8mb4_general_ci` / `utf8_general_ci`: MySQL's simple case and accent folding, PAD SPACE.
    GeneralCi,
    /// `utf8mb4_unicode_ci` / `utf8_unicode_ci`: UCA 4.0.0 primary weights, PAD SPACE.
    UnicodeCi,
    /// `utf8mb4_0900_ai_ci`: UCA 9.0.0 primary weights, NO PAD.
    Utf8mb4_0900AiCi,
    /// A collation we know by name but cannot compute keys for.
    Unsupported(&'static str),
}

impl Collation {
    /// Looks up a collation by (case-insensitive) name.
    pub fn from_name(name: &str) -> Option<Collation> {
        Some(match name.to_ascii_lowercase().as_str() {
            "binary" => Collation::Binary,
            "utf8mb4_bin" | "utf8_bin" | "latin1_bin" | "ascii_bin" | "utf8mb3_bin" => {
                Collation::BinPadSpace
            }
            "utf8mb4_0900_bin" => Collation::Utf8mb4_0900Bin,
            "utf8mb4_general_ci" | "utf8_general_ci" | "utf8mb3_general_ci" => Collation::GeneralCi,
            "utf8mb4_unicode_ci" | "utf8_unicode_ci" | "utf8mb3_unicode_ci" => Collation::UnicodeCi,
            "utf8mb4_0900_ai_ci" => Collation::Utf8mb4_0900AiCi,
            "latin1_swedish_ci" => Collation::Unsupported("latin1_swedish_ci"),
            "gbk_bin" => Collation::Unsupported("gbk_bin"),
            "gbk_chinese_ci" => Collation::Unsupported("gbk_chinese_ci"),
            _ => return None,
        })
    }

    /// TiDB's default collation of a charset.
    pub fn default_for_charset(charset: &str) -> Option<&'static str> {
        Some(match charset.to_ascii_lowercase().as_str() {
            "utf8mb4" => "utf8mb4_bin",
            "utf8" | "utf8mb3" => "utf8_bin",
            "latin1" => "latin1_bin",
            "ascii" => "ascii_bin",
            "binary" => "binary",
            "gbk" => "gbk_bin",
            _ => return None,
        })
    }

    /// True for TiDB's "bin" collations, whose index value restores only trailing spaces.
    pub fn is_bin(&self) -> bool {
        matches!(self, Collation::BinPadSpace)
    }

    /// True when trailing spaces do not count (PAD SPACE).
    pub fn is_pad_space(&self) -> bool {
        matches!(
            self,
            Collation::BinPadSpace | Collation::GeneralCi | Collation::UnicodeCi
        )
    }

    /// Errors unless keys can be computed (call before encoding any data).
    pub fn check_keyable(&self, table: &str, column: &str) -> Result<(), SchemaError> {
        match self {
            Collation::Unsupported(name) => Err(SchemaError::Unsupported {
                table: table.to_string(),
                message: format!(
                    "collation {name} of indexed column `{column}` (key encoding not implemented)"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Appends the sort key of `s` (the bytes TiDB puts into index and clustered keys).
    pub fn append_key(&self, s: &[u8], out: &mut Vec<u8>) {
        match self {
            Collation::BinPadSpace => out.extend_from_slice(trim_trailing_spaces(s)),
            Collation::GeneralCi => uca::general_ci_key(trim_trailing_spaces(s), out),
            Collation::UnicodeCi => uca::unicode_0400_key(trim_trailing_spaces(s), out),
            Collation::Utf8mb4_0900AiCi => uca::unicode_0900_key(s, out),
            Collation::Binary | Collation::Utf8mb4_0900Bin | Collation::Unsupported(_) => {
                out.extend_from_slice(s)
            }
        }
    }

    /// The sort key of `s` as a new vector.
    pub fn key(&self, s: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() * 2);
        self.append_key(s, &mut out);
        out
    }
}

/// `s` without trailing ASCII spaces (0x20 only).
pub fn trim_trailing_spaces(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
    &s[..end]
}

/// Number of trailing ASCII spaces.
pub fn trailing_spaces(s: &[u8]) -> usize {
    s.len() - trim_trailing_spaces(s).len()
}
