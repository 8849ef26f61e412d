#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: l2_domain
short_description: A guest inside an L1 hypervisor (an L2 of a nested KVM stack), with guest profiles
version_added: 0.1.0
description:
  - Defines, starts, stops and removes a libvirt guest domain, idempotently, usually on an L1 built with
    M(nestedkvm.stack.l1_domain). Same engine and options as M(nestedkvm.stack.l1_domain), plus guest profiles.
  - With V(virt_type=auto) the guest runs on KVM when the L1 offers a usable /dev/kvm, otherwise emulated with
    a warning (check nesting on L0 and L1 with M(nestedkvm.stack.kvm_host_info)).
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
  profile:
    description:
      - V(linux) - 1 vCPU, 1 GiB, virtio disk and NIC.
      - V(ubuntu22.04) - 2 vCPUs, 2 GiB, virtio; meant for the Ubuntu 22.04 cloud image with O(cloud_init).
      - V(windows11) - q35, UEFI with Secure Boot and Microsoft keys enrolled (OVMF, SMM), an emulated TPM 2.0
        (swtpm, CRB), Hyper-V enlightenments and a Hyper-V clock (with KVM only, emulation refuses them),
        local-time clock, SATA disk and e1000e NIC unless set otherwise, a VNC console on 127.0.0.1 (needs
        O(graphics_password); O(graphics=none) for none) with a VGA video device and a USB tablet, and vmx/svm hidden
        (see O(nested)). Refuses less than Windows 11 needs,
        2 vCPUs, 4 GiB memory, a 64 GiB system disk (the first of O(disks)).
    type: str
    choices: [linux, ubuntu22.04, windows11]
    default: linux
  install_iso:
    description:
      - Absolute path of an installation ISO on the host, attached as a CD-ROM.
      - It boots first while the system disk (the first of O(disks)) is empty - new, or with less than 1 MiB
        allocated and no backing image - so the installer starts on the first boot; Windows Setup's own "Press any
        key to boot from CD or DVD" prompt then times out on its reboots and the disk boots. Once something is
        installed on the disk, the next run puts the disk first (a change of the definition, which a running guest
        takes at its next boot, see RV(reboot_required)). The ISO stays attached until you drop the option.
    type: str
  virtio_iso:
    description: Absolute path of a driver ISO (e.g. virtio-win) on the host, attached as a second CD-ROM.
    type: str
  nested:
    description:
      - Give the guest VT-x/AMD-V, as M(nestedkvm.stack.l1_domain) does (checked the same way against what KVM in the
        L1 offers).
      - For V(windows11) the default V(false) hides vmx/svm from the guest (C(<feature policy="disable">)). Windows 11
        turns on virtualization-based security (VBS) wherever it sees them, which makes the guest a hypervisor one
        level further down (an L3 inside the L2), a depth that QEMU/KVM and Hyper-V's Enlightened VMCS are not built
        for; Windows then runs without VBS and HVCI.
      - V(true) on V(windows11) with KVM keeps vmx/svm and adds what QEMU's Hyper-V documentation says nested Hyper-V
        needs - synthetic timers in direct mode (C(hv-stimer-direct)), and on Intel only Enlightened VMCS
        (C(hv-evmcs), which disables posted interrupts).
      - For the other profiles V(false) leaves the CPU as O(cpu_mode) gives it.
    type: bool
    default: false
  kernel_irqchip:
    description:
      - V(false) has QEMU emulate the guest's interrupt controllers (local APIC, I/O APIC, PIC) in user space instead of
        KVM in the kernel. Only for KVM guests.
      - For a UEFI (OVMF) guest in an L1 that is itself emulated by QEMU TCG, such as the lab's L1 on a host without
        VT-x/AMD-V. With KVM's in-kernel local APIC, the guest's firmware writes CR8 while KVM in the L1 waits for an
        interrupt window, and the TCG QEMU that runs the L1 aborts (C(tcg_handle_interrupt) assertion) and takes the
        L1 with it. With V(false) a guest with one vCPU boots; with two its firmware stalls (docs/known-issues.md has
        the details and a reproducer).
      - The cost - slower interrupts; KVM's paravirtual features are hidden from the guest (C(<kvm><hidden>)); the
        Hyper-V C(synic) and C(stimer) enlightenments are left out, so it cannot be combined with O(nested) on
        V(windows11); libvirt has no element for it, so it is a QEMU argument (C(-machine kernel-irqchip=off)) and
        libvirt marks the domain tainted (C(custom-argv)).
    type: bool
    default: true
seealso:
  - module: nestedkvm.stack.l1_domain
  - module: nestedkvm.stack.kvm_host_info
'''

EXAMPLES = r'''
- name: Ubuntu 22.04 guest from the cloud image, seeded by cloud-init
  nestedkvm.stack.l2_domain:
    name: ubuntu-a
    profile: ubuntu22.04
    disks:
      - name: root
        backing_image: /var/lib/libvirt/images/jammy-server-cloudimg-amd64.img
        size: 20GiB
    cloud_init:
      hostname: ubuntu-a
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    networks:
      - type: network
        source: default

- name: Windows 11 guest with Secure Boot, TPM 2.0 and the virtio drivers at hand
  nestedkvm.stack.l2_domain:
    name: win11
    profile: windows11
    vcpus: 4
    memory: 8GiB
    disks:
      - name: system
        size: 80GiB
    install_iso: /var/lib/libvirt/images/Win11_English_x64.iso
    virtio_iso: /var/lib/libvirt/images/virtio-win.iso
    graphics: vnc
    graphics_password: "{{ vault_vnc_password }}"
    state: running
'''

RETURN = r'''
name:
  description: Domain name.
  returned: always
  type: str
  sample: ubuntu-a
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
  sample: [vcpus]
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
  sample: [default/win11@system.qcow2]
removed_volumes:
  description: Volumes deleted by O(state=absent) with O(remove_storage=true).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [default/win11@system.qcow2]
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
    run_domain_module(level=2)


if __name__ == '__main__':
    main()
