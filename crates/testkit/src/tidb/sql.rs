//! Statement execution: the engine shared by all connections, per-connection sessions,
//! and the DDL / SET / ALTER / ANALYZE statements. Queries live in [`super::query`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lightning_encode::ddl::parse_create_table;
use lightning_encode::SchemaError;

use super::catalog::{Catalog, Database, Table};
use super::lex::{tokenize, Tok};
use super::proto::Column;
use super::vars;
use super::KvSource;

/// A MySQL error to send back: code, SQLSTATE, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// MySQL error number.
    pub code: u16,
    /// SQLSTATE.
    pub state: &'static str,
    /// Message.
    pub msg: String,
}

impl SqlError {
    /// An error with `code`, `state` and `msg`.
    pub fn new(code: u16, state: &'static str, msg: impl Into<String>) -> Self {
        SqlError {
            code,
            state,
            msg: msg.into(),
        }
    }

    /// ER_PARSE_ERROR (1064).
    pub fn parse(near: &str) -> Self {
        Self::new(
            1064,
            "42000",
            format!("You have an error in your SQL syntax; check the manual that corresponds to your TiDB version for the right syntax to use near \"{near}\""),
        )
    }

    /// ER_NOT_SUPPORTED_YET (1235): valid SQL the simulator does not implement.
    pub fn unsupported(stmt: &str) -> Self {
        Self::new(
            1235,
            "42000",
            format!(
                "This version of the TiDB simulator doesn't yet support '{}'",
                stmt.trim()
            ),
        )
    }

    /// ER_NO_SUCH_TABLE (1146).
    pub fn no_table(db: &str, t: &str) -> Self {
        Self::new(1146, "42S02", format!("Table '{db}.{t}' doesn't exist"))
    }

    /// ER_BAD_DB_ERROR (1049).
    pub fn bad_db(db: &str) -> Self {
        Self::new(1049, "42000", format!("Unknown database '{db}'"))
    }
}

/// What a statement produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An OK packet.
    Ok {
        /// Affected rows.
        affected: u64,
    },
    /// A result set.
    Rows {
        /// Columns.
        cols: Vec<Column>,
        /// Rows of text values (`None` is NULL).
        rows: Vec<Vec<Option<String>>>,
    },
}

/// The result of one statement.
pub type Res = Result<Outcome, SqlError>;

/// State shared by every connection of one simulated TiDB.
pub struct Engine {
    /// Schemas and recorded effects.
    pub catalog: Mutex<Catalog>,
    /// The cluster's committed data.
    pub kv: Arc<dyn KvSource>,
    /// Release version, e.g. `v8.5.0`.
    pub release: String,
    /// TiKV instances listed by `SHOW CONFIG`.
    pub tikv_addrs: Vec<String>,
}

impl Engine {
    /// Locks the catalog (a poisoned lock is still usable: the catalog has no invariants
    /// spanning a panic).
    pub fn cat(&self) -> MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One connection's session.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// Current database (`USE`).
    pub db: Option<String>,
    /// `SET [SESSION]` values keyed by lower-cased name.
    pub vars: BTreeMap<String, String>,
}

/// A cursor over a statement's tokens.
pub struct Cur {
    t: Vec<Tok>,
    i: usize,
}

impl Cur {
    /// Tokenizes `sql`.
    pub fn new(sql: &str) -> Result<Self, SqlError> {
        let t = tokenize(sql).map_err(|m| SqlError::parse(&m))?;
        Ok(Cur { t, i: 0 })
    }
    /// The current token.
    pub fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    /// The token `n` ahead.
    pub fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.t.get(self.i + n)
    }
    /// Advances one token.
    pub fn bump(&mut self) -> Option<Tok> {
        let t = self.t.get(self.i).cloned();
        self.i += 1;
        t
    }
    /// True if the current token is keyword `k`.
    pub fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }
    /// Eats keyword `k` if present.
    pub fn kw(&mut self, k: &str) -> bool {
        let hit = self.is_kw(k);
        if hit {
            self.i += 1;
        }
        hit
    }
    /// Eats keyword `k` or fails.
    pub fn expect_kw(&mut self, k: &str) -> Result<(), SqlError> {
        if self.kw(k) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    /// Eats punctuation `c` if present.
    pub fn punct(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(&Tok::Punct(c));
        if hit {
            self.i += 1;
        }
        hit
    }
    /// True when every token is consumed.
    pub fn end(&self) -> bool {
        self.i >= self.t.len()
    }
    /// A parse error near the current token.
    pub fn err(&self) -> SqlError {
        let near: Vec<String> = self.t[self.i.min(self.t.len())..]
            .iter()
            .take(6)
            .map(Tok::text)
            .collect();
        SqlError::parse(&near.join(" "))
    }
    /// Fails unless every token was consumed (a trailing `;` is fine).
    pub fn finish(&mut self) -> Result<(), SqlError> {
        self.punct(';');
        if self.end() {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    /// An identifier (plain word or back-quoted).
    pub fn ident(&mut self) -> Result<String, SqlError> {
        match self.peek() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                let w = w.clone();
                self.i += 1;
                Ok(w)
            }
            _ => Err(self.err()),
        }
    }
    /// `[db.]name`.
    pub fn name(&mut self) -> Result<(Option<String>, String), SqlError> {
        let first = self.ident()?;
        if self.punct('.') {
            Ok((Some(first), self.ident()?))
        } else {
            Ok((None, first))
        }
    }
    /// A literal or word value as text (strings unquoted, `-` joined to numbers).
    pub fn value(&mut self) -> Result<String, SqlError> {
        let neg = self.punct('-');
        let v = match self.bump() {
            Some(Tok::Str(s)) | Some(Tok::Num(s)) | Some(Tok::Word(s)) | Some(Tok::Quoted(s)) => s,
            _ => {
                self.i -= 1;
                return Err(self.err());
            }
        };
        Ok(if neg { format!("-{v}") } else { v })
    }
}

/// Resolves `[db.]t` against the session's current database.
pub fn qualify(
    s: &Session,
    (db, t): (Option<String>, String),
) -> Result<(String, String), SqlError> {
    match db.or_else(|| s.db.clone()) {
        Some(db) => Ok((db, t)),
        None => Err(SqlError::new(1046, "3D000", "No database selected")),
    }
}

/// Executes one statement.
pub fn execute(e: &Engine, s: &mut Session, sql: &str) -> Res {
    let mut c = Cur::new(sql)?;
    let Some(Tok::Word(first)) = c.peek().cloned() else {
        return Err(c.err());
    };
    let res = match first.to_ascii_uppercase().as_str() {
        "CREATE" => create(e, s, &mut c, sql),
        "DROP" => drop_stmt(e, s, &mut c),
        "USE" => {
            c.bump();
            let db = c.ident()?;
            c.finish()?;
            let cat = e.cat();
            let d = cat.db(&db).ok_or_else(|| SqlError::bad_db(&db))?;
            s.db = Some(d.name.clone());
            Ok(Outcome::Ok { affected: 0 })
        }
        "SET" => vars::set(e, s, &mut c),
        "BEGIN" | "COMMIT" | "ROLLBACK" | "START" => {
            c.bump();
            if first.eq_ignore_ascii_case("START") {
                c.expect_kw("TRANSACTION")?;
            }
            c.kw("WORK");
            c.finish()?;
            Ok(Outcome::Ok { affected: 0 })
        }
        "ALTER" => alter(e, s, &mut c, sql),
        "ANALYZE" => analyze(e, s, &mut c),
        "SELECT" | "SHOW" | "ADMIN" | "UPDATE" => super::query::run(e, s, &mut c, sql),
        "INSERT" | "REPLACE" | "DELETE" | "LOAD" | "TRUNCATE" | "RENAME" | "GRANT" | "REVOKE"
        | "CALL" | "DO" | "LOCK" | "UNLOCK" | "FLUSH" | "KILL" | "EXPLAIN" | "DESC"
        | "DESCRIBE" | "IMPORT" | "BATCH" | "SPLIT" | "PREPARE" | "EXECUTE" | "RECOVER"
        | "FLASHBACK" | "WITH" | "TABLE" | "VALUES" | "HANDLER" | "CHECKSUM" | "OPTIMIZE"
        | "REPAIR" | "CHECK" | "RESTORE" | "BACKUP" | "CANCEL" | "RELEASE" | "SAVEPOINT" => {
            Err(SqlError::unsupported(sql))
        }
        _ => Err(c.err()),
    };
    if res.is_ok() {
        e.cat().log.push(sql.trim().to_string());
    }
    res
}

fn create(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Res {
    c.bump();
    if c.kw("DATABASE") || c.kw("SCHEMA") {
        return create_db(e, c);
    }
    if !c.is_kw("TABLE") {
        return Err(SqlError::unsupported(sql));
    }
    c.bump();
    let if_not_exists = c.kw("IF");
    if if_not_exists {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let (db, name) = qualify(s, c.name()?)?;
    if c.kw("LIKE") {
        return Err(SqlError::unsupported(sql));
    }
    let mut cat = e.cat();
    let d = cat.db(&db).ok_or_else(|| SqlError::bad_db(&db))?;
    if d.tables.contains_key(&name.to_lowercase()) {
        if if_not_exists {
            // TiDB answers OK with note 1050 and allocates nothing.
            return Ok(Outcome::Ok { affected: 0 });
        }
        return Err(SqlError::new(
            1050,
            "42S01",
            format!("Table '{db}.{name}' already exists"),
        ));
    }
    let sql = inherit_db_charset(sql, d);
    let info = parse_create_table(&sql, 0).map_err(schema_err)?;
    // TiDB's DDL submitter takes ids from the one global allocator for the new objects
    // first and for the DDL job after them (pkg/ddl/job_submitter.go, assignGIDsForJobs).
    let id = cat.alloc_id();
    cat.alloc_id();
    let key = db.to_lowercase();
    if let Some(d) = cat.dbs.get_mut(&key) {
        d.tables.insert(
            name.to_lowercase(),
            Table {
                info: info.with_id(id),
            },
        );
    }
    Ok(Outcome::Ok { affected: 0 })
}

/// A table without its own charset takes its database's default, as in TiDB.
fn inherit_db_charset(sql: &str, d: &Database) -> String {
    if d.charset == "utf8mb4" && d.collation == "utf8mb4_bin" {
        return sql.to_string();
    }
    let body = sql.trim_end().trim_end_matches(';');
    let tail = body
        .rfind(')')
        .map_or("", |p| &body[p..])
        .to_ascii_uppercase();
    if tail.contains("CHARSET") || tail.contains("CHARACTER") || tail.contains("COLLATE") {
        return sql.to_string();
    }
    format!(
        "{body} DEFAULT CHARSET={} COLLATE={}",
        d.charset, d.collation
    )
}

fn schema_err(err: SchemaError) -> SqlError {
    match err {
        SchemaError::Unsupported { .. } => SqlError::new(1235, "42000", err.to_string()),
        _ => SqlError::new(1064, "42000", err.to_string()),
    }
}

/// The default collation TiDB gives a charset.
fn default_collation(cs: &str) -> String {
    match cs {
        "binary" => "binary".into(),
        other => format!("{other}_bin"),
    }
}

fn create_db(e: &Engine, c: &mut Cur) -> Res {
    let if_not_exists = c.kw("IF");
    if if_not_exists {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let name = c.ident()?;
    let (mut charset, mut collation) = (None::<String>, None::<String>);
    while !c.end() && !c.punct(';') {
        c.kw("DEFAULT");
        if c.kw("CHARSET") || (c.kw("CHARACTER") && c.kw("SET")) {
            c.punct('=');
            charset = Some(c.value()?.to_lowercase());
        } else if c.kw("COLLATE") {
            c.punct('=');
            collation = Some(c.value()?.to_lowercase());
        } else {
            return Err(c.err());
        }
    }
    let (charset, collation) = match (charset, collation) {
        (None, None) => ("utf8mb4".to_string(), "utf8mb4_bin".to_string()),
        (Some(cs), None) => {
            let co = default_collation(&cs);
            (cs, co)
        }
        (cs, Some(co)) => (
            cs.unwrap_or_else(|| co.split('_').next().unwrap_or("utf8mb4").to_string()),
            co,
        ),
    };
    let mut cat = e.cat();
    if cat.db(&name).is_some() {
        if if_not_exists {
            return Ok(Outcome::Ok { affected: 0 });
        }
        return Err(SqlError::new(
            1007,
            "HY000",
            format!("Can't create database '{name}'; database exists"),
        ));
    }
    let id = cat.alloc_id();
    cat.alloc_id();
    cat.dbs.insert(
        name.to_lowercase(),
        Database {
            id,
            name,
            charset,
            collation,
            tables: BTreeMap::new(),
        },
    );
    Ok(Outcome::Ok { affected: 1 })
}

fn drop_stmt(e: &Engine, s: &mut Session, c: &mut Cur) -> Res {
    c.bump();
    let is_db = c.kw("DATABASE") || c.kw("SCHEMA");
    if !is_db && !c.kw("TABLE") {
        return Err(c.err());
    }
    let if_exists = c.kw("IF");
    if if_exists {
        c.expect_kw("EXISTS")?;
    }
    let mut cat = e.cat();
    if is_db {
        let name = c.ident()?;
        c.finish()?;
        let Some(d) = cat.dbs.remove(&name.to_lowercase()) else {
            if if_exists {
                return Ok(Outcome::Ok { affected: 0 });
            }
            return Err(SqlError::new(
                1008,
                "HY000",
                format!("Can't drop database '{name}'; database doesn't exist"),
            ));
        };
        cat.alloc_id();
        if s.db
            .as_deref()
            .is_some_and(|cur| cur.eq_ignore_ascii_case(&d.name))
        {
            s.db = None;
        }
        return Ok(Outcome::Ok { affected: 0 });
    }
    let mut names = vec![qualify(s, c.name()?)?];
    while c.punct(',') {
        names.push(qualify(s, c.name()?)?);
    }
    c.finish()?;
    let missing: Vec<String> = names
        .iter()
        .filter(|(db, t)| cat.table(db, t).is_none())
        .map(|(db, t)| format!("{db}.{t}"))
        .collect();
    if !missing.is_empty() && !if_exists {
        return Err(SqlError::new(
            1051,
            "42S02",
            format!("Unknown table '{}'", missing.join(",")),
        ));
    }
    for (db, t) in names {
        if let Some(d) = cat.dbs.get_mut(&db.to_lowercase()) {
            if d.tables.remove(&t.to_lowercase()).is_some() {
                cat.alloc_id();
            }
        }
    }
    Ok(Outcome::Ok { affected: 0 })
}

/// Runs `f` on an existing table `db`.`t`, else ER_NO_SUCH_TABLE.
pub fn with_table<R>(
    cat: &mut Catalog,
    db: &str,
    t: &str,
    f: impl FnOnce(&mut Table) -> R,
) -> Result<R, SqlError> {
    match cat.table_mut(db, t) {
        Some(tbl) => Ok(f(tbl)),
        None => Err(SqlError::no_table(db, t)),
    }
}

/// `ALTER TABLE t [FORCE] AUTO_INCREMENT [=] n` and `… AUTO_RANDOM_BASE [=] n`, the
/// rebases Lightning issues after an import (lightning/pkg/importer/tidb.go,
/// AlterAutoIncrement / AlterAutoRandom). Without FORCE a smaller value keeps the current
/// base (TiDB rebases upward only); FORCE sets it.
fn alter(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Res {
    c.bump();
    if !c.kw("TABLE") {
        return Err(SqlError::unsupported(sql));
    }
    let (db, t) = qualify(s, c.name()?)?;
    let force = c.kw("FORCE");
    let random = if c.kw("AUTO_INCREMENT") {
        false
    } else if c.kw("AUTO_RANDOM_BASE") {
        true
    } else {
        return Err(SqlError::unsupported(sql));
    };
    c.punct('=');
    let v = c.value()?;
    c.finish()?;
    let n: u64 = v.parse().map_err(|_| SqlError::parse(&v))?;
    let mut cat = e.cat();
    let has_random = cat
        .table(&db, &t)
        .map(|x| x.info.auto_random_column().is_some());
    if random && has_random == Some(false) {
        return Err(SqlError::new(
            8216,
            "HY000",
            format!("Invalid auto random: table {t} has no auto_random column to rebase"),
        ));
    }
    with_table(&mut cat, &db, &t, |tbl| {
        let slot = if random {
            &mut tbl.info.auto_random_base
        } else {
            &mut tbl.info.auto_increment_base
        };
        *slot = Some(if force { n } else { slot.unwrap_or(0).max(n) });
    })?;
    // A rebase is a DDL job, which takes a job id from the global allocator.
    cat.alloc_id();
    Ok(Outcome::Ok { affected: 0 })
}

/// `ANALYZE TABLE t[, …]`: checked and recorded (no statistics are built).
fn analyze(e: &Engine, s: &mut Session, c: &mut Cur) -> Res {
    c.bump();
    c.expect_kw("TABLE")?;
    let mut names = vec![qualify(s, c.name()?)?];
    while c.punct(',') {
        names.push(qualify(s, c.name()?)?);
    }
    c.finish()?;
    let mut cat = e.cat();
    let mut found = Vec::new();
    for (db, t) in names {
        let d = cat.db(&db).ok_or_else(|| SqlError::no_table(&db, &t))?;
        let tbl = cat
            .table(&db, &t)
            .ok_or_else(|| SqlError::no_table(&db, &t))?;
        found.push((d.name.clone(), tbl.info.name.clone()));
    }
    cat.analyzed.extend(found);
    Ok(Outcome::Ok { affected: 0 })
}
