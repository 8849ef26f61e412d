#!/usr/bin/env bash
# hack/molecule.sh ATTEMPTS SCENARIO...: `molecule reset` + `molecule test` for each scenario.
# A failed scenario runs again, up to ATTEMPTS runs in all, after saying why: the emulated stack
# (QEMU TCG with emulated AMD-V) has a rare L1 kernel panic while an L2 boots (docs/molecule.md),
# and the L1's serial console log shows whether that is what happened. The last failure fails.
set -euo pipefail
attempts=$1
shift
for scenario in "$@"; do
  for attempt in $(seq 1 "$attempts"); do
    molecule reset -s "$scenario"
    if molecule test -s "$scenario"; then
      continue 2
    fi
    echo "== molecule: $scenario failed, attempt $attempt of $attempts" >&2
    for log in /var/log/libvirt/qemu/*-serial.log; do
      [ -r "$log" ] || continue
      if grep -aq "Kernel panic" "$log"; then
        echo "== $log: the guest kernel panicked:" >&2
        grep -a -m1 -B12 "Kernel panic" "$log" >&2 || true
      fi
    done
  done
  exit 1
done
