# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain data as YAML: what cloud-init's PyYAML reads back is what was given, and what it would misread is refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._yaml_emitter import check_plain_data, to_yaml

yaml = pytest.importorskip('yaml', reason='PyYAML (an ansible-core dependency) is needed to parse the output')


def test_tricky_values_round_trip():
    value = {
        'on': 'no', 'mode': '0755', 'colon': 'a: b', 'hash': '# not a comment', 'empty': '',
        'multiline': 'line1\nline2\n', 'tab': 'a\tb', 'unicode': u'h\u00e9 \u2603 \U0001f600',
        'nel': u'a\x85b', 'ls': u'a\u2028b', 'del': u'a\x7fb', 'nul': u'a\x00b',
        'numbers': [0, -1, 1.5, 12345678901234567890], 'flags': [True, False, None],
        'nested': {'list': [{'a': 1}], 'empty_list': [], 'empty_map': {}},
    }
    check_plain_data(value, 'cloud_init.user_data')
    assert yaml.safe_load(to_yaml(value)) == value


def test_keys_are_sorted_so_the_same_data_gives_the_same_text():
    assert to_yaml({'b': 1, 'a': [2]}) == to_yaml({'a': [2], 'b': 1}) == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'


@pytest.mark.parametrize('value, words', [
    ({1: 'x'}, 'keys must be strings'),
    ({'write_files': [{'content': b'x'}]}, 'write_files[0].content is a bytes'),
    ({'ratio': 1e-05}, 'ratio is a number in exponent form'),
    ({'ratio': float('inf')}, 'quoted string'),
    ({'x': {1, 2}}, 'x is a set'),
    (['a', object()], 'value[1] is a object'),
])
def test_what_yaml_would_not_read_back_is_refused_naming_the_option_and_the_path(value, words):
    with pytest.raises(OptionError) as caught:
        check_plain_data(value, 'cloud_init.user_data')
    assert caught.value.details == {'option': 'cloud_init.user_data'}
    assert words in caught.value.msg
