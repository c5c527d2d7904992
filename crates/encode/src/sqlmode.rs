//! The subset of MySQL's `sql_mode` that changes how values are cast.

/// Parsed `sql-mode` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SqlMode {
    /// `STRICT_TRANS_TABLES` or `STRICT_ALL_TABLES`: bad values are row errors.
    pub strict: bool,
    /// `NO_ZERO_IN_DATE`: dates with a zero month or day are invalid (strict only).
    pub no_zero_in_date: bool,
    /// `NO_ZERO_DATE`: `0000-00-00` is invalid (strict only).
    pub no_zero_date: bool,
    /// `ALLOW_INVALID_DATES`: only month 1..12 and day 1..31 are checked.
    pub allow_invalid_dates: bool,
    /// `NO_AUTO_VALUE_ON_ZERO`: 0 in an AUTO_INCREMENT column is kept.
    pub no_auto_value_on_zero: bool,
    /// `PAD_CHAR_TO_FULL_LENGTH` (accepted; storage is unaffected).
    pub pad_char_to_full_length: bool,
}

impl SqlMode {
    /// Lightning's default `[tidb] sql-mode`: "ONLY_FULL_GROUP_BY,NO_AUTO_CREATE_USER" (not strict).
    pub const LIGHTNING_DEFAULT: &'static str = "ONLY_FULL_GROUP_BY,NO_AUTO_CREATE_USER";

    /// Parses a comma-separated mode list; unknown names are ignored, as combination
    /// modes (`TRADITIONAL`, `ANSI`) expand to their strict parts.
    pub fn parse(s: &str) -> SqlMode {
        let mut m = SqlMode::default();
        for part in s.split(',').map(|p| p.trim().to_ascii_uppercase()) {
            match part.as_str() {
                "STRICT_TRANS_TABLES" | "STRICT_ALL_TABLES" => m.strict = true,
                "NO_ZERO_IN_DATE" => m.no_zero_in_date = true,
                "NO_ZERO_DATE" => m.no_zero_date = true,
                "ALLOW_INVALID_DATES" => m.allow_invalid_dates = true,
                "NO_AUTO_VALUE_ON_ZERO" => m.no_auto_value_on_zero = true,
                "PAD_CHAR_TO_FULL_LENGTH" => m.pad_char_to_full_length = true,
                "TRADITIONAL" => {
                    m.strict = true;
                    m.no_zero_in_date = true;
                    m.no_zero_date = true;
                }
                _ => {}
            }
        }
        m
    }
}
