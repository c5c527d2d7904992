//! `INSERT INTO [db.]t [(cols)] VALUES (…), …`: rows encoded as TiDB encodes them (the
//! project's codec, the same as the simulator's reads decode) and committed to the
//! cluster in one transaction. Literals only (strings, numbers, `0x…` hex, NULL, TRUE,
//! FALSE); a missing auto-increment or `_tidb_rowid` value comes from the table's
//! allocator, which moves past it. No uniqueness check: meant for bookkeeping tables such
//! as Lightning's task-info schema, not as a transactional database.

use super::lex::Tok;
use super::sql::{qualify, Cur, Engine, Outcome, Session, SqlError};
use lightning_encode::{EncodeOptions, Encoder, KvPairs};
use lightning_parser::{Field, FieldKind};

/// One literal: its kind and bytes.
type Literal = (FieldKind, Vec<u8>);

/// Runs an INSERT.
pub fn insert(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Result<Outcome, SqlError> {
    c.expect_kw("INSERT")?;
    c.kw("INTO");
    let (db, t) = qualify(s, c.name()?)?;
    let mut columns = None;
    if c.punct('(') {
        let mut cols = Vec::new();
        loop {
            cols.push(c.ident()?);
            if c.punct(')') {
                break;
            }
            if !c.punct(',') {
                return Err(c.err());
            }
        }
        columns = Some(cols);
    }
    if !c.kw("VALUES") {
        c.expect_kw("VALUE")?;
    }
    let mut rows: Vec<Vec<Literal>> = Vec::new();
    loop {
        if !c.punct('(') {
            return Err(c.err());
        }
        let mut row = Vec::new();
        if !c.punct(')') {
            loop {
                row.push(literal(c)?);
                if c.punct(')') {
                    break;
                }
                if !c.punct(',') {
                    return Err(c.err());
                }
            }
        }
        rows.push(row);
        if !c.punct(',') {
            break;
        }
    }
    c.finish()?;

    let mut cat = e.cat();
    let table = cat
        .table_mut(&db, &t)
        .ok_or_else(|| SqlError::no_table(&db, &t))?;
    let opts = EncodeOptions {
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        ..EncodeOptions::default()
    };
    let info = table.info.clone();
    let mut enc =
        Encoder::new(&info, opts).map_err(|err| SqlError::new(1105, "HY000", err.to_string()))?;
    enc.set_columns(columns.as_deref())
        .map_err(|err| SqlError::new(1054, "42S22", err.to_string()))?;
    let mut next = info.auto_increment_base.unwrap_or(1).max(1);
    let mut kvs = KvPairs::new();
    for row in &rows {
        let fields: Vec<Field<'_>> = row
            .iter()
            .map(|(kind, bytes)| Field { kind: *kind, bytes })
            .collect();
        enc.encode_row(&fields, next as i64, &mut kvs)
            .map_err(|err| SqlError::new(1366, "HY000", err.to_string()))?;
        next = (next + 1).max(enc.max_ids.row_id.saturating_add(1).max(0) as u64);
    }
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = kvs
        .iter()
        .map(|p| (p.key.to_vec(), p.value.to_vec()))
        .collect();
    e.kv.commit(pairs)
        .map_err(|m| SqlError::new(1105, "HY000", format!("{sql}: {m}")))?;
    table.info.auto_increment_base = Some(next);
    Ok(Outcome::Ok {
        affected: rows.len() as u64,
    })
}

/// A literal value.
fn literal(c: &mut Cur) -> Result<Literal, SqlError> {
    let neg = c.punct('-');
    let lit = match c.bump() {
        Some(Tok::Str(s)) => (FieldKind::Text, s.into_bytes()),
        Some(Tok::Num(n)) => (FieldKind::Number, n.into_bytes()),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => (FieldKind::Null, Vec::new()),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("TRUE") => (FieldKind::Number, b"1".to_vec()),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("FALSE") => (FieldKind::Number, b"0".to_vec()),
        Some(Tok::Word(w)) if w.len() > 2 && (w.starts_with("0x") || w.starts_with("0X")) => {
            (FieldKind::Binary, unhex(&w[2..]).ok_or_else(|| c.err())?)
        }
        _ => return Err(c.err()),
    };
    if neg {
        if lit.0 != FieldKind::Number {
            return Err(c.err());
        }
        let mut b = b"-".to_vec();
        b.extend(lit.1);
        return Ok((FieldKind::Number, b));
    }
    Ok(lit)
}

fn unhex(h: &str) -> Option<Vec<u8>> {
    if h.len() & 1 == 1 {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_literals_decode() {
        assert_eq!(unhex("00fF7a"), Some(vec![0, 255, 0x7a]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
