# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which domain type the collection's guests get on a host, decided in one place: virt_type auto of l1_domain and
l2_domain, and kvm_host_info's recommended_virt_type (which the l0_host role records as l0_host_virt_type for
l1_hypervisor) all come from choose_virt_type."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

# Why the choice is what it is.
HARDWARE = 'hardware'        # kvm: libvirt offers it and the host CPU has vmx/svm
ONLY_KVM = 'only-kvm'        # kvm: the one type libvirt offers (a QEMU built without TCG), whatever the CPU shows
NO_FLAG = 'no-flag'          # qemu: the host CPU shows neither vmx nor svm
NOT_OFFERED = 'not-offered'  # qemu: libvirt offers no domain type kvm for x86_64 guests
NO_DEVICE = 'no-device'      # qemu: this host's /dev/kvm makes no VM

VirtTypeChoice = namedtuple('VirtTypeChoice', 'virt_type why')


def choose_virt_type(domain_types, virt_flag, kvm_device=None):
    """The domain type for x86_64 guests on a host, and why.

    ``domain_types``: what libvirt offers for x86_64 hvm guests (_capabilities.HostCapabilities.domain_types); None
    when libvirt could not be asked, and the host alone decides. ``virt_flag``: vmx, svm or None, the host CPU's.
    ``kvm_device``: whether this host's /dev/kvm makes a VM; None where it is not looked at (a remote host, and the
    domain modules, which read only libvirt).
    """
    hardware = bool(virt_flag) and kvm_device is not False
    if domain_types is None:
        if hardware and kvm_device:
            return VirtTypeChoice('kvm', HARDWARE)
        return VirtTypeChoice('qemu', NO_FLAG if not virt_flag else NO_DEVICE)
    offered = set(domain_types) & {'kvm', 'qemu'}
    if 'kvm' in offered and hardware:
        return VirtTypeChoice('kvm', HARDWARE)
    if offered == {'kvm'}:
        # There QEMU cannot run a domain of type qemu at all: KVM is all libvirt can run (docs/stacks.md).
        return VirtTypeChoice('kvm', ONLY_KVM)
    if 'kvm' not in offered:
        return VirtTypeChoice('qemu', NOT_OFFERED)
    return VirtTypeChoice('qemu', NO_FLAG if not virt_flag else NO_DEVICE)


def recommendation(choice):
    """The sentence that ends kvm_host_info's reasons."""
    how = {HARDWARE: 'hardware-assisted KVM',
           ONLY_KVM: 'the only domain type libvirt offers here: its QEMU has no TCG emulation'}
    return 'recommended virt_type %s (%s)' % (choice.virt_type,
                                              how.get(choice.why, 'TCG emulation: correct but much slower'))
