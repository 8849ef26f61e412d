"""_dev_kvm.py: the probe of /dev/kvm for real (on a regular file, a missing path, and this machine's device when it is
usable), and read_dev_kvm on a fake tree (the fake_host fixture, see ../conftest.py), whose probe stands in for the
ioctls: they need a real KVM."""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _dev_kvm


def test_read_dev_kvm_uses_the_probe(fake_host):
    assert _dev_kvm.read_dev_kvm()['present'] is False
    assert fake_host.probe_calls == []
    fake_host.write('/dev/kvm', '')
    dev = _dev_kvm.read_dev_kvm()
    assert dev['present'] is True and dev['usable'] is True and dev['api_version'] == 12
    assert dev['char_device'] is False  # a regular file stands in for the device
    fake_host.probe_result = (False, 12, 'KVM_CREATE_VM: Operation not permitted')
    dev = _dev_kvm.read_dev_kvm()
    assert dev['usable'] is False and 'KVM_CREATE_VM' in dev['error']


def test_probe_kvm_device_on_a_regular_file(tmp_path):
    # The real probe (no fake): a regular file opens, but is no KVM device.
    path = tmp_path / 'kvm'
    path.write_text('')
    usable, api, error = _dev_kvm.probe_kvm_device(str(path))
    assert usable is False and api is None and 'KVM_GET_API_VERSION' in error


def test_probe_kvm_device_missing(tmp_path):
    usable, _api, error = _dev_kvm.probe_kvm_device(str(tmp_path / 'absent'))
    assert usable is False and error.startswith('open(')


@pytest.mark.skipif(not os.path.exists('/dev/kvm') or not os.access('/dev/kvm', os.R_OK | os.W_OK),
                    reason='no usable /dev/kvm here')
def test_probe_real_dev_kvm():
    usable, api, error = _dev_kvm.probe_kvm_device('/dev/kvm')
    assert (usable, api, error) == (True, 12, None)


def test_the_ioctl_numbers_are_those_of_linux_kvm_h():
    # _IO(KVMIO, 0x00) and _IO(KVMIO, 0x01) with KVMIO 0xAE, as <linux/kvm.h> defines them.
    assert (_dev_kvm.KVM_GET_API_VERSION, _dev_kvm.KVM_CREATE_VM) == (0xAE00, 0xAE01)
