//! System variables: TiDB's defaults for those Lightning and MySQL drivers read, `SET` in
//! its session / global forms (recorded), and look-ups for `SELECT @@…` / `SHOW VARIABLES`.

use super::lex::Tok;
use super::sql::{Cur, Engine, Outcome, Res, Session, SqlError};

/// Defaults of a fresh TiDB (docs.pingcap.com, "System Variables"), for the variables
/// Lightning reads (`common.DefaultImportantVariables` and `DefaultImportVariablesTiDB`,
/// `tidb_backoff_weight` before checksums) and those MySQL drivers read when connecting.
const DEFAULTS: &[(&str, &str)] = &[
    ("autocommit", "ON"),
    ("block_encryption_mode", "aes-128-ecb"),
    ("character_set_client", "utf8mb4"),
    ("character_set_connection", "utf8mb4"),
    ("character_set_database", "utf8mb4"),
    ("character_set_results", "utf8mb4"),
    ("character_set_server", "utf8mb4"),
    ("collation_connection", "utf8mb4_bin"),
    ("collation_database", "utf8mb4_bin"),
    ("collation_server", "utf8mb4_bin"),
    ("default_week_format", "0"),
    ("div_precision_increment", "4"),
    ("foreign_key_checks", "OFF"),
    ("group_concat_max_len", "1024"),
    ("interactive_timeout", "28800"),
    ("lc_time_names", "en_US"),
    ("lower_case_table_names", "2"),
    ("max_allowed_packet", "67108864"),
    ("net_write_timeout", "60"),
    ("socket", ""),
    (
        "sql_mode",
        "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
    ),
    ("system_time_zone", "UTC"),
    ("time_zone", "SYSTEM"),
    ("transaction_isolation", "REPEATABLE-READ"),
    ("tx_isolation", "REPEATABLE-READ"),
    ("version_comment", "TiDB Server (Apache License 2.0) Community Edition, MySQL 8.0 compatible"),
    ("wait_timeout", "28800"),
    ("tidb_backoff_weight", "2"),
    ("tidb_build_stats_concurrency", "2"),
    ("tidb_checksum_table_concurrency", "4"),
    ("tidb_distsql_scan_concurrency", "15"),
    ("tidb_enable_clustered_index", "INT_ONLY"),
    ("tidb_explicit_request_source_type", ""),
    ("tidb_gc_life_time", "10m0s"),
    ("tidb_index_serial_scan_concurrency", "1"),
    ("tidb_row_format_version", "2"),
    ("tidb_txn_mode", "pessimistic"),
];

/// Whether `name` (lower case) is a system variable the simulator accepts: a known one,
/// or any `tidb_*` (TiDB's own variables; Lightning sets several and tolerates refusals).
fn known(name: &str) -> bool {
    name.starts_with("tidb_") || DEFAULTS.iter().any(|(k, _)| *k == name)
}

/// ER_UNKNOWN_SYSTEM_VARIABLE (1193).
fn unknown(name: &str) -> SqlError {
    SqlError::new(1193, "HY000", format!("Unknown system variable '{name}'"))
}

/// The value of `@@[scope.]name` for `s`: session, then global, then default.
pub fn get(e: &Engine, s: &Session, raw: &str) -> Result<String, SqlError> {
    let lower = raw.to_lowercase();
    let (scope, name) = match lower.split_once('.') {
        Some((sc @ ("global" | "session" | "local"), n)) => (sc.to_string(), n.to_string()),
        _ => (String::new(), lower.clone()),
    };
    if scope != "global" {
        if let Some(v) = s.vars.get(&name) {
            return Ok(v.clone());
        }
    }
    if let Some(v) = e.cat().globals.get(&name) {
        return Ok(v.clone());
    }
    match DEFAULTS.iter().find(|(k, _)| *k == name) {
        Some((_, v)) => Ok((*v).to_string()),
        None if name.starts_with("tidb_") => Ok(String::new()),
        None => Err(unknown(&name)),
    }
}

/// All variables visible to `s`, by name.
pub fn all(e: &Engine, s: &Session, global_only: bool) -> Vec<(String, String)> {
    let mut m: std::collections::BTreeMap<String, String> = DEFAULTS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    m.extend(e.cat().globals.clone());
    if !global_only {
        m.extend(s.vars.clone());
    }
    m.into_iter().collect()
}

/// `SET [GLOBAL|SESSION] a = v[, …]`, `SET @@x = v`, `SET @user = v`, `SET NAMES …`.
pub fn set(e: &Engine, s: &mut Session, c: &mut Cur) -> Res {
    c.bump();
    if c.kw("NAMES") || (c.is_kw("CHARACTER") && c.peek_at(1).is_some()) {
        if c.kw("CHARACTER") {
            c.expect_kw("SET")?;
        }
        let cs = c.value()?.to_lowercase();
        let coll = if c.kw("COLLATE") {
            Some(c.value()?)
        } else {
            None
        };
        c.finish()?;
        for k in [
            "character_set_client",
            "character_set_connection",
            "character_set_results",
        ] {
            s.vars.insert(k.into(), cs.clone());
        }
        if let Some(coll) = coll {
            s.vars
                .insert("collation_connection".into(), coll.to_lowercase());
        }
        return Ok(Outcome::Ok { affected: 0 });
    }
    if c.kw("TRANSACTION") {
        return Err(SqlError::unsupported("SET TRANSACTION"));
    }
    let mut assigns = Vec::new();
    loop {
        let mut global = c.kw("GLOBAL");
        if !global {
            c.kw("SESSION");
            c.kw("LOCAL");
        }
        let (name, user) = match c.bump() {
            Some(Tok::Var { sys: true, name }) => {
                let lower = name.to_lowercase();
                match lower.split_once('.') {
                    Some(("global", n)) => {
                        global = true;
                        (n.to_string(), false)
                    }
                    Some(("session" | "local", n)) => (n.to_string(), false),
                    _ => (lower, false),
                }
            }
            Some(Tok::Var { sys: false, name }) => (name, true),
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => (w.to_lowercase(), false),
            _ => return Err(c.err()),
        };
        if !c.punct('=') {
            c.expect_kw("TO")?;
        }
        let value = c.value()?;
        if !user && !known(&name) {
            return Err(unknown(&name));
        }
        assigns.push((global, user, name, value));
        if !c.punct(',') {
            break;
        }
    }
    c.finish()?;
    for (global, user, name, value) in assigns {
        if user {
            continue;
        }
        if value.eq_ignore_ascii_case("DEFAULT") {
            if global {
                e.cat().globals.remove(&name);
            } else {
                s.vars.remove(&name);
            }
            continue;
        }
        let value = match value.to_ascii_uppercase().as_str() {
            "1" | "ON" if is_bool(&name) => "ON".to_string(),
            "0" | "OFF" if is_bool(&name) => "OFF".to_string(),
            _ => value,
        };
        if global {
            e.cat().globals.insert(name, value);
        } else {
            e.cat().session_sets.push((name.clone(), value.clone()));
            s.vars.insert(name, value);
        }
    }
    Ok(Outcome::Ok { affected: 0 })
}

/// Boolean variables TiDB reports as ON/OFF.
fn is_bool(name: &str) -> bool {
    matches!(
        name,
        "autocommit" | "foreign_key_checks" | "tidb_enable_clustered_index"
    )
}
