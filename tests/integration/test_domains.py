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
