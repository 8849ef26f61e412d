#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kvm_nested_param
short_description: Turn nested virtualization of the KVM vendor module on or off
version_added: '0.1.0'
description:
  - Sets the C(nested) parameter of C(kvm_intel) or C(kvm_amd), the KVM module that fits the CPU, so that guests
    of this host can be hypervisors themselves (an L1 that runs L2 guests).
  - The runtime value (C(/sys/module/<module>/parameters/nested)) is changed by unloading and reloading the module
    with C(modprobe -r) and C(modprobe <module> nested=<0|1>), but only when no process holds C(/dev/kvm) open; a
    module that is not loaded yet is simply loaded with the value.
  - The value that survives a reboot lives in C(/etc/modprobe.d/nestedkvm-<module>.conf), a file this module owns
    (its comment header says so). No other file is ever edited, but a warning names every other modprobe.d file, and
    the kernel command line, when they set a conflicting C(nested) value for the same module.
  - Fails, and changes nothing, on a CPU that offers neither C(vmx) (Intel VT-x) nor C(svm) (AMD-V) in
    C(/proc/cpuinfo). Guests there can only run under QEMU emulation (C(virt_type=qemu)).
  - All checks (CPU, vendor, guests holding C(/dev/kvm)) happen before anything is written.
author:
  - nestedkvm.stack developers (@nestedkvm)
options:
  state:
    description:
      - V(enabled) sets C(nested=1), V(disabled) sets C(nested=0).
    type: str
    choices: [enabled, disabled]
    default: enabled
  vendor:
    description:
      - Which vendor module to configure. V(auto) picks C(kvm_intel) for a CPU with C(vmx) and C(kvm_amd) for one
        with C(svm).
      - V(intel) or V(amd) is an assertion about this host; it fails when the CPU is of the other vendor.
    type: str
    choices: [auto, intel, amd]
    default: auto
  persistent:
    description:
      - Write C(options <module> nested=<0|1>) to C(/etc/modprobe.d/nestedkvm-<module>.conf) (mode 0644, written
        atomically) so the value holds after a reboot or module reload.
      - With V(false) the file is left as it is, whether it exists or not.
    type: bool
    default: true
  reload:
    description:
      - When the runtime value differs from O(state), unload and reload the module to apply it now.
      - Refused while any process (a running guest) holds C(/dev/kvm) open; the error names those processes and
        their guest names.
      - When the module, once unloaded, will not load with the new value, it is loaded again as it was (its old
        C(nested) value, its other options from modprobe.d), the modprobe.d file is not written, and the error says
        so; if even that fails, the error says the module is not loaded now.
      - With V(false) the runtime value is left alone and RV(reboot_required) says whether a reboot is needed.
      - A module built into the kernel cannot be reloaded and ignores modprobe.d; set C(<module>.nested=1) on the
        kernel command line there.
    type: bool
    default: true
attributes:
  check_mode:
    description: Reports what would change; writes no file and runs no command.
    support: full
  diff_mode:
    description: Shows the runtime value and the owned file's content, before and after.
    support: full
  platform:
    description: Linux hosts with an x86 CPU.
    support: full
    platforms: posix
notes:
  - Run it as root (with C(become) in a play).
  - Reloading the module also drops C(kvm) when nothing else uses it; loading the vendor module brings it back.
seealso:
  - module: nestedkvm.stack.kvm_host_info
  - name: Running nested guests with KVM
    description: The Linux kernel documentation on nested virtualization.
    link: https://docs.kernel.org/virt/kvm/x86/running-nested-guests.html
'''

EXAMPLES = r'''
- name: Enable nested KVM now and after reboots
  nestedkvm.stack.kvm_nested_param:
    state: enabled
  become: true

- name: Enable it for the next boot only, leaving running guests alone
  nestedkvm.stack.kvm_nested_param:
    state: enabled
    reload: false
  become: true
  register: nested

- name: Reboot when the runtime value could not be changed
  ansible.builtin.reboot:
  become: true
  when: nested.reboot_required

- name: Make sure an AMD host has nesting off, without touching modprobe.d
  nestedkvm.stack.kvm_nested_param:
    state: disabled
    vendor: amd
    persistent: false
  become: true
'''

RETURN = r'''
vendor:
  description: The CPU vendor whose module was configured.
  returned: success
  type: str
  sample: intel
module:
  description: The KVM vendor module.
  returned: success
  type: str
  sample: kvm_intel
before:
  description: Runtime value of the module's C(nested) parameter before the run; null when the module was not loaded.
  returned: success
  type: bool
  sample: false
after:
  description:
    - Runtime value after the run (in check mode, the value it would have).
    - Stays equal to RV(before) when the module could not be reloaded (O(reload=false)).
  returned: success
  type: bool
  sample: true
file:
  description: The modprobe.d file this module owns; null with O(persistent=false).
  returned: success
  type: str
  sample: /etc/modprobe.d/nestedkvm-kvm_intel.conf
reboot_required:
  description: The runtime value differs from O(state) and was not changed now; a reboot applies it.
  returned: success
  type: bool
  sample: false
action:
  description: What was (or in check mode would be) done to the loaded module, V(reload), V(load) or null.
  returned: success
  type: str
  sample: reload
diff:
  description: Before and after of the runtime value and, with O(persistent=true), of the owned file's content.
  returned: success and in diff mode
  type: list
  elements: dict
kvm_users:
  description: Processes holding C(/dev/kvm) open, when that prevented a reload (pid, comm, guest).
  returned: failure because guests are running
  type: list
  elements: dict
  sample: [{pid: 4242, comm: qemu-system-x86, guest: l1-hypervisor}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to
from ansible_collections.nestedkvm.stack.plugins.module_utils._nested_param import NestedParam


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='enabled', choices=['enabled', 'disabled']),
            vendor=dict(type='str', default='auto', choices=['auto', 'intel', 'amd']),
            persistent=dict(type='bool', default=True),
            reload=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    manager = NestedParam(module)
    with reported_to(module):
        result = manager.run(**module.params)
        for warning in manager.warnings:
            module.warn(warning)
        module.exit_json(**result)


if __name__ == '__main__':
    main()
