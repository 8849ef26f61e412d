#!/usr/bin/env bash
# Installs what `make test` / `make lab` need on Debian 12 (or Ubuntu): apt packages, then a
# pinned Python venv under .work/. Idempotent: each step runs only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${WORK:-.work}
PYTHON=${PYTHON:-python3}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# libvirt-dev, pkg-config, gcc, python3-dev: build libvirt-python (sdist only).
# libvirt-daemon-system: libvirtd + RNG schemas (/usr/share/libvirt/schemas) + QEMU driver.
# qemu-system-x86, qemu-utils, ovmf, swtpm: what real domains (integration tier, lab) run on.
# passt: the user-mode network backend of libvirt 10.6 and later (a machine switched to bookworm-backports,
# docs/stacks.md); Debian 12's own libvirt 9.0 does not use it.
# debootstrap, e2fsprogs: the lab builds its own Debian images; openssh-client: it logs in to them.
APT_PACKAGES="libvirt-dev pkg-config gcc python3-dev python3-venv libvirt-daemon-system
  libvirt-clients qemu-system-x86 qemu-utils ovmf swtpm swtpm-tools passt kmod genisoimage
  debootstrap e2fsprogs openssh-client"

missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: apt-get install$missing"
  $SUDO apt-get update -qq
  # libvirt's package scripts try to start services; without systemd as PID 1 that is harmless.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

stamp="$WORK/venv/.requirements.sha256"
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ ! -x "$WORK/venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "deps: creating $WORK/venv from requirements-dev.txt"
  "$PYTHON" -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q --upgrade pip
  "$WORK/venv/bin/pip" install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# Ansible and pytest import the checkout as ansible_collections.nestedkvm.stack through this link.
mkdir -p "$WORK/collections/ansible_collections/nestedkvm"
ln -sfn "$(pwd)" "$WORK/collections/ansible_collections/nestedkvm/stack"
