"""KVM's exit counters (_kvm_exits.py) on a fake host tree (the fake_host fixture of ../conftest.py).

What the tree adds for these tests: debugfs as plain files under /sys/kernel/debug/kvm (a global counter per stat and
a <pid>-<fd> directory per VM, like the kernel's), QEMU processes with their command line, and their descriptor
links, whose target for a KVM VM is the string 'anon_inode:kvm-vm', as the kernel shows it. libvirt's pid files are
files under /run/libvirt/qemu."""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _kvm_exits

KVM = '/sys/kernel/debug/kvm'


def qemu(fake_host, pid, name, kvm_fd=None, pid_file=True):
    """A QEMU process of guest ``name``; with ``kvm_fd`` it holds a KVM VM there (else it runs under TCG)."""
    fd_dir = fake_host.path('/proc/%d/fd' % pid)
    os.makedirs(fd_dir)
    os.symlink('/dev/null', os.path.join(fd_dir, '0'))
    if kvm_fd is not None:
        os.symlink('/dev/kvm', os.path.join(fd_dir, str(kvm_fd - 1)))
        os.symlink(_kvm_exits.KVM_VM_FD_TARGET, os.path.join(fd_dir, str(kvm_fd)))
    fake_host.write('/proc/%d/cmdline' % pid, '\0'.join(
        ['/usr/bin/qemu-system-x86_64', '-name', 'guest=%s,debug-threads=on' % name, '-S']) + '\0')
    if pid_file:
        fake_host.write('/run/libvirt/qemu/%s.pid' % name, '%d' % pid)


def counters(fake_host, directory, **values):
    for name, value in values.items():
        fake_host.write('%s/%s' % (directory, name), '%d\n' % value)


@pytest.fixture
def kvm_host(fake_host):
    """Two guests on KVM (lab-l2 and other), global counters, and stats that are not exit counters."""
    qemu(fake_host, 4242, 'lab-l2', kvm_fd=17)
    qemu(fake_host, 5151, 'other', kvm_fd=12)
    counters(fake_host, KVM + '/4242-17', exits=1000, io_exits=20, halt_exits=300, pf_taken=999)
    counters(fake_host, KVM + '/5151-12', exits=5)
    counters(fake_host, KVM, exits=1005, io_exits=20, halt_exits=300, pf_taken=999)
    return fake_host


def test_one_guest_per_vm(kvm_host):
    found = _kvm_exits.exit_counters('lab-l2')
    assert found == dict(source='vm', path=KVM + '/4242-17', counters=dict(exits=1000, halt_exits=300, io_exits=20),
                         reason=None, domain='lab-l2', pid=4242, domain_on_kvm=True)


def test_all_guests_without_a_domain(kvm_host):
    found = _kvm_exits.exit_counters(None)
    assert (found['source'], found['path'], found['counters']['exits']) == ('global', KVM, 1005)
    assert found['reason'] == 'no guest named; counted all KVM guests of this host instead'


def test_a_stale_pid_file_is_not_believed(kvm_host):
    kvm_host.write('/run/libvirt/qemu/lab-l2.pid', '5151')  # now the pid of another guest
    assert _kvm_exits.domain_pid('lab-l2') == 4242  # found by its command line


def test_a_guest_without_a_pid_file_is_found_by_its_command_line(fake_host):
    qemu(fake_host, 77, 'lab-l2', kvm_fd=9, pid_file=False)
    counters(fake_host, KVM + '/77-9', exits=3)
    assert _kvm_exits.exit_counters('lab-l2')['counters'] == dict(exits=3)


def test_a_guest_under_tcg_has_no_exits(fake_host):
    qemu(fake_host, 300, 'lab-l1')
    counters(fake_host, KVM, exits=50)
    found = _kvm_exits.exit_counters('lab-l1')
    assert found['source'] is None and found['domain_on_kvm'] is False and found['counters'] == {}
    assert 'runs under TCG emulation' in found['reason']


def test_a_guest_that_does_not_run_here_falls_back_to_all_guests(kvm_host):
    found = _kvm_exits.exit_counters('absent')
    assert found['source'] == 'global' and found['pid'] is None and found['domain_on_kvm'] is None
    assert found['reason'] == 'no QEMU process of guest absent runs here; counted all KVM guests of this host instead'


def test_a_kernel_without_per_vm_counters_falls_back_to_all_guests(fake_host):
    qemu(fake_host, 4242, 'lab-l2', kvm_fd=17)
    counters(fake_host, KVM, exits=10)
    found = _kvm_exits.exit_counters('lab-l2')
    assert found['source'] == 'global' and found['domain_on_kvm'] is True
    assert 'no per-VM counters' in found['reason']


def test_counters_that_cannot_be_read_are_said_so(fake_host):
    qemu(fake_host, 4242, 'lab-l2', kvm_fd=17)
    # A directory where a counter should be: reading it fails even as root (like a locked-down debugfs does).
    os.makedirs(fake_host.path(KVM + '/4242-17/exits'))
    os.makedirs(fake_host.path(KVM + '/exits'))
    found = _kvm_exits.exit_counters('lab-l2')
    assert found['source'] is None
    assert found['reason'] == ('%s/4242-17/exits: Is a directory, and the global counters cannot be read '
                               '(%s/exits: Is a directory)' % (KVM, KVM))


def test_no_kvm_in_debugfs_names_the_lockdown(fake_host):
    os.makedirs(fake_host.path('/sys/kernel/debug'))
    fake_host.write('/sys/kernel/security/lockdown', 'none integrity [confidentiality]\n')
    found = _kvm_exits.exit_counters('lab-l2')
    assert found['source'] is None
    assert found['reason'] == ('%s does not exist: KVM is not loaded, or the kernel hides its statistics '
                               '(lockdown: confidentiality)' % KVM)


def test_descriptors_we_may_not_read(kvm_host, monkeypatch):
    monkeypatch.setattr(_kvm_exits, 'kvm_vm_fds', lambda pid: None)
    found = _kvm_exits.exit_counters('lab-l2')
    assert found['source'] == 'global' and 'cannot be read (run as root)' in found['reason']


# ---------------------------------------------------------------------------------------------------------------
# Mounting debugfs

class Mount(object):
    """Stands in for module.run_command: 'mounts' debugfs by making KVM's directory in the fake tree."""

    def __init__(self, fake_host, rc=0, err=''):
        self.fake_host, self.rc, self.err = fake_host, rc, err
        self.calls = []

    def __call__(self, args):
        self.calls.append(args)
        if self.rc == 0:
            counters(self.fake_host, KVM, exits=7)
        return self.rc, '', self.err


def test_mounted_debugfs_is_read_and_left_alone(kvm_host):
    kvm_host.write('/proc/mounts', 'debugfs /sys/kernel/debug debugfs rw,relatime 0 0\n')
    mount = Mount(kvm_host)
    changed, found = _kvm_exits.read_exit_counters('lab-l2', '/sys/kernel/debug', True, False, mount)
    assert not changed and found['source'] == 'vm' and found['debugfs_mounted_now'] is False
    assert mount.calls == []


def test_unmounted_debugfs_is_mounted_when_allowed(fake_host):
    fake_host.write('/proc/mounts', 'sysfs /sys sysfs rw 0 0\n')
    mount = Mount(fake_host)
    changed, found = _kvm_exits.read_exit_counters(None, '/sys/kernel/debug', True, False, mount)
    assert changed and found['debugfs_mounted_now'] is True and found['counters'] == dict(exits=7)
    assert mount.calls == [['mount', '-t', 'debugfs', 'debugfs', '/sys/kernel/debug']]


def test_check_mode_only_says_it_would_mount(fake_host):
    mount = Mount(fake_host)
    changed, found = _kvm_exits.read_exit_counters('lab-l2', '/sys/kernel/debug', True, True, mount)
    assert changed and mount.calls == [] and found['source'] is None
    assert found['reason'] == 'debugfs is not mounted at /sys/kernel/debug: it would be mounted first'


def test_not_allowed_to_mount(fake_host):
    mount = Mount(fake_host)
    changed, found = _kvm_exits.read_exit_counters('lab-l2', '/sys/kernel/debug', False, False, mount)
    assert not changed and mount.calls == [] and 'allow mounting it' in found['reason']


def test_a_failed_mount_is_reported(fake_host):
    mount = Mount(fake_host, rc=32, err='mount: permission denied\n')
    changed, found = _kvm_exits.read_exit_counters('lab-l2', '/sys/kernel/debug', True, False, mount)
    assert not changed and found['source'] is None
    assert found['reason'].endswith('mounting it failed: mount: permission denied')


def test_without_debugfs_a_tcg_guest_is_still_seen(fake_host):
    qemu(fake_host, 300, 'lab-l1')
    changed, found = _kvm_exits.read_exit_counters('lab-l1', '/sys/kernel/debug', False, False, Mount(fake_host))
    assert not changed and found['domain_on_kvm'] is False and found['pid'] == 300
    assert 'runs under TCG emulation' in found['reason']


def test_without_debugfs_a_kvm_guest_is_still_seen(fake_host):
    qemu(fake_host, 4242, 'lab-l2', kvm_fd=17)
    _changed, found = _kvm_exits.read_exit_counters('lab-l2', '/sys/kernel/debug', False, False, Mount(fake_host))
    assert found['domain_on_kvm'] is True and found['source'] is None
    assert found['reason'] == 'debugfs is not mounted at /sys/kernel/debug (allow mounting it, or mount it yourself)'


def test_debugfs_is_not_mounted_for_a_guest_under_tcg(fake_host):
    qemu(fake_host, 300, 'lab-l1')
    mount = Mount(fake_host)
    changed, found = _kvm_exits.read_exit_counters('lab-l1', '/sys/kernel/debug', True, False, mount)
    assert not changed and mount.calls == [] and found['domain_on_kvm'] is False
