//! DDL and maintenance statements: `CREATE DATABASE|TABLE`, `DROP DATABASE|TABLE`, the
//! auto-id rebases `ALTER TABLE … AUTO_INCREMENT|AUTO_RANDOM_BASE`, and `ANALYZE TABLE`,
//! allocating schema, table and DDL-job ids from the catalog's global allocator as TiDB does.

use std::collections::BTreeMap;

use lightning_encode::ddl::parse_create_table_with;
use lightning_encode::SchemaError;

use super::catalog::{Catalog, Database, Table};
use super::sql::{qualify, Cur, Engine, Outcome, Res, Session, SqlError};

/// `CREATE DATABASE|SCHEMA|TABLE …` (the `CREATE` keyword not yet consumed).
pub(super) fn create(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Res {
    c.bump();
    if c.kw("DATABASE") || c.kw("SCHEMA") {
        return create_db(e, c);
    }
    if !c.is_kw("TABLE") {
        return Err(SqlError::unsupported(sql));
    }
    c.bump();
    let if_not_exists = c.kw("IF");
    if if_not_exists {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let (db, name) = qualify(s, c.name()?)?;
    if c.kw("LIKE") {
        return Err(SqlError::unsupported(sql));
    }
    // ON makes a primary key without CLUSTERED / NONCLUSTERED clustered; INT_ONLY (the
    // default here) and OFF only a single integer one.
    let clustered =
        super::vars::get(e, s, "tidb_enable_clustered_index")?.eq_ignore_ascii_case("ON");
    let mut cat = e.cat();
    let d = cat.db(&db).ok_or_else(|| SqlError::bad_db(&db))?;
    if d.tables.contains_key(&name.to_lowercase()) {
        if if_not_exists {
            // TiDB answers OK with note 1050 and allocates nothing.
            return Ok(Outcome::Ok { affected: 0 });
        }
        return Err(SqlError::new(
            1050,
            "42S01",
            format!("Table '{db}.{name}' already exists"),
        ));
    }
    let sql = inherit_db_charset(sql, d);
    let info = parse_create_table_with(&sql, 0, clustered).map_err(schema_err)?;
    // TiDB's DDL submitter takes ids from the one global allocator for the new objects
    // first and for the DDL job after them (pkg/ddl/job_submitter.go, assignGIDsForJobs).
    let id = cat.alloc_id();
    cat.alloc_id();
    let key = db.to_lowercase();
    if let Some(d) = cat.dbs.get_mut(&key) {
        d.tables.insert(
            name.to_lowercase(),
            Table {
                info: info.with_id(id),
            },
        );
    }
    Ok(Outcome::Ok { affected: 0 })
}

/// A table without its own charset takes its database's default, as in TiDB.
fn inherit_db_charset(sql: &str, d: &Database) -> String {
    if d.charset == "utf8mb4" && d.collation == "utf8mb4_bin" {
        return sql.to_string();
    }
    let body = sql.trim_end().trim_end_matches(';');
    let tail = body
        .rfind(')')
        .map_or("", |p| &body[p..])
        .to_ascii_uppercase();
    if tail.contains("CHARSET") || tail.contains("CHARACTER") || tail.contains("COLLATE") {
        return sql.to_string();
    }
    format!(
        "{body} DEFAULT CHARSET={} COLLATE={}",
        d.charset, d.collation
    )
}

fn schema_err(err: SchemaError) -> SqlError {
    match err {
        SchemaError::Unsupported { .. } => SqlError::new(1235, "42000", err.to_string()),
        _ => SqlError::new(1064, "42000", err.to_string()),
    }
}

/// The default collation TiDB gives a charset.
fn default_collation(cs: &str) -> String {
    match cs {
        "binary" => "binary".into(),
        other => format!("{other}_bin"),
    }
}

fn create_db(e: &Engine, c: &mut Cur) -> Res {
    let if_not_exists = c.kw("IF");
    if if_not_exists {
        c.expect_kw("NOT")?;
        c.expect_kw("EXISTS")?;
    }
    let name = c.ident()?;
    let (mut charset, mut collation) = (None::<String>, None::<String>);
    while !c.end() && !c.punct(';') {
        c.kw("DEFAULT");
        if c.kw("CHARSET") || (c.kw("CHARACTER") && c.kw("SET")) {
            c.punct('=');
            charset = Some(c.value()?.to_lowercase());
        } else if c.kw("COLLATE") {
            c.punct('=');
            collation = Some(c.value()?.to_lowercase());
        } else {
            return Err(c.err());
        }
    }
    let (charset, collation) = match (charset, collation) {
        (None, None) => ("utf8mb4".to_string(), "utf8mb4_bin".to_string()),
        (Some(cs), None) => {
            let co = default_collation(&cs);
            (cs, co)
        }
        (cs, Some(co)) => (
            cs.unwrap_or_else(|| co.split('_').next().unwrap_or("utf8mb4").to_string()),
            co,
        ),
    };
    let mut cat = e.cat();
    if cat.db(&name).is_some() {
        if if_not_exists {
            return Ok(Outcome::Ok { affected: 0 });
        }
        return Err(SqlError::new(
            1007,
            "HY000",
            format!("Can't create database '{name}'; database exists"),
        ));
    }
    let id = cat.alloc_id();
    cat.alloc_id();
    cat.dbs.insert(
        name.to_lowercase(),
        Database {
            id,
            name,
            charset,
            collation,
            tables: BTreeMap::new(),
        },
    );
    Ok(Outcome::Ok { affected: 0 })
}

/// `DROP DATABASE|TABLE [IF EXISTS] …` (the `DROP` keyword not yet consumed).
pub(super) fn drop_stmt(e: &Engine, s: &mut Session, c: &mut Cur) -> Res {
    c.bump();
    let is_db = c.kw("DATABASE") || c.kw("SCHEMA");
    if !is_db && !c.kw("TABLE") {
        return Err(c.err());
    }
    let if_exists = c.kw("IF");
    if if_exists {
        c.expect_kw("EXISTS")?;
    }
    let mut cat = e.cat();
    if is_db {
        let name = c.ident()?;
        c.finish()?;
        let Some(d) = cat.dbs.remove(&name.to_lowercase()) else {
            if if_exists {
                return Ok(Outcome::Ok { affected: 0 });
            }
            return Err(SqlError::new(
                1008,
                "HY000",
                format!("Can't drop database '{name}'; database doesn't exist"),
            ));
        };
        cat.alloc_id();
        if s.db
            .as_deref()
            .is_some_and(|cur| cur.eq_ignore_ascii_case(&d.name))
        {
            s.db = None;
        }
        return Ok(Outcome::Ok { affected: 0 });
    }
    let mut names = vec![qualify(s, c.name()?)?];
    while c.punct(',') {
        names.push(qualify(s, c.name()?)?);
    }
    c.finish()?;
    let missing: Vec<String> = names
        .iter()
        .filter(|(db, t)| cat.table(db, t).is_none())
        .map(|(db, t)| format!("{db}.{t}"))
        .collect();
    if !missing.is_empty() && !if_exists {
        return Err(SqlError::new(
            1051,
            "42S02",
            format!("Unknown table '{}'", missing.join(",")),
        ));
    }
    for (db, t) in names {
        if let Some(d) = cat.dbs.get_mut(&db.to_lowercase()) {
            if d.tables.remove(&t.to_lowercase()).is_some() {
                cat.alloc_id();
            }
        }
    }
    Ok(Outcome::Ok { affected: 0 })
}

/// Runs `f` on an existing table `db`.`t`, else ER_NO_SUCH_TABLE.
pub fn with_table<R>(
    cat: &mut Catalog,
    db: &str,
    t: &str,
    f: impl FnOnce(&mut Table) -> R,
) -> Result<R, SqlError> {
    match cat.table_mut(db, t) {
        Some(tbl) => Ok(f(tbl)),
        None => Err(SqlError::no_table(db, t)),
    }
}

/// `ALTER TABLE t [FORCE] AUTO_INCREMENT [=] n` and `… AUTO_RANDOM_BASE [=] n`, the
/// rebases Lightning issues after an import (lightning/pkg/importer/tidb.go,
/// AlterAutoIncrement / AlterAutoRandom). Without FORCE a smaller value keeps the current
/// base (TiDB rebases upward only); FORCE sets it.
pub(super) fn alter(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Res {
    c.bump();
    if !c.kw("TABLE") {
        return Err(SqlError::unsupported(sql));
    }
    let (db, t) = qualify(s, c.name()?)?;
    let force = c.kw("FORCE");
    let random = if c.kw("AUTO_INCREMENT") {
        false
    } else if c.kw("AUTO_RANDOM_BASE") {
        true
    } else {
        return Err(SqlError::unsupported(sql));
    };
    c.punct('=');
    let v = c.value()?;
    c.finish()?;
    let n: u64 = v.parse().map_err(|_| SqlError::parse(&v))?;
    let mut cat = e.cat();
    let has_random = cat
        .table(&db, &t)
        .map(|x| x.info.auto_random_column().is_some());
    if random && has_random == Some(false) {
        return Err(SqlError::new(
            8216,
            "HY000",
            format!("Invalid auto random: table {t} has no auto_random column to rebase"),
        ));
    }
    with_table(&mut cat, &db, &t, |tbl| {
        let slot = if random {
            &mut tbl.info.auto_random_base
        } else {
            &mut tbl.info.auto_increment_base
        };
        *slot = Some(if force { n } else { slot.unwrap_or(0).max(n) });
    })?;
    // A rebase is a DDL job, which takes a job id from the global allocator.
    cat.alloc_id();
    Ok(Outcome::Ok { affected: 0 })
}

/// `ANALYZE TABLE t[, …]`: checked and recorded (no statistics are built).
pub(super) fn analyze(e: &Engine, s: &mut Session, c: &mut Cur) -> Res {
    c.bump();
    c.expect_kw("TABLE")?;
    let mut names = vec![qualify(s, c.name()?)?];
    while c.punct(',') {
        names.push(qualify(s, c.name()?)?);
    }
    c.finish()?;
    let mut cat = e.cat();
    let mut found = Vec::new();
    for (db, t) in names {
        let d = cat.db(&db).ok_or_else(|| SqlError::no_table(&db, &t))?;
        let tbl = cat
            .table(&db, &t)
            .ok_or_else(|| SqlError::no_table(&db, &t))?;
        found.push((d.name.clone(), tbl.info.name.clone()));
    }
    cat.analyzed.extend(found);
    Ok(Outcome::Ok { affected: 0 })
}
