# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the overhead report writes a figure: as a percentage (+12.3 %) or a factor (x1.12), one notation for a whole
table, list or chart, never an exponent."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math


def factor(ratio, trim=False):
    """A time ratio as a plain decimal factor, never an exponent: ``x1.12``, ``x0.00107``, ``x4870`` (three
    significant digits, whole numbers from 10); ``trim`` drops trailing zeros, for an axis (``x1``, ``x0.5``)."""
    if ratio <= 0:
        return '\u00d70'
    digits = 0 if ratio >= 10 else max(0, 2 - math.floor(math.log10(ratio)))
    text = '%.*f' % (digits, ratio)
    if trim and '.' in text:
        text = text.rstrip('0').rstrip('.')
    return '\u00d7' + text


def percent_ratios(percents):
    return [1 + p / 100.0 for p in percents if p is not None]


def choose_notation(ratios):
    """One notation for a whole table or list: 'factor' when any ratio is 10 or more, or 0.1 or less (where a
    percentage reads badly: +4770 %, -99.9 %), else 'percent'."""
    return 'factor' if any(r >= 10 or r <= 0.1 for r in ratios) else 'percent'


def relative(percent, notation, noise=False):
    """An overhead as shown in ``notation``: ``+12.3 %`` or ``x1.12``; `` ~`` when it is within the noise."""
    if percent is None:
        return 'n/a'
    text = factor(1 + percent / 100.0) if notation == 'factor' else '%+.1f %%' % percent
    return text + (' ~' if noise else '')


def typical_range(typical, notation):
    if notation == 'factor':
        return '%s-%s' % (factor(1 + typical['low'] / 100.0), factor(1 + typical['high'] / 100.0))
    return '%d-%d %%' % (typical['low'], typical['high'])
