# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overhead report in a line per host: what the overhead_report role prints."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_model import level_name
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_notation import (
    choose_notation, percent_ratios, relative, typical_range)


def summary_lines(report):
    """One line per host (an emulated L0's says so): what the role prints."""
    lines = []
    notation = choose_notation(percent_ratios(e['overall_vs_l0'] for e in report['hosts']))
    for entry in report['hosts']:
        where = ' on %s' % entry['parent'] if entry['parent'] else ''
        if entry['level'] == 0:
            lines.append('%s (L0): baseline%s' % (entry['name'], ', ' + entry['label'] if entry['label'] else ''))
            continue
        typical = entry['typical']
        runs_under = (entry['virt_type'] or 'domain type unknown') if entry['level'] == 1 else 'KVM in its L1'
        lines.append('%s (%s%s, %s): overall %s against L0 %s (typical %s: %s)' % (
            entry['name'], level_name(entry['level']), where, runs_under,
            relative(entry['overall_vs_l0'], notation), entry['l0'] or '(not measured)',
            typical_range(typical, notation), entry['verdict'] or 'no figure'))
    return lines
