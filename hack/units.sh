#!/usr/bin/env bash
# The unit tests on two libvirts: the machine's own, then libvirt0 from bookworm-backports (libvirt 11 where
# the machine has 9.0) loaded into the same Python from hack/backports-libvirt.sh's cache. The module tests
# run on libvirt's test driver, which lives in the library, so each run tests against that version's driver
# (docs/stacks.md). Ends with one line per run: the libvirt version and pytest's counts.
# NESTEDKVM_SECOND_LIBVIRT:
#   try      (default) run on the backports libvirt when it can be fetched; when it cannot, say so in a
#            banner and in the summary, and pass on the first run alone
#   require  the same, but a backports libvirt that cannot be fetched fails (.ci/run sets this)
#   off      only the machine's libvirt, said so in the summary
# Usage: hack/units.sh [pytest arguments]
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${NESTEDKVM_SECOND_LIBVIRT:-try}
case "$mode" in try|require|off) ;; *) echo "units: NESTEDKVM_SECOND_LIBVIRT must be try, require or off, not '$mode'" >&2; exit 2;; esac

summary=()
status=0

# The version of the libvirt.so.0 the binding loads (not the one it was built against).
version_of_loaded_libvirt='import libvirt; v = libvirt.getVersion(); print("%d.%d.%d" % (v // 1000000, v // 1000 % 1000, v % 1000))'

run() {  # run <what> [VAR=value ...]: pytest once, its counts into the summary
  local what=$1 log version rc
  shift
  log=$(mktemp)
  version=$(env "$@" python -c "$version_of_loaded_libvirt")
  echo "=== unit tests on libvirt $version ($what)"
  env "$@" pytest tests/unit "${pytest_args[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary+=("libvirt $version ($what): $(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -1 | tr -d '=' | sed 's/^ *//; s/ *$//')")
  rm -f "$log"
  [ "$rc" -eq 0 ] || status=1
}

pytest_args=("$@")
run "this machine's"
machine_version=$(python -c "$version_of_loaded_libvirt")

if [ "$mode" = off ]; then
  summary+=("backports libvirt: not run (NESTEDKVM_SECOND_LIBVIRT=off)")
else
  errors=$(mktemp)
  if libdir=$(hack/backports-libvirt.sh 2>"$errors"); then
    backports_version=$(LD_LIBRARY_PATH="$libdir" python -c "$version_of_loaded_libvirt")
    if [ "$backports_version" = "$machine_version" ]; then  # a machine switched to the backports stack
      summary+=("backports libvirt: the machine's own libvirt is $machine_version already: tested once")
    else
      run "libvirt0 from bookworm-backports in $libdir" LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
  else
    reason=$(cat "$errors")
    echo "############################################################################################"
    echo "### SKIPPED: the unit tests on the backports libvirt did not run"
    echo "### $reason"
    echo "############################################################################################"
    summary+=("backports libvirt: NOT RUN ($reason)")
    [ "$mode" = require ] && status=1
  fi
  rm -f "$errors"
fi

echo "=== unit test summary"
printf '  %s\n' "${summary[@]}"
exit "$status"
