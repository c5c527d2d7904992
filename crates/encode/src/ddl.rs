//! A small CREATE TABLE parser for the dialect dumps contain (MySQL + TiDB comments).
//!
//! `/*!NNNNN … */` and `/*T![feature] … */` bodies are parsed as ordinary text,
//! other comments are skipped. Ids are assigned as TiDB does for a fresh table:
//! columns 1..n in order, indexes 1..m in definition order (column-level keys
//! first), no index for an integer primary key that becomes the handle.

use crate::collate::Collation;
use crate::error::SchemaError;
use crate::table::*;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Ident(String),  // bare word (keywords too)
    Quoted(String), // `name`
    Str(Vec<u8>),   // 'text' or "text"
    Num(String),
    Hex(Vec<u8>), // 0x.., x'..', b'..'
    Punct(char),
}

pub(crate) struct Lexer<'a> {
    pub(crate) s: &'a [u8],
    pub(crate) pos: usize,
}

fn perr(offset: usize, message: impl Into<String>) -> SchemaError {
    SchemaError::Parse {
        offset,
        message: message.into(),
    }
}

impl Lexer<'_> {
    pub(crate) fn tokens(mut self) -> Result<Vec<(usize, Tok)>, SchemaError> {
        let mut out = Vec::new();
        while let Some(t) = self.next_tok()? {
            out.push(t);
        }
        Ok(out)
    }

    fn next_tok(&mut self) -> Result<Option<(usize, Tok)>, SchemaError> {
        let s = self.s;
        loop {
            while self.pos < s.len() && s[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if s[self.pos..].starts_with(b"/*!") || s[self.pos..].starts_with(b"/*T!") {
                // version comment: skip the marker (and version / feature list), keep the body
                self.pos += if s[self.pos + 2] == b'!' { 3 } else { 4 };
                if s.get(self.pos) == Some(&b'[') {
                    while self.pos < s.len() && s[self.pos] != b']' {
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                while self.pos < s.len() && s[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
                continue;
            }
            if s[self.pos..].starts_with(b"*/") {
                self.pos += 2;
                continue;
            }
            if s[self.pos..].starts_with(b"/*") {
                match s[self.pos + 2..].windows(2).position(|w| w == b"*/") {
                    Some(p) => self.pos += p + 4,
                    None => return Err(perr(self.pos, "unterminated comment")),
                }
                continue;
            }
            if s[self.pos..].starts_with(b"-- ") || s.get(self.pos) == Some(&b'#') {
                while self.pos < s.len() && s[self.pos] != b'\n' {
                    self.pos += 1;
                }
                continue;
            }
            break;
        }
        let start = self.pos;
        let Some(&c) = s.get(self.pos) else {
            return Ok(None);
        };
        let tok = if c == b'`' {
            let mut name = Vec::new();
            self.pos += 1;
            loop {
                match s.get(self.pos) {
                    None => return Err(perr(start, "unterminated identifier")),
                    Some(b'`') if s.get(self.pos + 1) == Some(&b'`') => {
                        name.push(b'`');
                        self.pos += 2;
                    }
                    Some(b'`') => {
                        self.pos += 1;
                        break;
                    }
                    Some(&x) => {
                        name.push(x);
                        self.pos += 1;
                    }
                }
            }
            Tok::Quoted(String::from_utf8_lossy(&name).into_owned())
        } else if c == b'\'' || c == b'"' {
            Tok::Str(self.string(c)?)
        } else if (c == b'x' || c == b'X' || c == b'b' || c == b'B')
            && s.get(self.pos + 1) == Some(&b'\'')
        {
            self.pos += 1;
            let body = self.string(b'\'')?;
            Tok::Hex(
                literal_bytes(&body, c == b'x' || c == b'X')
                    .ok_or_else(|| perr(start, "bad bit/hex literal"))?,
            )
        } else if c == b'0' && matches!(s.get(self.pos + 1), Some(b'x' | b'b')) {
            let hex = s[self.pos + 1] == b'x';
            self.pos += 2;
            let b = self.pos;
            while self.pos < s.len() && s[self.pos].is_ascii_alphanumeric() {
                self.pos += 1;
            }
            Tok::Hex(
                literal_bytes(&s[b..self.pos], hex)
                    .ok_or_else(|| perr(start, "bad bit/hex literal"))?,
            )
        } else if c.is_ascii_digit()
            || (c == b'.' && s.get(self.pos + 1).is_some_and(u8::is_ascii_digit))
        {
            while self.pos < s.len() && (s[self.pos].is_ascii_alphanumeric() || s[self.pos] == b'.')
            {
                if (s[self.pos] == b'e' || s[self.pos] == b'E')
                    && matches!(s.get(self.pos + 1), Some(b'-' | b'+'))
                {
                    self.pos += 1;
                }
                self.pos += 1;
            }
            Tok::Num(String::from_utf8_lossy(&s[start..self.pos]).into_owned())
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            while self.pos < s.len()
                && (s[self.pos].is_ascii_alphanumeric()
                    || matches!(s[self.pos], b'_' | b'$')
                    || s[self.pos] >= 0x80)
            {
                self.pos += 1;
            }
            Tok::Ident(String::from_utf8_lossy(&s[start..self.pos]).into_owned())
        } else {
            self.pos += 1;
            Tok::Punct(c as char)
        };
        Ok(Some((start, tok)))
    }

    fn string(&mut self, q: u8) -> Result<Vec<u8>, SchemaError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.pos) {
                None => return Err(perr(start, "unterminated string")),
                Some(&x) if x == q && self.s.get(self.pos + 1) == Some(&q) => {
                    out.push(q);
                    self.pos += 2;
                }
                Some(&x) if x == q => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let e = *self
                        .s
                        .get(self.pos + 1)
                        .ok_or_else(|| perr(start, "unterminated string"))?;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'0' => 0,
                        b'Z' => 0x1a,
                        b'b' => 8,
                        other => other,
                    });
                    self.pos += 2;
                }
                Some(&x) => {
                    out.push(x);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Bytes of a hex (`hex = true`) or bit literal body, big-endian, left-padded.
pub fn literal_bytes(body: &[u8], hex: bool) -> Option<Vec<u8>> {
    let (per, radix) = if hex { (2, 16) } else { (8, 2) };
    let pad = (per - body.len() % per) % per;
    let digits: Vec<u8> = std::iter::repeat_n(b'0', pad)
        .chain(body.iter().copied())
        .collect();
    digits
        .chunks(per)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|t| u8::from_str_radix(t, radix).ok())
        })
        .collect()
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }
    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.i + k).map(|t| &t.1)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.0)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|t| t.1.clone());
        self.i += 1;
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn is_kw_at(&self, k: usize, kw: &str) -> bool {
        matches!(self.peek_at(k), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        let y = self.is_kw(kw);
        if y {
            self.i += 1;
        }
        y
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), SchemaError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(perr(self.offset(), format!("expected {kw}")))
        }
    }
    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }
    fn eat_punct(&mut self, c: char) -> bool {
        let y = self.is_punct(c);
        if y {
            self.i += 1;
        }
        y
    }
    fn expect_punct(&mut self, c: char) -> Result<(), SchemaError> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(perr(self.offset(), format!("expected '{c}'")))
        }
    }
    fn ident(&mut self) -> Result<String, SchemaError> {
        match self.next() {
            Some(Tok::Ident(s)) | Some(Tok::Quoted(s)) => Ok(s),
            Some(Tok::Str(s)) => Ok(String::from_utf8_lossy(&s).into_owned()),
            _ => Err(perr(self.offset(), "expected an identifier")),
        }
    }
    fn number(&mut self) -> Result<u64, SchemaError> {
        match self.next() {
            Some(Tok::Num(n)) => n
                .parse()
                .map_err(|_| perr(self.offset(), "expected an integer")),
            _ => Err(perr(self.offset(), "expected a number")),
        }
    }
    /// Skips a balanced parenthesised group (the current token must be '('), returning its text tokens.
    fn skip_group(&mut self) -> Result<String, SchemaError> {
        self.expect_punct('(')?;
        let mut depth = 1;
        let mut text = String::new();
        while depth > 0 {
            let t = self
                .next()
                .ok_or_else(|| perr(self.end, "unbalanced parentheses"))?;
            match &t {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                _ => {}
            }
            if depth > 0 {
                text.push_str(&tok_text(&t));
            }
        }
        Ok(text)
    }
    /// An optional `=`.
    fn eat_eq(&mut self) {
        self.eat_punct('=');
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Num(s) => format!("{s} "),
        Tok::Quoted(s) => format!("`{s}` "),
        Tok::Str(s) => format!("'{}' ", String::from_utf8_lossy(s)),
        Tok::Hex(b) => format!(
            "0x{} ",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        Tok::Punct(c) => c.to_string(),
    }
}

struct PendingIndex {
    name: String,
    cols: Vec<(String, Option<u32>)>,
    unique: bool,
    primary: bool,
    clustered: Option<bool>,
}

/// Parses a `CREATE TABLE` statement into a [`TableInfo`] with id `table_id`, as TiDB
/// does under `tidb_enable_clustered_index = INT_ONLY`.
pub fn parse_create_table(sql: &str, table_id: i64) -> Result<TableInfo, SchemaError> {
    parse_create_table_with(sql, table_id, false)
}

/// [`parse_create_table`] with `clustered_by_default` = whether a primary key that says
/// neither CLUSTERED nor NONCLUSTERED is clustered (`tidb_enable_clustered_index = ON`)
/// or only when it is a single integer column (`INT_ONLY`, `OFF`).
pub fn parse_create_table_with(
    sql: &str,
    table_id: i64,
    clustered_by_default: bool,
) -> Result<TableInfo, SchemaError> {
    let toks = Lexer {
        s: sql.as_bytes(),
        pos: 0,
    }
    .tokens()?;
    let mut p = Parser {
        toks,
        i: 0,
        end: sql.len(),
    };
    // Skip leading statements (SET …;) until CREATE TABLE.
    while !(p.is_kw("CREATE") && (p.is_kw_at(1, "TABLE") || p.is_kw_at(2, "TABLE"))) {
        if p.next().is_none() {
            return Err(perr(sql.len(), "no CREATE TABLE statement found"));
        }
    }
    p.expect_kw("CREATE")?;
    p.eat_kw("TEMPORARY");
    p.expect_kw("TABLE")?;
    if p.eat_kw("IF") {
        p.expect_kw("NOT")?;
        p.expect_kw("EXISTS")?;
    }
    let mut name = p.ident()?;
    if p.eat_punct('.') {
        name = p.ident()?;
    }
    let unsupported = |m: &str| SchemaError::Unsupported {
        table: name.clone(),
        message: m.to_string(),
    };
    p.expect_punct('(')?;
    let mut columns: Vec<ColumnInfo> = Vec::new();
    let mut col_charset: Vec<Option<(Option<String>, Option<String>)>> = Vec::new();
    let mut col_level: Vec<PendingIndex> = Vec::new();
    let mut tbl_level: Vec<PendingIndex> = Vec::new();
    loop {
        if p.is_kw("PRIMARY")
            || p.is_kw("UNIQUE")
            || p.is_kw("KEY")
            || p.is_kw("INDEX")
            || p.is_kw("CONSTRAINT")
        {
            if p.eat_kw("CONSTRAINT")
                && !(p.is_kw("PRIMARY")
                    || p.is_kw("UNIQUE")
                    || p.is_kw("FOREIGN")
                    || p.is_kw("CHECK"))
            {
                p.ident()?;
            }
            if p.is_kw("FOREIGN") || p.is_kw("CHECK") {
                skip_definition(&mut p)?;
            } else {
                tbl_level.push(parse_index_def(&mut p)?);
            }
        } else if p.is_kw("FOREIGN") || p.is_kw("CHECK") {
            skip_definition(&mut p)?;
        } else if p.is_kw("FULLTEXT") || p.is_kw("SPATIAL") {
            return Err(unsupported("FULLTEXT/SPATIAL index"));
        } else {
            let (col, cs, idx) = parse_column(&mut p, columns.len())?;
            if let Some(mut ix) = idx {
                ix.cols = vec![(col.name.clone(), None)];
                col_level.push(ix);
            }
            columns.push(col);
            col_charset.push(Some(cs));
        }
        if p.eat_punct(',') {
            continue;
        }
        p.expect_punct(')')?;
        break;
    }
    // table options
    let mut charset: Option<String> = None;
    let mut collation: Option<String> = None;
    let mut info_shard = 0u8;
    let mut ai_base = None;
    let mut ar_base = None;
    while let Some(t) = p.peek().cloned() {
        match t {
            Tok::Punct(';') => break,
            Tok::Punct(',') => {
                p.next();
            }
            Tok::Ident(w) => {
                let w = w.to_ascii_uppercase();
                p.next();
                match w.as_str() {
                    "PARTITION" => return Err(unsupported("partitioned tables")),
                    "DEFAULT" => {}
                    "CHARACTER" | "CHARSET" => {
                        p.eat_kw("SET");
                        p.eat_eq();
                        charset = Some(p.ident()?.to_ascii_lowercase());
                    }
                    "COLLATE" => {
                        p.eat_eq();
                        collation = Some(p.ident()?.to_ascii_lowercase());
                    }
                    "SHARD_ROW_ID_BITS" => {
                        p.eat_eq();
                        info_shard = p.number()? as u8;
                    }
                    "AUTO_INCREMENT" => {
                        p.eat_eq();
                        ai_base = Some(p.number()?);
                    }
                    "AUTO_RANDOM_BASE" => {
                        p.eat_eq();
                        ar_base = Some(p.number()?);
                    }
                    _ => {
                        p.eat_eq();
                        if p.is_punct('(') {
                            p.skip_group()?;
                        } else {
                            p.next();
                        }
                    }
                }
            }
            _ => {
                p.next();
            }
        }
    }
    let tbl_collation = match (&charset, &collation) {
        (_, Some(c)) => c.clone(),
        (Some(cs), None) => Collation::default_for_charset(cs)
            .ok_or_else(|| unsupported(&format!("charset {cs}")))?
            .to_string(),
        (None, None) => "utf8mb4_bin".to_string(),
    };
    let tbl_charset = charset.unwrap_or_else(|| {
        tbl_collation
            .split('_')
            .next()
            .unwrap_or("utf8mb4")
            .to_string()
    });
    // resolve column charsets/collations
    for (col, cs) in columns.iter_mut().zip(col_charset) {
        let (cs, coll) = cs.unwrap_or((None, None));
        if !col.ft.is_string() && !matches!(col.ft.tp, ColumnType::Enum | ColumnType::Set) {
            continue;
        }
        let (charset, coll) = match (cs, coll) {
            (_, Some(c)) => {
                let cs = c.split('_').next().unwrap_or("").to_string();
                (
                    if c == "binary" {
                        "binary".to_string()
                    } else {
                        cs
                    },
                    c,
                )
            }
            (Some(cs), None) => {
                let c = Collation::default_for_charset(&cs)
                    .ok_or_else(|| unsupported(&format!("charset {cs}")))?;
                (cs, c.to_string())
            }
            (None, None) => (tbl_charset.clone(), tbl_collation.clone()),
        };
        col.ft.collation = Collation::from_name(&coll)
            .ok_or_else(|| unsupported(&format!("collation {coll} of `{}`", col.name)))?;
        col.ft.charset = if charset == "utf8mb3" {
            "utf8".into()
        } else {
            charset
        };
        col.ft.collation_name = coll;
    }
    // indexes in TiDB's order: column-level first, then table-level
    let mut indices = Vec::new();
    let mut handle = HandleKind::RowId;
    let mut next_index_id = 1;
    for ix in col_level.into_iter().chain(tbl_level) {
        let mut cols = Vec::new();
        for (cn, len) in &ix.cols {
            let off = columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(cn))
                .ok_or_else(|| SchemaError::Invalid {
                    table: name.clone(),
                    message: format!("index on unknown column `{cn}`"),
                })?;
            cols.push(IndexColumn {
                offset: off,
                length: *len,
            });
        }
        if ix.primary {
            if indices.iter().any(|i: &IndexInfo| i.primary) || !matches!(handle, HandleKind::RowId)
            {
                return Err(SchemaError::Invalid {
                    table: name.clone(),
                    message: "multiple primary keys".into(),
                });
            }
            for c in &cols {
                columns[c.offset].not_null = true;
            }
            let single_int = cols.len() == 1
                && columns[cols[0].offset].ft.is_integer()
                && cols[0].length.is_none();
            if single_int && ix.clustered != Some(false) {
                handle = HandleKind::IntPk {
                    offset: cols[0].offset,
                };
                continue;
            }
            if ix.clustered.unwrap_or(clustered_by_default) {
                handle = HandleKind::Clustered {
                    index: indices.len(),
                };
            }
        }
        indices.push(IndexInfo {
            id: next_index_id,
            name: if ix.primary {
                "PRIMARY".into()
            } else {
                ix.name
            },
            columns: cols,
            unique: ix.unique || ix.primary,
            primary: ix.primary,
        });
        next_index_id += 1;
    }
    let common_handle_version = u16::from(matches!(handle, HandleKind::Clustered { .. }));
    Ok(TableInfo {
        id: table_id,
        name,
        columns,
        indices,
        handle,
        shard_row_id_bits: info_shard,
        auto_increment_base: ai_base,
        auto_random_base: ar_base,
        charset: tbl_charset,
        collation: tbl_collation,
        common_handle_version,
    })
}

fn skip_definition(p: &mut Parser) -> Result<(), SchemaError> {
    while !(p.is_punct(',') || p.is_punct(')')) {
        if p.is_punct('(') {
            p.skip_group()?;
        } else if p.next().is_none() {
            return Err(perr(p.end, "unexpected end"));
        }
    }
    Ok(())
}

fn parse_index_def(p: &mut Parser) -> Result<PendingIndex, SchemaError> {
    let mut ix = PendingIndex {
        name: String::new(),
        cols: Vec::new(),
        unique: false,
        primary: false,
        clustered: None,
    };
    if p.eat_kw("PRIMARY") {
        p.expect_kw("KEY")?;
        ix.primary = true;
    } else if p.eat_kw("UNIQUE") {
        ix.unique = true;
        let _ = p.eat_kw("KEY") || p.eat_kw("INDEX");
    } else {
        let _ = p.eat_kw("KEY") || p.eat_kw("INDEX");
    }
    if !p.is_punct('(') && !p.is_kw("USING") {
        ix.name = p.ident()?;
    }
    if p.eat_kw("USING") {
        p.ident()?;
    }
    p.expect_punct('(')?;
    loop {
        if p.is_punct('(') {
            return Err(perr(
                p.offset(),
                "expression (functional) index parts are not supported",
            ));
        }
        let c = p.ident()?;
        let len = if p.eat_punct('(') {
            let n = p.number()? as u32;
            p.expect_punct(')')?;
            Some(n)
        } else {
            None
        };
        let _ = p.eat_kw("ASC") || p.eat_kw("DESC");
        ix.cols.push((c, len));
        if !p.eat_punct(',') {
            break;
        }
    }
    p.expect_punct(')')?;
    // index options
    loop {
        if p.eat_kw("CLUSTERED") {
            ix.clustered = Some(true);
        } else if p.eat_kw("NONCLUSTERED") {
            ix.clustered = Some(false);
        } else if p.eat_kw("USING") || p.eat_kw("COMMENT") || p.eat_kw("KEY_BLOCK_SIZE") {
            p.eat_eq();
            p.next();
        } else if p.eat_kw("VISIBLE")
            || p.eat_kw("INVISIBLE")
            || p.eat_kw("GLOBAL")
            || p.eat_kw("LOCAL")
        {
        } else {
            break;
        }
    }
    Ok(ix)
}

type ColumnCharset = (Option<String>, Option<String>);

fn parse_column(
    p: &mut Parser,
    offset: usize,
) -> Result<(ColumnInfo, ColumnCharset, Option<PendingIndex>), SchemaError> {
    let name = p.ident()?;
    let tname = p.ident()?.to_ascii_uppercase();
    let mut args: Vec<String> = Vec::new();
    let mut elems: Vec<String> = Vec::new();
    let is_enum = tname == "ENUM" || tname == "SET";
    if p.eat_punct('(') {
        loop {
            match p.next() {
                Some(Tok::Num(n)) => args.push(n),
                Some(Tok::Str(s)) if is_enum => {
                    elems.push(String::from_utf8_lossy(&s).into_owned())
                }
                _ => return Err(perr(p.offset(), "bad type arguments")),
            }
            if !p.eat_punct(',') {
                break;
            }
        }
        p.expect_punct(')')?;
    }
    let arg = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
    use ColumnType as T;
    let (tp, flen_default, binary_str) = match tname.as_str() {
        "TINYINT" | "BOOL" | "BOOLEAN" => (T::TinyInt, 4, false),
        "SMALLINT" => (T::SmallInt, 6, false),
        "MEDIUMINT" => (T::MediumInt, 9, false),
        "INT" | "INTEGER" => (T::Int, 11, false),
        "BIGINT" => (T::BigInt, 20, false),
        "FLOAT" => (T::Float, 12, false),
        "DOUBLE" | "REAL" => (T::Double, 22, false),
        "DECIMAL" | "NUMERIC" | "DEC" | "FIXED" => (T::Decimal, 10, false),
        "DATE" => (T::Date, 10, false),
        "DATETIME" => (T::DateTime, 19, false),
        "TIMESTAMP" => (T::Timestamp, 19, false),
        "TIME" => (T::Time, 10, false),
        "YEAR" => (T::Year, 4, false),
        "CHAR" | "CHARACTER" | "NCHAR" => (T::Char, 1, false),
        "VARCHAR" | "NVARCHAR" | "CHARACTER VARYING" => (T::VarChar, 0, false),
        "BINARY" => (T::Char, 1, true),
        "VARBINARY" => (T::VarChar, 0, true),
        "TINYTEXT" => (T::Blob, 255, false),
        "TEXT" => (T::Blob, 65535, false),
        "MEDIUMTEXT" => (T::Blob, 16_777_215, false),
        "LONGTEXT" => (T::Blob, u32::MAX, false),
        "TINYBLOB" => (T::Blob, 255, true),
        "BLOB" => (T::Blob, 65535, true),
        "MEDIUMBLOB" => (T::Blob, 16_777_215, true),
        "LONGBLOB" => (T::Blob, u32::MAX, true),
        "ENUM" => (T::Enum, 0, false),
        "SET" => (T::Set, 0, false),
        "BIT" => (T::Bit, 1, false),
        "JSON" => (T::Json, 0, false),
        other => return Err(perr(p.offset(), format!("unsupported column type {other}"))),
    };
    let mut ft = FieldType::new(tp);
    ft.elems = elems;
    match tp {
        T::Decimal => {
            ft.flen = arg(0).unwrap_or(10);
            ft.decimal = arg(1).unwrap_or(0) as u8;
        }
        T::Float | T::Double => {
            ft.flen = arg(0).unwrap_or(flen_default);
            ft.decimal = arg(1).map_or(0xff, |d| d as u8); // 0xff: unspecified scale
            if tp == T::Float && args.len() == 1 && arg(0).is_some_and(|p| p > 24) {
                ft.tp = T::Double;
            }
        }
        T::DateTime | T::Timestamp | T::Time => {
            ft.flen = flen_default;
            ft.decimal = arg(0).unwrap_or(0) as u8;
        }
        T::Blob if arg(0).is_some() => ft.flen = arg(0).unwrap_or(flen_default),
        _ => ft.flen = arg(0).unwrap_or(flen_default),
    }
    if tname == "BOOL" || tname == "BOOLEAN" {
        ft.flen = 1;
    }
    let mut cs: ColumnCharset = (None, None);
    if binary_str {
        cs = (Some("binary".into()), Some("binary".into()));
    }
    let mut col = ColumnInfo {
        id: offset as i64 + 1,
        name,
        offset,
        ft,
        not_null: false,
        default: None,
        auto_increment: false,
        auto_random: None,
        generated: None,
        on_update_now: false,
        comment: String::new(),
    };
    let mut idx: Option<PendingIndex> = None;
    loop {
        if p.eat_kw("UNSIGNED") {
            col.ft.unsigned = true;
        } else if p.eat_kw("SIGNED") || p.eat_kw("ZEROFILL") {
            // ZEROFILL implies UNSIGNED
            if matches!(p.toks.get(p.i - 1).map(|t| &t.1), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("ZEROFILL"))
            {
                col.ft.unsigned = true;
            }
        } else if p.eat_kw("CHARACTER") {
            p.expect_kw("SET")?;
            cs.0 = Some(p.ident()?.to_ascii_lowercase());
        } else if p.eat_kw("CHARSET") {
            cs.0 = Some(p.ident()?.to_ascii_lowercase());
        } else if p.eat_kw("COLLATE") {
            cs.1 = Some(p.ident()?.to_ascii_lowercase());
        } else if p.is_kw("BINARY") {
            p.next();
            // `CHAR(n) BINARY`: the charset's _bin collation
            cs.1 = Some("utf8mb4_bin".into());
        } else if p.eat_kw("NOT") {
            p.expect_kw("NULL")?;
            col.not_null = true;
        } else if p.eat_kw("NULL") {
        } else if p.eat_kw("DEFAULT") {
            // `DEFAULT NULL` is stored like no DEFAULT clause, as TiDB's table info does.
            col.default = match parse_default(p)? {
                DefaultValue::Literal(None) => None,
                d => Some(d),
            };
        } else if p.eat_kw("AUTO_INCREMENT") {
            col.auto_increment = true;
        } else if p.eat_kw("AUTO_RANDOM") {
            let mut shard = 5u8;
            let mut range = 64u8;
            if p.eat_punct('(') {
                shard = p.number()? as u8;
                if p.eat_punct(',') {
                    range = p.number()? as u8;
                }
                p.expect_punct(')')?;
            }
            col.auto_random = Some((shard, range));
        } else if p.eat_kw("PRIMARY") {
            p.expect_kw("KEY")?;
            let mut ix = PendingIndex {
                name: String::new(),
                cols: vec![],
                unique: true,
                primary: true,
                clustered: None,
            };
            if p.eat_kw("CLUSTERED") {
                ix.clustered = Some(true);
            } else if p.eat_kw("NONCLUSTERED") {
                ix.clustered = Some(false);
            }
            idx = Some(ix);
        } else if p.eat_kw("UNIQUE") {
            p.eat_kw("KEY");
            idx = Some(PendingIndex {
                name: col.name.clone(),
                cols: vec![],
                unique: true,
                primary: false,
                clustered: None,
            });
        } else if p.is_kw("KEY") {
            p.next();
            idx = Some(PendingIndex {
                name: String::new(),
                cols: vec![],
                unique: true,
                primary: true,
                clustered: None,
            });
        } else if p.eat_kw("COMMENT") {
            if let Some(Tok::Str(s)) = p.next() {
                col.comment = String::from_utf8_lossy(&s).into_owned();
            }
        } else if p.eat_kw("ON") {
            p.expect_kw("UPDATE")?;
            parse_default(p)?;
            col.on_update_now = true;
        } else if p.eat_kw("GENERATED") {
            p.expect_kw("ALWAYS")?;
        } else if p.eat_kw("AS") {
            let expr = p.skip_group()?;
            col.generated = Some(Generated {
                expr: expr.trim().to_string(),
                stored: false,
            });
        } else if p.eat_kw("STORED") || p.eat_kw("PERSISTENT") {
            if let Some(g) = &mut col.generated {
                g.stored = true;
            }
        } else if p.eat_kw("VIRTUAL") || p.eat_kw("VISIBLE") || p.eat_kw("INVISIBLE") {
        } else if p.eat_kw("COLUMN_FORMAT") || p.eat_kw("STORAGE") {
            p.next();
        } else if p.eat_kw("CHECK") {
            p.skip_group()?;
        } else if p.eat_kw("REFERENCES") {
            p.ident()?;
            if p.is_punct('(') {
                p.skip_group()?;
            }
            while p.eat_kw("ON") {
                p.next();
                let _ = p.eat_kw("SET") || p.eat_kw("NO");
                p.next();
            }
        } else if p.eat_kw("SERIAL") {
            p.expect_kw("DEFAULT")?;
            p.expect_kw("VALUE")?;
        } else {
            break;
        }
    }
    // TiDB's display widths: one less for unsigned integers without an explicit width
    // (BIGINT excepted), and room for the fraction of temporal types with an fsp.
    if col.ft.unsigned && args.is_empty() && col.ft.is_integer() && tp != T::BigInt {
        col.ft.flen -= 1;
    }
    if matches!(tp, T::DateTime | T::Timestamp | T::Time) && col.ft.decimal > 0 {
        col.ft.flen = flen_default + 1 + u32::from(col.ft.decimal);
    }
    Ok((col, cs, idx))
}

fn parse_default(p: &mut Parser) -> Result<DefaultValue, SchemaError> {
    let neg = p.eat_punct('-');
    p.eat_punct('+');
    let t = p
        .next()
        .ok_or_else(|| perr(p.end, "expected a default value"))?;
    Ok(match t {
        Tok::Num(n) => {
            DefaultValue::Literal(Some(if neg { format!("-{n}") } else { n }.into_bytes()))
        }
        Tok::Str(s) => DefaultValue::Literal(Some(s)),
        Tok::Hex(b) => DefaultValue::Binary(b),
        Tok::Punct('(') => {
            p.i -= 1;
            DefaultValue::Expr(p.skip_group()?)
        }
        Tok::Ident(w) => {
            let u = w.to_ascii_uppercase();
            match u.as_str() {
                "NULL" => DefaultValue::Literal(None),
                "TRUE" => DefaultValue::Literal(Some(b"1".to_vec())),
                "FALSE" => DefaultValue::Literal(Some(b"0".to_vec())),
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIME" | "LOCALTIMESTAMP" => {
                    if p.is_punct('(') {
                        p.skip_group()?;
                    }
                    DefaultValue::CurrentTimestamp
                }
                _ if u.starts_with('_') => match p.next() {
                    Some(Tok::Str(s)) => DefaultValue::Literal(Some(s)),
                    Some(Tok::Hex(b)) => DefaultValue::Binary(b),
                    _ => {
                        return Err(perr(
                            p.offset(),
                            "expected a string after a charset introducer",
                        ))
                    }
                },
                _ => {
                    let mut text = w.clone();
                    if p.is_punct('(') {
                        text.push('(');
                        text.push_str(&p.skip_group()?);
                        text.push(')');
                    }
                    DefaultValue::Expr(text)
                }
            }
        }
        other => {
            return Err(perr(
                p.offset(),
                format!("unexpected default {}", tok_text(&other)),
            ))
        }
    })
}
