//! The status server (`[lightning] status-addr`, `--status-addr`) and server mode
//! (`--server-mode`), with upstream's HTTP API:
//!
//! - `GET /metrics`: Prometheus text format (see `lightning::metrics`);
//! - `GET /progress/task`, `GET /progress/table?t=`: progress of the task in hand;
//! - `GET|PUT|POST /loglevel` (`{"level":"debug"}`);
//! - `GET|PUT /pause`, `PUT /resume`: no new chunk, read, delivery or region job while paused;
//! - `GET|POST /tasks`, `GET|DELETE /tasks/{id}`, `PATCH /tasks/{id}/front|back`: the task
//!   queue. Without server mode the queue holds the one task of the command line, and
//!   `POST` answers 501 as upstream's.
//!
//! Errors are `{"error": "…"}` with a 4xx/5xx status. Tasks run one at a time, in queue order.

use crate::LogLevel;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, put};
use axum::Router;
use lightning::{pauser, StopFlag};
use lightning_config::Config;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// One task waiting in the queue.
struct Queued {
    id: i64,
    cfg: Box<Config>,
}

/// The task running now.
struct Current {
    id: i64,
    stop: Arc<StopFlag>,
    data_source_dir: String,
    backend: &'static str,
}

#[derive(Default)]
struct Queue {
    last_id: i64,
    waiting: VecDeque<Queued>,
    current: Option<Current>,
}

/// What the handlers share.
pub struct Server {
    level: LogLevel,
    /// The server's command line, under which posted tasks are read (server mode only).
    server_args: Option<Vec<String>>,
    queue: Mutex<Queue>,
    wake: Notify,
}

/// How one task ended, as the runner reports it.
pub type TaskResult = Result<lightning::ImportSummary, lightning::LightningError>;

impl Server {
    /// A server; `server_args` is `Some(command line)` in server mode.
    pub fn new(level: LogLevel, server_args: Option<Vec<String>>) -> Arc<Self> {
        Arc::new(Server {
            level,
            server_args,
            queue: Mutex::default(),
            wake: Notify::new(),
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a task; returns its id (increasing, from the clock as upstream's are random).
    pub fn push(&self, cfg: Box<Config>) -> i64 {
        let mut q = self.queue();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let id = now.max(q.last_id + 1);
        q.last_id = id;
        q.waiting.push_back(Queued { id, cfg });
        drop(q);
        self.wake.notify_one();
        id
    }

    /// Takes the next queued task, making it the current one with a stop flag of its own.
    fn start_next(&self) -> Option<(i64, Box<Config>, Arc<StopFlag>)> {
        let mut q = self.queue();
        let t = q.waiting.pop_front()?;
        let task_stop = Arc::new(StopFlag::default());
        q.current = Some(Current {
            id: t.id,
            stop: task_stop.clone(),
            data_source_dir: t.cfg.mydumper.data_source_dir.clone(),
            backend: t.cfg.tikv_importer.backend.as_str(),
        });
        Some((t.id, t.cfg, task_stop))
    }

    /// Runs the next queued task (waiting for one), with `stop` as its stop flag besides
    /// its own `DELETE`; returns its id and result, or `None` when `stop` is set before a
    /// task starts. A task that started runs until it stops by itself.
    pub async fn run_next(&self, stop: &Arc<StopFlag>) -> Option<(i64, TaskResult)> {
        let (id, cfg, task_stop) = loop {
            let notified = self.wake.notified();
            if let Some(t) = self.start_next() {
                break t;
            }
            tokio::select! {
                () = notified => {}
                () = stop.stopped() => return None,
            }
        };
        tracing::info!(task = id, "task started");
        // Either flag stops the task: the process's (signals) or the task's (DELETE).
        let (outer, inner) = (stop.clone(), task_stop.clone());
        let relay = tokio::spawn(async move {
            outer.stopped().await;
            inner.stop();
        });
        let res = lightning::run_with_stop(*cfg, task_stop).await;
        relay.abort();
        self.queue().current = None;
        Some((id, res))
    }
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    json(
        status,
        serde_json::json!({ "error": message.to_string() }).to_string(),
    )
}

fn ok_empty() -> Response {
    json(StatusCode::OK, "{}".into())
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, lightning::metrics::CONTENT_TYPE)],
        lightning::metrics::render(),
    )
        .into_response()
}

async fn progress_task() -> Response {
    json(StatusCode::OK, lightning::status::task_json())
}

async fn progress_table(Query(q): Query<HashMap<String, String>>) -> Response {
    let table = q.get("t").map_or("", String::as_str);
    match lightning::status::table_json(table) {
        Some(body) => json(StatusCode::OK, body),
        None => error(StatusCode::NOT_FOUND, format!("table {table} not found")),
    }
}

async fn get_level(State(s): State<Arc<Server>>) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({ "level": s.level.get() }).to_string(),
    )
}

async fn set_level(State(s): State<Arc<Server>>, body: Bytes) -> Response {
    let level = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("level").and_then(|l| l.as_str()).map(str::to_string));
    let Some(level) = level else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid log level: expected {\"level\": \"debug|info|warn|error|fatal\"}",
        );
    };
    let old = s.level.get();
    match s.level.set(&level) {
        Ok(()) => {
            tracing::warn!(old = %old, new = %s.level.get(), "changed log level");
            ok_empty()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, format!("invalid log level: {e}")),
    }
}

async fn get_pause() -> Response {
    json(
        StatusCode::OK,
        format!("{{\"paused\":{}}}", pauser().is_paused()),
    )
}

async fn pause() -> Response {
    pauser().pause();
    tracing::info!("progress paused");
    ok_empty()
}

async fn resume() -> Response {
    pauser().resume();
    tracing::info!("progress resumed");
    ok_empty()
}

async fn list_tasks(State(s): State<Arc<Server>>) -> Response {
    let q = s.queue();
    let body = serde_json::json!({
        "current": q.current.as_ref().map(|c| c.id),
        "queue": q.waiting.iter().map(|t| t.id).collect::<Vec<_>>(),
    });
    json(StatusCode::OK, body.to_string())
}

async fn post_task(State(s): State<Arc<Server>>, body: Bytes) -> Response {
    let Some(args) = &s.server_args else {
        return error(StatusCode::NOT_IMPLEMENTED, "server-mode not enabled");
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "cannot parse task (must be TOML): not UTF-8",
        );
    };
    match Config::for_task(args, text) {
        Ok(cfg) => {
            let id = s.push(Box::new(cfg));
            tracing::info!(task = id, "received task config");
            json(StatusCode::OK, serde_json::json!({ "id": id }).to_string())
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            format!("invalid task configuration: {e}"),
        ),
    }
}

fn parse_id(id: &str) -> Result<i64, Box<Response>> {
    id.parse().map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("invalid task ID: {e}"),
        ))
    })
}

async fn get_task(State(s): State<Arc<Server>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let q = s.queue();
    let found = match &q.current {
        Some(c) if c.id == id => Some(("running", c.data_source_dir.clone(), c.backend)),
        _ => q.waiting.iter().find(|t| t.id == id).map(|t| {
            (
                "queued",
                t.cfg.mydumper.data_source_dir.clone(),
                t.cfg.tikv_importer.backend.as_str(),
            )
        }),
    };
    match found {
        Some((state, dir, backend)) => json(
            StatusCode::OK,
            serde_json::json!({
                "id": id, "state": state,
                "mydumper": { "data-source-dir": dir },
                "tikv-importer": { "backend": backend },
            })
            .to_string(),
        ),
        None => error(StatusCode::NOT_FOUND, "task ID not found"),
    }
}

async fn delete_task(State(s): State<Arc<Server>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let mut q = s.queue();
    let cancelled = match &q.current {
        Some(c) if c.id == id => {
            c.stop.stop();
            true
        }
        _ => {
            let before = q.waiting.len();
            q.waiting.retain(|t| t.id != id);
            q.waiting.len() < before
        }
    };
    tracing::info!(task = id, success = cancelled, "canceled task");
    if cancelled {
        ok_empty()
    } else {
        error(StatusCode::NOT_FOUND, "task ID not found")
    }
}

async fn move_task(
    State(s): State<Arc<Server>>,
    Path((id, verb)): Path<(String, String)>,
) -> Response {
    if s.server_args.is_none() {
        return error(StatusCode::NOT_IMPLEMENTED, "server-mode not enabled");
    }
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let mut q = s.queue();
    let Some(at) = q.waiting.iter().position(|t| t.id == id) else {
        return error(StatusCode::NOT_FOUND, "task ID not found");
    };
    let Some(t) = q.waiting.remove(at) else {
        return error(StatusCode::NOT_FOUND, "task ID not found");
    };
    match verb.as_str() {
        "front" => q.waiting.push_front(t),
        "back" => q.waiting.push_back(t),
        _ => {
            q.waiting.insert(at, t);
            return error(StatusCode::BAD_REQUEST, "unknown patch action");
        }
    }
    ok_empty()
}

/// The routes of the status API.
pub fn router(s: Arc<Server>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/progress/task", get(progress_task))
        .route("/progress/table", get(progress_table))
        .route("/loglevel", get(get_level).put(set_level).post(set_level))
        .route("/pause", get(get_pause).put(pause))
        .route("/resume", put(resume))
        .route("/tasks", get(list_tasks).post(post_task))
        .route("/tasks/{id}", get(get_task).delete(delete_task))
        .route("/tasks/{id}/{verb}", patch(move_task))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not found") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .with_state(s)
}

/// The status port's certificate and key (`[security] cert-path`, `key-path`), when set.
pub struct StatusTls {
    /// PEM certificate chain.
    pub cert: std::path::PathBuf,
    /// PEM private key.
    pub key: std::path::PathBuf,
}

/// Binds `addr` (upstream's form: `:8289` is every interface) and serves the API in the
/// background, over TLS with `tls` (no client certificate asked, as upstream's); returns
/// the address bound (a port of 0 picks one).
pub async fn serve(
    addr: &str,
    tls: Option<StatusTls>,
    s: Arc<Server>,
) -> anyhow::Result<std::net::SocketAddr> {
    let bind = match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_string(),
    };
    let acceptor = tls.map(|t| tls_acceptor(&t)).transpose()?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| anyhow::anyhow!("status-addr {addr}: cannot listen: {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, tls = acceptor.is_some(), "starting HTTP server");
    let app = router(s);
    tokio::spawn(async move {
        let res = match acceptor {
            Some(acceptor) => axum::serve(TlsListener::start(listener, acceptor), app).await,
            None => axum::serve(listener, app).await,
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "HTTP server stopped");
        }
    });
    Ok(local)
}

fn tls_acceptor(t: &StatusTls) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&t.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("security.cert-path {}: {e}", t.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&t.key)
        .map_err(|e| anyhow::anyhow!("security.key-path {}: {e}", t.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("the status port's certificate and key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

/// A TCP listener whose connections are TLS. Each handshake runs in a task of its own, so
/// a client that connects and sends nothing delays no one else; a failed or slow
/// handshake drops that connection only.
struct TlsListener {
    local: std::net::SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(TlsIo, std::net::SocketAddr)>,
}

type TlsIo = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl TlsListener {
    fn start(tcp: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor) -> Self {
        let local = tcp
            .local_addr()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (conn, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "status server: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, ready) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(conn)).await {
                        Ok(Ok(tls)) => {
                            let _ = ready.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "status server: TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "status server: TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        TlsListener { local, ready }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsIo;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop ended (it never does while the listener lives).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
