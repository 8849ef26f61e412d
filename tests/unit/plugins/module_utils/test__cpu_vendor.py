"""_cpu_vendor.py: the one table of Intel and AMD, by CPUID vendor string and by virtualization flag."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _cpu_vendor


@pytest.mark.parametrize('vendor_id, vendor', [
    ('GenuineIntel', 'intel'), ('AuthenticAMD', 'amd'), ('HygonGenuine', 'amd'), ('CentaurHauls', None), ('', None),
    (None, None),
])
def test_vendor_of_cpuid(vendor_id, vendor):
    assert _cpu_vendor.vendor_of_cpuid(vendor_id) == vendor


@pytest.mark.parametrize('flags, flag, vendor, module, paging', [
    ({'fpu', 'vmx', 'ept'}, 'vmx', 'intel', 'kvm_intel', 'ept'),
    (['svm', 'npt'], 'svm', 'amd', 'kvm_amd', 'npt'),
    ({'fpu', 'hypervisor'}, None, None, None, None),
])
def test_flag_vendor_module_and_paging_agree(flags, flag, vendor, module, paging):
    assert _cpu_vendor.virtualization_flag(flags) == flag
    assert _cpu_vendor.vendor_of_flag(flag) == vendor
    assert _cpu_vendor.kvm_module(vendor) == module
    if module:
        assert _cpu_vendor.paging_param(module) == paging
        assert _cpu_vendor.paging_param(module.replace('_', '-')) == paging  # modprobe's spelling


def test_an_unknown_vendor_has_no_kvm_module():
    assert _cpu_vendor.kvm_module('unknown') is None and _cpu_vendor.kvm_module(None) is None
