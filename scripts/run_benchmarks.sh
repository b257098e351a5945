#!/usr/bin/env bash
# Drop-in replacement for HeAT's benchmarks/pytest-benchmarks/run_benchmarks.sh, for CI jobs that
# call the old path. Run it, as the original, in the folder that holds the suites: every
# sub-folder but results/ is a suite, histories go to results/data/<suite>/aggregate.json and the
# list to results/data/list.json.
#
# The original then rsynced results/ into a checkout of the data repository at a hard-coded path
# and committed there with `git commit -am` (which never added a new suite). Set BENCH_DATA_REPO to
# that checkout instead: histories are then kept there directly, every change is committed and
# pushed. Extra arguments go to run-benchmarks (e.g. --timeout 3600, or -- ARGS for pytest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${RUN_BENCHMARKS:-}" ]; then
  bin=$RUN_BENCHMARKS
elif command -v run-benchmarks >/dev/null; then
  bin=run-benchmarks
else
  bin=$here/../target/release/run-benchmarks
fi
if [ -n "${BENCH_DATA_REPO:-}" ]; then
  exec "$bin" -d . --publish "$BENCH_DATA_REPO" "$@"
fi
exec "$bin" -d . "$@"
