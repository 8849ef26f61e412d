"""What the roles record in each domain for the topology inventory plugin (the domain modules' access option, made by
the shared guest_ssh role for both levels), for the hosts of the lab's and the example's inventories, templated as a
play would: reached through the forward of its SSH port when the inventory reaches it on a loopback address, else
at its address; no record for a windows11 guest, in which the role makes no account."""

import os

import pytest

from ansible.parsing.dataloader import DataLoader

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..')
ROLE = {'l1_hypervisors': ('l1_hypervisor', 'nestedkvm.stack.l1_domain'),
        'l2_guests': ('l2_guests', 'nestedkvm.stack.l2_domain')}


def host_vars(inventory, group, host):
    hosts = DataLoader().load_from_file(os.path.join(REPO, 'inventories', inventory, 'hosts.yml'),
                                        trusted_as_template=True)['all']['children'][group]['hosts']
    return dict(hosts[host] or {}, inventory_hostname=host, vault_win11_console_password='pw-1234')


@pytest.mark.parametrize('inventory, group, host, access', [
    ('local', 'l1_hypervisors', 'lab-l1', dict(user='nestedkvm', host_key_alias='lab-l1', address=None, port=22)),
    ('local', 'l2_guests', 'lab-l2', dict(user='nestedkvm', host_key_alias='lab-l2', address=None, port=22)),
    ('example', 'l1_hypervisors', 'l1-a', dict(user='nestedkvm', host_key_alias='l1-a', address='198.51.100.11',
                                               port=22)),
    ('example', 'l2_guests', 'ubuntu-a', dict(user='nestedkvm', host_key_alias='ubuntu-a', address=None, port=22)),
    ('example', 'l2_guests', 'win11-b', None),
])
def test_the_roles_record_how_each_host_is_reached(role_task_args, guest_ssh_var, inventory, group, host, access):
    role, module = ROLE[group]
    given = host_vars(inventory, group, host)
    made = guest_ssh_var(role, '__guest_ssh_access', given)  # what guest_ssh sets as guest_ssh_access
    args = role_task_args(role, 'domain.yml', module, dict(given, guest_ssh_access=made), ('access',))
    assert args.get('access') == access


def test_a_host_without_ansible_host_is_recorded_at_its_name(guest_ssh_var):
    access = guest_ssh_var('l1_hypervisor', '__guest_ssh_access', dict(inventory_hostname='l1.example.com', ansible_port=2022))
    assert access == dict(user='nestedkvm', host_key_alias='l1.example.com', address='l1.example.com', port=2022)
