//! Statement execution: the engine shared by all connections, per-connection sessions,
//! the token cursor and the dispatch of each statement to [`super::ddl`] (CREATE / DROP /
//! ALTER / ANALYZE), [`super::vars`] (SET), [`super::query`] and [`super::show`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::catalog::Catalog;
use super::ddl;
use super::lex::{tokenize, Tok};
use super::proto::Column;
use super::vars;
use super::KvSource;

/// A MySQL error to send back: code, SQLSTATE, message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ERROR {code} ({state}): {msg}")]
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
    /// PD endpoints reported by `GET /settings`.
    pub pd_addrs: Vec<String>,
    /// The MySQL-protocol address.
    pub sql_addr: std::net::SocketAddr,
    /// The status-port address.
    pub status_addr: std::net::SocketAddr,
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
        "CREATE" => ddl::create(e, s, &mut c, sql),
        "DROP" => ddl::drop_stmt(e, s, &mut c),
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
        "ALTER" => ddl::alter(e, s, &mut c, sql),
        "ANALYZE" => ddl::analyze(e, s, &mut c),
        "SELECT" | "SHOW" | "ADMIN" | "UPDATE" => super::query::run(e, s, &mut c, sql),
        "INSERT" => super::insert::insert(e, s, &mut c, sql),
        "REPLACE" | "DELETE" | "LOAD" | "TRUNCATE" | "RENAME" | "GRANT" | "REVOKE" | "CALL"
        | "DO" | "LOCK" | "UNLOCK" | "FLUSH" | "KILL" | "EXPLAIN" | "DESC" | "DESCRIBE"
        | "IMPORT" | "BATCH" | "SPLIT" | "PREPARE" | "EXECUTE" | "RECOVER" | "FLASHBACK"
        | "WITH" | "TABLE" | "VALUES" | "HANDLER" | "CHECKSUM" | "OPTIMIZE" | "REPAIR"
        | "CHECK" | "RESTORE" | "BACKUP" | "CANCEL" | "RELEASE" | "SAVEPOINT" => {
            Err(SqlError::unsupported(sql))
        }
        _ => Err(c.err()),
    };
    if res.is_ok() {
        e.cat().log.push(sql.trim().to_string());
    }
    res
}
