#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kvm_exit_stats
short_description: Read KVM's VM-exit counters for one guest, or for all guests of a host
version_added: '0.1.0'
description:
  - Reads the exit counters KVM keeps in debugfs (C(exits), C(io_exits), C(halt_exits), C(mmio_exits), ... as the
    kernel offers them) on a KVM host. For the libvirt guest O(domain) it reads C(<debugfs>/kvm/<pid>-<fd>/), the
    directory of its QEMU process's VM; without O(domain), or where the kernel keeps no per-VM directory, the sums
    over all guests in C(<debugfs>/kvm/), and the result says so.
  - Two readings around a guest's workload give the exits it caused; M(nestedkvm.stack.overhead_report) subtracts
    them.
  - A guest whose QEMU process holds no KVM VM runs under TCG emulation and has no exits to count; the result says
    so (RV(kvm_exits.domain_on_kvm) is false).
  - Where nothing can be read (no debugfs, KVM not loaded, kernel lockdown) the result says why instead of failing.
  - Mounts debugfs first when it is not mounted and O(mount_debugfs) allows it (reported as a change); the mount is
    left in place, as most distributions have it anyway.
author:
  - nestedkvm.stack developers (@nestedkvm)
options:
  domain:
    description:
      - libvirt domain name of the guest whose exits to read. Its QEMU process is found from libvirt's pid file
        (C(/run/libvirt/qemu/<domain>.pid)) or the C(guest=) name on its command line.
      - Omit it for the counters of all guests of the host.
    type: str
  debugfs:
    description: Where debugfs is, or is to be, mounted.
    type: path
    default: /sys/kernel/debug
  mount_debugfs:
    description:
      - Mount debugfs at O(debugfs) when it is not mounted.
      - Only at its standard place C(/sys/kernel/debug); with any other O(debugfs) the module fails before mounting
        anything (a debugfs mounted elsewhere by the administrator is read without this option).
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads in check mode as well; an unmounted debugfs is reported as a change and not mounted.
    support: full
  diff_mode:
    description: Nothing to compare.
    support: none
  platform:
    description: Linux hosts with KVM.
    support: full
    platforms: posix
notes:
  - Needs root (C(become)) to read debugfs and the descriptors of QEMU processes.
seealso:
  - module: nestedkvm.stack.overhead_workload
  - module: nestedkvm.stack.overhead_report
'''

EXAMPLES = r'''
- name: Exits of guest lab-l2 so far, on its L1
  nestedkvm.stack.kvm_exit_stats:
    domain: lab-l2
    mount_debugfs: true
  delegate_to: lab-l1
  become: true
  register: before

- name: All guests of this host
  nestedkvm.stack.kvm_exit_stats:
  become: true
  register: everything

- name: Say where the figure comes from
  ansible.builtin.debug:
    msg: "{{ before.kvm_exits.source | default('nothing', true) }}: {{ before.kvm_exits.counters.exits | default('n/a') }}
      {{ before.kvm_exits.reason | default('', true) }}"
'''

RETURN = r'''
kvm_exits:
  description: The counters and where they come from.
  returned: always
  type: dict
  contains:
    source:
      description: V(vm) (this guest's VM), V(global) (all guests of the host), or null when nothing could be read.
      type: str
      sample: vm
    path:
      description: The debugfs directory read.
      type: str
      sample: /sys/kernel/debug/kvm/4242-17
    counters:
      description: Each exit counter of that directory (C(exits) and the C(*_exits)), cumulative since the VM started.
      type: dict
      sample: {exits: 1890231, halt_exits: 52311, io_exits: 20412, mmio_exits: 1033}
    reason:
      description: Why the per-VM counters were not used, or why there is nothing; null when all went as asked.
      type: str
    domain:
      description: O(domain) as given.
      type: str
    pid:
      description: The guest's QEMU process, null when not found.
      type: int
    domain_on_kvm:
      description: The QEMU process holds a KVM VM (true) or runs the guest under TCG (false); null when unknown.
      type: bool
    debugfs_mounted_now:
      description: This run mounted debugfs.
      type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to
from ansible_collections.nestedkvm.stack.plugins.module_utils._kvm_exits import DEBUGFS, read_exit_counters


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type='str'),
            debugfs=dict(type='path', default=DEBUGFS),
            mount_debugfs=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    with reported_to(module):
        changed, counters = read_exit_counters(module.params['domain'], module.params['debugfs'],
                                               module.params['mount_debugfs'], module.check_mode, module.run_command)
    module.exit_json(changed=changed, kvm_exits=counters)


if __name__ == '__main__':
    main()
