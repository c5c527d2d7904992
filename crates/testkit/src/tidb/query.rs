//! Queries: `SELECT` (functions, variables, `COUNT(*)` and existence probes on user
//! tables, decoded reads of them in [`super::scan`], filtered reads of the virtual tables) and the `UPDATE mysql.tidb` Lightning uses
//! to stretch the GC life time. `SHOW …` and `ADMIN CHECKSUM TABLE` live in [`super::show`].

use lightning_encode::TableInfo;

use super::infoschema::{self, Virtual};
use super::lex::Tok;
use super::proto::Column;
use super::scan::Item;
use super::sql::{qualify, Cur, Engine, Outcome, Res, Session, SqlError};
use super::vars;

/// Runs a SELECT / SHOW / ADMIN / UPDATE statement.
pub fn run(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Res {
    let first = c.bump();
    match first {
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SELECT") => select(e, s, c, sql),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SHOW") => super::show::show(e, s, c, sql),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ADMIN") => {
            if !(c.kw("CHECKSUM") && c.kw("TABLE")) {
                return Err(SqlError::unsupported(sql));
            }
            super::show::admin_checksum(e, s, c)
        }
        _ => update_mysql_tidb(e, c, sql),
    }
}

pub(super) fn rows1(cols: Vec<Column>, row: Vec<Option<String>>) -> Res {
    Ok(Outcome::Rows {
        cols,
        rows: vec![row],
    })
}

/// The SQL text of an expression's tokens, spaced as MySQL echoes simple expressions.
fn expr_text(toks: &[Tok]) -> String {
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        let glue = i == 0 || matches!(t, Tok::Punct(_)) || matches!(toks[i - 1], Tok::Punct(_));
        if !glue {
            out.push(' ');
        }
        out.push_str(&t.text());
    }
    out
}

/// Splits the select list into items up to FROM or the end.
fn select_list(c: &mut Cur) -> Result<Vec<Item>, SqlError> {
    let mut items = Vec::new();
    let mut cur = Vec::new();
    let mut depth = 0;
    loop {
        let at_stop = depth == 0
            && (c.end()
                || c.is_kw("FROM")
                || c.is_kw("LIMIT")
                || c.peek() == Some(&Tok::Punct(';')));
        if at_stop || (depth == 0 && c.peek() == Some(&Tok::Punct(','))) {
            if cur.is_empty() {
                return Err(c.err());
            }
            let mut toks: Vec<Tok> = std::mem::take(&mut cur);
            let mut alias = None;
            let n = toks.len();
            if n >= 3 && matches!(&toks[n - 2], Tok::Word(w) if w.eq_ignore_ascii_case("AS")) {
                if let Tok::Word(a) | Tok::Quoted(a) | Tok::Str(a) = &toks[n - 1] {
                    alias = Some(a.clone());
                    toks.truncate(n - 2);
                }
            }
            items.push((toks, alias));
            if at_stop {
                return Ok(items);
            }
            c.bump();
            continue;
        }
        match c.bump() {
            Some(t @ Tok::Punct('(')) => {
                depth += 1;
                cur.push(t);
            }
            Some(t @ Tok::Punct(')')) => {
                depth -= 1;
                cur.push(t);
            }
            Some(t) => cur.push(t),
            None => return Err(c.err()),
        }
    }
}

fn is_call(toks: &[Tok], f: &str) -> bool {
    matches!(toks, [Tok::Word(w), Tok::Punct('('), Tok::Punct(')')] if w.eq_ignore_ascii_case(f))
}

fn select(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Res {
    let items = select_list(c)?;
    if !c.kw("FROM") {
        // `SELECT @@version_comment LIMIT 1`, as the mysql command-line client sends.
        let limit = limit(c)?;
        c.finish()?;
        if limit == Some(0) {
            let cols = items
                .iter()
                .map(|(t, a)| Column::text(&a.clone().unwrap_or_else(|| expr_text(t))));
            return Ok(Outcome::Rows {
                cols: cols.collect(),
                rows: Vec::new(),
            });
        }
        let mut cols = Vec::new();
        let mut row = Vec::new();
        for (toks, alias) in &items {
            let name = alias.clone().unwrap_or_else(|| expr_text(toks));
            let v = match toks.as_slice() {
                [Tok::Var { sys: true, name }] => Some(vars::get(e, s, name)?),
                [Tok::Num(n)] => Some(n.clone()),
                [Tok::Str(v)] => Some(v.clone()),
                t if is_call(t, "tidb_version") => Some(tidb_version(&e.release)),
                t if is_call(t, "version") => Some(server_version(&e.release)),
                t if is_call(t, "database") => s.db.clone(),
                _ => return Err(SqlError::unsupported(sql)),
            };
            cols.push(Column::text(&name));
            row.push(v);
        }
        return rows1(cols, row);
    }
    let (schema, table) = c.name()?;
    let virt = schema
        .as_deref()
        .and_then(|sc| infoschema::lookup(&e.cat(), sc, &table));
    if let Some(v) = virt {
        return select_virtual(v, &items, c, sql);
    }
    let (db, t) = qualify(s, (schema, table))?;
    // `SELECT 1 FROM t USE INDEX() LIMIT 1` is Lightning's empty-table probe
    // (lightning/pkg/importer/get_pre_info.go, IsTableEmpty).
    if c.kw("USE") || c.kw("FORCE") || c.kw("IGNORE") {
        c.expect_kw("INDEX")?;
        while !c.end() && !c.punct(')') {
            c.bump();
        }
    }
    let info = table_info(e, &db, &t)?;
    let fast = match items.as_slice() {
        [(toks, _)] => count_star(toks) || matches!(toks.as_slice(), [Tok::Num(_)]),
        _ => false,
    };
    if !fast || c.is_kw("WHERE") || c.is_kw("ORDER") {
        // Anything beyond a count or an existence probe decodes the rows.
        return super::scan::select(e, &info, &items, c, sql);
    }
    let limit = limit(c)?;
    // Anything else (GROUP BY, …) is valid SQL the simulator does not evaluate.
    if c.finish().is_err() {
        return Err(SqlError::unsupported(sql));
    }
    let records = super::show::record_range(e, info.id);
    match items.as_slice() {
        [(toks, alias)] if count_star(toks) => {
            let name = alias.clone().unwrap_or_else(|| expr_text(toks));
            rows1(
                vec![Column::int(&name)],
                vec![Some(records.len().to_string())],
            )
        }
        [(toks, alias)] if matches!(toks.as_slice(), [Tok::Num(_)]) => {
            let name = alias.clone().unwrap_or_else(|| expr_text(toks));
            let n = records.len().min(limit.unwrap_or(usize::MAX));
            Ok(Outcome::Rows {
                cols: vec![Column::int(&name)],
                rows: vec![vec![Some(toks[0].text())]; n],
            })
        }
        _ => Err(SqlError::unsupported(sql)),
    }
}

fn count_star(toks: &[Tok]) -> bool {
    matches!(toks, [Tok::Word(w), Tok::Punct('('), Tok::Punct('*') | Tok::Num(_), Tok::Punct(')')] if w.eq_ignore_ascii_case("COUNT"))
}

fn limit(c: &mut Cur) -> Result<Option<usize>, SqlError> {
    if !c.kw("LIMIT") {
        return Ok(None);
    }
    let v = c.value()?;
    v.parse().map(Some).map_err(|_| SqlError::parse(&v))
}

/// `WHERE a = 'x' AND b IN ('y', …) AND c LIKE 'p%'` over a virtual table.
pub(super) fn filter(v: &Virtual, c: &mut Cur) -> Result<Vec<Vec<Option<String>>>, SqlError> {
    let mut rows = v.rows.clone();
    if !c.kw("WHERE") {
        return Ok(rows);
    }
    loop {
        let col = c.ident()?;
        let idx = col_index(v, &col)?;
        let matcher: Box<dyn Fn(&str) -> bool> = if c.punct('=') {
            let want = c.value()?;
            Box::new(move |x: &str| x.eq_ignore_ascii_case(&want))
        } else if c.kw("IN") {
            if !c.punct('(') {
                return Err(c.err());
            }
            let mut set = vec![c.value()?];
            while c.punct(',') {
                set.push(c.value()?);
            }
            if !c.punct(')') {
                return Err(c.err());
            }
            Box::new(move |x: &str| set.iter().any(|w| x.eq_ignore_ascii_case(w)))
        } else if c.kw("LIKE") {
            let pat = c.value()?;
            Box::new(move |x: &str| like(&pat, x))
        } else {
            return Err(c.err());
        };
        rows.retain(|r| r[idx].as_deref().is_some_and(&matcher));
        if !c.kw("AND") {
            return Ok(rows);
        }
    }
}

fn col_index(v: &Virtual, col: &str) -> Result<usize, SqlError> {
    v.cols
        .iter()
        .position(|k| k.eq_ignore_ascii_case(col))
        .ok_or_else(|| {
            SqlError::new(
                1054,
                "42S22",
                format!("Unknown column '{col}' in 'where clause'"),
            )
        })
}

fn select_virtual(v: Virtual, items: &[Item], c: &mut Cur, sql: &str) -> Res {
    let mut rows = filter(&v, c)?;
    if c.kw("ORDER") {
        c.expect_kw("BY")?;
        let mut keys = Vec::new();
        loop {
            let idx = col_index(&v, &c.ident()?)?;
            let desc = c.kw("DESC");
            c.kw("ASC");
            keys.push((idx, desc));
            if !c.punct(',') {
                break;
            }
        }
        rows.sort_by(|a, b| {
            for &(i, desc) in &keys {
                let (x, y) = (a[i].as_deref().unwrap_or(""), b[i].as_deref().unwrap_or(""));
                let o = match (x.parse::<i64>(), y.parse::<i64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    _ => x.cmp(y),
                };
                let o = if desc { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    if let Some(n) = limit(c)? {
        rows.truncate(n);
    }
    if c.finish().is_err() {
        return Err(SqlError::unsupported(sql));
    }
    let mut pick = Vec::new();
    let mut cols = Vec::new();
    let mut consts = Vec::new();
    for (toks, alias) in items {
        match toks.as_slice() {
            [Tok::Punct('*')] => {
                for (i, k) in v.cols.iter().enumerate() {
                    pick.push(i);
                    cols.push(Column::text(k));
                }
            }
            // `SELECT 1 FROM INFORMATION_SCHEMA.TABLES WHERE …`: Lightning's
            // TableExists / SchemaExists (pkg/lightning/common/util.go).
            [Tok::Num(n)] => {
                pick.push(usize::MAX);
                cols.push(Column::int(alias.as_deref().unwrap_or(n)));
                consts.push(n.clone());
            }
            [Tok::Word(n)] | [Tok::Quoted(n)] => {
                let i = v
                    .cols
                    .iter()
                    .position(|k| k.eq_ignore_ascii_case(n))
                    .ok_or_else(|| {
                        SqlError::new(
                            1054,
                            "42S22",
                            format!("Unknown column '{n}' in 'field list'"),
                        )
                    })?;
                pick.push(i);
                cols.push(Column::text(alias.as_deref().unwrap_or(n)));
            }
            other => return Err(SqlError::unsupported(&expr_text(other))),
        }
    }
    let rows = rows
        .into_iter()
        .map(|r| {
            let mut k = consts.iter();
            pick.iter()
                .map(|&i| match r.get(i) {
                    Some(v) => v.clone(),
                    None => k.next().cloned(),
                })
                .collect()
        })
        .collect();
    Ok(Outcome::Rows { cols, rows })
}

/// SQL `LIKE` with `%` and `_`, case-insensitive.
pub fn like(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.to_lowercase().chars().collect();
    let t: Vec<char> = s.to_lowercase().chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|k| go(&p[1..], &t[k..])),
            Some('_') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&p[2..], &t[1..]),
            Some(ch) => t.first() == Some(ch) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

/// A copy of the model of `db`.`t`, or ER_NO_SUCH_TABLE.
pub fn table_info(e: &Engine, db: &str, t: &str) -> Result<TableInfo, SqlError> {
    e.cat()
        .table(db, t)
        .map(|x| x.info.clone())
        .ok_or_else(|| SqlError::no_table(db, t))
}

/// `UPDATE mysql.tidb SET VARIABLE_VALUE = v WHERE VARIABLE_NAME = n`
/// (pkg/lightning/backend/local/checksum.go, updateGCLifeTime).
fn update_mysql_tidb(e: &Engine, c: &mut Cur, sql: &str) -> Res {
    let (schema, table) = c.name()?;
    let is_tidb = schema.is_some_and(|x| x.eq_ignore_ascii_case("mysql"))
        && table.eq_ignore_ascii_case("tidb");
    if !is_tidb {
        return Err(SqlError::unsupported(sql));
    }
    c.expect_kw("SET")?;
    if !c.kw("VARIABLE_VALUE") || !c.punct('=') {
        return Err(SqlError::unsupported(sql));
    }
    let value = c.value()?;
    c.expect_kw("WHERE")?;
    if !c.kw("VARIABLE_NAME") || !c.punct('=') {
        return Err(SqlError::unsupported(sql));
    }
    let name = c.value()?;
    c.finish()?;
    let mut cat = e.cat();
    let affected = match cat.mysql_tidb.get_mut(&name) {
        Some(v) if *v != value => {
            *v = value;
            1
        }
        _ => 0,
    };
    Ok(Outcome::Ok { affected })
}

/// `SELECT version()` of a TiDB whose release is `release` (`8.0.11-TiDB-v8.5.0`; the
/// format br/pkg/version.ParseServerInfo reads).
pub fn server_version(release: &str) -> String {
    format!("8.0.11-TiDB-{release}")
}

/// `SELECT tidb_version()`: the multi-line text whose `Release Version: vX.Y.Z` line
/// br/pkg/version.FetchVersion looks for.
pub fn tidb_version(release: &str) -> String {
    format!(
        "Release Version: {release}\nEdition: Community\nGit Commit Hash: 0000000000000000000000000000000000000000\nGit Branch: heads/refs/tags/{release}\nUTC Build Time: 2025-01-01 00:00:00\nGoVersion: go1.23\nRace Enabled: false\nCheck Table Before Drop: false\nStore: tikv"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("tidb\\_%", "tidb_gc_life_time"));
        assert!(!like("tidb\\_%", "tidbXgc"));
        assert!(like("MAX_allowed%", "max_allowed_packet"));
        assert!(!like("max", "max_allowed_packet"));
    }
}
