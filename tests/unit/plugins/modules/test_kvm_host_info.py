"""kvm_host_info in-process: on the fake host tree of ../conftest.py, and on this machine for real.

libvirt is asked through its test driver (test:///default, in-process, no daemon) or an unreachable URI;
the local libvirtd at qemu:///system is never used, so the tests do not depend on it running.
"""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _host_info, _hostfs
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpuinfo import read_cpuinfo
from ansible_collections.nestedkvm.stack.plugins.modules import kvm_host_info

UNREACHABLE_URI = 'qemu+tls://127.0.0.1:1/system'  # a URI the collection opens, where nothing listens


def facts(run_module, check=False, **args):
    result = run_module(kvm_host_info, args, check=check)
    assert 'failed' not in result, result
    assert result['changed'] is False
    return result['kvm_host']


def _kvm_libvirt(uri):
    """What libvirt on a KVM host answers (the test driver never offers domain type kvm)."""
    return dict(uri=uri, python_binding=True, reachable=True, error=None, version='9.0.0', driver='QEMU',
                hypervisor_version='7.2.0', host_arch='x86_64', domain_types=['qemu', 'kvm'], kvm_offered=True,
                emulator='/usr/bin/qemu-system-x86_64', machine='pc-q35-7.2')


def test_intel_bare_metal_with_nesting(run_module, fake_host, monkeypatch):
    monkeypatch.setattr(_host_info, 'read_libvirt', _kvm_libvirt)
    fake_host.cpu('intel').users().dev_kvm().module('kvm').module('kvm_intel', nested='Y')
    fake_host.write('/sys/class/dmi/id/sys_vendor', 'Dell Inc.\n')
    fake_host.write('/sys/class/dmi/id/product_name', 'PowerEdge R740\n')
    fake_host.guest(4242, name='l1-hypervisor')
    host = facts(run_module)
    assert host['cpu_vendor'] == 'intel' and host['cpu_emulated'] is False
    assert host['hardware_virtualization'] is True and host['virtualization_flag'] == 'vmx'
    assert host['ept'] is True and host['npt'] is False
    assert host['kvm_module'] == 'kvm_intel' and host['nested'] is True
    assert [m['name'] for m in host['kvm_modules']] == ['kvm', 'kvm_intel']
    assert host['dev_kvm']['present'] is True and host['dev_kvm']['usable'] is True
    assert host['qemu_user_can_open_kvm'] is True and host['qemu_user_hint'] is None
    assert host['is_virtual_machine'] is False and host['probable_level'] == 0
    assert host['kvm_users'] == [dict(pid=4242, comm='qemu-system-x86', guest='l1-hypervisor')]
    assert host['qemu'] == dict(path='/usr/bin/qemu-system-x86_64', version='7.2.0')
    assert host['can_run_nested_guests'] is True
    assert host['recommended_virt_type'] == 'kvm'
    assert any('nested virtualization is enabled in kvm_intel' in r for r in host['reasons'])


def test_amd_vm_with_nesting_off_and_root_only_dev_kvm(run_module, fake_host, monkeypatch):
    monkeypatch.setattr(_host_info, 'read_libvirt', _kvm_libvirt)
    fake_host.cpu('amd', hypervisor=True).users().dev_kvm(mode=0o600, gid=0).module('kvm_amd', nested='0')
    fake_host.write('/sys/class/dmi/id/sys_vendor', 'QEMU\n')
    host = facts(run_module, check=True)
    assert host['cpu_vendor'] == 'amd' and host['npt'] is True
    assert host['nested'] is False
    assert host['is_virtual_machine'] is True and host['probable_level'] == 1
    assert host['qemu_user_can_open_kvm'] is False
    assert 'chgrp kvm /dev/kvm && chmod 0660 /dev/kvm' in host['qemu_user_hint']
    assert host['dev_kvm_mode'] == '0600'
    assert host['can_run_nested_guests'] is False
    assert host['recommended_virt_type'] == 'kvm'
    assert any('kvm_nested_param' in r for r in host['reasons'])


def test_an_l1_on_an_emulated_l0_says_its_cpu_is_emulated(run_module, fake_host, monkeypatch):
    """The lab's L1: QEMU TCG's CPU with AMD-V, kvm_amd nesting on."""
    monkeypatch.setattr(_host_info, 'read_libvirt', _kvm_libvirt)
    fake_host.cpu('tcg', hypervisor=True).users().dev_kvm().module('kvm').module('kvm_amd', nested='1')
    host = facts(run_module)
    assert host['cpu_emulated'] is True and host['cpu_vendor'] == 'amd' and host['nested'] is True
    assert host['is_virtual_machine'] is True and host['can_run_nested_guests'] is True


def test_cpu_without_virtualization(run_module, fake_host):
    fake_host.cpu('none', hypervisor=True).users().dev_kvm().module('kvm').module('kvm_pvm', builtin=True)
    host = facts(run_module, uri='test:///default')
    assert host['hardware_virtualization'] is False and host['virtualization_flag'] is None
    assert host['kvm_module'] is None and host['nested'] is None
    assert host['dev_kvm']['usable'] is True  # PVM: /dev/kvm works without vmx/svm
    assert host['can_run_nested_guests'] is False
    assert host['recommended_virt_type'] == 'qemu'
    assert any('neither vmx' in r for r in host['reasons'])
    assert any('kvm_pvm' in r for r in host['reasons'])
    assert host['libvirt']['reachable'] is True and host['libvirt']['driver'] == 'TEST'


def test_no_dev_kvm_and_unreachable_libvirt(run_module, fake_host, tmp_path):
    fake_host.cpu('intel')
    host = facts(run_module, uri=UNREACHABLE_URI)
    assert host['dev_kvm']['present'] is False and host['dev_kvm']['usable'] is False
    assert fake_host.probe_calls == []
    assert host['libvirt']['reachable'] is False and host['libvirt']['error']
    assert host['recommended_virt_type'] == 'qemu'
    assert any('/dev/kvm does not exist' in r for r in host['reasons'])


def test_libvirt_binding_missing_is_reported(run_module, fake_host, monkeypatch):
    monkeypatch.setattr(_host_info, 'libvirt', None)
    fake_host.cpu('intel').users().dev_kvm().module('kvm_intel', nested='Y')
    host = facts(run_module)
    assert host['libvirt']['python_binding'] is False and host['libvirt']['reachable'] is False
    # without libvirt the verdict comes from the host alone
    assert host['recommended_virt_type'] == 'kvm' and host['can_run_nested_guests'] is True


# ---------------------------------------------------------------------------------------------------------------
# This machine, for real (no fake tree, no fake probe).

_REAL_CPU = read_cpuinfo()


@pytest.mark.skipif(_REAL_CPU.hardware_virtualization, reason='this CPU has vmx/svm; the test is for hosts without')
def test_this_machine(run_module):
    assert _hostfs.ROOT == '/'
    host = facts(run_module, uri='test:///default')
    assert host['hardware_virtualization'] is False
    assert host['recommended_virt_type'] == 'qemu'
    assert host['can_run_nested_guests'] is False
    assert host['cpu_vendor'] == _REAL_CPU.vendor
    assert host['dev_kvm']['present'] is os.path.exists('/dev/kvm')
    assert host['libvirt']['reachable'] is True
    assert host['reasons']


def test_this_machine_check_mode_any_cpu(run_module):
    host = facts(run_module, check=True, uri='test:///default')
    assert host['hardware_virtualization'] is _REAL_CPU.hardware_virtualization
    assert host['recommended_virt_type'] in ('kvm', 'qemu')


# ---------------------------------------------------------------------------------------------------------------
# The host behind a remote URI: judged from libvirt alone, never mixed with this machine's files.

REMOTE_URI = 'qemu+ssh://root@l0.example.com/system'


@pytest.fixture
def remote_l0(monkeypatch):
    """No remote host exists here: opening REMOTE_URI opens libvirt's test driver instead, or ``opened.target``
    (only libvirt.open is replaced, and only for that URI)."""
    import libvirt
    real_open = libvirt.open

    class Opened(list):
        target = 'test:///default'
    opened = Opened()

    def open_remote(uri):
        opened.append(uri)
        return real_open(opened.target if uri == REMOTE_URI else uri)
    monkeypatch.setattr(libvirt, 'open', open_remote)
    return opened


@pytest.fixture
def intel_here(fake_host):
    """This machine, as the fake tree shows it: an Intel host with nesting on and a usable /dev/kvm."""
    return fake_host.cpu('intel').users().dev_kvm().module('kvm').module('kvm_intel', nested='Y', ept='Y')


def test_remote_uri_is_judged_from_libvirt_alone(run_module, intel_here, remote_l0, kvm_l0):
    kvm_l0('amd-nested.xml')  # the remote L0: AMD, KVM with nesting
    host = facts(run_module, uri=REMOTE_URI)
    assert remote_l0 == [REMOTE_URI]  # one connection, to the remote host
    assert host['facts_source'] == 'libvirt'
    assert host['cpu_vendor'] == 'amd' and host['virtualization_flag'] == 'svm' and host['npt'] is True
    assert host['kvm_module'] == 'kvm_amd' and host['nested'] is True and host['cpu_emulated'] is None
    assert host['can_run_nested_guests'] is True and host['recommended_virt_type'] == 'kvm'
    # nothing of this (Intel) machine: its /dev/kvm was not even probed
    assert intel_here.probe_calls == []
    assert host['dev_kvm'] is None and host['kvm_modules'] is None and host['qemu_user_can_open_kvm'] is None
    assert {'dev_kvm', 'kvm_modules', 'kvm_second_level_paging', 'qemu_user_can_open_kvm'} <= set(host['unknown_facts'])
    assert 'intel' not in str(host).lower()
    assert host['reasons'][0].startswith('judged from libvirt at %s alone' % REMOTE_URI)


def test_remote_l0_without_kvm_nesting(run_module, intel_here, remote_l0, kvm_l0):
    kvm_l0('intel-not-nested.xml')
    host = facts(run_module, uri=REMOTE_URI)
    assert host['cpu_vendor'] == 'intel' and host['nested'] is False
    assert host['can_run_nested_guests'] is False and host['recommended_virt_type'] == 'kvm'
    assert host['ept'] is None and 'ept' in host['unknown_facts']  # libvirt names no EPT feature
    assert any('nesting is off in kvm_intel' in r for r in host['reasons'])


def test_test_driver_is_remote_like_only_when_asked(run_module, intel_here):
    # test:///default is in-process, so by default this machine's files are read with it...
    local = facts(run_module, uri='test:///default')
    assert local['facts_source'] == 'local' and local['cpu_vendor'] == 'intel' and local['nested'] is True
    # ...and with host_facts=libvirt only what the test driver says counts: an i686 host without vmx/svm.
    alone = facts(run_module, uri='test:///default', host_facts='libvirt')
    assert alone['facts_source'] == 'libvirt'
    assert alone['hardware_virtualization'] is False and alone['nested'] is None
    assert alone['recommended_virt_type'] == 'qemu' and alone['can_run_nested_guests'] is False
    assert alone['dev_kvm'] is None and len(intel_here.probe_calls) == 1  # only the local run probed it


def test_remote_unreachable_is_unknown_not_local(run_module, intel_here, remote_l0):
    remote_l0.target = UNREACHABLE_URI
    host = facts(run_module, uri=REMOTE_URI)
    assert host['facts_source'] == 'libvirt' and host['libvirt']['reachable'] is False
    assert host['cpu_vendor'] == 'unknown' and host['nested'] is None
    assert host['recommended_virt_type'] == 'qemu' and intel_here.probe_calls == []
