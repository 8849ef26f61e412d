"""_cpuinfo.py: /proc/cpuinfo of an Intel, an AMD and a CPU without vmx/svm, on a fake tree (the fake_host fixture,
see ../conftest.py: no such CPUs exist here), and its parser on texts of other CPUs."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _cpuinfo
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpu_vendor import kvm_module


@pytest.mark.parametrize('kind, vendor, virt_flag, ept, npt, module', [
    ('intel', 'intel', 'vmx', True, False, 'kvm_intel'),
    ('amd', 'amd', 'svm', False, True, 'kvm_amd'),
    ('none', 'amd', None, False, False, None),
])
def test_read_cpuinfo(fake_host, kind, vendor, virt_flag, ept, npt, module):
    fake_host.cpu(kind)
    cpu = _cpuinfo.read_cpuinfo()
    assert cpu.vendor == vendor
    assert cpu.virt_flag == virt_flag
    assert cpu.hardware_virtualization is (virt_flag is not None)
    assert (cpu.ept, cpu.npt) == (ept, npt)
    assert cpu.hypervisor is False
    assert kvm_module(cpu.virt_vendor) == module


def test_cpuinfo_hypervisor_flag_and_model(fake_host):
    fake_host.cpu('intel', hypervisor=True)
    cpu = _cpuinfo.read_cpuinfo()
    assert cpu.hypervisor is True
    assert cpu.model_name.startswith('Intel(R) Xeon(R) Gold')
    assert cpu.vendor_id == 'GenuineIntel'


@pytest.mark.parametrize('text, vendor', [
    ('vendor_id : GenuineIntel\nflags : vmx ept\n', 'intel'),
    ('vendor_id : AuthenticAMD\nflags : svm npt\n', 'amd'),
    ('vendor_id : HygonGenuine\nflags : svm\n', 'amd'),
    ('vendor_id : CentaurHauls\nflags : vmx\n', 'unknown'),
    ('', 'unknown'),
])
def test_parse_cpuinfo_vendor(text, vendor):
    assert _cpuinfo.parse_cpuinfo(text).vendor == vendor


def test_ept_from_flags_line_of_older_kernels():
    # Before Linux 5.9 there is no "vmx flags" line; ept sits among the flags.
    assert _cpuinfo.parse_cpuinfo('vendor_id : GenuineIntel\nflags : vmx ept\n').ept is True
    assert _cpuinfo.parse_cpuinfo('vendor_id : GenuineIntel\nflags : vmx\n').ept is False
    # ept without vmx (a guest without nested VMX) does not count.
    assert _cpuinfo.parse_cpuinfo('vendor_id : GenuineIntel\nflags : ept\n').ept is False


def test_missing_cpuinfo_is_unknown(fake_host):
    cpu = _cpuinfo.read_cpuinfo()
    assert cpu.vendor == 'unknown' and cpu.virt_flag is None


def test_a_guest_without_nested_vmx_shows_no_virtualization():
    # What an L1 sees whose L0 hides vmx: the hypervisor bit and no vmx/svm, so no vendor module fits.
    cpu = _cpuinfo.parse_cpuinfo('vendor_id : GenuineIntel\nflags : fpu hypervisor lm\n')
    assert cpu.vendor == 'intel' and cpu.hypervisor is True
    assert cpu.virt_flag is None and cpu.virt_vendor is None and cpu.hardware_virtualization is False
