//! Writing values back as SQL literals, the inverse of the SQL parser's unescaping
//! (used by the logical backend when it re-emits rows, and by the round-trip tests).

/// Appends `value` as a single-quoted MySQL string literal that the server (and
/// [`crate::SqlParser`]) reads back as exactly `value`.
pub fn escape_sql_string(value: &[u8], out: &mut Vec<u8>) {
    out.reserve(value.len() + 2);
    out.push(b'\'');
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        let esc: &[u8] = match b {
            0 => b"\\0",
            b'\'' => b"\\'",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0x1a => b"\\Z",
            _ => continue,
        };
        out.extend_from_slice(&value[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&value[start..]);
    out.push(b'\'');
}

/// Appends `value` as a hex literal `0x...` (an empty value gives `''` with no
/// introducer, since a bare `0x` is not valid in every server).
pub fn escape_sql_hex(value: &[u8], out: &mut Vec<u8>) {
    if value.is_empty() {
        out.extend_from_slice(b"''");
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(b"0x");
    for &b in value {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_bytes_mysql_needs() {
        let mut out = Vec::new();
        escape_sql_string(b"a'b\\c\0\n\r\x1a\"%", &mut out);
        assert_eq!(out, b"'a\\'b\\\\c\\0\\n\\r\\Z\"%'");
        out.clear();
        escape_sql_hex(&[0, 0xab], &mut out);
        assert_eq!(out, b"0x00AB");
    }
}
