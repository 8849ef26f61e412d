"""_qemu_user.py: who QEMU runs as and whether it may open /dev/kvm, on a fake tree (the fake_host fixture, see
../conftest.py: the users, groups, qemu.conf and /dev/kvm of Debian and RHEL hosts, which this machine is not both of)."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _qemu_user


@pytest.mark.parametrize('mode, dev_uid, dev_gid, uid, gids, ok', [
    (0o600, 0, 0, 64055, {64055, 108}, False),   # no udev: root only
    (0o660, 0, 108, 64055, {64055, 108}, True),  # udev's rule: group kvm
    (0o660, 0, 108, 64055, {64055}, False),      # user not in group kvm
    (0o666, 0, 0, 64055, {64055}, True),         # world-writable (some distributions)
    (0o606, 0, 108, 64055, {108}, False),        # group class matches first and denies
    (0o060, 64055, 108, 64055, {108}, False),    # owner class matches first and denies
    (0o600, 0, 0, 0, set(), True),               # root
])
def test_can_open_rw(mode, dev_uid, dev_gid, uid, gids, ok):
    assert _qemu_user.can_open_rw(mode, dev_uid, dev_gid, uid, gids) is ok


def test_qemu_user_cannot_open_root_only_dev_kvm(fake_host):
    fake_host.users().dev_kvm(mode=0o600, gid=0)
    access = _qemu_user.qemu_user_access()
    assert access['user'] == 'libvirt-qemu'
    assert access['can_open'] is False
    assert access['device_mode'] == '0600'
    assert (access['device_owner'], access['device_group']) == ('root', 'root')
    assert 'chgrp kvm /dev/kvm && chmod 0660 /dev/kvm' in access['hint']


def test_qemu_user_can_open_group_kvm(fake_host):
    fake_host.users().dev_kvm(mode=0o660)
    access = _qemu_user.qemu_user_access()
    assert access['can_open'] is True
    assert access['hint'] is None
    assert access['device_group'] == 'kvm'


def test_qemu_user_not_in_kvm_group_gets_usermod_hint(fake_host):
    fake_host.users(in_kvm_group=False).dev_kvm(mode=0o660)
    access = _qemu_user.qemu_user_access()
    assert access['can_open'] is False
    assert 'usermod -aG kvm libvirt-qemu' in access['hint']


def test_qemu_user_rhel_name(fake_host):
    fake_host.users(qemu_user='qemu').dev_kvm(mode=0o660)
    access = _qemu_user.qemu_user_access()
    assert access['user'] == 'qemu' and access['can_open'] is True


def test_qemu_user_from_qemu_conf(fake_host):
    fake_host.users().dev_kvm(mode=0o600, gid=0)
    fake_host.write('/etc/libvirt/qemu.conf', '#user = "libvirt-qemu"\nuser = "root"\ngroup = "root"\n')
    access = _qemu_user.qemu_user_access()
    assert access['user'] == 'root' and access['can_open'] is True


def test_qemu_conf_numeric_user_and_group(fake_host):
    fake_host.users().dev_kvm(mode=0o660)
    fake_host.write('/etc/libvirt/qemu.conf', 'user = "+4242"\ngroup = "+108"\n')
    access = _qemu_user.qemu_user_access()
    assert access['uid'] == 4242 and access['can_open'] is True


@pytest.mark.parametrize('qemu_conf, ids', [
    ('', (64055, 64055)),                             # Debian's libvirt-qemu and its own group
    ('user = "+4242"\ngroup = "kvm"\n', (4242, 108)),  # qemu.conf wins
])
def test_the_ids_volumes_are_given_to(fake_host, qemu_conf, ids):
    fake_host.users()
    fake_host.write('/etc/libvirt/qemu.conf', qemu_conf)
    assert _qemu_user.qemu_user_ids() == ids


def test_qemu_user_access_without_dev_kvm(fake_host):
    fake_host.users()
    access = _qemu_user.qemu_user_access()
    assert access['can_open'] is None
    assert 'does not exist' in access['hint']


@pytest.mark.parametrize('text, settings', [
    ('user = "qemu"\ngroup = "kvm"\n', dict(user='qemu', group='kvm')),
    ("# user = 'root'\n  group='+107'  # numeric\n", dict(user=None, group='+107')),
    ('', dict(user=None, group=None)),
])
def test_parse_qemu_conf(text, settings):
    assert _qemu_user.parse_qemu_conf(text) == settings


def test_passwd_and_group_skip_comments_and_broken_lines():
    assert _qemu_user.parse_passwd('#x:x:1:1::/:/bin/sh\nqemu:x:107:107::/:/sbin/nologin\nbad:x:y:1::/:\n') == {
        'qemu': (107, 107)}
    assert _qemu_user.parse_group('kvm:x:108:qemu,libvirt-qemu\nempty:x:9:\nbad:x:z:\n') == {
        'kvm': (108, ['qemu', 'libvirt-qemu']), 'empty': (9, [])}
