# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain data written as YAML that cloud-init (PyYAML, YAML 1.1) reads back unchanged: JSON with sorted keys, and the
check that refuses what would not survive that (the message names the option and the path in it, never the value).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

# Characters that must not appear literally in the JSON-as-YAML output: C0/C1 controls other than
# tab and newline, YAML's extra line breaks (NEL, LS, PS: YAML would fold them inside a quoted
# scalar and change the value) and the BMP non-characters PyYAML refuses. Escaping them as \uXXXX
# is valid JSON and valid YAML. Surrogates are left alone so that the UTF-8 encode rejects them.
_YAML_UNSAFE = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]')


def check_plain_data(value, option, where='value'):
    """Reject anything that would not survive JSON-as-YAML unchanged (the message names the path)."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        text = repr(value)
        # PyYAML (YAML 1.1) reads 1e-05 or inf as strings: only plain decimals round-trip.
        if not math.isfinite(value) or 'e' in text or 'E' in text:
            # Not repeated: any value here can be a secret.
            raise OptionError(option, '%s is a number in exponent form or not finite, which YAML 1.1 would read '
                                      'back as a string; write it as a quoted string or a plain decimal' % where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise OptionError(option, 'key %r in %s is a %s; cloud-init keys must be strings, quote it'
                                          % (key, where, type(key).__name__))
            check_plain_data(item, option, '%s.%s' % (where, key) if where != 'value' else key)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_plain_data(item, option, '%s[%d]' % (where, index))
        return
    raise OptionError(option, '%s is a %s; only mappings, lists, strings, numbers, booleans and null '
                              'can be written to cloud-init' % (where, type(value).__name__))


def to_yaml(value):
    """Render plain data as YAML text: JSON with sorted keys, escaped where YAML differs from JSON.

    JSON is a subset of YAML 1.2 and, with the float and character caveats handled here and in
    _check_plain_data, reads back identically with PyYAML (YAML 1.1), which is what cloud-init
    uses. That beats a home-made block-style emitter: no quoting rules to get wrong (``on``,
    ``no``, ``0755``, ``:`` in values...), and sorted keys make the output deterministic.
    """
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, separators=(',', ': '))
    return _YAML_UNSAFE.sub(lambda m: '\\u%04x' % ord(m.group(0)), text) + '\n'
