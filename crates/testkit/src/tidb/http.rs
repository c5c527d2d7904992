//! TiDB's status port, as far as TiDB Lightning uses it: `GET /status` (the version check
//! of `checkTiDBVersionByTLS`), `GET /settings` (port and PD address when the config lacks
//! them), `GET /schema` (database models,
//! `tikv.FetchRemoteDBModelsFromTLS`), `GET /schema/{db}` (table models of the local
//! backend, `tikv.FetchRemoteTableModelsFromTLS`), `GET /schema/{db}/{table}` and
//! `GET /schema?table_id=N` (TiDB's documented HTTP API). A minimal HTTP/1.1 server: one
//! request per connection, answered with `Connection: close`.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::query::server_version;
use super::sql::Engine;

/// Serves one HTTP connection.
pub async fn serve(stream: TcpStream, e: &Engine, connections: usize) -> std::io::Result<()> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await? == 0 || h.trim().is_empty() {
            break;
        }
    }
    let (code, body) = if method == "GET" {
        route(e, target, connections)
    } else {
        (405, "method not allowed".to_string())
    };
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let ctype = if code == 200 {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = r.into_inner();
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// Decodes `%xx` escapes of a path segment.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code and body for `target`. Errors follow TiDB's handlers
/// (pkg/server/handler/util.go, WriteError: status 400, body the error text, e.g.
/// `[schema:1049]Unknown database 'x'`, which Lightning matches by text); routes follow
/// pkg/server/handler/tikvhandler/tikv_handler_schema.go (SchemaHandler).
fn route(e: &Engine, target: &str, connections: usize) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(unescape)
        .collect();
    let cat = e.cat();
    match segs
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["status"] => {
            let v = serde_json::json!({
                "connections": connections,
                "version": server_version(&e.release),
                "git_hash": "0000000000000000000000000000000000000000",
            });
            (200, v.to_string())
        }
        // Lightning fills a missing `tidb.port` / `tidb.pd-addr` from TiDB's config here
        // (pkg/lightning/config/config.go, Adjust: settings.Port and the first of
        // settings.Path split at ','); the keys are TiDB's config JSON names.
        ["settings"] => {
            let v = serde_json::json!({
                "host": e.sql_addr.ip().to_string(),
                "port": e.sql_addr.port(),
                "store": "tikv",
                "path": e.pd_addrs.join(","),
                "status": {
                    "report-status": true,
                    "status-host": e.status_addr.ip().to_string(),
                    "status-port": e.status_addr.port(),
                },
            });
            (200, v.to_string())
        }
        ["schema"] if query.starts_with("table_id=") => {
            let id: i64 = query["table_id=".len()..].parse().unwrap_or(-1);
            let found = cat
                .dbs
                .values()
                .flat_map(|d| d.tables.values())
                .find(|t| t.info.id == id);
            match found {
                Some(t) => (200, t.info.to_tidb_json()),
                None => (
                    400,
                    "[schema:1146]Table which ID = {id} does not exist."
                        .replace("{id}", &id.to_string()),
                ),
            }
        }
        ["schema"] => {
            let dbs: Vec<serde_json::Value> = cat
                .dbs
                .values()
                .map(|d| {
                    serde_json::json!({
                        "id": d.id,
                        "db_name": {"O": d.name, "L": d.name.to_lowercase()},
                        "charset": d.charset,
                        "collate": d.collation,
                        "state": 5,
                    })
                })
                .collect();
            (200, serde_json::Value::Array(dbs).to_string())
        }
        ["schema", db] => match cat.db(db) {
            Some(d) => {
                let tables: Vec<String> =
                    d.tables.values().map(|t| t.info.to_tidb_json()).collect();
                (200, format!("[{}]", tables.join(",")))
            }
            None => (400, format!("[schema:1049]Unknown database '{db}'")),
        },
        ["schema", db, table] => match (cat.db(db), cat.table(db, table)) {
            (_, Some(t)) => (200, t.info.to_tidb_json()),
            (None, _) => (400, format!("[schema:1049]Unknown database '{db}'")),
            (Some(_), None) => (
                400,
                format!("[schema:1146]Table '{db}.{table}' doesn't exist"),
            ),
        },
        _ => (404, "404 page not found\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn unescapes_percent_sequences() {
        assert_eq!(unescape("a%20b%2"), "a b%2");
        assert_eq!(unescape("%E4%B8%AD"), "中");
    }
}
