//! Literal values of a `VALUES (...)` row: strings, numbers, hex and bit literals,
//! `NULL`, `TRUE`/`FALSE` and charset introducers. This is the hot path.

use super::lex::{is_ident, skip_ws, word_end, EOF_IN_INSERT};
use crate::scan::{show, Halt, Src, Step};
use crate::{FieldKind, RowBatch};

/// Parses the fields of one row, `buf[i]` being just past its `(`; returns the index
/// past its `)`. Fields are appended to `out`; the caller finishes or discards the row.
pub(crate) fn parse_row(
    src: &Src<'_>,
    mut i: usize,
    backslash: bool,
    out: &mut RowBatch,
) -> Step<usize> {
    let buf = src.buf;
    i = skip_ws(buf, i);
    match buf.get(i) {
        Some(b')') => return Ok(i + 1),
        Some(_) => {}
        None => return Err(src.end(i, EOF_IN_INSERT)),
    }
    loop {
        i = skip_ws(buf, i);
        i = parse_value(src, i, backslash, out)?;
        i = skip_ws(buf, i);
        match buf.get(i) {
            Some(b',') => i += 1,
            Some(b')') => return Ok(i + 1),
            Some(&c) => {
                return Err(src.fail(
                    i,
                    format!("expected ',' or ')' after value, found '{}'", show(c)),
                ));
            }
            None => return Err(src.end(i, EOF_IN_INSERT)),
        }
    }
}

/// Parses one literal at `buf[i]`, appending it to `out`; returns the index past it.
fn parse_value(src: &Src<'_>, i: usize, backslash: bool, out: &mut RowBatch) -> Step<usize> {
    let buf = src.buf;
    let Some(&c) = buf.get(i) else {
        return Err(src.end(i, EOF_IN_INSERT));
    };
    match c {
        b'\'' | b'"' => string(src, i, backslash, out),
        b'0' => match buf.get(i + 1) {
            Some(b'x' | b'X') => hex_number(src, i, out),
            Some(b'b' | b'B') => bit_number(src, i, out),
            Some(_) => number(src, i, out),
            None => number(src, i, out),
        },
        b'1'..=b'9' | b'-' | b'+' | b'.' => number(src, i, out),
        c if is_ident(c) => word_value(src, i, backslash, out),
        _ => Err(src.fail(i, format!("expected a value, found '{}'", show(c)))),
    }
}

/// A value starting with a word: `NULL`, `TRUE`, `FALSE`, `x'..'`, `b'..'`, `N'..'`,
/// or a charset introducer such as `_binary` before a literal.
fn word_value(src: &Src<'_>, i: usize, backslash: bool, out: &mut RowBatch) -> Step<usize> {
    let buf = src.buf;
    // Prefixed quoted literals: the quote follows the letter directly.
    if buf.get(i + 1) == Some(&b'\'') {
        match buf[i] {
            b'x' | b'X' => return hex_string(src, i, out),
            b'b' | b'B' => return bit_string(src, i, out),
            b'n' | b'N' => return string(src, i + 1, backslash, out),
            _ => {}
        }
    }
    let j = word_end(src, i)?;
    let w = &buf[i..j];
    if w.eq_ignore_ascii_case(b"NULL") {
        out.push_field(FieldKind::Null, b"");
        Ok(j)
    } else if w.eq_ignore_ascii_case(b"TRUE") {
        out.push_field(FieldKind::Number, b"1");
        Ok(j)
    } else if w.eq_ignore_ascii_case(b"FALSE") {
        out.push_field(FieldKind::Number, b"0");
        Ok(j)
    } else if w[0] == b'_' && w.len() > 1 {
        // Charset introducer: the literal that follows keeps its value.
        let k = skip_ws(buf, j);
        if buf.len() < k + 2 && !src.eof {
            return Err(Halt::NeedMore);
        }
        match buf.get(k) {
            Some(b'\'' | b'"') => string(src, k, backslash, out),
            Some(b'0') if matches!(buf.get(k + 1), Some(b'x' | b'X')) => hex_number(src, k, out),
            Some(b'0') if matches!(buf.get(k + 1), Some(b'b' | b'B')) => bit_number(src, k, out),
            Some(b'x' | b'X') if buf.get(k + 1) == Some(&b'\'') => hex_string(src, k, out),
            Some(b'b' | b'B') if buf.get(k + 1) == Some(&b'\'') => bit_string(src, k, out),
            Some(_) => Err(src.fail(
                k,
                "expected a string, hex or bit literal after a charset introducer",
            )),
            None => Err(src.end(k, EOF_IN_INSERT)),
        }
    } else {
        let w = String::from_utf8_lossy(&w[..w.len().min(64)]);
        let what = if buf.get(skip_ws(buf, j)) == Some(&b'(') {
            "function calls"
        } else {
            "expressions"
        };
        Err(src.fail(
            i,
            format!("unsupported value '{w}': {what} are not supported in VALUES, only literals"),
        ))
    }
}

/// A quoted string with MySQL escapes and doubled quotes, quote at `buf[i]`.
fn string(src: &Src<'_>, i: usize, backslash: bool, out: &mut RowBatch) -> Step<usize> {
    let buf = src.buf;
    let q = buf[i];
    let start = out.begin_field();
    let mut j = i + 1;
    let unterminated = || {
        src.end(
            i,
            &format!(
                "unterminated string literal starting at byte {}",
                src.base + i as u64
            ),
        )
    };
    loop {
        let rest = &buf[j..];
        let found = if backslash {
            memchr::memchr2(q, b'\\', rest)
        } else {
            memchr::memchr(q, rest)
        };
        let Some(k) = found else {
            return Err(unterminated());
        };
        out.field_buf().extend_from_slice(&rest[..k]);
        j += k;
        if buf[j] == q {
            match buf.get(j + 1) {
                Some(&c) if c == q => {
                    out.field_buf().push(q);
                    j += 2;
                }
                Some(_) => break,
                None if src.eof => break,
                None => return Err(src.end(j + 1, "")),
            }
        } else {
            let Some(&e) = buf.get(j + 1) else {
                return Err(unterminated());
            };
            let fb = out.field_buf();
            match e {
                b'0' => fb.push(0),
                b'b' => fb.push(8),
                b'n' => fb.push(b'\n'),
                b'r' => fb.push(b'\r'),
                b't' => fb.push(b'\t'),
                b'Z' => fb.push(0x1a),
                // MySQL keeps the backslash of `\%` and `\_` (they matter only in LIKE).
                b'%' | b'_' => fb.extend_from_slice(&[b'\\', e]),
                _ => fb.push(e),
            }
            j += 2;
        }
    }
    out.end_field(FieldKind::Text, start);
    Ok(j + 1)
}

/// An unquoted decimal number: `[+-]digits[.digits][e[+-]digits]`, `.5` allowed.
/// A leading `+` is dropped; the rest is kept as written.
fn number(src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<usize> {
    let buf = src.buf;
    let mut j = i;
    let mut text_start = i;
    if matches!(buf.get(j), Some(b'+' | b'-')) {
        if buf[j] == b'+' {
            text_start = j + 1;
        }
        j += 1;
    }
    let int_start = j;
    while j < buf.len() && buf[j].is_ascii_digit() {
        j += 1;
    }
    let mut digits = j - int_start;
    if buf.get(j) == Some(&b'.') {
        j += 1;
        let f = j;
        while j < buf.len() && buf[j].is_ascii_digit() {
            j += 1;
        }
        digits += j - f;
    }
    if digits > 0 && matches!(buf.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(buf.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let e = j;
        while j < buf.len() && buf[j].is_ascii_digit() {
            j += 1;
        }
        if j == buf.len() && !src.eof {
            return Err(src.end(j, ""));
        }
        if j == e {
            return Err(src.fail(i, "malformed number: exponent without digits"));
        }
    }
    if j == buf.len() && !src.eof {
        return Err(src.end(j, ""));
    }
    if digits == 0 {
        return Err(src.fail(i, format!("expected a value, found '{}'", show(buf[i]))));
    }
    if let Some(&c) = buf.get(j) {
        if is_ident(c) || c == b'.' {
            return Err(src.fail(i, format!("malformed number: unexpected '{}'", show(c))));
        }
    }
    out.push_field(FieldKind::Number, &buf[text_start..j]);
    Ok(j)
}

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex digits into `out` as one field; an odd count is padded on the left.
fn push_hex(digits: &[u8], out: &mut RowBatch) {
    let start = out.begin_field();
    let fb = out.field_buf();
    let mut rest = digits;
    if digits.len() % 2 == 1 {
        fb.push(hex_val(digits[0]).unwrap_or(0));
        rest = &digits[1..];
    }
    for pair in rest.chunks_exact(2) {
        fb.push((hex_val(pair[0]).unwrap_or(0) << 4) | hex_val(pair[1]).unwrap_or(0));
    }
    out.end_field(FieldKind::Binary, start);
}

/// Decodes binary digits into `out`: one byte per 8 digits, padded on the left to a
/// multiple of 8 digits (as MySQL and TiDB do: `b'0000000001000001'` is 2 bytes).
fn push_bits(digits: &[u8], out: &mut RowBatch) {
    let start = out.begin_field();
    let fb = out.field_buf();
    let head = digits.len() % 8;
    let mut byte = 0u8;
    for (n, &d) in digits.iter().enumerate() {
        byte = (byte << 1) | (d - b'0');
        if (n + 1) % 8 == head % 8 {
            fb.push(byte);
            byte = 0;
        }
    }
    out.end_field(FieldKind::Binary, start);
}

/// `0x0A0B`: hex digits up to a non-word byte.
fn hex_number(src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<usize> {
    let j = word_end(src, i)?;
    let digits = &src.buf[i + 2..j];
    if let Some(p) = digits.iter().position(|&d| hex_val(d).is_none()) {
        return Err(src.fail(i + 2 + p, "malformed hex literal"));
    }
    push_hex(digits, out);
    Ok(j)
}

/// `0b0101`: binary digits up to a non-word byte.
fn bit_number(src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<usize> {
    let j = word_end(src, i)?;
    let digits = &src.buf[i + 2..j];
    if let Some(p) = digits.iter().position(|&d| d != b'0' && d != b'1') {
        return Err(src.fail(i + 2 + p, "malformed bit literal"));
    }
    push_bits(digits, out);
    Ok(j)
}

/// The digits of `x'..'` / `b'..'` at `buf[i]` (the letter): returns them and the end.
fn quoted_digits<'a>(src: &Src<'a>, i: usize, what: &str) -> Step<(&'a [u8], usize)> {
    let buf = src.buf;
    match memchr::memchr(b'\'', &buf[i + 2..]) {
        Some(k) => Ok((&buf[i + 2..i + 2 + k], i + 2 + k + 1)),
        None => Err(src.end(
            i,
            &format!(
                "unterminated {what} literal starting at byte {}",
                src.base + i as u64
            ),
        )),
    }
}

/// `X'0a0b'`: an even number of hex digits.
fn hex_string(src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<usize> {
    let (digits, end) = quoted_digits(src, i, "hex")?;
    if let Some(p) = digits.iter().position(|&d| hex_val(d).is_none()) {
        return Err(src.fail(i + 2 + p, "malformed hex literal"));
    }
    if digits.len() % 2 == 1 {
        return Err(src.fail(i, "hex literal X'...' must have an even number of digits"));
    }
    push_hex(digits, out);
    Ok(end)
}

/// `b'0101'`.
fn bit_string(src: &Src<'_>, i: usize, out: &mut RowBatch) -> Step<usize> {
    let (digits, end) = quoted_digits(src, i, "bit")?;
    if let Some(p) = digits.iter().position(|&d| d != b'0' && d != b'1') {
        return Err(src.fail(i + 2 + p, "malformed bit literal"));
    }
    push_bits(digits, out);
    Ok(end)
}
