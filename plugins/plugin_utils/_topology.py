# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work of the nestedkvm.stack.topology inventory plugin: which domains the collection made on each L0 and
inside each running L1, read through read-only libvirt connections that each end within a bound, and the SSH
settings that reach every one of them from the controller.

``discover`` returns plain data (what the inventory cache keeps); ``inventory_hosts`` turns it into hosts, groups
and variables, so the SSH settings of the configuration apply to cached data too.

An L1's libvirt is reached the way Ansible reaches the L1. libvirt's ssh transport runs a script of ours
(``command=``) that runs ssh with the inventory's own options (HostKeyAlias, known_hosts, key, the ProxyCommand
through a remote L0) in batch mode; the script writes its process id, so a connection that outlives its bound
can be ended.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex
import shutil
import signal
import tempfile
import threading
from urllib.parse import quote, urlsplit

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import is_local_uri, require_libraries, validate_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_health import STATES
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import validate_access
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_xml import NK_NS, access_record, port_forwards
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._names import validate_name
from ansible_collections.nestedkvm.stack.plugins.module_utils._ownership import LEGACY, OURS, ownership

try:
    import libvirt
    from lxml import etree
except ImportError:  # reported by require_libraries
    pass

GROUPS = {0: 'l0_hosts', 1: 'l1_hypervisors', 2: 'l2_guests'}
_RUNNING = ('running', 'blocked')
_LOOPBACK = '127.0.0.1'
# A session whose far end stopped answering ends after 4 x 15 s, as in the lab's inventory.
_KEEPALIVE = ['-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4']
_SSH_TRANSPORTS = ('ssh', 'libssh', 'libssh2')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
# What a script of ours needs a moment to do once ssh is gone: return libvirt's error.
_AFTER_KILL = 5


class Settings:
    """The options of a topology.yml, checked: bad ones raise an OptionError that names them."""

    OPTIONS = ('l0_hosts', 'private_key_file', 'known_hosts_file', 'connect_timeout', 'timeout', 'inside_l1s')

    def __init__(self, l0_hosts, private_key_file=None, known_hosts_file=None, connect_timeout=10, timeout=60,
                 inside_l1s=True):
        self.l0_hosts = _l0_hosts(l0_hosts)
        self.private_key_file = _path('private_key_file', private_key_file)
        self.known_hosts_file = _path('known_hosts_file', known_hosts_file)
        for option, value in (('connect_timeout', connect_timeout), ('timeout', timeout)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OptionError(option, 'must be a whole number of seconds, at least 1; got %r' % (value,))
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.inside_l1s = bool(inside_l1s)

    @classmethod
    def from_options(cls, get_option):
        """From a plugin's get_option."""
        return cls(**{name: get_option(name) for name in cls.OPTIONS})


def _l0_hosts(entries):
    if not isinstance(entries, list) or not entries:
        raise OptionError('l0_hosts', 'list the L0 hosts, each as {name: <inventory name>, uri: <libvirt URI>}')
    l0_hosts, names = [], set()
    for index, entry in enumerate(entries):
        option = 'l0_hosts[%d]' % index
        if not isinstance(entry, dict) or 'uri' not in entry or set(entry) - {'name', 'uri'}:
            raise OptionError(option, 'give uri (the libvirt URI of the L0, e.g. qemu+ssh://root@l0.example.com/system) '
                                      'and optionally name (its inventory name); got %r' % (entry,))
        try:
            uri = validate_uri(entry['uri'])
        except OptionError as exc:
            raise OptionError(option + '.uri', exc.msg.partition(': ')[2])
        parts = urlsplit(uri)
        name = entry.get('name') or ('localhost' if is_local_uri(uri) else parts.hostname)
        validate_name(name, 'inventory host', option=option + '.name')
        if name in names:
            raise OptionError(option + '.name', "'%s' names two L0 hosts: give each its own name" % name)
        names.add(name)
        transport = parts.scheme.partition('+')[2]
        remote_ssh = transport in _SSH_TRANSPORTS and not is_local_uri(uri)
        l0_hosts.append(dict(name=name, uri=uri, local=is_local_uri(uri), ssh_host=parts.hostname,
                             ssh_user=parts.username if remote_ssh else None, ssh_port=parts.port if remote_ssh else None,
                             runs_ssh=transport == 'ssh' and not is_local_uri(uri)))
    return l0_hosts


def _path(option, value):
    if value is None:
        return None
    # ssh expands '%' tokens in these options, and a control character would end the option.
    if not isinstance(value, str) or not value or _CONTROL.search(value) or '%' in value:
        raise OptionError(option, 'must be a path without control characters or %%; got %r' % (value,))
    return os.path.expanduser(value)


class Hop:
    """One SSH destination on the way to a host: where, as whom, under which known_hosts name (``alias``), and the
    hop that leads there (``via``; None: straight from the controller). ``guest`` is false for an L0, which the
    user's own SSH configuration reaches."""

    def __init__(self, host, port=None, user=None, alias=None, via=None, guest=True):
        self.host = host
        self.port = port
        self.user = user
        self.alias = alias
        self.via = via
        self.guest = guest


class Ssh:
    """The ssh command-line options that reach a Hop, for Ansible's ssh connection, libvirt's ssh transport and the
    ProxyCommand of the hop after it."""

    def __init__(self, settings):
        self.settings = settings

    def common(self, hop):
        """What ansible_ssh_common_args holds (the user, port and key are variables of their own)."""
        args = ['-o', 'ConnectTimeout=%d' % self.settings.connect_timeout, *_KEEPALIVE]
        if hop.guest:
            # The roles write each guest's host key before its first boot: check it strictly, under its own name.
            if hop.alias:
                args += ['-o', 'HostKeyAlias=%s' % hop.alias, '-o', 'StrictHostKeyChecking=yes']
            if self.settings.known_hosts_file:
                args += ['-o', 'UserKnownHostsFile=%s' % self.settings.known_hosts_file]
            if self.settings.private_key_file:
                args += ['-o', 'IdentitiesOnly=yes']
        if hop.via is not None:
            args += ['-o', 'ProxyCommand=%s' % self.proxy_command(hop.via)]
        return args

    def unattended(self, hop):
        """Everything but the user and port, for an ssh that no one answers prompts of."""
        key = ['-i', self.settings.private_key_file] if hop.guest and self.settings.private_key_file else []
        return self.common(hop) + key + ['-o', 'BatchMode=yes']

    def proxy_command(self, hop):
        login = (['-p', str(hop.port)] if hop.port else []) + (['-l', hop.user] if hop.user else [])
        # ssh expands %-tokens of a ProxyCommand once: a ProxyCommand inside this one keeps its tokens for its own ssh.
        inner = [arg.replace('%', '%%') for arg in self.unattended(hop) + login]
        return shlex.join(['ssh', *inner, '-W', '%h:%p', hop.host])


def l0_hop(l0):
    """How SSH reaches an L0 from the controller, or None for the controller itself."""
    if l0['local']:
        return None
    return Hop(l0['ssh_host'], port=l0['ssh_port'], user=l0['ssh_user'], guest=False)


def guest_hop(guest, parent_hop):
    """How SSH reaches a guest: at its address, or on its host's loopback (through that host), or None (unknown)."""
    if guest['reach'] == 'address':
        return Hop(guest['host'], port=guest['port'], user=guest['user'], alias=guest['host_key_alias'])
    if guest['reach'] == 'forward':
        return Hop(_LOOPBACK, port=guest['port'], user=guest['user'], alias=guest['host_key_alias'], via=parent_hop)
    return None


def guest_fact(name, state, inactive, live, parent, level_here):
    """What the inventory needs of one domain, or (None, why) for a domain the collection did not make.

    ``inactive`` is the domain's definition (the collection's record, as its last run left it), ``live`` the running
    one (the forwards its QEMU has now) or None; ``level_here`` the level of a domain found there without one."""
    root = etree.fromstring(inactive.encode())
    owner = ownership(root)
    if owner not in (OURS, LEGACY):
        return None, ('a copy of a domain of the collection (its record names another UUID)' if owner else
                      'not made by the collection')
    record = root.find('metadata/{%s}stack' % NK_NS)
    level = {'1': 1, '2': 2}.get(record.get('level'), level_here)
    problem = None
    try:
        access = validate_access(access_record(root))
    except OptionError as exc:
        access, problem = None, 'its access record is unusable (%s)' % exc.msg
    fact = dict(name=name, uuid=root.findtext('uuid'), level=level, profile=record.get('profile'), state=state,
                virt_type=root.get('type'), ownership=owner, parent=parent, user=None, host_key_alias=None,
                reach=None, host=None, port=None)
    if problem:
        return fact, problem  # a record that cannot be used points SSH nowhere
    port = 22
    if access:
        fact.update(user=access['user'], host_key_alias=access['host_key_alias'])
        port = access['port']
    if access and access['address']:
        fact.update(reach='address', host=access['address'], port=port)
    else:
        forwards = port_forwards(etree.fromstring(live.encode()) if live else root)
        host_ports = sorted(host for protocol, host, guest in forwards if protocol == 'tcp' and guest == port)
        if host_ports:
            fact.update(reach='forward', host=_LOOPBACK, port=host_ports[0])
    return fact, problem


class Discovery:
    """One run over the L0s of a Settings."""

    def __init__(self, settings):
        self.settings = settings
        self.ssh = Ssh(settings)
        self.facts = dict(l0_hosts=[], guests=[], problems=[], notes=[])
        self._where = {}

    def run(self):
        require_libraries()
        for l0 in self.settings.l0_hosts:
            self.facts['l0_hosts'].append(l0)
            self._where[l0['name']] = 'the configuration'
            try:
                found = self._read(l0['uri'], self.ssh.unattended(l0_hop(l0)) if l0['runs_ssh'] else None)
            except NestedKvmError as exc:
                self._problem("cannot list the domains of L0 '%s' (%s): %s. Its L1s and their guests are not listed"
                              % (l0['name'], l0['uri'], exc.msg))
                continue
            for guest in self._guests(found, l0['name'], level_here=1):
                if guest['level'] == 1 and guest['state'] in _RUNNING and self.settings.inside_l1s:
                    self._look_inside(guest, l0_hop(l0))
        return self.facts

    def _look_inside(self, l1, parent_hop):
        hop = guest_hop(l1, parent_hop)
        if hop is None:
            self._problem("cannot list the guests inside L1 '%s' (on '%s'): its definition says not how to reach it "
                          "(no access address and no forward to its SSH port). It is listed without them"
                          % (l1['name'], l1['parent']))
            return
        host = '[%s]' % hop.host if ':' in hop.host else hop.host
        uri = 'qemu+ssh://%s%s:%d/system' % ('%s@' % hop.user if hop.user else '', host, hop.port)
        try:
            found = self._read(uri, self.ssh.unattended(hop))
        except NestedKvmError as exc:
            self._problem("cannot list the guests inside L1 '%s' (on '%s') through %s: %s. It is listed without them"
                          % (l1['name'], l1['parent'], uri, exc.msg))
            return
        self._guests(found, l1['name'], level_here=2)

    def _read(self, uri, ssh_args):
        try:
            return read_domains(uri, self.settings.timeout, ssh_args)
        except libvirt.libvirtError as exc:
            # ssh's messages come on several lines.
            raise NestedKvmError(' '.join(exc.get_error_message().split()))

    def _guests(self, found, parent, level_here):
        guests = []
        for name, state, inactive, live in sorted(found, key=lambda definition: definition[0]):
            fact, why = guest_fact(name, state, inactive, live, parent, level_here)
            if fact is None:
                self.facts['notes'].append("domain '%s' on '%s' is not listed: %s" % (name, parent, why))
                continue
            try:
                validate_name(name, 'inventory host')
            except OptionError as exc:
                self._problem("domain '%s' on '%s' is not listed: %s" % (name, parent, exc.msg))
                continue
            if name in self._where:
                self._problem("domain '%s' on '%s' is not listed: a host of that name comes from %s already; rename one"
                              % (name, parent, self._where[name]))
                continue
            if why:
                self._problem("domain '%s' on '%s': %s. It is listed without connection settings" % (name, parent, why))
            self._where[name] = "'%s'" % parent
            self.facts['guests'].append(fact)
            guests.append(fact)
        return guests

    def _problem(self, message):
        self.facts['problems'].append(message)


def discover(settings):
    """{l0_hosts, guests, problems, notes}: plain data, as the inventory cache keeps it."""
    return Discovery(settings).run()


def inventory_hosts(facts, settings):
    """(name, group, variables) of every host in ``facts``, L0s first, each after the host it runs on."""
    ssh = Ssh(settings)
    hops = {}
    hosts = []
    for l0 in facts['l0_hosts']:
        hops[l0['name']] = l0_hop(l0)
        if l0['local']:
            variables = dict(ansible_connection='local')
        else:
            variables = dict(ansible_host=l0['ssh_host'])
            variables.update({key: l0[fact] for key, fact in (('ansible_user', 'ssh_user'), ('ansible_port', 'ssh_port'))
                              if l0[fact] is not None})
        hosts.append((l0['name'], GROUPS[0], variables))
    for guest in facts['guests']:
        hop = guest_hop(guest, hops.get(guest['parent']))
        hops[guest['name']] = hop
        variables = {'nestedkvm_%s' % key: guest[key] for key in ('level', 'uuid', 'profile', 'state', 'virt_type',
                                                                  'ownership', 'parent')}
        variables['nestedkvm_domain'] = guest['name']
        # What the collection's roles read, so its playbooks (teardown, the overhead report) work on this inventory.
        role = 'l1_hypervisor' if guest['level'] == 1 else 'l2_guests'
        variables['l1_hypervisor_l0_host' if guest['level'] == 1 else 'l2_guests_l1_host'] = guest['parent']
        if guest['host_key_alias']:
            variables['%s_known_hosts_name' % role] = guest['host_key_alias']
        if hop is not None:
            variables.update(ansible_host=hop.host, ansible_port=hop.port,
                             ansible_ssh_common_args=shlex.join(ssh.common(hop)))
            if hop.user:
                variables['ansible_user'] = hop.user
            if settings.private_key_file:
                variables['ansible_ssh_private_key_file'] = settings.private_key_file
        hosts.append((guest['name'], GROUPS[guest['level']], variables))
    return hosts


# -- reading libvirt, bounded ---------------------------------------------------------------------------------------

def read_domains(uri, timeout, ssh_args=None):
    """(name, state, inactive XML, live XML or None) of every domain behind ``uri``, read-only, within ``timeout`` s.

    With ``ssh_args``, libvirt's ssh transport runs ssh with them (the URI must be a qemu+ssh one)."""
    workdir = tempfile.mkdtemp(prefix='nestedkvm-topology-') if ssh_args is not None else None
    try:
        target = uri
        if workdir is not None:
            script = _ssh_script(workdir, ssh_args)
            target = '%s%scommand=%s' % (uri, '&' if urlsplit(uri).query else '?', quote(script, safe='/'))
        return _bounded(lambda: _read_all(target), timeout, lambda: workdir is not None and _end_ssh(workdir))
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _ssh_script(workdir, ssh_args):
    path = os.path.join(workdir, 'ssh')
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700), 'w') as script:
        script.write('#!/bin/sh\necho $$ > %s\nexec %s "$@"\n'
                     % (shlex.quote(os.path.join(workdir, 'pid')), shlex.join(['ssh', *ssh_args])))
    return path


def _end_ssh(workdir):
    """End the ssh our script became (its process id is in the work directory); libvirt then fails the call."""
    try:
        with open(os.path.join(workdir, 'pid')) as handle:
            os.kill(int(handle.read().strip()), signal.SIGTERM)
    except (OSError, ValueError):
        return False  # not started yet, or gone already
    return True


def _bounded(work, timeout, end):
    """work() in a thread, waited for ``timeout`` s; past that, ``end()`` stops it where it can, and an error says so."""
    outcome = {}

    def run():
        try:
            outcome['value'] = work()
        except Exception as exc:  # handed to the caller's thread
            outcome['error'] = exc

    worker = threading.Thread(target=run, name='nestedkvm-topology', daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        if end():
            worker.join(_AFTER_KILL)
        raise NestedKvmError('no answer within %d s (timeout); the connection was ended' % timeout)
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


def _read_all(uri):
    conn = libvirt.openReadOnly(uri)
    try:
        found = []
        for domain in conn.listAllDomains():
            try:
                active = domain.isActive()
                found.append((domain.name(), STATES.get(domain.state()[0], 'nostate'),
                              domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), domain.XMLDesc(0) if active else None))
            except libvirt.libvirtError as exc:
                # A domain removed while it was read is simply not there.
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
        return found
    finally:
        try:
            conn.close()
        except libvirt.libvirtError:
            pass  # the connection died: nothing to release
