#!/usr/bin/env bash
# Switches this Debian 12 machine to the newer virtualization stack of bookworm-backports (libvirt 11.3,
# QEMU 10.0), the generation Debian 13 and Ubuntu 24.04 users run, and back:
#   hack/backports-stack.sh          # switch (idempotent: a second run installs nothing)
#   hack/backports-stack.sh revert   # back to the packages the machine had before the switch
#   hack/backports-stack.sh other CMD...  # CMD on the stack the machine does not run, then back to its own
# `.ci/run` runs the integration tests with `other` (docs/stacks.md, "Proving both stacks in CI"); `make test`
# never switches. Running VMs are not touched; stop them first.
# The switch adds an apt source for bookworm-backports with the URI of the machine's own bookworm entry,
# records every installed package's version, and installs the stack's packages from backports. Either way
# the running libvirtd and virtlogd are stopped, so the next `make` starts the installed ones (hack/libvirtd.sh).
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SOURCES=/etc/apt/sources.list.d/nestedkvm-bookworm-backports.sources
BEFORE=/var/lib/nestedkvm/packages-before-backports.list
# What hack/deps.sh installs of the stack, plus the QEMU driver package libvirt 11 split out of the daemon.
PACKAGES="qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu libvirt-dev"

say() { echo "backports-stack: $*"; }
stop_daemons() {
  # The old daemons keep running from their replaced binaries until stopped.
  "$(dirname "$0")/libvirtd.sh" stop
}
report() {
  say "libvirt $(dpkg-query -W -f '${Version}' libvirt-daemon-system), QEMU $(dpkg-query -W -f '${Version}' qemu-system-x86)"
}

[ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ] || {
  echo "backports-stack: this is for Debian 12 (bookworm) machines" >&2
  exit 2
}

on_backports() { dpkg-query -W -f '${Version}' libvirt-daemon-system 2>/dev/null | grep -q '~bpo'; }

if [ "${1:-}" = other ]; then
  shift
  [ $# -gt 0 ] || { echo "backports-stack: other needs a command to run" >&2; exit 2; }
  if on_backports; then there=(revert) home=(); else there=() home=(revert); fi
  "$0" "${there[@]}"
  say "running on the other stack: $*"
  # An interrupted run still puts the machine back; a failed return fails the run, whatever the command did.
  trap 'say "interrupted: back to the machine'"'"'s own stack"; "$0" "${home[@]}"; exit 130' INT TERM
  status=0
  "$@" || status=$?
  trap - INT TERM
  say "back to the machine's own stack"
  "$0" "${home[@]}"
  exit "$status"
fi

if [ "${1:-}" = revert ]; then
  # Packages from backports go back to the version recorded before the switch; those the switch brought in
  # (libvirt 11 split its daemon into more packages) are removed.
  changes=()
  while read -r package version; do
    previous=$(awk -v p="$package" '$1 == p {print $2; exit}' "$BEFORE" 2>/dev/null || true)
    # A backport the machine had before the switch, at the same version, is not the switch's to undo.
    if [ "$previous" = "$version" ]; then continue; fi
    if [ -n "$previous" ]; then changes+=("$package=$previous"); else changes+=("$package-"); fi
  done < <(dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' | awk '$1 == "ii" && $3 ~ /~bpo/ {print $2, $3}')
  if [ ${#changes[@]} -gt 0 ]; then
    [ -s "$BEFORE" ] || { echo "backports-stack: no record of the packages before the switch ($BEFORE)" >&2; exit 2; }
    say "apt-get install ${changes[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
      "${changes[@]}"
    # Files libvirt 11 had moved into the packages just removed (its schemas, now libvirt0's again) went with them:
    # installing the old versions once more puts them back.
    reinstall=()
    for change in "${changes[@]}"; do
      case "$change" in *=*) reinstall+=("$change") ;; esac
    done
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --reinstall \
      "${reinstall[@]}"
    stop_daemons
  fi
  if [ -e "$SOURCES" ]; then
    $SUDO rm -f "$SOURCES"
    $SUDO apt-get update -qq
  fi
  report
  exit 0
fi

if [ ! -e "$SOURCES" ]; then
  uri=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
          | awk '$1 == "bookworm" {print $2; exit}')
  [ -n "$uri" ] || { echo "backports-stack: apt knows no 'bookworm' entry (run apt-get update)" >&2; exit 2; }
  $SUDO mkdir -p "$(dirname "$BEFORE")"
  dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' | awk '$1 == "ii" {print $2, $3}' \
    | $SUDO tee "$BEFORE" >/dev/null
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$uri" "$KEYRING" \
    | $SUDO tee "$SOURCES" >/dev/null
  $SUDO apt-get update -qq
fi

# shellcheck disable=SC2086
if apt-get -s -t bookworm-backports install $PACKAGES 2>/dev/null | grep -q '^Inst '; then
  say "installing $PACKAGES from bookworm-backports"
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -t bookworm-backports $PACKAGES
  stop_daemons
fi
report
