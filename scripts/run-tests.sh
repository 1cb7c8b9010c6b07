#!/usr/bin/env bash
# The whole test suite (what `make test` and .ci/run call):
#   lint -> ansible-test sanity -> pytest unit tests (with coverage) -> pip-audit, beside the Molecule
#   scenarios in two lanes (named scenarios or DEMOAPP_LANES=1: everything one after another).
# Every stage runs even when an earlier one failed; the last line is the summary
# "N passed, N failed, N skipped" and the exit status is non-zero if anything failed.
#   STAGES="lint unit"            run only some stages
#   SCENARIOS="ssh_hardening"     run only some Molecule scenarios (one after another)
#   DEMOAPP_LANES=1               every scenario one after another (default: two lanes side by side)
#   DEMOAPP_PIP_AUDIT=offline     machines that cannot reach the vulnerability service:
#                                 the audit is skipped, and the summary says so
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
export DEMOAPP_CACHE="${DEMOAPP_CACHE:-$ROOT/.cache}"
VENV="${DEMOAPP_VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
# Ansible's home for this run lives in the cache, and this checkout is linked
# into its collections path: playbooks run by Molecule use the live code, and
# Molecule (ansible-compat) sees the link and does not install a copy.
export ANSIBLE_HOME="$DEMOAPP_CACHE/ansible-home"
mkdir -p "$ANSIBLE_HOME/collections/ansible_collections/integration"
ln -sfn "$ROOT" "$ANSIBLE_HOME/collections/ansible_collections/integration/demoapp"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}" PY_COLORS="${PY_COLORS:-0}"
STAGES="${STAGES:-lint sanity unit audit molecule}"

passed=0 failed=0 failures=() skipped=() started=$(date +%s)
record() {  # record NAME RC SECONDS: count one stage's outcome and print its line
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1)); printf '=== %s: PASSED in %ss\n' "$1" "$3"
  else
    failed=$((failed + 1)); failures+=("$1 (rc=$2)")
    printf '=== %s: FAILED (rc=%s) in %ss\n' "$1" "$2" "$3"
  fi
}
stage() {  # stage NAME COMMAND...: run, time and record one stage
  local name="$1" t0 rc; shift
  t0=$(date +%s)
  printf '\n=== %s\n' "$name"
  "$@"; rc=$?
  record "$name" "$rc" "$(( $(date +%s) - t0 ))"
}

cleanup() {  # no test container or network survives the run, pass or fail
  docker ps -aq --filter label=owner=molecule 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
  docker network ls -q --filter label=owner=molecule 2>/dev/null | xargs -r docker network rm >/dev/null 2>&1 || true
}

pytest_strict() {  # pytest, but "no tests ran" (exit 5) is a failure
  pytest "$@"; local rc=$?
  [ "$rc" -eq 5 ] && echo "pytest: no tests ran" >&2
  return "$rc"
}

sanity() {
  local dest="$DEMOAPP_CACHE/sanity/ansible_collections/integration/demoapp"
  "$ROOT/scripts/ansible-test-offline.sh" >/dev/null || return 1
  rm -rf "$DEMOAPP_CACHE/sanity" && mkdir -p "$dest" "$DEMOAPP_CACHE/sanity/ansible_collections/community"
  # pg_schema's doc fragment and module_utils come from community.postgresql: in the same tree, as ansible-test wants.
  ln -s "$(python -c 'import ansible_collections.community.postgresql as c; print(c.__path__[0])')" \
    "$DEMOAPP_CACHE/sanity/ansible_collections/community/postgresql" || return 1
  git ls-files -z --cached --others --exclude-standard | grep -zv '^collections/' \
    | xargs -0 cp --parents -P -t "$dest" || return 1
  # ansible-test prints pip's chatter: keep it in a log, show it on failure.
  (cd "$dest" && git init -q && git add -A \
    && ansible-test sanity --python 3.11 --color no >"$DEMOAPP_CACHE/sanity.log" 2>&1) \
    || { grep -vE '^(WARNING: Location|Looking in|Collecting|  Downloading|Installing|Successfully)' \
           "$DEMOAPP_CACHE/sanity.log" | tail -n 60; return 1; }
  grep -E '^(Running sanity test|WARNING: Required)' "$DEMOAPP_CACHE/sanity.log" | sort | uniq -c | awk '{$1=""; print}' | tail -n 40
}

refuse() { echo "$1" >&2; return 2; }

audit() {  # the pinned requirements against the vulnerability service; never a silent pass
  case "${DEMOAPP_PIP_AUDIT:-required}" in
    required) stage pip-audit "$ROOT/scripts/audit-deps.sh" ;;
    offline)
      printf '\n=== pip-audit: SKIPPED (DEMOAPP_PIP_AUDIT=offline): requirements.txt was NOT audited\n'
      skipped+=("pip-audit (DEMOAPP_PIP_AUDIT=offline: dependencies not audited)") ;;
    *) stage pip-audit refuse "DEMOAPP_PIP_AUDIT must be 'required' or 'offline', not '$DEMOAPP_PIP_AUDIT'" ;;
  esac
}

molecule_lane() {  # molecule_lane LANE SCENARIO...: one after another; each log printed whole when it ends
  local lane="$1" s t0 rc; shift
  for s in "$@"; do
    t0=$(date +%s)
    molecule test -s "$s" >"$LANES/$s.log" 2>&1; rc=$?
    echo "$rc $(( $(date +%s) - t0 ))" >"$LANES/$s.result"
    # shellcheck disable=SC2016  # the inner shell expands its own arguments
    flock "$LANES/.print" sh -c 'printf "\n=== molecule test -s %s (lane %s, rc=%s)\n" "$1" "$2" "$3"; cat "$4"' \
      _ "$s" "$lane" "$rc" "$LANES/$s.log"
  done
}

lanes() {  # whether the scenarios run in two lanes (not when named, nor with DEMOAPP_LANES=1)
  [ -z "${SCENARIOS:-}" ] && [ "${DEMOAPP_LANES:-2}" != 1 ]
}

molecule_all() {
  local s lane rc secs list1=() list2=()
  if ! lanes; then  # one after another, output as it comes
    for s in ${SCENARIOS:-$(scripts/scenarios.sh)}; do stage "molecule test -s $s" molecule test -s "$s" || true; done
    return 0
  fi
  # Two lanes side by side (scripts/scenarios.sh --lanes says which and why): the scenarios wait on
  # apt, systemd and sleeps as much as on the 2 cores, so the second lane fills the gaps.
  LANES="$DEMOAPP_CACHE/lanes"; rm -rf "$LANES"; mkdir -p "$LANES"
  while read -r lane s; do
    if [ "$lane" = 1 ]; then list1+=("$s"); else list2+=("$s"); fi
  done < <(scripts/scenarios.sh --lanes)
  printf '\n=== molecule: lane 1 (%s) beside lane 2 (%s)\n' "${list1[*]}" "${list2[*]}"
  molecule_lane 1 "${list1[@]}" & local pid1=$!
  molecule_lane 2 "${list2[@]}" & local pid2=$!
  wait "$pid1" "$pid2"
  for s in "${list1[@]}" "${list2[@]}"; do
    read -r rc secs <"$LANES/$s.result" 2>/dev/null || { rc=1; secs=0; }
    record "molecule test -s $s" "$rc" "$secs"
  done
  return 0
}

"$ROOT/scripts/testenv.sh" all || { echo "0 passed, 1 failed"; exit 1; }
# Only a run that starts Molecule containers removes them (a lint run leaves others alone).
case " $STAGES " in *" molecule "*) trap cleanup EXIT ;; esac

run_stage() {  # run_stage NAME: one stage of STAGES other than molecule
  case "$1" in
    lint)
      stage yamllint yamllint --strict .
      stage ansible-lint ansible-lint --profile production
      stage ruff ruff check .
      stage "workflow schema" check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml
      ;;
    sanity) stage "ansible-test sanity" sanity ;;
    # Coverage of files/ and plugins/ (modules and jobs followed into their subprocesses);
    # under 80 % fails the stage (pyproject.toml).
    unit) rm -f .coverage .coverage.*; stage "pytest tests/unit" pytest_strict tests/unit --cov --cov-report=term ;;
    audit) audit ;;
    *) echo "unknown stage $1"; failed=$((failed + 1)); failures+=("unknown stage $1") ;;
  esac
}

static_stages() {  # static_stages DIR STAGE...: run in the background; the outcomes are left in DIR
  local dir="$1" st; shift
  for st in "$@"; do run_stage "$st"; done >"$dir/log" 2>&1
  printf '%s\n' "$passed" "$failed" >"$dir/counts"
  printf '%s\n' "${failures[@]}" >"$dir/failures"; printf '%s\n' "${skipped[@]}" >"$dir/skipped"
}

static=() molecule=no
for st in $STAGES; do if [ "$st" = molecule ]; then molecule=yes; else static+=("$st"); fi; done
if [ "$molecule" = yes ] && lanes && [ "${#static[@]}" -gt 0 ]; then
  # The static stages run beside the two Molecule lanes (they use the cores the lanes leave idle
  # while containers wait on apt, systemd and sleeps); their output is printed whole when they end,
  # and their outcomes are counted in the summary like any stage.
  cleanup
  STATIC="$DEMOAPP_CACHE/static"; rm -rf "$STATIC"; mkdir -p "$STATIC"
  static_stages "$STATIC" "${static[@]}" &
  static_pid=$!
  molecule_all
  wait "$static_pid"
  printf '\n=== static stages (%s), run beside the lanes\n' "${static[*]}"; cat "$STATIC/log"
  { read -r n; passed=$((passed + n)); read -r n; failed=$((failed + n)); } <"$STATIC/counts" \
    || { failed=$((failed + 1)); failures+=("static stages (no result)"); }
  while read -r f; do [ -n "$f" ] && failures+=("$f"); done <"$STATIC/failures"
  while read -r f; do [ -n "$f" ] && skipped+=("$f"); done <"$STATIC/skipped"
else
  for st in "${static[@]}"; do run_stage "$st"; done
  if [ "$molecule" = yes ]; then cleanup; molecule_all; fi
fi

printf '\n=== summary\n'
for f in "${failures[@]}"; do printf 'FAILED: %s\n' "$f"; done
for f in "${skipped[@]}"; do printf 'SKIPPED: %s\n' "$f"; done
total=$(( $(date +%s) - started ))
printf 'total: %ss (%dm%02ds)\n' "$total" $((total / 60)) $((total % 60))
printf '%s passed, %s failed, %s skipped\n' "$passed" "$failed" "${#skipped[@]}"
[ "$failed" -eq 0 ]
