# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A directory storage pool: defined, built, active and (optionally) autostarted, or undefined.

Undefining a pool only forgets it: the directory and the volumes in it are never deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nestedkvm.stack.plugins.module_utils._compare import render
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection
from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import validate_name
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

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


def pool_xml(name, path):
    pool = etree.Element('pool', type='dir')
    etree.SubElement(pool, 'name').text = name
    target = etree.SubElement(pool, 'target')
    etree.SubElement(target, 'path').text = path
    # Searchable, not listable, by others: QEMU reaches the images it is given, nobody browses them.
    etree.SubElement(etree.SubElement(target, 'permissions'), 'mode').text = '0711'
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
            if not os.path.isabs(params['path']):
                raise OptionError('path', "'%s' is not an absolute path." % params['path'])
        with Connection(params['uri']) as conn:
            pool = conn.pool(params['name'])
            before = describe(pool)
            after = self._present(conn, pool, before) if params['state'] == 'present' else self._absent(pool, before)
        result = dict(changed=bool(self.actions), name=params['name'], actions=self.actions, pool=after)
        if result['changed']:
            result['diff'] = dict(before=render(before), after=render(after))
        return result

    def _present(self, conn, pool, before):
        params = self.params
        path = os.path.normpath(params['path'])
        if before is not None and (before['type'] != 'dir' or os.path.normpath(before['path']) != path):
            raise OptionError(
                'path', "pool '%s' already exists as a %s pool at %s. Use that path, or another pool name; "
                "this module never moves or redefines an existing pool." % (params['name'], before['type'], before['path']))
        after = dict(type='dir', path=path, active=True, autostart=params['autostart'])
        check = self.module.check_mode
        if pool is None:
            self.actions += ['define', 'build']
            if not check:
                pool = conn.conn.storagePoolDefineXML(pool_xml(params['name'], path), 0)
                # Creates the directory if missing (with the mode above), leaves an existing one as it is.
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
