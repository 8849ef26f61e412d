#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: storage_pool
short_description: A libvirt directory storage pool for domain disks and base images
version_added: '0.1.0'
description:
  - Makes sure a libvirt storage pool of type C(dir) exists at O(path), is built (the directory exists), is active and
    starts with libvirtd (O(autostart)); or that no pool of that name is defined.
  - The disks of M(nestedkvm.stack.l1_domain) and M(nestedkvm.stack.l2_domain) are volumes in such a pool.
  - An existing pool is never moved or redefined. A pool of the same name at another path, or of another type, is an
    error that names both paths.
  - O(state=absent) stops and undefines the pool only; its directory and the volumes in it are kept.
  - It changes only pools it defined (see O(adopt)). Another pool of that name and path is used as it is when it is
    already active with the requested O(autostart); otherwise the task fails, naming it and O(adopt), and changes
    nothing.
author:
  - nestedkvm.stack developers (@nestedkvm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - nestedkvm.stack.domain.libvirt_uri
options:
  name:
    description: Pool name.
    type: str
    required: true
  path:
    description:
      - Absolute path of the directory that holds the volumes. Required with O(state=present).
      - Created with mode 0711 when missing (QEMU can reach the images it is given, other users cannot list them). An
        existing directory keeps its owner and mode; the pool is defined without C(<permissions>) and not built, as
        libvirt's build step would chmod it. Behind a remote O(uri), where its existence cannot be seen, the pool is
        built without C(<permissions>), which leaves an existing directory as it is.
      - Never a system directory or a parent of one (V(/), V(/etc), V(/var), V(/var/lib), V(/home), V(/root), V(/tmp),
        ...) nor anything inside V(/usr), V(/etc), V(/boot), V(/dev), V(/proc), V(/sys), V(/run) and the C(bin) and
        C(lib) trees; on this host the check follows symbolic links.
    type: path
  state:
    description: V(present) defines, builds (only a missing directory) and starts the pool. V(absent) stops and undefines it.
    type: str
    choices: [present, absent]
    default: present
  autostart:
    description: Start the pool with libvirtd.
    type: bool
    default: true
  adopt:
    description:
      - Let this task start, change the autostart of, stop or undefine a pool that the collection did not define
        (made by hand, by another tool, or a copy of one of the collection's pools under another name).
      - libvirt keeps no metadata for pools, so a pool is the collection's when its UUID is the one this module
        derives from the pool's name and path and gives every pool it defines. Without O(adopt), any other pool is
        never changed, in any O(state); the task fails before touching anything, naming the pool and this option.
      - Adopting does not change the pool's UUID, so a later task needs O(adopt) again to change it. Pools defined
        by version 0.1.0 have a UUID of libvirt's and count as not the collection's.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
    support: full
requirements:
  - libvirt-python
  - lxml
'''

EXAMPLES = r'''
- name: Pool for the lab's images
  nestedkvm.stack.storage_pool:
    name: nestedkvm
    path: /var/lib/nestedkvm/pool

- name: Forget the pool (its directory and volumes stay)
  nestedkvm.stack.storage_pool:
    name: nestedkvm
    state: absent

- name: Start libvirt's default pool, which the collection did not define
  nestedkvm.stack.storage_pool:
    name: default
    path: /var/lib/libvirt/images
    adopt: true
'''

RETURN = r'''
name:
  description: Pool name.
  returned: always
  type: str
  sample: nestedkvm
actions:
  description:
    - What the run did, or in check mode would do, in order; C(adopt) first when it changes a pool the collection did
      not define (O(adopt)).
  returned: always
  type: list
  elements: str
  sample: [define, build, start, autostart]
made_by_collection:
  description:
    - Whether the pool is one the collection defined (its UUID is the one derived from its name and path); V(null)
      when there is no pool after the run.
  returned: always
  type: bool
  sample: true
pool:
  description: The pool after the run; V(null) when it is absent (in check mode, as it would be).
  returned: always
  type: dict
  sample: {type: dir, path: /var/lib/nestedkvm/pool, active: true, autostart: true}
  contains:
    type:
      description: libvirt's pool type; V(dir) for the pools this module makes.
      type: str
    path:
      description: The directory that holds the volumes.
      type: str
    active:
      description: The pool is started.
      type: bool
    autostart:
      description: libvirt starts the pool with itself.
      type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to
from ansible_collections.nestedkvm.stack.plugins.module_utils._pool import PoolManager, pool_argument_spec


def main():
    module = AnsibleModule(argument_spec=pool_argument_spec(), supports_check_mode=True)
    with reported_to(module):
        result = PoolManager(module).run()
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
