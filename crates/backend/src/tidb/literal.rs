//! Writing parsed fields back as SQL literals the server reads to the same value.

use super::ColumnKind;
use lightning_parser::{escape_sql_hex, escape_sql_string, Field, FieldKind};

/// Appends `field` as a literal for a column of `kind`.
///
/// `no_backslash_escapes` must be true when the session's sql_mode has
/// `NO_BACKSLASH_ESCAPES`, where only a doubled quote escapes inside strings.
pub fn write_literal(
    out: &mut Vec<u8>,
    field: Field<'_>,
    kind: ColumnKind,
    no_backslash_escapes: bool,
) {
    match field.kind {
        FieldKind::Null => out.extend_from_slice(b"NULL"),
        FieldKind::Number if is_number(field.bytes) => out.extend_from_slice(field.bytes),
        FieldKind::Binary => escape_sql_hex(field.bytes, out),
        FieldKind::Text if kind.is_numeric() && is_number(field.bytes) => {
            out.extend_from_slice(field.bytes)
        }
        FieldKind::Text | FieldKind::Number => {
            match kind {
                ColumnKind::Binary | ColumnKind::Bit => out.extend_from_slice(b"_binary"),
                ColumnKind::Json => out.extend_from_slice(b"_utf8mb4"),
                _ => {}
            }
            write_text_literal(out, field.bytes, no_backslash_escapes)
        }
    }
}

/// Appends `bytes` as a single-quoted string literal.
pub fn write_text_literal(out: &mut Vec<u8>, bytes: &[u8], no_backslash_escapes: bool) {
    if !no_backslash_escapes {
        return escape_sql_string(bytes, out);
    }
    // Under NO_BACKSLASH_ESCAPES only a doubled quote escapes; every other byte is itself.
    out.reserve(bytes.len() + 2);
    out.push(b'\'');
    for part in bytes.split_inclusive(|&b| b == b'\'') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'\'') {
            out.push(b'\'');
        }
    }
    out.push(b'\'');
}

/// True for a plain decimal number literal: `[+-]digits[.digits][e[+-]digits]`, with at
/// least one digit before or after the point. Anything else is sent quoted.
pub(crate) fn is_number(s: &[u8]) -> bool {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(kind: FieldKind, bytes: &[u8], col: ColumnKind) -> String {
        let mut out = Vec::new();
        write_literal(&mut out, Field { kind, bytes }, col, false);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn every_special_byte_is_escaped() {
        assert_eq!(
            lit(FieldKind::Text, b"a'b\\c\nd\re\0f\x1ag\"", ColumnKind::Text),
            "'a\\'b\\\\c\\nd\\re\\0f\\Zg\"'"
        );
        let mut out = Vec::new();
        write_text_literal(&mut out, b"it's \\", true);
        assert_eq!(out, b"'it''s \\'");
    }

    #[test]
    fn numbers_stay_bare_only_when_they_are_numbers() {
        assert_eq!(
            lit(FieldKind::Number, b"-1.5e3", ColumnKind::Integer),
            "-1.5e3"
        );
        assert_eq!(lit(FieldKind::Text, b"42", ColumnKind::Integer), "42");
        assert_eq!(lit(FieldKind::Text, b"42", ColumnKind::Text), "'42'");
        assert_eq!(
            lit(FieldKind::Text, b"1; DROP", ColumnKind::Integer),
            "'1; DROP'"
        );
        assert_eq!(
            lit(FieldKind::Number, b"1)--", ColumnKind::Integer),
            "'1)--'"
        );
        for bad in [
            &b""[..],
            b"-",
            b".",
            b"1e",
            b"1e+",
            b"--1",
            b"1.2.3",
            b"0x10",
        ] {
            assert!(!is_number(bad), "{bad:?}");
        }
        for good in [&b"0"[..], b"+1", b".5", b"5.", b"1E-7", b"-0.0e+10"] {
            assert!(is_number(good), "{good:?}");
        }
    }

    #[test]
    fn binary_values_are_hex_or_binary_strings() {
        assert_eq!(
            lit(FieldKind::Binary, &[0, 0xff, 0x1a], ColumnKind::Binary),
            "0x00FF1A"
        );
        assert_eq!(lit(FieldKind::Binary, b"", ColumnKind::Binary), "''");
        assert_eq!(
            lit(FieldKind::Text, &[0xff, b'\''], ColumnKind::Binary),
            "_binary'\u{fffd}\\''"
        );
        assert_eq!(lit(FieldKind::Null, b"", ColumnKind::Binary), "NULL");
    }
}
