"""A private MariaDB server for the demo and the benchmark: its own data dir, socket and
loopback port, stopped on exit. (The Rust tests use crates/testkit, which does the same.)"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDB:
    """Starts mariadbd in a temp dir; `query` runs SQL through the mariadb client."""

    def __init__(self, buffer_pool="1G", extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="lightning-mariadb-")
        data = os.path.join(self.dir, "data")
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            ["mariadb-install-db", f"--datadir={data}", "--auth-root-authentication-method=normal", "--skip-test-db", *user],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        init = os.path.join(self.dir, "init.sql")
        with open(init, "w") as f:
            f.write("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\n"
                    "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n")
        self.port = _free_port()
        mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.proc = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={data}", f"--socket={self.dir}/mysqld.sock",
             f"--pid-file={self.dir}/mysqld.pid", f"--init-file={init}", f"--tmpdir={self.dir}",
             f"--secure-file-priv={self.dir}", f"--port={self.port}", "--bind-address=127.0.0.1",
             "--skip-name-resolve", "--local-infile=1", "--max-allowed-packet=64M",
             f"--innodb-buffer-pool-size={buffer_pool}", "--innodb-log-file-size=512M",
             "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_general_ci", *extra_args, *user],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "error.log"), "w"),
        )
        atexit.register(self.stop)
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited: " + open(os.path.join(self.dir, "error.log")).read()[-2000:])
            try:
                self.query("SELECT 1")
                break
            except subprocess.CalledProcessError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def conn_args(self):
        """Arguments that point mariadb/mydumper/myloader at this server."""
        return ["-h", "127.0.0.1", "-P", str(self.port), "-u", "root"]

    def query(self, sql):
        """Runs SQL; returns the rows as lists of strings (tab-separated output)."""
        out = subprocess.run(["mariadb", "--no-defaults", *self.conn_args(), "-N", "-B"], input=sql.encode(),
                             check=True, capture_output=True).stdout.decode()
        return [line.split("\t") for line in out.splitlines()]

    def cpu_seconds(self):
        """User + system CPU seconds the server has used."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def checksums(self, db):
        """{table: (rows, CHECKSUM TABLE)} for every base table of `db`."""
        tables = [r[0] for r in self.query(
            f"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='{db}' AND TABLE_TYPE='BASE TABLE' ORDER BY 1")]
        out = {}
        for t in tables:
            rows = self.query(f"SELECT COUNT(*) FROM `{db}`.`{t}`")[0][0]
            crc = self.query(f"CHECKSUM TABLE `{db}`.`{t}`")[0][1]
            out[t] = (int(rows), crc)
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_lightning_config(path, server, dump, log, lightning="", importer="", checkpoint=None):
    """Writes a tidb-lightning config importing `dump` into `server` with the tidb backend;
    `lightning` and `importer` are extra lines for those sections; `checkpoint` is a file
    checkpoint path (default: checkpoints off)."""
    with open(path, "w") as f:
        f.write(f"""[lightning]
level = "info"
file = "{log}"
{lightning}
[tikv-importer]
backend = "tidb"
{importer}
[mydumper]
data-source-dir = "{dump}"

[tidb]
host = "127.0.0.1"
port = {server.port}
user = "root"

[checkpoint]
""" + (f'enable = true\ndriver = "file"\ndsn = "{checkpoint}"\n' if checkpoint else "enable = false\n"))
