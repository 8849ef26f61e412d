# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/dev/kvm: whether it is there and whether KVM makes a VM through it.

``probe_kvm_device`` (the ioctls) is looked up when ``read_dev_kvm`` runs, so tests replace it: they need a real KVM.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

try:
    import fcntl
except ImportError:  # pragma: no cover - not Linux
    fcntl = None

from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import host_path

DEV_KVM = '/dev/kvm'
# What /proc/<pid>/fd/<n> links to for a KVM VM made from /dev/kvm (QEMU on KVM holds one per guest).
KVM_VM_FD_TARGET = 'anon_inode:kvm-vm'

# <linux/kvm.h>: KVMIO is 0xAE; _IO(type, nr) is (type << 8) | nr (no direction, no size).
KVMIO = 0xAE
KVM_GET_API_VERSION = (KVMIO << 8) | 0x00
KVM_CREATE_VM = (KVMIO << 8) | 0x01


def probe_kvm_device(path):
    """Open ``path`` (a real /dev/kvm) and ask KVM for its API version and a VM. Returns (usable, api_version, error).

    Tests replace this function: the ioctls need a real KVM device.
    """
    if fcntl is None:  # pragma: no cover
        return False, None, 'no fcntl module on this platform'
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        return False, None, 'open(%s): %s' % (path, os.strerror(exc.errno))
    try:
        try:
            api = fcntl.ioctl(fd, KVM_GET_API_VERSION, 0)
        except OSError as exc:
            return False, None, 'KVM_GET_API_VERSION: %s' % os.strerror(exc.errno or errno.EINVAL)
        try:
            vm_fd = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        except OSError as exc:
            return False, api, 'KVM_CREATE_VM: %s' % os.strerror(exc.errno or errno.EINVAL)
        os.close(vm_fd)
        return True, api, None
    finally:
        os.close(fd)


def read_dev_kvm():
    """present, char_device, usable (KVM_CREATE_VM works), api_version, error."""
    path = host_path(DEV_KVM)
    result = dict(path=DEV_KVM, present=False, char_device=False, usable=False, api_version=None, error=None)
    try:
        st = os.stat(path)
    except OSError as exc:
        result['error'] = '%s: %s' % (DEV_KVM, os.strerror(exc.errno))
        return result
    result['present'] = True
    result['char_device'] = stat.S_ISCHR(st.st_mode)
    usable, api, error = probe_kvm_device(path)
    result.update(usable=bool(usable), api_version=api, error=error)
    return result
