"""_nested_param's planning, which only reads: which KVM module, what its nested value is, whether it is loaded,
reloaded or left to the next boot, what is warned of and what is refused, on the fake host tree of ../conftest.py
(this machine has no kvm_intel or kvm_amd to read). Applying a plan (modprobe, the modprobe.d file, putting a
module back) is kvm_nested_param's, tested in tests/unit/plugins/modules/test_kvm_nested_param.py."""

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.nestedkvm.stack.plugins.module_utils._cpuinfo import read_cpuinfo
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._nested_param import (
    FILE_HEADER, NestedParam, owned_file, render_file, resolve_vendor)


@pytest.fixture
def nested_param(fake_host):
    with patch_module_args({}):
        module = AnsibleModule(argument_spec={})

    def run_nothing(args, **kwargs):
        raise AssertionError('planning ran %r' % (args,))
    return NestedParam(module, run_command=run_nothing)


def test_the_file_of_its_own_says_who_owns_it_and_the_one_option():
    assert owned_file('kvm_amd') == '/etc/modprobe.d/nestedkvm-kvm_amd.conf'
    assert render_file('kvm_intel', True) == FILE_HEADER + 'options kvm_intel nested=1\n'
    assert render_file('kvm_amd', False).endswith('\noptions kvm_amd nested=0\n')


@pytest.mark.parametrize('kind, asked, vendor', [('intel', 'auto', 'intel'), ('amd', 'auto', 'amd'),
                                                 ('amd', 'amd', 'amd')])
def test_the_vendor_is_the_cpu_s(fake_host, kind, asked, vendor):
    fake_host.cpu(kind)
    assert resolve_vendor(read_cpuinfo(), asked) == vendor


def test_a_vendor_that_is_not_the_cpu_s_is_refused_naming_the_option(fake_host):
    fake_host.cpu('intel')
    with pytest.raises(OptionError, match=r'^vendor: vendor=amd was asked for, but this CPU is intel \(GenuineIntel, '
                                          r'vmx\); use vendor=auto or intel'):
        resolve_vendor(read_cpuinfo(), 'amd')


@pytest.mark.parametrize('hypervisor', [False, True])
def test_a_cpu_without_vmx_or_svm_has_nothing_to_switch_on(fake_host, hypervisor):
    fake_host.cpu('intel-no-vt', hypervisor=hypervisor)
    with pytest.raises(NestedKvmError) as refused:
        resolve_vendor(read_cpuinfo(), 'auto')
    assert refused.value.details == dict(cpu_vendor='intel', hardware_virtualization=False, changed=False)
    assert 'neither vmx (Intel VT-x) nor svm (AMD-V)' in refused.value.msg and 'Nothing was changed' in refused.value.msg
    assert ('This host is itself a virtual machine' in refused.value.msg) is hypervisor


@pytest.mark.parametrize('nested, state, reload, action, reboot', [
    ('N', 'enabled', True, 'reload', False),
    ('Y', 'enabled', True, None, False),
    ('Y', 'disabled', True, 'reload', False),
    ('N', 'enabled', False, None, True),
])
def test_a_loaded_module_is_reloaded_or_left_to_the_next_boot(fake_host, nested_param, nested, state, reload, action,
                                                              reboot):
    fake_host.cpu('intel').module('kvm').module('kvm_intel', nested=nested)
    plan = nested_param.plan(state, 'auto', persistent=True, reload=reload)
    assert (plan['module'], plan['before'], plan['desired'], plan['state']) == (
        'kvm_intel', nested == 'Y', state == 'enabled', 'loaded')
    assert (plan['action'], plan['reboot_required']) == (action, reboot)
    assert plan['file_before'] is None and plan['file_after'] == render_file('kvm_intel', state == 'enabled')
    assert nested_param.warnings == []


def test_a_module_not_loaded_is_loaded_or_else_warned_of(fake_host, nested_param):
    fake_host.cpu('amd').module('kvm')
    assert nested_param.plan('enabled', 'auto', persistent=True, reload=True)['action'] == 'load'
    plan = nested_param.plan('enabled', 'auto', persistent=False, reload=False)
    assert plan['action'] is None and plan['file_after'] is None
    assert nested_param.warnings == ['kvm_amd is not loaded and neither reload nor persistent is set: nothing will '
                                     'set nested=1 when it loads']


def test_a_built_in_module_needs_the_kernel_command_line(fake_host, nested_param):
    fake_host.cpu('intel').module('kvm_intel', nested='N', builtin=True)
    with pytest.raises(NestedKvmError, match='kvm_intel is built into this kernel and cannot be reloaded') as refused:
        nested_param.plan('enabled', 'auto', persistent=True, reload=True)
    assert 'add kvm_intel.nested=1 to the kernel command line' in refused.value.msg
    plan = nested_param.plan('enabled', 'auto', persistent=True, reload=False)
    assert plan['reboot_required'] is True and plan['action'] is None
    assert nested_param.warnings[-1].startswith('kvm_intel is built into this kernel: modprobe.d does not apply')


def test_no_reload_while_a_guest_holds_dev_kvm(fake_host, nested_param):
    fake_host.cpu('intel').module('kvm').module('kvm_intel', nested='N').guest(4242, name='l1')
    with pytest.raises(NestedKvmError, match='Cannot reload kvm_intel to set nested=1: /dev/kvm is in use by') as refused:
        nested_param.plan('enabled', 'auto', persistent=True, reload=True)
    assert [user['pid'] for user in refused.value.details['kvm_users']] == [4242]


def test_settings_that_work_against_the_plan_are_warned_of_and_left_alone(fake_host, nested_param):
    fake_host.cpu('intel').module('kvm').module('kvm_intel', nested='N')
    fake_host.write('/etc/modprobe.d/zz-local.conf', 'options kvm_intel nested=0\n')
    fake_host.write(owned_file('kvm_intel'), render_file('kvm_intel', False))
    fake_host.write('/proc/cmdline', 'root=/dev/vda1 kvm_intel.nested=0\n')
    plan = nested_param.plan('enabled', 'auto', persistent=False, reload=True)
    assert plan['file_after'] == plan['file_before'] == render_file('kvm_intel', False)
    warnings = '\n'.join(nested_param.warnings)
    assert '/etc/modprobe.d/zz-local.conf line 1 sets nested=0 for kvm_intel' in warnings
    assert 'and wins (modprobe reads it later)' in warnings
    assert 'persistent=false leaves it alone' in warnings
    assert 'the kernel command line sets kvm_intel.nested=0' in warnings
    assert fake_host.read('/etc/modprobe.d/zz-local.conf') == 'options kvm_intel nested=0\n'
