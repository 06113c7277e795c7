#!/usr/bin/env bash
# The shell step of action.yml: install the package, run `convo-contracts run`, and hand
# the results to GitHub (job summary, step outputs). Inputs arrive as environment variables
# so that keys never appear on a command line. Run it locally with CONVO_ACTION_SKIP_INSTALL=1
# (the tests do) and fake GITHUB_STEP_SUMMARY / GITHUB_OUTPUT files.
#
#   CONVO_BASE_URL, CONVO_API_KEY, CONVO_OTHER_KEY, CONVO_READONLY_KEY   read by the CLI itself
#   CONVO_ACTION_API          runtype, systemprompt or all (default all)
#   CONVO_ACTION_ONLY         comma-separated families (default: all)
#   CONVO_ACTION_READ_ONLY    "true": only what cannot change data
#   CONVO_ACTION_FAIL_UNDER   minimum overall spec coverage in percent (default: no gate)
#   CONVO_ACTION_HTML / _MARKDOWN / _JSON / _JUNIT   report paths (empty: not written; JSON
#                             defaults to a file in RUNNER_TEMP, for the `coverage` output)
#   CONVO_ACTION_EXTRA_ARGS   further arguments, split on spaces (no keys here)
#   CONVO_ACTION_PYTHON       the interpreter (default python3)
#   CONVO_ACTION_SKIP_INSTALL "1": use the installed package, install nothing
#   CONVO_ACTION_SOURCE       what to pip-install (default: the action's own checkout)
set -euo pipefail

python="${CONVO_ACTION_PYTHON:-python3}"
# An optional secret that is not set arrives as an empty string: that is no key at all.
for name in CONVO_OTHER_KEY CONVO_READONLY_KEY; do
  if [[ -z "${!name:-}" ]]; then unset "$name"; fi
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Exit 2 means "could not run" (1 means violations): a setup problem is one line and 2.
cannot_run() {
  echo "convo-contracts action: error: $1" >&2
  [[ -n "${GITHUB_OUTPUT:-}" ]] && echo "exit-code=2" >>"$GITHUB_OUTPUT"
  exit 2
}
command -v "$python" >/dev/null 2>&1 || cannot_run "no Python interpreter '$python' (set CONVO_ACTION_PYTHON)"
if [[ "${CONVO_ACTION_SKIP_INSTALL:-}" != "1" ]]; then
  "$python" -m pip install --quiet --disable-pip-version-check "${CONVO_ACTION_SOURCE:-$here}" ||
    cannot_run "installing convo-contracts with $python failed (pip's output is above)"
fi
"$python" -c 'import contracts.cli' >/dev/null 2>&1 ||
  cannot_run "convo-contracts is not importable by $python: install it first ($python -m pip install .), or unset CONVO_ACTION_SKIP_INSTALL"

json="${CONVO_ACTION_JSON:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/convo-contracts-report.json}"
args=(run --api "${CONVO_ACTION_API:-all}" --json "$json")
[[ -n "${CONVO_ACTION_ONLY:-}" ]] && args+=(--only "$CONVO_ACTION_ONLY")
[[ "${CONVO_ACTION_READ_ONLY:-false}" == "true" ]] && args+=(--read-only)
[[ -n "${CONVO_ACTION_FAIL_UNDER:-}" ]] && args+=(--fail-under "$CONVO_ACTION_FAIL_UNDER")
[[ -n "${CONVO_ACTION_HTML:-}" ]] && args+=(--html "$CONVO_ACTION_HTML")
[[ -n "${CONVO_ACTION_MARKDOWN:-}" ]] && args+=(--markdown "$CONVO_ACTION_MARKDOWN")
[[ -n "${CONVO_ACTION_JUNIT:-}" ]] && args+=(--junit-xml "$CONVO_ACTION_JUNIT")
if [[ -n "${CONVO_ACTION_EXTRA_ARGS:-}" ]]; then
  read -r -a extra <<<"$CONVO_ACTION_EXTRA_ARGS"
  args+=("${extra[@]}")
fi

set +e
"$python" -m contracts "${args[@]}"
code=$?
set -e

if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  coverage=""
  if [[ -f "$json" ]]; then
    coverage="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["coverage"]["percent"])' "$json" 2>/dev/null || true)"
  fi
  {
    echo "exit-code=$code"
    echo "coverage=$coverage"
    echo "json=$json"
    echo "html=${CONVO_ACTION_HTML:-}"
    echo "markdown=${CONVO_ACTION_MARKDOWN:-}"
  } >>"$GITHUB_OUTPUT"
fi
exit "$code"
