//! Reads of user tables by a full scan of their record keys, each row value decoded with
//! the table's schema: `SELECT cols | * | HEX(col) | COUNT(*) | COUNT([DISTINCT] col) |
//! SUM(col) | MIN(col) | MAX(col) FROM t [WHERE col op literal [AND …]] [ORDER BY col
//! [DESC], …] [LIMIT n]`. What it cannot answer exactly as TiDB would (other expressions,
//! TIME / BIT / float-exponent / uncertain JSON renderings, virtual generated columns,
//! SUM of non-integers) is ER_NOT_SUPPORTED_YET, never an approximation.

use std::cmp::Ordering;

use lightning_encode::codec::datum::encode_key_datum;
use lightning_encode::key::{decode_key, DecodedHandle, DecodedKey};
use lightning_encode::rowv2::{decode_v2_value, RowV2};
use lightning_encode::table::{ColumnInfo, ColumnType, HandleKind};
use lightning_encode::time::parse_datetime;
use lightning_encode::{Datum, Decimal, TableInfo};

use super::lex::Tok;
use super::proto::Column;
use super::sql::{Cur, Engine, Outcome, Res, SqlError};

/// One select-list item: its tokens and its `AS` alias.
pub(super) type Item = (Vec<Tok>, Option<String>);

/// A column of the scanned table, or the hidden `_tidb_rowid`.
#[derive(Clone, Copy)]
enum Col {
    Real(usize),
    RowId,
}

enum Agg {
    CountStar,
    Count(Col),
    CountDistinct(Col),
    Sum(Col),
    Min(Col),
    Max(Col),
}

enum Expr {
    Col(Col),
    Hex(Col),
    Const(String),
    Agg(Agg),
}

enum Pred {
    Cmp(Col, &'static str, Datum),
    IsNull(Col, bool),
}

fn unknown_col(name: &str, clause: &str) -> SqlError {
    SqlError::new(
        1054,
        "42S22",
        format!("Unknown column '{name}' in '{clause}'"),
    )
}

fn resolve(info: &TableInfo, name: &str, clause: &str) -> Result<Col, SqlError> {
    if let Some(c) = info.column(name) {
        return Ok(Col::Real(c.offset));
    }
    if name.eq_ignore_ascii_case("_tidb_rowid") && info.handle == HandleKind::RowId {
        return Ok(Col::RowId);
    }
    Err(unknown_col(name, clause))
}

fn col_name(t: &Tok) -> Option<&str> {
    match t {
        Tok::Word(w) | Tok::Quoted(w) => Some(w),
        _ => None,
    }
}

fn parse_item(info: &TableInfo, toks: &[Tok], sql: &str) -> Result<Expr, SqlError> {
    let field = |n: &str| resolve(info, n, "field list");
    let f = |w: &Tok, name: &str| matches!(w, Tok::Word(x) if x.eq_ignore_ascii_case(name));
    Ok(match toks {
        [Tok::Num(n)] => Expr::Const(n.clone()),
        [t] if col_name(t).is_some() => Expr::Col(field(col_name(t).unwrap_or_default())?),
        [w, Tok::Punct('('), Tok::Punct('*') | Tok::Num(_), Tok::Punct(')')] if f(w, "COUNT") => {
            Expr::Agg(Agg::CountStar)
        }
        [w, Tok::Punct('('), d, t, Tok::Punct(')')] if f(w, "COUNT") && f(d, "DISTINCT") => {
            let n = col_name(t).ok_or_else(|| SqlError::unsupported(sql))?;
            Expr::Agg(Agg::CountDistinct(field(n)?))
        }
        [w, Tok::Punct('('), t, Tok::Punct(')')] if col_name(t).is_some() => {
            let c = field(col_name(t).unwrap_or_default())?;
            match w {
                Tok::Word(x) if x.eq_ignore_ascii_case("COUNT") => Expr::Agg(Agg::Count(c)),
                Tok::Word(x) if x.eq_ignore_ascii_case("SUM") => Expr::Agg(Agg::Sum(c)),
                Tok::Word(x) if x.eq_ignore_ascii_case("MIN") => Expr::Agg(Agg::Min(c)),
                Tok::Word(x) if x.eq_ignore_ascii_case("MAX") => Expr::Agg(Agg::Max(c)),
                Tok::Word(x) if x.eq_ignore_ascii_case("HEX") => Expr::Hex(c),
                _ => return Err(SqlError::unsupported(sql)),
            }
        }
        _ => return Err(SqlError::unsupported(sql)),
    })
}

/// A decoded row: one datum per column, then the handle.
struct Row {
    cells: Vec<Datum>,
    handle: Option<i64>,
}

impl Row {
    fn get(&self, c: Col) -> Datum {
        match c {
            Col::Real(i) => self.cells[i].clone(),
            Col::RowId => self.handle.map_or(Datum::Null, Datum::Int),
        }
    }
}

fn corrupt(what: impl std::fmt::Display) -> SqlError {
    SqlError::new(1105, "HY000", format!("cannot decode a stored row: {what}"))
}

/// Decodes every record of `info`.
fn scan_rows(e: &Engine, info: &TableInfo) -> Result<Vec<Row>, SqlError> {
    let mut rows = Vec::new();
    for (k, v) in super::show::record_range(e, info.id) {
        let handle = match decode_key(&k).map_err(corrupt)? {
            DecodedKey::Record {
                handle: DecodedHandle::Int(h),
                ..
            } => Some(h),
            DecodedKey::Record { .. } => None,
            _ => return Err(corrupt("not a record key")),
        };
        let row = RowV2::parse(&v).map_err(corrupt)?;
        let mut cells = Vec::with_capacity(info.columns.len());
        for c in &info.columns {
            if is_virtual(c) {
                // Not stored; `select` refuses statements that read it.
                cells.push(Datum::Null);
                continue;
            }
            let d = match row.get(c.id as u32) {
                Some(Some(raw)) => decode_v2_value(raw, &c.ft).map_err(corrupt)?,
                Some(None) => Datum::Null,
                None => match (&info.handle, handle) {
                    (HandleKind::IntPk { offset }, Some(h)) if *offset == c.offset => {
                        if c.ft.unsigned {
                            Datum::Uint(h as u64)
                        } else {
                            Datum::Int(h)
                        }
                    }
                    _ => return Err(corrupt(format!("column `{}` missing", c.name))),
                },
            };
            cells.push(d);
        }
        rows.push(Row { cells, handle });
    }
    Ok(rows)
}

/// The memcomparable sort key of `d` in column `c` (collation key for strings).
fn sort_key(info: &TableInfo, c: Col, d: &Datum) -> Vec<u8> {
    let mut out = Vec::new();
    let d = match (c, d) {
        (Col::Real(i), Datum::Bytes(b)) if info.columns[i].ft.is_string() => {
            Datum::Bytes(info.columns[i].ft.collation.key(b))
        }
        // One binary layout for every decimal (the widest), so that values of different
        // scales compare by value.
        (_, Datum::Decimal { value, .. }) => Datum::Decimal {
            value: *value,
            prec: 65,
            frac: 30,
        },
        _ => d.clone(),
    };
    // Only Datum::Max fails to encode, and rows never hold it.
    let _ = encode_key_datum(&mut out, &d);
    out
}

/// `literal` as a datum of column `c`'s type, or None when the simulator would have to
/// guess TiDB's conversion.
fn literal(info: &TableInfo, c: Col, lit: &str, is_str: bool) -> Option<Datum> {
    let ft = match c {
        Col::RowId => return lit.parse().ok().map(Datum::Int),
        Col::Real(i) => &info.columns[i].ft,
    };
    Some(match ft.tp {
        ColumnType::TinyInt
        | ColumnType::SmallInt
        | ColumnType::MediumInt
        | ColumnType::Int
        | ColumnType::BigInt
        | ColumnType::Year => {
            let v: i128 = lit.parse().ok()?;
            if ft.unsigned {
                Datum::Uint(u64::try_from(v).ok()?)
            } else {
                Datum::Int(i64::try_from(v).ok()?)
            }
        }
        ColumnType::Char | ColumnType::VarChar | ColumnType::Blob if is_str => {
            Datum::Bytes(lit.as_bytes().to_vec())
        }
        ColumnType::Float | ColumnType::Double if !is_str => Datum::Float(lit.parse().ok()?),
        ColumnType::Decimal => {
            let value = Decimal::parse(lit.as_bytes()).ok()?;
            Datum::Decimal {
                value,
                prec: 0,
                frac: 0,
            }
        }
        ColumnType::Date | ColumnType::DateTime if is_str => {
            Datum::Time(parse_datetime(lit.as_bytes()).ok()?)
        }
        _ => return None,
    })
}

fn parse_where(info: &TableInfo, c: &mut Cur, sql: &str) -> Result<Vec<Pred>, SqlError> {
    let mut preds = Vec::new();
    if !c.kw("WHERE") {
        return Ok(preds);
    }
    loop {
        let col = resolve(info, &c.ident()?, "where clause")?;
        if c.kw("IS") {
            let not = c.kw("NOT");
            c.expect_kw("NULL")?;
            preds.push(Pred::IsNull(col, !not));
        } else {
            let op = match (c.bump(), c.peek()) {
                (Some(Tok::Punct('=')), _) => "=",
                (Some(Tok::Punct('<')), Some(Tok::Punct('>'))) => {
                    c.bump();
                    "<>"
                }
                (Some(Tok::Punct('!')), Some(Tok::Punct('='))) => {
                    c.bump();
                    "<>"
                }
                (Some(Tok::Punct('<')), Some(Tok::Punct('='))) => {
                    c.bump();
                    "<="
                }
                (Some(Tok::Punct('>')), Some(Tok::Punct('='))) => {
                    c.bump();
                    ">="
                }
                (Some(Tok::Punct('<')), _) => "<",
                (Some(Tok::Punct('>')), _) => ">",
                _ => return Err(SqlError::unsupported(sql)),
            };
            let is_str = matches!(c.peek(), Some(Tok::Str(_)));
            let lit = c.value()?;
            let d = literal(info, col, &lit, is_str).ok_or_else(|| SqlError::unsupported(sql))?;
            preds.push(Pred::Cmp(col, op, d));
        }
        if !c.kw("AND") {
            return Ok(preds);
        }
    }
}

fn keep(info: &TableInfo, row: &Row, p: &Pred) -> bool {
    match p {
        Pred::IsNull(col, want) => row.get(*col).is_null() == *want,
        Pred::Cmp(col, op, lit) => {
            let v = row.get(*col);
            if v.is_null() {
                return false;
            }
            let o = sort_key(info, *col, &v).cmp(&sort_key(info, *col, lit));
            match *op {
                "=" => o.is_eq(),
                "<>" => o.is_ne(),
                "<" => o.is_lt(),
                "<=" => o.is_le(),
                ">" => o.is_gt(),
                _ => o.is_ge(),
            }
        }
    }
}

/// TiDB's text rendering of `d` in column `c`, or ER_NOT_SUPPORTED_YET.
fn render(info: &TableInfo, c: Col, d: &Datum, sql: &str) -> Result<Option<String>, SqlError> {
    let col: &ColumnInfo = match c {
        Col::RowId => return Ok(Some(d.to_string())),
        Col::Real(i) => &info.columns[i],
    };
    let ft = &col.ft;
    let no = || SqlError::unsupported(sql);
    Ok(Some(match (ft.tp, d) {
        (_, Datum::Null) => return Ok(None),
        (ColumnType::Year, Datum::Int(v)) => format!("{v:04}"),
        (ColumnType::Bit, _) => return Err(no()),
        (_, Datum::Int(v)) => v.to_string(),
        (ColumnType::Enum, Datum::Uint(v)) => match *v {
            0 => String::new(),
            v => ft.elems.get(v as usize - 1).ok_or_else(no)?.clone(),
        },
        (ColumnType::Set, Datum::Uint(v)) => ft
            .elems
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && v & (1 << i) != 0)
            .map(|(_, e)| e.as_str())
            .collect::<Vec<_>>()
            .join(","),
        (_, Datum::Uint(v)) => v.to_string(),
        (ColumnType::Float, Datum::Float(f))
            if f.abs() < 1e15 && (*f == 0.0 || f.abs() >= 1e-4) =>
        {
            (*f as f32).to_string()
        }
        (ColumnType::Double, Datum::Float(f)) => double_text(*f).ok_or_else(no)?,
        (_, Datum::Decimal { value, .. }) => value.to_string(),
        (ColumnType::Date, Datum::Time(t)) => format!("{:04}-{:02}-{:02}", t.year, t.month, t.day),
        // TIMESTAMP is stored in UTC and read in the session time zone, which is SYSTEM
        // here, and the simulator's system_time_zone is UTC.
        (ColumnType::DateTime | ColumnType::Timestamp, Datum::Time(t)) => {
            let mut s = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            );
            if ft.decimal > 0 && ft.decimal <= 6 {
                let frac = format!("{:06}", t.micro);
                s.push('.');
                s.push_str(&frac[..usize::from(ft.decimal)]);
            }
            s
        }
        (ColumnType::Char | ColumnType::VarChar | ColumnType::Blob, Datum::Bytes(b)) => {
            // CHAR reads back without its trailing spaces (PAD_CHAR_TO_FULL_LENGTH off).
            let b = if is_char(info, c) {
                b.trim_ascii_end()
            } else {
                b
            };
            String::from_utf8(b.to_vec()).map_err(|_| no())?
        }
        (ColumnType::Json, Datum::Json(j)) => {
            let v = lightning_encode::json::decode_json(j).map_err(corrupt)?;
            let mut out = String::new();
            json_text(&v, &mut out).ok_or_else(no)?;
            out
        }
        _ => return Err(no()),
    }))
}

/// TiDB's JSON text (`{"k": v, …}`, `[a, b]`), for the values whose rendering is certain:
/// no floats, and strings of printable ASCII other than `<>&` (Go escapes those) plus
/// `\n`, `\r`, `\t`.
fn json_text(v: &serde_json::Value, out: &mut String) -> Option<()> {
    use serde_json::Value as V;
    match v {
        V::Null | V::Bool(_) => out.push_str(&v.to_string()),
        V::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        V::Number(_) => return None,
        V::String(s) => {
            let plain = |c: char| (c.is_ascii_graphic() || c == ' ') && !"<>&".contains(c);
            if !s.chars().all(|c| plain(c) || "\n\r\t".contains(c)) {
                return None;
            }
            out.push_str(&serde_json::to_string(s).ok()?);
        }
        V::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_text(x, out)?;
            }
            out.push(']');
        }
        V::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_text(&V::String(k.clone()), out)?;
                out.push_str(": ");
                json_text(x, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

/// A DOUBLE as TiDB prints it, for magnitudes printed without an exponent.
fn double_text(f: f64) -> Option<String> {
    (f.abs() < 1e15 && (f == 0.0 || f.abs() >= 1e-4)).then(|| f.to_string())
}

fn hex(d: &Datum) -> Option<String> {
    match d {
        Datum::Bytes(b) => Some(b.iter().map(|x| format!("{x:02X}")).collect()),
        _ => None,
    }
}

fn aggregate(
    info: &TableInfo,
    rows: &[Row],
    a: &Agg,
    sql: &str,
) -> Result<Option<String>, SqlError> {
    let non_null = |c: Col| rows.iter().map(move |r| r.get(c)).filter(|d| !d.is_null());
    Ok(match *a {
        Agg::CountStar => Some(rows.len().to_string()),
        Agg::Count(c) => Some(non_null(c).count().to_string()),
        Agg::CountDistinct(c) => {
            let mut keys: Vec<Vec<u8>> = non_null(c).map(|d| sort_key(info, c, &d)).collect();
            keys.sort();
            keys.dedup();
            Some(keys.len().to_string())
        }
        Agg::Sum(c) => {
            let mut sum: Option<i128> = None;
            let mut fsum: Option<f64> = None;
            for d in non_null(c) {
                match d {
                    Datum::Int(v) => *sum.get_or_insert(0) += i128::from(v),
                    Datum::Uint(v) if !is_enum_like(info, c) => {
                        *sum.get_or_insert(0) += i128::from(v)
                    }
                    // SUM of FLOAT / DOUBLE is a DOUBLE.
                    Datum::Float(v) => *fsum.get_or_insert(0.0) += v,
                    _ => return Err(SqlError::unsupported(sql)),
                }
            }
            match fsum {
                Some(f) => Some(double_text(f).ok_or_else(|| SqlError::unsupported(sql))?),
                None => sum.map(|s| s.to_string()),
            }
        }
        Agg::Min(c) | Agg::Max(c) => {
            let want = if matches!(a, Agg::Min(_)) {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let best = non_null(c)
                .map(|d| (sort_key(info, c, &d), d))
                .reduce(|x, y| if y.0.cmp(&x.0) == want { y } else { x });
            match best {
                Some((_, d)) => render(info, c, &d, sql)?,
                None => None,
            }
        }
    })
}

/// A non-binary CHAR column: read back without its trailing spaces.
fn is_char(info: &TableInfo, c: Col) -> bool {
    matches!(c, Col::Real(i)
        if info.columns[i].ft.tp == ColumnType::Char && info.columns[i].ft.charset != "binary")
}

fn is_virtual(c: &ColumnInfo) -> bool {
    c.generated.as_ref().is_some_and(|g| !g.stored)
}

fn is_enum_like(info: &TableInfo, c: Col) -> bool {
    match c {
        Col::RowId => false,
        Col::Real(i) => matches!(
            info.columns[i].ft.tp,
            ColumnType::Enum | ColumnType::Set | ColumnType::Bit
        ),
    }
}

fn limit(c: &mut Cur) -> Result<Option<usize>, SqlError> {
    if !c.kw("LIMIT") {
        return Ok(None);
    }
    let v = c.value()?;
    v.parse().map(Some).map_err(|_| SqlError::parse(&v))
}

fn expr_name(toks: &[Tok]) -> String {
    toks.iter().map(Tok::text).collect::<Vec<_>>().join("")
}

/// Answers a SELECT on user table `info`; `c` stands after the table name (and any index
/// hint).
pub(super) fn select(e: &Engine, info: &TableInfo, items: &[Item], c: &mut Cur, sql: &str) -> Res {
    let mut exprs = Vec::new();
    let mut cols = Vec::new();
    for (toks, alias) in items {
        if matches!(toks.as_slice(), [Tok::Punct('*')]) {
            for col in &info.columns {
                exprs.push(Expr::Col(Col::Real(col.offset)));
                cols.push(Column::text(&col.name));
            }
            continue;
        }
        exprs.push(parse_item(info, toks, sql)?);
        cols.push(Column::text(
            &alias.clone().unwrap_or_else(|| expr_name(toks)),
        ));
    }
    let preds = parse_where(info, c, sql)?;
    let mut order = Vec::new();
    if c.kw("ORDER") {
        c.expect_kw("BY")?;
        loop {
            let col = resolve(info, &c.ident()?, "order clause")?;
            let desc = c.kw("DESC");
            if !desc {
                c.kw("ASC");
            }
            order.push((col, desc));
            if !c.punct(',') {
                break;
            }
        }
    }
    let limit = limit(c)?;
    if c.finish().is_err() {
        return Err(SqlError::unsupported(sql));
    }
    let aggs = exprs.iter().filter(|x| matches!(x, Expr::Agg(_))).count();
    if aggs > 0 {
        if let Some(i) = exprs
            .iter()
            .position(|x| matches!(x, Expr::Col(_) | Expr::Hex(_)))
        {
            return Err(SqlError::new(
                1140,
                "42000",
                format!(
                    "In aggregated query without GROUP BY, expression #{} of SELECT list contains nonaggregated column; this is incompatible with sql_mode=only_full_group_by",
                    i + 1
                ),
            ));
        }
    }
    // Reading a virtual generated column means evaluating its expression.
    let mut used: Vec<Col> = exprs
        .iter()
        .filter_map(|x| match x {
            Expr::Col(c) | Expr::Hex(c) => Some(*c),
            Expr::Agg(Agg::Count(c) | Agg::CountDistinct(c) | Agg::Sum(c))
            | Expr::Agg(Agg::Min(c) | Agg::Max(c)) => Some(*c),
            _ => None,
        })
        .collect();
    used.extend(preds.iter().map(|p| match p {
        Pred::Cmp(c, ..) | Pred::IsNull(c, _) => *c,
    }));
    used.extend(order.iter().map(|o| o.0));
    if used
        .iter()
        .any(|c| matches!(c, Col::Real(i) if is_virtual(&info.columns[*i])))
    {
        return Err(SqlError::unsupported(sql));
    }
    let mut rows = scan_rows(e, info)?;
    rows.retain(|r| preds.iter().all(|p| keep(info, r, p)));
    if aggs > 0 {
        let mut out = Vec::new();
        for x in &exprs {
            out.push(match x {
                Expr::Agg(a) => aggregate(info, &rows, a, sql)?,
                Expr::Const(n) => Some(n.clone()),
                _ => unreachable!("rejected above"),
            });
        }
        let n = usize::from(limit != Some(0));
        return Ok(Outcome::Rows {
            cols,
            rows: vec![out; n],
        });
    }
    // Without ORDER BY TiDB returns a table reader's rows in handle order.
    rows.sort_by(|a, b| {
        for &(col, desc) in &order {
            let o = sort_key(info, col, &a.get(col)).cmp(&sort_key(info, col, &b.get(col)));
            let o = if desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
    });
    rows.truncate(limit.unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut line = Vec::with_capacity(exprs.len());
        for x in &exprs {
            line.push(match x {
                Expr::Col(col) => render(info, *col, &r.get(*col), sql)?,
                Expr::Hex(col) => match r.get(*col) {
                    Datum::Null => None,
                    Datum::Bytes(b) if is_char(info, *col) => {
                        Some(hex(&Datum::Bytes(b.trim_ascii_end().to_vec())).unwrap_or_default())
                    }
                    d => Some(hex(&d).ok_or_else(|| SqlError::unsupported(sql))?),
                },
                Expr::Const(n) => Some(n.clone()),
                Expr::Agg(_) => unreachable!("no aggregates here"),
            });
        }
        out.push(line);
    }
    Ok(Outcome::Rows { cols, rows: out })
}
