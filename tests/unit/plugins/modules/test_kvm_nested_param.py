"""kvm_nested_param in-process, on the fake host tree of ../conftest.py, and once on this machine for real."""

import glob
import os
import shutil

import pytest

from ansible.module_utils import basic

from ansible_collections.nestedkvm.stack.plugins.module_utils import _hostfs
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpuinfo import read_cpuinfo
from ansible_collections.nestedkvm.stack.plugins.module_utils._nested_param import FILE_HEADER
from ansible_collections.nestedkvm.stack.plugins.modules import kvm_nested_param

INTEL_FILE = '/etc/modprobe.d/nestedkvm-kvm_intel.conf'
AMD_FILE = '/etc/modprobe.d/nestedkvm-kvm_amd.conf'


class FakeModprobe(object):
    """Stands in for AnsibleModule.run_command, and for modprobe only.

    This machine has no kvm_intel/kvm_amd (and tests must never reload a real KVM module), so the only thing
    mocked in these tests is the command: ``modprobe -r M`` removes the fake /sys/module/M, ``modprobe M nested=V``
    creates it with the parameter as the kernel shows it (Y/N for kvm_intel, 1/0 for kvm_amd).
    """

    def __init__(self, host):
        self.host = host
        self.calls = []
        self.fail = None  # (rc, stderr) to make the next call fail
        self.refuse = {}  # option -> (rc, stderr): loading with that option fails, as a kernel that rejects it would

    def __call__(self, args, **kwargs):
        assert isinstance(args, list), 'commands are run as argument lists'
        self.calls.append(args[1:])
        if self.fail:
            return self.fail[0], '', self.fail[1]
        if args[1] != '-r' and args[2] in self.refuse:
            return self.refuse[args[2]][0], '', self.refuse[args[2]][1]
        if args[1] == '-r':
            shutil.rmtree(self.host.path('/sys/module/%s' % args[2]))
            return 0, '', ''
        name = args[1]
        value = args[2].split('=')[1]
        shown = {'kvm_intel': {'1': 'Y', '0': 'N'}, 'kvm_amd': {'1': '1', '0': '0'}}[name][value]
        self.host.module(name, nested=shown)
        return 0, '', ''


@pytest.fixture
def modprobe(fake_host, monkeypatch):
    fake = FakeModprobe(fake_host)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kwargs: fake(args, **kwargs))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: '/sbin/%s' % name)
    return fake


@pytest.fixture
def intel(fake_host):
    """An Intel host with kvm_intel loaded, nested off, no modprobe.d file."""
    fake_host.cpu('intel').module('kvm').module('kvm_intel', nested='N')
    return fake_host


@pytest.fixture
def amd(fake_host):
    fake_host.cpu('amd').module('kvm').module('kvm_amd', nested='0')
    return fake_host


def run(run_module, check=False, diff=False, **args):
    return run_module(kvm_nested_param, args, check=check, diff=diff)


def test_enable_intel_reloads_and_writes_file(run_module, intel, modprobe):
    result = run(run_module)
    assert result['changed'] is True, result
    assert (result['vendor'], result['module']) == ('intel', 'kvm_intel')
    assert (result['before'], result['after']) == (False, True)
    assert result['file'] == INTEL_FILE and result['reboot_required'] is False
    assert result['action'] == 'reload'
    assert modprobe.calls == [['-r', 'kvm_intel'], ['kvm_intel', 'nested=1']]
    assert intel.read(INTEL_FILE) == FILE_HEADER + 'options kvm_intel nested=1\n'
    assert intel.read(INTEL_FILE).startswith('# This file is owned by the Ansible module nestedkvm.stack.kvm_nested')
    assert os.stat(intel.path(INTEL_FILE)).st_mode & 0o777 == 0o644
    assert intel.read('/sys/module/kvm_intel/parameters/nested') == 'Y\n'
    # no temporary files left behind
    assert os.listdir(intel.path('/etc/modprobe.d')) == ['nestedkvm-kvm_intel.conf']


def test_second_run_is_idempotent(run_module, intel, modprobe):
    assert run(run_module)['changed'] is True
    calls = len(modprobe.calls)
    result = run(run_module)
    assert result['changed'] is False, result
    assert (result['before'], result['after']) == (True, True)
    assert result['action'] is None
    assert len(modprobe.calls) == calls
    # and check mode agrees
    assert run(run_module, check=True)['changed'] is False


def test_enable_amd(run_module, amd, modprobe):
    result = run(run_module, vendor='amd')
    assert result['changed'] is True and (result['vendor'], result['module']) == ('amd', 'kvm_amd')
    assert (result['before'], result['after']) == (False, True)
    assert modprobe.calls == [['-r', 'kvm_amd'], ['kvm_amd', 'nested=1']]
    assert amd.read(AMD_FILE).endswith('options kvm_amd nested=1\n')
    assert amd.read('/sys/module/kvm_amd/parameters/nested') == '1\n'
    assert run(run_module)['changed'] is False


@pytest.mark.parametrize('kind, module, raw', [('intel', 'kvm_intel', 'Y'), ('amd', 'kvm_amd', '1')])
def test_disable(run_module, fake_host, modprobe, kind, module, raw):
    fake_host.cpu(kind).module(module, nested=raw)
    result = run(run_module, state='disabled')
    assert result['changed'] is True and (result['before'], result['after']) == (True, False)
    assert modprobe.calls == [['-r', module], [module, 'nested=0']]
    assert fake_host.read('/etc/modprobe.d/nestedkvm-%s.conf' % module).endswith('options %s nested=0\n' % module)
    assert run(run_module, state='disabled')['changed'] is False


def test_runtime_already_on_only_writes_file(run_module, fake_host, modprobe):
    fake_host.cpu('intel').module('kvm_intel', nested='Y')
    result = run(run_module)
    assert result['changed'] is True and result['action'] is None
    assert modprobe.calls == []
    assert fake_host.exists(INTEL_FILE)


def test_check_mode_touches_nothing(run_module, intel, modprobe):
    result = run(run_module, check=True)
    assert result['changed'] is True
    assert (result['before'], result['after']) == (False, True)
    assert result['action'] == 'reload'
    assert modprobe.calls == []
    assert not intel.exists(INTEL_FILE)
    assert intel.read('/sys/module/kvm_intel/parameters/nested') == 'N\n'


def test_diff(run_module, intel, modprobe):
    result = run(run_module, check=True, diff=True)
    runtime, owned = result['diff']
    assert runtime['before_header'] == '/sys/module/kvm_intel/parameters/nested'
    assert (runtime['before'], runtime['after']) == ('N\n', 'Y\n')
    assert owned['before_header'] == INTEL_FILE
    assert owned['before'] == '' and owned['after'].endswith('options kvm_intel nested=1\n')
    assert not intel.exists(INTEL_FILE)
    # a real run, then the diff is empty
    run(run_module)
    runtime, owned = run(run_module, diff=True)['diff']
    assert runtime['before'] == runtime['after'] and owned['before'] == owned['after']


def test_no_diff_without_diff_mode(run_module, intel, modprobe):
    assert 'diff' not in run(run_module, check=True)


def test_reload_refused_while_a_guest_holds_dev_kvm(run_module, intel, modprobe):
    intel.write('/dev/kvm', '')
    intel.guest(4242, name='l1-hypervisor')
    result = run(run_module)
    assert result['failed'] is True
    assert 'pid 4242 (qemu-system-x86, guest l1-hypervisor)' in result['msg']
    assert 'reload=false' in result['msg']
    assert result['kvm_users'] == [dict(pid=4242, comm='qemu-system-x86', guest='l1-hypervisor')]
    assert modprobe.calls == []
    assert not intel.exists(INTEL_FILE)  # refused before anything is written


def test_reload_false_reports_reboot_required(run_module, intel, modprobe):
    intel.write('/dev/kvm', '')
    intel.guest(4242, name='l1-hypervisor')  # running guests do not matter without a reload
    result = run(run_module, reload=False)
    assert result['changed'] is True
    assert result['reboot_required'] is True
    assert (result['before'], result['after']) == (False, False)
    assert modprobe.calls == []
    assert intel.exists(INTEL_FILE)
    again = run(run_module, reload=False)
    assert again['changed'] is False and again['reboot_required'] is True


def test_persistent_false_leaves_files_alone(run_module, intel, modprobe, module_warnings):
    result = run(run_module, persistent=False)
    assert result['changed'] is True and result['file'] is None
    assert not intel.exists(INTEL_FILE)
    # an existing owned file with the opposite value is left as it is, with a warning
    intel.write(INTEL_FILE, 'options kvm_intel nested=0\n')
    result = run(run_module, persistent=False)
    assert result['changed'] is False
    assert intel.read(INTEL_FILE) == 'options kvm_intel nested=0\n'
    assert any('persistent=false leaves it alone' in w for w in module_warnings)


def test_owned_file_with_other_content_is_rewritten(run_module, fake_host, modprobe):
    fake_host.cpu('intel').module('kvm_intel', nested='Y')
    fake_host.write(INTEL_FILE, 'options kvm_intel nested=0\n', mode=0o600)
    result = run(run_module, diff=True)
    assert result['changed'] is True
    assert result['diff'][1]['before'] == 'options kvm_intel nested=0\n'
    assert fake_host.read(INTEL_FILE).endswith('options kvm_intel nested=1\n')
    assert os.stat(fake_host.path(INTEL_FILE)).st_mode & 0o777 == 0o644


def test_conflicting_files_warned_and_untouched(run_module, intel, modprobe, module_warnings):
    other = 'options kvm_intel nested=0\n'
    intel.write('/etc/modprobe.d/zz-local.conf', other)
    intel.write('/etc/modprobe.d/kvm.conf', 'options kvm-intel nested=N\n')
    intel.write('/etc/modprobe.d/agree.conf', 'options kvm_intel nested=Y\n')
    intel.write('/proc/cmdline', 'root=/dev/vda kvm_intel.nested=0\n')
    result = run(run_module)
    assert result['changed'] is True
    assert intel.read('/etc/modprobe.d/zz-local.conf') == other
    assert intel.read('/etc/modprobe.d/kvm.conf') == 'options kvm-intel nested=N\n'
    text = '\n'.join(module_warnings)
    assert '/etc/modprobe.d/zz-local.conf line 1 sets nested=0' in text and 'wins' in text
    assert '/etc/modprobe.d/kvm.conf line 1 sets nested=N' in text
    assert 'agree.conf' not in text
    assert 'kernel command line' in text
    assert sorted(os.listdir(intel.path('/etc/modprobe.d'))) == [
        'agree.conf', 'kvm.conf', 'nestedkvm-kvm_intel.conf', 'zz-local.conf']


def test_module_not_loaded_is_loaded_with_value(run_module, fake_host, modprobe):
    fake_host.cpu('intel')
    result = run(run_module)
    assert result['changed'] is True and result['action'] == 'load'
    assert (result['before'], result['after']) == (None, True)
    assert modprobe.calls == [['kvm_intel', 'nested=1']]


def test_module_not_loaded_without_reload(run_module, fake_host, modprobe):
    fake_host.cpu('amd')
    result = run(run_module, reload=False)
    assert result['changed'] is True and result['reboot_required'] is False
    assert modprobe.calls == []
    assert fake_host.exists(AMD_FILE)


def test_builtin_module_cannot_be_reloaded(run_module, fake_host, modprobe):
    fake_host.cpu('intel').module('kvm_intel', nested='N', builtin=True)
    result = run(run_module)
    assert result['failed'] is True
    assert 'built into this kernel' in result['msg'] and 'kvm_intel.nested=1' in result['msg']
    assert modprobe.calls == [] and not fake_host.exists(INTEL_FILE)


def test_builtin_module_without_reload(run_module, fake_host, modprobe, module_warnings):
    fake_host.cpu('intel').module('kvm_intel', nested='N', builtin=True)
    result = run(run_module, reload=False)
    assert result['reboot_required'] is True
    assert any('kernel command line' in w for w in module_warnings)


def test_modprobe_failure_is_reported(run_module, intel, modprobe):
    modprobe.fail = (1, 'modprobe: FATAL: Module kvm_intel is in use.')
    result = run(run_module)
    assert result['failed'] is True
    assert 'Module kvm_intel is in use' in result['msg'] and result['rc'] == 1


def _snapshot(host):
    """Everything the module may touch: the modprobe.d files and the module's runtime state."""
    files = {}
    for directory in ('/etc/modprobe.d', '/sys/module'):
        for dirpath, _dirs, names in os.walk(host.path(directory)):
            for name in names:
                path = os.path.join(dirpath, name)
                with open(path) as handle:
                    files[os.path.relpath(path, host.root)] = (handle.read(), os.stat(path).st_mode)
    return files


@pytest.mark.parametrize('kind, module, old, shown', [('intel', 'kvm_intel', 'nested=0', 'N'),
                                                      ('amd', 'kvm_amd', 'nested=0', '0')])
def test_failed_load_with_the_new_option_puts_the_module_back(run_module, fake_host, modprobe, kind, module, old,
                                                              shown):
    # Only the kernel is mocked (FakeModprobe): it unloads the module, then refuses to load it with nested=1.
    fake_host.cpu(kind).module('kvm').module(module, nested=shown)
    fake_host.write('/etc/modprobe.d/nestedkvm-%s.conf' % module, 'options %s nested=0\n' % module)
    modprobe.refuse['nested=1'] = (1, 'modprobe: ERROR: could not insert \'%s\': Invalid argument' % module)
    before = _snapshot(fake_host)
    result = run(run_module)
    assert result['failed'] is True
    assert modprobe.calls == [['-r', module], [module, 'nested=1'], [module, old]]
    assert 'Invalid argument' in result['msg']
    assert 'loaded again as it was (%s)' % old in result['msg'] and 'nothing was changed' in result['msg']
    assert _snapshot(fake_host) == before  # the module is back with its old value, the file untouched


def test_failed_load_and_failed_restore_says_the_module_is_gone(run_module, intel, modprobe):
    modprobe.refuse['nested=1'] = (1, 'could not insert: Invalid argument')
    modprobe.refuse['nested=0'] = (1, 'could not insert: Device or resource busy')
    result = run(run_module)
    assert result['failed'] is True
    assert modprobe.calls == [['-r', 'kvm_intel'], ['kvm_intel', 'nested=1'], ['kvm_intel', 'nested=0']]
    assert 'Device or resource busy' in result['msg'] and 'kvm_intel is not loaded now' in result['msg']
    assert not intel.exists('/sys/module/kvm_intel')
    assert not intel.exists(INTEL_FILE)


def test_no_hardware_virtualization_fails_and_writes_nothing(run_module, fake_host, modprobe):
    fake_host.cpu('none', hypervisor=True).module('kvm').module('kvm_pvm', builtin=True)
    result = run(run_module)
    assert result['failed'] is True
    msg = result['msg']
    assert 'neither vmx (Intel VT-x) nor svm (AMD-V)' in msg
    assert 'firmware' in msg and 'nested virtualization on its host' in msg and 'virt_type qemu' in msg
    assert modprobe.calls == []
    assert not os.path.exists(fake_host.path('/etc/modprobe.d'))


@pytest.mark.parametrize('kind, asked', [('amd', 'intel'), ('intel', 'amd')])
def test_vendor_mismatch(run_module, fake_host, modprobe, kind, asked):
    fake_host.cpu(kind).module('kvm_%s' % kind, nested='N')
    result = run(run_module, vendor=asked)
    assert result['failed'] is True and result['option'] == 'vendor'
    assert 'vendor=%s was asked for, but this CPU is %s' % (asked, kind) in result['msg']
    assert modprobe.calls == [] and not os.path.exists(fake_host.path('/etc/modprobe.d'))


def test_bad_choice(run_module, intel, modprobe):
    result = run(run_module, state='on')
    assert result['failed'] is True and 'state' in result['msg']


# ---------------------------------------------------------------------------------------------------------------
# This machine, for real: no fake tree, no fake modprobe.


def _tripwire(self, *args, **kwargs):
    raise AssertionError('kvm_nested_param ran a command on a CPU without vmx/svm: %r' % (args,))


@pytest.mark.skipif(read_cpuinfo().hardware_virtualization,
                    reason='this CPU has vmx/svm; the real-machine test is for hosts without them')
def test_this_machine_without_vmx_svm(run_module, monkeypatch):
    assert _hostfs.ROOT == '/'
    # Not a fake: it only makes the test fail loudly if the module ever tried to run a command here.
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', _tripwire)
    before = sorted(glob.glob('/etc/modprobe.d/*'))
    result = run(run_module)
    assert result['failed'] is True
    assert 'neither vmx (Intel VT-x) nor svm (AMD-V)' in result['msg']
    assert sorted(glob.glob('/etc/modprobe.d/*')) == before
    assert not glob.glob('/etc/modprobe.d/nestedkvm-*')
