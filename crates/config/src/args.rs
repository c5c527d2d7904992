//! `tidb-lightning`'s command line, parsed the way Go's `flag` package does: one or two dashes,
//! `-name=value` or `-name value`, booleans as `-name` or `-name=false`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::enums::{Backend, PostOpLevel};
use crate::{Config, ConfigError, Invocation};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Bool,
    List,
}

/// (name, kind, value placeholder, help).
const FLAGS: &[(&str, Kind, &str, &str)] = &[
    (
        "config",
        Kind::Str,
        "file",
        "tidb-lightning configuration file",
    ),
    ("c", Kind::Str, "file", "(deprecated alias of -config)"),
    ("V", Kind::Bool, "", "print version of lightning"),
    ("version", Kind::Bool, "", "print version of lightning"),
    (
        "L",
        Kind::Str,
        "level",
        "log level: info, debug, warn, error, fatal (default info)",
    ),
    ("log-file", Kind::Str, "file", "log file path"),
    ("tidb-host", Kind::Str, "host", "TiDB server host"),
    (
        "tidb-port",
        Kind::Str,
        "port",
        "TiDB server port (default 4000)",
    ),
    ("tidb-user", Kind::Str, "user", "TiDB user name to connect"),
    (
        "tidb-password",
        Kind::Str,
        "password",
        "TiDB password to connect",
    ),
    (
        "tidb-status",
        Kind::Str,
        "port",
        "TiDB server status port (default 10080)",
    ),
    ("pd-urls", Kind::Str, "addr", "PD endpoint address"),
    ("d", Kind::Str, "dir", "Directory of the dump to import"),
    (
        "importer",
        Kind::Str,
        "addr",
        "address (host:port) to connect to tikv-importer",
    ),
    (
        "backend",
        Kind::Str,
        "name",
        "delivery backend: local, importer, tidb",
    ),
    (
        "sorted-kv-dir",
        Kind::Str,
        "dir",
        "path for KV pairs when local backend enabled",
    ),
    (
        "enable-checkpoint",
        Kind::Bool,
        "",
        "whether to enable checkpoints (default true)",
    ),
    (
        "no-schema",
        Kind::Bool,
        "",
        "ignore schema files, get schema directly from TiDB instead",
    ),
    (
        "checksum",
        Kind::Str,
        "level",
        "compare checksum after importing: required, optional, off",
    ),
    (
        "analyze",
        Kind::Str,
        "level",
        "analyze table after importing: required, optional, off",
    ),
    (
        "check-requirements",
        Kind::Bool,
        "",
        "check cluster version before starting (default true)",
    ),
    (
        "ca",
        Kind::Str,
        "path",
        "CA certificate path for TLS connection",
    ),
    (
        "cert",
        Kind::Str,
        "path",
        "certificate path for TLS connection",
    ),
    (
        "key",
        Kind::Str,
        "path",
        "private key path for TLS connection",
    ),
    (
        "redact-info-log",
        Kind::Bool,
        "",
        "whether to redact sensitive info in log",
    ),
    (
        "status-addr",
        Kind::Str,
        "addr",
        "the Lightning server address",
    ),
    (
        "server-mode",
        Kind::Bool,
        "",
        "start Lightning in server mode, wait for multiple tasks",
    ),
    (
        "check-only",
        Kind::Str,
        "spec",
        "do check only: 'default' or 'rate,rows'",
    ),
    (
        "f",
        Kind::List,
        "rule",
        "select tables to import (repeatable table filter rule)",
    ),
];

/// The `-h` text.
pub(crate) fn usage() -> String {
    let mut out = String::from("Usage of tidb-lightning:\n");
    for (name, kind, ph, help) in FLAGS {
        let ph = if *kind == Kind::Bool {
            String::new()
        } else {
            format!(" {ph}")
        };
        out.push_str(&format!("  -{name}{ph}\n    \t{help}\n"));
    }
    out
}

fn parse_bool(flag: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(bad(flag, v, "expected a boolean (true/false)")),
    }
}

fn bad(flag: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidFlag {
        flag: format!("-{flag}"),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Flag name → values in command-line order.
type Given = HashMap<&'static str, Vec<String>>;

fn scan(args: Vec<String>) -> Result<Result<Given, Invocation>, ConfigError> {
    let mut given: Given = HashMap::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            if let Some(extra) = it.next() {
                return Err(ConfigError::UnknownFlag(format!(
                    "unexpected argument {extra:?}"
                )));
            }
            break;
        }
        let body = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|b| !b.is_empty() && !b.starts_with(['-', '=']))
            .ok_or_else(|| ConfigError::UnknownFlag(format!("unexpected argument {arg:?}")))?;
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if name == "h" || name == "help" {
            return Ok(Err(Invocation::Help(usage())));
        }
        let Some(&(canon, kind, _, _)) = FLAGS.iter().find(|f| f.0 == name) else {
            return Err(ConfigError::UnknownFlag(format!("-{name}")));
        };
        let value = match (kind, inline) {
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Bool, Some(v)) => parse_bool(canon, &v)?.to_string(),
            (_, Some(v)) => v,
            (_, None) => it
                .next()
                .ok_or_else(|| ConfigError::MissingFlagValue(format!("-{name}")))?,
        };
        let canon = if canon == "c" { "config" } else { canon };
        let canon = if canon == "version" { "V" } else { canon };
        given.entry(canon).or_default().push(value);
    }
    Ok(Ok(given))
}

pub(crate) fn from_args<I: IntoIterator<Item = OsString>>(
    args: I,
) -> Result<Invocation, ConfigError> {
    let args = args
        .into_iter()
        .map(|a| {
            a.into_string().map_err(|a| ConfigError::InvalidFlag {
                flag: "argument".into(),
                value: a.to_string_lossy().into_owned(),
                reason: "not valid UTF-8".into(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let given = match scan(args)? {
        Ok(g) => g,
        Err(inv) => return Ok(inv),
    };
    let last = |name: &str| given.get(name).and_then(|v| v.last()).map(String::as_str);
    if last("V") == Some("true") {
        return Ok(Invocation::Version);
    }
    let mut cfg = match last("config") {
        Some(path) => Config::parse_toml_file(&PathBuf::from(path))?,
        None => Config::default(),
    };
    apply(&mut cfg, &given)?;
    cfg.validate()?;
    Ok(Invocation::Run(Box::new(cfg)))
}

/// The configuration of one task posted to a server-mode process (`POST /tasks`):
/// defaults < the server's `--config` file < its flags < the task's TOML `body`, as
/// upstream's (a flag the body also sets gives way to the body). Logging and the status
/// server are the process's: a body that sets them is refused, naming the key.
pub(crate) fn task_from_args(args: &[String], body: &str) -> Result<Config, ConfigError> {
    let parse_err = |path: Option<PathBuf>, e: toml::de::Error| ConfigError::Parse {
        path,
        message: e.to_string().trim_end().to_string(),
    };
    let given: Given = scan(args.to_vec())?.unwrap_or_default();
    let task: toml::Table = body.parse().map_err(|e| parse_err(None, e))?;
    for key in SERVER_KEYS {
        if sets_key(&task, key) {
            let (section, name) = key.split_once('.').unwrap_or(("", key));
            let value = match &task[section][name] {
                toml::Value::String(v) => v.clone(),
                v => v.to_string(),
            };
            return Err(ConfigError::value(
                key,
                value,
                "a task cannot set it: the server's applies to every task (set it on the server's command line or --config)",
            ));
        }
    }
    let mut merged = match given.get("config").and_then(|v| v.last()) {
        Some(path) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            text.parse::<toml::Table>()
                .map_err(|e| parse_err(Some(path), e))?
        }
        None => toml::Table::new(),
    };
    merge_tables(&mut merged, task.clone());
    let mut cfg = Config::parse_toml_str(&toml::to_string(&merged).unwrap_or_default())?;
    let flags: Given = given
        .into_iter()
        .filter(|(name, _)| flag_key(name).is_none_or(|key| !sets_key(&task, key)))
        .collect();
    apply(&mut cfg, &flags)?;
    cfg.lightning.server_mode = false;
    cfg.lightning.status_addr.clear();
    cfg.validate()?;
    Ok(cfg)
}

/// Keys of the server process that a posted task cannot change: its logging and its
/// status server.
const SERVER_KEYS: [&str; 6] = [
    "lightning.file",
    "lightning.level",
    "lightning.format",
    "lightning.status-addr",
    "lightning.pprof-port",
    "lightning.server-mode",
];

/// Overlays `top` on `base`, table by table.
fn merge_tables(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge_tables(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Does `t` set the dotted `key` (`section.name`)?
fn sets_key(t: &toml::Table, key: &str) -> bool {
    let (section, name) = key.split_once('.').unwrap_or(("", key));
    t.get(section)
        .and_then(toml::Value::as_table)
        .is_some_and(|s| s.contains_key(name))
}

/// The config key a flag sets, when it sets one.
fn flag_key(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "L" => "lightning.level",
        "log-file" => "lightning.file",
        "tidb-host" => "tidb.host",
        "tidb-port" => "tidb.port",
        "tidb-user" => "tidb.user",
        "tidb-password" => "tidb.password",
        "tidb-status" => "tidb.status-port",
        "pd-urls" => "tidb.pd-addr",
        "d" => "mydumper.data-source-dir",
        "importer" => "tikv-importer.addr",
        "backend" => "tikv-importer.backend",
        "sorted-kv-dir" => "tikv-importer.sorted-kv-dir",
        "enable-checkpoint" => "checkpoint.enable",
        "no-schema" => "mydumper.no-schema",
        "checksum" => "post-restore.checksum",
        "analyze" => "post-restore.analyze",
        "check-requirements" => "lightning.check-requirements",
        "ca" => "security.ca-path",
        "cert" => "security.cert-path",
        "key" => "security.key-path",
        "redact-info-log" => "security.redact-info-log",
        "f" => "mydumper.filter",
        _ => return None,
    })
}

fn apply(cfg: &mut Config, given: &Given) -> Result<(), ConfigError> {
    for (&name, values) in given {
        let Some(v) = values.last().cloned() else {
            continue;
        };
        let port = |v: &str| {
            v.parse::<u16>()
                .map(u32::from)
                .map_err(|_| bad(name, v, "expected a port number 0-65535"))
        };
        match name {
            "L" => {
                let ok = ["info", "debug", "warn", "warning", "error", "fatal"];
                if !v.is_empty() && !ok.contains(&v.as_str()) {
                    return Err(bad(name, &v, format!("choose one of: {}", ok.join(", "))));
                }
                if !v.is_empty() {
                    cfg.lightning.level = v;
                }
            }
            "log-file" => cfg.lightning.file = v,
            "tidb-host" => cfg.tidb.host = v,
            "tidb-port" => cfg.tidb.port = port(&v)?,
            "tidb-user" => cfg.tidb.user = v,
            "tidb-password" => cfg.tidb.password = v,
            "tidb-status" => cfg.tidb.status_port = port(&v)?,
            "pd-urls" => cfg.tidb.pd_addr = v,
            "d" => cfg.mydumper.data_source_dir = v,
            "importer" => cfg.tikv_importer.addr = v,
            "backend" => {
                cfg.tikv_importer.backend = v.parse::<Backend>().map_err(|e| bad(name, &v, e))?
            }
            "sorted-kv-dir" => cfg.tikv_importer.sorted_kv_dir = v,
            "enable-checkpoint" => cfg.checkpoint.enable = v == "true",
            "no-schema" => cfg.mydumper.no_schema = v == "true",
            "checksum" => {
                cfg.post_restore.checksum =
                    v.parse::<PostOpLevel>().map_err(|e| bad(name, &v, e))?
            }
            "analyze" => {
                cfg.post_restore.analyze = v.parse::<PostOpLevel>().map_err(|e| bad(name, &v, e))?
            }
            "check-requirements" => cfg.lightning.check_requirements = v == "true",
            "ca" => cfg.security.ca_path = v,
            "cert" => cfg.security.cert_path = v,
            "key" => cfg.security.key_path = v,
            "redact-info-log" => cfg.security.redact_info_log = v == "true",
            "status-addr" => cfg.lightning.status_addr = v,
            "server-mode" => cfg.lightning.server_mode = v == "true",
            "check-only" => {
                check_only_spec(&v).map_err(|e| bad(name, &v, e))?;
                // Running the pre-checks alone is not built: refuse rather than import.
                return Err(bad(
                    name,
                    &v,
                    "not supported yet: pre-checks run only as part of an import",
                ));
            }
            "f" => cfg.mydumper.filter = values.clone(),
            _ => {}
        }
    }
    Ok(())
}

/// Validates `--check-only`: "default" or "rate,rows" with rate in (0, 1] and rows > 0 or -1.
fn check_only_spec(v: &str) -> Result<(), String> {
    if v == "default" {
        return Ok(());
    }
    let (rate, rows) = v
        .split_once(',')
        .ok_or("expected 'default' or 'rate,rows'")?;
    let rate: f64 = rate.trim().parse().map_err(|_| "rate is not a number")?;
    let rows: i64 = rows.trim().parse().map_err(|_| "rows is not an integer")?;
    if !(rate > 0.0 && rate <= 1.0) {
        return Err("rate should be in range (0, 1]".into());
    }
    if rows != -1 && rows <= 0 {
        return Err("rows should be positive or -1 (all)".into());
    }
    Ok(())
}
