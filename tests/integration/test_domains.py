import re

import pytest

pytestmark = pytest.mark.integration


def test_l1_lifecycle(playbook):
    output = playbook('l1_lifecycle.yml')
    assert re.search(r'failed=0', output)


def test_l2_profiles(playbook):
    playbook('l2_profiles.yml')
