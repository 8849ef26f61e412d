# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A directory storage pool: defined, built, active and (optionally) autostarted, or undefined.

Undefining a pool only forgets it: the directory and the volumes in it are never deleted.

A directory that exists is used as it is: libvirt's build step would chmod it to the mode of the pool's
<permissions> (measured on libvirt 9.0), so an existing directory gets neither that element nor a build.
Only a directory this module creates gets mode 0711. The system's own directories, and any directory
above one of them, are refused.

Which pools are the collection's: libvirt keeps no metadata for pools, so the proof is the pool's UUID. A pool
this module defines gets the UUID derived from its name and path (``pool_uuid``). A pool defined by anyone else
has another one, and so does a copy of one of the collection's pools (``virsh pool-dumpxml | pool-define`` under
another name needs a UUID of its own). Such a pool is used as it is, never started, stopped, changed or undefined,
unless the task says ``adopt``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import uuid

from ansible_collections.nestedkvm.stack.plugins.module_utils._compare import render
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection, is_local_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._names import validate_name

try:
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    pass


def pool_argument_spec():
    return dict(
        name=dict(type='str', required=True),
        path=dict(type='path'),
        uri=dict(type='str', default='qemu:///system'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        autostart=dict(type='bool', default=True),
        adopt=dict(type='bool', default=False),
    )


# The namespace of the UUIDs this module gives the pools it defines; fixed for good, since it is how a later run
# recognises them.
_POOL_UUID_NAMESPACE = uuid.UUID('163bb59a-0dc3-4514-b365-466afb77117f')


def pool_uuid(name, path):
    """The UUID this module gives a pool named ``name`` at ``path`` (normalized)."""
    return str(uuid.uuid5(_POOL_UUID_NAMESPACE, 'storage_pool\0%s\0%s' % (name, path)))


# Trees that belong to the system (packages, the kernel's pseudo file systems, runtime state): no pool in them.
_SYSTEM_TREES = ('/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/run', '/sbin',
                 '/sys', '/usr')
# Directories that hold others' files: a pool may live below them, never at them.
_SYSTEM_DIRS = ('/', '/home', '/media', '/mnt', '/opt', '/root', '/srv', '/tmp', '/var', '/var/cache', '/var/lib',
                '/var/lib/libvirt', '/var/lib/libvirt/qemu', '/var/log', '/var/mail', '/var/spool', '/var/tmp',
                '/var/run', '/usr/local')


def _normalized(path):
    path = os.path.normpath(path)
    return '/' + path.lstrip('/')  # POSIX keeps a leading '//'; it is the same directory


def system_directory(path):
    """The system directory ``path`` (absolute, normalized) is, is inside, or is a parent of; else None."""
    for tree in _SYSTEM_TREES:
        if path == tree or path.startswith(tree + '/'):
            return tree
    for directory in _SYSTEM_TREES + _SYSTEM_DIRS:
        if path == directory or directory.startswith(path.rstrip('/') + '/'):
            return directory
    return None


def check_pool_path(path, local):
    """The normalized ``path`` of a pool, or an OptionError naming 'path'. On this host (``local``) the
    directory it resolves to (symbolic links followed) is checked as well."""
    if not os.path.isabs(path):
        raise OptionError('path', "'%s' is not an absolute path." % path)
    normalized = _normalized(path)
    for candidate in (normalized, os.path.realpath(normalized) if local else normalized):
        system = system_directory(candidate)
        if system is not None:
            raise OptionError('path', "'%s' is, is inside, or holds the system directory '%s' (as %s): a storage pool "
                                      "needs a directory of its own, such as /var/lib/nestedkvm/pool"
                                      % (path, system, candidate))
    if local and os.path.lexists(normalized) and not os.path.isdir(normalized):
        raise OptionError('path', "'%s' exists and is not a directory" % path)
    return normalized


def pool_xml(name, path, mode=None):
    """A dir pool, with the UUID that makes it the collection's; ``mode`` (e.g. '0711') only for a directory the
    build step is to create."""
    pool = etree.Element('pool', type='dir')
    etree.SubElement(pool, 'name').text = name
    etree.SubElement(pool, 'uuid').text = pool_uuid(name, path)
    target = etree.SubElement(pool, 'target')
    etree.SubElement(target, 'path').text = path
    if mode is not None:
        etree.SubElement(etree.SubElement(target, 'permissions'), 'mode').text = mode
    return etree.tostring(pool).decode()


def describe(pool):
    """The facts this module manages of a virStoragePool (None when absent)."""
    if pool is None:
        return None
    root = etree.fromstring(pool.XMLDesc(0).encode())
    return dict(type=root.get('type'), path=root.findtext('target/path'),
                active=bool(pool.isActive()), autostart=bool(pool.autostart()))


def made_by_collection(pool, name, path):
    """Whether the existing virStoragePool ``pool`` is one this module defined as ``name`` at ``path``."""
    return pool.UUIDString().lower() == pool_uuid(name, _normalized(path))


class PoolManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.actions = []

    def run(self):
        params = self.params
        validate_name(params['name'], what='storage pool')
        path = None
        if params['state'] == 'present':
            if not params['path']:
                raise OptionError('path', 'is required with state=present: the directory the pool keeps its volumes in.')
            path = check_pool_path(params['path'], is_local_uri(params['uri']))
        with Connection(params['uri']) as conn:
            pool = conn.pool(params['name'])
            before = describe(pool)
            ours = pool is None or made_by_collection(pool, params['name'], before['path'])
            if params['state'] == 'present':
                after = self._present(conn, pool, before, path, ours)
            else:
                after = self._absent(pool, before, ours)
        result = dict(changed=bool(self.actions), name=params['name'], actions=self.actions, pool=after,
                      made_by_collection=ours if after is not None else None)
        if result['changed']:
            result['diff'] = dict(before=render(before), after=render(after))
        return result

    def _claim(self, before, todo):
        """Let ``todo`` (the actions a pool the collection did not make would need) go ahead only with adopt."""
        if not todo:
            return
        if not self.params['adopt']:
            raise OptionError(
                'adopt', "pool '%s' (%s) exists but this collection did not define it, and this task would %s it. It "
                "was left as it is. Do that yourself, use another pool name, or set adopt: true to let this task "
                "manage it." % (self.params['name'], before['path'], ' and '.join(todo)))
        self.actions.append('adopt')

    def _present(self, conn, pool, before, path, ours):
        params = self.params
        if before is not None and (before['type'] != 'dir' or _normalized(before['path']) != path):
            raise OptionError(
                'path', "pool '%s' already exists as a %s pool at %s. Use that path, or another pool name; "
                "this module never moves or redefines an existing pool." % (params['name'], before['type'], before['path']))
        after = dict(type='dir', path=path, active=True, autostart=params['autostart'])
        start = before is None or not before['active']
        autostart = before is None or before['autostart'] != params['autostart']
        if not ours:
            self._claim(before, ['start'] * start + ['change the autostart of'] * autostart)
        check = self.module.check_mode
        if pool is None:
            # Known on this host; behind a remote URI, libvirt's build without <permissions> leaves an existing
            # directory as it is and makes a missing one with its default mode.
            missing = not os.path.isdir(path) if is_local_uri(params['uri']) else None
            self.actions += ['define'] if missing is False else ['define', 'build']
            if not check:
                pool = conn.conn.storagePoolDefineXML(pool_xml(params['name'], path, '0711' if missing else None), 0)
                if missing is not False:
                    pool.build(0)
        if start:
            self.actions.append('start')
            if not check:
                pool.create(0)
        if autostart:
            self.actions.append('autostart' if params['autostart'] else 'no autostart')
            if not check:
                pool.setAutostart(int(params['autostart']))
        return after

    def _absent(self, pool, before, ours):
        if before is None:
            return None
        if not ours:
            self._claim(before, ['stop'] * before['active'] + ['undefine'])
        if before['active']:
            self.actions.append('stop')
            if not self.module.check_mode:
                pool.destroy()
        self.actions.append('undefine')
        if not self.module.check_mode:
            pool.undefine()
        return None
