"""The example inventory's Windows 11 guest gets a console a person can reach: the l2_guests role's l2_domain task,
templated by Ansible as a play would with that guest's variables, asks for it with the vaulted password."""

import os

import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..')
OMIT = '__omit_place_holder__nk'


def _l2_domain_args(host_vars):
    loader = DataLoader()
    defaults = loader.load_from_file(os.path.join(REPO, 'roles', 'l2_guests', 'defaults', 'main.yml'),
                                     trusted_as_template=True)
    tasks = loader.load_from_file(os.path.join(REPO, 'roles', 'l2_guests', 'tasks', 'domain.yml'),
                                  trusted_as_template=True)
    task = next(t for t in tasks if 'nestedkvm.stack.l2_domain' in t)
    variables = dict(defaults, omit=OMIT, inventory_hostname='win11-b', **host_vars)
    variables.update(task.get('vars', {}))
    templar = Templar(loader=loader, variables=variables)
    args = {}
    for key in ('profile', 'graphics', 'graphics_password', 'nested', 'install_iso'):
        value = templar.template(task['nestedkvm.stack.l2_domain'][key])
        if value != OMIT:
            args[key] = value
    return args


def test_the_example_windows11_guest_has_a_console():
    inventory = DataLoader().load_from_file(os.path.join(REPO, 'inventories', 'example', 'hosts.yml'),
                                            trusted_as_template=True)
    guest = inventory['all']['children']['l2_guests']['hosts']['win11-b']
    args = _l2_domain_args(dict(guest, vault_win11_console_password='pw-1234', l2_guests_l1_host='l1-b'))
    assert args['profile'] == 'windows11' and args['graphics'] == 'vnc'
    assert args['graphics_password'] == 'pw-1234'  # from the vault, passed to the module's no_log option
    assert args['nested'] is False and args['install_iso'].endswith('.iso')


def test_the_console_password_is_secret_in_the_role_spec():
    with open(os.path.join(REPO, 'roles', 'l2_guests', 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    assert options['l2_guests_console_password']['no_log'] is True
