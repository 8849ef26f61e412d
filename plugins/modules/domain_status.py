#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: domain_status
short_description: Tell what a libvirt guest is doing, seen from the host that runs it
version_added: '0.2.0'
description:
  - Reads, for one libvirt domain, its state and the reason for it (as C(virsh domstate --reason) shows them), its
    QEMU process (alive or not, its process state, its CPU use over O(cpu_sample) seconds, its threads) and the last
    O(console_lines) lines of its serial console log.
  - Meant for the moment a guest stops answering. A guest kernel that is wedged spins its vCPUs (a QEMU process near
    100 % CPU per vCPU), a QEMU stopped by a signal uses none, a QEMU that aborted is gone and libvirt says
    it is shut off because it crashed. RV(domain_status.message) puts all of it, and the commands to look further, in one text.
  - The QEMU process and the console log are read only when O(uri) names libvirt on this host (no host part);
    for a remote URI the result has the libvirt state only.
  - Read-only; never reports a change.
author:
  - nestedkvm.stack developers (@nestedkvm)
extends_documentation_fragment:
  - nestedkvm.stack.domain.libvirt_uri
options:
  name:
    description: Name of the libvirt domain.
    type: str
    required: true
  console_lines:
    description: How many of the last lines of the serial console log to return.
    type: int
    default: 20
  cpu_sample:
    description: Seconds over which to measure the QEMU process's CPU use.
    type: float
    default: 1.0
attributes:
  check_mode:
    description: Read-only, so check mode runs it fully.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Linux hosts running libvirt with QEMU.
    support: full
    platforms: posix
notes:
  - Run it as root on the host that runs the guest, to read QEMU's process and the console log (owned by root).
  - The console log is the file the domain modules keep with O(nestedkvm.stack.l1_domain#module:console_log=true);
    libvirt's virtlogd caps its size (C(max_size) and C(max_backups) in C(/etc/libvirt/virtlogd.conf)).
seealso:
  - module: nestedkvm.stack.domain_wait
'''

EXAMPLES = r'''
- name: What is the L1 doing?
  nestedkvm.stack.domain_status:
    name: lab-l1
  become: true
  register: l1

- name: Say it
  ansible.builtin.debug:
    msg: "{{ l1.domain_status.message }}"
'''

RETURN = r'''
domain_status:
  description: What the host knows of the guest.
  returned: always
  type: dict
  contains:
    name:
      description: O(name).
      type: str
    uri:
      description: O(uri).
      type: str
    exists:
      description: libvirt knows a domain of that name.
      type: bool
    state:
      description: libvirt's state of the domain (C(running), C(paused), C(shutoff), C(crashed), ...); null when it
        does not exist.
      type: str
      sample: running
    reason:
      description: Why it is in that state (C(booted), C(crashed), C(destroyed), C(I/O error), ...).
      type: str
      sample: booted
    qemu:
      description: Its QEMU process; null for a remote URI, for a guest that is not running, or when none is found.
      type: dict
      contains:
        pid:
          description: Process id.
          type: int
        alive:
          description: The process exists and is not a zombie.
          type: bool
        state:
          description: Its process state (C(running), C(sleeping), C(stopped by a signal), ...).
          type: str
        cpu_percent:
          description: CPU use over O(cpu_sample) seconds; 100 per busy host CPU.
          type: int
        threads:
          description: Number of threads (QEMU runs one per vCPU and a few more).
          type: int
      sample: {pid: 4242, alive: true, state: running, cpu_percent: 163, threads: 7}
    console_log:
      description: The serial console's log file on this host; null when the domain keeps none.
      type: str
      sample: /var/log/libvirt/qemu/lab-l1-serial.log
    console_tail:
      description: Its last O(console_lines) lines, control characters removed.
      type: list
      elements: str
    message:
      description: All of the above in one text for a person, with the commands to look further.
      type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection, is_local_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_health import describe, domain_status, guest_argument_spec
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to


def main():
    module = AnsibleModule(
        argument_spec=guest_argument_spec(cpu_sample=dict(type='float', default=1.0)),
        supports_check_mode=True,
    )
    params = module.params
    with reported_to(module), Connection(params['uri']) as connection:
        status = domain_status(connection, params['name'], is_local_uri(params['uri']), params['console_lines'],
                               params['cpu_sample'])
    status['message'] = describe(status, 'this host')
    module.exit_json(changed=False, domain_status=status)


if __name__ == '__main__':
    main()
