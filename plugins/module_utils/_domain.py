# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domain engine shared by l1_domain and l2_domain: plan, compare, define, and drive the
domain to the requested state (present/running/shutdown/destroyed/absent) with bounded waits.

Order of work, so that bad input or a failure part-way changes nothing or is rolled back, and a
run killed at any point leaves what the next run completes:
validate options (DomainSpec, cloud_init included) -> plan (reads only: volumes, the definition
compared with libvirt's, the state change; a DomainPlan, which is all check mode and the result
report) -> carry the plan out: define (validated by libvirt, and recording the volumes about to be
created as the domain's own) -> create volumes -> upload the seed -> define again with the seed's
digest -> state change. On an error while defining, the volumes created and the definition are
undone. Runs that change a domain hold its lock (Connection.lock).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import time
import uuid

from ansible_collections.nestedkvm.stack.plugins.module_utils import _compare, _domain_xml
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import DomainSpec
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._names import validate_name
from ansible_collections.nestedkvm.stack.plugins.module_utils._ownership import (
    DomainClaim, disk_sources, ownership, volumes_to_delete)
from ansible_collections.nestedkvm.stack.plugins.module_utils._storage import Storage

try:
    import libvirt
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    pass

_STATE_NAMES = {0: 'nostate', 1: 'running', 2: 'running', 3: 'paused', 4: 'shutdown', 5: 'shutoff', 6: 'crashed',
                7: 'pmsuspended'}
_RUNNING = 1
_PAUSED = 3
_SHUTOFF = 5


# Facts of the record alone: redefining for them does not change what the guest runs on.
_METADATA_ONLY = frozenset(['ownership', 'access'])


# A system disk with less than this allocated has had nothing installed on it (a new qcow2 holds ~200 KiB).
EMPTY_DISK_BYTES = 1024 ** 2


def installer_boots_first(spec, plans):
    """Boot install_iso before the disk while the system disk (the first) is empty: new, or with (almost) nothing
    allocated and no backing image. Once something is installed, the disk goes first again."""
    if not any(option == 'install_iso' for option, _path in spec.cdroms) or not plans:
        return False
    system = plans[0]
    if system.backing is not None:
        return False
    return system.volume is None or system.volume.info()[2] < EMPTY_DISK_BYTES


def describe(root):
    """_domain_xml.describe, with whose the domain is (see _ownership)."""
    description = _domain_xml.describe(root)
    description['ownership'] = ownership(root)
    return description


class Step:
    """One thing a run does: its name in ``actions``, and how it is done: ``do(plan)``, never called in check mode.
    The plan is passed rather than held, so that no step refers back to it: a cycle would keep the virDomain, and
    with it the libvirt connection, open until Python's garbage collector ran."""

    def __init__(self, action, do):
        self.action = action
        self.do = do


class DomainPlan:
    """What a run changes, worked out from reads only: the definition's difference, the volumes to create, the
    state change. ``changed``, ``diff``, ``actions`` and what check mode reports all come from it, so check mode
    and a real run cannot disagree; a real run then carries the steps out, in order."""

    def __init__(self, domain, before):
        self.domain = domain  # the virDomain; for a new domain None until the define step has made it
        self.before = before  # description of the current definition, None without a domain
        self.after = before  # description of the definition the run leaves
        self.changed_facts = []
        self.diff = None
        self.to_create = []  # VolumePlans of the volumes the define step creates
        self.steps = []
        self.state = None  # the power state the run leaves, as far as it can be known beforehand
        self.reboot_required = False

    def add(self, action, do=None):
        self.steps.append(Step(action, do or (lambda plan: None)))

    @property
    def actions(self):
        return [step.action for step in self.steps]

    @property
    def changed(self):
        return bool(self.steps)

    def carry_out(self):
        for step in self.steps:
            step.do(self)


class DomainManager:
    """Runs one domain module: ``run()`` returns the result dict (``changed``, ``diff``, ...)."""

    def __init__(self, module, level, profile='hypervisor'):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.level = level
        self.profile = profile

    def run(self):
        with Connection(self.params['uri']) as connection:
            self.connection = connection
            self.storage = Storage(connection)
            run = self._absent if self.params['state'] == 'absent' else self._present
            if self.check_mode:
                return run()
            with connection.lock(validate_name(self.params['name']), self.params['timeout']):
                return run()

    # -- absent ----------------------------------------------------------------------------

    def _absent(self):
        name = validate_name(self.params['name'])
        domain = self.connection.domain(name)
        result = dict(changed=False, name=name, state='absent', removed_volumes=[], kept_volumes=[], actions=[])
        if domain is None:
            return result
        live = self._inactive_xml(domain)
        claim = DomainClaim(name, live)
        claim.require(self.params['adopt'])
        plan = DomainPlan(domain, describe(live))
        plan.diff = dict(before=_compare.render(plan.before), after='', before_header=name, after_header='(absent)')
        volumes, kept = self._volumes_to_delete(domain, live, claim) if self.params['remove_storage'] else ([], [])
        if claim.adopting:
            plan.add('adopt')
        if domain.isActive():
            plan.add('destroy', lambda plan: plan.domain.destroy())
        plan.add('undefine', lambda plan: _undefine(plan.domain))
        for pool, volume in volumes:
            plan.add('delete volume %s/%s' % (pool, volume),
                     lambda plan, pool=pool, volume=volume: self.storage.delete(pool, volume))
        if not self.check_mode:
            plan.carry_out()
        result.update(changed=plan.changed, uuid=domain.UUIDString(), diff=plan.diff, actions=plan.actions,
                      removed_volumes=['%s/%s' % key for key in volumes],
                      kept_volumes=['%s/%s: %s' % (pool, volume, reason) for (pool, volume), reason in kept])
        for line in result['kept_volumes']:
            self.module.warn('remove_storage: kept volume %s' % line)
        return result

    def _volumes_to_delete(self, domain, live, claim):
        """(delete, keep) of the volumes the domain's record claims; see _ownership.volumes_to_delete."""
        candidates = []
        for key in sorted(claim.recorded_volumes):
            path = self.storage.volume_path(*key)
            if path is not None:
                candidates.append((key, os.path.normpath(path)))
        if not candidates:
            return [], []
        own = {os.path.normpath(p) for p in disk_sources(live)}
        users = {}
        for other in self.connection.conn.listAllDomains():
            if other.UUIDString() == domain.UUIDString():
                continue
            sources = disk_sources(self._inactive_xml(other))
            if other.isActive():
                sources |= disk_sources(etree.fromstring(other.XMLDesc(0).encode()))
            for source in sources:
                for path in [source, *self.storage.backing_files(source)]:
                    users.setdefault(os.path.normpath(path), set()).add(other.name())
        return volumes_to_delete(candidates, own, users)

    # -- present / running / shutdown / destroyed ----------------------------------------

    def _present(self):
        spec = DomainSpec.from_params(self.params, self.connection.capabilities, level=self.level,
                                      profile=self.profile, warn=self.module.warn)
        plan = self._plan(spec)
        result = dict(changed=plan.changed, name=spec.name, virt_type=spec.virt_type, actions=plan.actions,
                      changed_facts=plan.changed_facts, created_volumes=['%s/%s' % p.key for p in plan.to_create],
                      user_network_backend=spec.user_network_backend, reboot_required=plan.reboot_required,
                      state=plan.state)
        if plan.diff is not None:
            result['diff'] = plan.diff
        if self.params['autostart'] is not None:
            result['autostart'] = self.params['autostart']
        after = plan.after
        if not self.check_mode:
            plan.carry_out()
            result['state'] = _STATE_NAMES.get(plan.domain.state()[0])
            if plan.diff is not None:
                after = describe(self._inactive_xml(plan.domain))  # with what libvirt filled in (MACs)
        result.update(definition=_compare.plain(after), console_log=after.get('console_log'))
        if plan.domain is not None:
            result['uuid'] = plan.domain.UUIDString()
        return result

    def _plan(self, spec):
        """The DomainPlan of ``spec``; reads only, and fails (with an OptionError) before anything is changed."""
        self._check_ports_are_free(spec)
        domain = self.connection.domain(spec.name)
        live = self._inactive_xml(domain) if domain is not None else None
        claim = DomainClaim(spec.name, live) if live is not None else None
        if claim is not None:
            claim.require(self.params['adopt'])
        plan = DomainPlan(domain, describe(live) if live is not None else None)
        owned = claim.recorded_volumes if claim is not None else set()
        # The UUID is chosen here, not by libvirt, so that the record can name it from the first definition.
        domain_uuid = domain.UUIDString() if domain is not None else str(uuid.uuid4())

        disks = self.storage.plan_disks(spec, owned, disk_sources(live) if live is not None else ())
        spec.installer_first = installer_boots_first(spec, disks)
        for option, path in spec.cdroms:
            if not self.storage.iso_exists(path):
                raise OptionError(option, "ISO image '%s' was not found on the host behind %s: check the path"
                                  % (path, self.params['uri']))
        seed_data = spec.seed_image
        seed_plan = self.storage.plan_seed(spec, len(seed_data), owned) if seed_data is not None else None
        self._warn_about_existing_volumes(disks)
        seed_digest = hashlib.sha256(seed_data).hexdigest() if seed_data is not None else None
        seed_stale = seed_plan is not None and (seed_plan.volume is None or
                                                (plan.before or {}).get('seed_sha256') != seed_digest)
        if seed_plan is not None and seed_plan.volume is not None and seed_stale and not seed_plan.owned:
            raise OptionError('cloud_init', "volume %s/%s exists but was not created by this module for '%s': "
                                            "remove it or rename the domain" % (seed_plan.pool_name, seed_plan.name, spec.name))
        # The new disks first, then a new or stale seed: the order they are created in.
        plan.to_create = [p for p in disks if p.volume is None] + ([seed_plan] if seed_stale else [])
        new_owned = owned | {p.key for p in plan.to_create}
        if seed_plan is not None:
            new_owned.add(seed_plan.key)

        def definition(seed_digest):
            seed = (seed_plan.path, seed_digest) if seed_plan is not None else None
            desired = _domain_xml.build(spec, [p.path for p in disks], seed, new_owned, uuid=domain_uuid)
            return _domain_xml.merge(live, desired) if live is not None else desired

        candidate = definition(seed_digest)
        plan.after = describe(candidate)
        plan.changed_facts = _compare.changed_keys(plan.before, plan.after)
        if claim is not None and claim.adopting:
            plan.add('adopt')
        if plan.changed_facts or plan.to_create:
            plan.diff = dict(before=_compare.render(plan.before), after=_compare.render(plan.after, plan.before),
                             before_header=spec.name if live is not None else '(absent)', after_header=spec.name)
            # Until the seed is uploaded, the definition carries no digest for it: a run killed
            # before the upload completes leaves a seed the next run sees as stale.
            pending = definition(None) if seed_stale else candidate
            plan.add('define' if live is None else 'update definition (%s)' % ', '.join(plan.changed_facts),
                     lambda plan: self._create_and_define(plan, live, pending, candidate, seed_plan, seed_data))
        state = _STATE_NAMES.get(domain.state()[0]) if domain is not None else 'shutoff'
        self._plan_state(plan, state, bool(set(plan.changed_facts) - _METADATA_ONLY) and live is not None)
        self._plan_autostart(plan, bool(domain.autostart()) if domain is not None else False)
        return plan

    def _warn_about_existing_volumes(self, disks):
        for disk in disks:
            if disk.volume is not None and not disk.owned:
                self.module.warn("volume %s/%s already existed and is used as it is; it is not marked as created by "
                                 "this module, so remove_storage will keep it" % disk.key)
            actual = disk.volume.info()[1] if disk.volume is not None else None
            # Images round sizes up to their cluster size: only a real difference is worth a word.
            if actual is not None and disk.capacity and abs(actual - disk.capacity) >= 1024 ** 2:
                # Never shrink a disk; growing it is left to the user until it can be done safely online.
                self.module.warn("%s.size: volume %s/%s holds %d bytes, not the %d asked for; existing volumes are not "
                                 "resized (grow it with `virsh vol-resize` or `virsh blockresize`)"
                                 % (disk.option, disk.pool_name, disk.name, actual, disk.capacity))

    def _create_and_define(self, plan, live, pending, candidate, seed_plan, seed_data):
        created = []
        domain = None
        try:
            domain = self._define(pending)
            for volume in plan.to_create:
                if volume.volume is not None:  # a stale seed, made anew
                    volume.volume.delete(0)
                    volume.volume = None
                self.storage.create(volume, seed_data if volume is seed_plan else None)
                created.append(volume)
            if candidate is not pending:
                domain = self._define(candidate)
        except Exception:
            self._roll_back(live, domain, created)
            raise
        plan.domain = domain

    def _define(self, definition):
        try:
            return self.connection.conn.defineXMLFlags(etree.tostring(definition).decode(),
                                                       libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        except libvirt.libvirtError as exc:
            if not self.connection.alive:
                raise
            raise NestedKvmError('libvirt refused the definition of %s: %s'
                                 % (definition.findtext('name'), exc.get_error_message()))

    def _roll_back(self, live, domain, created):
        """Undo a failed run's volumes and definition; when libvirt is gone, leave it to the next run."""
        if not self.connection.alive:
            return
        undo = [(lambda plan=plan: self.storage.delete(plan.pool_name, plan.name), 'delete volume %s/%s' % plan.key)
                for plan in created]
        if domain is not None and live is None:
            undo.append((lambda: _undefine(domain), 'undefine the new domain'))
        elif domain is not None:
            undo.append((lambda: self._define(live), 'restore the previous definition'))
        for action, what in undo:
            try:
                action()
            except (libvirt.libvirtError, NestedKvmError) as exc:
                self.module.warn('could not %s after the failure below: %s' % (what, exc))

    def _plan_state(self, plan, state, config_changed):
        """The steps from the power state ``state`` to the one asked for; ``config_changed``: the definition of a
        domain that exists changes in more than its record."""
        wanted = self.params['state']
        if wanted == 'running':
            if state == 'paused':
                plan.add('resume', lambda plan: plan.domain.resume())
            elif state != 'running':
                plan.add('start', lambda plan: self._start(plan.domain))
            elif config_changed:
                self._plan_restart(plan)
        elif wanted == 'shutdown' and state not in ('shutoff', 'crashed'):
            why = ('shut down (the guest ignored the ACPI shutdown request? use state destroyed to power it off, or '
                   'raise timeout)')
            plan.add('shutdown', lambda plan: self._shut_down(plan.domain, why))
        elif wanted == 'destroyed' and state not in ('shutoff', 'crashed'):
            plan.add('destroy', lambda plan: plan.domain.destroy())
        elif wanted == 'present' and state in ('running', 'paused') and config_changed:
            self._plan_restart(plan)
        plan.state = {'running': 'running', 'shutdown': 'shutoff', 'destroyed': 'shutoff'}.get(wanted, state)

    def _plan_restart(self, plan):
        if not self.params['restart_on_change']:
            plan.reboot_required = True
            return
        why = 'shut down for the restart that restart_on_change asked for'
        plan.add('shutdown', lambda plan: self._shut_down(plan.domain, why))
        plan.add('start', lambda plan: self._start(plan.domain))

    def _plan_autostart(self, plan, current):
        wanted = self.params['autostart']
        if wanted is not None and current != wanted:
            plan.add('autostart %s' % ('on' if wanted else 'off'), lambda plan: plan.domain.setAutostart(int(wanted)))

    def _start(self, domain):
        domain.create()
        self._wait(domain, _RUNNING, 'start')

    def _shut_down(self, domain, what):
        domain.shutdown()
        self._wait(domain, _SHUTOFF, what)

    def _wait(self, domain, state, what):
        deadline = time.monotonic() + self.params['timeout']
        delay = 0.1
        while domain.state()[0] != state:
            if time.monotonic() > deadline:
                raise NestedKvmError("domain '%s' did not %s within %d s (timeout); it is now %s"
                                     % (domain.name(), what, self.params['timeout'],
                                        _STATE_NAMES.get(domain.state()[0])))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _check_ports_are_free(self, spec):
        # Two domains forwarding the same loopback port: the second would fail only when it starts
        # (or, defined while the first is off, steal its port later). Only runs with forwards to check.
        wanted = {(protocol, port): option for protocol, port, option in spec.forwards}
        if not wanted:
            return
        for other in self.connection.conn.listAllDomains():
            if other.name() == spec.name:
                continue
            for taken in sorted(_domain_xml.forwarded_ports(self._inactive_xml(other)) & set(wanted)):
                raise OptionError(wanted[taken], "%s port %d on 127.0.0.1 is already forwarded to domain '%s': pick a "
                                                 "free port" % (taken[0], taken[1], other.name()))
        if self.connection.runs_qemu_here:
            self._check_ports_can_be_bound(spec)

    def _check_ports_can_be_bound(self, spec):
        # QEMU binds the forwards when the guest starts, without the privilege for low ports: a port it cannot
        # have would fail only then, after the definition was saved. Its own running QEMU holds them already.
        from ansible_collections.nestedkvm.stack.plugins.module_utils._loopback_ports import (
            UNPRIVILEGED_PORT_START, loopback_port_holders, unprivileged_port_start)
        from ansible_collections.nestedkvm.stack.plugins.module_utils._procfs import is_passt

        lowest = unprivileged_port_start()
        domain = self.connection.domain(spec.name)
        running = domain is not None and domain.isActive()
        # On the passt backend the port is held by the passt libvirt started for the running domain's interface;
        # it names no domain, so it is the domain's own when the running definition forwards that port.
        running_forwards = _domain_xml.forwarded_ports(etree.fromstring(domain.XMLDesc(0).encode())) if running else set()
        for protocol, port, option in spec.forwards:
            if port < lowest:
                raise OptionError(option, "%s port %d is below %d (%s): QEMU runs without the privilege to bind it; "
                                          "pick a port from %d up" % (protocol, port, lowest, UNPRIVILEGED_PORT_START,
                                                                      lowest))
            holders = loopback_port_holders(protocol, port)
            own = set()
            if running:
                own = {pid for pid, guest in holders.items()
                       if guest == spec.name or (pid is not None and (protocol, port) in running_forwards
                                                 and is_passt(pid))}
            others = sorted((pid for pid in holders if pid not in own), key=lambda pid: -1 if pid is None else pid)
            if others:
                who = ', '.join('pid %d' % pid if pid is not None else 'a process this user cannot see' for pid in others)
                raise OptionError(option, "%s port %d on 127.0.0.1 is already in use on this host (%s): pick a free port"
                                  % (protocol, port, who))

    @staticmethod
    def _inactive_xml(domain):
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        return etree.fromstring(domain.XMLDesc(flags).encode())


def _undefine(domain):
    # NVRAM and swtpm state belong to the domain; snapshots/checkpoint metadata would block undefine.
    flags = 0
    for name in ('VIR_DOMAIN_UNDEFINE_NVRAM', 'VIR_DOMAIN_UNDEFINE_MANAGED_SAVE',
                 'VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA', 'VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA'):
        flags |= getattr(libvirt, name, 0)
    try:
        domain.undefineFlags(flags)
    except libvirt.libvirtError as exc:
        # Drivers without NVRAM/checkpoints (e.g. the test driver) reject those flags as unsupported.
        if exc.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG):
            raise
        domain.undefine()
