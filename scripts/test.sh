#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, then the Rust workspace tests
# (parsers, codec, engine, checkpoints, the simulated cluster and its client, end-to-end
# imports against private MariaDB servers),
# then the Helm chart and image tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cargo test --workspace --locked
# The checkpoint file driver's crash test injects a crash between each write step.
cargo test --locked -p lightning-checkpoint --features failpoints --test crash
bash deploy/test/run.sh
