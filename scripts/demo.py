#!/usr/bin/env python3
"""The whole job on a fresh machine, end to end: install MariaDB and mydumper if missing,
start a private MariaDB on a free loopback port, build a sample database (a sysbench-shaped
table and a wide many-types table), dump it with the real mydumper, drop it, import the
dump with `tidb-lightning --backend tidb`, and check every table's row count and
CHECKSUM TABLE against the source.

    python3 scripts/demo.py [--rows N]
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))

from mariadb import MariaDB, write_lightning_config  # noqa: E402
import gen  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000, help="rows of the sysbench-shaped table")
    args = ap.parse_args()

    subprocess.run(["bash", os.path.join(HERE, "setup.sh")], check=True)
    print("== building tidb-lightning (release)", flush=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "lightning-cli"], cwd=REPO, check=True)
    binary = os.path.join(REPO, "target", "release", "tidb-lightning")

    print("== starting a private MariaDB", flush=True)
    server = MariaDB(buffer_pool="512M")
    print(f"   listening on 127.0.0.1:{server.port}")
    server.query("CREATE DATABASE shop")
    gen.sysbench("shop", server, "sbtest1", args.rows)
    gen.many_types("shop", server, "types", 5_000)
    source = server.checksums("shop")

    work = tempfile.mkdtemp(prefix="lightning-demo-")
    dump = os.path.join(work, "dump")
    print(f"== dumping with mydumper into {dump}", flush=True)
    subprocess.run(["mydumper", *server.conn_args(), "-B", "shop", "-o", dump, "-r", "50000", "-t", "2"], check=True)
    server.query("DROP DATABASE shop")

    config = os.path.join(work, "tidb-lightning.toml")
    write_lightning_config(config, server, dump, f"{work}/tidb-lightning.log")
    print(f"== importing: {binary} --config {config}", flush=True)
    subprocess.run([binary, "--config", config], check=True)

    imported = server.checksums("shop")
    print(f"\n{'table':<12} {'rows':>10} {'source checksum':>16} {'imported checksum':>18}  result")
    ok = set(source) == set(imported)
    for t in sorted(source):
        rows, crc = source[t]
        got = imported.get(t, (None, None))
        same = got == (rows, crc)
        ok &= same
        print(f"{t:<12} {rows:>10} {crc:>16} {str(got[1]):>18}  {'OK' if same else 'MISMATCH'}")
    print("\nall tables match the source" if ok else "\nMISMATCH: the import differs from the source")
    print(f"(dump, config and log kept in {work})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
