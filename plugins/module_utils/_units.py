# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes as users write them (``4096``, ``4GiB``, ``512M``, ``20G``) turned into bytes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

# libvirt's own reading of units: a bare K/M/G/T is binary, only the "B" forms are decimal.
_UNITS = {
    'b': 1, 'bytes': 1,
    'k': 1024, 'kib': 1024, 'kb': 1000,
    'm': 1024 ** 2, 'mib': 1024 ** 2, 'mb': 1000 ** 2,
    'g': 1024 ** 3, 'gib': 1024 ** 3, 'gb': 1000 ** 3,
    't': 1024 ** 4, 'tib': 1024 ** 4, 'tb': 1000 ** 4,
}
_SIZE = re.compile(r' *(\d+(?:\.\d+)?) *([A-Za-z]*) *')


def parse_size(value, option, default_unit='MiB', minimum=1):
    """Return ``value`` in bytes; a bare number is in ``default_unit``.

    Raises OptionError naming ``option`` for anything that is not a positive size.
    """
    if isinstance(value, bool):
        raise OptionError(option, 'expected a size such as 4096 or 4GiB, got %r' % (value,))
    text = str(value)
    match = _SIZE.fullmatch(text)
    if not match:
        raise OptionError(option, "'%s' is not a size: write a number with an optional unit, "
                                  "e.g. 4096 (%s), 512MiB, 4GiB" % (text, default_unit))
    number, unit = match.groups()
    factor = _UNITS.get((unit or default_unit).lower())
    if factor is None:
        raise OptionError(option, "unknown unit '%s' in '%s': use one of KiB, MiB, GiB, TiB (or KB, MB, GB, TB)"
                          % (unit, text))
    size = int(float(number) * factor)
    if size < minimum:
        raise OptionError(option, "'%s' is too small: it must be at least %s" % (text, format_size(minimum)))
    return size


def format_size(size):
    """The shortest exact binary spelling of ``size`` bytes, e.g. 4GiB, 1536MiB, 100B."""
    for unit, factor in (('TiB', 1024 ** 4), ('GiB', 1024 ** 3), ('MiB', 1024 ** 2), ('KiB', 1024)):
        if size >= factor and size % factor == 0:
            return '%d%s' % (size // factor, unit)
    return '%dB' % size
