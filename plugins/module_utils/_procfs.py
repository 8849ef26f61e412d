# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/proc: the processes of this host (their command lines and open descriptors, which QEMU runs which guest, who
holds /dev/kvm) and its mount table."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nestedkvm.stack.plugins.module_utils._dev_kvm import DEV_KVM, KVM_VM_FD_TARGET
from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import first_line, host_path, read_text


def process_ids():
    """The pids under /proc, in order; [] when /proc cannot be listed."""
    try:
        return sorted(int(entry) for entry in os.listdir(host_path('/proc')) if entry.isdigit())
    except OSError:
        return []


def process_args(pid):
    """The command line of process ``pid`` as a list of arguments; [] when it is gone or unreadable."""
    return [arg for arg in (read_text('/proc/%d/cmdline' % pid, '') or '').split('\0') if arg]


def descriptor_targets(pid):
    """{fd: what it links to} for the open descriptors of process ``pid``; None when /proc/<pid>/fd cannot be
    read (the process is gone, or we are not root)."""
    fd_dir = host_path('/proc/%d/fd' % pid)
    try:
        entries = os.listdir(fd_dir)
    except OSError:
        return None
    targets = {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            targets[int(entry)] = os.readlink(os.path.join(fd_dir, entry))
        except OSError:
            continue  # closed since the listing
    return targets


def parse_qemu_guest_name(args):
    """The guest name in a QEMU command line (a list of arguments): ``-name guest=NAME,...`` or ``-name NAME``."""
    for index, arg in enumerate(args[:-1]):
        if arg not in ('-name', '--name'):
            continue
        # QEMU option values escape a literal comma as ',,'.
        parts = args[index + 1].replace(',,', '\0').split(',')
        parts = [p.replace('\0', ',') for p in parts]
        for part in parts:
            if part.startswith('guest='):
                return part[len('guest='):]
        if parts and '=' not in parts[0]:
            return parts[0]
    return None


def qemu_guest_name(pid, comm=None):
    """The guest name (from ``-name``) when process ``pid`` is a QEMU, else None."""
    comm = comm or first_line('/proc/%d/comm' % pid)
    cmdline = process_args(pid)
    if (comm or '').startswith('qemu') or (cmdline and 'qemu' in os.path.basename(cmdline[0])):
        return parse_qemu_guest_name(cmdline)
    return None


def is_passt(pid):
    """True when process ``pid`` is passt (the helper libvirt starts for an interface with the passt backend; its
    AVX2 build names itself passt.avx2)."""
    return (first_line('/proc/%d/comm' % pid) or '').partition('.')[0] == 'passt'


def kvm_holders():
    """Processes that hold /dev/kvm (or a KVM VM) open: [{'pid': 123, 'comm': 'qemu-system-x86', 'guest': 'l1'}].

    ``guest`` is set for QEMU processes (from ``-name``). Processes we may not inspect are skipped.
    """
    holders = []
    for pid in process_ids():
        targets = descriptor_targets(pid)
        # /dev/kvm itself, or a VM made from it (QEMU keeps both; either pins the module)
        if not any(target in (DEV_KVM, KVM_VM_FD_TARGET) or target.startswith(DEV_KVM + ' ')
                   for target in (targets or {}).values()):
            continue
        comm = first_line('/proc/%d/comm' % pid)
        holders.append(dict(pid=pid, comm=comm, guest=qemu_guest_name(pid, comm)))
    return holders


def describe_holders(holders):
    """'pid 123 (qemu-system-x86, guest l1), pid 456 (foo)' for messages."""
    items = []
    for holder in holders:
        what = holder.get('comm') or '?'
        if holder.get('guest'):
            what = '%s, guest %s' % (what, holder['guest'])
        items.append('pid %s (%s)' % (holder['pid'], what))
    return ', '.join(items)


def parse_mounts(text):
    """[(mount point, file system type)] from the text of /proc/mounts, in its order (octal escapes of spaces undone)."""
    mounts = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((fields[1].replace('\\040', ' '), fields[2]))
    return mounts
