//! Token-level helpers of the SQL dump parser: whitespace and comments, words,
//! identifiers, the `INSERT ... VALUES` header and skipping other statements.

use crate::scan::{first_duplicate, show, Src, Step};

/// SQL whitespace.
#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A byte that can appear in an unquoted identifier or keyword.
#[inline]
pub(crate) fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

pub(crate) const EOF_IN_INSERT: &str = "unexpected end of file inside INSERT statement";

/// Skips whitespace only.
#[inline]
pub(crate) fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && is_ws(buf[i]) {
        i += 1;
    }
    i
}

/// Skips whitespace and comments (`-- `, `#`, `/* */`, including versioned `/*! */`
/// comments, which in a data file only ever hold statements we skip anyway).
pub(crate) fn skip_ws_comments(src: &Src<'_>, mut i: usize) -> Step<usize> {
    let buf = src.buf;
    loop {
        i = skip_ws(buf, i);
        let Some(&c) = buf.get(i) else { return Ok(i) };
        match c {
            b'#' => i = line_end(src, i)?,
            b'-' => {
                // MySQL: `--` starts a comment only when followed by whitespace or a
                // control character (or the end of the file).
                match (buf.get(i + 1), buf.get(i + 2)) {
                    (Some(b'-'), Some(&d)) if d <= b' ' => i = line_end(src, i)?,
                    (Some(b'-'), None) | (None, _) if !src.eof => return Err(src.end(i, "")),
                    (Some(b'-'), None) => return Ok(buf.len()),
                    _ => return Ok(i),
                }
            }
            b'/' => match buf.get(i + 1) {
                Some(b'*') => match memchr::memmem::find(&buf[i + 2..], b"*/") {
                    Some(k) => i = i + 2 + k + 2,
                    None => return Err(src.end(i, "unterminated comment")),
                },
                None if !src.eof => return Err(src.end(i, "")),
                _ => return Ok(i),
            },
            _ => return Ok(i),
        }
    }
}

/// Index just past the end of the line holding `buf[i]` (or the end of the file).
fn line_end(src: &Src<'_>, i: usize) -> Step<usize> {
    match memchr::memchr(b'\n', &src.buf[i..]) {
        Some(k) => Ok(i + k + 1),
        None if src.eof => Ok(src.buf.len()),
        None => Err(src.end(i, "")),
    }
}

/// Reads an unquoted word starting at `i`; returns its end. The word must be followed
/// by a non-word byte, or the end of the file.
pub(crate) fn word_end(src: &Src<'_>, i: usize) -> Step<usize> {
    let buf = src.buf;
    let mut j = i;
    while j < buf.len() && is_ident(buf[j]) {
        j += 1;
    }
    if j == buf.len() && !src.eof {
        return Err(src.end(j, ""));
    }
    Ok(j)
}

/// Reads an identifier (bare, `` `quoted` `` or `"quoted"`) at `i`; returns its
/// unquoted name and the index past it.
pub(crate) fn identifier(src: &Src<'_>, i: usize) -> Step<(String, usize)> {
    let buf = src.buf;
    let Some(&q) = buf.get(i) else {
        return Err(src.end(i, EOF_IN_INSERT));
    };
    if q == b'`' || q == b'"' {
        let mut name = Vec::new();
        let mut j = i + 1;
        loop {
            let Some(k) = memchr::memchr(q, &buf[j..]) else {
                return Err(src.end(buf.len(), EOF_IN_INSERT));
            };
            name.extend_from_slice(&buf[j..j + k]);
            j += k + 1;
            match buf.get(j) {
                Some(&c) if c == q => {
                    name.push(q);
                    j += 1;
                }
                Some(_) => break,
                None if src.eof => break,
                None => return Err(src.end(j, EOF_IN_INSERT)),
            }
        }
        Ok((String::from_utf8_lossy(&name).into_owned(), j))
    } else if is_ident(q) {
        let j = word_end(src, i)?;
        Ok((String::from_utf8_lossy(&buf[i..j]).into_owned(), j))
    } else {
        Err(src.fail(i, format!("expected an identifier, found '{}'", show(q))))
    }
}

/// The parsed head of an `INSERT`/`REPLACE` statement.
pub(crate) struct Header {
    /// The column list, if the statement has one.
    pub columns: Option<Vec<String>>,
    /// Index just past `VALUES`.
    pub end: usize,
}

/// Parses `INSERT [modifiers] [INTO] tbl [(cols)] VALUES` from just after the first
/// keyword at `i`.
pub(crate) fn insert_header(src: &Src<'_>, mut i: usize) -> Step<Header> {
    let buf = src.buf;
    // Modifiers and INTO, then the table name.
    loop {
        i = skip_ws_comments(src, i)?;
        let Some(&c) = buf.get(i) else {
            return Err(src.end(i, EOF_IN_INSERT));
        };
        if !is_ident(c) {
            break;
        }
        let j = word_end(src, i)?;
        let w = &buf[i..j];
        if ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k.as_bytes()))
        {
            i = j;
        } else {
            break;
        }
    }
    let (_, mut j) = identifier(src, i)?;
    i = skip_ws_comments(src, j)?;
    if buf.get(i) == Some(&b'.') {
        i = skip_ws_comments(src, i + 1)?;
        (_, j) = identifier(src, i)?;
        i = skip_ws_comments(src, j)?;
    }
    let mut columns = None;
    if buf.get(i) == Some(&b'(') {
        let mut cols = Vec::new();
        i = skip_ws_comments(src, i + 1)?;
        if buf.get(i) != Some(&b')') {
            loop {
                i = skip_ws_comments(src, i)?;
                let (name, j) = identifier(src, i)?;
                cols.push(name);
                if let Some(d) = first_duplicate(&cols) {
                    return Err(src.fail(
                        i,
                        format!("column `{}` appears twice in the column list", cols[d]),
                    ));
                }
                i = skip_ws_comments(src, j)?;
                match buf.get(i) {
                    Some(b',') => i += 1,
                    Some(b')') => break,
                    Some(&c) => {
                        return Err(src.fail(
                            i,
                            format!(
                                "expected ',' or ')' in the column list, found '{}'",
                                show(c)
                            ),
                        ))
                    }
                    None => return Err(src.end(i, EOF_IN_INSERT)),
                }
            }
        }
        i = skip_ws_comments(src, i + 1)?;
        columns = Some(cols);
    }
    let Some(&c) = buf.get(i) else {
        return Err(src.end(i, EOF_IN_INSERT));
    };
    let j = if is_ident(c) { word_end(src, i)? } else { i };
    let w = &buf[i..j];
    if w.eq_ignore_ascii_case(b"VALUES") || w.eq_ignore_ascii_case(b"VALUE") {
        Ok(Header { columns, end: j })
    } else if w.is_empty() {
        Err(src.fail(
            i,
            format!("expected VALUES in INSERT statement, found '{}'", show(c)),
        ))
    } else {
        let w = String::from_utf8_lossy(w);
        Err(src.fail(i, format!("expected VALUES in INSERT statement, found '{w}' (only INSERT ... VALUES is supported)")))
    }
}

/// Statements a dump tool writes around its `INSERT`s, which a data file may hold and
/// the import skips: session settings, table locks, transactions, `USE`.
const SKIPPED: [&str; 8] = [
    "SET", "LOCK", "UNLOCK", "BEGIN", "COMMIT", "ROLLBACK", "START", "USE",
];

/// What a data file may hold besides `INSERT`/`REPLACE`, for error messages.
pub(crate) const SKIPPABLE: &str = "SET, LOCK/UNLOCK TABLES, ALTER TABLE … DISABLE/ENABLE KEYS, BEGIN, START TRANSACTION, COMMIT, ROLLBACK and USE";

/// True when the statement `first` (its first word) `text` (the rest, up to its `;`)
/// is one a data file may hold and the import skips: see [`SKIPPED`], and mysqldump's
/// `ALTER TABLE t DISABLE KEYS` / `ENABLE KEYS`.
pub(crate) fn is_skippable(first: &[u8], rest: &[u8]) -> bool {
    if SKIPPED
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k.as_bytes()))
    {
        return true;
    }
    if !first.eq_ignore_ascii_case(b"ALTER") {
        return false;
    }
    let words: Vec<&[u8]> = rest
        .split(|&b| is_ws(b) || b == b';')
        .filter(|w| !w.is_empty())
        .collect();
    let is = |w: &[u8], k: &str| w.eq_ignore_ascii_case(k.as_bytes());
    matches!(
        words[..],
        [t, _, e, k] if is(t, "TABLE") && (is(e, "DISABLE") || is(e, "ENABLE")) && is(k, "KEYS")
    )
}

/// Finds the end of a statement we skip: the index past its `;` (outside strings,
/// identifiers and comments), or the end of the file.
pub(crate) fn skip_statement(src: &Src<'_>, mut i: usize, backslash: bool) -> Step<usize> {
    let buf = src.buf;
    while i < buf.len() {
        match buf[i] {
            b';' => return Ok(i + 1),
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(src, i, q, backslash && q != b'`')?,
            b'#' | b'-' | b'/' => {
                let j = skip_ws_comments(src, i)?;
                i = if j == i { i + 1 } else { j };
            }
            _ => i += 1,
        }
    }
    if src.eof {
        Ok(i)
    } else {
        Err(src.end(i, ""))
    }
}

/// Index past the quoted text starting with the quote `q` at `i`.
pub(crate) fn skip_quoted(src: &Src<'_>, i: usize, q: u8, backslash: bool) -> Step<usize> {
    let buf = src.buf;
    let mut j = i + 1;
    loop {
        let found = if backslash {
            memchr::memchr2(q, b'\\', &buf[j..])
        } else {
            memchr::memchr(q, &buf[j..])
        };
        let Some(k) = found else {
            return Err(src.end(
                i,
                &format!(
                    "unterminated string literal starting at byte {}",
                    src.base + i as u64
                ),
            ));
        };
        j += k;
        if buf[j] == b'\\' {
            j += 2;
            if j > buf.len() {
                return Err(src.end(
                    i,
                    &format!(
                        "unterminated string literal starting at byte {}",
                        src.base + i as u64
                    ),
                ));
            }
            continue;
        }
        match buf.get(j + 1) {
            Some(&c) if c == q => j += 2,
            Some(_) => return Ok(j + 1),
            None if src.eof => return Ok(j + 1),
            None => return Err(src.end(j, "")),
        }
    }
}
