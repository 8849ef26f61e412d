"""kvm_exit_stats in-process on the fake host tree of ../conftest.py (debugfs and /proc as plain files), with the
mount command replaced: a test must never mount anything on this machine."""

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.nestedkvm.stack.plugins.modules import kvm_exit_stats

KVM = '/sys/kernel/debug/kvm'


@pytest.fixture
def mounts(monkeypatch, fake_host):
    """Commands the module runs; `mount` makes KVM's debugfs directory in the fake tree."""
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(args)
        fake_host.write(KVM + '/exits', '12\n')
        return 0, '', ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    return calls


def test_per_vm_counters(run_module, fake_host, mounts):
    fake_host.guest(4242, name='lab-l2', fd=16)  # holds /dev/kvm; add its VM descriptor
    fake_host.write('/run/libvirt/qemu/lab-l2.pid', '4242\n')
    os.symlink('anon_inode:kvm-vm', fake_host.path('/proc/4242/fd/17'))
    fake_host.write(KVM + '/4242-17/exits', '99\n')
    fake_host.write(KVM + '/4242-17/halt_exits', '9\n')
    result = run_module(kvm_exit_stats, dict(domain='lab-l2', mount_debugfs=True))
    assert result['changed'] is False and mounts == []
    assert result['kvm_exits']['source'] == 'vm' and result['kvm_exits']['counters'] == dict(exits=99, halt_exits=9)
    assert result['kvm_exits']['pid'] == 4242 and result['kvm_exits']['domain_on_kvm'] is True


def test_mounts_debugfs_when_allowed_and_not_in_check_mode(run_module, fake_host, mounts):
    result = run_module(kvm_exit_stats, dict(mount_debugfs=True), check=True)
    assert result['changed'] is True and mounts == [] and 'would be mounted' in result['kvm_exits']['reason']
    result = run_module(kvm_exit_stats, dict(mount_debugfs=True))
    assert result['changed'] is True and mounts == [['mount', '-t', 'debugfs', 'debugfs', '/sys/kernel/debug']]
    assert result['kvm_exits']['source'] == 'global' and result['kvm_exits']['debugfs_mounted_now'] is True


def test_not_mounted_and_not_allowed(run_module, fake_host, mounts):
    result = run_module(kvm_exit_stats, dict(domain='lab-l2'))
    assert result['changed'] is False and mounts == [] and result['kvm_exits']['source'] is None
    assert result['kvm_exits']['reason'].startswith('debugfs is not mounted at /sys/kernel/debug')


@pytest.mark.parametrize('check', [False, True])
@pytest.mark.parametrize('place', ['/etc', '/tmp/debug', '/sys/kernel/debug/../../../etc'])
def test_debugfs_is_mounted_only_at_its_standard_place(run_module, fake_host, mounts, place, check):
    result = run_module(kvm_exit_stats, dict(debugfs=place, mount_debugfs=True), check=check)
    assert result.get('failed') and result['option'] == 'mount_debugfs' and '/sys/kernel/debug' in result['msg'], result
    assert mounts == []


def test_debugfs_mounted_elsewhere_by_the_admin_can_still_be_read(run_module, fake_host, mounts):
    fake_host.write('/mnt/dbg/kvm/exits', '5\n')
    result = run_module(kvm_exit_stats, dict(debugfs='/mnt/dbg'))
    assert not result.get('failed') and result['kvm_exits']['counters'] == dict(exits=5) and mounts == []
