import re

import pytest

pytestmark = pytest.mark.integration


def test_l1_lifecycle(playbook):
    output = playbook('l1_lifecycle.yml')
    assert re.search(r'failed=0', output)


def test_l2_profiles(playbook):
    playbook('l2_profiles.yml')


def test_two_domains_cannot_claim_one_forwarded_port(playbook):
    playbook('port_conflict.yml')


def test_roles_refuse_bad_variables_first(playbook):
    playbook('role_bad_vars.yml')


def test_console_passwords_never_reach_the_output(playbook):
    output = playbook('secrets.yml', '-vvv', '--diff')
    assert 'Nk7s3Cr' not in output and 'rC3s7kN' not in output
    assert 'graphics_password' in output  # the option was there, masked
