#!/usr/bin/env python3
"""Peak memory of tidb-lightning (tidb backend) on hostile rows behind gz, zstd and snappy.

Each case is one data file whose decompressed text is --size-gib GiB (default 2) of one
row that never ends, written through a streaming compressor (cramjam, installed with pip
if missing), so the file itself is small:

- sql-string:  INSERT INTO `t` VALUES (1,'xxxx…           (an unterminated string)
- csv-quoted:  a,b / 1,"xxxx…                               (an unterminated quoted field)
- csv-line:    a,b / 1,xxxx…                                (one line with no terminator)
- sql-skip, csv-skip: the same rows closed at the end, with more rows after them, run
  with max-error = 1: the long row is skipped as it streams in, the two others load

plus a valid one, sql-tuples: one INSERT of --tuples value tuples (default 5 000 000),
which must load. Each run imports into a private MariaDB with the release binary and
reports its exit code, wall seconds, peak RSS (wait4) and the first error line; the
hostile ones must fail naming `mydumper.max-row-size`. The budget printed is what the
readers may hold: region-concurrency x (max-row-size + 2 blocks), plus a fixed base.

    python3 bench/hostile_rows.py [--size-gib 2] [--tuples 5000000] [--max-row-size 120MiB]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))

from mariadb import MariaDB, write_lightning_config  # noqa: E402

try:
    import cramjam
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "cramjam"], check=True)
    import cramjam

PIECE = 64 << 20
REGION_CONCURRENCY = 2


def size_arg(text):
    units = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}
    t = text.strip().lower()
    for u, m in units.items():
        if t.endswith(u):
            return int(float(t[: -len(u)]) * m)
    return int(t)


def compressor(kind):
    return {
        "gz": lambda: cramjam.gzip.Compressor(1),
        "zst": lambda: cramjam.zstd.Compressor(1),
        "snappy": lambda: cramjam.snappy.Compressor(),
    }[kind]()


def write_file(path, kind, head, body_bytes, body_piece=b"x", tail=b""):
    """Writes head, body_bytes of repeated body_piece, then tail, compressed as `kind`."""
    c = compressor(kind)
    with open(path, "wb") as f:
        c.compress(head)
        piece = body_piece * (PIECE // len(body_piece))
        left = body_bytes
        while left > 0:
            n = min(left, len(piece))
            c.compress(piece[:n])
            left -= n
            f.write(bytes(c.flush()))
        c.compress(tail)
        f.write(bytes(c.finish()))


def tuples_text(n):
    yield b"INSERT INTO `t` VALUES "
    batch = []
    for i in range(1, n + 1):
        batch.append(b"(%d,'v%d')%s" % (i, i, b";\n" if i == n else b","))
        if len(batch) == 100_000:
            yield b"".join(batch)
            batch = []
    if batch:
        yield b"".join(batch)


def write_tuples(path, kind, n):
    c = compressor(kind)
    with open(path, "wb") as f:
        for part in tuples_text(n):
            c.compress(part)
            f.write(bytes(c.flush()))
        f.write(bytes(c.finish()))


def run(binary, cfg):
    t0 = time.monotonic()
    proc = subprocess.Popen([binary, "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    line = next((l for l in err.splitlines() if "error" in l), "")
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024, line


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gib", type=float, default=2.0)
    ap.add_argument("--tuples", type=int, default=5_000_000)
    ap.add_argument("--max-row-size", default="120MiB",
                    help="the cap to configure; 'none' writes no key (for a binary from before it)")
    ap.add_argument("--binary", help="a tidb-lightning binary to measure instead of a fresh release build")
    args = ap.parse_args()
    no_key = args.max_row_size == "none"
    cap = size_arg("120MiB" if no_key else args.max_row_size)
    if args.binary:
        binary = args.binary
    else:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "lightning-cli"], cwd=REPO, check=True)
        binary = os.path.join(REPO, "target", "release", "tidb-lightning")
    server = MariaDB(buffer_pool="512M")
    body = int(args.size_gib * (1 << 30))
    work = tempfile.mkdtemp(prefix="hostile-rows-")
    hostile = [
        ("sql-string", "sql", b"INSERT INTO `t` VALUES (1,'"),
        ("csv-quoted", "csv", b"a,b\n1,\""),
        ("csv-line", "csv", b"a,b\n1,"),
    ]
    block = 64 << 10
    budget = REGION_CONCURRENCY * (cap + 2 * block) / (1 << 20)
    print(f"max-row-size {cap >> 20} MiB, region-concurrency {REGION_CONCURRENCY}: readers may hold "
          f"{budget:.0f} MiB (plus the process's base, seen below as the valid import's peak)")
    print(f"{'case':<12} {'comp':<7} {'exit':>4} {'wall s':>7} {'peak MiB':>9}  error")
    results = []
    # Rows past the cap that do end, under max-error = 1: skipped as they stream in; the
    # rows around them load (2 rows).
    ending = {
        "sql-skip": ("sql", b"INSERT INTO `t` VALUES (1,'a'),(2,'", b"'),(3,'c');\n"),
        "csv-skip": ("csv", b"a,b\n1,a\n2,\"", b"\"\n3,c\n"),
    }
    cases = [(n, e, h, k) for (n, e, h) in hostile for k in ("gz", "zst", "snappy")]
    cases += [(n, e, h, k) for n, (e, h, _) in ending.items() for k in ("gz", "zst", "snappy")]
    cases += [("sql-tuples", "sql", None, k) for k in ("gz", "zst", "snappy")]
    for i, (name, ext, head, kind) in enumerate(cases):
        dump = os.path.join(work, f"dump{i}")
        os.makedirs(dump)
        with open(os.path.join(dump, "h-schema-create.sql"), "w") as f:
            f.write("CREATE DATABASE `h`;\n")
        with open(os.path.join(dump, "h.t-schema.sql"), "w") as f:
            f.write("CREATE TABLE `t` (a int PRIMARY KEY, b longtext);\n")
        path = os.path.join(dump, f"h.t.1.{ext}.{kind}")
        if head is None:
            write_tuples(path, kind, args.tuples)
        else:
            write_file(path, kind, head, body, tail=ending.get(name, (0, 0, b""))[2])
        server.query("DROP DATABASE IF EXISTS h")
        cfg = os.path.join(work, f"run{i}.toml")
        skip = name in ending
        lightning = f"region-concurrency = {REGION_CONCURRENCY}" + ("\nmax-error = 1" if skip else "")
        write_lightning_config(cfg, server, dump, os.path.join(work, f"run{i}.log"),
                               lightning=lightning, importer="")
        if not no_key:
            text = open(cfg).read().replace("[mydumper]\n", f'[mydumper]\nmax-row-size = {cap}\n', 1)
            open(cfg, "w").write(text)
        code, wall, peak, line = run(binary, cfg)
        loads = head is None or skip
        ok = code == 0 if loads else (code != 0 and "max-row-size" in line)
        if loads and ok:
            n = int(server.query("SELECT COUNT(*) FROM h.t")[0][0])
            ok = n == (2 if skip else args.tuples)
        results.append(ok)
        size_mib = os.path.getsize(path) / (1 << 20)
        print(f"{name:<12} {kind:<7} {code:>4} {wall:>7.1f} {peak:>9.0f}  "
              f"{'ok' if ok else 'UNEXPECTED'} ({size_mib:.1f} MiB file) {line[:150]}")
        os.remove(path)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
