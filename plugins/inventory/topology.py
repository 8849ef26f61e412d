# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: topology
short_description: The L1 hypervisors and L2 guests this collection made, found from their L0 hosts
version_added: '0.2.0'
description:
  - Lists the libvirt domains that this collection made (those whose definition carries the collection's record
    naming their own UUID, see O(nestedkvm.stack.l1_domain#module:adopt)) on each L0 host of O(l0_hosts), and
    inside each running L1, with the settings Ansible needs to reach them over SSH. A domain made by hand, or a
    copy of one of the collection's (C(virsh dumpxml) and C(virsh define), C(virt-clone)), is not listed.
  - Hosts are named after their domain and put in the groups C(l0_hosts) (the L0s of O(l0_hosts)),
    C(l1_hypervisors) and C(l2_guests), by the level the domain's record names (a guest made with
    M(nestedkvm.stack.l2_domain) directly on an L0 is in C(l2_guests) too).
  - "Each host's connection comes from its domain's own record and definition: the account and the known_hosts name
    that the P(nestedkvm.stack.l1_hypervisor#role) and P(nestedkvm.stack.l2_guests#role) roles record (the
    O(nestedkvm.stack.l1_domain#module:access) option of the domain modules), and either the address it records or
    the forward of the guest's SSH port that the running domain has (C(127.0.0.1:<port>) on the host it runs on).
    A guest reached through a forward is reached through its host: a C(ProxyCommand) through its L1, and through
    its L0 when that is remote, each hop checked under its own HostKeyAlias. No hand-written ProxyCommand is needed."
  - Variables set on each guest - C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_ssh_common_args)
    (C(HostKeyAlias) and C(StrictHostKeyChecking=yes) where the roles recorded the name, C(UserKnownHostsFile) from
    O(known_hosts_file), C(ConnectTimeout) from O(connect_timeout), a keep-alive that ends a session with a dead
    far end within a minute, and the C(ProxyCommand)), C(ansible_ssh_private_key_file) from O(private_key_file);
    C(nestedkvm_level), C(nestedkvm_domain), C(nestedkvm_uuid), C(nestedkvm_profile), C(nestedkvm_state),
    C(nestedkvm_virt_type), C(nestedkvm_ownership) (V(collection), or V(legacy) for a domain made by version
    0.1.0) and C(nestedkvm_parent) (the L0 or L1 it runs on); and what the collection's roles read,
    C(l1_hypervisor_l0_host) or C(l2_guests_l1_host), and C(l1_hypervisor_known_hosts_name) or
    C(l2_guests_known_hosts_name), so that the C(nestedkvm.stack.teardown) playbook works on this inventory.
  - A local L0 (a URI without a host) gets C(ansible_connection=local); a remote one C(ansible_host), and the
    user and port of an SSH URI.
  - Every libvirt connection is read-only and ends within O(timeout). An L1's libvirt is reached as Ansible
    reaches the L1 (C(qemu+ssh://<user>@<host>:<port>/system) with the same SSH options, in batch mode); an L0 or
    L1 that cannot be read is named in a warning, and the inventory holds the rest.
  - The configuration file's name ends in C(topology.yml) or C(topology.yaml).
author: nestedkvm.stack developers (@nestedkvm)
requirements:
  - libvirt-python and lxml on the controller
  - an OpenSSH client on the controller; C(virt-ssh-helper) (or C(nc)) in each L1, as libvirt's own packages install
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [nestedkvm.stack.topology]
  l0_hosts:
    description:
      - The L0 hosts, each with C(uri), the libvirt URI the controller reads it through (V(qemu:///system) for this
        host, C(qemu+ssh://root@l0.example.com/system) for another; the URIs the modules' O(nestedkvm.stack.l1_domain#module:uri)
        accepts, checked the same way), and optionally C(name), its inventory name (by default V(localhost) for a
        local URI, else the URI's host).
      - With C(qemu+ssh), libvirt's ssh runs in batch mode with O(connect_timeout) and a keep-alive added to the
        user's own SSH configuration; the same host, user and port are the first hop of the C(ProxyCommand) of its
        guests.
    type: list
    elements: dict
    required: true
  private_key_file:
    description:
      - The controller's private key for the guests' account (the roles' C(l1_hypervisor_ssh_private_key_file) and
        C(l2_guests_ssh_private_key_file)). Sets C(ansible_ssh_private_key_file) and is used on each hop to a guest.
      - Unset, SSH picks keys as it does by default.
    type: path
  known_hosts_file:
    description:
      - The controller's known_hosts file the roles wrote the guests' host keys to (C(l1_hypervisor_known_hosts_file),
        C(l2_guests_known_hosts_file)). Unset, SSH's default (C(~/.ssh/known_hosts), the roles' default too).
    type: path
  connect_timeout:
    description: Seconds SSH may take to connect, on every hop (C(ConnectTimeout)).
    type: int
    default: 10
  timeout:
    description:
      - Seconds one libvirt host (an L0, or an L1 seen from the controller) may take to be read, connecting
        included. Past that its connection is ended, a warning names it, and the inventory holds the rest.
    type: int
    default: 60
  inside_l1s:
    description: Also list the guests inside each running L1 (through that L1's libvirt).
    type: bool
    default: true
notes:
  - The inventory cache (O(cache)) keeps what was read from libvirt; the SSH settings (O(private_key_file),
    O(known_hosts_file), O(connect_timeout)) are applied to it on every run. C(ansible-inventory --flush-cache)
    reads libvirt again.
  - A running domain's forwards are read from its running definition, and its record from its saved one, so a record
    changed while it runs counts at once.
seealso:
  - module: nestedkvm.stack.l1_domain
  - module: nestedkvm.stack.l2_domain
'''

EXAMPLES = r'''
---
# lab.topology.yml: the lab on this machine (`make lab`), its key and known_hosts in the checkout's .work/lab
plugin: nestedkvm.stack.topology
l0_hosts:
  - uri: qemu:///system
private_key_file: .work/lab/id_ed25519
known_hosts_file: .work/lab/known_hosts
compose:
  ansible_python_interpreter: "'/usr/bin/python3'"

---
# site.topology.yml: two L0s reached over SSH as root, the roles' default key and known_hosts
plugin: nestedkvm.stack.topology
l0_hosts:
  - name: metal-1
    uri: qemu+ssh://root@metal-1.example.com/system
  - name: metal-2
    uri: qemu+ssh://root@metal-2.example.com/system
# a group per L0, and one of the guests that run emulated
keyed_groups:
  - key: nestedkvm_parent
    prefix: host
groups:
  emulated: nestedkvm_virt_type == 'qemu'
# keep what libvirt said for an hour (ansible-inventory --flush-cache reads it again)
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/nestedkvm-topology
cache_timeout: 3600
'''

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError
from ansible_collections.nestedkvm.stack.plugins.plugin_utils._topology import Settings, discover, inventory_hosts

display = Display()


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'nestedkvm.stack.topology'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(('topology.yml', 'topology.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            settings = Settings.from_options(self.get_option)
        except NestedKvmError as exc:
            raise AnsibleParserError('%s: %s' % (path, exc.msg))
        facts = self._facts(path, settings, cache)
        for message in facts['problems']:
            display.warning('nestedkvm.stack.topology: %s' % message)
        for message in facts['notes']:
            display.vvv('nestedkvm.stack.topology: %s' % message)
        self._populate(facts, settings)

    def _facts(self, path, settings, cache):
        """What libvirt said: from the inventory cache when it is on and holds it, else read now (and kept)."""
        key = self.get_cache_key(path)
        use_cache = self.get_option('cache')
        if use_cache and cache:
            try:
                return self._cache[key]
            except KeyError:
                pass  # not cached yet, or expired
        try:
            facts = discover(settings)
        except NestedKvmError as exc:
            raise AnsibleParserError('%s: %s' % (path, exc.msg))
        if use_cache:
            self._cache[key] = facts
        return facts

    def _populate(self, facts, settings):
        strict = self.get_option('strict')
        for name, group, variables in inventory_hosts(facts, settings):
            self.inventory.add_group(group)
            self.inventory.add_host(name, group=group)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            hostvars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option('compose'), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, name, strict=strict)
