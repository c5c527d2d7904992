//! Splitting schema files (`{db}-schema-create.sql`, `{db}.{t}-schema.sql`,
//! `{db}.{t}-schema-view.sql`) into the statements to run on the target.
//!
//! Statements end at the delimiter (`;`, or what a mysql-client `DELIMITER` line set)
//! outside strings, identifiers and comments. Plain comments are dropped; versioned and
//! hint comments (`/*!40101 ... */`, `/*T![clustered_index] ... */`, `/*M!... */`,
//! `/*+ ... */`) are kept because the server interprets them.

use crate::scan::count_newlines;
use crate::ParseError;

fn error(sql: &[u8], at: usize, message: String) -> ParseError {
    ParseError {
        offset: at as u64,
        line: Some(1 + count_newlines(&sql[..at])),
        message,
    }
}

/// Splits a schema file into statements without their delimiter; invalid UTF-8 is an error.
pub fn split_statements(sql: &[u8]) -> Result<Vec<String>, ParseError> {
    Ok(split_statements_at(sql)?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

/// Like [`split_statements`], each statement with the byte offset of its first code byte.
pub fn split_statements_at(sql: &[u8]) -> Result<Vec<(usize, String)>, ParseError> {
    split_at(sql)?
        .into_iter()
        .map(|(at, s)| {
            String::from_utf8(s)
                .map(|s| (at, s))
                .map_err(|_| error(sql, at, "schema file is not valid UTF-8".to_string()))
        })
        .collect()
}

/// Like [`split_statements`], for files in another character set: statements as bytes.
pub fn split_statement_bytes(sql: &[u8]) -> Result<Vec<Vec<u8>>, ParseError> {
    Ok(split_at(sql)?.into_iter().map(|(_, s)| s).collect())
}

/// The statements of `sql` with the offset each starts at.
fn split_at(sql: &[u8]) -> Result<Vec<(usize, Vec<u8>)>, ParseError> {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut has_code = false;
    let mut start = 0;
    let mut delim: Vec<u8> = b";".to_vec();
    let mut i = 0;
    let n = sql.len();
    while i < n {
        let c = sql[i];
        if !has_code && at_line_start(sql, i) && is_delimiter_command(&sql[i..]) {
            let end = memchr::memchr(b'\n', &sql[i..]).map_or(n, |k| i + k);
            let arg = sql[i + 9..end].trim_ascii();
            let arg = arg
                .split(|b| b.is_ascii_whitespace())
                .next()
                .unwrap_or_default();
            if arg.is_empty() {
                return Err(error(
                    sql,
                    i,
                    "DELIMITER needs a delimiter string".to_string(),
                ));
            }
            delim = arg.to_vec();
            cur.clear();
            i = end;
            continue;
        }
        if sql[i..].starts_with(&delim) {
            if has_code {
                out.push((start, cur.trim_ascii().to_vec()));
            }
            cur.clear();
            has_code = false;
            i += delim.len();
            continue;
        }
        match c {
            b'\'' | b'"' | b'`' => {
                let end = quoted_end(sql, i, c)?;
                cur.extend_from_slice(&sql[i..end]);
                start = if has_code { start } else { i };
                has_code = true;
                i = end;
            }
            b'#' => i = skip_line(sql, i, &mut cur),
            b'-' if sql.get(i + 1) == Some(&b'-') && sql.get(i + 2).is_none_or(|&d| d <= b' ') => {
                i = skip_line(sql, i, &mut cur);
            }
            b'/' if sql.get(i + 1) == Some(&b'*') => {
                let Some(k) = memchr::memmem::find(&sql[i + 2..], b"*/") else {
                    return Err(error(
                        sql,
                        i,
                        format!("unterminated comment starting at byte {i}"),
                    ));
                };
                let end = i + 2 + k + 2;
                let body = &sql[i + 2..];
                if body.starts_with(b"!")
                    || body.starts_with(b"T!")
                    || body.starts_with(b"M!")
                    || body.starts_with(b"+")
                {
                    cur.extend_from_slice(&sql[i..end]);
                    start = if has_code { start } else { i };
                    has_code = true;
                } else {
                    cur.push(b' ');
                }
                i = end;
            }
            _ => {
                cur.push(c);
                if !has_code && !c.is_ascii_whitespace() {
                    start = i;
                    has_code = true;
                }
                i += 1;
            }
        }
    }
    if has_code {
        out.push((start, cur.trim_ascii().to_vec()));
    }
    Ok(out)
}

fn at_line_start(sql: &[u8], i: usize) -> bool {
    sql[..i]
        .iter()
        .rev()
        .take_while(|&&b| b != b'\n')
        .all(|b| b.is_ascii_whitespace())
}

fn is_delimiter_command(rest: &[u8]) -> bool {
    rest.len() > 9
        && rest[..9].eq_ignore_ascii_case(b"DELIMITER")
        && matches!(rest[9], b' ' | b'\t')
}

/// Skips a line comment starting at `i`, keeping its newline.
fn skip_line(sql: &[u8], i: usize, cur: &mut Vec<u8>) -> usize {
    match memchr::memchr(b'\n', &sql[i..]) {
        Some(k) => {
            cur.push(b'\n');
            i + k + 1
        }
        None => sql.len(),
    }
}

/// Index past the quoted string or identifier starting with `q` at `i`.
fn quoted_end(sql: &[u8], i: usize, q: u8) -> Result<usize, ParseError> {
    let mut j = i + 1;
    while j < sql.len() {
        let c = sql[j];
        if c == b'\\' && q != b'`' {
            j += 2;
        } else if c == q {
            if sql.get(j + 1) == Some(&q) {
                j += 2;
            } else {
                return Ok(j + 1);
            }
        } else {
            j += 1;
        }
    }
    let what = if q == b'`' {
        "quoted identifier"
    } else {
        "string literal"
    };
    Err(error(
        sql,
        i,
        format!("unterminated {what} starting at byte {i}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[test]
    fn mysqldump_schema_file() {
        let sql = b"-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\n\n\
            /* a plain comment; with a semicolon */\n\
            CREATE TABLE `t;1` (\n  `a` int COMMENT 'x;y', -- trailing ; comment\n  \
            `b` varchar(10) DEFAULT 'it''s\\';',\n  PRIMARY KEY (`a`) /*T![clustered_index] CLUSTERED */\n\
            ) ENGINE=InnoDB /*!40100 DEFAULT CHARSET=utf8mb4 */;\n;\n# done\n";
        let got = split_statements(sql).unwrap();
        assert_eq!(got.len(), 2, "{got:#?}");
        assert_eq!(got[0], "/*!40101 SET NAMES utf8mb4 */");
        assert!(got[1].starts_with("CREATE TABLE `t;1` ("));
        assert!(got[1].contains("'x;y'"));
        assert!(got[1].contains("'it''s\\';'"));
        assert!(got[1].contains("/*T![clustered_index] CLUSTERED */"));
        assert!(got[1].ends_with("/*!40100 DEFAULT CHARSET=utf8mb4 */"));
        assert!(!got[1].contains("trailing"));
    }

    #[test]
    fn delimiter_lines_for_triggers() {
        let sql = b"DELIMITER ;;\n/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t \
            FOR EACH ROW BEGIN SET NEW.a = 1; END */;;\nDELIMITER ;\nCREATE VIEW v AS SELECT 1;";
        let got = split_statements(sql).unwrap();
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[0].ends_with("SET NEW.a = 1; END */"));
        assert_eq!(got[1], "CREATE VIEW v AS SELECT 1");
    }

    #[test]
    fn last_statement_without_semicolon_and_errors() {
        assert_eq!(
            split_statements(b"CREATE DATABASE x").unwrap(),
            vec!["CREATE DATABASE x"]
        );
        assert!(split_statements(b"  -- only\n/* comments */ ; ")
            .unwrap()
            .is_empty());
        let e = split_statements(b"CREATE TABLE t (a int DEFAULT 'x);").unwrap_err();
        assert_eq!(e.offset, 30);
        assert!(e.message.contains("unterminated string literal"));
        let e = split_statements(b"SELECT 1; /* open").unwrap_err();
        assert!(e.message.contains("unterminated comment"));
    }
}
