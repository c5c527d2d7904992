"""The shell scripts the charts put in the pod, run for real on this machine:
- the data-retriever init container's script, with Debian's rclone against a local
  S3-compatible server (moto_server on a free loopback port);
- the tidb-lightning container's script, with a stub tidb-lightning, for failFast.
/bin/sh here is dash; in the pods it is busybox ash (rclone image) and dash (our image)."""
import io
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request

import boto3
import pytest

from conftest import LIGHTNING, container, docs, lightning_values, one, render

BUCKET = "dumps"
DUMP = {  # a small Dumpling-style export
    "metadata": b"Started dump at: 2026-11-21 10:00:00\n",
    "sbtest-schema-create.sql": b"CREATE DATABASE sbtest;\n",
    "sbtest.t1-schema.sql": b"CREATE TABLE t1 (id INT PRIMARY KEY, v VARCHAR(10));\n",
    "sbtest.t1.000000001.sql": b"INSERT INTO t1 VALUES (1,'a'),(2,'b');\n",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    """A minimal environment: in particular no AWS_CA_BUNDLE, which makes Debian's
    rclone 1.60 fail with LoadCustomCABundleError even for a plain-HTTP endpoint."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    if shutil.which("rclone") is None:
        pytest.fail("rclone is not installed (deploy/test/run.sh installs Debian's rclone)")
    port = free_port()
    exe = pathlib.Path(sys.executable).with_name("moto_server")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                env=clean_env(), start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start: " + log.read_text())
                time.sleep(0.2)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def tarball(files, top=None, gz=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def retriever_script(remote):
    values = lightning_values(source="remote-tarball")
    values["dataSource"]["remote"] = {"secretName": "cloud-storage-secret", "storage": "1Gi", **remote}
    pod = one(docs(render(LIGHTNING, values)), "Job")["spec"]["template"]["spec"]
    init = container(pod, "data-retriever", init=True)
    assert init["command"][:2] == ["/bin/sh", "-c"]
    return init["command"][2]


def run_retriever(script, tmp_path, endpoint):
    conf = tmp_path / "rclone.conf"
    conf.write_text(f"[s3]\ntype = s3\nprovider = Other\naccess_key_id = test\nsecret_access_key = test\n"
                    f"endpoint = {endpoint}\nregion = us-east-1\n")
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env=clean_env(DATA_ROOT=str(data), RCLONE_CONFIG=str(conf), HOME=str(home)))


def tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("key,top,gz", [("sysbench/sbtest.tar.gz", "sbtest", True),
                                        ("flat/sbtest.tgz", None, True),
                                        ("plain/sbtest.tar", "export-2026", False)])
def test_tarball_is_downloaded_unpacked_and_then_skipped(s3, tmp_path, key, top, gz):
    endpoint, client = s3
    client.put_object(Bucket=BUCKET, Key=key, Body=tarball(DUMP, top, gz))
    script = retriever_script({"path": f"s3:{BUCKET}/{key}"})

    first = run_retriever(script, tmp_path, endpoint)
    assert first.returncode == 0, first.stdout + first.stderr
    data = tmp_path / "data"
    # one top-level folder or none: the dump is in <DATA_ROOT>/sbtest either way
    assert tree(data / "sbtest") == DUMP
    assert sorted(p.name for p in data.iterdir()) == [".download", "sbtest"]
    assert list((data / ".download").iterdir()) == []  # the tarball is removed after unpacking
    assert "data ready in" in first.stdout

    # second run: the object is gone, so any download attempt would fail
    client.delete_object(Bucket=BUCKET, Key=key)
    second = run_retriever(script, tmp_path, endpoint)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already present, skipping the download" in second.stdout
    assert tree(data / "sbtest") == DUMP


def test_directory_is_copied_and_then_skipped(s3, tmp_path):
    endpoint, client = s3
    for name, body in DUMP.items():
        client.put_object(Bucket=BUCKET, Key=f"exports/sbtest_dir/{name}", Body=body)
    script = retriever_script({"directory": f"s3:{BUCKET}/exports/sbtest_dir"})

    first = run_retriever(script, tmp_path, endpoint)
    assert first.returncode == 0, first.stdout + first.stderr
    data = tmp_path / "data"
    assert tree(data / "sbtest_dir") == DUMP
    assert sorted(p.name for p in data.iterdir()) == ["sbtest_dir"]

    for name in DUMP:
        client.delete_object(Bucket=BUCKET, Key=f"exports/sbtest_dir/{name}")
    second = run_retriever(script, tmp_path, endpoint)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already present, skipping the download" in second.stdout


def test_failed_download_leaves_no_data_folder_and_a_rerun_recovers(s3, tmp_path):
    endpoint, client = s3
    key = "late/sbtest.tar.gz"
    script = retriever_script({"path": f"s3:{BUCKET}/{key}"})
    failed = run_retriever(script, tmp_path, endpoint)
    assert failed.returncode != 0  # rclone itself says "nothing to transfer" and exits 0
    assert "not found, nothing downloaded" in failed.stderr
    assert not (tmp_path / "data" / "sbtest").exists()  # so the next run does not skip
    # an unpack interrupted half-way leaves .incomplete-<name>; the next run starts over
    (tmp_path / "data" / ".incomplete-sbtest").mkdir()
    (tmp_path / "data" / ".incomplete-sbtest" / "junk").write_text("x")
    client.put_object(Bucket=BUCKET, Key=key, Body=tarball(DUMP, "sbtest"))
    ok = run_retriever(script, tmp_path, endpoint)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert tree(tmp_path / "data" / "sbtest") == DUMP


def test_missing_directory_fails(s3, tmp_path):
    endpoint, _ = s3
    r = run_retriever(retriever_script({"directory": f"s3:{BUCKET}/no/such/dir"}), tmp_path, endpoint)
    assert r.returncode != 0
    assert not (tmp_path / "data" / "dir").exists()


# -- the tidb-lightning container -------------------------------------------

STUB = """#!/bin/sh
printf '%s\\n' "$@" > "$STUB_ARGS"
exit "${STUB_RC:-0}"
"""


def start_script(backend="local", source="adhoc", **extra):
    values = lightning_values(backend=backend, source=source,
                              targetTidbCluster={"secretName": "tidb-secret", "user": "lightning"}, **extra)
    pod = one(docs(render(LIGHTNING, values)), "Job")["spec"]["template"]["spec"]
    return container(pod, "tidb-lightning")["command"][2]


@pytest.fixture
def stub(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "tidb-lightning"
    exe.write_text(STUB)
    exe.chmod(0o755)
    data = tmp_path / "data"
    (data / "sbtest_16_1e7").mkdir(parents=True)
    (data / "sbtest_16_1e7" / "metadata").write_text("x")

    def env(fail_fast, rc, data_root=data):
        return clean_env(PATH=f"{bindir}:{os.environ['PATH']}", DATA_ROOT=str(data_root),
                         FAIL_FAST=fail_fast, STUB_RC=str(rc), STUB_ARGS=str(tmp_path / "args"),
                         TIDB_PASSWORD="s3cret")
    return env


def run_start(script, env):
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30, env=env)


def stays_alive(script, env, tmp_path, seconds=1.5):
    out = tmp_path / "out.log"
    with open(out, "w") as f:
        proc = subprocess.Popen(["/bin/sh", "-c", script], stdout=f, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        time.sleep(seconds)
        alive = proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    return alive, out.read_text()


def test_flags_reach_the_binary(stub, tmp_path):
    r = run_start(start_script(), stub("true", 0))
    assert r.returncode == 0, r.stdout + r.stderr
    args = (tmp_path / "args").read_text().splitlines()
    assert args == [
        "--config=/etc/tidb-lightning/tidb-lightning.toml",
        "-d", str(tmp_path / "data" / "sbtest_16_1e7"),
        "--backend=local",
        "--sorted-kv-dir=/var/lib/sorted-kv",
        "--pd-urls=tc-pd.tidb:2379",
        "--tidb-host=tc-tidb.tidb",
        "--tidb-port=4000",
        "--tidb-user=lightning",
        "--tidb-password=s3cret",
    ]
    assert "s3cret" not in r.stdout + r.stderr  # the logged command line leaves the password out


def test_tidb_backend_flags(stub, tmp_path):
    r = run_start(start_script(backend="tidb"), stub("true", 0))
    assert r.returncode == 0, r.stdout + r.stderr
    args = (tmp_path / "args").read_text().splitlines()
    assert "--backend=tidb" in args
    assert not any(a.startswith(("--sorted-kv-dir", "--importer", "--status-addr")) for a in args)


def test_status_server_flag_reaches_the_binary(stub, tmp_path):
    r = run_start(start_script(status={"enabled": True, "port": 9100}), stub("true", 0))
    assert r.returncode == 0, r.stdout + r.stderr
    args = (tmp_path / "args").read_text().splitlines()
    assert [a for a in args if a.startswith("--status-addr")] == ["--status-addr=:9100"]
    assert args[:3] == ["--config=/etc/tidb-lightning/tidb-lightning.toml", "-d", str(tmp_path / "data" / "sbtest_16_1e7")]
    assert args[-1] == "--tidb-password=s3cret"


def test_fail_fast_true_exits_with_the_failure(stub):
    r = run_start(start_script(), stub("true", 3))
    assert r.returncode == 3


# The flags tidb-lightning-ctl has (crates/cli/src/bin/tidb-lightning-ctl.rs); it has no -d.
CTL_FLAGS = {"--config", "--checkpoint-dump", "--checkpoint-error-ignore", "--checkpoint-error-destroy",
             "--checkpoint-remove", "--switch-mode", "--fetch-mode", "--import-engine", "--cleanup-engine"}
CTL_COMMANDS = CTL_FLAGS - {"--config"}


def test_fail_fast_false_keeps_the_pod_alive_after_a_failure(stub, tmp_path):
    alive, out = stays_alive(start_script(), stub("false", 3), tmp_path)
    assert alive, out
    assert "tidb-lightning exited with status 3" in out
    assert "keeping the pod alive" in out and "tidb-lightning-ctl" in out
    # every suggested ctl command uses flags the ctl has: the mounted config, one command
    hints = [l.split("tidb-lightning-ctl", 1)[1].split() for l in out.splitlines() if "-- tidb-lightning-ctl " in l]
    assert len(hints) >= 2
    for args in hints:
        names = [a.split("=", 1)[0] for a in args]
        assert set(names) <= CTL_FLAGS and "-d" not in names, args
        assert args[0] == "--config=/etc/tidb-lightning/tidb-lightning.toml"
        assert len([n for n in names if n in CTL_COMMANDS]) == 1, args
    assert any(a[1] == "--checkpoint-error-destroy=all" for a in hints)
    # the password Secret is not in the config file, and the hint says so
    assert "holds no password" in out


def test_fail_fast_false_still_ends_after_success(stub):
    r = run_start(start_script(), stub("false", 0))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "tidb-lightning finished" in r.stdout


def test_no_data(stub, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_start(start_script(), stub("true", 0, data_root=empty))
    assert r.returncode == 1 and "no data found in" in r.stderr
    alive, out = stays_alive(start_script(), stub("false", 0, data_root=empty), tmp_path)
    assert alive and "no data found in" in out
