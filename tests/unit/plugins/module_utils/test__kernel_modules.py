"""_kernel_modules.py: modules loaded and built in, their parameters, modprobe.d and the kernel command line, on a fake
tree (the fake_host fixture, see ../conftest.py): this machine has neither kvm_intel nor kvm_amd."""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _kernel_modules


@pytest.mark.parametrize('raw, value', [
    ('Y', True), ('N', False), ('1', True), ('0', False), ('Y\n', True), (' n ', False),
    ('', None), ('maybe', None), (None, None),
])
def test_parse_bool_param(raw, value):
    assert _kernel_modules.parse_bool_param(raw) is value


@pytest.mark.parametrize('module, raw, value', [
    ('kvm_intel', 'Y', True), ('kvm_intel', 'N', False), ('kvm_amd', '1', True), ('kvm_amd', '0', False),
])
def test_read_nested(fake_host, module, raw, value):
    fake_host.module(module, nested=raw)
    assert _kernel_modules.read_nested(module) is value
    assert _kernel_modules.read_nested(module.replace('_', '-')) is value


def test_read_nested_module_not_loaded(fake_host):
    assert _kernel_modules.read_nested('kvm_intel') is None


def test_module_state_and_kvm_modules(fake_host):
    fake_host.module('kvm').module('kvm_intel', nested='Y').module('kvm_pvm', builtin=True)
    fake_host.module('nfs')
    assert _kernel_modules.module_state('kvm_intel') == 'loaded'
    assert _kernel_modules.module_state('kvm_pvm') == 'builtin'
    assert _kernel_modules.module_state('kvm_amd') == 'absent'
    assert _kernel_modules.kvm_modules() == [
        dict(name='kvm', builtin=False), dict(name='kvm_intel', builtin=False), dict(name='kvm_pvm', builtin=True)]


def test_module_state_without_proc_modules(fake_host):
    # A kernel without loadable-module support has no /proc/modules (like the machine these tests were written on);
    # the initstate file still tells loadable modules apart.
    fake_host.module('kvm_intel', nested='Y')
    os.unlink(fake_host.path('/proc/modules'))
    assert _kernel_modules.module_state('kvm_intel') == 'loaded'


def test_parse_modprobe_nested():
    text = ('# options kvm_intel nested=0\n'
            'options kvm-intel nested=1 enable_apicv=0\n'
            'options kvm_amd nested=0\n'
            'options kvm_intel ept=1 # nested=0\n'
            'options kvm_intel nested=N\n')
    assert _kernel_modules.parse_modprobe_nested(text, 'kvm_intel') == [(2, '1', True), (5, 'N', False)]
    assert _kernel_modules.parse_modprobe_nested(text, 'kvm_amd') == [(3, '0', False)]


def test_modprobe_nested_settings_skips_excluded_and_non_conf(fake_host):
    fake_host.write('/etc/modprobe.d/ours.conf', 'options kvm_intel nested=1\n')
    fake_host.write('/etc/modprobe.d/kvm.conf', 'options kvm_intel nested=0\n')
    fake_host.write('/etc/modprobe.d/kvm.conf.dpkg-old', 'options kvm_intel nested=0\n')
    fake_host.write('/lib/modprobe.d/50-kvm.conf', 'options kvm_intel nested=Y\n')
    found = _kernel_modules.modprobe_nested_settings('kvm_intel', exclude='/etc/modprobe.d/ours.conf')
    assert found == [
        dict(file='/etc/modprobe.d/kvm.conf', line=1, raw='0', value=False),
        dict(file='/lib/modprobe.d/50-kvm.conf', line=1, raw='Y', value=True),
    ]


@pytest.mark.parametrize('cmdline, value', [
    ('BOOT_IMAGE=/vmlinuz root=/dev/vda1 kvm_intel.nested=1', True),
    ('kvm-intel.nested=0 quiet', False),
    ('kvm_amd.nested=1', None),
    ('', None),
])
def test_kernel_cmdline_nested(fake_host, cmdline, value):
    fake_host.write('/proc/cmdline', cmdline + '\n')
    assert _kernel_modules.kernel_cmdline_nested('kvm_intel') is value


@pytest.mark.parametrize('module, param, raw, value', [
    ('kvm_intel', 'ept', 'Y', True), ('kvm_intel', 'ept', 'N', False), ('kvm_amd', 'npt', '1', True),
    ('kvm_amd', 'npt', '0', False),
])
def test_second_level_paging_is_the_modules_own_parameter(fake_host, module, param, raw, value):
    fake_host.module(module, **{param: raw})
    assert _kernel_modules.read_second_level_paging(module) is value
    assert _kernel_modules.read_second_level_paging('kvm_amd' if module == 'kvm_intel' else 'kvm_intel') is None
