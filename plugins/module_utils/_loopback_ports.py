# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ports of 127.0.0.1 a QEMU user-mode forward can bind on this host: the lowest one an unprivileged process
may have, and who holds a port already (/proc/net/{tcp,udp}[6] and the processes' socket descriptors)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import sys

from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import first_line, read_text
from ansible_collections.nestedkvm.stack.plugins.module_utils._procfs import descriptor_targets, process_ids, qemu_guest_name

UNPRIVILEGED_PORT_START = '/proc/sys/net/ipv4/ip_unprivileged_port_start'
_PROC_NET = {'tcp': ('/proc/net/tcp', '/proc/net/tcp6'), 'udp': ('/proc/net/udp', '/proc/net/udp6')}
# The state column of a socket that holds its port: a listening TCP socket (LISTEN), a bound UDP one (CLOSE).
_HOLDING_STATE = {'tcp': '0A', 'udp': '07'}
# Local addresses that take a port away from 127.0.0.1: itself and the wildcards (IPv6's may be dual-stack).
_BLOCKS_LOOPBACK = ('127.0.0.1', '0.0.0.0', '::', '::ffff:127.0.0.1', '::ffff:0.0.0.0')


def unprivileged_port_start():
    """The lowest port a process without CAP_NET_BIND_SERVICE (such as QEMU under libvirt) may bind."""
    text = first_line(UNPRIVILEGED_PORT_START)
    return int(text) if text and text.isdigit() else 1024


def parse_proc_net(text):
    """[(local address, port, state, inode)] of the sockets in the text of /proc/net/{tcp,udp}[6]."""
    sockets = []
    for line in (text or '').splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        address, _colon, port = fields[1].rpartition(':')
        try:
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word of the address in host byte order.
            if sys.byteorder == 'little':
                raw = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
            sockets.append((socket.inet_ntop(family, raw), int(port, 16), fields[3], int(fields[9])))
        except (ValueError, OSError):
            continue
    return sockets


def loopback_port_holders(protocol, port):
    """{pid: QEMU guest name or None} of the processes whose sockets keep ``port`` on 127.0.0.1 from being bound
    for ``protocol``; a socket whose process cannot be seen (another user's, without root) counts under pid None."""
    inodes = set()
    for path in _PROC_NET[protocol]:
        for address, bound_port, state, inode in parse_proc_net(read_text(path, '')):
            if bound_port == port and state == _HOLDING_STATE[protocol] and address in _BLOCKS_LOOPBACK:
                inodes.add('socket:[%d]' % inode)
    holders = {}
    for pid in process_ids() if inodes else ():
        held = inodes & set((descriptor_targets(pid) or {}).values())
        if held:
            holders[pid] = qemu_guest_name(pid)
            inodes -= held
    if inodes:
        holders[None] = None
    return holders
