//! Where the MySQL driver connects: a Go-MySQL-driver DSN as upstream's `[checkpoint] dsn`
//! (`user:pass@tcp(host:port)/?param=value`), or by default the `[tidb]` server.

use mysql_async::{ClientIdentity, OptsBuilder, PoolConstraints, PoolOpts, SslOpts};

use crate::error::CheckpointError;

/// TLS to the checkpoint server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain connection.
    #[default]
    Disabled,
    /// TLS without certificate verification (`tls=skip-verify` / `preferred`).
    SkipVerify,
    /// Verified TLS, optionally with our own CA and client certificate.
    Verify {
        /// CA certificate (PEM); `None` = system roots.
        ca: Option<String>,
        /// Client certificate and key (PEM).
        identity: Option<(String, String)>,
    },
}

/// Connection settings of the checkpoint database.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct MysqlParams {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Unix socket path instead of TCP (`unix(/path)` in a DSN).
    pub socket: Option<String>,
    /// User.
    pub user: String,
    /// Password (never shown by `Debug`).
    pub password: String,
    /// TLS.
    pub tls: TlsMode,
    /// Session variables set on every connection (DSN parameters the Go driver sends as
    /// `SET name = value`).
    pub session_vars: Vec<(String, String)>,
}

impl std::fmt::Debug for MysqlParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .field("user", &self.user)
            .field("tls", &self.tls)
            .field("session_vars", &self.session_vars)
            .finish_non_exhaustive()
    }
}

/// Parameters the Go driver itself consumes; they are not session variables.
const DRIVER_PARAMS: &[&str] = &[
    "allowAllFiles",
    "allowCleartextPasswords",
    "allowFallbackToPlaintext",
    "allowNativePasswords",
    "allowOldPasswords",
    "charset",
    "checkConnLiveness",
    "clientFoundRows",
    "collation",
    "columnsWithAlias",
    "connectionAttributes",
    "interpolateParams",
    "loc",
    "maxAllowedPacket",
    "multiStatements",
    "parseTime",
    "readTimeout",
    "rejectReadOnly",
    "serverPubKey",
    "timeout",
    "writeTimeout",
];

fn bad(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Dsn {
        reason: reason.into(),
    }
}

/// `%XX` and `+` decoding as Go's `url.QueryUnescape`.
fn unescape(s: &str) -> Result<String, CheckpointError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .ok_or_else(|| bad("bad %-escape in a parameter"))?;
                out.push(
                    u8::from_str_radix(hex, 16).map_err(|_| bad("bad %-escape in a parameter"))?,
                );
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad("a parameter is not UTF-8"))
}

fn host_port(addr: &str) -> Result<(String, u16), CheckpointError> {
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (h, p) = rest
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in the address"))?;
        (h, p.strip_prefix(':'))
    } else {
        match addr.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (addr, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
        None => 3306,
    };
    Ok((host.to_string(), port))
}

impl MysqlParams {
    /// Parses `[user[:password]@][net[(addr)]]/[dbname][?param=value&…]` as the Go driver does.
    /// The database name is ignored: checkpoints go to `[checkpoint] schema`.
    pub fn parse_dsn(dsn: &str) -> Result<Self, CheckpointError> {
        let slash = dsn
            .rfind('/')
            .ok_or_else(|| bad("missing the slash separating the database name"))?;
        let (head, tail) = (&dsn[..slash], &dsn[slash + 1..]);
        let (cred, net_addr) = match head.rfind('@') {
            Some(at) => (&head[..at], &head[at + 1..]),
            None => ("", head),
        };
        let (user, password) = cred.split_once(':').unwrap_or((cred, ""));
        let (net, addr) = match net_addr.find('(') {
            Some(p) => {
                let addr = net_addr[p + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| bad("invalid network address: missing ')'"))?;
                (&net_addr[..p], addr)
            }
            None => (net_addr, ""),
        };
        let mut params = MysqlParams {
            user: user.to_string(),
            password: password.to_string(),
            ..Default::default()
        };
        match net {
            "" | "tcp" => {
                (params.host, params.port) = host_port(if addr.is_empty() {
                    "127.0.0.1:3306"
                } else {
                    addr
                })?;
            }
            "unix" => {
                params.socket = Some(
                    if addr.is_empty() {
                        "/tmp/mysql.sock"
                    } else {
                        addr
                    }
                    .to_string(),
                );
            }
            other => return Err(bad(format!("unsupported network '{other}'"))),
        }
        let query = tail.split_once('?').map(|(_, q)| q).unwrap_or("");
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = unescape(value)?;
            if key == "tls" {
                params.tls = match value.as_str() {
                    "" | "false" => TlsMode::Disabled,
                    "skip-verify" | "preferred" => TlsMode::SkipVerify,
                    "true" => TlsMode::Verify {
                        ca: None,
                        identity: None,
                    },
                    other => return Err(bad(format!("unsupported tls value '{other}'"))),
                };
            } else if !DRIVER_PARAMS.contains(&key) {
                if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    return Err(bad(format!("invalid parameter name '{key}'")));
                }
                params.session_vars.push((key.to_string(), value));
            }
        }
        Ok(params)
    }

    /// The `[tidb]` server, as upstream's default checkpoint DSN.
    pub fn from_tidb(cfg: &lightning_config::Config) -> Result<Self, CheckpointError> {
        let t = &cfg.tidb;
        let security = t.security.as_ref().unwrap_or(&cfg.security);
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let tls = match t.tls.to_ascii_lowercase().as_str() {
            "" | "false" => TlsMode::Disabled,
            "preferred" | "skip-verify" => TlsMode::SkipVerify,
            "cluster" | "true" => TlsMode::Verify {
                ca: non_empty(&security.ca_path),
                identity: non_empty(&security.cert_path).zip(non_empty(&security.key_path)),
            },
            other => return Err(bad(format!("[tidb] tls = '{other}' is not supported"))),
        };
        Ok(MysqlParams {
            host: t.host.clone(),
            port: u16::try_from(t.port).map_err(|_| bad("[tidb] port does not fit 16 bits"))?,
            socket: None,
            user: t.user.clone(),
            password: t.password.clone(),
            tls,
            session_vars: Vec::new(),
        })
    }

    /// Client options: sessions in UTC (timestamps round-trip), then the session variables.
    pub(crate) fn to_opts(&self) -> OptsBuilder {
        let mut setup = vec!["SET time_zone = '+00:00'".to_string()];
        setup.extend(
            self.session_vars
                .iter()
                .map(|(k, v)| format!("SET {k} = {v}")),
        );
        let ssl = match &self.tls {
            TlsMode::Disabled => None,
            TlsMode::SkipVerify => Some(
                SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            TlsMode::Verify { ca, identity } => {
                let mut ssl = SslOpts::default();
                if let Some(ca) = ca {
                    ssl = ssl.with_root_certs(vec![std::path::PathBuf::from(ca).into()]);
                }
                if let Some((cert, key)) = identity {
                    let id = ClientIdentity::new(
                        std::path::PathBuf::from(cert).into(),
                        std::path::PathBuf::from(key).into(),
                    );
                    ssl = ssl.with_client_identity(Some(id));
                }
                Some(ssl)
            }
        };
        let pool = PoolConstraints::new(1, 4).map(|c| PoolOpts::default().with_constraints(c));
        let b = OptsBuilder::default()
            .user(Some(self.user.clone()))
            .pass((!self.password.is_empty()).then(|| self.password.clone()))
            .prefer_socket(false)
            .setup(setup)
            .ssl_opts(ssl)
            .pool_opts(pool.unwrap_or_default());
        match &self.socket {
            Some(path) => b.socket(Some(path.clone())),
            None => b.ip_or_hostname(self.host.clone()).tcp_port(self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_dsn_forms() {
        let p = MysqlParams::parse_dsn(
            "root:p@ss:w/rd@tcp(10.0.0.5:4001)/ignored?charset=utf8mb4&sql_mode=%27STRICT_ALL_TABLES%27&tls=skip-verify&maxAllowedPacket=67108864",
        )
        .unwrap();
        assert_eq!(
            (p.user.as_str(), p.password.as_str()),
            ("root", "p@ss:w/rd")
        );
        assert_eq!((p.host.as_str(), p.port), ("10.0.0.5", 4001));
        assert_eq!(p.tls, TlsMode::SkipVerify);
        assert_eq!(
            p.session_vars,
            [("sql_mode".to_string(), "'STRICT_ALL_TABLES'".to_string())]
        );
        assert!(!format!("{p:?}").contains("w/rd"), "password hidden");

        let p = MysqlParams::parse_dsn("/").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.user.as_str()),
            ("127.0.0.1", 3306, "")
        );
        let p = MysqlParams::parse_dsn("u@tcp([::1])/db").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 3306));
        let p = MysqlParams::parse_dsn("u:x@unix(/run/mysqld.sock)/").unwrap();
        assert_eq!(p.socket.as_deref(), Some("/run/mysqld.sock"));
        let p = MysqlParams::parse_dsn("u@tcp(h:1)/?tls=true").unwrap();
        assert_eq!(
            p.tls,
            TlsMode::Verify {
                ca: None,
                identity: None
            }
        );
    }

    #[test]
    fn bad_dsns_do_not_echo_the_password() {
        for dsn in [
            "secret@tcp(h:1)",
            "u:secret@tcp(h:1/",
            "u:secret@udp(h:1)/",
            "u:secret@tcp(h:port)/",
            "u:secret@tcp(h:1)/?tls=custom",
            "u:secret@tcp(h:1)/?a%3Db=1",
            "u:secret@tcp(h:1)/?x=%zz",
        ] {
            let e = MysqlParams::parse_dsn(dsn).unwrap_err();
            assert!(matches!(e, CheckpointError::Dsn { .. }), "{dsn}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn default_is_the_tidb_server() {
        let mut cfg = lightning_config::Config::default();
        cfg.tidb.host = "tidb.example".into();
        cfg.tidb.port = 4000;
        cfg.tidb.user = "lightning".into();
        cfg.tidb.tls = "cluster".into();
        cfg.security.ca_path = "/ca.pem".into();
        let p = MysqlParams::from_tidb(&cfg).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.user.as_str()),
            ("tidb.example", 4000, "lightning")
        );
        assert_eq!(
            p.tls,
            TlsMode::Verify {
                ca: Some("/ca.pem".into()),
                identity: None
            }
        );
    }
}
