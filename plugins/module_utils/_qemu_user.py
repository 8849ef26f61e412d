# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who QEMU runs as under qemu:///system (libvirt's qemu.conf, /etc/passwd, /etc/group), and whether that user may
open /dev/kvm."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.nestedkvm.stack.plugins.module_utils._dev_kvm import DEV_KVM
from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import host_path, read_text

QEMU_USER_CANDIDATES = ('libvirt-qemu', 'qemu')  # Debian/Ubuntu, then RHEL/Fedora/SUSE/Arch


def parse_passwd(text):
    """/etc/passwd -> {name: (uid, gid)}."""
    users = {}
    for line in (text or '').splitlines():
        fields = line.split(':')
        if len(fields) >= 4 and not line.startswith('#'):
            try:
                users[fields[0]] = (int(fields[2]), int(fields[3]))
            except ValueError:
                continue
    return users


def parse_group(text):
    """/etc/group -> {name: (gid, [members])}."""
    groups = {}
    for line in (text or '').splitlines():
        fields = line.split(':')
        if len(fields) >= 4 and not line.startswith('#'):
            try:
                groups[fields[0]] = (int(fields[2]), [m for m in fields[3].split(',') if m])
            except ValueError:
                continue
    return groups


def parse_qemu_conf(text):
    """The ``user`` and ``group`` that /etc/libvirt/qemu.conf sets (None when commented out or absent)."""
    settings = dict(user=None, group=None)
    for line in (text or '').splitlines():
        line = line.split('#', 1)[0].strip()
        key, sep, value = line.partition('=')
        key = key.strip()
        if sep and key in settings:
            settings[key] = value.strip().strip('"\'') or None
    return settings


def can_open_rw(mode, dev_uid, dev_gid, uid, gids):
    """Would classic Unix permissions let (uid, gids) open a file of (mode, dev_uid, dev_gid) read-write?

    Only the first matching class counts (owner, then group, then other), as in the kernel. ACLs are not looked at.
    """
    if uid == 0:
        return True
    if uid == dev_uid:
        return mode & 0o600 == 0o600
    if dev_gid in gids:
        return mode & 0o060 == 0o060
    return mode & 0o006 == 0o006


def _resolve_id(value, table):
    """'+N' (libvirt's numeric form) or a name looked up in ``table`` (name -> (id, ...)) -> id or None."""
    if value is None:
        return None
    if value.startswith('+'):
        try:
            return int(value[1:])
        except ValueError:
            return None
    entry = table.get(value)
    return entry[0] if entry else None


def _qemu_identity():
    """User, uid and primary gid QEMU runs as under qemu:///system (per qemu.conf, else the distribution's
    user), with the parsed passwd and group tables; ids are None when they cannot be resolved."""
    passwd = parse_passwd(read_text('/etc/passwd', ''))
    groups = parse_group(read_text('/etc/group', ''))
    conf = parse_qemu_conf(read_text('/etc/libvirt/qemu.conf', ''))
    user = conf['user'] or next((name for name in QEMU_USER_CANDIDATES if name in passwd), QEMU_USER_CANDIDATES[0])
    uid = _resolve_id(user, passwd)
    gid = _resolve_id(conf['group'], groups)
    if gid is None and uid is not None:
        gid = next((ids[1] for ids in passwd.values() if ids[0] == uid), None)
    return dict(user=user, group=conf['group'], uid=uid, gid=gid, passwd=passwd, groups=groups)


def qemu_user_ids():
    """(uid, gid) of the user and group QEMU runs as under qemu:///system; None if unknown."""
    identity = _qemu_identity()
    return (identity['uid'], identity['gid']) if identity['uid'] is not None and identity['gid'] is not None else None


def qemu_user_access():
    """Can the user QEMU runs as (per libvirt's qemu.conf) open /dev/kvm read-write?

    Returns a dict: user, group, uid, can_open (bool, or None when it cannot be judged), hint (what to run when
    it cannot), mode/owner/group of /dev/kvm.
    """
    identity = _qemu_identity()
    user, passwd, groups = identity['user'], identity['passwd'], identity['groups']
    result = dict(user=user, group=identity['group'], uid=None, can_open=None, hint=None,
                  device_mode=None, device_owner=None, device_group=None)
    try:
        st = os.stat(host_path(DEV_KVM))
    except OSError:
        result['hint'] = '%s does not exist: load the KVM module of this CPU (kvm_intel or kvm_amd)' % DEV_KVM
        return result
    names_by_uid = dict((ids[0], name) for name, ids in passwd.items())
    names_by_gid = dict((ids[0], name) for name, ids in groups.items())
    result.update(device_mode='%04o' % stat.S_IMODE(st.st_mode),
                  device_owner=names_by_uid.get(st.st_uid, str(st.st_uid)),
                  device_group=names_by_gid.get(st.st_gid, str(st.st_gid)))
    uid = identity['uid']
    result['uid'] = uid
    if uid is None:
        result['hint'] = ('the QEMU user %s does not exist here (is libvirt installed?); set user in '
                          '/etc/libvirt/qemu.conf' % user)
        return result
    gids = set([identity['gid']]) if identity['gid'] is not None else set()
    gids.update(gid for gid, members in groups.values() if user in members)
    result['can_open'] = can_open_rw(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, uid, gids)
    if not result['can_open']:
        steps = ['chgrp kvm %s && chmod 0660 %s' % (DEV_KVM, DEV_KVM)]
        kvm_group = groups.get('kvm')
        if kvm_group is None or kvm_group[0] not in gids:
            steps.append('usermod -aG kvm %s' % user)
        result['hint'] = (
            '%s is %s %s:%s, which the QEMU user %s cannot open; without udev it stays root-only and libvirtd '
            're-probes QEMU on every define (over a minute each). Run: %s (what udev\'s rule does)'
            % (DEV_KVM, result['device_mode'], result['device_owner'], result['device_group'], user,
               ' && '.join(steps)))
    return result
