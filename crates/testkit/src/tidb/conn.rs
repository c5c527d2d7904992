//! One MySQL client connection: handshake, then the command loop (COM_QUERY with
//! multi-statements, COM_INIT_DB, COM_PING, COM_RESET_CONNECTION, COM_QUIT, and the
//! prepared-statement commands of [`super::prepared`]).

use tokio::net::TcpStream;

use super::lex::split_statements;
use super::prepared::Statements;
use super::proto::{
    err_packet, handshake, ok_packet, parse_handshake_response, result_set, PacketIo,
    MULTI_STATEMENTS, STATUS_AUTOCOMMIT, STATUS_MORE_RESULTS,
};
use super::query::server_version;
use super::sql::{execute, Engine, Outcome, Session, SqlError};

/// Packets answering one COM_QUERY that may hold several statements.
/// Several statements need the client's CLIENT_MULTI_STATEMENTS; without it the text is
/// one statement, which the server cannot parse.
fn run_query(e: &Engine, s: &mut Session, text: &str, multi: bool) -> Vec<Vec<u8>> {
    let stmts = split_statements(text);
    if stmts.is_empty() {
        return vec![err_packet(1065, "42000", "Query was empty")];
    }
    if stmts.len() > 1 && !multi {
        return vec![err(SqlError::parse(stmts[1].trim()))];
    }
    let mut out = Vec::new();
    for (i, st) in stmts.iter().enumerate() {
        let status = if i + 1 < stmts.len() {
            STATUS_AUTOCOMMIT | STATUS_MORE_RESULTS
        } else {
            STATUS_AUTOCOMMIT
        };
        match execute(e, s, st) {
            Ok(Outcome::Ok { affected }) => out.push(ok_packet(affected, status, 0)),
            Ok(Outcome::Rows { cols, rows }) => out.extend(result_set(&cols, &rows, status)),
            Err(err) => {
                out.push(err_packet(err.code, err.state, &err.msg));
                break;
            }
        }
    }
    out
}

fn err(e: SqlError) -> Vec<u8> {
    err_packet(e.code, e.state, &e.msg)
}

/// Serves one client until it quits or disconnects.
pub async fn serve(stream: TcpStream, e: &Engine, conn_id: u32) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut io = PacketIo::new(stream);
    let mut scramble = [0u8; 20];
    for (i, b) in scramble.iter_mut().enumerate() {
        *b = b'A' + ((i as u32 * 7 + conn_id) % 26) as u8;
    }
    io.write_packets(&[handshake(&server_version(&e.release), conn_id, &scramble)])
        .await?;
    let Some(resp) = io.read().await? else {
        return Ok(());
    };
    let Some((caps, db)) = parse_handshake_response(&resp) else {
        return io
            .write_packets(&[err_packet(1043, "08S01", "Bad handshake")])
            .await;
    };
    let mut s = Session::default();
    let mut stmts = Statements::default();
    if let Some(db) = db {
        let found = e.cat().db(&db).map(|d| d.name.clone());
        match found {
            Some(name) => s.db = Some(name),
            None => return io.write_packets(&[err(SqlError::bad_db(&db))]).await,
        }
    }
    io.write_packets(&[ok_packet(0, STATUS_AUTOCOMMIT, 0)])
        .await?;
    loop {
        io.reset_seq();
        let Some(pkt) = io.read().await? else {
            return Ok(());
        };
        let body = String::from_utf8_lossy(pkt.get(1..).unwrap_or_default()).into_owned();
        let reply = match pkt.first() {
            Some(0x01) => return Ok(()),
            Some(0x02) => {
                let q = format!("USE `{}`", body.replace('`', "``"));
                match execute(e, &mut s, &q) {
                    Ok(_) => vec![ok_packet(0, STATUS_AUTOCOMMIT, 0)],
                    Err(x) => vec![err(x)],
                }
            }
            Some(0x03) => run_query(e, &mut s, &body, caps & MULTI_STATEMENTS != 0),
            Some(0x0e) => vec![ok_packet(0, STATUS_AUTOCOMMIT, 0)],
            Some(0x1f) => {
                s.vars.clear();
                vec![ok_packet(0, STATUS_AUTOCOMMIT, 0)]
            }
            Some(0x16) => stmts.prepare(&body),
            Some(0x17) => stmts.execute(e, &mut s, pkt.get(1..).unwrap_or_default()),
            Some(0x19) => {
                stmts.close(pkt.get(1..).unwrap_or_default());
                continue;
            }
            Some(0x1a) => vec![ok_packet(0, STATUS_AUTOCOMMIT, 0)],
            _ => vec![err_packet(1047, "08S01", "Unknown command")],
        };
        io.write_packets(&reply).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidb::catalog::Catalog;
    use crate::tidb::MemKv;
    use std::sync::{Arc, Mutex};

    fn engine() -> Engine {
        Engine {
            catalog: Mutex::new(Catalog::new(100)),
            kv: Arc::new(MemKv::new()),
            release: "v8.5.0".into(),
            tikv_addrs: Vec::new(),
            pd_addrs: Vec::new(),
            sql_addr: ([127, 0, 0, 1], 4000).into(),
            status_addr: ([127, 0, 0, 1], 10080).into(),
        }
    }

    #[test]
    fn multi_statements_need_the_capability() {
        let e = engine();
        let mut s = Session::default();
        let single = run_query(&e, &mut s, "CREATE DATABASE a; CREATE DATABASE b", false);
        assert_eq!(single.len(), 1);
        assert_eq!(single[0][0], 0xff, "an ERR packet");
        assert!(e.cat().db("a").is_none(), "nothing ran");
        let multi = run_query(&e, &mut s, "CREATE DATABASE a; CREATE DATABASE b", true);
        assert_eq!(multi.len(), 2);
        assert!(e.cat().db("b").is_some());
        // The first OK announces more results; the last does not.
        assert_eq!(
            multi[0][3] & (STATUS_MORE_RESULTS as u8),
            STATUS_MORE_RESULTS as u8
        );
        assert_eq!(multi[1][3] & (STATUS_MORE_RESULTS as u8), 0);
    }
}
