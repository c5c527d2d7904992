#!/usr/bin/env bash
# Installs what building and testing need on a Debian 12 machine, idempotently:
# MariaDB server and client (the tests start private instances), mydumper/myloader and
# mysqldump (the end-to-end tests and the benchmark dump with the real tools), Prometheus'
# Python client (its text-format parser checks /metrics).
# The chart tests install their own tools (deploy/test/run.sh).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    echo "setup.sh: need root (or passwordless sudo) for: $*" >&2; return 1; fi
}

missing=()
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v mariadb >/dev/null || missing+=(mariadb-client)
command -v mydumper >/dev/null || missing+=(mydumper)
[ -d /usr/share/zoneinfo/America ] || missing+=(tzdata)  # the codec's named time zone tests
command -v openssl >/dev/null || missing+=(openssl)  # TLS test certificates
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || missing+=(python3-prometheus-client)  # /metrics is parsed by the real client's parser
command -v cargo >/dev/null || { echo "setup.sh: cargo not found: install Rust (rustup) first" >&2; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: apt-get install ${missing[*]}"
  as_root apt-get update -q </dev/null >/dev/null
  # policy-rc.d keeps the package from starting a system-wide server we do not use.
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
