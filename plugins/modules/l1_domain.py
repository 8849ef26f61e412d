#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: l1_domain
short_description: A libvirt domain that is a hypervisor itself (an L1 of a nested KVM stack)
version_added: 0.1.0
description:
  - Defines, starts, stops and removes a libvirt domain meant to run its own KVM guests, idempotently.
  - Its CPU exposes hardware virtualization to the guest. With O(cpu_mode=host-passthrough) (the default
    with KVM) the guest sees the L0 CPU including VT-x/AMD-V, provided nesting is enabled on L0 (see
    M(nestedkvm.stack.kvm_nested_param)). With a named model the module adds
    C(<feature policy='require' name='vmx'/>) or C(svm), matching the L0 CPU vendor.
  - Where L0 has no hardware virtualization at all (CI machines, many cloud VMs), V(virt_type=auto) builds an
    emulated L1 (domain type C(qemu), CPU mode C(maximum)) with an emulated AMD-V CPU, so the L1 kernel then
    loads kvm_amd with nesting and runs its own guests on KVM. Slow, but the whole stack works.
  - Defaults for an L1 are 2 vCPUs and 2 GiB of memory.
author: nestedkvm.stack developers (@nestedkvm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - nestedkvm.stack.domain
  - nestedkvm.stack.domain.libvirt_uri
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
options:
  nested:
    description:
      - Give the guest hardware virtualization (vmx on Intel, svm on AMD or under emulation).
      - With O(virt_type=kvm) (any O(cpu_mode)), fails before anything is changed when the L0 cannot offer it, that is when
        its CPU has no VT-x/AMD-V, and when KVM there does not hand it to guests (C(kvm_intel)/C(kvm_amd) with
        C(nested=0)). The latter is read from libvirt's domain capabilities (the host-model CPU carries vmx/svm only
        when KVM can nest), so it works over remote URIs too; where libvirt cannot tell (no host-model CPU), a
        warning says so.
      - Under emulation (O(virt_type=qemu)) the AMD-V is QEMU's own (TCG), whatever KVM on the L0 offers.
    type: bool
    default: true
seealso:
  - module: nestedkvm.stack.l2_domain
  - module: nestedkvm.stack.kvm_nested_param
  - module: nestedkvm.stack.kvm_host_info
'''

EXAMPLES = r'''
- name: An L1 hypervisor from a cloud image, reachable by SSH on 127.0.0.1:2222
  nestedkvm.stack.l1_domain:
    name: l1-a
    vcpus: 4
    memory: 8GiB
    disks:
      - name: root
        backing_image: /var/lib/libvirt/images/debian-12-genericcloud-amd64.qcow2
        size: 40GiB
    cloud_init:
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    networks:
      - type: user
        forwards:
          - host_port: 2222
            guest_port: 22

- name: Same, with a named CPU model (svm/vmx required to match the L0 vendor) on a bridge
  nestedkvm.stack.l1_domain:
    name: l1-b
    cpu_mode: custom
    cpu_model: EPYC
    disks:
      - name: root
        size: 40GiB
    networks:
      - type: bridge
        source: br0

- name: Power it off for maintenance, waiting up to 5 minutes
  nestedkvm.stack.l1_domain:
    name: l1-a
    state: shutdown
    timeout: 300

- name: Remove it and the volumes this collection created for it
  nestedkvm.stack.l1_domain:
    name: l1-a
    state: absent
    remove_storage: true
'''

RETURN = r'''
name:
  description: Domain name.
  returned: always
  type: str
  sample: l1-a
uuid:
  description: Domain UUID (stable across runs).
  returned: when the domain exists (not in check mode before it was created)
  type: str
  sample: 7d3e6a2e-3c55-4c4f-9a55-2f0e0c3a1b7e
state:
  description: Power state after the run (C(running), C(shutoff), C(paused), ... or C(absent)).
  returned: always
  type: str
  sample: running
virt_type:
  description: Domain type used, C(kvm) or C(qemu) (emulation).
  returned: unless O(state=absent)
  type: str
  sample: kvm
user_network_backend:
  description:
    - How the domain's user-mode networks (O(networks[].type=user)) are made. C(passt) - libvirt's own interface
      with the passt backend and a C(portForward) bound to 127.0.0.1 per forward, where libvirt lists passt in its
      domain capabilities (libvirt 10.6 and later), passt is installed, the host has an IPv4 default route (passt
      gives its guests no address without one) and no user network asks for O(networks[].restrict).
      C(qemu-commandline) - a QEMU C(-netdev user) with C(hostfwd) on 127.0.0.1 in the domain's C(<qemu:commandline>),
      which libvirt marks as tainted (C(custom-argv)). Null without user-mode networks.
    - A host that gains passt support moves its domains to it on the next run (a change of the definition, taken at
      the next boot).
  returned: unless O(state=absent)
  type: str
  sample: passt
reboot_required:
  description: The definition of a running domain changed; it takes effect on the next boot.
  returned: unless O(state=absent)
  type: bool
  sample: false
changed_facts:
  description: Managed facts of the definition that differ (empty when it is up to date).
  returned: unless O(state=absent)
  type: list
  elements: str
  sample: [memory_kib, current_memory_kib]
actions:
  description: What the run did, or in check mode would do, in order.
  returned: always
  type: list
  elements: str
  sample: [define, start]
created_volumes:
  description: Volumes created (C(pool/volume)), the cloud-init seed included when it is made or made anew; in check mode,
    those that would be.
  returned: unless O(state=absent)
  type: list
  elements: str
  sample: [default/l1-a@root.qcow2, default/l1-a-cidata.iso]
removed_volumes:
  description: Volumes deleted by O(state=absent) with O(remove_storage=true).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [default/l1-a@root.qcow2]
kept_volumes:
  description:
    - Volumes the domain's record names that O(state=absent) with O(remove_storage=true) kept, each with the reason
      (not a disk of the domain, or still used by another domain).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: ["default/base.qcow2: still used by domain 'l1-b'"]
console_log:
  description: Host file with the guest's serial console output of its current boot (null with O(console_log=false)).
  returned: unless O(state=absent)
  type: str
  sample: /var/log/libvirt/qemu/l1-a-serial.log
definition:
  description: The managed facts of the resulting definition (memory in KiB, CPU, disks, interfaces, ...); secrets hidden.
  returned: unless O(state=absent)
  type: dict
  contains:
    virt_type:
      description: libvirt domain type, V(kvm) or V(qemu) (TCG emulation).
      type: str
    memory_kib:
      description: Maximum memory, KiB.
      type: int
    current_memory_kib:
      description: Memory at boot, KiB.
      type: int
    vcpus:
      description: Number of virtual CPUs.
      type: int
    os:
      description: C(machine) (such as V(q35)), C(firmware) (V(bios) or V(efi)), C(secure_boot), C(kernel), C(initrd),
        C(cmdline) (direct kernel boot, else null) and C(boot) (the boot device order).
      type: dict
    features:
      description: C(acpi), C(apic), C(smm), C(kvm_hidden) (V(on) where set) and C(hyperv) (the Hyper-V enlightenments
        turned on).
      type: dict
    cpu:
      description: C(mode) (V(host-passthrough), V(host-model), V(maximum) or V(custom)), C(model) and C(features), a
        list of [policy, name] pairs such as [V(require), V(svm)].
      type: dict
    clock:
      description: C(offset) and the C(timers) present.
      type: dict
    disks:
      description: Each disk's C(device) (V(disk) or V(cdrom)), C(target), C(bus), C(source) (file, block device or
        volume) and C(format), by target.
      type: list
      elements: dict
    interfaces:
      description: Each libvirt network interface's C(type), C(source) (network or bridge), C(model) and C(mac).
      type: list
      elements: dict
    user_networks:
      description: The QEMU command-line arguments of user-mode networks (with their loopback port forwards).
      type: list
      elements: str
    kernel_irqchip:
      description: Whether KVM emulates the guest's interrupt controllers (V(false) for an L2 made with
        C(kernel_irqchip=false), see M(nestedkvm.stack.l2_domain)).
      type: bool
    graphics:
      description: Each console's C(type), C(listen) address and C(password) (always hidden).
      type: list
      elements: dict
    console_log:
      description: File the serial console is logged to, or null.
      type: str
    video:
      description: The model of each video device, such as V(vga) (only with a graphical console).
      type: list
      elements: str
    tpm:
      description: Each TPM as [model, backend type, version], such as [V(tpm-crb), V(emulator), V(2.0)].
      type: list
      elements: list
    owned_volumes:
      description: The [pool, volume] pairs this module created for the domain (what O(remove_storage=true) deletes).
      type: list
      elements: list
    seed_sha256:
      description: SHA-256 of the cloud-init seed's content, or null without O(cloud_init).
      type: str
    access:
      description: The O(access) record (C(user), C(host_key_alias), C(address), C(port)), or null without one.
      type: dict
    ownership:
      description: Whose the domain is, by the record in its metadata; V(collection) (made by this collection, the
        record names its UUID), V(legacy) (a record from before UUIDs were recorded), V(copied) (a copy of one of ours)
        or null (not the collection's, see O(adopt)).
      type: str
'''

from ansible_collections.nestedkvm.stack.plugins.module_utils._module import run_domain_module


def main():
    run_domain_module(level=1)


if __name__ == '__main__':
    main()
