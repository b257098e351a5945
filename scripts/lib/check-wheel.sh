#!/usr/bin/env bash
# Installs a heat-bench wheel into a throwaway venv and runs its three tools from there with no
# Rust toolchain on PATH, as a user of `pip install heat-bench` would; exits 1 on any difference.
# Usage: scripts/lib/check-wheel.sh WHEEL PYTEST   (PYTEST: a pytest with pytest-benchmark)
set -euo pipefail
wheel=$(realpath "$1")
pytest=$(realpath "$2")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "check-wheel: $*" >&2
  exit 1
}

# A venv without a pip of its own (seeding one takes seconds), installed into by this python's pip;
# --no-index: the wheel needs nothing from PyPI.
python3 -m venv --without-pip "$work/venv"
python3 -m pip --python "$work/venv/bin/python" install -q --no-index --disable-pip-version-check "$wheel"
# What a cluster user has: the venv's bin/ and the system's, no cargo.
export PATH=$work/venv/bin:/usr/local/bin:/usr/bin:/bin
if command -v cargo >/dev/null; then fail "cargo is on the check's PATH: $(command -v cargo)"; fi

version=$(basename "$wheel" | cut -d- -f2)
for tool in run-benchmarks aggregate build-list; do
  found=$(command -v "$tool") || fail "$tool is not on the PATH after pip install $wheel"
  [ "$found" = "$work/venv/bin/$tool" ] || fail "$tool on PATH is $found, not the venv's"
  [ "$("$tool" --version)" = "$tool $version" ] || fail "$tool --version says '$("$tool" --version)', the wheel is $version"
done

# One real run of each tool.
cp -r "$root/fixtures/suites" "$work/suites"
run-benchmarks -d "$work/suites" --pytest "$pytest" --quiet \
  -- --benchmark-max-time=0.005 --benchmark-min-rounds=2 --benchmark-warmup=off
for suite in arrays strings; do
  [ -s "$work/suites/results/data/$suite/aggregate.json" ] || fail "run-benchmarks wrote no history of $suite"
done
mkdir -p "$work/data/kmeans"
aggregate "$root/fixtures/reports/5.3.1/git-clean.json" --history "$work/data/kmeans/aggregate.json"
build-list "$work/data" -o "$work/data/list.json"
grep -q '"file": "kmeans/aggregate.json"' "$work/data/list.json" \
  || fail "build-list did not list kmeans/aggregate.json: $(cat "$work/data/list.json")"
echo "check-wheel: $(basename "$wheel"): the three tools ran from a fresh venv" >&2
