"""_hostfs.py: every path is read below ROOT, which the fake_host fixture (../conftest.py) moves to a tree of its own."""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _hostfs


def test_paths_are_joined_onto_the_root(monkeypatch):
    monkeypatch.setattr(_hostfs, 'ROOT', '/srv/fake')
    assert _hostfs.host_path('/proc/cpuinfo') == '/srv/fake/proc/cpuinfo'
    assert _hostfs.host_path('proc/cpuinfo') == '/srv/fake/proc/cpuinfo'


def test_the_real_root_is_the_default():
    assert _hostfs.ROOT == '/' and _hostfs.host_path('/etc/passwd') == '/etc/passwd'


def test_read_text_reads_below_the_fake_root_only(fake_host):
    fake_host.write('/etc/hostname', 'l0-a\n')
    assert _hostfs.read_text('/etc/hostname') == 'l0-a\n'
    assert _hostfs.read_text('/etc/no-such-file') is None
    assert _hostfs.read_text('/etc/no-such-file', '') == ''
    assert _hostfs.read_text('/proc/self/status') is None  # the real one is not looked at


def test_undecodable_bytes_are_replaced_not_fatal(fake_host):
    with open(fake_host.write('/proc/1/cmdline', ''), 'wb') as handle:
        handle.write(b'qemu\xff\x00')
    assert _hostfs.read_text('/proc/1/cmdline') == 'qemu\ufffd\x00'


def test_first_line_is_stripped_and_empty_is_none(fake_host):
    fake_host.write('/sys/module/kvm_intel/parameters/nested', 'Y\n')
    fake_host.write('/sys/class/dmi/id/sys_vendor', '  \n')
    assert _hostfs.first_line('/sys/module/kvm_intel/parameters/nested') == 'Y'
    assert _hostfs.first_line('/sys/class/dmi/id/sys_vendor') is None
    assert _hostfs.first_line('/sys/class/dmi/id/product_name') is None


def test_a_directory_reads_as_missing(fake_host):
    os.makedirs(fake_host.path('/sys/kernel/debug/kvm'))
    assert _hostfs.read_text('/sys/kernel/debug/kvm') is None


READERS = ['_hostfs', '_cpu_vendor', '_cpuinfo', '_kernel_modules', '_dmi', '_dev_kvm', '_qemu_user', '_procfs',
           '_loopback_ports']


@pytest.mark.parametrize('reader', READERS)
def test_the_readers_of_the_host_bring_nothing_that_opens_libvirt(packed, reader):
    # The readers need no libvirt: nothing they bring along imports its binding (or lxml), or the collection's code
    # that opens it (_connection, _capabilities, _host_info).
    names, others = packed(os.path.join(os.path.dirname(_hostfs.__file__), reader + '.py'))
    assert names <= set(READERS), names
    assert not others & {'libvirt', 'lxml'}, others
