"""_names.py: the names of domains, storage pools and disks, checked whole before libvirt sees them."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._names import validate_name


@pytest.mark.parametrize('name', ['l1-a', 'L2_win11', 'pool.nk', 'a+b', '0', 'x' * 64])
def test_usable_names_are_returned_as_they_are(name):
    assert validate_name(name) == name


@pytest.mark.parametrize('name', ['', None, '-lead', '.hidden', 'a/b', 'a b', 'a<b', 'x' * 65, 'l1\n', 'l1\nl2', 'é'])
def test_other_names_are_refused_naming_the_option(name):
    with pytest.raises(OptionError) as refused:
        validate_name(name)
    assert refused.value.details['option'] == 'name'
    assert refused.value.msg.startswith("name: '%s' is not a usable domain name" % name)


def test_the_option_and_the_kind_of_object_are_the_callers():
    with pytest.raises(OptionError) as refused:
        validate_name('r/oot', 'disk', 'disks[0].name')
    assert refused.value.details['option'] == 'disks[0].name'
    assert "is not a usable disk name: use 1 to 64 letters" in refused.value.msg
