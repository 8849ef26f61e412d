"""nestedkvm.stack.topology through Ansible's own InventoryManager and ansible-inventory, on libvirt's test driver.

The L0 is test:///default, holding domains defined from the modules' own module_utils (and one made by hand, and a
copy). The inside of a running L1 is a test driver of its own (test:///<file>), opened where the plugin opens the
L1's libvirt over SSH: that is the one thing stood in for, as no L1 answers SSH here; so is a remote L0, in the one
test that has one. An L1 that cannot be reached is tried for real: libvirt runs the plugin's ssh to a closed port,
or to one that accepts and then says nothing, on this machine's loopback.
"""

import json
import os
import socket
import sys
import tempfile
import threading
from urllib.parse import parse_qs, urlsplit

import libvirt
import pytest
import yaml
from lxml import etree

from ansible.errors import AnsibleParserError
from ansible.utils.display import Display

PLUGIN = 'nestedkvm.stack.topology'
ACCESS = dict(user='nestedkvm')


@pytest.fixture(scope='module')
def ansible_plugins():
    """Ansible's collection loader, as its command-line tools install it, for this module's tests only.

    pytest imports the collection as a plain package, which that loader will not take over: those modules step
    aside while it is installed and come back after."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    def ours(name):
        return name == 'ansible_collections' or name.startswith('ansible_collections.')

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    init_plugin_loader()
    yield
    _AnsibleCollectionFinder._remove()
    for name in [name for name in sys.modules if ours(name)]:
        del sys.modules[name]
    sys.modules.update(saved)


class Lab:
    """The L0 (test:///default), the inside of its L1s (a test driver file each, by forwarded port), the
    configuration, and what the plugin warned about."""

    def __init__(self, hypervisor, our_definition, tmp_path, monkeypatch):
        self.hypervisor = hypervisor
        self.our_definition = our_definition
        self.tmp_path = tmp_path
        self.inside = {}  # forwarded port of an L1 -> its test driver file
        self.opened = []  # URIs the plugin opened (without the ssh script)
        self.scripts = []  # the ssh scripts libvirt would have run for them
        self.remote_l0 = None
        self.warnings = []
        # Where the plugin makes its work directories (the ssh script): the test's own, to see it left nothing there.
        self.tmp = tmp_path / 'tmp'
        self.tmp.mkdir()
        monkeypatch.setattr(tempfile, 'tempdir', str(self.tmp))
        real = libvirt.openReadOnly

        def open_read_only(uri):
            parts = urlsplit(uri)
            self.opened.append(uri.partition('?')[0])
            script = parse_qs(parts.query).get('command')
            if script:
                with open(script[0]) as handle:
                    self.scripts.append(handle.read())
            if parts.scheme == 'qemu+ssh' and parts.hostname == '127.0.0.1' and parts.port in self.inside:
                return real('test://%s' % self.inside[parts.port])
            if self.remote_l0 and uri.startswith(self.remote_l0 + '?'):
                return real('test:///default')
            return real(uri)

        monkeypatch.setattr(libvirt, 'openReadOnly', open_read_only)
        monkeypatch.setattr(Display, 'warning', lambda _display, msg, *args, **kwargs: self.warnings.append(msg))

    def guest(self, name, level=1, port=None, running=True, **access):
        """A domain of the collection on the L0, forwarding ``port`` to its SSH port."""
        root = self.our_definition(name, level=level, forwards=[(port, 22)] if port else [],
                                   access=dict(ACCESS, host_key_alias=name, **access))
        domain = self.hypervisor.conn.defineXML(etree.tostring(root).decode())
        if running:
            domain.create()
        return domain

    def inside_l1(self, port, *domains):
        """What the L1 reached on ``port`` runs: domains as definitions (lxml roots) or XML text."""
        path = self.tmp_path / ('l1-%d.xml' % port)
        definitions = [d if isinstance(d, str) else etree.tostring(d).decode() for d in domains]
        path.write_text('<node>%s</node>' % ''.join(definitions))
        self.inside[port] = str(path)

    def l2(self, name, port, **access):
        return self.our_definition(name, level=2, forwards=[(port, 22)], access=dict(ACCESS, host_key_alias=name,
                                                                                     **access))

    def config(self, **options):
        path = self.tmp_path / 'lab.topology.yml'
        config = dict(plugin=PLUGIN, l0_hosts=[dict(uri='test:///default')], private_key_file='/lab/id_ed25519',
                      known_hosts_file='/lab/known_hosts')
        config.update(options)
        path.write_text(yaml.safe_dump(config))
        return str(path)

    def inventory(self, flush_cache=False, **options):
        """The inventory as Ansible's tools parse it; ``flush_cache`` as ansible-inventory --flush-cache."""
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader

        return InventoryManager(DataLoader(), sources=[self.config(**options)], cache=not flush_cache)


@pytest.fixture
def lab(ansible_plugins, hypervisor, our_definition, tmp_path, monkeypatch):
    """The local lab as the roles leave it: lab-l1 on 127.0.0.1:2222 with lab-l2 inside on the L1's 127.0.0.1:2223."""
    lab = Lab(hypervisor, our_definition, tmp_path, monkeypatch)
    lab.guest('lab-l1', port=2222)
    lab.inside_l1(2222, lab.l2('lab-l2', 2223))
    return lab


def groups(inventory):
    return {name: sorted(h.name for h in group.get_hosts()) for name, group in inventory.groups.items()
            if name not in ('all', 'ungrouped')}


def host_vars(inventory, name):
    return inventory.get_host(name).get_vars()


LAB_L1 = ('127.0.0.1', 2222, 'nestedkvm', 'lab-l1', '/lab/known_hosts')
LAB_L2 = ('127.0.0.1', 2223, 'nestedkvm', 'lab-l2', '/lab/known_hosts')


def test_the_lab_is_listed_with_what_reaches_each_host(lab, ssh_route):
    inventory = lab.inventory()
    assert groups(inventory) == dict(l0_hosts=['localhost'], l1_hypervisors=['lab-l1'], l2_guests=['lab-l2'])
    assert host_vars(inventory, 'localhost')['ansible_connection'] == 'local'
    l1, l2 = host_vars(inventory, 'lab-l1'), host_vars(inventory, 'lab-l2')
    assert ssh_route(l1) == [LAB_L1]
    assert ssh_route(l2) == [LAB_L1, LAB_L2]  # through the L1, each hop under its own HostKeyAlias
    assert l2['ansible_ssh_private_key_file'] == '/lab/id_ed25519'
    assert {key: l1[key] for key in l1 if key.startswith(('nestedkvm_', 'l1_hypervisor_'))} == dict(
        nestedkvm_level=1, nestedkvm_domain='lab-l1', nestedkvm_uuid=lab.hypervisor.domain('lab-l1').UUIDString(),
        nestedkvm_profile='hypervisor', nestedkvm_state='running', nestedkvm_virt_type='qemu',
        nestedkvm_ownership='collection', nestedkvm_parent='localhost', l1_hypervisor_l0_host='localhost',
        l1_hypervisor_known_hosts_name='lab-l1')
    assert (l2['nestedkvm_level'], l2['nestedkvm_parent'], l2['l2_guests_l1_host'], l2['l2_guests_known_hosts_name'],
            l2['nestedkvm_profile']) == (2, 'lab-l1', 'lab-l1', 'lab-l2', 'linux')
    assert lab.warnings == []
    # The L1's libvirt is opened read-only through ssh with the inventory's own options, in batch mode.
    assert lab.opened == ['test:///default', 'qemu+ssh://nestedkvm@127.0.0.1:2222/system']
    (script,) = lab.scripts
    assert '-o HostKeyAlias=lab-l1 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/lab/known_hosts' in script
    assert '-i /lab/id_ed25519 -o BatchMode=yes "$@"' in script


def test_what_the_collection_did_not_make_is_not_listed(lab):
    lab.hypervisor.define_by_hand('made-by-hand', start=True)
    lab.hypervisor.copy('lab-l1', 'lab-l1-copy').create()  # its record names lab-l1's UUID
    lab.inside_l1(2222, lab.l2('lab-l2', 2223), "<domain type='test'><name>scratch</name><memory>65536</memory>"
                  "<os><type>hvm</type></os></domain>")
    inventory = lab.inventory()
    assert sorted(inventory.hosts) == ['lab-l1', 'lab-l2', 'localhost']
    assert lab.warnings == []


def test_a_shut_off_l1_is_listed_and_not_looked_into(lab):
    lab.guest('lab-l1b', port=2224, running=False)
    inventory = lab.inventory()
    assert host_vars(inventory, 'lab-l1b')['nestedkvm_state'] == 'shutoff'
    assert host_vars(inventory, 'lab-l1b')['ansible_port'] == 2224
    assert not any(':2224/' in uri for uri in lab.opened)


def test_inside_l1s_false_reads_only_the_l0s(lab):
    inventory = lab.inventory(inside_l1s=False)
    assert groups(inventory)['l1_hypervisors'] == ['lab-l1'] and 'lab-l2' not in inventory.hosts
    assert lab.opened == ['test:///default']


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_an_l1_whose_libvirt_cannot_be_reached_is_named_and_the_rest_is_listed(lab):
    # A port held bound but not listening refuses every connection, and no other process can take it meanwhile (a
    # port only looked up as free once was taken by another test run here, which answered and then hung up).
    with socket.socket() as held:
        held.bind(('127.0.0.1', 0))
        port = held.getsockname()[1]
        lab.guest('lab-l1c', port=port)
        inventory = lab.inventory()
    assert sorted(inventory.hosts) == ['lab-l1', 'lab-l1c', 'lab-l2', 'localhost']
    (warning,) = lab.warnings
    assert warning.startswith("%s: cannot list the guests inside L1 'lab-l1c' (on 'localhost') through "
                              "qemu+ssh://nestedkvm@127.0.0.1:%d/system: " % (PLUGIN, port))
    assert 'Connection refused' in warning and warning.endswith('It is listed without them')


@pytest.fixture
def silent_port():
    """A port on the loopback that accepts connections and never answers; yields (port, closed), where closed is an
    Event set when the client goes away."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    closed = threading.Event()

    def hold():
        connection, _address = server.accept()
        connection.settimeout(120)  # bounded: a client that stays past it fails the test below
        try:
            while connection.recv(4096):
                pass
            closed.set()
        except OSError:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield server.getsockname()[1], closed
    server.close()


def test_an_l1_that_does_not_answer_is_ended_after_the_timeout(lab, silent_port):
    port, closed = silent_port
    lab.guest('lab-l1d', port=port)
    inventory = lab.inventory(timeout=1, connect_timeout=100)  # ssh alone would wait for the banner for 100 s
    assert 'lab-l2' in inventory.hosts and 'lab-l1d' in inventory.hosts
    (warning,) = lab.warnings
    assert "inside L1 'lab-l1d'" in warning and 'no answer within 1 s (timeout); the connection was ended' in warning
    assert closed.wait(60)  # the plugin ended the ssh it started
    assert os.listdir(lab.tmp) == []


def test_the_inventory_cache_keeps_what_libvirt_said_until_it_is_flushed(lab):
    cache = dict(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(lab.tmp_path / 'cache'))
    assert 'lab-l2' in lab.inventory(**cache).hosts
    lab.guest('lab-l1e', port=2226)
    lab.opened.clear()
    cached = lab.inventory(**cache)
    assert sorted(cached.hosts) == ['lab-l1', 'lab-l2', 'localhost'] and lab.opened == []
    flushed = lab.inventory(flush_cache=True, **cache)
    assert 'lab-l1e' in flushed.hosts and lab.opened
    lab.opened.clear()
    assert 'lab-l1e' in lab.inventory(**cache).hosts and lab.opened == []
    # The SSH settings apply to what the cache holds.
    assert 'ConnectTimeout=3' in host_vars(lab.inventory(connect_timeout=3, **cache), 'lab-l2')['ansible_ssh_common_args']


def test_constructed_options_make_groups_and_variables(lab):
    lab.guest('lab-l1b', port=2224, running=False)
    inventory = lab.inventory(compose=dict(ansible_python_interpreter="'/usr/bin/python3'"),
                              groups=dict(stopped="nestedkvm_state != 'running'"),
                              keyed_groups=[dict(key='nestedkvm_parent', prefix='on')])
    assert groups(inventory)['stopped'] == ['lab-l1b']
    assert groups(inventory)['on_localhost'] == ['lab-l1', 'lab-l1b'] and groups(inventory)['on_lab_l1'] == ['lab-l2']
    assert host_vars(inventory, 'lab-l2')['ansible_python_interpreter'] == '/usr/bin/python3'


def test_a_second_host_of_one_name_is_not_listed_and_named(lab):
    lab.inside_l1(2222, lab.l2('lab-l2', 2223), lab.l2('lab-l1', 2225))
    inventory = lab.inventory()
    assert host_vars(inventory, 'lab-l1')['nestedkvm_level'] == 1
    assert lab.warnings == ["%s: domain 'lab-l1' on 'lab-l1' is not listed: a host of that name comes from 'localhost' "
                            "already; rename one" % PLUGIN]


def test_through_a_remote_l0_every_hop_is_checked(lab, ssh_route):
    lab.remote_l0 = 'qemu+ssh://root@metal-1.example.com/system'
    inventory = lab.inventory(l0_hosts=[dict(name='metal-1', uri=lab.remote_l0)])
    metal_vars = host_vars(inventory, 'metal-1')
    assert {key: metal_vars[key] for key in metal_vars if key.startswith('ansible_')} == dict(
        ansible_host='metal-1.example.com', ansible_user='root')
    metal = ('metal-1.example.com', None, 'root', None, None)
    assert ssh_route(host_vars(inventory, 'lab-l2')) == [metal, LAB_L1, LAB_L2]
    assert lab.opened[0] == lab.remote_l0
    # libvirt's ssh to the L0 runs in batch mode and within connect_timeout, with the user's own SSH configuration.
    assert 'ssh -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o BatchMode=yes "$@"' in \
        lab.scripts[0]


def test_an_unreadable_l0_is_named_and_the_others_listed(lab):
    lab.remote_l0 = None
    inventory = lab.inventory(l0_hosts=[dict(name='gone', uri='qemu+tls://127.0.0.1:%d/system' % _free_port()),
                                        dict(uri='test:///default')])
    assert sorted(inventory.hosts) == ['gone', 'lab-l1', 'lab-l2', 'localhost']
    (warning,) = lab.warnings
    assert warning.startswith("%s: cannot list the domains of L0 'gone' (qemu+tls://127.0.0.1:" % PLUGIN)
    assert warning.endswith('Its L1s and their guests are not listed')


@pytest.mark.parametrize('options, says', [
    (dict(l0_hosts=[dict(uri='qemu+tcp://metal-1/system')]), 'l0_hosts[0].uri: '),
    (dict(l0_hosts=[dict(uri='qemu:///system', name='two words')]), 'l0_hosts[0].name: '),
    (dict(timeout=0), 'timeout: '),
])
def test_a_bad_configuration_fails_naming_the_file_and_the_option(lab, options, says):
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    path = lab.config(**options)
    plugin = inventory_loader.get(PLUGIN)
    assert plugin.verify_file(path)
    with pytest.raises(AnsibleParserError) as err:
        plugin.parse(InventoryData(), DataLoader(), path, cache=False)
    assert err.value.message.startswith('%s: %s' % (path, says))
    assert lab.opened == []


# The command-line tool installs Ansible's collection loader itself, and warns that the fixture already did.
@pytest.mark.filterwarnings('ignore:AnsibleCollectionFinder has already been configured')
def test_ansible_inventory_lists_it(lab, tmp_path, monkeypatch):
    from ansible import context
    from ansible.cli.inventory import InventoryCLI

    monkeypatch.setattr(context, 'CLIARGS', context.CLIARGS)  # the tool sets its own; the next test gets this one back

    out = tmp_path / 'inventory.json'
    with pytest.raises(SystemExit) as done:
        InventoryCLI(['ansible-inventory', '-i', lab.config(), '--list', '--output', str(out)]).run()
    assert done.value.code == 0
    listed = json.loads(out.read_text())
    assert listed['l1_hypervisors']['hosts'] == ['lab-l1'] and listed['l2_guests']['hosts'] == ['lab-l2']
    assert listed['_meta']['hostvars']['lab-l2']['ansible_port'] == 2223


@pytest.mark.parametrize('example', ['lab.topology.yml', 'site.topology.yml'])
def test_the_example_configurations_are_valid(ansible_plugins, example):
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    from ansible_collections.nestedkvm.stack.plugins.plugin_utils._topology import Settings

    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs', 'inventory', example)
    plugin = inventory_loader.get(PLUGIN)
    assert plugin.verify_file(path)
    plugin.loader, plugin._vars = DataLoader(), {}
    plugin._read_config_data(path)  # every key an option of the plugin, of its type
    Settings.from_options(plugin.get_option)
