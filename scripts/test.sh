#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, then the Rust workspace tests
# (parsers, codec, backend and end-to-end imports against private MariaDB servers),
# then the Helm chart and image tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cargo test --workspace --locked
bash deploy/test/run.sh
