//! Server-side prepared statements (COM_STMT_PREPARE / EXECUTE / CLOSE / RESET). Go's
//! MySQL driver sends every query with arguments this way unless `interpolateParams` is
//! set, and Lightning's connections do not set it (pkg/lightning/common/util.go,
//! ToDriverConfig), e.g. for `UPDATE mysql.tidb SET VARIABLE_VALUE = ? …` and TableExists.
//! Parameters are bound by substituting SQL literals for the `?` placeholders; the
//! statement then runs like a text query and answers in the binary protocol.

use std::collections::HashMap;

use super::lex::placeholders;
use super::proto::{
    binary_result_set, err_packet, lenenc_int, ok_packet, prepare_ok, STATUS_AUTOCOMMIT,
};
use super::sql::{execute, Engine, Outcome, Session, SqlError};

/// One prepared statement.
struct Prepared {
    sql: String,
    marks: Vec<usize>,
    /// Parameter types from the last execution that bound them.
    types: Vec<(u8, bool)>,
}

/// The prepared statements of one connection.
#[derive(Default)]
pub struct Statements {
    next: u32,
    map: HashMap<u32, Prepared>,
}

fn err(e: SqlError) -> Vec<Vec<u8>> {
    vec![err_packet(e.code, e.state, &e.msg)]
}

impl Statements {
    /// COM_STMT_PREPARE.
    pub fn prepare(&mut self, sql: &str) -> Vec<Vec<u8>> {
        let marks = placeholders(sql);
        let Ok(n) = u16::try_from(marks.len()) else {
            return err(SqlError::new(
                1390,
                "HY000",
                "Prepared statement contains too many placeholders",
            ));
        };
        self.next += 1;
        let p = Prepared {
            sql: sql.to_string(),
            marks,
            types: Vec::new(),
        };
        self.map.insert(self.next, p);
        prepare_ok(self.next, n)
    }

    /// COM_STMT_CLOSE (no reply is sent).
    pub fn close(&mut self, body: &[u8]) {
        if let Some(id) = body
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
        {
            self.map.remove(&id);
        }
    }

    /// COM_STMT_EXECUTE: binds, runs, answers.
    pub fn execute(&mut self, e: &Engine, s: &mut Session, body: &[u8]) -> Vec<Vec<u8>> {
        let bad = || {
            err(SqlError::new(
                1210,
                "HY000",
                "Incorrect arguments to mysqld_stmt_execute",
            ))
        };
        let Some(id) = body
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
        else {
            return bad();
        };
        let Some(p) = self.map.get_mut(&id) else {
            return err(SqlError::new(
                1243,
                "HY000",
                format!("Unknown prepared statement handler ({id}) given to mysqld_stmt_execute"),
            ));
        };
        let Some(values) = bind(p, body.get(9..).unwrap_or_default()) else {
            return bad();
        };
        let mut sql = String::with_capacity(p.sql.len());
        let mut last = 0;
        for (&at, v) in p.marks.iter().zip(&values) {
            sql.push_str(&p.sql[last..at]);
            sql.push_str(v);
            last = at + 1;
        }
        sql.push_str(&p.sql[last..]);
        match execute(e, s, &sql) {
            Ok(Outcome::Ok { affected }) => vec![ok_packet(affected, STATUS_AUTOCOMMIT, 0)],
            Ok(Outcome::Rows { cols, rows }) => binary_result_set(&cols, &rows, STATUS_AUTOCOMMIT),
            Err(x) => err(x),
        }
    }
}

/// Quotes `s` as a SQL string literal for the simulator's lexer.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// Decodes the parameter block (null bitmap, bound types, values) into SQL literals.
fn bind(p: &mut Prepared, b: &[u8]) -> Option<Vec<String>> {
    let n = p.marks.len();
    if n == 0 {
        return Some(Vec::new());
    }
    let nulls = b.get(..n.div_ceil(8))?;
    let mut i = nulls.len();
    if *b.get(i)? == 1 {
        i += 1;
        let raw = b.get(i..i + 2 * n)?;
        p.types = raw.chunks(2).map(|t| (t[0], t[1] & 0x80 != 0)).collect();
        i += 2 * n;
    } else {
        i += 1;
    }
    if p.types.len() != n {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for (k, &(ty, unsigned)) in p.types.iter().enumerate() {
        if nulls[k / 8] & (1 << (k % 8)) != 0 || ty == 0x06 {
            out.push("NULL".to_string());
            continue;
        }
        let int = |w: usize, i: &mut usize| -> Option<String> {
            let raw = b.get(*i..*i + w)?;
            *i += w;
            let mut buf = [0u8; 8];
            buf[..w].copy_from_slice(raw);
            let u = u64::from_le_bytes(buf);
            Some(if unsigned {
                u.to_string()
            } else {
                let shift = 64 - 8 * w as u32;
                (((u << shift) as i64) >> shift).to_string()
            })
        };
        let v = match ty {
            0x01 => int(1, &mut i)?,
            0x02 | 0x0d => int(2, &mut i)?,
            0x03 | 0x09 => int(4, &mut i)?,
            0x08 => int(8, &mut i)?,
            0x04 => {
                let v = f32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?);
                i += 4;
                v.to_string()
            }
            0x05 => {
                let v = f64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?);
                i += 8;
                v.to_string()
            }
            _ => {
                let (len, used) = lenenc_int(b.get(i..)?)?;
                i += used;
                let raw = b.get(i..i + len as usize)?;
                i += len as usize;
                quote(&String::from_utf8_lossy(raw))
            }
        };
        out.push(v);
    }
    Some(out)
}
