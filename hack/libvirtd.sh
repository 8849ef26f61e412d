#!/usr/bin/env bash
# Makes the local libvirt usable for the integration tier (and CI containers without systemd):
#  - /dev/kvm group kvm, mode 0660, as udev would: without it libvirtd re-probes QEMU on every
#    define (measured: 70 s per defineXML instead of 4 ms);
#  - libvirt's `default` NAT network is never autostarted (it would bring up 192.168.122.0/24);
#  - libvirtd + virtlogd started by hand when systemd is not PID 1 and none runs yet.
# Usage: hack/libvirtd.sh start|stop
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

start() {
  if [ -c /dev/kvm ]; then
    $SUDO chgrp kvm /dev/kvm && $SUDO chmod 0660 /dev/kvm
  fi
  $SUDO rm -f /etc/libvirt/qemu/networks/autostart/default.xml
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    $SUDO systemctl start libvirtd.service
  else
    pgrep -x virtlogd >/dev/null || $SUDO virtlogd -d
    pgrep -x libvirtd >/dev/null || $SUDO libvirtd -d
  fi
  for _ in $(seq 1 60); do
    $SUDO virsh -c qemu:///system version >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "libvirtd did not answer on qemu:///system within 60 s" >&2
  return 1
}

stop() {
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    $SUDO systemctl stop libvirtd.service
  else
    $SUDO pkill -x libvirtd || true
    $SUDO pkill -x virtlogd || true
    # Gone before returning: a start right after would find the exiting daemon and start none.
    for _ in $(seq 1 30); do
      # one name per pgrep: procps matches nothing (and only warns) for a pattern over 15 characters
      pgrep -x libvirtd >/dev/null || pgrep -x virtlogd >/dev/null || return 0
      sleep 1
    done
    echo "libvirtd or virtlogd still running 30 s after SIGTERM" >&2
    return 1
  fi
}

"${1:-start}"
