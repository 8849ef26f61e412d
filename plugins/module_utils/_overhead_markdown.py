# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overhead report as Markdown (overhead.md): its tables against L0 and against the L1, the times per operation,
the VM exits, the hosts and the notes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_model import level_name, measured_workloads
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_notation import (
    choose_notation, percent_ratios, relative, typical_range)
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import UNITS

# How the Markdown shows a time per operation of each workload: (unit name, seconds per unit).
DISPLAY_UNITS = {
    'cpu': ('\u00b5s', 1e-6),
    'memory': ('ns', 1e-9),
    'syscall': ('ns', 1e-9),
    'pipe': ('\u00b5s', 1e-6),
    'cpuid': ('ns', 1e-9),
    'disk': ('\u00b5s', 1e-6),
}


def _time(seconds, workload):
    unit, scale = DISPLAY_UNITS[workload]
    value = seconds / scale
    digits = 0 if value >= 100 else (1 if value >= 10 else 2)
    return '%.*f %s' % (digits, value, unit)


def _cell(text):
    return str(text).replace('|', '\\|')


def _table(header, rows):
    lines = ['| ' + ' | '.join(_cell(h) for h in header) + ' |', '|' + '---|' * len(header)]
    lines.extend('| ' + ' | '.join(_cell(c) for c in row) + ' |' for row in rows)
    return lines


def _runs_on(entry):
    if entry['level'] == 0:
        return 'virtual machine' if entry.get('virtual_machine') else 'bare metal'
    if entry['level'] == 1:
        return '%s (%s)' % (entry['parent'], entry['virt_type'] or 'domain type unknown')
    return '%s (KVM)' % entry['parent']


def _typical_cell(entry, notation):
    typical = entry['typical']
    text = '%s vs %s' % (typical_range(typical, notation), typical['against'])
    if entry['level'] == 0:
        return text + ': not measured'
    return '%s (%s)' % (text, entry['verdict'] or 'no figure')


def _overhead_rows(report, names, field, overall_field, levels):
    entries = [e for e in report['hosts'] if e['level'] in levels]
    notation = choose_notation([f['ratio'] for e in entries for f in (e[field] or {}).values() if f]
                               + percent_ratios(e[overall_field] for e in entries))
    rows = []
    for entry in entries:
        if entry['level'] == 0:
            rows.append([entry['name'], 'L0', _runs_on(entry)] + ['baseline'] * (len(names) + 1)
                        + [_typical_cell(entry, notation)])
            continue
        compared = entry[field] or {}
        cells = []
        for name in names:
            figure = compared.get(name)
            cells.append(relative(figure['percent'], notation, figure['within_noise']) if figure else 'n/a')
        row = [entry['name'], level_name(entry['level']), _runs_on(entry), *cells,
               relative(entry[overall_field], notation)]
        if field == 'overhead_vs_l0':
            row.append(_typical_cell(entry, notation))
        rows.append(row)
    return rows


def render_markdown(report):
    names = measured_workloads(report)
    out = ['# Nested KVM overhead report', '']
    out.append('Measured %s (UTC) on %d hosts.' % (report['measured_at'] or '(nothing measured)', len(report['hosts'])))
    out.append('')
    out.append('How to read it: every figure starts from the median time one operation takes on a host. An L1 '
               'or L2 is compared with the L0 of its chain: `+40.0 %` means an operation takes 1.4 times as long '
               'as on that L0. A table with a figure of 10 times or more, or a tenth or less, gives all its figures '
               'as factors instead: `\u00d71.40`, `\u00d725`. `~` marks a difference smaller than the spread of '
               'the samples, which may be chance. "overall" is the geometric mean over the workloads but cpuid, '
               'which is nothing but VM exits (the worst case: the price of one exit at that level). The last '
               'column gives the typical range for the level and where this one falls.')
    out.append('')
    for entry in report['hosts']:
        if entry['level'] == 0 and entry['label']:
            out.append('**%s: %s.** Its L1 figures are the cost of emulation, not of nesting.'
                       % (entry['name'], entry['label']))
            out.append('')
    out.append('## Overhead against L0')
    out.append('')
    out.extend(_table(['host', 'level', 'runs on', *names, 'overall', 'typical'],
                      _overhead_rows(report, names, 'overhead_vs_l0', 'overall_vs_l0', (0, 1, 2))))
    out.append('')
    if any(e['overhead_vs_parent'] for e in report['hosts']):
        out.append('## L2 against its L1')
        out.append('')
        out.extend(_table(['host', 'level', 'runs on', *names, 'overall'],
                          _overhead_rows(report, names, 'overhead_vs_parent', 'overall_vs_parent', (2,))))
        out.append('')
    out.append('## Time per operation: median (spread, (max - min) / median)')
    out.append('')
    header = ['host', 'level'] + ['%s (%s / %s)' % (n, DISPLAY_UNITS[n][0], UNITS[n]) for n in names]
    rows = []
    for entry in report['hosts']:
        cells = []
        for name in names:
            figure = entry['workloads'].get(name)
            if not figure or not figure['available']:
                cells.append('n/a')
            else:
                cells.append('%s (%.1f %%)' % (_time(figure['seconds_per_op'], name), (figure['spread'] or 0) * 100))
        rows.append([entry['name'], level_name(entry['level']), *cells])
    out.extend(_table(header, rows))
    out.append('')
    out.extend(_exit_section(report))
    out.append('## Hosts')
    out.append('')
    rows = []
    for entry in report['hosts']:
        facts = dict((k, 'n/a' if v is None else v) for k, v in entry['facts'].items())
        rows.append([entry['name'], level_name(entry['level'])]
                    + [facts.get(k, 'n/a') for k in ('kernel', 'python', 'cpu_model', 'cpus', 'clocksource')]
                    + ['%s (%s)' % (facts.get('disk_dir', 'n/a'), facts.get('disk_fstype', 'n/a'))])
    out.extend(_table(['host', 'level', 'kernel', 'Python', 'CPU', 'CPUs', 'clock source', 'disk workload in'], rows))
    out.append('')
    if report['notes']:
        out.append('## Notes')
        out.append('')
        out.extend('- ' + note for note in report['notes'])
        out.append('')
    return '\n'.join(out)


def _exit_section(report):
    guests = [e for e in report['hosts'] if e['level'] > 0]
    if not guests:
        return []
    out = ['## VM exits while the guest ran its workloads', '',
           'Counted by KVM on the host the guest runs on, from before to after the guest\'s workload task (its '
           'start-up included).', '']
    rows = []
    for entry in guests:
        exits = entry['exits'] or {}
        others = ', '.join('%s %d' % (k, v) for k, v in sorted(exits.get('counters', {}).items()) if k != 'exits' and v)
        source = {'vm': 'this guest (%s)' % exits.get('path'), 'global': 'all guests of %s (%s)'
                  % (entry['parent'], exits.get('path'))}.get(exits.get('source'), 'none')
        rows.append([entry['name'], entry['parent'] or 'n/a', source,
                     exits['exits'] if exits.get('exits') is not None else 'n/a',
                     '%.0f' % exits['per_second'] if exits.get('per_second') is not None else 'n/a',
                     others or '-', exits.get('reason') or '-'])
    out.extend(_table(['guest', 'counted on', 'counters of', 'exits', 'per second of workload', 'of which', 'remark'], rows))
    out.append('')
    return out
