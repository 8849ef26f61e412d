# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a running guest is doing, seen from the host that runs it (domain_status), and a bounded wait for
it to answer (domain_wait).

A guest that does not come up has to become an error that says why: libvirt's state and its reason (as
``virsh domstate --reason`` prints them), whether its QEMU process is alive and how busy (a wedged
guest spins its vCPUs at 100 % each; a stopped process uses none), and the last lines of its serial
console log. The QEMU process and the console log are read only when libvirt runs on this host.

Paths are joined onto _hostfs.ROOT, so tests can use a fake tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import socket
import time

from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import host_path, read_text
from ansible_collections.nestedkvm.stack.plugins.module_utils._kvm_exits import domain_pid

try:
    import libvirt
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    pass

# libvirt's virDomainState and, per state, its reasons, named as `virsh domstate --reason` names them.
STATES = {0: 'nostate', 1: 'running', 2: 'blocked', 3: 'paused', 4: 'shutdown', 5: 'shutoff', 6: 'crashed',
          7: 'pmsuspended'}
REASONS = {
    'running': ('unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled',
                'save canceled', 'event wakeup', 'crashed', 'post-copy', 'post-copy failed'),
    'paused': ('unknown', 'user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog', 'from snapshot',
               'shutting down', 'creating snapshot', 'crashed', 'starting up', 'post-copy', 'post-copy failed'),
    'shutdown': ('unknown', 'user'),
    'shutoff': ('unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot',
                'daemon'),
    'crashed': ('unknown', 'panicked'),
}
# States a guest does not leave by itself: waiting longer for it to answer is pointless.
FINAL_STATES = ('shutoff', 'crashed', 'nostate')
# /proc/<pid>/stat process states (proc(5)).
PROCESS_STATES = {'R': 'running', 'S': 'sleeping', 'D': 'waiting on I/O', 'T': 'stopped by a signal',
                  't': 'stopped by a tracer', 'Z': 'zombie', 'X': 'dead', 'I': 'idle'}
_CONSOLE_READ_BYTES = 64 * 1024
# Escape sequences (colours, cursor moves) and other control characters a console log is full of.
_CONTROL = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|[\x00-\x08\x0b-\x1f\x7f]')


def guest_argument_spec(**options):
    """The options domain_status and domain_wait share (which guest, on which libvirt, how much console), plus
    ``options``."""
    spec = dict(
        name=dict(type='str', required=True),
        uri=dict(type='str', default='qemu:///system'),
        console_lines=dict(type='int', default=20),
    )
    spec.update(options)
    return spec


def state_of(domain):
    """(state, reason) of a libvirt domain, as `virsh domstate --reason` names them."""
    code, reason = domain.state()
    state = STATES.get(code, 'unknown')
    reasons = REASONS.get(state, ('unknown',))
    return state, reasons[reason] if 0 <= reason < len(reasons) else 'unknown'


def _proc_stat(pid):
    """(process state letter, CPU ticks used, threads) of process ``pid``, or None when it is gone."""
    text = read_text('/proc/%d/stat' % pid)
    if not text or ')' not in text:
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
    fields = text[text.rindex(')') + 2:].split()
    try:
        return fields[0], int(fields[11]) + int(fields[12]), int(fields[17])
    except (IndexError, ValueError):
        return None


def qemu_process(name, sample=1.0):
    """The QEMU process of guest ``name`` on this host: {'pid', 'alive', 'state', 'cpu_percent', 'threads'}, with
    CPU use measured over ``sample`` seconds (100 per busy host CPU); None when no QEMU runs it here."""
    pid = domain_pid(name)
    if pid is None:
        return None
    first = _proc_stat(pid)
    if first is None:
        return dict(pid=pid, alive=False, state='gone', cpu_percent=None, threads=None)
    started = time.monotonic()
    time.sleep(sample)
    second = _proc_stat(pid)
    if second is None:
        return dict(pid=pid, alive=False, state='gone', cpu_percent=None, threads=None)
    ticks_per_second = os.sysconf('SC_CLK_TCK')
    busy = (second[1] - first[1]) / float(ticks_per_second) / max(time.monotonic() - started, 0.001)
    return dict(pid=pid, alive=second[0] not in 'ZX', state=PROCESS_STATES.get(second[0], second[0]),
                cpu_percent=round(busy * 100), threads=second[2])


def process_state(qemu):
    """'stopped by a signal, ' and the like for a QEMU process in an unusual state; '' when running or sleeping (its
    main thread sleeps while the vCPU threads work, so that says nothing)."""
    return '' if qemu['state'] in ('running', 'sleeping') else qemu['state'] + ', '


def console_log_of(domain):
    """The file the guest's serial console is logged to (libvirt's <serial><log file=...>), or None."""
    xml = etree.fromstring(domain.XMLDesc(0).encode())
    return xml.xpath('string(devices/serial[1]/log/@file)') or None


def console_tail(path, lines):
    """The last ``lines`` lines of a console log, control characters removed; [] when it cannot be read."""
    try:
        with open(host_path(path), 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - _CONSOLE_READ_BYTES, 0))
            data = handle.read()
    except OSError:
        return []
    text = _CONTROL.sub('', data.decode('utf-8', 'replace').replace('\r\n', '\n').replace('\r', '\n'))
    kept = [line.rstrip() for line in text.split('\n') if line.strip()]
    return kept[-lines:] if lines > 0 else []


def domain_status(connection, name, local, console_lines=20, sample=1.0):
    """Everything the host knows of guest ``name``: a dict for domain_status / domain_wait results."""
    status = dict(name=name, uri=connection.uri, exists=False, state=None, reason=None, qemu=None,
                  console_log=None, console_tail=[])
    domain = connection.domain(name)
    if domain is None:
        return status
    status.update(exists=True)
    status['state'], status['reason'] = state_of(domain)
    status['console_log'] = console_log_of(domain)
    if local:
        if status['state'] not in FINAL_STATES:
            status['qemu'] = qemu_process(name, sample)
        if status['console_log']:
            status['console_tail'] = console_tail(status['console_log'], console_lines)
    return status


def describe(status, host):
    """One message about a guest that did not answer, for a person: what, where, state, process, console, and the
    commands to look further."""
    name = status['name']
    uri = status['uri']
    if not status['exists']:
        return "domain '%s' does not exist on %s (%s)." % (name, host, uri)
    parts = ["domain '%s' on %s (%s) is %s (%s)" % (name, host, uri, status['state'], status['reason'])]
    qemu = status['qemu']
    if qemu is None:
        if status['state'] not in FINAL_STATES:
            parts.append('its QEMU process was not inspected (libvirt is not local to the module) or not found')
    elif not qemu['alive']:
        parts.append('its QEMU process %d is gone' % qemu['pid'])
    else:
        parts.append('its QEMU process %d is alive, %sat %d %% CPU with %d threads%s'
                     % (qemu['pid'], process_state(qemu), qemu['cpu_percent'], qemu['threads'],
                        ' (busy vCPUs: a guest still booting under emulation, or a kernel spinning)'
                        if qemu['cpu_percent'] >= 90 else ''))
    text = '; '.join(parts) + '.'
    if status['console_tail']:
        text += '\nLast lines of its serial console (%s):\n  %s' % (status['console_log'],
                                                                    '\n  '.join(status['console_tail']))
    elif status['console_log']:
        text += '\nIts serial console log %s is empty or unreadable.' % status['console_log']
    else:
        text += '\nIt keeps no serial console log (console_log: false).'
    text += ("\nLook further on %s: virsh -c %s domstate %s --reason; virsh -c %s qemu-monitor-command %s --hmp "
             "'info registers -a' (vCPUs: CPL=0 with HLT=0 is a spinning kernel); virsh -c %s console %s"
             % (host, uri, name, uri, name, uri, name))
    return text


def ssh_banner(address, port, timeout):
    """True when an SSH server answers on (address, port) with its banner within ``timeout`` seconds."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b'SSH-')
    except OSError:
        return False


def agent_answers(domain, timeout):
    """True when the guest's qemu-guest-agent answers a ping through libvirt within ``timeout`` seconds."""
    import libvirt_qemu  # only this wait needs it; part of libvirt-python
    try:
        libvirt_qemu.qemuAgentCommand(domain, '{"execute":"guest-ping"}', int(timeout), 0)
    except libvirt.libvirtError:
        return False
    return True


class GuestWait:
    """Waits up to ``timeout`` seconds for a guest to answer (``wait_for``: ssh, agent or running), watching its
    state: a guest that stops, crashes or vanishes ends the wait at once."""

    PROBE_TIMEOUT = 3.0
    PAUSE = 1.0

    def __init__(self, connection, name, wait_for, address=None, port=None):
        self.connection = connection
        self.name = name
        self.wait_for = wait_for
        self.address = address
        self.port = port

    def _answers(self, domain):
        if self.wait_for == 'ssh':
            return ssh_banner(self.address, self.port, self.PROBE_TIMEOUT)
        if self.wait_for == 'agent':
            return agent_answers(domain, self.PROBE_TIMEOUT)
        return True  # running is enough

    def run(self, timeout):
        """(outcome, seconds waited): outcome is 'ready', 'gone' (no such domain), 'stopped' (a state it will not
        leave by itself) or 'timeout'."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            domain = self.connection.domain(self.name)
            if domain is None:
                return 'gone', time.monotonic() - started
            state, _reason = state_of(domain)
            if state in FINAL_STATES:
                return 'stopped', time.monotonic() - started
            if state == 'running' and self._answers(domain):
                return 'ready', time.monotonic() - started
            if time.monotonic() + self.PAUSE >= deadline:
                return 'timeout', time.monotonic() - started
            time.sleep(self.PAUSE)
