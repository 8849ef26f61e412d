"""_virt_type.py: the one decision of the domain type, as a table (every consumer calling it is tested on the same
hosts in ../modules/test_one_host_verdict.py)."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._virt_type import (
    HARDWARE, NO_DEVICE, NO_FLAG, NOT_OFFERED, ONLY_KVM, choose_virt_type, recommendation)

BOTH = {'kvm', 'qemu'}


@pytest.mark.parametrize('domain_types, flag, device, virt_type, why', [
    # What libvirt offers decides, with the CPU flag (the domain modules and kvm_host_info for a remote host).
    (BOTH, 'vmx', None, 'kvm', HARDWARE),
    (BOTH, 'svm', None, 'kvm', HARDWARE),
    (BOTH, None, None, 'qemu', NO_FLAG),          # PVM: /dev/kvm without vmx/svm
    ({'qemu'}, 'vmx', None, 'qemu', NOT_OFFERED),  # no /dev/kvm QEMU can use
    ({'kvm'}, None, None, 'kvm', ONLY_KVM),        # a QEMU without TCG runs nothing else
    ({'kvm'}, 'svm', None, 'kvm', HARDWARE),
    (set(), 'vmx', None, 'qemu', NOT_OFFERED),     # no x86_64 guests at all (libvirt's test driver)
    ({'test'}, 'vmx', True, 'qemu', NOT_OFFERED),
    # This machine's /dev/kvm, where kvm_host_info reads it, can only take KVM away.
    (BOTH, 'vmx', True, 'kvm', HARDWARE),
    (BOTH, 'vmx', False, 'qemu', NO_DEVICE),
    ({'kvm'}, 'vmx', False, 'kvm', ONLY_KVM),
    # libvirt not reachable: kvm_host_info judges from this machine alone.
    (None, 'vmx', True, 'kvm', HARDWARE),
    (None, 'vmx', False, 'qemu', NO_DEVICE),
    (None, 'vmx', None, 'qemu', NO_DEVICE),
    (None, None, True, 'qemu', NO_FLAG),
])
def test_choose_virt_type(domain_types, flag, device, virt_type, why):
    assert choose_virt_type(domain_types, flag, device) == (virt_type, why)


def test_the_recommendation_says_why():
    assert recommendation(choose_virt_type(BOTH, 'vmx')) == 'recommended virt_type kvm (hardware-assisted KVM)'
    assert 'no TCG emulation' in recommendation(choose_virt_type({'kvm'}, None))
    assert recommendation(choose_virt_type({'qemu'}, None)).startswith('recommended virt_type qemu (TCG emulation')
