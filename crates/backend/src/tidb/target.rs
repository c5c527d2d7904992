//! The target server: connections, session setup, schema queries.

use super::{writer::SqlWriter, ColumnInfo, ColumnKind, TargetTable};
use crate::BackendError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use std::path::PathBuf;
use std::sync::Arc;

/// How to reach and set up sessions on the target (`[tidb]` and `[security]`).
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Host name or address.
    pub host: String,
    /// MySQL-protocol port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password (never logged).
    pub password: String,
    /// Session `sql_mode`; `None` keeps the server's.
    pub sql_mode: Option<String>,
    /// `[tidb] tls`: "" or "false" (plain), "preferred"/"skip-verify" (TLS without
    /// verification), "cluster" (verify with `[security]` files).
    pub tls: String,
    /// CA certificate for `tls = "cluster"`.
    pub ca_path: Option<PathBuf>,
    /// Client certificate and key for `tls = "cluster"` (PEM).
    pub cert_path: Option<PathBuf>,
    /// Client key for `tls = "cluster"` (PEM).
    pub key_path: Option<PathBuf>,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Extra `SET SESSION` assignments run on every new connection.
    pub session_vars: Vec<(String, String)>,
}

/// A connected target server.
#[derive(Clone)]
pub struct TidbTarget {
    pool: Pool,
    version: Arc<str>,
    no_backslash_escapes: bool,
    local_infile: bool,
    /// MariaDB 10.2 or later: prepared statements run for many rows at once
    /// (`COM_STMT_BULK_EXECUTE`).
    bulk: bool,
    /// `@@max_allowed_packet`: the largest command the server reads.
    max_packet: usize,
    /// `@@innodb_autoinc_lock_mode` is 2 (interleaved: no table-level AUTO-INC lock).
    autoinc_interleaved: bool,
}

impl TidbTarget {
    /// Opens a connection pool and checks the server answers.
    pub async fn connect(opts: &ConnectOptions) -> Result<Self, BackendError> {
        // `setup`, not `init`: the pool resets sessions when a connection comes back.
        let mut setup = vec![
            "SET NAMES utf8mb4".to_string(),
            "SET SESSION foreign_key_checks = 0".to_string(),
        ];
        if let Some(mode) = &opts.sql_mode {
            setup.push(format!(
                "SET SESSION sql_mode = '{}'",
                mode.replace('\'', "''")
            ));
        }
        for (k, v) in &opts.session_vars {
            setup.push(format!("SET SESSION {k} = {v}"));
        }
        let max = opts.max_connections.max(2);
        let constraints = PoolConstraints::new(1, max)
            .ok_or_else(|| BackendError::Schema("bad pool size".into()))?;
        let builder = OptsBuilder::default()
            .ip_or_hostname(opts.host.clone())
            .tcp_port(opts.port)
            .user(Some(opts.user.clone()))
            .pass((!opts.password.is_empty()).then(|| opts.password.clone()))
            .prefer_socket(false)
            .setup(setup)
            .pool_opts(PoolOpts::default().with_constraints(constraints))
            .ssl_opts(ssl_opts(opts)?);
        let pool = Pool::new(builder);
        let target = format!("{}:{}", opts.host, opts.port);
        let mut conn = pool
            .get_conn()
            .await
            .map_err(|e| BackendError::from_mysql(format!("connecting to {target}"), e))?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|e| BackendError::from_mysql("reading the server version", e))?;
        let mode: Option<String> = conn
            .query_first("SELECT @@SESSION.sql_mode")
            .await
            .map_err(|e| BackendError::from_mysql("reading sql_mode", e))?;
        let no_backslash_escapes = mode
            .unwrap_or_default()
            .to_ascii_uppercase()
            .contains("NO_BACKSLASH_ESCAPES");
        let version = version.unwrap_or_default();
        // TiDB reads LOAD DATA its own way (and may commit as it goes), so only MySQL and
        // MariaDB servers that allow LOCAL are offered load batches.
        let local_infile = !version.contains("TiDB")
            && matches!(
                conn.query_first::<String, _>("SELECT @@GLOBAL.local_infile").await,
                Ok(Some(v)) if v == "1" || v.eq_ignore_ascii_case("ON")
            );
        let max_packet: Option<u64> = conn
            .query_first("SELECT @@max_allowed_packet")
            .await
            .map_err(|e| BackendError::from_mysql("reading max_allowed_packet", e))?;
        let autoinc_interleaved = matches!(
            conn.query_first::<String, _>("SELECT @@GLOBAL.innodb_autoinc_lock_mode").await,
            Ok(Some(v)) if v == "2"
        );
        Ok(TidbTarget {
            pool,
            bulk: mariadb_with_bulk(&version),
            version: version.into(),
            no_backslash_escapes,
            local_infile,
            max_packet: max_packet.map_or(1 << 20, |v| v as usize),
            autoinc_interleaved,
        })
    }

    /// The server's `VERSION()`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// True when sessions run with `NO_BACKSLASH_ESCAPES` (literals must be written so).
    pub fn no_backslash_escapes(&self) -> bool {
        self.no_backslash_escapes
    }

    /// True when the server accepts `LOAD DATA LOCAL INFILE` the way load batches need.
    pub fn accepts_local_infile(&self) -> bool {
        self.local_infile
    }

    /// True when the server runs a prepared `INSERT` for many rows in one command
    /// (MariaDB's `COM_STMT_BULK_EXECUTE`, from 10.2).
    pub fn accepts_bulk(&self) -> bool {
        self.bulk
    }

    /// A connection from the pool.
    pub async fn conn(&self) -> Result<Conn, BackendError> {
        self.pool
            .get_conn()
            .await
            .map_err(|e| BackendError::from_mysql("getting a connection", e))
    }

    /// Runs a schema file's statements in order on one connection, after `USE db` when given,
    /// so that session variables one statement saves are there for a later one to restore
    /// (mysqldump's `SET @OLD_TIME_ZONE=@@TIME_ZONE` … `SET TIME_ZONE=@OLD_TIME_ZONE`). A
    /// statement failing with a server error code in `tolerated` is skipped; the skipped ones
    /// are returned as (index, code).
    pub async fn exec_tolerating(
        &self,
        db: Option<&str>,
        statements: &[String],
        tolerated: &[u16],
    ) -> Result<Vec<(usize, u16)>, BackendError> {
        self.exec_each_tolerating(db, statements, tolerated)
            .await
            .map_err(|(_, e)| e)
    }

    /// [`TidbTarget::exec_tolerating`], whose error also says which statement failed
    /// (`None`: connecting or `USE`).
    pub async fn exec_each_tolerating(
        &self,
        db: Option<&str>,
        statements: &[String],
        tolerated: &[u16],
    ) -> Result<Vec<(usize, u16)>, (Option<usize>, BackendError)> {
        let mut conn = self.conn().await.map_err(|e| (None, e))?;
        if let Some(db) = db {
            conn.query_drop(format!("USE {}", super::quote_ident(db)))
                .await
                .map_err(|e| (None, BackendError::from_mysql(format!("USE {db}"), e)))?;
        }
        let mut skipped = Vec::new();
        for (i, s) in statements.iter().enumerate() {
            match conn.query_drop(s.as_str()).await {
                Ok(()) => {}
                Err(mysql_async::Error::Server(e)) if tolerated.contains(&e.code) => {
                    skipped.push((i, e.code))
                }
                Err(e) => return Err((Some(i), BackendError::from_mysql(shorten(s), e))),
            }
        }
        Ok(skipped)
    }

    /// Reads a table's columns and storage engine; an error if it does not exist.
    pub async fn load_table(&self, db: &str, name: &str) -> Result<TargetTable, BackendError> {
        let mut conn = self.conn().await?;
        let ctx = || format!("reading columns of `{db}`.`{name}`");
        let rows: Vec<(String, String, String)> = conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, EXTRA FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (db, name),
            )
            .await
            .map_err(|e| BackendError::from_mysql(ctx(), e))?;
        if rows.is_empty() {
            return Err(BackendError::Schema(format!(
                "table `{db}`.`{name}` does not exist on the target"
            )));
        }
        let engine: Option<Option<String>> = conn
            .exec_first(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, name),
            )
            .await
            .map_err(|e| BackendError::from_mysql(ctx(), e))?;
        let engine = engine.flatten().unwrap_or_default().to_ascii_lowercase();
        let auto_increment = rows
            .iter()
            .any(|(_, _, extra)| extra.to_ascii_lowercase().contains("auto_increment"));
        let columns = rows
            .into_iter()
            .map(|(name, data_type, extra)| ColumnInfo {
                name,
                kind: ColumnKind::from_data_type(&data_type),
                generated: extra.to_ascii_uppercase().contains("GENERATED"),
            })
            .collect();
        Ok(TargetTable {
            db: db.into(),
            name: name.into(),
            columns,
            transactional: matches!(
                engine.as_str(),
                "innodb" | "" | "rocksdb" | "tokudb" | "ndbcluster" | "aria"
            ),
            load_serializes: auto_increment && !self.autoinc_interleaved,
        })
    }

    /// True when the table holds no row.
    pub async fn is_empty(&self, table: &TargetTable) -> Result<bool, BackendError> {
        let mut conn = self.conn().await?;
        let row: Option<u8> = conn
            .query_first(format!("SELECT 1 FROM {} LIMIT 1", table.qualified_name()))
            .await
            .map_err(|e| {
                BackendError::from_mysql(format!("checking {} is empty", table.qualified_name()), e)
            })?;
        Ok(row.is_none())
    }

    /// A writer with its own connection, for one table.
    pub async fn writer(&self, table: Arc<TargetTable>) -> Result<SqlWriter, BackendError> {
        Ok(SqlWriter::new(
            self.conn().await?,
            self.pool.clone(),
            table,
            self.max_packet,
        ))
    }

    /// Closes every connection; waits until writers have returned theirs (drop them first).
    pub async fn close(self) -> Result<(), BackendError> {
        self.pool
            .disconnect()
            .await
            .map_err(|e| BackendError::from_mysql("closing connections", e))
    }
}

/// True for a MariaDB `VERSION()` of 10.2 or later (`10.11.6-MariaDB-…`; a MySQL or TiDB
/// version never is).
fn mariadb_with_bulk(version: &str) -> bool {
    if !version.contains("MariaDB") {
        return false;
    }
    // Servers before 11 may still prefix the replication-compatible "5.5.5-".
    let v = version.strip_prefix("5.5.5-").unwrap_or(version);
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= (10, 2)
}

fn ssl_opts(opts: &ConnectOptions) -> Result<Option<SslOpts>, BackendError> {
    match opts.tls.to_ascii_lowercase().as_str() {
        "" | "false" => Ok(None),
        "preferred" | "skip-verify" => {
            Ok(Some(SslOpts::default().with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true)))
        }
        "cluster" => {
            let mut ssl = SslOpts::default();
            if let Some(ca) = &opts.ca_path {
                ssl = ssl.with_root_certs(vec![ca.clone().into()]);
            }
            if let (Some(cert), Some(key)) = (&opts.cert_path, &opts.key_path) {
                ssl = ssl.with_client_identity(Some(mysql_async::ClientIdentity::new(cert.clone().into(), key.clone().into())));
            }
            Ok(Some(ssl))
        }
        other => Err(BackendError::Schema(format!(
            "[tidb] tls = \"{other}\" is not supported: use \"false\", \"preferred\", \"skip-verify\" or \"cluster\""
        ))),
    }
}

pub(crate) fn shorten(sql: &str) -> String {
    let s: String = sql.chars().take(120).collect();
    if s.len() < sql.len() {
        format!("{s}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::mariadb_with_bulk;

    #[test]
    fn bulk_execution_is_offered_by_mariadb_10_2_and_later_only() {
        assert!(mariadb_with_bulk("10.11.19-MariaDB-0+deb12u1"));
        assert!(mariadb_with_bulk("5.5.5-10.6.12-MariaDB-log"));
        assert!(mariadb_with_bulk("11.4.2-MariaDB"));
        assert!(!mariadb_with_bulk("10.1.48-MariaDB"));
        assert!(!mariadb_with_bulk("8.0.36"));
        assert!(!mariadb_with_bulk("8.0.11-TiDB-v7.5.0"));
    }
}
