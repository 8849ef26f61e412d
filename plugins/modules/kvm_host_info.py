#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kvm_host_info
short_description: Tell what a host can do for KVM and nested virtualization
version_added: '0.1.0'
description:
  - Reads C(/proc/cpuinfo), C(/proc/modules), C(/sys/module/kvm_*), DMI, C(/dev/kvm) and libvirt's capabilities,
    and returns them under one key, RV(kvm_host), together with a verdict (whether this host can run guests that
    are hypervisors themselves, and which libvirt domain type, C(kvm) or C(qemu), its guests should use).
  - Read-only; never reports a change. The only active probe is opening C(/dev/kvm) and asking it for a VM
    (C(KVM_GET_API_VERSION), C(KVM_CREATE_VM)); the VM is closed at once.
  - The libvirt part is optional. A missing libvirt Python binding or an unreachable daemon is reported in
    RV(kvm_host.libvirt), not a failure; a O(uri) the collection refuses is (see O(uri)).
  - O(uri) is the libvirt to ask for capabilities, versions and the QEMU binary.
  - A O(uri) that names another host (C(qemu+ssh://root@l0.example.com/system)) describes that host, not the one the
    module runs on, so everything then comes from libvirt alone (RV(kvm_host.facts_source) is V(libvirt)) - the CPU
    and its features from the capabilities, nesting from the host-model CPU of the domain capabilities for domain
    type kvm, DMI from the host's SMBIOS (C(getSysinfo)) - and the facts only that host's own files could give
    (C(/dev/kvm), the loaded modules and their parameters, the QEMU user) are null and listed in
    RV(kvm_host.unknown_facts). Nothing of the module's own host is mixed in.
  - libvirt's XML is parsed with lxml; no command output (such as C(virsh)) is parsed.
author:
  - nestedkvm.stack developers (@nestedkvm)
extends_documentation_fragment:
  - nestedkvm.stack.domain.libvirt_uri
options:
  host_facts:
    description:
      - Where the facts about the hypervisor host come from.
      - V(auto) reads this machine's C(/proc), C(/sys), C(/dev/kvm) and C(/etc) together with libvirt when O(uri) is
        local (no host, or C(localhost)/C(127.0.0.1)/C(::1)), and libvirt alone when O(uri) names another host.
      - V(libvirt) reads libvirt alone even for a local O(uri), e.g. for libvirt's C(test:///default), whose host is
        not this machine either.
    type: str
    choices: [auto, libvirt]
    default: auto
attributes:
  check_mode:
    description: Read-only, so check mode runs it fully.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Linux hosts with an x86 CPU.
    support: full
    platforms: posix
notes:
  - Run it as root to see every process that holds C(/dev/kvm) and to probe C(/dev/kvm) as the daemon would.
  - The answer to O(uri) comes from libvirt-python (C(python3-libvirt)) and lxml on the managed host.
  - Whether the QEMU user may open C(/dev/kvm) is judged from the device's owner, group and mode and that user's
    groups (C(/etc/passwd), C(/etc/group), C(user)/C(group) in C(/etc/libvirt/qemu.conf)); ACLs are not read.
seealso:
  - module: nestedkvm.stack.kvm_nested_param
'''

EXAMPLES = r'''
- name: Look at the host
  nestedkvm.stack.kvm_host_info:
  register: host

- name: Stop early where nested guests cannot run
  ansible.builtin.assert:
    that: host.kvm_host.can_run_nested_guests
    fail_msg: "{{ host.kvm_host.reasons | join('; ') }}"

- name: Let the guests' domain type follow the host
  ansible.builtin.set_fact:
    l1_virt_type: "{{ host.kvm_host.recommended_virt_type }}"

- name: Judge an L0 from the controller, over SSH (libvirt's answers only; see kvm_host.unknown_facts)
  nestedkvm.stack.kvm_host_info:
    uri: qemu+ssh://root@l0.example.com/system
  delegate_to: localhost
  register: l0

- name: Make /dev/kvm usable for QEMU where no udev does it
  ansible.builtin.shell: chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  become: true
  when: host.kvm_host.qemu_user_can_open_kvm is false
'''

RETURN = r'''
kvm_host:
  description: Everything found, and the verdict.
  returned: always
  type: dict
  contains:
    cpu_vendor:
      description: V(intel), V(amd) or V(unknown), from the CPU's vendor_id.
      type: str
      sample: intel
    cpu_vendor_id:
      description: The raw vendor_id (C(GenuineIntel), C(AuthenticAMD), ...).
      type: str
    cpu_model:
      description: The CPU's model name.
      type: str
    cpu_emulated:
      description:
        - This host's CPU is one QEMU emulates (model name C(QEMU TCG CPU)), so the host is a VM whose own host has no
          hardware virtualization, such as an L1 on an emulated L0. Guests it runs are slow, and the kernel's live
          code patching can fault there (the l0_host role's C(l0_host_hold_kvm)).
        - Null when judged from libvirt alone (a remote URI). An emulated named model (e.g. C(EPYC)) is not recognised.
      type: bool
      sample: false
    hardware_virtualization:
      description: The CPU offers C(vmx) (Intel VT-x) or C(svm) (AMD-V).
      type: bool
      sample: true
    virtualization_flag:
      description: V(vmx), V(svm) or null.
      type: str
      sample: vmx
    ept:
      description:
        - The CPU offers Intel Extended Page Tables (second-level paging); RV(kvm_host.kvm_second_level_paging)
          says whether KVM uses them.
      type: bool
    npt:
      description:
        - The CPU offers AMD Nested Page Tables (second-level paging); RV(kvm_host.kvm_second_level_paging) says
          whether KVM uses them.
      type: bool
    second_level_paging:
      description: RV(kvm_host.ept) or RV(kvm_host.npt) (what the CPU offers).
      type: bool
    kvm_second_level_paging:
      description:
        - Whether KVM uses it, from the vendor module's C(ept) (C(kvm_intel)) or C(npt) (C(kvm_amd)) parameter;
          null when the module is not loaded.
        - V(false) on a CPU that has it means the module was loaded with C(ept=0)/C(npt=0); every guest, nested
          ones too, then runs on shadow page tables, and RV(kvm_host.reasons) says how to turn it back on.
      type: bool
    hypervisor_flag:
      description: The CPU reports the CPUID hypervisor bit, i.e. this is a virtual machine.
      type: bool
    dmi:
      description: C(sys_vendor) and C(product_name) from C(/sys/class/dmi/id) (null where absent).
      type: dict
      sample: {sys_vendor: QEMU, product_name: 'Standard PC (Q35 + ICH9, 2009)'}
    is_virtual_machine:
      description: The hypervisor flag is set or DMI names a hypervisor.
      type: bool
    probable_level:
      description:
        - Best guess at the nesting level of this host, V(0) for bare metal (L0), V(1) for a virtual machine.
        - A guest sees only its own hypervisor, not how deep it is nested, so an L2 also reports V(1); read it as
          "at least 1".
      type: int
      sample: 0
    kvm_modules:
      description: The KVM modules in the kernel (C(kvm), C(kvm_intel), C(kvm_amd), C(kvm_pvm), ...).
      type: list
      elements: dict
      sample: [{name: kvm, builtin: false}, {name: kvm_intel, builtin: false}]
    kvm_module:
      description: The vendor module that fits the CPU (C(kvm_intel), C(kvm_amd)), null without vmx/svm.
      type: str
    nested:
      description:
        - Runtime value of that module's C(nested) parameter; null when it is not loaded or absent.
        - With RV(kvm_host.facts_source=libvirt), whether the host-model CPU of libvirt's domain capabilities carries
          vmx/svm (KVM there hands it to guests only with nesting on); null when libvirt cannot tell.
      type: bool
    dev_kvm:
      description:
        - C(path), C(present), C(char_device), C(usable) (C(KVM_CREATE_VM) succeeded), C(api_version) and
          C(error) (why it is not usable).
      type: dict
      sample: {path: /dev/kvm, present: true, char_device: true, usable: true, api_version: 12, error: null}
    dev_kvm_owner:
      description: Owner of C(/dev/kvm).
      type: str
    dev_kvm_group:
      description: Group of C(/dev/kvm) (C(kvm) on a host with udev).
      type: str
    dev_kvm_mode:
      description: Permission bits of C(/dev/kvm), e.g. C(0660).
      type: str
    kvm_users:
      description: Processes holding C(/dev/kvm) open, with the guest name for QEMU processes.
      type: list
      elements: dict
      sample: [{pid: 4242, comm: qemu-system-x86, guest: l1-hypervisor}]
    qemu_user:
      description: The user QEMU runs as (C(user) in qemu.conf, else C(libvirt-qemu) or C(qemu)).
      type: str
      sample: libvirt-qemu
    qemu_user_can_open_kvm:
      description:
        - That user may open C(/dev/kvm) read-write; null when it cannot be judged.
        - Without udev, C(/dev/kvm) comes up C(root:root 0600) and libvirtd then re-probes QEMU on every define,
          over a minute each.
      type: bool
    qemu_user_hint:
      description: What to run when RV(kvm_host.qemu_user_can_open_kvm) is not true.
      type: str
      sample: chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
    libvirt:
      description:
        - C(uri), C(python_binding) (libvirt-python importable), C(reachable), C(error), C(version) (libvirt's),
          C(driver) (C(QEMU), C(TEST), ...), C(hypervisor_version), C(host_arch), C(domain_types) (offered for
          x86_64 hvm guests, the only kind the collection defines; sorted), C(kvm_offered), C(emulator) and
          C(machine) (from domain capabilities).
        - C(user_network_backends), the backends libvirt offers for user-mode interfaces (V(default) is QEMU's
          SLIRP, V(passt)); libvirt lists them from 10.6 on, so the list is empty before. C(passt_usable) is true
          where libvirt offers V(passt), the C(passt) binary is installed on a local host and the host has an IPv4
          default route (passt gives its guests no address without one); the domain modules
          then give user-mode networks libvirt's passt interface instead of QEMU arguments
          (RV(nestedkvm.stack.l1_domain#module:user_network_backend)).
      type: dict
    qemu:
      description: C(path) of the QEMU binary and its C(version) (null when libvirt did not tell).
      type: dict
      sample: {path: /usr/bin/qemu-system-x86_64, version: 7.2.0}
    can_run_nested_guests:
      description: Hardware virtualization, a usable C(/dev/kvm) and nesting on in the vendor module (and libvirt
        offers domain type kvm when it is reachable).
      type: bool
    recommended_virt_type:
      description:
        - V(kvm) where hardware-assisted KVM works, or where libvirt offers no other domain type (a QEMU built without
          TCG), else V(qemu) (TCG emulation).
        - The same decision as O(nestedkvm.stack.l1_domain#module:virt_type=auto) and
          O(nestedkvm.stack.l2_domain#module:virt_type=auto) make on this host; with RV(kvm_host.facts_source=local) a
          C(/dev/kvm) of this machine that makes no VM also means V(qemu).
      type: str
      sample: kvm
    facts_source:
      description: V(local) (this machine's files and libvirt) or V(libvirt) (libvirt alone; see O(host_facts)).
      type: str
      sample: local
    unknown_facts:
      description: Facts that are null because libvirt alone cannot tell them (empty for V(local)).
      type: list
      elements: str
      sample: [dev_kvm, kvm_modules, qemu_user_can_open_kvm]
    nesting_detail:
      description: Why RV(kvm_host.nested) is unknown, with RV(kvm_host.facts_source=libvirt).
      type: str
      returned: when RV(kvm_host.facts_source) is V(libvirt)
    reasons:
      description: Human-readable sentences that explain the verdict.
      type: list
      elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to
from ansible_collections.nestedkvm.stack.plugins.module_utils._host_info import gather_host_facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uri=dict(type='str', default='qemu:///system'),
            host_facts=dict(type='str', choices=['auto', 'libvirt'], default='auto'),
        ),
        supports_check_mode=True,
    )
    with reported_to(module):
        module.exit_json(changed=False, kvm_host=gather_host_facts(module.params['uri'], module.params['host_facts']))


if __name__ == '__main__':
    main()
