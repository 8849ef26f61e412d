"""What the roles do when given nothing: their defaults, rendered by Ansible's own templating as a play would."""

import os

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

ROLES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles')


def rendered_default(role, name, **extra_vars):
    """The role's default for variable ``name``, templated with its other defaults and ``extra_vars``."""
    loader = DataLoader()
    defaults = loader.load_from_file(os.path.join(ROLES, role, 'defaults', 'main.yml'), trusted_as_template=True)
    variables = dict(defaults, **extra_vars)
    return Templar(loader=loader, variables=variables).template(variables[name])


@pytest.mark.parametrize('ansible_port', [None, 2222])
@pytest.mark.parametrize('role', ['l1_hypervisor', 'l2_guests'])
def test_the_default_user_network_is_restricted(role, ansible_port):
    # Unrestricted, QEMU maps the host's 127.0.0.1 to the user network's gateway: every loopback service is reachable.
    extra = {} if ansible_port is None else dict(ansible_port=ansible_port)
    networks = rendered_default(role, '%s_networks' % role, **extra)
    assert [n['type'] for n in networks] == ['user']
    assert all(n['restrict'] is True for n in networks)


@pytest.mark.parametrize('role', ['l1_hypervisor', 'l2_guests'])
def test_an_unrestricted_user_network_is_an_explicit_choice(role):
    networks = rendered_default(role, '%s_networks' % role, **{'%s_network_restrict' % role: False})
    assert [n['restrict'] for n in networks] == [False]
