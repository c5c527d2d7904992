//! The simulated TiDB "SQL face" of the in-repo test cluster: a MySQL-protocol server and
//! TiDB's status HTTP port, answering the statements and endpoints TiDB Lightning's
//! physical import uses (schema creation, metadata and variable queries, `ADMIN CHECKSUM
//! TABLE`, `ANALYZE TABLE`, auto-id rebases), with data read through a [`KvSource`] so it
//! can sit on the simulated TiKV stores.
//!
//! ```no_run
//! use std::sync::Arc;
//! use lightning_testkit::tidb::{MemKv, SimTidb, SimTidbOptions};
//! let kv = Arc::new(MemKv::new());
//! let tidb = SimTidb::start(SimTidbOptions::default(), kv).unwrap();
//! println!("mysql -h {} -P {}", tidb.addr().ip(), tidb.addr().port());
//! ```
//!
//! Anything outside the supported set is answered with a MySQL error (1235 for valid SQL
//! the simulator does not implement, 1064 for what it cannot parse), never a silent OK.

mod catalog;
mod conn;
mod ddl;
mod http;
mod infoschema;
mod insert;
mod lex;
mod prepared;
mod proto;
mod query;
mod scan;
mod show;
mod showcreate;
mod sql;
mod vars;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use lightning_encode::{KvChecksum, TableInfo};
use tokio::sync::oneshot;

pub use showcreate::render as show_create_table;
pub use sql::SqlError;

/// Committed key-value data of the cluster, as TiDB's coprocessor would read it.
///
/// Keys are TiDB keys as the encoder produces them (`t{table}_r…`, `t{table}_i…`), not
/// TiKV's storage form (memcomparable-encoded, with timestamps).
pub trait KvSource: Send + Sync + 'static {
    /// All visible pairs with start <= key < end, in key order.
    fn scan(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)>;

    /// Commits `pairs` as one transaction (an `INSERT` through the SQL face).
    fn commit(&self, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), String>;
}

/// An in-memory [`KvSource`] for tests.
#[derive(Debug, Default)]
pub struct MemKv {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemKv {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces one pair.
    pub fn put(&self, key: &[u8], value: &[u8]) {
        let mut m = self.map.write().unwrap_or_else(|p| p.into_inner());
        m.insert(key.to_vec(), value.to_vec());
    }

    /// Number of pairs stored.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KvSource for MemKv {
    fn commit(&self, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        let mut m = self.map.write().unwrap_or_else(|p| p.into_inner());
        m.extend(pairs);
        Ok(())
    }

    fn scan(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        if start >= end {
            return Vec::new();
        }
        let m = self.map.read().unwrap_or_else(|p| p.into_inner());
        m.range(start.to_vec()..end.to_vec())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Where and as what the simulator runs.
#[derive(Clone, Debug)]
pub struct SimTidbOptions {
    /// MySQL-protocol address; port 0 picks a free one.
    pub sql_addr: SocketAddr,
    /// Status HTTP address; port 0 picks a free one.
    pub status_addr: SocketAddr,
    /// Release reported by `tidb_version()`, `version()` and `/status`.
    pub release: String,
    /// The next id of the global allocator after bootstrap, i.e. the id the first user
    /// `CREATE DATABASE` receives. The real value depends on how many system tables the
    /// release's bootstrap creates; no fixed number is claimed here (see DEFAULT_FIRST_ID).
    pub first_global_id: i64,
    /// TiKV instances (`host:port`) that `SHOW CONFIG` lists; empty by default.
    pub tikv_addrs: Vec<String>,
    /// PD endpoints (`host:port`) reported as the store path by `GET /settings`.
    pub pd_addrs: Vec<String>,
}

/// Default for [`SimTidbOptions::first_global_id`]: a round number above every bootstrap
/// object, not a measured TiDB value. Tests should rely on the allocation order (object ids
/// then the DDL job id from one counter), not on this base.
pub const DEFAULT_FIRST_ID: i64 = 100;

impl Default for SimTidbOptions {
    fn default() -> Self {
        let lo: SocketAddr = ([127, 0, 0, 1], 0).into();
        SimTidbOptions {
            sql_addr: lo,
            status_addr: lo,
            release: "v8.5.0".into(),
            first_global_id: DEFAULT_FIRST_ID,
            tikv_addrs: Vec::new(),
            pd_addrs: Vec::new(),
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimTidbError {
    /// A listening socket could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server thread or its runtime could not be started.
    #[error("cannot start the simulated TiDB: {0}")]
    Start(std::io::Error),
}

/// A running simulated TiDB; stops and releases its ports when dropped.
pub struct SimTidb {
    sql_addr: SocketAddr,
    status_addr: SocketAddr,
    engine: Arc<sql::Engine>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

fn bind(addr: SocketAddr) -> Result<TcpListener, SimTidbError> {
    let l = TcpListener::bind(addr).map_err(|source| SimTidbError::Bind { addr, source })?;
    l.set_nonblocking(true)
        .map_err(|source| SimTidbError::Bind { addr, source })?;
    Ok(l)
}

impl SimTidb {
    /// Binds both ports and serves them on a thread of its own until dropped.
    pub fn start(opts: SimTidbOptions, kv: Arc<dyn KvSource>) -> Result<Self, SimTidbError> {
        let sql_l = bind(opts.sql_addr)?;
        let http_l = bind(opts.status_addr)?;
        let local = |l: &TcpListener, addr| {
            l.local_addr()
                .map_err(|source| SimTidbError::Bind { addr, source })
        };
        let sql_addr = local(&sql_l, opts.sql_addr)?;
        let status_addr = local(&http_l, opts.status_addr)?;
        let mut cat = catalog::Catalog::new(opts.first_global_id);
        cat.add_bootstrap_test_db();
        let engine = Arc::new(sql::Engine {
            catalog: Mutex::new(cat),
            kv,
            release: opts.release,
            tikv_addrs: opts.tikv_addrs,
            pd_addrs: opts.pd_addrs,
            sql_addr,
            status_addr,
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SimTidbError::Start)?;
        let (tx, rx) = oneshot::channel();
        let e = engine.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sim-tidb-{}", sql_addr.port()))
            .spawn(move || rt.block_on(serve(sql_l, http_l, e, rx)))
            .map_err(SimTidbError::Start)?;
        Ok(SimTidb {
            sql_addr,
            status_addr,
            engine,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The MySQL-protocol address.
    pub fn addr(&self) -> SocketAddr {
        self.sql_addr
    }

    /// The status HTTP address.
    pub fn status_addr(&self) -> SocketAddr {
        self.status_addr
    }

    /// A `mysql://root@host:port` URL for MySQL drivers.
    pub fn url(&self) -> String {
        format!("mysql://root@{}", self.sql_addr)
    }

    /// Stops serving and waits for the server thread; the ports are free afterwards.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// The model of `db`.`table`, with the allocator bases `ALTER TABLE` recorded.
    pub fn table_info(&self, db: &str, table: &str) -> Option<TableInfo> {
        self.engine.cat().table(db, table).map(|t| t.info.clone())
    }

    /// The schema id of `db`.
    pub fn database_id(&self, db: &str) -> Option<i64> {
        self.engine.cat().db(db).map(|d| d.id)
    }

    /// `(db, table)` of every `ANALYZE TABLE` run so far, in order.
    pub fn analyzed_tables(&self) -> Vec<(String, String)> {
        self.engine.cat().analyzed.clone()
    }

    /// Every statement that succeeded so far, in order, over all connections.
    pub fn statements(&self) -> Vec<String> {
        self.engine.cat().log.clone()
    }

    /// Every session-scope `SET` so far as (name, value), in order, over all connections.
    pub fn session_var_sets(&self) -> Vec<(String, String)> {
        self.engine.cat().session_sets.clone()
    }

    /// Runs `sql` (one or more `;`-separated statements) in a fresh session, as a client
    /// would, and returns the rows of the last statement (empty for statements without a
    /// result set); stops at the first error.
    pub fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, SqlError> {
        let mut session = sql::Session::default();
        let mut rows = Vec::new();
        for st in lex::split_statements(sql) {
            rows = match sql::execute(&self.engine, &mut session, st)? {
                sql::Outcome::Rows { rows, .. } => rows,
                sql::Outcome::Ok { .. } => Vec::new(),
            };
        }
        Ok(rows)
    }

    /// [`query`](Self::query)'s last result as `mysql -N -B` prints it: tab-separated, one
    /// row per line (no trailing newline), NULL as `NULL`, backslash and newline escaped.
    pub fn query_text(&self, sql: &str) -> Result<String, SqlError> {
        let rows = self.query(sql)?;
        let field = |v: Option<String>| match v {
            None => "NULL".to_string(),
            Some(s) => s.replace('\\', "\\\\").replace('\n', "\\n"),
        };
        let lines: Vec<String> = rows
            .into_iter()
            .map(|r| r.into_iter().map(field).collect::<Vec<_>>().join("\t"))
            .collect();
        Ok(lines.join("\n"))
    }

    /// The value `SET GLOBAL` gave `name`, if any.
    pub fn global_var(&self, name: &str) -> Option<String> {
        self.engine.cat().globals.get(&name.to_lowercase()).cloned()
    }

    /// `VARIABLE_VALUE` of `mysql.tidb` row `name`.
    pub fn mysql_tidb(&self, name: &str) -> Option<String> {
        self.engine.cat().mysql_tidb.get(name).cloned()
    }

    /// What `ADMIN CHECKSUM TABLE db.table` would report now.
    pub fn checksum(&self, db: &str, table: &str) -> Option<KvChecksum> {
        let info = self.table_info(db, table)?;
        Some(show::table_checksum(&self.engine, &info))
    }
}

impl Drop for SimTidb {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Accept loop of both ports; returns (dropping every connection task with the runtime)
/// when `stop` fires or its sender is dropped.
async fn serve(
    sql_l: TcpListener,
    http_l: TcpListener,
    e: Arc<sql::Engine>,
    mut stop: oneshot::Receiver<()>,
) {
    let (Ok(sql_l), Ok(http_l)) = (
        tokio::net::TcpListener::from_std(sql_l),
        tokio::net::TcpListener::from_std(http_l),
    ) else {
        return;
    };
    let conn_ids = Arc::new(AtomicU32::new(1));
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        tokio::select! {
            _ = &mut stop => return,
            acc = sql_l.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let (e, open) = (e.clone(), open.clone());
                let id = conn_ids.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    open.fetch_add(1, Ordering::Relaxed);
                    let _ = conn::serve(stream, &e, id).await;
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            acc = http_l.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let (e, n) = (e.clone(), open.load(Ordering::Relaxed));
                tokio::spawn(async move {
                    let _ = http::serve(stream, &e, n).await;
                });
            }
        }
    }
}
