#!/usr/bin/env bash
# The run-benchmarks action's step: checks every input (all bad ones are named at once, exit 2,
# before anything is installed or run), installs the tools with pip, runs run-benchmarks and
# writes the job summary and the step's outputs. action.yml passes the inputs as INPUT_* variables;
# an unset one takes the default its description names. Outside GitHub (the tests) the GITHUB_*
# and RUNNER_* variables may be missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The token only reaches the script that posts, never the benchmarks' environment.
token=${INPUT_GITHUB_TOKEN:-}
unset INPUT_GITHUB_TOKEN

errors=()
bad() { errors+=("input '$1': $2"); }
# Text from inputs and folder names on one line of the log: line breaks escaped, and GitHub's
# older command marker `##[` broken (the runner takes `::` at a line's start, `##[` anywhere).
inert() {
  local text=$1
  text=${text//$'\r'/\\r}
  text=${text//$'\n'/\\n}
  printf '%s' "${text//'##['/'#\x23['}"
}
is_bool() { [ "$1" = true ] || [ "$1" = false ]; }
is_count() { [[ $1 =~ ^[0-9]+$ ]]; }
is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }

suites=${INPUT_SUITES:-.}
pytest=${INPUT_PYTEST:-}
data=${INPUT_DATA_REPOSITORY:-}
publish=${INPUT_PUBLISH:-false}
check=${INPUT_CHECK:-true}
no_append=${INPUT_NO_APPEND:-false}
fail_on_regression=${INPUT_FAIL_ON_REGRESSION:-$([ "$check" = true ] && echo true || echo false)}
fail_on_open=${INPUT_FAIL_ON_OPEN:-false}
confirm=${INPUT_CONFIRM:-0}
baseline_branch=${INPUT_BASELINE_BRANCH:-}
stat=${INPUT_STAT:-}
threshold=${INPUT_THRESHOLD:-}
thresholds=${INPUT_THRESHOLDS:-}
window=${INPUT_WINDOW:-}
min_history=${INPUT_MIN_HISTORY:-}
# The job summary links the measured commits; the workflow's own repository unless told.
commit_url=${INPUT_COMMIT_URL:-}
if [ -z "$commit_url" ] && [ -n "${GITHUB_SERVER_URL:-}" ] && [ -n "${GITHUB_REPOSITORY:-}" ]; then
  commit_url=$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/commit/{id}
fi
timeout=${INPUT_TIMEOUT:-}
max_bytes=${INPUT_MAX_BYTES:-}
install=${INPUT_INSTALL:-}
comment=${INPUT_COMMENT:-true}
comment_key=${INPUT_COMMENT_KEY:-${GITHUB_JOB:-benchmarks}}
open_issues=${INPUT_OPEN_ISSUES:-false}
issue_label=${INPUT_ISSUE_LABEL:-performance-regression}
event=${GITHUB_EVENT_NAME:-}
is_pull_request=false
case $event in pull_request | pull_request_target) is_pull_request=true ;; esac
# A pull request is judged against its base branch's history unless told otherwise.
if [ -z "$baseline_branch" ] && [ "$is_pull_request" = true ] && [ "$check" = true ]; then
  baseline_branch=${GITHUB_BASE_REF:-}
fi
read -r -a extra <<<"${INPUT_ARGS:-}"

[ -d "$suites" ] || bad suites "$suites is not a folder (the folder whose sub-folders are the suites)"
if [ -n "$data" ] && ! git -C "$data" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  bad data-repository "$data is not a git checkout; check the data repository out first (actions/checkout with repository: and path:)"
fi
case $publish in
  true | no-push) [ -n "$data" ] || bad publish "'$publish' needs data-repository, the checkout to commit to" ;;
  false) ;;
  *) bad publish "'$publish' is not one of true, no-push, false" ;;
esac
for name in check no-append fail-on-regression fail-on-open comment open-issues; do
  var=${name//-/_}
  is_bool "${!var}" || bad "$name" "'${!var}' is not true or false"
done
if [ "$check" != true ]; then
  for name in no-append fail-on-regression fail-on-open open-issues; do
    var=${name//-/_}
    [ "${!var}" != true ] || bad "$name" "needs check: true"
  done
  for name in confirm baseline-branch stat threshold thresholds window min-history; do
    var=${name//-/_}
    [ -z "${!var}" ] || [ "${!var}" = 0 ] || bad "$name" "is a gate option: it needs check: true"
  done
fi
if [ "$no_append" = true ] && { [ "$publish" = true ] || [ "$publish" = no-push ]; }; then
  bad no-append "records nothing, so there is nothing to publish: set publish: false"
fi
if [ "$open_issues" = true ] && [ "$no_append" = true ]; then
  bad open-issues "opens an issue per regression recorded on the main branch; a run with no-append records nothing"
fi
label_pattern='^[A-Za-z0-9._ -]{1,50}$'
[[ $issue_label =~ $label_pattern ]] || bad issue-label "'$issue_label' is not a label of letters, digits, spaces, '.', '_' or '-'"
is_count "$confirm" || bad confirm "'$confirm' is not a whole number of reruns"
[ -z "$stat" ] || [[ $stat =~ ^(min|median|mean)$ ]] || bad stat "'$stat' is not one of min, median, mean"
[ -z "$threshold" ] || is_number "$threshold" || bad threshold "'$threshold' is not a percentage such as 10 or 12.5"
[ -z "$thresholds" ] || [ -f "$thresholds" ] || bad thresholds "$thresholds is not a file"
for name in window min-history; do
  var=${name//-/_}
  [ -z "${!var}" ] || { is_count "${!var}" && [ "${!var}" -gt 0 ]; } || bad "$name" "'${!var}' is not a positive whole number"
done
[ -z "$timeout" ] || is_number "$timeout" || bad timeout "'$timeout' is not a number of seconds"
[ -z "$commit_url" ] || [[ $commit_url == *"{id}"* ]] || bad commit-url "'$commit_url' has no {id} for the commit"
[ -z "$max_bytes" ] || [[ $max_bytes =~ ^[0-9]+([.][0-9]+)?[[:space:]]*[A-Za-z]*$ ]] \
  || bad max-bytes "'$max_bytes' is not a size such as 20MB"
if [ "$install" = none ] && ! command -v run-benchmarks >/dev/null; then
  bad install "none, but run-benchmarks is not on PATH; leave install empty to pip install this action's release"
fi

if [ ${#errors[@]} -gt 0 ]; then
  for error in "${errors[@]}"; do
    if [ "${GITHUB_ACTIONS:-}" = true ]; then
      # A workflow command's message escapes %, CR and LF.
      error=${error//%/%25}
      error=${error//$'\r'/%0D}
      error=${error//$'\n'/%0A}
      echo "::error title=run-benchmarks action::$error"
    else
      echo "run-benchmarks action: error: $error" >&2
    fi
  done
  exit 2
fi

scratch=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/run-benchmarks-action
mkdir -p "$scratch"

if [ "$install" != none ]; then
  if [ -z "$install" ]; then
    # The release that matches this copy of the action: the workspace version beside it.
    version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$here/../../../Cargo.toml")
    install=heat-bench==$version
  fi
  venv=$scratch/venv
  rm -rf "$venv"
  python3 -m venv --without-pip "$venv"
  # The runner's pip installs into the venv (pip 22.3 on); an older one gets a pip of its own.
  pip=(python3 -m pip --python "$venv/bin/python")
  if ! "${pip[@]}" --version >/dev/null 2>&1; then
    "$venv/bin/python" -m ensurepip -q
    pip=("$venv/bin/python" -m pip)
  fi
  echo "run-benchmarks action: pip install $(inert "$install")" >&2
  if ! "${pip[@]}" install -q --disable-pip-version-check "$install"; then
    echo "run-benchmarks action: error: pip could not install $install; use a released version of the action (uses: ...@vX.Y.Z) or set install: to a wheel or requirement" >&2
    exit 2
  fi
  # Only the tools go on PATH, for this step and the job's later ones: the venv's python must not
  # shadow the one whose pytest runs the benchmarks.
  mkdir -p "$scratch/bin"
  for tool in run-benchmarks aggregate build-list; do
    ln -sf "$venv/bin/$tool" "$scratch/bin/$tool"
  done
  export PATH=$scratch/bin:$PATH
  [ -z "${GITHUB_PATH:-}" ] || echo "$scratch/bin" >>"$GITHUB_PATH"
fi

args=(-d "$suites")
[ -z "$pytest" ] || args+=(--pytest "$pytest")
results=$suites/results
if [ "$publish" != false ]; then
  args+=(--publish "$data")
  [ "$publish" != no-push ] || args+=(--no-push)
  results=$data
elif [ -n "$data" ]; then
  args+=(--results "$data")
  results=$data
fi
report_json=""
markdown=""
if [ "$check" = true ]; then
  report_json=$scratch/verdicts.json
  markdown=$scratch/verdicts.md
  rm -f "$report_json" "$markdown"
  # run-benchmarks appends its verdicts to $GITHUB_STEP_SUMMARY itself.
  args+=(--check --report-json "$report_json" --markdown "$markdown")
  [ "$no_append" != true ] || args+=(--no-append)
  [ "$fail_on_regression" != true ] || args+=(--fail-on-regression)
  [ "$fail_on_open" != true ] || args+=(--fail-on-open)
  [ -z "$commit_url" ] || args+=(--commit-url "$commit_url")
  [ "$confirm" = 0 ] || args+=(--confirm "$confirm")
  [ -z "$baseline_branch" ] || args+=(--baseline-branch "$baseline_branch")
  [ -z "$stat" ] || args+=(--stat "$stat")
  [ -z "$threshold" ] || args+=(--threshold "$threshold")
  [ -z "$thresholds" ] || args+=(--thresholds "$thresholds")
  [ -z "$window" ] || args+=(--window "$window")
  [ -z "$min_history" ] || args+=(--min-history "$min_history")
fi
[ -z "$timeout" ] || args+=(--timeout "$timeout")
[ -z "$max_bytes" ] || args+=(--max-bytes "$max_bytes")
args+=("${extra[@]}")

echo "run-benchmarks action: run-benchmarks $(inert "${args[*]}")" >&2
status=0
run-benchmarks "${args[@]}" || status=$?

case $status in
  0) outcome="every suite ran and was recorded or judged" ;;
  1) outcome="a suite failed or ran no benchmark, or a regression was confirmed: see the table above and the log" ;;
  *) outcome="run-benchmarks stopped with an error: see the log" ;;
esac
# A path as Markdown code: on one line, and a backtick in it does not end the code span.
code() {
  local text
  text=$(inert "$1")
  case $text in
    *'`'*) printf '`` %s ``' "$text" ;;
    *) printf '`%s`' "$text" ;;
  esac
}
case $publish in
  true) published="published to $(code "$data") (committed and pushed)" ;;
  no-push) published="committed in $(code "$data"), not pushed" ;;
  *) published="not published" ;;
esac
# Verdicts where reviewers look: the pull request's comment, an issue per regression on main. A
# failure to post is a warning: the verdicts are in the summary, and the step's outcome is the run's.
post() {
  local said=0
  GITHUB_TOKEN=$token python3 "$here/post_verdicts.py" "$@" || said=$?
  if [ "$said" -ne 0 ]; then
    if [ "${GITHUB_ACTIONS:-}" = true ]; then
      echo "::warning title=run-benchmarks action::could not post the verdicts ($1); see the lines above"
    else
      echo "run-benchmarks action: warning: could not post the verdicts ($1)" >&2
    fi
  fi
}
run_url=""
if [ -n "${GITHUB_SERVER_URL:-}" ] && [ -n "${GITHUB_REPOSITORY:-}" ] && [ -n "${GITHUB_RUN_ID:-}" ]; then
  run_url=$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID
fi
if [ "$comment" = true ] && [ "$is_pull_request" = true ] && [ -s "$markdown" ] && [ -n "${GITHUB_EVENT_PATH:-}" ]; then
  post comment --event "$GITHUB_EVENT_PATH" --markdown "$markdown" --key "$comment_key" \
    --runner "${RUNNER_NAME:-}" --run-url "$run_url" --commit-url "$commit_url"
fi
if [ "$open_issues" = true ] && [ "$is_pull_request" = false ] && [ -s "$report_json" ]; then
  post issues --report-json "$report_json" --run-url "$run_url" --commit-url "$commit_url" --label "$issue_label"
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  printf '\n**run-benchmarks** exited %s: %s. Histories in %s, %s.\n' \
    "$status" "$outcome" "$(code "$results")" "$published" >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  # Paths in the multi-line form, with a delimiter no path holds: a line break in a folder's
  # name must not start an output of its own.
  delimiter=run-benchmarks-$RANDOM$RANDOM$RANDOM
  {
    printf 'exit-code=%s\n' "$status"
    printf 'results<<%s\n%s\n%s\n' "$delimiter" "$results" "$delimiter"
    printf 'report-json<<%s\n%s\n%s\n' "$delimiter" "$report_json" "$delimiter"
    printf 'markdown<<%s\n%s\n%s\n' "$delimiter" "$markdown" "$delimiter"
  } >>"$GITHUB_OUTPUT"
fi
exit "$status"
