//! Collations under TiDB's new collation framework: the key bytes a string sorts by.

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
    /// A case-insensitive collation we know by name but cannot compute keys for yet.
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
            "utf8mb4_general_ci" => Collation::Unsupported("utf8mb4_general_ci"),
            "utf8_general_ci" | "utf8mb3_general_ci" => Collation::Unsupported("utf8_general_ci"),
            "utf8mb4_unicode_ci" => Collation::Unsupported("utf8mb4_unicode_ci"),
            "utf8_unicode_ci" => Collation::Unsupported("utf8_unicode_ci"),
            "utf8mb4_0900_ai_ci" => Collation::Unsupported("utf8mb4_0900_ai_ci"),
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
            _ => out.extend_from_slice(s),
        }
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
