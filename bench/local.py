#!/usr/bin/env python3
"""Whole-run benchmark of the physical backend: tidb-lightning --backend local into the
simulated cluster (lightning-test-cluster).

Generates (once, cached under --data-dir) a sysbench-shaped CSV dump of --size-gb GB:
`sbtest.sbtest1` (id INT AUTO_INCREMENT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60),
KEY k_1 (k)), split into files of --file-mb MB so chunks are encoded in parallel. Then,
per run: starts lightning-test-cluster (--stores, --replicas; its TiKV keeps every
replica in memory), imports the dump with a fresh sorted-kv-dir, and prints

  - wall MB/s of the whole run (source CSV bytes / wall seconds);
  - the phases, from the log's timestamps (see PHASES below);
  - "parse+encode+sort" MB/s: source bytes / (last "engine split into ranges" minus
    "importing table"), i.e. from the first row read until every engine of the table is
    merged into one sorted segment and cut into region-sized ranges, ready to ingest.
    Start-up before "importing table" (connecting, creating schemas, import mode) is not
    counted;
  - peak RSS of tidb-lightning (getrusage of the child) and of the simulator (VmHWM);
  - peak bytes allocated under sorted-kv-dir and its ratio to the source bytes;
  - per phase: CPU seconds of tidb-lightning, MB per CPU-second (the figure that survives a
    busy machine), peak RSS and peak sorted-kv-dir size, from /proc polled every 0.2 s;
  - the load average (os.getloadavg) at start and end.

--until-sorted stops tidb-lightning (SIGKILL) as soon as the ranges are ready, so only
the parse+encode+sort figure, RSS and disk are measured; the cluster is thrown away.

    python3 bench/local.py [--size-gb 1] [--data-dir DIR] [--runs 1] [--until-sorted]
                           [--stores 3] [--replicas 1] [--region-concurrency 0]
                           [--engine-mem 512MiB] [--writer-mem 128MiB] [--perf] [--no-build] [--keep]
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DB, TABLE = "sbtest", "sbtest1"
SCHEMA = (f"CREATE TABLE `{TABLE}` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `k` int NOT NULL DEFAULT '0',\n"
          "  `c` char(120) NOT NULL DEFAULT '',\n  `pad` char(60) NOT NULL DEFAULT '',\n"
          "  PRIMARY KEY (`id`),\n  KEY `k_1` (`k`)\n);\n")

# Phases of one table, as (name, start event, end event); events are log messages, "first"/"last"
# when several engines log them. Data and index engines are split, scattered and ingested
# concurrently, so "split/scatter" and "write+ingest" are wall-clock segments between the
# last engine's events; the per-engine lines printed below them show the overlap.
PHASES = [
    ("start-up (connect, schema, modes)", "start", "importing table"),
    ("parse+encode+write to engines", "importing table", "first closing engine"),
    ("engine close (merge if overlapping)", "first closing engine", "engines closed; importing"),
    ("split into ranges", "engines closed; importing", "last engine split into ranges"),
    ("region split/scatter", "last engine split into ranges", "last ingesting engine"),
    ("write+ingest", "last ingesting engine", "last engine ingested"),
    ("auto-id rebase + checksum", "last engine ingested", "checksum matched"),
    ("analyze", "checksum matched", "table imported"),
    ("finish (normal mode, exit)", "table imported", "end"),
]
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z\s+(\w+)\s+(.*)$")
FIELD = re.compile(r" (\w+)=(\S+)")


def parse_size(text):
    """'512MiB' / '1GB' / '4096' -> bytes (binary units, as the config)."""
    m = re.fullmatch(r"(\d+)\s*([KMGT]?)i?B?", text.strip(), re.I)
    if not m:
        sys.exit(f"bad size {text!r}")
    return int(m[1]) << (10 * " KMGT".index(m[2].upper() or " "))


def build():
    subprocess.run(["cargo", "build", "--release", "-p", "lightning-cli", "-p", "lightning-testkit"],
                   cwd=REPO, check=True)


def binary(name):
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    path = os.path.join(target, "release", name)
    if not os.path.exists(path):
        sys.exit(f"{path} missing: build first (drop --no-build)")
    return path


def _write_file(path, first_id, rows, total_rows):
    """One CSV file of sysbench-shaped rows; c and pad are picked from pools of random
    digit groups (sysbench's '###########-' pattern), k is spread over the table."""
    import random
    rng = random.Random(first_id)
    group = lambda: "%011d" % rng.randrange(10 ** 11)  # noqa: E731
    cs = ["-".join(group() for _ in range(10)) for _ in range(4099)]
    pads = ["-".join(group() for _ in range(5)) for _ in range(2053)]
    tmp = path + ".tmp"
    with open(tmp, "w", buffering=1 << 20) as f:
        step = 50_000
        for lo in range(first_id, first_id + rows, step):
            hi = min(lo + step, first_id + rows)
            f.write("".join(
                f'{i},{(i * 2654435761) % total_rows + 1},"{cs[(i * 7) % 4099]}","{pads[(i * 13) % 2053]}"\n'
                for i in range(lo, hi)))
    os.rename(tmp, path)


def generate(data_dir, size_gb, file_mb):
    """The dump for size_gb, generated once: data_dir/sysbench-<size>g-<file_mb>m."""
    dump = os.path.join(data_dir, f"sysbench-{size_gb:g}g-{file_mb}m")
    done = os.path.join(dump, ".complete")
    if os.path.exists(done):
        return dump
    os.makedirs(dump, exist_ok=True)
    row_bytes = 195  # a CSV line is 195-202 bytes with 7-8 digit ids: at least size_gb
    total_rows = int(size_gb * 1e9 / row_bytes)
    per_file = max(1, int(file_mb * 1e6 / row_bytes))
    with open(os.path.join(dump, f"{DB}-schema-create.sql"), "w") as f:
        f.write(f"CREATE DATABASE `{DB}`;\n")
    with open(os.path.join(dump, f"{DB}.{TABLE}-schema.sql"), "w") as f:
        f.write(SCHEMA)
    t0 = time.monotonic()
    jobs, first, n = [], 1, 1
    while first <= total_rows:
        rows = min(per_file, total_rows - first + 1)
        path = os.path.join(dump, f"{DB}.{TABLE}.{n:09d}.csv")
        if not os.path.exists(path):
            jobs.append((path, first, rows, total_rows))
        first, n = first + rows, n + 1
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        for fut in [pool.submit(_write_file, *j) for j in jobs]:
            fut.result()
    open(done, "w").close()
    print(f"generated {source_bytes(dump) / 1e6:.0f} MB, {total_rows} rows in {n - 1} files "
          f"in {time.monotonic() - t0:.0f}s: {dump}", flush=True)
    return dump


def source_bytes(dump):
    return sum(os.path.getsize(os.path.join(dump, f)) for f in os.listdir(dump) if f.endswith(".csv"))


def dir_bytes(path):
    """Bytes allocated on disk under path (files may vanish while walking)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


class Poller(threading.Thread):
    """Samples (time, CPU seconds, RSS MiB, sorted-kv-dir bytes) of a process every 0.2 s."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid, kv_dir):
        super().__init__(daemon=True)
        self.pid, self.kv_dir, self.samples, self.halt = pid, kv_dir, [], threading.Event()

    def sample(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / self.TICK
            rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return
        self.samples.append((time.time(), cpu, rss, dir_bytes(self.kv_dir)))

    def run(self):
        while not self.halt.wait(0.2):
            self.sample()

    def between(self, a, b):
        """(CPU seconds, peak RSS MiB, peak disk bytes) over [a, b]."""
        inside = [s for s in self.samples if a <= s[0] <= b]
        before = [s for s in self.samples if s[0] <= a]
        after = [s for s in self.samples if s[0] >= b]
        cpu0 = before[-1][1] if before else 0.0
        cpu1 = after[0][1] if after else (self.samples[-1][1] if self.samples else 0.0)
        return (cpu1 - cpu0, max((s[2] for s in inside), default=0.0),
                max((s[3] for s in inside), default=0))


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def vm_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_cluster(args, log):
    proc = subprocess.Popen([binary("lightning-test-cluster"), "--stores", str(args.stores),
                             "--replicas", str(args.replicas)],
                            stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True)
    line = proc.stdout.readline()
    if not line:
        sys.exit(f"lightning-test-cluster did not start; see {log}")
    return proc, json.loads(line)


def write_config(path, addrs, dump, kv_dir, log, args):
    host, port = addrs["tidb"].rsplit(":", 1)
    status = addrs["tidb_status"].rsplit(":", 1)[1]
    with open(path, "w") as f:
        f.write(f"""[lightning]
level = "info"
file = "{log}"
region-concurrency = {args.region_concurrency}

[checkpoint]
enable = false

[tikv-importer]
backend = "local"
sorted-kv-dir = "{kv_dir}"
engine-mem-cache-size = "{args.engine_mem}"
local-writer-mem-cache-size = "{args.writer_mem}"

[tidb]
host = "{host}"
port = {port}
status-port = {status}
pd-addr = "{addrs['pd']}"
user = "root"

[post-restore]
checksum = "required"
analyze = "optional"

[mydumper]
data-source-dir = "{dump}"

[mydumper.csv]
header = false
""")


def read_events(log):
    """[(unix seconds, message, fields)] of the log's lines."""
    out = []
    with open(log, errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            ts = datetime.fromisoformat(m[1] + "+00:00").timestamp()
            fields = dict(FIELD.findall(" " + m[3]))
            msg = FIELD.split(" " + m[3])[0].strip()
            # Builds before the one controller named the table's start "encoding table".
            msg = "importing table" if msg == "encoding table" else msg
            out.append((ts, msg, fields))
    return out


def event_time(events, name, start, end):
    if name == "start":
        return start
    if name == "end":
        return end
    which, _, msg = name.partition(" ")
    if which not in ("first", "last"):
        which, msg = "first", name
    times = [t for t, m, _ in events if m == msg]
    if not times:
        return None
    return min(times) if which == "first" else max(times)


def sorted_ready(events):
    """True once every engine closed has been split into ranges (both of the table)."""
    closed = {f.get("engine") for _, m, f in events if m == "engine closed"}
    split = {f.get("engine") for _, m, f in events if m == "engine split into ranges"}
    return any(m == "engines closed; importing" for _, m, _ in events) and closed <= split


def one_run(args, dump, size, work, i, lightning=None):
    run = os.path.join(work, f"run{i}" + ("-baseline" if lightning else ""))
    os.makedirs(run)
    kv_dir, log = os.path.join(run, "sorted-kv"), os.path.join(run, "lightning.log")
    cluster, addrs = start_cluster(args, os.path.join(run, "cluster.log"))
    try:
        config = os.path.join(run, "lightning.toml")
        write_config(config, addrs, dump, kv_dir, log, args)
        start = time.time()
        with open(os.path.join(run, "lightning.out"), "ab") as out:
            proc = subprocess.Popen([lightning or binary("tidb-lightning"), "--backend", "local", "-config", config],
                                    stdout=out, stderr=subprocess.STDOUT)
            poller = Poller(proc.pid, kv_dir)
            poller.start()
            perf = None
            if args.perf:
                perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-g",
                                         "-o", os.path.join(run, "perf.data"), "-p", str(proc.pid)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            killed = False
            while args.until_sorted and proc.poll() is None:
                time.sleep(0.2)
                if os.path.exists(log) and sorted_ready(read_events(log)):
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
            while True:
                poller.sample()
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.05)
        end = time.time()
        poller.halt.set()
        poller.join()
        if perf:
            perf.wait()
        peak_disk = max([s[3] for s in poller.samples] + [dir_bytes(kv_dir)])
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and not killed:
            sys.exit(f"tidb-lightning failed (exit {code}); see {log}")
        sim_hwm = vm_hwm_mib(cluster.pid)
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(60)
        except subprocess.TimeoutExpired:
            cluster.kill()
    events = read_events(log)
    enc, ready = event_time(events, "importing table", start, end), event_time(
        events, "last engine split into ranges", start, end)
    if enc is None or ready is None:
        sys.exit(f"no 'importing table' / 'engine split into ranges' line in {log}")
    phases = []
    for name, a, b in PHASES if not args.until_sorted else PHASES[1:4]:
        ta, tb = event_time(events, a, start, end), event_time(events, b, start, end)
        if ta is None or tb is None:
            phases.append((name, None, None, None, None))
        else:
            phases.append((name, tb - ta, *poller.between(ta, tb)))
    per_engine = engine_lines(events)
    return {
        "wall": end - start, "sorted": ready - enc, "sorted_cpu": poller.between(enc, ready)[0],
        "rss": usage.ru_maxrss / 1024, "sim_rss": sim_hwm, "cpu": usage.ru_utime + usage.ru_stime,
        "disk": peak_disk, "phases": phases, "engines": per_engine,
    }


def engine_lines(events):
    """Per engine: close, split into ranges, region split/scatter and write+ingest seconds."""
    by = {}
    for t, m, f in events:
        if "engine" in f:
            by.setdefault(f["engine"], {}).setdefault(m, t)
    out = []
    for uuid, ev in by.items():
        def span(a, b):
            return ev[b] - ev[a] if a in ev and b in ev else None
        out.append((uuid[:8], span("closing engine", "engine closed"),
                    span("engine closed", "engine split into ranges"),
                    span("engine split into ranges", "ingesting engine"),
                    span("ingesting engine", "engine ingested")))
    return out


def fmt_s(x):
    return "     -" if x is None else f"{x:6.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", type=float, default=1.0, help="source CSV size, in GB (10^9 bytes)")
    ap.add_argument("--file-mb", type=int, default=128, help="size of each CSV file, in MB")
    ap.add_argument("--data-dir", default="/work/bench-data", help="where generated dumps are cached")
    ap.add_argument("--runs", type=int, default=1, help="runs (medians are printed)")
    ap.add_argument("--until-sorted", action="store_true",
                    help="stop each run once the sorted ranges are ready (measures parse+encode+sort only)")
    ap.add_argument("--stores", type=int, default=3, help="simulated TiKV stores")
    ap.add_argument("--replicas", type=int, default=1,
                    help="replicas per region (each is kept in the simulator's memory)")
    ap.add_argument("--region-concurrency", type=int, default=0, help="[lightning] region-concurrency (0 = CPUs)")
    ap.add_argument("--engine-mem", default="512MiB", help="[tikv-importer] engine-mem-cache-size")
    ap.add_argument("--writer-mem", default="128MiB", help="[tikv-importer] local-writer-mem-cache-size")
    ap.add_argument("--work", default=None, help="work folder for sorted-kv-dir and logs (default: a temp dir)")
    ap.add_argument("--perf", action="store_true",
                    help="record a CPU profile of tidb-lightning (perf record -g) into the run's folder")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries already built")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, configs)")
    ap.add_argument("--baseline", metavar="BINARY",
                    help="also run this tidb-lightning build (e.g. an earlier commit's) on the same data, "
                         "alternating with the current one, and print both")
    args = ap.parse_args()
    for s in (args.engine_mem, args.writer_mem):
        parse_size(s)

    load0 = os.getloadavg()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} CPUs",
          flush=True)
    if not args.no_build:
        build()
    dump = generate(args.data_dir, args.size_gb, args.file_mb)
    size = source_bytes(dump)
    # The simulator keeps every replica in memory: about 2.5 bytes of RSS per source byte and
    # replica (measured: 2.6 GiB for 1 GB, 5.0 GiB for 2 GB, one replica), and tidb-lightning
    # takes about 2 GiB more. Refuse what would not fit rather than run the machine out of memory.
    need = size * 2.8 * args.replicas + (3 << 30)
    if not args.until_sorted and need > mem_available():
        sys.exit(f"a whole import of {size / 1e9:.1f} GB needs about {need / 2**30:.0f} GiB of memory "
                 f"(simulator + tidb-lightning), {mem_available() / 2**30:.0f} GiB are available: "
                 "use --until-sorted or a smaller --size-gb")
    work = args.work or tempfile.mkdtemp(prefix="lightning-local-bench-", dir="/work" if os.path.isdir("/work") else None)
    os.makedirs(work, exist_ok=True)
    print(f"source {size / 1e6:.0f} MB ({len([f for f in os.listdir(dump) if f.endswith('.csv')])} CSV files); "
          f"cluster: {args.stores} stores, {args.replicas} replica(s) per region, all in the simulator's memory; "
          f"engine-mem-cache-size {args.engine_mem}, local-writer-mem-cache-size {args.writer_mem}, "
          f"region-concurrency {args.region_concurrency or os.cpu_count()}; work folder {work}", flush=True)

    results, baseline = [], []

    def run_baseline(i):
        b = one_run(args, dump, size, work, i, args.baseline)
        baseline.append(b)
        print(f"\nbaseline run {i}: wall {b['wall']:.1f}s, {size / 1e6 / b['wall']:.1f} MB/s; "
              f"parse+encode+sort {b['sorted']:.1f}s = {size / 1e6 / b['sorted']:.1f} MB/s; "
              f"peak RSS {b['rss']:.0f} MiB", flush=True)

    for i in range(args.runs):
        if args.baseline and i % 2 == 1:
            run_baseline(i + 1)
        r = one_run(args, dump, size, work, i + 1)
        if args.baseline and i % 2 == 0:
            run_baseline(i + 1)
        results.append(r)
        print(f"\nrun {i + 1}: wall {r['wall']:.1f}s, {size / 1e6 / r['wall']:.1f} MB/s; "
              f"parse+encode+sort {r['sorted']:.1f}s = {size / 1e6 / r['sorted']:.1f} MB/s; "
              f"CPU {r['cpu']:.0f}s; peak RSS {r['rss']:.0f} MiB (simulator {r['sim_rss']:.0f} MiB); "
              f"sorted-kv-dir peak {r['disk'] / 1e6:.0f} MB = {r['disk'] / size:.2f}x source", flush=True)
        print(f"  {'phase':<36} {'s':>7} {'% wall':>7} {'MB/s':>8} {'CPU s':>7} {'MB/CPU-s':>9} "
              f"{'peak RSS MiB':>12} {'peak kv-dir MB':>14}")
        for name, s, cpu, rss, disk in r["phases"]:
            if s is None:
                print(f"  {name:<36} {'-':>7}")
                continue
            rate = lambda t: size / 1e6 / t if t > 0.05 else float("nan")  # noqa: E731
            print(f"  {name:<36} {s:7.1f} {s / r['wall']:7.1%} {rate(s):8.1f} {cpu:7.1f} {rate(cpu):9.1f} "
                  f"{rss:12.0f} {disk / 1e6:14.0f}")
        print(f"  {'engine':<10} {'close s':>7} {'ranges s':>8} {'split/scatter s':>15} {'write+ingest s':>14}")
        for uuid, *spans in r["engines"]:
            print(f"  {uuid:<10} " + " ".join(fmt_s(x).rjust(w) for x, w in zip(spans, (7, 8, 15, 14))))

    med = lambda k: statistics.median(r[k] for r in results)  # noqa: E731
    load1 = os.getloadavg()
    print(f"\n== {size / 1e6:.0f} MB source, {args.runs} run(s), medians ==")
    print(f"{'figure':<44} {'value':>12}")
    if not args.until_sorted:
        print(f"{'whole import MB/s':<44} {size / 1e6 / med('wall'):12.1f}")
        names = [p[0] for p in results[0]["phases"]]
        for k, name in enumerate(names):
            vals = [r["phases"][k][1] for r in results if r["phases"][k][1] is not None]
            if vals:
                print(f"{'  ' + name + ' s':<44} {statistics.median(vals):12.1f}")
    ok = "meets" if size / 1e6 / med("sorted") >= 150 else "BELOW"
    print(f"{'parse+encode+sort MB/s (target 150)':<44} {size / 1e6 / med('sorted'):12.1f}  {ok}")
    per_cpu = size / 1e6 / med("sorted_cpu")
    print(f"{'parse+encode+sort MB per CPU-second':<44} {per_cpu:12.1f}  "
          f"(x{os.cpu_count()} CPUs = {per_cpu * os.cpu_count():.0f} MB/s on an idle machine)")
    print(f"{'peak RSS tidb-lightning MiB':<44} {med('rss'):12.0f}")
    # What the configuration lets tidb-lightning hold: engine-mem-cache-size for the writers
    # of each open engine (one data and one index engine with one table), and as much again
    # for the region jobs of the ingest (the client's ingest budget; the data engine is
    # ingested while the index engine is still merged, also with --until-sorted).
    budget = parse_size(args.engine_mem) / 2**20 * 3
    verdict = "within" if med("rss") <= budget else "ABOVE"
    print(f"{'configured memory budget MiB (2 engines+ingest)':<44} {budget:12.0f}  {verdict}")
    print(f"{'peak RSS simulator MiB':<44} {med('sim_rss'):12.0f}")
    print(f"{'sorted-kv-dir peak MB':<44} {med('disk') / 1e6:12.0f}")
    print(f"{'sorted-kv-dir peak / source':<44} {med('disk') / size:12.2f}")
    if baseline:
        bmed = lambda k: statistics.median(r[k] for r in baseline)  # noqa: E731
        if not args.until_sorted:
            print(f"{'baseline whole import MB/s':<44} {size / 1e6 / bmed('wall'):12.1f}  "
                  f"(current / baseline {bmed('wall') / med('wall'):.2f}x)")
        print(f"{'baseline parse+encode+sort MB/s':<44} {size / 1e6 / bmed('sorted'):12.1f}  "
              f"(current / baseline {bmed('sorted') / med('sorted'):.2f}x)")
        print(f"{'baseline peak RSS tidb-lightning MiB':<44} {bmed('rss'):12.0f}")
    print(f"load average at start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; "
          f"at end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
