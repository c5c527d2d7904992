//! A private MariaDB server for tests: its own data dir, socket and loopback port.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The user the server lets in over TCP from 127.0.0.1 without a password.
pub const ROOT_USER: &str = "root";

/// A running MariaDB server owned by the test; stopped and deleted on drop.
pub struct MariaDb {
    server: Mutex<Option<Server>>,
    dir: tempfile::TempDir,
    port: u16,
}

/// Writes a throwaway CA (`ca.pem`) and a server certificate for 127.0.0.1 and localhost
/// (`server-cert.pem`, `server-key.pem`) into `dir`; returns mariadbd's flags for them.
pub fn make_certificates(dir: &Path) -> Result<Vec<String>> {
    let run = |args: &[&str]| -> Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .context("running openssl (Debian's openssl package)")?;
        if !out.status.success() {
            bail!(
                "openssl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )?;
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    run(&[
        &["req"][..],
        &rsa,
        &[
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.csr",
            "-subj",
            "/CN=lightning test CA",
        ],
    ]
    .concat())?;
    run(&[
        "x509",
        "-req",
        "-in",
        "ca.csr",
        "-signkey",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-extfile",
        "ca.ext",
    ])?;
    run(&[
        &["req"][..],
        &rsa,
        &[
            "-keyout",
            "server-key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat())?;
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "server-cert.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    let flag = |name: &str, file: &str| format!("--{name}={}", dir.join(file).display());
    Ok(vec![
        flag("ssl-ca", "ca.pem"),
        flag("ssl-cert", "server-cert.pem"),
        flag("ssl-key", "server-key.pem"),
    ])
}

/// The server process, spawned and reaped by a thread of its own: `PR_SET_PDEATHSIG`
/// fires when the spawning *thread* ends, so it must outlive every test using it.
struct Server {
    pid: i32,
    exited: Receiver<ExitStatus>,
}

impl MariaDb {
    /// Installs a fresh data directory and starts `mariadbd` on a free loopback port.
    pub fn start() -> Result<Self> {
        Self::start_inner(false)
    }

    /// Like [`MariaDb::start`], and the server also speaks TLS with a certificate for
    /// `127.0.0.1` signed by a throwaway CA ([`MariaDb::tls_ca`]), made with `openssl`.
    pub fn start_tls() -> Result<Self> {
        Self::start_inner(true)
    }

    /// The CA certificate (PEM) that signed a TLS server's certificate.
    pub fn tls_ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn start_inner(tls: bool) -> Result<Self> {
        let mariadbd = find_binary(&["mariadbd", "mysqld"]).context(
            "mariadbd not found: install Debian's mariadb-server (scripts/setup.sh does)",
        )?;
        let install = find_binary(&["mariadb-install-db", "mysql_install_db"])
            .context("mariadb-install-db not found")?;
        let dir = tempfile::Builder::new()
            .prefix("lightning-mariadb-")
            .tempdir()?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)?;
        let out = Command::new(install)
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .args(user_args())
            .output()
            .context("running mariadb-install-db")?;
        if !out.status.success() {
            bail!(
                "mariadb-install-db failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Let root in over TCP from 127.0.0.1 without a password; run at every start.
        let init = dir.path().join("init.sql");
        std::fs::write(
            &init,
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\n\
             GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n",
        )?;
        let tls_args = if tls {
            make_certificates(dir.path())?
        } else {
            Vec::new()
        };
        let mut db = MariaDb {
            server: Mutex::new(None),
            dir,
            port: 0,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            db.port = free_port()?;
            let mut cmd = Command::new(&mariadbd);
            let p = db.dir.path();
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", p.join("mysqld.sock").display()))
                .arg(format!("--pid-file={}", p.join("mysqld.pid").display()))
                .arg(format!("--init-file={}", init.display()))
                .arg(format!("--tmpdir={}", p.display()))
                .arg(format!("--secure-file-priv={}", p.display()))
                .arg(format!("--port={}", db.port))
                .arg("--bind-address=127.0.0.1")
                .arg("--skip-name-resolve")
                .arg("--local-infile=1")
                // A row up to max-row-size's default (120 MiB) fits one packet.
                .arg("--max-allowed-packet=256M")
                .arg("--innodb-buffer-pool-size=256M")
                .arg("--innodb-log-file-size=256M")
                .arg("--innodb-flush-log-at-trx-commit=2")
                .arg("--skip-log-bin")
                .arg("--character-set-server=utf8mb4")
                .arg("--collation-server=utf8mb4_general_ci")
                .args(&tls_args)
                .args(user_args())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(p.join("error.log"))?);
            die_with_parent(&mut cmd);
            *db.server.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Some(Server::spawn(cmd)?);
            match db.wait_ready(Duration::from_secs(60)) {
                Ok(()) => return Ok(db),
                Err(e) => {
                    last_err = format!("{e:#}\n{}", db.error_log_tail());
                    db.stop_now();
                }
            }
        }
        bail!("mariadbd did not start: {last_err}")
    }

    /// One server per test process, started on first use and stopped at process exit.
    pub fn shared() -> &'static MariaDb {
        static SHARED: OnceLock<MariaDb> = OnceLock::new();
        SHARED.get_or_init(|| {
            let db = MariaDb::start().expect("starting the shared test MariaDB");
            extern "C" fn stop_shared() {
                if let Some(db) = SHARED.get() {
                    db.stop_now();
                    // Statics are never dropped, so the TempDir would stay behind.
                    let _ = std::fs::remove_dir_all(db.dir.path());
                }
            }
            // SAFETY: registers a plain function with no captured state.
            unsafe { libc::atexit(stop_shared) };
            db
        })
    }

    /// The loopback TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host to connect to.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// A `mysql://` URL for root over TCP.
    pub fn url(&self) -> String {
        format!("mysql://{ROOT_USER}@127.0.0.1:{}", self.port)
    }

    /// A folder the server may read and write files in (`secure-file-priv`).
    pub fn file_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL through the `mariadb` client; returns rows, tab-separated, one per line.
    pub fn query(&self, sql: &str) -> Result<String> {
        let mut child = self
            .client()
            .args(["-N", "-B"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawning the mariadb client")?;
        child
            .stdin
            .take()
            .context("client stdin")?
            .write_all(sql.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "SQL failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                truncate(sql)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The `mariadb` client command preset to connect as root over TCP.
    pub fn client(&self) -> Command {
        let mut c =
            Command::new(find_binary(&["mariadb", "mysql"]).unwrap_or_else(|| "mariadb".into()));
        c.args([
            "--no-defaults",
            "-h",
            "127.0.0.1",
            "-P",
            &self.port.to_string(),
            "-u",
            ROOT_USER,
        ]);
        c
    }

    /// Arguments that point a MySQL-protocol tool (mysqldump, mydumper) at this server.
    pub fn conn_args(&self) -> Vec<String> {
        vec![
            "-h".into(),
            "127.0.0.1".into(),
            "-P".into(),
            self.port.to_string(),
            "-u".into(),
            ROOT_USER.into(),
        ]
    }

    /// CPU seconds (user + system) the server process has used so far.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let pid = self.pid().context("server not running")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .context("bad /proc stat")?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = f.get(11).context("utime")?.parse::<f64>()?
            + f.get(12).context("stime")?.parse::<f64>()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Ok(ticks / hz)
    }

    fn pid(&self) -> Option<i32> {
        self.server.lock().ok()?.as_ref().map(|s| s.pid)
    }

    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(g) = self.server.lock() {
                if let Some(status) = g.as_ref().and_then(|s| s.exited.try_recv().ok()) {
                    bail!("mariadbd exited with {status}");
                }
            }
            if self.query("SELECT 1").is_ok() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!("timed out after {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn error_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn stop_now(&self) {
        if let Some(server) = self.server.lock().ok().and_then(|mut g| g.take()) {
            server.stop();
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop_now();
    }
}

impl Server {
    fn spawn(mut cmd: Command) -> Result<Server> {
        let (pid_tx, pid_rx) = mpsc::channel();
        let (exit_tx, exited) = mpsc::channel();
        std::thread::spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = pid_tx.send(Ok(child.id() as i32));
                if let Ok(status) = child.wait() {
                    let _ = exit_tx.send(status);
                }
            }
            Err(e) => {
                let _ = pid_tx.send(Err(e));
            }
        });
        let pid = pid_rx
            .recv()
            .context("server thread")?
            .context("spawning mariadbd")?;
        Ok(Server { pid, exited })
    }

    /// SIGTERM, then SIGKILL if the server has not exited within 20 s.
    fn stop(self) {
        // SAFETY: signals our own child, which the reaper thread has not yet reaped.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        if self.exited.recv_timeout(Duration::from_secs(20)).is_err() {
            // SAFETY: as above.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = self.exited.recv_timeout(Duration::from_secs(10));
        }
    }
}

/// mariadbd refuses to run as root unless told to.
fn user_args() -> Vec<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        vec!["--user=root".into()]
    } else {
        vec![]
    }
}

/// The server gets SIGKILL if the test process dies without cleaning up.
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child's own state.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from));
    names
        .iter()
        .find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()))
}

fn truncate(sql: &str) -> String {
    let mut s: String = sql.chars().take(300).collect();
    if s.len() < sql.len() {
        s.push('…');
    }
    s
}
