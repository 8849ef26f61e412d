"""The l0_host role's KVM hold (l0_host_hold_kvm, tasks/kvm_hold.yml): started and never restarted, since a restart
closes the held VM, which is the code rewrite the hold is there to avoid; removed only where the role made it (its
marker in the unit; its directory only when nothing else is in it). The role runs for real on localhost
(playbooks/kvm_hold.yml) with its unit and program in the test's directory.

Mocked, because it cannot exist here: systemd as PID 1. A stand-in systemctl, first in PATH, answers what
ansible.builtin.systemd_service asks (show, is-enabled), keeps the unit's active and enabled states in two files, and
logs every call, so the test can tell which ones the role made."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SYSTEMCTL = r'''#!/bin/bash
echo "$*" >> "$STATE/calls"
case "$1" in
  show)
    active=inactive; [ -e "$STATE/active" ] && active=active
    enabled=disabled; [ -e "$STATE/enabled" ] && enabled=enabled
    printf 'Id=%s\nLoadState=loaded\nActiveState=%s\nUnitFileState=%s\n' "$2" "$active" "$enabled" ;;
  is-enabled)
    if [ -e "$STATE/enabled" ]; then echo enabled; else echo disabled; exit 1; fi ;;
  start|restart) touch "$STATE/active" ;;
  stop) rm -f "$STATE/active" ;;
  enable) touch "$STATE/enabled" ;;
  disable) rm -f "$STATE/enabled" ;;
esac
'''


def test_the_hold_is_started_never_restarted_and_removed_only_where_the_role_made_it(tmp_path):
    state = tmp_path / 'systemd'
    state.mkdir()
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'systemctl').write_text(SYSTEMCTL)
    (bin_dir / 'systemctl').chmod(0o755)
    extra_vars = dict(
        ansible_python_interpreter=sys.executable,
        __l0_host_kvm_hold_unit=str(tmp_path / 'nestedkvm-kvm-hold.service'),
        __l0_host_kvm_hold_program=str(tmp_path / 'libexec' / 'nestedkvm' / 'kvm-hold'))
    run = subprocess.run(
        ['ansible-playbook', '-i', 'localhost,', '-c', 'local', '-e', json.dumps(extra_vars),
         str(REPO / 'tests' / 'unit' / 'playbooks' / 'kvm_hold.yml')],
        check=False, capture_output=True, text=True,
        env={**os.environ, 'ANSIBLE_NOCOLOR': '1', 'STATE': str(state),
             'PATH': '%s:%s' % (bin_dir, os.environ['PATH'])})
    assert run.returncode == 0 and 'failed=0' in run.stdout, run.stdout[-8000:] + run.stderr[-2000:]
    unit = 'nestedkvm-kvm-hold.service'
    changes = [call for call in (state / 'calls').read_text().splitlines()
               if call.split()[0] not in ('show', 'is-enabled')]
    # (systemd_service enables before it starts, and disables before it stops)
    assert changes == [
        # installed: the unit is new, so systemd reads it; enabled and started
        'daemon-reload', 'enable %s' % unit, 'start %s' % unit,
        # installed again with a changed unit while it runs: read again, not restarted
        'daemon-reload',
        # removed (l0_host_hold_kvm: never)
        'disable %s' % unit, 'stop %s' % unit,
        # installed and removed once more
        'daemon-reload', 'enable %s' % unit, 'start %s' % unit, 'disable %s' % unit, 'stop %s' % unit,
        # a unit of that name without the role's marker: no call
    ], changes
