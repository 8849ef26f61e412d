"""On every L0 host of the scenario's inventory: a KVM host as the l0_host role leaves it."""

import pytest

testinfra_hosts = ['ansible://l0_hosts']


def test_dev_kvm_is_usable_by_group_kvm(host):
    assert host.check_output('stat -c "%F %G %a" /dev/kvm') == 'character special file kvm 660'


def test_libvirt_answers_and_has_the_pool(host, as_root):
    with as_root():
        assert host.run('virsh -c qemu:///system version').rc == 0
        assert host.check_output('virsh -c qemu:///system pool-info nestedkvm | grep -i "^state:"').split()[-1] == 'running'


def test_nesting_is_on_now_and_after_reboot(host):
    flags = host.file('/proc/cpuinfo').content_string.split()
    if 'vmx' not in flags and 'svm' not in flags:
        pytest.skip('emulated L0: no VT-x/AMD-V, nothing to nest')
    module = 'kvm_amd' if 'svm' in flags else 'kvm_intel'
    assert host.file('/sys/module/%s/parameters/nested' % module).content_string.strip() in ('1', 'Y')
    assert host.file('/etc/modprobe.d/nestedkvm-%s.conf' % module).contains('^options %s nested=1$' % module)
