#!/usr/bin/env bash
# Drop-in replacement for HeAT's benchmarks/pytest-benchmarks/run_benchmarks.sh, for CI jobs that
# call the old path: copy it over the old script. Run it, as the original, in the folder that
# holds the suites: every sub-folder but results/ is a suite, histories go to
# results/data/<suite>/aggregate.json and the list to results/data/list.json.
#
# The original then rsynced results/ into a checkout of the data repository at a hard-coded path
# and committed there with `git commit -am` (which never added a new suite). Set BENCH_DATA_REPO to
# that checkout instead: histories are then kept there directly, every change is committed and
# pushed. Extra arguments go to run-benchmarks (e.g. --timeout 3600, or -- ARGS for pytest).
#
# run-benchmarks is taken from RUN_BENCHMARKS if set, else from PATH (`pip install heat-bench`),
# else beside this script (a release archive unpacked here), else from target/release/ of the
# heat-bench checkout this script sits in (scripts/run_benchmarks.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
me=$(basename "$0")
if [ -n "${RUN_BENCHMARKS:-}" ]; then
  bin=$RUN_BENCHMARKS
elif command -v run-benchmarks >/dev/null; then
  bin=run-benchmarks
elif [ -x "$here/run-benchmarks" ]; then
  bin=$here/run-benchmarks
elif [ -x "$here/../target/release/run-benchmarks" ]; then
  bin=$here/../target/release/run-benchmarks
else
  echo "$me: error: run-benchmarks not found on PATH, in $here or in $(dirname "$here")/target/release; install it with \`pip install heat-bench\` (or unpack a release archive beside this script, or set RUN_BENCHMARKS to its path)" >&2
  exit 2
fi
if [ -n "${BENCH_DATA_REPO:-}" ]; then
  exec "$bin" -d . --publish "$BENCH_DATA_REPO" "$@"
fi
echo "$me: BENCH_DATA_REPO is not set: not publishing, the histories stay in $PWD/results/; to commit and push them as the old script did, set BENCH_DATA_REPO=/path/to/a/checkout/of/the/data/repository" >&2
exec "$bin" -d . "$@"
