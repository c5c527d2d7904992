//! How every SQL connection to the target is opened: `[tidb]`, its TLS, and the session
//! variables an import needs.

use lightning_backend::tidb::ConnectOptions;
use lightning_config::Config;

/// How the SQL connections to the target are opened.
pub(crate) fn connect_options(cfg: &Config) -> ConnectOptions {
    let security = cfg.tidb.security.as_ref().unwrap_or(&cfg.security);
    let path = |p: &str| (!p.is_empty()).then(|| p.into());
    ConnectOptions {
        host: cfg.tidb.host.clone(),
        port: cfg.tidb.port as u16,
        user: cfg.tidb.user.clone(),
        password: cfg.tidb.password.clone(),
        // As upstream, `sql-mode = ""` sets the empty mode (nothing strict), not the server's.
        sql_mode: Some(cfg.tidb.sql_mode.clone()),
        tls: cfg.tidb.tls.clone(),
        ca_path: path(&security.ca_path),
        cert_path: path(&security.cert_path),
        key_path: path(&security.key_path),
        max_connections: cfg.lightning.region_concurrency + 2,
        session_vars: session_vars(cfg),
    }
}

/// `[tidb.session-vars]`, plus `time_zone = '+00:00'` unless set there: Dumpling, mydumper
/// and mysqldump write TIMESTAMP values in UTC (each data file says `SET TIME_ZONE='+00:00'`,
/// a statement the parser skips), so the session must read them in UTC too.
fn session_vars(cfg: &Config) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = cfg
        .tidb
        .session_vars
        .iter()
        .filter(|(k, _)| {
            let ok = k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                tracing::warn!(name = %k, "ignoring [tidb.session-vars] entry: not a variable name");
            }
            ok
        })
        .map(|(k, v)| {
            let literal = if v.parse::<f64>().is_ok() { v.clone() } else { format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''")) };
            (k.clone(), literal)
        })
        .collect();
    if !vars
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("time_zone"))
    {
        vars.push(("time_zone".into(), "'+00:00'".into()));
    }
    vars
}
