# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KVM's VM-exit counters on a hypervisor host, for one guest or for all of them (kvm_exit_stats).

KVM keeps its statistics in debugfs: ``<debugfs>/kvm/<stat>`` sums every VM of the host, and
``<debugfs>/kvm/<pid>-<fd>/<stat>`` counts one VM, made by process ``pid`` as file descriptor ``fd``
(all its vCPUs summed). A libvirt guest is one QEMU process with one such descriptor, so its directory is found
from its process: the pid from libvirt's pid file (or its command line), the fd from ``/proc/<pid>/fd``.

A QEMU process without a KVM VM descriptor runs its guest under TCG emulation: it has no exits to count.

Paths are joined onto _hostfs.ROOT, so tests can use a fake tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._dev_kvm import KVM_VM_FD_TARGET
from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import host_path, read_text
from ansible_collections.nestedkvm.stack.plugins.module_utils._procfs import (
    descriptor_targets, parse_mounts, parse_qemu_guest_name, process_args, process_ids)

DEBUGFS = '/sys/kernel/debug'
LIBVIRT_PID_DIR = '/run/libvirt/qemu'


def is_debugfs_mounted(debugfs, mounts_text):
    return (debugfs.rstrip('/'), 'debugfs') in parse_mounts(mounts_text)


def read_counters(directory):
    """({'exits': n, 'io_exits': n, ...}, error): the exit counters KVM keeps in ``directory`` (below ROOT), and why
    counters that are there could not be read (None when all could)."""
    real = host_path(directory)
    counters = {}
    error = None
    try:
        names = sorted(os.listdir(real))
    except OSError as exc:
        return counters, None if exc.errno == errno.ENOENT else '%s: %s' % (directory, os.strerror(exc.errno))
    for name in names:
        if name != 'exits' and not name.endswith('_exits'):
            continue
        try:
            with open(os.path.join(real, name), 'rb') as handle:
                text = handle.read().decode('ascii', 'replace').strip()
        except OSError as exc:
            # Seen on kernels that keep debugfs locked down: the files are listed, reading them is refused.
            error = error or '%s/%s: %s' % (directory, name, os.strerror(exc.errno))
            continue
        if text.isdigit():
            counters[name] = int(text)
    return counters, error


def domain_pid(domain):
    """The pid of the QEMU process that runs libvirt guest ``domain``, or None when it does not run here."""
    text = read_text('%s/%s.pid' % (LIBVIRT_PID_DIR, domain))
    if text and text.strip().isdigit():
        pid = int(text.strip())
        # A pid file outlives a crashed QEMU, and the number may since belong to another process.
        if parse_qemu_guest_name(process_args(pid)) == domain:
            return pid
    return next((pid for pid in process_ids() if parse_qemu_guest_name(process_args(pid)) == domain), None)


def kvm_vm_fds(pid):
    """The descriptors of KVM VMs that process ``pid`` holds (QEMU on KVM: one); None when /proc/<pid>/fd is closed
    to us (not root)."""
    targets = descriptor_targets(pid)
    if targets is None:
        return None
    return sorted(fd for fd, target in targets.items() if target == KVM_VM_FD_TARGET)


def lockdown_mode():
    """The kernel's lockdown mode ([none] integrity confidentiality: the bracketed one), or None."""
    text = read_text('/sys/kernel/security/lockdown')
    if not text or '[' not in text:
        return None
    return text.split('[', 1)[1].split(']', 1)[0]


def _nothing_yet(domain):
    return dict(source=None, path=None, counters={}, reason=None, domain=domain, pid=None, domain_on_kvm=None)


def _global_or_nothing(result, kvm_dir, why):
    """Fall back to the host-wide counters, saying why and what they include."""
    counters, error = read_counters(kvm_dir)
    if counters:
        result.update(source='global', path=kvm_dir, counters=counters,
                      reason='%s; counted all KVM guests of this host instead' % why)
    elif error:
        result.update(reason='%s, and the global counters cannot be read (%s)' % (why, error))
    else:
        result.update(reason='%s, and %s has no global exit counters' % (why, kvm_dir))
    return result


def exit_counters(domain, debugfs=DEBUGFS):
    """What KVM has counted for ``domain`` (or for all guests when it is None), as a dict:

    source ('vm', 'global' or None: nothing to count), path (the directory read), counters ({name: count}),
    reason (why per-VM counters were not used, or why there is nothing), domain, pid, domain_on_kvm (True, False
    for a TCG guest, None when unknown). The guest's process is looked at even where debugfs cannot be read: whether
    it runs on KVM does not depend on it.
    """
    kvm_dir = '%s/kvm' % debugfs.rstrip('/')
    result = _nothing_yet(domain)
    pid = fds = None
    if domain is not None:
        pid = result['pid'] = domain_pid(domain)
        fds = kvm_vm_fds(pid) if pid is not None else None
        result['domain_on_kvm'] = bool(fds) if fds is not None else None
    if fds == []:
        result['reason'] = ('guest %s (process %d) holds no KVM VM: it runs under TCG emulation, which has no VM exits'
                            % (domain, pid))
        return result
    if not os.path.isdir(host_path(kvm_dir)):
        mode = lockdown_mode()
        result['reason'] = '%s does not exist: KVM is not loaded, or the kernel hides its statistics%s' % (
            kvm_dir, ' (lockdown: %s)' % mode if mode and mode != 'none' else '')
        return result
    if domain is None:
        return _global_or_nothing(result, kvm_dir, 'no guest named')
    if pid is None:
        return _global_or_nothing(result, kvm_dir, 'no QEMU process of guest %s runs here' % domain)
    if fds is None:
        return _global_or_nothing(result, kvm_dir, 'the descriptors of process %d cannot be read (run as root)' % pid)
    counters = {}
    for fd in fds:
        found, error = read_counters('%s/%d-%d' % (kvm_dir, pid, fd))
        for name, value in found.items():
            counters[name] = counters.get(name, 0) + value
    if not counters:
        return _global_or_nothing(result, kvm_dir, error or 'this kernel keeps no per-VM counters (%s/%d-%d)'
                                  % (kvm_dir, pid, fds[0]))
    result.update(source='vm', path='%s/%d-%d' % (kvm_dir, pid, fds[0]), counters=counters)
    return result


def read_exit_counters(domain, debugfs, mount, check_mode, run_command):
    """exit_counters(), mounting debugfs first when it is not mounted, ``mount`` allows it and there is something to
    count (a guest under TCG has nothing: debugfs is then left as it is).

    Returns (changed, result); ``result['debugfs_mounted_now']`` says whether this call mounted it. In check mode
    nothing is mounted: the result says it would be.
    """
    if mount and os.path.normpath(debugfs) != DEBUGFS:
        # Mounting over any other directory would hide what is there (mount_debugfs with debugfs: /etc).
        raise OptionError('mount_debugfs', 'mounts debugfs only at its standard place %s, not at %s: leave debugfs at its '
                                           'default, or mount it there yourself and read it without mount_debugfs'
                                           % (DEBUGFS, debugfs))
    # KVM's directory can only be seen through a mounted debugfs, whatever /proc/mounts says (a bind mount).
    mounted = (is_debugfs_mounted(debugfs, read_text('/proc/mounts', ''))
               or os.path.isdir(host_path('%s/kvm' % debugfs.rstrip('/'))))
    result = exit_counters(domain, debugfs)
    changed = False
    if not mounted and result['domain_on_kvm'] is not False:
        if not mount:
            result['reason'] = 'debugfs is not mounted at %s (allow mounting it, or mount it yourself)' % debugfs
        elif check_mode:
            changed = True
            result['reason'] = 'debugfs is not mounted at %s: it would be mounted first' % debugfs
        else:
            rc, _out, err = run_command(['mount', '-t', 'debugfs', 'debugfs', debugfs])
            if rc == 0:
                changed = True
                result = exit_counters(domain, debugfs)
            else:
                result['reason'] = ('debugfs is not mounted at %s, and mounting it failed: %s'
                                    % (debugfs, (err or '').strip()))
    result['debugfs_mounted_now'] = changed and not check_mode
    return changed, result
