# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DomainSpec -> libvirt domain XML, built with lxml only (no string templates, so no input can
inject XML), and applied onto libvirt's own definition so what we do not manage survives.

``build`` makes the whole definition of a new domain. ``merge`` lays the parts we manage over an
existing (inactive) definition in place: its identity (UUID, MAC addresses, device addresses) and
whatever libvirt or a person added stay as they are. ``describe`` reduces any definition, ours or
libvirt's normalized one, to the facts we manage; comparing two descriptions is the one test of
"changed" that check mode and real runs share. All three go through one table, _domain_facts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_facts import (
    FACTS, NK_NS, QEMU_NS, Record, access_record, qemu_args)

__all__ = ['NK_NS', 'QEMU_NS', 'access_record', 'build', 'describe', 'forwarded_ports', 'merge',
           'port_forwards']

try:
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    etree = None


def build(spec, disk_paths, seed=None, owned_volumes=(), uuid=None):
    """The full definition of ``spec``.

    ``disk_paths`` lists the host path of each spec disk's volume, in order; ``seed`` is the
    (path, sha256) of the NoCloud seed image; ``owned_volumes`` are (pool, volume) pairs this
    collection created; ``uuid`` is the domain's UUID, which the collection's record names too
    (see _ownership).
    """
    record = Record(spec, disk_paths, seed[0] if seed else None, seed[1] if seed else None, owned_volumes, uuid)
    root = etree.Element('domain', nsmap={'qemu': QEMU_NS})
    for fact in FACTS:
        for part in fact.parts:
            part.build(root, record)
    return root


def merge(live, desired):
    """A copy of ``live`` (libvirt's inactive definition) with ``desired``'s managed parts laid over it in place."""
    merged = copy.deepcopy(live)
    for fact in FACTS:
        for part in fact.parts:
            part.lay(merged, desired)
    return merged


def describe(root):
    """The facts of a domain definition that this collection manages, as plain data."""
    return {name: read(root) for fact in FACTS for name, read in fact.reads.items()}


_HOSTFWD = re.compile(r'hostfwd=(tcp|udp):127\.0\.0\.1:(\d+)-[^:,]*:(\d+)')


def port_forwards(root):
    """The (protocol, host port, guest port) of every forward from the host's 127.0.0.1 to the guest in a definition."""
    forwards = set()
    for value in qemu_args(root):
        forwards.update((protocol, int(port), int(guest)) for protocol, port, guest in _HOSTFWD.findall(value))
    for forward in root.iterfind("devices/interface[@type='user']/portForward"):
        if forward.get('address') not in (None, '127.0.0.1'):
            continue  # bound elsewhere (another address, or a dev): no claim on this host's loopback port
        for ports_range in forward.iterfind('range'):
            start = int(ports_range.get('start'))
            # 'to' is where the range starts in the guest; without it, the guest's ports are the host's.
            offset = int(ports_range.get('to') or start) - start
            forwards.update((forward.get('proto'), port, port + offset)
                            for port in range(start, int(ports_range.get('end') or start) + 1))
    return forwards


def forwarded_ports(root):
    """The (protocol, port) pairs on the host's 127.0.0.1 that a definition forwards to its guest."""
    return {(protocol, port) for protocol, port, _guest in port_forwards(root)}
