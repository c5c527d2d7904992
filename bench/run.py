#!/usr/bin/env python3
"""Whole-run benchmark of the logical backend: tidb-lightning --backend tidb vs myloader.

Builds a source database in a private MariaDB (a sysbench-shaped table plus a wide
many-types table, about 1 GB of dump by default), dumps it once with mydumper, then
imports the same dump into the same server alternately with `tidb-lightning --backend
tidb` and `myloader -t N` at equal concurrency, verifying every table's row count and
CHECKSUM TABLE after each run. Prints per run: wall MB/s (dump bytes / wall seconds), the
server's CPU seconds, dump MB per server CPU-second, the loader's own CPU seconds and peak
RSS; then the medians and the lightning/myloader ratio.

    python3 bench/run.py [--rows 4500000] [--types-rows 150000] [--runs 2] [--threads 4]
                         [--batch-size 1MiB] [--batch-rows 65536] [--keep]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "scripts", "lib"))

from mariadb import MariaDB, write_lightning_config  # noqa: E402
import gen  # noqa: E402

DB = "bench"


def dump_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if ".sql" in f and "-schema" not in f)


def timed(cmd, server, log):
    """Runs cmd; returns (wall s, server CPU s, own CPU s, peak RSS MiB)."""
    cpu0 = server.cpu_seconds()
    t0 = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed (exit {os.waitstatus_to_exitcode(status)}); see {log}")
    return wall, server.cpu_seconds() - cpu0, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4_500_000, help="rows of the sysbench-shaped table")
    ap.add_argument("--types-rows", type=int, default=150_000, help="rows of the many-types table")
    ap.add_argument("--runs", type=int, default=2, help="runs per loader (alternating)")
    ap.add_argument("--threads", type=int, default=4, help="myloader -t and lightning region-concurrency")
    ap.add_argument("--batch-size", default="1MiB", help="[tikv-importer] logical-import-batch-size")
    ap.add_argument("--batch-rows", type=int, default=65536, help="[tikv-importer] logical-import-batch-rows")
    ap.add_argument("--only", choices=["lightning", "lightning-insert", "myloader"], help="run one loader only")
    ap.add_argument("--with-insert", action="store_true",
                    help="also run lightning with logical-import-load-data = false (INSERT only)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra mariadbd flag (repeatable)")
    ap.add_argument("--mariadb-autoinc-lock-mode", action="store_true",
                    help="keep MariaDB's innodb_autoinc_lock_mode = 1 instead of MySQL 8's default 2; "
                         "lightning then writes AUTO_INCREMENT tables with INSERT, not LOAD DATA")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "lightning-cli"], cwd=REPO, check=True)
    binary = os.path.join(REPO, "target", "release", "tidb-lightning")
    work = tempfile.mkdtemp(prefix="lightning-bench-")
    server = MariaDB(buffer_pool="2G", extra_args=(
        [] if args.mariadb_autoinc_lock_mode else ["--innodb-autoinc-lock-mode=2"]) + args.server_arg)
    print(f"server on 127.0.0.1:{server.port}, work folder {work}", flush=True)

    t0 = time.monotonic()
    server.query(f"CREATE DATABASE {DB}")
    gen.sysbench(DB, server, "sbtest1", args.rows)
    gen.many_types(DB, server, "types", args.types_rows)
    source = server.checksums(DB)
    dump = os.path.join(work, "dump")
    subprocess.run(["mydumper", *server.conn_args(), "-B", DB, "-o", dump, "-r", "100000", "-t", "2"], check=True)
    size = dump_bytes(dump)
    print(f"source built and dumped in {time.monotonic() - t0:.0f}s: {size / 1e6:.0f} MB of data files, "
          f"{sum(r for r, _ in source.values())} rows", flush=True)

    configs = {}
    for name, load in (("lightning", "true"), ("lightning-insert", "false")):
        configs[name] = os.path.join(work, f"{name}.toml")
        write_lightning_config(
            configs[name], server, dump, f"{work}/{name}.log",
            lightning=f"region-concurrency = {args.threads}",
            importer=f'logical-import-batch-size = "{args.batch_size}"\n'
                     f'logical-import-batch-rows = {args.batch_rows}\nlogical-import-load-data = {load}',
        )
    loaders = {
        "lightning": [binary, "--config", configs["lightning"]],
        "lightning-insert": [binary, "--config", configs["lightning-insert"]],
        "myloader": ["myloader", *server.conn_args(), "-d", dump, "-t", str(args.threads)],
    }
    order = [args.only] if args.only else ["lightning", "myloader"] + (["lightning-insert"] if args.with_insert else [])
    results = {name: [] for name in order}
    print(f"\n{'run':<20} {'wall s':>8} {'MB/s':>8} {'server CPU s':>13} {'MB/server-CPU-s':>16} {'own CPU s':>10} {'own/server':>11} {'peak RSS MiB':>13}")
    for i in range(args.runs):
        for name in (order if i % 2 == 0 else order[::-1]):
            server.query(f"DROP DATABASE IF EXISTS {DB}")
            wall, srv, own, rss = timed(loaders[name], server, os.path.join(work, f"{name}.out"))
            got = server.checksums(DB)
            if got != source:
                sys.exit(f"{name} run {i + 1}: imported data differs from the source: {got} vs {source}")
            results[name].append((wall, srv, own, rss))
            print(f"{name + ' #' + str(i + 1):<20} {wall:>8.1f} {size / 1e6 / wall:>8.2f} {srv:>13.1f} "
                  f"{size / 1e6 / srv:>16.2f} {own:>10.1f} {own / srv:>10.1%} {rss:>13.0f}  checksums OK", flush=True)

    print()
    med = {n: [statistics.median(x[k] for x in r) for k in range(4)] for n, r in results.items()}
    for n, (wall, srv, own, rss) in med.items():
        print(f"median {n:<16} {size / 1e6 / wall:8.2f} MB/s  {size / 1e6 / srv:6.2f} MB/server-CPU-s  "
              f"own CPU {own / srv:6.1%} of server's  peak RSS {rss:.0f} MiB")
    if "lightning" in med and "myloader" in med:
        print(f"lightning / myloader wall throughput: {med['myloader'][0] / med['lightning'][0]:.2f}x; "
              f"MB per server CPU-second: {med['myloader'][1] / med['lightning'][1]:.2f}x")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
