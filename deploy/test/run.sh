#!/usr/bin/env bash
# Chart and image tests (no cluster, no Docker, no helm binary needed).
#   bash deploy/test/run.sh [pytest args...]
# Creates/reuses the virtualenv $REPO/.venv-k8s (override with K8S_VENV) from
# deploy/test/requirements.txt, installs Debian's rclone (and python3-venv) with apt-get
# when missing, then runs the pytest suite. Exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${K8S_VENV:-$repo/.venv-k8s}
req=$here/requirements.txt
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    echo "run.sh: need root (or passwordless sudo) for: $*" >&2; return 1; fi
}

apt_install() {  # apt_install pkg...: install, running `apt-get update` first only if that is needed
  echo "run.sh: apt-get install $*"
  if ! as_root apt-get install -y -q --no-install-recommends "$@" </dev/null >/dev/null; then
    as_root apt-get update -q </dev/null >/dev/null
    as_root apt-get install -y -q --no-install-recommends "$@" </dev/null >/dev/null
  fi
}

missing=()
command -v rclone >/dev/null || missing+=(rclone)
command -v python3 >/dev/null || missing+=(python3)
if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# (Re)build the venv only when requirements.txt changed since it was last installed.
stamp=$venv/.deploy-test-requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "run.sh: installing test tools into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q -r "$req"
  echo "$want" >"$stamp"
fi

cd "$here"
# -p no:cacheprovider: leave no .pytest_cache in the tree; -rfE: list failures/errors in the summary
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE "$@"
