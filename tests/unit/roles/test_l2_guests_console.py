"""The example inventory's Windows 11 guest gets a console a person can reach: the l2_guests role's l2_domain task,
templated by Ansible as a play would with that guest's variables, asks for it with the vaulted password."""

import os

import yaml

from ansible.parsing.dataloader import DataLoader

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..')


def test_the_example_windows11_guest_has_a_console(role_task_args):
    inventory = DataLoader().load_from_file(os.path.join(REPO, 'inventories', 'example', 'hosts.yml'),
                                            trusted_as_template=True)
    guest = inventory['all']['children']['l2_guests']['hosts']['win11-b']
    args = role_task_args('l2_guests', 'domain.yml', 'nestedkvm.stack.l2_domain',
                          dict(guest, inventory_hostname='win11-b', vault_win11_console_password='pw-1234',
                               l2_guests_l1_host='l1-b'),
                          ('profile', 'graphics', 'graphics_password', 'nested', 'install_iso'))
    assert args['profile'] == 'windows11' and args['graphics'] == 'vnc'
    assert args['graphics_password'] == 'pw-1234'  # from the vault, passed to the module's no_log option
    assert args['nested'] is False and args['install_iso'].endswith('.iso')


def test_the_console_password_is_secret_in_the_role_spec():
    with open(os.path.join(REPO, 'roles', 'l2_guests', 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    assert options['l2_guests_console_password']['no_log'] is True
