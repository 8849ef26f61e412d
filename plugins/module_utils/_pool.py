# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A directory storage pool: defined, built, active and (optionally) autostarted, or undefined.

Undefining a pool only forgets it: the directory and the volumes in it are never deleted.

A directory that exists is used as it is: libvirt's build step would chmod it to the mode of the pool's
<permissions> (measured on libvirt 9.0), so an existing directory gets neither that element nor a build.
Only a directory this module creates gets mode 0711. The system's own directories, and any directory
above one of them, are refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

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
    )


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
    """A dir pool; ``mode`` (e.g. '0711') only for a directory the build step is to create."""
    pool = etree.Element('pool', type='dir')
    etree.SubElement(pool, 'name').text = name
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


class PoolManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.actions = []

    def run(self):
        params = self.params
        validate_name(params['name'], what='storage pool')
        if params['state'] == 'present':
            if not params['path']:
                raise OptionError('path', 'is required with state=present: the directory the pool keeps its volumes in.')
            path = check_pool_path(params['path'], is_local_uri(params['uri']))
        with Connection(params['uri']) as conn:
            pool = conn.pool(params['name'])
            before = describe(pool)
            after = self._present(conn, pool, before, path) if params['state'] == 'present' else self._absent(pool, before)
        result = dict(changed=bool(self.actions), name=params['name'], actions=self.actions, pool=after)
        if result['changed']:
            result['diff'] = dict(before=render(before), after=render(after))
        return result

    def _present(self, conn, pool, before, path):
        params = self.params
        if before is not None and (before['type'] != 'dir' or _normalized(before['path']) != path):
            raise OptionError(
                'path', "pool '%s' already exists as a %s pool at %s. Use that path, or another pool name; "
                "this module never moves or redefines an existing pool." % (params['name'], before['type'], before['path']))
        after = dict(type='dir', path=path, active=True, autostart=params['autostart'])
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
        if before is None or not before['active']:
            self.actions.append('start')
            if not check:
                pool.create(0)
        if before is None or before['autostart'] != params['autostart']:
            self.actions.append('autostart' if params['autostart'] else 'no autostart')
            if not check:
                pool.setAutostart(int(params['autostart']))
        return after

    def _absent(self, pool, before):
        if before is None:
            return None
        if before['active']:
            self.actions.append('stop')
            if not self.module.check_mode:
                pool.destroy()
        self.actions.append('undefine')
        if not self.module.check_mode:
            pool.undefine()
        return None
