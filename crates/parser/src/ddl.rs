//! What one schema-file statement does, read off its tokens, so that an import runs only
//! the statements a schema file is for (a dump is data, often from elsewhere).
//!
//! [`analyze`] first makes sure the server cannot read the text as more than one
//! statement, whatever its `sql_mode` (backslash escapes on or off, `ANSI_QUOTES` on or
//! off): no `;` and no comment marker may stand outside a string under any of those
//! readings. It then lexes the statement with the contents of executable comments
//! (`/*!50001 … */`, `/*M!… */`, `/*T![…] … */`) as code, as the server does, and
//! classifies it by its leading keywords: a session `SET`, `CREATE DATABASE`, `CREATE
//! TABLE`, `CREATE VIEW`, `DROP TABLE`, `DROP VIEW`, `USE`, or anything else. [`rename`] then
//! points a `CREATE`/`DROP` at the object's target name.

use std::ops::Range;

/// What a statement does, as far as an import needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DdlKind {
    /// `SET` of session state only (`SET NAMES`, `SET @x = …`, `SET [SESSION] v = …`).
    Set,
    /// `CREATE DATABASE` / `CREATE SCHEMA`.
    CreateDatabase,
    /// `CREATE TABLE` defined by its own column list (or `LIKE`), not by a query.
    CreateTable,
    /// `CREATE [OR REPLACE] [ALGORITHM …] [DEFINER …] [SQL SECURITY …] VIEW`.
    CreateView,
    /// `DROP TABLE`.
    DropTable,
    /// `DROP VIEW`.
    DropView,
    /// `USE db` (mysqldump writes one after its `CREATE DATABASE`).
    Use,
    /// Anything else, described by its leading words (`DROP DATABASE`, `SET GLOBAL`,
    /// `CREATE TABLE … SELECT`, `INSERT`, …).
    Other(String),
}

/// A database object a statement names: `` `schema`.`name` `` or `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectName {
    /// The qualifying database, if written.
    pub schema: Option<String>,
    /// The object's own name.
    pub name: String,
}

/// One analyzed schema statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DdlStatement {
    /// What it does.
    pub kind: DdlKind,
    /// The objects it creates or drops (empty for `SET` and `Other`).
    pub objects: Vec<ObjectName>,
    /// `IF NOT EXISTS` (`CREATE`) or `IF EXISTS` (`DROP`), bare or in a version comment.
    pub if_exists_clause: bool,
    /// `CREATE OR REPLACE` (which drops what is there first).
    pub or_replace: bool,
    /// `CREATE`/`DROP TEMPORARY TABLE`.
    pub temporary: bool,
    /// Byte range of the object name(s) in the statement text, for [`rename`].
    name_span: Option<Range<usize>>,
}

/// Reads what `stmt` (one statement as [`crate::split_statements`] returns it) does.
/// An error says why it could be more than one statement, at which byte.
pub fn analyze(stmt: &str) -> Result<DdlStatement, (usize, String)> {
    check_single(stmt.as_bytes())?;
    let toks = lex(stmt);
    Ok(classify(stmt, &toks))
}

/// `stmt` with the object name(s) of `analyzed` replaced by `new_name` (already quoted),
/// and `IF NOT EXISTS` put before it when `add_if_not_exists` and the clause is missing.
/// `None` when the statement names nothing to replace.
pub fn rename(
    stmt: &str,
    analyzed: &DdlStatement,
    new_name: &str,
    add_if_not_exists: bool,
) -> Option<String> {
    let span = analyzed.name_span.clone()?;
    let clause = if add_if_not_exists && !analyzed.if_exists_clause {
        "IF NOT EXISTS "
    } else {
        ""
    };
    Some(format!(
        "{}{clause}{new_name}{}",
        &stmt[..span.start],
        &stmt[span.end..]
    ))
}

/// Refuses text that some `sql_mode` would read as several statements, or whose
/// comments some mode would read differently.
fn check_single(s: &[u8]) -> Result<(), (usize, String)> {
    for (single_bs, double_bs) in [(true, true), (false, false), (true, false), (false, true)] {
        let mut i = 0;
        let mut exec_comment = false;
        while i < s.len() {
            let c = s[i];
            match c {
                b'\'' | b'"' | b'`' => {
                    let bs = match c {
                        b'\'' => single_bs,
                        b'"' => double_bs,
                        _ => false,
                    };
                    i = quoted_end(s, i, bs).ok_or_else(|| {
                        (i, "a quote that some sql_mode never closes".to_string())
                    })?;
                    continue;
                }
                b';' => {
                    return Err((
                        i,
                        "';' outside a string: the server could run the rest as another statement"
                            .into(),
                    ))
                }
                b'/' if s.get(i + 1) == Some(&b'*') => {
                    let rest = &s[i + 2..];
                    if exec_comment || !is_exec_comment(rest) {
                        return Err((i, "a comment where the server may read code".into()));
                    }
                    exec_comment = true;
                    i += 2;
                    continue;
                }
                b'*' if exec_comment && s.get(i + 1) == Some(&b'/') => {
                    exec_comment = false;
                    i += 2;
                    continue;
                }
                b'#' => return Err((i, "a '#' comment where the server may read code".into())),
                b'-' if s.get(i + 1) == Some(&b'-') && s.get(i + 2).is_none_or(|&d| d <= b' ') => {
                    return Err((i, "a '--' comment where the server may read code".into()))
                }
                _ => {}
            }
            i += 1;
        }
    }
    Ok(())
}

/// After `/*`: an executable comment (`!`, `M!`, `T!`) or an optimizer hint (`+`).
fn is_exec_comment(rest: &[u8]) -> bool {
    rest.starts_with(b"!")
        || rest.starts_with(b"M!")
        || rest.starts_with(b"T!")
        || rest.starts_with(b"+")
}

/// Index past the quoted text opening at `i`; `None` if it never closes.
fn quoted_end(s: &[u8], i: usize, backslash: bool) -> Option<usize> {
    let q = s[i];
    let mut j = i + 1;
    while j < s.len() {
        let c = s[j];
        if backslash && c == b'\\' {
            j += 2;
        } else if c == q {
            if s.get(j + 1) == Some(&q) {
                j += 2;
            } else {
                return Some(j + 1);
            }
        } else {
            j += 1;
        }
    }
    None
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    /// A bare word: keyword, identifier or number.
    Word,
    /// A backquoted identifier.
    Ident,
    /// A `'…'` or `"…"` string.
    Str,
    /// `@name`, `@@name`, `@@session.name`, `@'name'`.
    Var,
    /// Any other single byte.
    Punct(u8),
}

#[derive(Clone, Debug)]
struct Token {
    kind: Tok,
    span: Range<usize>,
    /// Which executable comment holds it (0: none), so a name is never spliced across one.
    comment: u32,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Tokens of `stmt`, with executable comments' contents read as code and their markers,
/// hints and plain comments dropped (the default reading: backslash escapes on).
fn lex(stmt: &str) -> Vec<Token> {
    let s = stmt.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut comment, mut in_comment) = (0, 0u32, false);
    while i < s.len() {
        let c = s[i];
        let start = i;
        let kind = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                let rest = &s[i + 2..];
                // mariadb-dump's first line, `/*M!999999\- enable the sandbox mode */`, is a
                // command to the mariadb client; no server runs version 99.99.99 code.
                let sandbox = rest.starts_with(b"M!999999\\-");
                if !sandbox
                    && (rest.starts_with(b"!")
                        || rest.starts_with(b"M!")
                        || rest.starts_with(b"T!"))
                {
                    i += 2 + rest.iter().position(|&b| b == b'!').unwrap_or(0) + 1;
                    if rest.starts_with(b"T!") && s.get(i) == Some(&b'[') {
                        i += s[i..].iter().position(|&b| b == b']').map_or(0, |k| k + 1);
                    }
                    while i < s.len() && s[i].is_ascii_digit() {
                        i += 1;
                    }
                    comment += 1;
                    in_comment = true;
                } else {
                    // Hints and plain comments hold no statement text.
                    i = memchr::memmem::find(&s[i + 2..], b"*/").map_or(s.len(), |k| i + 4 + k);
                }
                continue;
            }
            b'*' if in_comment && s.get(i + 1) == Some(&b'/') => {
                in_comment = false;
                i += 2;
                continue;
            }
            b'\'' | b'"' => {
                i = quoted_end(s, i, true).unwrap_or(s.len());
                Tok::Str
            }
            b'`' => {
                i = quoted_end(s, i, false).unwrap_or(s.len());
                Tok::Ident
            }
            b'@' => {
                i += 1;
                while s.get(i) == Some(&b'@') {
                    i += 1;
                }
                match s.get(i) {
                    Some(b'\'' | b'"' | b'`') => i = quoted_end(s, i, true).unwrap_or(s.len()),
                    _ => {
                        while i < s.len() && (is_word(s[i]) || s[i] == b'.') {
                            i += 1;
                        }
                    }
                }
                Tok::Var
            }
            _ if is_word(c) => {
                while i < s.len() && is_word(s[i]) {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                i += 1;
                Tok::Punct(c)
            }
        };
        out.push(Token {
            kind,
            span: start..i,
            comment: if in_comment { comment } else { 0 },
        });
    }
    out
}

/// A cursor over the tokens of one statement.
struct Cursor<'a> {
    s: &'a str,
    toks: &'a [Token],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn text(&self, t: &Token) -> &'a str {
        &self.s[t.span.clone()]
    }

    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.i)
    }

    fn is_word(&self, w: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Tok::Word && self.text(t).eq_ignore_ascii_case(w))
    }

    /// Consumes the keyword `w` if it comes next.
    fn word(&mut self, w: &str) -> bool {
        let yes = self.is_word(w);
        self.i += usize::from(yes);
        yes
    }

    /// Consumes the keywords `ws` if they all come next, else nothing.
    fn words(&mut self, ws: &[&str]) -> bool {
        let save = self.i;
        if ws.iter().all(|w| self.word(w)) {
            return true;
        }
        self.i = save;
        false
    }

    fn punct(&mut self, p: u8) -> bool {
        let yes = self.peek().is_some_and(|t| t.kind == Tok::Punct(p));
        self.i += usize::from(yes);
        yes
    }

    /// Consumes any one token.
    fn any(&mut self) -> Option<&'a Token> {
        let t = self.peek()?;
        self.i += 1;
        Some(t)
    }

    /// An identifier (bare or backquoted), unquoted.
    fn ident(&mut self) -> Option<(String, Range<usize>, u32)> {
        let t = self.peek()?;
        let name = match t.kind {
            Tok::Word => self.text(t).to_string(),
            Tok::Ident => {
                let raw = self.text(t);
                raw[1..raw.len().saturating_sub(1).max(1)].replace("``", "`")
            }
            _ => return None,
        };
        self.i += 1;
        Some((name, t.span.clone(), t.comment))
    }

    /// `[schema.]name`, with the span it covers; `None` if it is not one, or is split
    /// across a comment boundary.
    fn object(&mut self) -> Option<(ObjectName, Range<usize>)> {
        let (first, span, comment) = self.ident()?;
        if !self.punct(b'.') {
            return Some((
                ObjectName {
                    schema: None,
                    name: first,
                },
                span,
            ));
        }
        let (second, end, comment2) = self.ident()?;
        (comment == comment2).then_some((
            ObjectName {
                schema: Some(first),
                name: second,
            },
            span.start..end.end,
        ))
    }

    /// True if any bare word of the rest of the statement is one of `ws`.
    fn rest_has_word(&self, ws: &[&str]) -> Option<&'a str> {
        self.toks[self.i..]
            .iter()
            .filter(|t| t.kind == Tok::Word)
            .map(|t| self.text(t))
            .find(|w| ws.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    /// The statement's verb, upper-cased, for describing it: its first word, and the
    /// second after a verb whose object kind matters (`DROP DATABASE`, `CREATE USER`).
    fn lead(&self) -> String {
        let words: Vec<String> = self
            .toks
            .iter()
            .take_while(|t| t.kind == Tok::Word)
            .take(2)
            .map(|t| self.text(t).to_ascii_uppercase())
            .collect();
        let two = ["CREATE", "DROP", "ALTER", "RENAME", "LOAD", "LOCK"];
        let words = match words.first() {
            Some(w) if !two.contains(&w.as_str()) => &words[..1],
            _ => &words[..],
        };
        if words.is_empty() {
            "a statement that does not start with a keyword".into()
        } else {
            words.join(" ")
        }
    }
}

fn classify(s: &str, toks: &[Token]) -> DdlStatement {
    let mut c = Cursor { s, toks, i: 0 };
    let mut st = DdlStatement {
        kind: DdlKind::Other(c.lead()),
        objects: Vec::new(),
        if_exists_clause: false,
        or_replace: false,
        temporary: false,
        name_span: None,
    };
    if c.word("SET") {
        st.kind = classify_set(&mut c);
    } else if c.word("USE") {
        if let Some((name, _)) = c.object() {
            if c.peek().is_none() {
                st.kind = DdlKind::Use;
                st.objects.push(name);
            }
        }
    } else if c.word("CREATE") {
        st.or_replace = c.words(&["OR", "REPLACE"]);
        st.temporary = c.word("TEMPORARY");
        let kind = if c.word("DATABASE") || c.word("SCHEMA") {
            DdlKind::CreateDatabase
        } else if c.word("TABLE") {
            DdlKind::CreateTable
        } else if view_prefix(&mut c) {
            DdlKind::CreateView
        } else {
            return st;
        };
        st.if_exists_clause = c.words(&["IF", "NOT", "EXISTS"]);
        let Some((name, span)) = c.object() else {
            return st;
        };
        if kind == DdlKind::CreateTable {
            // A table filled by a query (`CREATE TABLE t SELECT …`, `AS TABLE x`) reads
            // other tables or runs functions: more than a definition.
            if let Some(w) = c.rest_has_word(&["SELECT", "TABLE"]) {
                st.kind = DdlKind::Other(format!("CREATE TABLE … {}", w.to_ascii_uppercase()));
                return st;
            }
        }
        st.kind = kind;
        st.objects.push(name);
        st.name_span = Some(span);
    } else if c.word("DROP") {
        st.temporary = c.word("TEMPORARY");
        let kind = if c.word("TABLE") || c.word("TABLES") {
            DdlKind::DropTable
        } else if c.word("VIEW") {
            DdlKind::DropView
        } else {
            return st;
        };
        st.if_exists_clause = c.words(&["IF", "EXISTS"]);
        let mut span: Option<Range<usize>> = None;
        loop {
            let Some((name, s)) = c.object() else {
                return st;
            };
            st.objects.push(name);
            span = Some(span.map_or(s.clone(), |p| p.start..s.end));
            if !c.punct(b',') {
                break;
            }
        }
        let _ = c.word("RESTRICT") || c.word("CASCADE");
        if c.peek().is_some() {
            st.objects.clear();
            return st;
        }
        st.kind = kind;
        st.name_span = span;
    }
    st
}

/// `SET` assignments of the session only: no `GLOBAL`/`PERSIST`, no `@@global.`, no
/// `SET PASSWORD`/`ROLE`/`STATEMENT … FOR`, and no parentheses (function calls,
/// subqueries), which could run more than an assignment.
fn classify_set(c: &mut Cursor<'_>) -> DdlKind {
    const REFUSED: [&str; 8] = [
        "GLOBAL",
        "PERSIST",
        "PERSIST_ONLY",
        "PASSWORD",
        "ROLE",
        "STATEMENT",
        "FOR",
        "SELECT",
    ];
    if let Some(w) = c.rest_has_word(&REFUSED) {
        return DdlKind::Other(format!("SET … {}", w.to_ascii_uppercase()));
    }
    while let Some(t) = c.any() {
        match t.kind {
            Tok::Var => {
                let v = c.text(t).to_ascii_lowercase();
                if v.starts_with("@@global.") || v.starts_with("@@persist") {
                    return DdlKind::Other("SET @@GLOBAL".into());
                }
            }
            Tok::Punct(b'(') => return DdlKind::Other("SET with an expression call".into()),
            _ => {}
        }
    }
    DdlKind::Set
}

/// `[ALGORITHM = w] [DEFINER = user] [SQL SECURITY w] VIEW`, consumed if it is there.
fn view_prefix(c: &mut Cursor<'_>) -> bool {
    let save = c.i;
    if c.word("ALGORITHM") {
        let _ = c.punct(b'=');
        let _ = c.any();
    }
    if c.word("DEFINER") {
        let _ = c.punct(b'=');
        if c.word("CURRENT_USER") {
            if c.punct(b'(') {
                let _ = c.punct(b')');
            }
        } else {
            let _ = c.any();
            if c.peek().is_some_and(|t| t.kind == Tok::Var) {
                let _ = c.any();
            }
        }
    }
    if c.words(&["SQL", "SECURITY"]) {
        let _ = c.any();
    }
    if c.word("VIEW") {
        return true;
    }
    c.i = save;
    false
}

#[cfg(test)]
mod tests;
