//! `SHOW …` statements (VARIABLES, DATABASES, TABLES, CREATE TABLE / DATABASE, CONFIG,
//! WARNINGS) and `ADMIN CHECKSUM TABLE`, computed from the [`super::KvSource`].

use lightning_encode::{key, KvChecksum, TableInfo};

use super::infoschema::Virtual;
use super::proto::Column;
use super::query::{filter, like, rows1, table_info};
use super::showcreate;
use super::sql::{qualify, Cur, Engine, Outcome, Res, Session, SqlError};
use super::vars;

/// Runs `SHOW …` (the `SHOW` keyword already consumed).
pub(super) fn show(e: &Engine, s: &mut Session, c: &mut Cur, sql: &str) -> Res {
    let global = c.kw("GLOBAL");
    if !global {
        c.kw("SESSION");
    }
    if c.kw("VARIABLES") {
        let v = Virtual {
            cols: vec!["Variable_name", "Value"],
            rows: vars::all(e, s, global)
                .into_iter()
                .map(|(k, v)| vec![Some(k), Some(v)])
                .collect(),
        };
        let rows = if c.kw("LIKE") {
            let pat = c.value()?;
            v.rows
                .into_iter()
                .filter(|r| r[0].as_deref().is_some_and(|n| like(&pat, n)))
                .collect()
        } else {
            filter(&v, c)?
        };
        c.finish()?;
        let cols = vec![Column::text("Variable_name"), Column::text("Value")];
        return Ok(Outcome::Rows { cols, rows });
    }
    if c.kw("DATABASES") {
        c.finish()?;
        let rows = e
            .cat()
            .dbs
            .values()
            .map(|d| vec![Some(d.name.clone())])
            .collect();
        return Ok(Outcome::Rows {
            cols: vec![Column::text("Database")],
            rows,
        });
    }
    if c.kw("TABLES") {
        let db = if c.kw("FROM") || c.kw("IN") {
            Some(c.ident()?)
        } else {
            s.db.clone()
        };
        c.finish()?;
        let db = db.ok_or_else(|| SqlError::new(1046, "3D000", "No database selected"))?;
        let cat = e.cat();
        let d = cat.db(&db).ok_or_else(|| SqlError::bad_db(&db))?;
        let rows = d
            .tables
            .values()
            .map(|t| vec![Some(t.info.name.clone())])
            .collect();
        let cols = vec![Column::text(&format!("Tables_in_{}", d.name))];
        return Ok(Outcome::Rows { cols, rows });
    }
    if c.kw("CONFIG") {
        // `show config where type = 'tikv' and name = 'storage.engine'`, Lightning's
        // IsRaftKV2 probe (pkg/lightning/common/util.go); TiKV's default engine is raft-kv.
        let v = Virtual {
            cols: vec!["Type", "Instance", "Name", "Value"],
            rows: e
                .tikv_addrs
                .iter()
                .map(|a| {
                    ["tikv", a.as_str(), "storage.engine", "raft-kv"]
                        .map(|x| Some(x.to_string()))
                        .to_vec()
                })
                .collect(),
        };
        let rows = filter(&v, c)?;
        c.finish()?;
        let cols = v.cols.iter().map(|k| Column::text(k)).collect();
        return Ok(Outcome::Rows { cols, rows });
    }
    if c.kw("WARNINGS") {
        c.finish()?;
        let cols = ["Level", "Code", "Message"].map(Column::text).to_vec();
        return Ok(Outcome::Rows {
            cols,
            rows: Vec::new(),
        });
    }
    if c.kw("CREATE") {
        if c.kw("DATABASE") || c.kw("SCHEMA") {
            let db = c.ident()?;
            c.finish()?;
            let cat = e.cat();
            let d = cat.db(&db).ok_or_else(|| SqlError::bad_db(&db))?;
            let text = format!(
                "CREATE DATABASE `{}` /*!40100 DEFAULT CHARACTER SET {} */",
                d.name.replace('`', "``"),
                d.charset
            );
            return rows1(
                vec![Column::text("Database"), Column::text("Create Database")],
                vec![Some(d.name.clone()), Some(text)],
            );
        }
        c.expect_kw("TABLE")?;
        let (db, t) = qualify(s, c.name()?)?;
        c.finish()?;
        let info = table_info(e, &db, &t)?;
        let text = showcreate::render(&info);
        return rows1(
            vec![Column::text("Table"), Column::text("Create Table")],
            vec![Some(info.name.clone()), Some(text)],
        );
    }
    Err(SqlError::unsupported(sql))
}

/// The record pairs of table `id`.
pub(super) fn record_range(e: &Engine, id: i64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let start = record_prefix(id);
    e.kv.scan(&start, &key::prefix_end(&start))
}

/// `t{id}_r`.
pub(super) fn record_prefix(id: i64) -> Vec<u8> {
    let mut b = Vec::new();
    key::append_record_prefix(&mut b, id);
    b
}

/// What `ADMIN CHECKSUM TABLE` reports for `info`: TiDB sends one checksum request for the
/// record range and one per public index (pkg/executor/checksum.go,
/// appendRequest4PhysicalTable), each XOR-ing CRC-64 of key || value.
pub fn table_checksum(e: &Engine, info: &TableInfo) -> KvChecksum {
    let mut ranges = vec![record_prefix(info.id)];
    for ix in &info.indices {
        let mut p = Vec::new();
        key::append_index_prefix(&mut p, info.id, ix.id);
        ranges.push(p);
    }
    let mut sum = KvChecksum::new();
    for start in ranges {
        for (k, v) in e.kv.scan(&start, &key::prefix_end(&start)) {
            sum.update(&k, &v);
        }
    }
    sum
}

/// `ADMIN CHECKSUM TABLE t[, …]`, with TiDB's result columns (the example in
/// pkg/lightning/backend/local/checksum.go: Db_name, Table_name, Checksum_crc64_xor,
/// Total_kvs, Total_bytes).
pub(super) fn admin_checksum(e: &Engine, s: &mut Session, c: &mut Cur) -> Res {
    let mut names = vec![qualify(s, c.name()?)?];
    while c.punct(',') {
        names.push(qualify(s, c.name()?)?);
    }
    c.finish()?;
    let mut rows = Vec::new();
    for (db, t) in names {
        let info = table_info(e, &db, &t)?;
        let db_name = e.cat().db(&db).map(|d| d.name.clone()).unwrap_or(db);
        let sum = table_checksum(e, &info);
        rows.push(vec![
            Some(db_name),
            Some(info.name.clone()),
            Some(sum.crc.to_string()),
            Some(sum.kvs.to_string()),
            Some(sum.bytes.to_string()),
        ]);
    }
    let cols = vec![
        Column::text("Db_name"),
        Column::text("Table_name"),
        Column::uint("Checksum_crc64_xor"),
        Column::uint("Total_kvs"),
        Column::uint("Total_bytes"),
    ];
    Ok(Outcome::Rows { cols, rows })
}
