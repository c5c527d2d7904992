#!/usr/bin/env bash
# The long crash suite: SIGKILLs the real importer at seeded random moments (from before
# its config is read to its last step) and resumes it, LIGHTNING_CRASH_SEEDS seeds per
# suite (default 4), on both backends: `tidb` into a private MariaDB (file and mysql
# checkpoint drivers, SQL, CSV and gzip dumps) and `local` into the simulated cluster
# (file and mysql drivers, plus `replace` and `disk-quota`). Every table is compared with
# its source (checksum and row count) and every store must be back in normal mode; the
# tests fail otherwise. Prints the kills that landed per backend and fails below
# MIN_KILLS (default 50) on either. CI runs the same tests with their short default seeds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LIGHTNING_CRASH_SEEDS="${LIGHTNING_CRASH_SEEDS:-4}"
min="${MIN_KILLS:-50}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
cargo test --locked -p lightning-cli --test resume --test resume_local -- \
    crash_and_resume local_backend_resumes --nocapture 2>&1 | tee "$out" | grep -E 'CRASH-FIGURES|^test |panicked' || true
if ! grep -q '^test result: ok' "$out" || grep -q '^test result: FAILED' "$out"; then
    echo "crash suite: a test failed (output above)" >&2
    exit 1
fi
status=0
for backend in tidb local; do
    read -r kills equal total < <(grep -o "CRASH-FIGURES backend=$backend .*" "$out" | awk '
        { for (i = 1; i <= NF; i++) {
            split($i, kv, "=");
            if (kv[1] == "kills") k += kv[2];
            if (kv[1] == "tables_equal") { split(kv[2], t, "/"); e += t[1]; n += t[2] } } }
        END { print k + 0, e + 0, n + 0 }')
    echo "crash suite: backend $backend: $kills kills landed, tables equal $equal/$total"
    if [ "$kills" -lt "$min" ]; then
        echo "crash suite: backend $backend: fewer than $min kills landed" >&2
        status=1
    fi
done
exit $status
