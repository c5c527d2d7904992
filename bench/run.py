#!/usr/bin/env python3
"""Whole-run benchmark of the logical backend: tidb-lightning --backend tidb vs myloader.

Builds a source database in a private MariaDB (`--tables` sysbench-shaped tables plus a
wide many-types table, about 1 GB of dump by default), dumps it once with mydumper, then, for
each connection count, imports the same dump into the same server alternately with
`tidb-lightning --backend tidb` (`region-concurrency = N`, its default config otherwise:
checkpoints on, default batch sizes) and `myloader -t N`, verifying every table's row
count and CHECKSUM TABLE (and its indexes) after each run. Prints per run: wall MB/s (dump
bytes / wall seconds), the server's CPU seconds, dump MB per server CPU-second, the
loader's own CPU seconds and peak RSS; then per connection count the medians and the
lightning/myloader ratios.

    python3 bench/run.py [--rows 4500000] [--tables 4] [--types-rows 150000] [--runs 3] [--threads 2,4,8]
                         [--importer-arg 'logical-import-batch-size = "1MiB"'] [--keep]
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
    ap.add_argument("--rows", type=int, default=4_500_000, help="rows of the sysbench-shaped tables, in all")
    ap.add_argument("--tables", type=int, default=4,
                    help="sysbench-shaped tables (sysbench --tables); 1 = one table dominating the dump")
    ap.add_argument("--types-rows", type=int, default=150_000, help="rows of the many-types table")
    ap.add_argument("--runs", type=int, default=3, help="runs per loader and connection count (alternating)")
    ap.add_argument("--threads", default="2,4,8",
                    help="connection counts: myloader -t N and lightning region-concurrency = N")
    ap.add_argument("--importer-arg", action="append", default=[],
                    help="extra [tikv-importer] line for lightning, e.g. 'add-index-by-sql = false' (repeatable)")
    ap.add_argument("--no-checkpoint", action="store_true", help="run lightning with [checkpoint] enable = false")
    ap.add_argument("--only", choices=["lightning", "lightning-load", "lightning-insert", "myloader"],
                    help="run one loader only")
    ap.add_argument("--with-load", action="store_true",
                    help="also run lightning with logical-import-bulk = false (LOAD DATA where MariaDB "
                         "would take bulk batches)")
    ap.add_argument("--with-insert", action="store_true",
                    help="also run lightning with no fast batches (INSERT only)")
    ap.add_argument("--baseline", metavar="BINARY",
                    help="also run this tidb-lightning build (e.g. an earlier commit's) with the same config, "
                         "alternating with the current one, and print current / baseline")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up import")
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
    for k in range(args.tables):
        gen.sysbench(DB, server, f"sbtest{k + 1}", args.rows // args.tables, seed=k * args.rows)
    gen.many_types(DB, server, "types", args.types_rows)
    source = server.checksums(DB)
    dump = os.path.join(work, "dump")
    subprocess.run(["mydumper", *server.conn_args(), "-B", DB, "-o", dump, "-r", "100000", "-t", "2"], check=True)
    size = dump_bytes(dump)
    print(f"source built and dumped in {time.monotonic() - t0:.0f}s: {size / 1e6:.0f} MB of data files, "
          f"{sum(r for r, _ in source.values())} rows", flush=True)

    def source_indexes():
        return server.query(
            f"SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS "
            f"WHERE TABLE_SCHEMA = '{DB}' ORDER BY 1, 2, 3")

    indexes = source_indexes()
    threads = [int(t) for t in args.threads.split(",")]
    order = [args.only] if args.only else (["lightning", "myloader"] + (["lightning-load"] if args.with_load else [])
                                           + (["lightning-insert"] if args.with_insert else []))
    if args.baseline:
        order.append("baseline")
    results = {(n, t): [] for t in threads for n in order}

    def loader(name, t):
        if name == "myloader":
            return ["myloader", *server.conn_args(), "-d", dump, "-t", str(t)]
        config = os.path.join(work, f"{name}-{t}.toml")
        variant = {"lightning-insert": ["logical-import-bulk = false", "logical-import-load-data = false"],
                   "lightning-load": ["logical-import-bulk = false"]}
        importer = list(args.importer_arg) + variant.get(name, [])
        write_lightning_config(config, server, dump, f"{work}/{name}.log", lightning=f"region-concurrency = {t}",
                               importer="\n".join(importer),
                               checkpoint=None if args.no_checkpoint else os.path.join(work, f"{name}-{t}.cp"))
        return [args.baseline if name == "baseline" else binary, "--config", config]

    if not args.no_warmup:
        # The first import after building the source runs slow (the server is still purging
        # and flushing): one untimed run first.
        server.query(f"DROP DATABASE IF EXISTS {DB}")
        timed(["myloader", *server.conn_args(), "-d", dump, "-t", str(threads[0])], server,
              os.path.join(work, "warmup.out"))
    print(f"\n{'run':<24} {'wall s':>8} {'MB/s':>8} {'server CPU s':>13} {'MB/server-CPU-s':>16} {'own CPU s':>10} {'own/server':>11} {'peak RSS MiB':>13}")
    for t in threads:
        for i in range(args.runs):
            for name in (order if i % 2 == 0 else order[::-1]):
                server.query(f"DROP DATABASE IF EXISTS {DB}")
                wall, srv, own, rss = timed(loader(name, t), server, os.path.join(work, f"{name}.out"))
                got = server.checksums(DB)
                if got != source:
                    sys.exit(f"{name} -t {t} run {i + 1}: imported data differs from the source: {got} vs {source}")
                if source_indexes() != indexes:
                    sys.exit(f"{name} -t {t} run {i + 1}: the imported indexes differ from the source's")
                results[(name, t)].append((wall, srv, own, rss))
                label = f"{name} -t {t} #{i + 1}"
                print(f"{label:<24} {wall:>8.1f} {size / 1e6 / wall:>8.2f} {srv:>13.1f} "
                      f"{size / 1e6 / srv:>16.2f} {own:>10.1f} {own / srv:>10.1%} {rss:>13.0f}  checksums OK", flush=True)

    print()
    med = {k: [statistics.median(x[j] for x in r) for j in range(4)] for k, r in results.items()}
    for (n, t), (wall, srv, own, rss) in med.items():
        print(f"median {n + ' -t ' + str(t):<22} {size / 1e6 / wall:8.2f} MB/s  {size / 1e6 / srv:6.2f} MB/server-CPU-s  "
              f"own CPU {own / srv:6.1%} of server's  peak RSS {rss:.0f} MiB")
    for t in threads:
        if ("lightning", t) in med and ("myloader", t) in med:
            lt, my = med[("lightning", t)], med[("myloader", t)]
            print(f"{t} connections: lightning / myloader wall throughput {my[0] / lt[0]:.2f}x; "
                  f"MB per server CPU-second {my[1] / lt[1]:.2f}x; lightning's own CPU {lt[2] / lt[1]:.1%} of the server's")
        for other in ("baseline", "lightning-load", "lightning-insert"):
            if ("lightning", t) in med and (other, t) in med:
                lt, base = med[("lightning", t)], med[(other, t)]
                print(f"{t} connections: lightning / {other} wall throughput {base[0] / lt[0]:.2f}x; "
                      f"MB per server CPU-second {base[1] / lt[1]:.2f}x")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
