"""_procfs.py: processes, their descriptors and command lines, and the mount table, on a fake tree (the fake_host
fixture, see ../conftest.py): no QEMU runs here, and no test may depend on this machine's processes."""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _procfs


@pytest.mark.parametrize('args, name', [
    (['qemu-system-x86_64', '-name', 'guest=l1-a,debug-threads=on'], 'l1-a'),
    (['qemu-system-x86_64', '-name', 'guest=odd,,name,debug-threads=on'], 'odd,name'),
    (['qemu-system-x86_64', '-name', 'plain', '-m', '512'], 'plain'),
    (['qemu-system-x86_64', '-m', '512'], None),
    (['qemu-system-x86_64', '-name'], None),
])
def test_parse_qemu_guest_name(args, name):
    assert _procfs.parse_qemu_guest_name(args) == name


def test_kvm_holders(fake_host):
    fake_host.guest(4242, name='l1-hypervisor')
    fake_host.guest(5000, comm='firecracker', args=['/usr/bin/firecracker', '-name', 'x'])
    os.makedirs(fake_host.path('/proc/6000/fd'))  # a process without /dev/kvm
    os.symlink('/dev/null', fake_host.path('/proc/6000/fd/0'))
    fake_host.write('/proc/6000/comm', 'bash\n')
    os.makedirs(fake_host.path('/proc/self'))  # not a pid
    os.makedirs(fake_host.path('/proc/7000/fd'))  # holds only a VM fd (what the kernel shows for KVM_CREATE_VM's fd)
    os.symlink('anon_inode:kvm-vm', fake_host.path('/proc/7000/fd/9'))
    fake_host.write('/proc/7000/comm', 'kvmtool\n')
    holders = _procfs.kvm_holders()
    assert holders == [dict(pid=4242, comm='qemu-system-x86', guest='l1-hypervisor'),
                       dict(pid=5000, comm='firecracker', guest=None),
                       dict(pid=7000, comm='kvmtool', guest=None)]
    assert _procfs.describe_holders(holders[:2]) == (
        'pid 4242 (qemu-system-x86, guest l1-hypervisor), pid 5000 (firecracker)')


def test_kvm_holders_without_proc(fake_host):
    assert _procfs.kvm_holders() == []


def test_process_args_and_descriptors_of_a_process(fake_host):
    fake_host.guest(4242, name='l1-a', fd=17)
    assert _procfs.process_ids() == [4242]
    assert _procfs.process_args(4242) == ['/usr/bin/qemu-system-x86_64', '-name', 'guest=l1-a,debug-threads=on', '-S']
    assert _procfs.descriptor_targets(4242) == {0: '/dev/null', 17: '/dev/kvm'}
    assert _procfs.qemu_guest_name(4242) == 'l1-a'
    # a process that is gone: nothing, not an error
    assert _procfs.process_args(5000) == [] and _procfs.descriptor_targets(5000) is None


@pytest.mark.parametrize('comm, passt', [('passt', True), ('passt.avx2', True), ('pasta', False), ('qemu-system-x86', False)])
def test_is_passt(fake_host, comm, passt):
    fake_host.write('/proc/77/comm', comm + '\n')
    assert _procfs.is_passt(77) is passt


def test_parse_mounts_keeps_the_order_and_undoes_escaped_spaces():
    text = ('sysfs /sys sysfs rw,nosuid 0 0\n'
            'debugfs /sys/kernel/debug debugfs rw 0 0\n'
            '/dev/vdb /mnt/my\\040disk ext4 rw 0 0\n'
            'broken\n')
    assert _procfs.parse_mounts(text) == [('/sys', 'sysfs'), ('/sys/kernel/debug', 'debugfs'), ('/mnt/my disk', 'ext4')]
