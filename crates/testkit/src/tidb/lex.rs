//! A small SQL tokenizer for the statements the simulated TiDB understands, plus the
//! splitter for multi-statement queries. Version comments (`/*!40100 … */`) and TiDB's
//! feature comments (`/*T![feature] … */`) are executed as their content, as TiDB does;
//! other comments are skipped.

/// One token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// An unquoted word: keyword, identifier or function name.
    Word(String),
    /// A back-quoted identifier.
    Quoted(String),
    /// A string literal (single- or double-quoted), unescaped.
    Str(String),
    /// A number as written.
    Num(String),
    /// `@@name`, `@@scope.name` or `@name`, as written without the `@`s (`@@` kept in `sys`).
    Var {
        /// `true` for a system variable (`@@…`).
        sys: bool,
        /// The name, with any `global.` / `session.` prefix.
        name: String,
    },
    /// Any other single character.
    Punct(char),
}

impl Tok {
    /// The token's SQL text (used to echo expressions as column names).
    pub fn text(&self) -> String {
        match self {
            Tok::Word(s) | Tok::Num(s) => s.clone(),
            Tok::Quoted(s) => format!("`{s}`"),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Var { sys: true, name } => format!("@@{name}"),
            Tok::Var { sys: false, name } => format!("@{name}"),
            Tok::Punct(c) => c.to_string(),
        }
    }
}

/// Tokenizes one statement; `Err` carries a message for an unterminated quote or comment.
pub fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    lex_into(sql.as_bytes(), &mut out)?;
    Ok(out)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn lex_into(s: &[u8], out: &mut Vec<Tok>) -> Result<(), String> {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' || (c == b'-' && s.get(i + 1) == Some(&b'-')) {
            while i < s.len() && s[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && s.get(i + 1) == Some(&b'*') {
            let end = find(s, i + 2, b"*/").ok_or("unterminated comment")?;
            let body = &s[i + 2..end];
            if let Some(rest) = body.strip_prefix(b"!") {
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                lex_into(&rest[digits..], out)?;
            } else if let Some(rest) = body.strip_prefix(b"T!") {
                let rest = if rest.first() == Some(&b'[') {
                    let close = rest.iter().position(|&b| b == b']').unwrap_or(0);
                    &rest[close + 1..]
                } else {
                    rest
                };
                lex_into(rest, out)?;
            }
            i = end + 2;
        } else if c == b'\'' || c == b'"' || c == b'`' {
            let (text, next) = quoted(s, i)?;
            out.push(if c == b'`' {
                Tok::Quoted(text)
            } else {
                Tok::Str(text)
            });
            i = next;
        } else if c == b'@' {
            let sys = s.get(i + 1) == Some(&b'@');
            let mut j = i + if sys { 2 } else { 1 };
            let start = j;
            while j < s.len() && (is_word(s[j]) || s[j] == b'.') {
                j += 1;
            }
            let name = String::from_utf8_lossy(&s[start..j]).into_owned();
            out.push(Tok::Var { sys, name });
            i = j;
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < s.len() && (s[j].is_ascii_alphanumeric() || s[j] == b'.') {
                j += 1;
            }
            let text = String::from_utf8_lossy(&s[i..j]).into_owned();
            out.push(if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                Tok::Num(text)
            } else {
                Tok::Word(text)
            });
            i = j;
        } else if is_word(c) {
            let mut j = i;
            while j < s.len() && is_word(s[j]) {
                j += 1;
            }
            out.push(Tok::Word(String::from_utf8_lossy(&s[i..j]).into_owned()));
            i = j;
        } else {
            out.push(Tok::Punct(c as char));
            i += 1;
        }
    }
    Ok(())
}

fn find(s: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    s.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

/// Reads a quoted token starting at `s[i]`; returns its unescaped text and the next index.
fn quoted(s: &[u8], i: usize) -> Result<(String, usize), String> {
    let q = s[i];
    let mut j = i + 1;
    let mut text = Vec::new();
    loop {
        let Some(&b) = s.get(j) else {
            return Err("unterminated quoted string".into());
        };
        if b == q {
            if s.get(j + 1) == Some(&q) {
                text.push(q);
                j += 2;
                continue;
            }
            return Ok((String::from_utf8_lossy(&text).into_owned(), j + 1));
        }
        if b == b'\\' && q != b'`' {
            let Some(&e) = s.get(j + 1) else {
                return Err("unterminated quoted string".into());
            };
            text.push(match e {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                b'Z' => 26,
                other => other,
            });
            j += 2;
            continue;
        }
        text.push(b);
        j += 1;
    }
}

/// Byte offsets of the `?` placeholders of a prepared statement (outside quotes and comments).
pub fn placeholders(sql: &str) -> Vec<usize> {
    let mut out = Vec::new();
    scan_top_level(sql, |i, b| {
        if b == b'?' {
            out.push(i);
        }
    });
    out
}

/// Calls `f` with every byte outside quotes and comments.
fn scan_top_level(sql: &str, mut f: impl FnMut(usize, u8)) {
    let s = sql.as_bytes();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\'' | b'"' | b'`' => i = quoted(s, i).map(|(_, n)| n).unwrap_or(s.len()),
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i = find(s, i + 2, b"*/").map(|e| e + 2).unwrap_or(s.len())
            }
            b'#' => i = find(s, i, b"\n").unwrap_or(s.len()),
            b'-' if s.get(i + 1) == Some(&b'-') => i = find(s, i, b"\n").unwrap_or(s.len()),
            b => {
                f(i, b);
                i += 1;
            }
        }
    }
}

/// Splits a multi-statement query at top-level `;`, dropping empty statements.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let mut cuts = Vec::new();
    scan_top_level(sql, |i, b| {
        if b == b';' {
            cuts.push(i);
        }
    });
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts {
        out.push(&sql[start..c]);
        start = c + 1;
    }
    out.push(&sql[start..]);
    out.retain(|st| !st.trim().is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executes_version_and_feature_comments() {
        let t =
            tokenize("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `a``b` /*T![x] y */ -- c").unwrap();
        let words: Vec<String> = t.iter().map(Tok::text).collect();
        assert_eq!(
            words,
            ["CREATE", "DATABASE", "IF", "NOT", "EXISTS", "`a`b`", "y"]
        );
    }

    #[test]
    fn splits_outside_quotes_only() {
        let v = split_statements("SET a='x;y'; /* ; */ SELECT 1;\n;");
        assert_eq!(v, ["SET a='x;y'", " /* ; */ SELECT 1"]);
    }

    #[test]
    fn vars_and_strings() {
        let t = tokenize("SELECT @@session.sql_mode, 'it''s\\n'").unwrap();
        assert_eq!(
            t[1],
            Tok::Var {
                sys: true,
                name: "session.sql_mode".into()
            }
        );
        assert_eq!(t[3], Tok::Str("it's\n".into()));
    }
}
