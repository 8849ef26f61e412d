"""The topology inventory plugin's work without an inventory around it: its configuration checked before anything
is opened, what it takes from a definition, and the SSH options that reach each host, followed hop by hop the way
ssh runs them (each ProxyCommand's %-tokens expanded once, then split by a shell)."""

import copy

import pytest
from lxml import etree

from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_xml import NK_NS
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.plugin_utils._topology import Settings, guest_fact, inventory_hosts

LAB = [dict(uri='qemu:///system')]
ACCESS = dict(user='nestedkvm', host_key_alias='lab-l1')


@pytest.mark.parametrize('options, option', [
    (dict(l0_hosts=None), 'l0_hosts'),
    (dict(l0_hosts=[]), 'l0_hosts'),
    (dict(l0_hosts=[dict(name='metal-1')]), 'l0_hosts[0]'),
    (dict(l0_hosts=[dict(uri='qemu:///system', via='x')]), 'l0_hosts[0]'),
    (dict(l0_hosts=[dict(uri='qemu+tcp://metal-1/system')]), 'l0_hosts[0].uri'),
    (dict(l0_hosts=[dict(uri='test:///etc/shadow')]), 'l0_hosts[0].uri'),
    (dict(l0_hosts=[dict(uri='qemu+ssh://metal-1/system?command=/bin/sh')]), 'l0_hosts[0].uri'),
    (dict(l0_hosts=[dict(uri='qemu:///system', name='a b')]), 'l0_hosts[0].name'),
    (dict(l0_hosts=[dict(uri='qemu:///system'), dict(uri='qemu:///session')]), 'l0_hosts[1].name'),
    (dict(l0_hosts=LAB, private_key_file='~/.ssh/id_%u'), 'private_key_file'),
    (dict(l0_hosts=LAB, known_hosts_file='hosts\n-oProxyCommand=sh'), 'known_hosts_file'),
    (dict(l0_hosts=LAB, connect_timeout=0), 'connect_timeout'),
    (dict(l0_hosts=LAB, timeout='soon'), 'timeout'),
])
def test_bad_configuration_names_the_option(options, option):
    with pytest.raises(OptionError) as err:
        Settings(**options)
    assert err.value.details['option'] == option and err.value.msg.startswith(option + ': ')


def test_each_l0_is_named_and_reached_as_its_uri_says():
    settings = Settings(l0_hosts=[dict(uri='qemu:///system'), dict(uri='qemu+ssh://root@metal-1.example.com:2022/system'),
                                  dict(name='metal-2', uri='qemu+tls://metal-2.example.com/system')])
    hosts = {name: (group, variables) for name, group, variables in inventory_hosts(
        dict(l0_hosts=settings.l0_hosts, guests=[]), settings)}
    assert hosts == {'localhost': ('l0_hosts', dict(ansible_connection='local')),
                     'metal-1.example.com': ('l0_hosts', dict(ansible_host='metal-1.example.com', ansible_user='root',
                                                              ansible_port=2022)),
                     'metal-2': ('l0_hosts', dict(ansible_host='metal-2.example.com'))}


def _stack(root):
    return root.find('metadata/{%s}stack' % NK_NS)


def test_the_lab_l1_is_reached_through_the_forward_of_its_ssh_port(our_definition):
    # The lab's restricted user network is a QEMU netdev (<qemu:commandline>), as on its real libvirtd.
    root = our_definition('lab-l1', forwards=[(2222, 22), (8443, 443)], access=ACCESS, passt=False)
    assert root.find('{http://libvirt.org/schemas/domain/qemu/1.0}commandline') is not None
    fact, problem = guest_fact('lab-l1', 'running', etree.tostring(root).decode(), None, 'localhost', 1)
    assert problem is None
    assert fact == dict(name='lab-l1', uuid=root.findtext('uuid'), level=1, profile='hypervisor', state='running',
                        virt_type='qemu', ownership='collection', parent='localhost', user='nestedkvm',
                        host_key_alias='lab-l1', reach='forward', host='127.0.0.1', port=2222)


def test_forwards_come_from_the_running_definition_and_the_record_from_the_saved_one(our_definition):
    saved = our_definition('lab-l1', forwards=[(2222, 22)], access=dict(ACCESS, host_key_alias='renamed'))
    running = our_definition('lab-l1', forwards=[(2230, 22)], access=ACCESS)
    running.find('uuid').text = saved.findtext('uuid')
    _stack(running).set('uuid', saved.findtext('uuid'))
    fact, _problem = guest_fact('lab-l1', 'running', etree.tostring(saved).decode(), etree.tostring(running).decode(),
                                'localhost', 1)
    assert (fact['port'], fact['host_key_alias']) == (2230, 'renamed')


def test_a_guest_at_an_address_is_reached_there(our_definition):
    root = our_definition('l1-a', access=dict(ACCESS, address='198.51.100.11', port=2022))
    fact, _problem = guest_fact('l1-a', 'shutoff', etree.tostring(root).decode(), None, 'metal-1', 1)
    assert (fact['reach'], fact['host'], fact['port'], fact['state']) == ('address', '198.51.100.11', 2022, 'shutoff')


def test_without_an_access_record_the_forward_of_port_22_is_used_and_the_level_is_where_it_runs(our_definition):
    root = our_definition('old-l2', level=2, forwards=[(2223, 22)])
    del _stack(root).attrib['level']
    fact, problem = guest_fact('old-l2', 'running', etree.tostring(root).decode(), None, 'lab-l1', 2)
    assert problem is None and fact['level'] == 2
    assert (fact['reach'], fact['port'], fact['user'], fact['host_key_alias']) == ('forward', 2223, None, None)


def test_an_unusable_access_record_points_ssh_nowhere(our_definition):
    root = our_definition('lab-l1', forwards=[(2222, 22)], access=ACCESS)
    _stack(root).find('{%s}access' % NK_NS).set('user', '-oProxyCommand=sh')
    fact, problem = guest_fact('lab-l1', 'running', etree.tostring(root).decode(), None, 'localhost', 1)
    assert problem.startswith('its access record is unusable (access.user: ')
    assert (fact['reach'], fact['user']) == (None, None)


def test_what_the_collection_did_not_make_is_not_a_guest(our_definition):
    made_by_hand = "<domain type='kvm'><name>mine</name><uuid>3c1a0b1e-8f6a-4c1b-9c44-6f1f3c0b7a10</uuid></domain>"
    assert guest_fact('mine', 'running', made_by_hand, None, 'localhost', 1) == (None, 'not made by the collection')
    copied = copy.deepcopy(our_definition('lab-l1', forwards=[(2222, 22)], access=ACCESS))
    copied.find('uuid').text = '3c1a0b1e-8f6a-4c1b-9c44-6f1f3c0b7a10'  # what virsh define gives the renamed copy
    fact, why = guest_fact('copy', 'running', etree.tostring(copied).decode(), None, 'localhost', 1)
    assert fact is None and why.startswith('a copy of a domain of the collection')


L1_HOP = ('127.0.0.1', 2222, 'nestedkvm', 'l1-a', '/lab/known_hosts')


def facts_of_a_site(our_definition, l0_uri):
    settings = Settings(l0_hosts=[dict(name='metal-1', uri=l0_uri)], private_key_file='/lab/id_ed25519',
                        known_hosts_file='/lab/known_hosts', connect_timeout=7)
    l1_definition = our_definition('l1-a', forwards=[(2222, 22)], access=dict(ACCESS, host_key_alias='l1-a'))
    l2_definition = our_definition('web-1', level=2, forwards=[(2223, 22)], access=dict(ACCESS, host_key_alias='web-1'))
    l1 = guest_fact('l1-a', 'running', etree.tostring(l1_definition).decode(), None, 'metal-1', 1)[0]
    l2 = guest_fact('web-1', 'running', etree.tostring(l2_definition).decode(), None, 'l1-a', 2)[0]
    hosts = inventory_hosts(dict(l0_hosts=settings.l0_hosts, guests=[l1, l2]), settings)
    return {name: (group, variables) for name, group, variables in hosts}


def test_an_l2_is_reached_through_its_l1_and_its_remote_l0(our_definition, ssh_route):
    hosts = facts_of_a_site(our_definition, 'qemu+ssh://root@metal-1.example.com/system')
    group, l2 = hosts['web-1']
    assert group == 'l2_guests' and l2['l2_guests_l1_host'] == 'l1-a' and l2['l2_guests_known_hosts_name'] == 'web-1'
    assert ssh_route(l2) == [('metal-1.example.com', None, 'root', None, None), L1_HOP,
                             ('127.0.0.1', 2223, 'nestedkvm', 'web-1', '/lab/known_hosts')]
    assert ssh_route(hosts['l1-a'][1]) == [('metal-1.example.com', None, 'root', None, None), L1_HOP]
    assert l2['ansible_ssh_private_key_file'] == '/lab/id_ed25519'
    assert 'ConnectTimeout=7' in l2['ansible_ssh_common_args']


def test_on_a_local_l0_the_l1_needs_no_jump(our_definition, ssh_route):
    hosts = facts_of_a_site(our_definition, 'qemu:///system')
    assert ssh_route(hosts['l1-a'][1]) == [L1_HOP]
    assert ssh_route(hosts['web-1'][1]) == [L1_HOP, ('127.0.0.1', 2223, 'nestedkvm', 'web-1', '/lab/known_hosts')]
