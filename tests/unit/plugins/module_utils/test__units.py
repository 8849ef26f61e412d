import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._units import format_size, parse_size

MiB = 1024 ** 2
GiB = 1024 ** 3


@pytest.mark.parametrize('value, expected', [
    ('4096', 4096 * MiB),
    (4096, 4096 * MiB),
    ('4GiB', 4 * GiB),
    ('4G', 4 * GiB),
    ('4 GiB', 4 * GiB),
    ('512MiB', 512 * MiB),
    ('512m', 512 * MiB),
    ('1.5GiB', 1536 * MiB),
    ('2GB', 2 * 1000 ** 3),
    ('1TiB', 1024 ** 4),
    ('1048576KiB', GiB),
])
def test_parse_size(value, expected):
    assert parse_size(value, 'memory') == expected


def test_default_unit_is_per_option():
    assert parse_size('20', 'disks[0].size', default_unit='GiB') == 20 * GiB


@pytest.mark.parametrize('value, fragment', [
    ('lots', "'lots' is not a size"),
    ('-1G', "'-1G' is not a size"),
    ('0', 'too small'),
    ('4 parsecs', "unknown unit 'parsecs'"),
    ('', "'' is not a size"),
    (True, 'expected a size'),
])
def test_bad_sizes_name_the_option(value, fragment):
    with pytest.raises(OptionError) as err:
        parse_size(value, 'memory')
    assert err.value.msg.startswith('memory: ')
    assert fragment in err.value.msg
    assert err.value.details == {'option': 'memory'}


def test_minimum():
    with pytest.raises(OptionError, match='at least 16MiB'):
        parse_size('1', 'memory', minimum=16 * MiB)


@pytest.mark.parametrize('size, text', [(4 * GiB, '4GiB'), (1536 * MiB, '1536MiB'), (100, '100B'), (1024 ** 4, '1TiB')])
def test_format_size(size, text):
    assert format_size(size) == text
