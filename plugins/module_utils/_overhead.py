# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overhead report (overhead_report): what each nesting level costs, from overhead_workload's figures.

``build_report`` turns the measured hosts into one dict (written as overhead.json); ``render_markdown`` and
``render_svg`` draw it; ``write_files`` writes them only where the content differs. Runs on the controller.

The figure compared is the median time of one operation. An L1 or L2 is compared with the L0 at the root of its
chain (its own L0, or its L1's L0); an L2 also with its L1. The overhead is ``time / time at L0 - 1``, in percent;
a level's overall overhead is the geometric mean of its workloads' time ratios.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload import UNITS, WORKLOADS

REPORT_VERSION = 1
# The workloads an overall figure is made of. CPUID is nothing but VM exits, the worst case, which real work meets
# far less often: it is shown on its own, as the price of an exit.
OVERALL_WORKLOADS = ('cpu', 'memory', 'syscall', 'pipe', 'disk')
FILES = ('overhead.json', 'overhead.md', 'overhead.svg')
FILE_KINDS = ('json', 'markdown', 'svg')  # the names the module returns them under

# The seed's typical overhead per level, in percent, and what it is measured against.
TYPICAL_RANGES = {
    0: dict(low=2, high=5, against='native'),
    1: dict(low=10, high=15, against='L0'),
    2: dict(low=40, high=70, against='L0'),
}

# How a chain whose L0 runs its L1 under TCG is labelled, by what the L0's kvm_host_info said of VT-x/AMD-V.
EMULATION_LABELS = {
    False: 'emulated L0 (no VT-x/AMD-V)',
    True: 'emulated L0 (TCG chosen although VT-x/AMD-V is present)',
    None: 'emulated L0 (its L1 runs under QEMU TCG)',
}

# How the Markdown shows a time per operation of each workload: (unit name, seconds per unit).
DISPLAY_UNITS = {
    'cpu': ('\u00b5s', 1e-6),
    'memory': ('ns', 1e-9),
    'syscall': ('ns', 1e-9),
    'pipe': ('\u00b5s', 1e-6),
    'cpuid': ('ns', 1e-9),
    'disk': ('\u00b5s', 1e-6),
}

SVG_NS = 'http://www.w3.org/2000/svg'
FONT_FAMILY = 'DejaVu Sans, Arial, Helvetica, sans-serif'
LEVEL_COLORS = {1: ('#1f77b4', '#6baed6', '#08519c'), 2: ('#e6550d', '#fdae6b', '#a63603')}
# Gridlines besides 1, 2 and 5 of each decade, for an axis that spans little around 1.
FINE_TICKS = (0.8, 0.9, 1.05, 1.1, 1.2, 1.5)
# The widest span (a factor) the chart's axis covers. A bar beyond it from the bars the axis holds is off the scale:
# it would squeeze the others into a strip (an emulated L1's CPUID, a thousandth of its L0's, did).
AXIS_SPAN = 1e4
PLOT_HEIGHT = 340
OFF_SCALE_ROOM = 30  # px between the baseline and the axis's end, where an off-scale bar shows its break mark
MIN_BAR_WIDTH = 14  # px: a value turned on its side (1.2 em of BAR_FONT) fits inside its bar's column
BAR_FONT = 10
MARGIN = 12


# ---------------------------------------------------------------------------------------------------------------
# The report's content

def _level_name(level):
    return 'L%d' % level


def _ratio(value, baseline):
    if not value or not baseline:
        return None
    return value / baseline


def compare(workloads, baseline_workloads):
    """Per workload {'percent', 'ratio', 'within_noise'} against a baseline's, and the overall (geometric mean over
    OVERALL_WORKLOADS).

    ``within_noise`` says the difference is smaller than the two hosts' spreads together: it could be chance.
    Returns (per_workload, overall_percent); a workload missing on either side is None.
    """
    per_workload = {}
    ratios = []
    for name in WORKLOADS:
        mine, theirs = workloads.get(name), baseline_workloads.get(name)
        if mine is None and theirs is None:
            continue
        ratio = None
        if mine and theirs and mine['available'] and theirs['available']:
            ratio = _ratio(mine['seconds_per_op'], theirs['seconds_per_op'])
        if ratio is None:
            per_workload[name] = None
            continue
        if name in OVERALL_WORKLOADS:
            ratios.append(ratio)
        noise = (mine['spread'] or 0) + (theirs['spread'] or 0)
        per_workload[name] = dict(ratio=ratio, percent=(ratio - 1) * 100, within_noise=abs(ratio - 1) <= noise)
    overall = None
    if ratios:
        overall = (math.exp(sum(math.log(r) for r in ratios) / len(ratios)) - 1) * 100
    return per_workload, overall


def decide_l1_virt_type(l1, l0):
    """(virt_type, source): the libvirt domain type the L1 runs under on its L0, and how that is known.

    In order: the l1_hypervisor role's record; what kvm_exit_stats saw of the L1's QEMU process on the L0 (a KVM VM
    or not); else the L0's kvm_host_info verdict (an L0 without usable hardware KVM can only emulate).
    """
    record = l1.get('hypervisor_record') or {}
    if record.get('virt_type') in ('kvm', 'qemu'):
        return record['virt_type'], 'l1_hypervisor_result'
    seen = (l1.get('exits_before') or {}).get('domain_on_kvm')
    if seen is not None:
        return ('kvm' if seen else 'qemu'), "the L1's QEMU process on its L0"
    facts = (l0 or {}).get('kvm_host') or {}
    if facts.get('recommended_virt_type') == 'qemu':
        return 'qemu', 'kvm_host_info on the L0 (no usable hardware KVM there)'
    if facts.get('recommended_virt_type') == 'kvm':
        return 'kvm', 'kvm_host_info on the L0 (hardware KVM works there; assumed used)'
    return None, 'unknown'


def emulation_label(l0):
    facts = (l0 or {}).get('kvm_host') or {}
    return EMULATION_LABELS[facts.get('hardware_virtualization')]


def exit_delta(before, after, elapsed_seconds):
    """VM exits between two kvm_exit_stats readings of the same source: {'source', 'path', 'counters',
    'exits', 'per_second', 'reason'}."""
    before, after = before or {}, after or {}
    result = dict(source=None, path=None, counters={}, exits=None, per_second=None, reason=None)
    if not before or not after:
        result['reason'] = 'not counted'
        return result
    if not before.get('source') or not after.get('source'):
        result['reason'] = after.get('reason') or before.get('reason') or 'no counters'
        return result
    if (before['source'], before.get('path')) != (after['source'], after.get('path')):
        result['reason'] = ('the counters changed place during the run (%s, then %s): the guest restarted?'
                            % (before.get('path'), after.get('path')))
        return result
    counters = dict((name, after['counters'][name] - before['counters'][name])
                    for name in sorted(after.get('counters') or {}) if name in (before.get('counters') or {}))
    exits = counters.get('exits')
    result.update(source=after['source'], path=after.get('path'), counters=counters, exits=exits,
                  reason=after.get('reason'))
    if exits is not None and elapsed_seconds:
        result['per_second'] = exits / elapsed_seconds
    return result


def _verdict(level, overall, emulated):
    if level == 0 or overall is None:
        return None
    if emulated:
        return 'not comparable: emulation cost'
    typical = TYPICAL_RANGES[level]
    if overall < typical['low']:
        return 'below'
    if overall > typical['high']:
        return 'above'
    return 'within'


def _workload_figures(measurement):
    figures = {}
    for name, result in sorted(((measurement or {}).get('workloads') or {}).items()):
        keep = ('name', 'unit', 'available', 'reason', 'seconds_per_op', 'median', 'min', 'max', 'spread', 'samples',
                'ops_per_sample')
        figures[name] = dict((key, result.get(key)) for key in keep)
    return figures


def _tree_order(hosts):
    """L0s in the order given, each followed by its L1s and each L1 by its L2s; orphans last."""
    ordered = []
    for l0 in [h for h in hosts if h['level'] == 0]:
        ordered.append(l0)
        for l1 in [h for h in hosts if h['level'] == 1 and h.get('parent') == l0['name']]:
            ordered.append(l1)
            ordered.extend(h for h in hosts if h['level'] == 2 and h.get('parent') == l1['name'])
    return ordered + [h for h in hosts if h not in ordered]


def check_hosts(hosts):
    """Bad input fails before anything is written: names given twice, a host that is its own parent."""
    seen = set()
    for host in hosts:
        if host['name'] in seen:
            raise OptionError('hosts', '%s is given twice' % host['name'])
        seen.add(host['name'])
        if host.get('parent') == host['name']:
            raise OptionError('hosts', '%s is its own parent' % host['name'])


def build_report(hosts):
    """The report (what overhead.json holds) from the module's ``hosts`` option."""
    by_name = dict((h['name'], h) for h in hosts)
    entries = []
    for host in _tree_order(hosts):
        level, parent = host['level'], host.get('parent')
        parent_host = by_name.get(parent) if parent else None
        if level == 0:
            l0 = host
        elif level == 1:
            l0 = parent_host
        else:
            l0 = by_name.get(parent_host.get('parent')) if parent_host else None
        l1 = host if level == 1 else (parent_host if level == 2 else None)
        virt_type, virt_source = (decide_l1_virt_type(l1, l0) if l1 else (None, None))
        measurement = host.get('measurement') or {}
        workloads = _workload_figures(measurement)
        entry = dict(
            name=host['name'], level=level, parent=parent, domain=host.get('domain'),
            l0=l0['name'] if l0 else None, l1=l1['name'] if l1 else None,
            virt_type=virt_type, virt_type_source=virt_source,
            emulated=virt_type == 'qemu', label=None,
            measured=bool(workloads), facts=measurement.get('host') or {},
            started_at=measurement.get('started_at'), elapsed_seconds=measurement.get('elapsed_seconds'),
            workloads=workloads,
            overhead_vs_l0=None, overall_vs_l0=None, overhead_vs_parent=None, overall_vs_parent=None,
            typical=dict(TYPICAL_RANGES[level]), verdict=None, exits=None,
        )
        if level == 0:
            entry['virtual_machine'] = ((host.get('kvm_host') or {}).get('is_virtual_machine'))
        if level > 0:
            entry['exits'] = exit_delta(host.get('exits_before'), host.get('exits_after'), entry['elapsed_seconds'])
        entries.append(entry)
    by_entry = dict((e['name'], e) for e in entries)
    for entry in entries:
        _compare_entry(entry, by_entry, by_name)
    notes = _notes(entries)
    measured = sorted(e['started_at'] for e in entries if e['started_at'])
    report = dict(
        report='nestedkvm.stack overhead report',
        version=REPORT_VERSION,
        measured_at=measured[0] if measured else None,
        typical_ranges_percent=dict((_level_name(level), r) for level, r in sorted(TYPICAL_RANGES.items())),
        workloads=[dict(name=n, unit=UNITS[n]) for n in WORKLOADS],
        hosts=entries,
        notes=notes,
    )
    return _rounded(report)


def _compare_entry(entry, by_entry, by_name):
    """Fill the comparisons of one host, and the emulation label of its chain."""
    l0 = by_entry.get(entry['l0']) if entry['l0'] else None
    l1 = by_entry.get(entry['l1']) if entry['l1'] else None
    if entry['level'] == 0:
        children = [e for e in by_entry.values() if e['level'] == 1 and e['parent'] == entry['name']]
        if any(c['emulated'] for c in children):
            entry['emulated'] = True
            entry['label'] = emulation_label(by_name[entry['name']])
        return
    if l1 is not None and l1['emulated']:
        entry['emulated'] = True
        entry['label'] = emulation_label(by_name.get(entry['l0']))
    if entry['measured'] and l0 is not None and l0['measured']:
        entry['overhead_vs_l0'], entry['overall_vs_l0'] = compare(entry['workloads'], l0['workloads'])
        entry['verdict'] = _verdict(entry['level'], entry['overall_vs_l0'], entry['emulated'])
    if entry['level'] == 2 and entry['measured'] and l1 is not None and l1['measured']:
        entry['overhead_vs_parent'], entry['overall_vs_parent'] = compare(entry['workloads'], l1['workloads'])


def _notes(entries):
    notes = []
    for entry in entries:
        name = entry['name']
        if entry['level'] == 0:
            if entry['virtual_machine']:
                notes.append('%s (L0) is itself a virtual machine: there is no native baseline, its own hypervisor '
                             'costs are inside every figure, and each percentage is relative to it.' % name)
            else:
                notes.append('%s (L0) is the baseline. The typical 2-5 %% of an L0 against native hardware is not '
                             'measured here: that needs a run on the same machine with no hypervisor.' % name)
            if entry['label']:
                notes.append('%s: %s. It runs its L1s under QEMU TCG (libvirt domain type qemu): the L1 figures are '
                             'the cost of emulation, not of nesting, and are not comparable with the typical '
                             '10-15 %%. Its L2s run on KVM inside those L1s, whose KVM is itself emulated.'
                             % (name, entry['label']))
                notes.append('%s: why cpuid is cheap in its L1s and dear in their L2s. Under TCG there is no '
                             'hardware guest mode to exit from: QEMU translates the L1\'s CPUID, like its other '
                             'instructions, into host code, here a call of a C helper function in the same QEMU '
                             'thread, so it costs no VM exit. The L2 runs on the L1\'s KVM, where CPUID always exits '
                             'to that KVM; the exit (a switch from the L2 back to the L1), KVM\'s handling of it and '
                             'the return to the L2 are all carried out by TCG\'s emulation too.' % name)
        elif entry['l0'] is None:
            notes.append('%s (%s): no L0 of its chain was measured, so it has no baseline.'
                         % (name, _level_name(entry['level'])))
        if entry['level'] == 1 and entry['virt_type'] is None:
            notes.append('%s: how it runs on its L0 (KVM or emulated) is not known: no l1_hypervisor_result, and '
                         'nothing read on the L0.' % name)
        elif entry['level'] == 1 and entry['virt_type_source'] != 'l1_hypervisor_result':
            notes.append('%s: domain type %s, from %s.' % (name, entry['virt_type'], entry['virt_type_source']))
        if not entry['measured']:
            notes.append('%s: not measured (check mode, or the host was not reachable).' % name)
        for workload in entry['workloads'].values():
            if not workload['available']:
                notes.append('%s: %s not measured: %s.' % (name, workload['name'], workload['reason']))
        facts = entry['facts']
        if facts.get('disk_fstype') in ('tmpfs', 'ramfs'):
            notes.append('%s: %s is on %s, so the disk figure measures memory, not a disk.'
                         % (name, facts.get('disk_dir'), facts['disk_fstype']))
        if facts.get('clocksource') and facts['clocksource'] not in ('tsc', 'kvm-clock'):
            notes.append('%s: clock source %s; reading it may itself leave the guest, which inflates short '
                         'operations.' % (name, facts['clocksource']))
    notes.extend(_difference_notes(entries))
    return notes


def _difference_notes(entries):
    notes = []
    for key, what in (('python', 'Python versions'), ('cpu_model', 'CPU models'), ('kernel', 'kernels')):
        values = sorted(set(e['facts'].get(key) for e in entries if e['facts'].get(key)))
        if len(values) > 1:
            notes.append('The levels run different %s (%s): some of the difference is theirs, not nesting\'s.'
                         % (what, ', '.join(values)))
    return notes


def _rounded(value):
    """Floats to 6 significant digits, so the files do not change with noise below anything shown."""
    if isinstance(value, float):
        return float('%.6g' % value)
    if isinstance(value, dict):
        return dict((k, _rounded(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def summary_lines(report):
    """One line per host (an emulated L0's says so): what the role prints."""
    lines = []
    notation = _notation(_percent_ratios(e['overall_vs_l0'] for e in report['hosts']))
    for entry in report['hosts']:
        where = ' on %s' % entry['parent'] if entry['parent'] else ''
        if entry['level'] == 0:
            lines.append('%s (L0): baseline%s' % (entry['name'], ', ' + entry['label'] if entry['label'] else ''))
            continue
        typical = entry['typical']
        runs_under = (entry['virt_type'] or 'domain type unknown') if entry['level'] == 1 else 'KVM in its L1'
        lines.append('%s (%s%s, %s): overall %s against L0 %s (typical %s: %s)' % (
            entry['name'], _level_name(entry['level']), where, runs_under,
            _relative(entry['overall_vs_l0'], notation), entry['l0'] or '(not measured)',
            _typical_range(typical, notation), entry['verdict'] or 'no figure'))
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Markdown

def _factor(ratio, trim=False):
    """A time ratio as a plain decimal factor, never an exponent: ``x1.12``, ``x0.00107``, ``x4870`` (three
    significant digits, whole numbers from 10); ``trim`` drops trailing zeros, for an axis (``x1``, ``x0.5``)."""
    if ratio <= 0:
        return '\u00d70'
    digits = 0 if ratio >= 10 else max(0, 2 - math.floor(math.log10(ratio)))
    text = '%.*f' % (digits, ratio)
    if trim and '.' in text:
        text = text.rstrip('0').rstrip('.')
    return '\u00d7' + text


def _percent_ratios(percents):
    return [1 + p / 100.0 for p in percents if p is not None]


def _notation(ratios):
    """One notation for a whole table or list: 'factor' when any ratio is 10 or more, or 0.1 or less (where a
    percentage reads badly: +4770 %, -99.9 %), else 'percent'."""
    return 'factor' if any(r >= 10 or r <= 0.1 for r in ratios) else 'percent'


def _relative(percent, notation, noise=False):
    """An overhead as shown in ``notation``: ``+12.3 %`` or ``x1.12``; `` ~`` when it is within the noise."""
    if percent is None:
        return 'n/a'
    text = _factor(1 + percent / 100.0) if notation == 'factor' else '%+.1f %%' % percent
    return text + (' ~' if noise else '')


def _typical_range(typical, notation):
    if notation == 'factor':
        return '%s-%s' % (_factor(1 + typical['low'] / 100.0), _factor(1 + typical['high'] / 100.0))
    return '%d-%d %%' % (typical['low'], typical['high'])


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


def _measured_workloads(report):
    return [w['name'] for w in report['workloads'] if any(w['name'] in e['workloads'] for e in report['hosts'])]


def _runs_on(entry):
    if entry['level'] == 0:
        return 'virtual machine' if entry.get('virtual_machine') else 'bare metal'
    if entry['level'] == 1:
        return '%s (%s)' % (entry['parent'], entry['virt_type'] or 'domain type unknown')
    return '%s (KVM)' % entry['parent']


def _typical_cell(entry, notation):
    typical = entry['typical']
    text = '%s vs %s' % (_typical_range(typical, notation), typical['against'])
    if entry['level'] == 0:
        return text + ': not measured'
    return '%s (%s)' % (text, entry['verdict'] or 'no figure')


def _overhead_rows(report, names, field, overall_field, levels):
    entries = [e for e in report['hosts'] if e['level'] in levels]
    notation = _notation([f['ratio'] for e in entries for f in (e[field] or {}).values() if f]
                         + _percent_ratios(e[overall_field] for e in entries))
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
            cells.append(_relative(figure['percent'], notation, figure['within_noise']) if figure else 'n/a')
        row = [entry['name'], _level_name(entry['level']), _runs_on(entry), *cells,
               _relative(entry[overall_field], notation)]
        if field == 'overhead_vs_l0':
            row.append(_typical_cell(entry, notation))
        rows.append(row)
    return rows


def render_markdown(report):
    names = _measured_workloads(report)
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
        rows.append([entry['name'], _level_name(entry['level']), *cells])
    out.extend(_table(header, rows))
    out.append('')
    out.extend(_exit_section(report))
    out.append('## Hosts')
    out.append('')
    rows = []
    for entry in report['hosts']:
        facts = dict((k, 'n/a' if v is None else v) for k, v in entry['facts'].items())
        rows.append([entry['name'], _level_name(entry['level'])]
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


# ---------------------------------------------------------------------------------------------------------------
# SVG

def _element(parent, tag, text=None, **attributes):
    node = ET.SubElement(parent, tag, dict((k.rstrip('_').replace('_', '-'), str(v)) for k, v in attributes.items()))
    if text is not None:
        node.text = text
    return node


def _series(report):
    """(entry, color) for each L1/L2 with figures against its L0, in report order."""
    series = []
    used = {1: 0, 2: 0}
    for entry in report['hosts']:
        if entry['level'] == 0 or not entry['overhead_vs_l0']:
            continue
        palette = LEVEL_COLORS[entry['level']]
        series.append((entry, palette[used[entry['level']] % len(palette)]))
        used[entry['level']] += 1
    return series


def _ratios_of(entry, categories):
    values = []
    for name in categories:
        if name == 'overall':
            values.append(None if entry['overall_vs_l0'] is None else 1 + entry['overall_vs_l0'] / 100)
        else:
            figure = entry['overhead_vs_l0'].get(name)
            values.append(figure['ratio'] if figure else None)
    return values


def render_svg(report):
    """A bar chart of each L1's and L2's time per operation against its L0, as factors on a logarithmic axis, with the
    typical ranges as bands. Built as an element tree and serialized, never by string templates.

    Every label's room is over-estimated (``text_box``) and laid out so that no two meet: a bar's value sits in the
    bar's own column (turned on its side when it is wider than the bar), the axis keeps only the gridlines whose
    labels fit, and the title and legend go above whatever the plot's labels reach. A bar beyond the axis (more than
    AXIS_SPAN from the bars the axis holds) stops at its end with a break mark, its value written there."""
    labels = sorted(set('%s: %s' % (e['name'], e['label']) for e in report['hosts'] if e['level'] == 0 and e['label']))
    subtitle = '; '.join(labels) if labels else 'measured %s' % (report['measured_at'] or '-')
    svg = ET.Element('svg', dict(xmlns=SVG_NS, role='img'))
    svg.set('font-family', FONT_FAMILY)
    svg.set('font-size', '12')
    _element(svg, 'title', 'Nested KVM overhead against L0')
    background = _element(svg, 'rect', x=0, y=0, fill='#ffffff')
    boxes = []
    title = 'Time per operation against L0, as a factor (logarithmic axis)'
    _text(svg, boxes, title, MARGIN, 24, size=16, font_weight='bold')
    _text(svg, boxes, subtitle, MARGIN, 44, fill='#b30000' if labels else '#444444')
    series = _series(report)
    if not series:
        _text(svg, boxes, 'Nothing to compare: no L1 or L2 with figures against a measured L0.', MARGIN, 120)
        return _finish(svg, background, boxes)
    geometry = _geometry(report, series)
    # The plot alone first, its top left corner at (0, 0), to learn how far its labels reach; then the legend
    # above that and the plot beneath it.
    x0, y0, x1 = _plot(ET.Element('g'), [], geometry, 0, 0)[:3]
    width = max(960.0, 2 * MARGIN + x1 - x0, *(b[2] + MARGIN for b in boxes))
    legend_y = 68
    x = MARGIN
    for entry, color in series:
        text = '%s (L%d on %s)' % (entry['name'], entry['level'], entry['parent'])
        if x > MARGIN and x + 16 + _text_width(text, 12) > width - MARGIN:
            x, legend_y = MARGIN, legend_y + 20
        _element(svg, 'rect', x='%.1f' % x, y=legend_y - 10, width=12, height=12, fill=color)
        _text(svg, boxes, text, x + 16, legend_y)
        x = boxes[-1][2] + 18
    bottom = _plot(svg, boxes, geometry, MARGIN - x0, legend_y + 16 - y0)[3]
    if geometry['off_scale']:
        _text(svg, boxes, 'A bar with a white break runs off the scale: the value written at its end is its own.',
              MARGIN, bottom + 6 + 0.95 * 12, fill='#444444')
    return _finish(svg, background, boxes)


def _finish(svg, background, boxes):
    """Size the picture to hold every label, and serialize it."""
    width = max(960, math.ceil(max(b[2] for b in boxes)) + MARGIN)
    height = max(480, math.ceil(max(b[3] for b in boxes)) + MARGIN)
    for node in (svg, background):
        node.set('width', str(width))
        node.set('height', str(height))
    svg.set('viewBox', '0 0 %d %d' % (width, height))
    return _serialize(svg)


# Text is measured nowhere (the SVG is drawn by whatever shows it), so its room is over-estimated: these advance
# widths, in em, are at least those of DejaVu Sans Bold, the widest of FONT_FAMILY (a unit test holds them against
# the font's own file); anything outside Latin-1 counts as wide.
_NARROW = frozenset('abcdefghijklnopqrstuvxyz0123456789 .,:;!|/\\()[]\'"-_\u00b5')
_WIDE = frozenset('mwMW%@')


def _text_width(text, size):
    return size * sum(0.75 if c in _NARROW else 1.15 if c in _WIDE or ord(c) > 0xff else 0.9 for c in text)


def text_box(text, x, y, size=12, anchor='start', rotated=False):
    """(x0, y0, x1, y1): room enough for ``text`` drawn at (x, y), ``size`` px high, with this text-anchor; its
    ascent and descent are DejaVu's 0.93 and 0.24 em, rounded up. ``rotated``: turned by -90 degrees about (x, y),
    so that it reads upwards."""
    width = _text_width(text, size)
    start = {'start': 0.0, 'middle': -width / 2, 'end': -width}[anchor]
    above, below = 0.95 * size, 0.25 * size
    if rotated:
        return (x - above, y - start - width, x + below, y - start)
    return (x + start, y - above, x + start + width, y + below)


def _overlap(one, other, gap=0.0):
    return (one[0] < other[2] + gap and other[0] < one[2] + gap
            and one[1] < other[3] + gap and other[1] < one[3] + gap)


def _text(parent, boxes, text, x, y, size=12, anchor='start', rotated=False, **attributes):
    """A text element, its room added to ``boxes`` (from the coordinates as written, rounded)."""
    x, y = round(x, 1), round(y, 1)
    if size != 12:
        attributes['font_size'] = size
    if anchor != 'start':
        attributes['text_anchor'] = anchor
    if rotated:
        attributes['transform'] = 'rotate(-90 %.1f %.1f)' % (x, y)
    _element(parent, 'text', text, x='%.1f' % x, y='%.1f' % y, **attributes)
    boxes.append(text_box(text, x, y, size, anchor, rotated))
    return boxes[-1]


def _geometry(report, series):
    """What the plot needs: categories, each guest's ratios, the axis, the bands, the bars' width and whether their
    values are turned on their side."""
    guests = [entry for entry, color in series]
    categories = [n for n in _measured_workloads(report) if any(entry['overhead_vs_l0'].get(n) for entry in guests)]
    categories.append('overall')
    values = [_ratios_of(entry, categories) for entry in guests]
    ratios = [r for row in values for r in row if r]
    bands = [(level, 1 + TYPICAL_RANGES[level]['low'] / 100.0, 1 + TYPICAL_RANGES[level]['high'] / 100.0)
             for level in sorted(set(entry['level'] for entry in guests))]
    low, high = _axis_range(ratios, [1.0] + [edge for band in bands for edge in band[1:]])
    off_below, off_above = any(r < low for r in ratios), any(r > high for r in ratios)
    # A bar off the scale keeps room for its break mark between the baseline (1) and the axis's end.
    room = OFF_SCALE_ROOM / (PLOT_HEIGHT - OFF_SCALE_ROOM)
    if off_below:
        low = min(low, math.exp(-room * math.log(high)))
    if off_above:
        high = max(high, math.exp(room * -math.log(low)))
    names_w = max(_text_width(name, 12) for name in categories) + 12
    plot_w = max(660.0, len(categories) * max(names_w, len(series) * MIN_BAR_WIDTH / 0.8))
    bar_w = min(28.0, plot_w / len(categories) * 0.8 / len(series))
    texts = [_factor(r) for r in ratios] + ['n/a']
    # Side by side, a value wider than its bar would reach over its neighbour's: then every value is on its side.
    vertical = max(_text_width(t, BAR_FONT) for t in texts) > bar_w - 2
    return dict(series=series, categories=categories, values=values, bands=bands, low=low, high=high,
                off_scale=off_below or off_above, plot_w=plot_w, bar_w=bar_w, vertical=vertical)


def _axis_range(ratios, core):
    """(low, high) of the axis: it holds 1 and the typical bands (``core``), and the most bars that fit with them
    in a span of AXIS_SPAN; the bars beyond are off the scale."""
    core_low, core_high = min(core), max(core)
    best = []
    for start in [*sorted(set(r for r in ratios if r <= core_low)), core_low]:
        if start * AXIS_SPAN < core_high:
            continue
        held = [r for r in ratios if start <= r <= start * AXIS_SPAN]
        if len(held) > len(best):
            best = held
    return min([core_low, *best]) / 1.1, max([core_high, *best]) * 1.15


def _ticks(low, high):
    """Candidate gridlines between low and high, the most telling first: 1, the powers of ten, their 5 and 2
    multiples, then FINE_TICKS."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    candidates = [1.0, *(10.0 ** d for d in decades), *(m * 10.0 ** d for m in (5, 2) for d in decades)]
    ticks = []
    for tick in candidates + list(FINE_TICKS):
        if low <= tick <= high and tick not in ticks:
            ticks.append(tick)
    return ticks


def _plot(parent, boxes, geometry, left, top):
    """The axis, the bands, the bars and their labels, the plot's top left corner at (left, top); the labels' room
    goes into ``boxes``. Returns (x0, y0, x1, y1), how far all that reaches."""
    first = len(boxes)
    low, high, plot_w, bar_w = geometry['low'], geometry['high'], geometry['plot_w'], geometry['bar_w']
    categories, series = geometry['categories'], geometry['series']

    def y_of(ratio):
        ratio = min(max(ratio, low), high)
        return top + PLOT_HEIGHT * (math.log(high) - math.log(ratio)) / (math.log(high) - math.log(low))

    bands = []
    for level, band_low, band_high in geometry['bands']:
        y_high, y_low = y_of(band_high), y_of(band_low)
        _element(parent, 'rect', x='%.1f' % left, y='%.1f' % y_high, width='%.1f' % plot_w,
                 height='%.1f' % max(y_low - y_high, 1.0), fill=LEVEL_COLORS[level][0], fill_opacity='0.15')
        text = 'L%d typical %s' % (level, _typical_range(TYPICAL_RANGES[level], 'factor'))
        y = (y_high + y_low) / 2 + 4
        # Levels go up the axis: on a squeezed axis, a label moves up until it clears the lower levels' labels.
        while any(_overlap(text_box(text, left + plot_w + 8, y), band, 2) for band in bands):
            y -= 1
        bands.append(_text(parent, boxes, text, left + plot_w + 8, y, fill=LEVEL_COLORS[level][0]))
    axis = _element(parent, 'g', stroke='#cccccc')
    ticks = []
    for tick in _ticks(low, high):
        y = y_of(tick)
        text = _factor(tick, trim=True)
        if any(_overlap(text_box(text, left - 6, y + 4, anchor='end'), other, 2) for other in ticks):
            continue
        _element(axis, 'line', x1='%.1f' % left, x2='%.1f' % (left + plot_w), y1='%.1f' % y, y2='%.1f' % y,
                 stroke='#333333' if tick == 1 else '#dddddd')
        ticks.append(_text(parent, boxes, text, left - 6, y + 4, anchor='end'))
    _element(axis, 'line', x1='%.1f' % left, x2='%.1f' % left, y1='%.1f' % top, y2='%.1f' % (top + PLOT_HEIGHT),
             stroke='#333333')
    _text(parent, boxes, 'time per operation / time on L0', min(t[0] for t in ticks) - 9, top + PLOT_HEIGHT / 2,
          anchor='middle', rotated=True)
    group_w = plot_w / len(categories)
    baseline_y = y_of(1.0)
    bar_labels = len(boxes)
    for index, name in enumerate(categories):
        start = left + index * group_w + (group_w - bar_w * len(series)) / 2
        for position, ((entry, color), row) in enumerate(zip(series, geometry['values'])):
            x = start + position * bar_w
            ratio = row[index]
            if ratio is None:
                _bar_label(parent, boxes, geometry, 'n/a', x + bar_w / 2 - 1, baseline_y, True, fill='#888888')
                continue
            y_bar = y_of(ratio)
            off = ratio > high or ratio < low
            rect = _element(parent, 'rect', x='%.1f' % x, y='%.1f' % min(y_bar, baseline_y),
                            width='%.1f' % (bar_w - 2), height='%.1f' % max(abs(baseline_y - y_bar), 1.0), fill=color)
            _element(rect, 'title', '%s (L%d) %s: %s against %s%s' % (
                entry['name'], entry['level'], name, _factor(ratio), entry['l0'], ' (off the scale)' if off else ''))
            if off:
                _break_mark(parent, x, bar_w - 2, y_bar, ratio > high)
            _bar_label(parent, boxes, geometry, _factor(ratio), x + bar_w / 2 - 1, y_bar, ratio >= 1)
    # The workloads' names go under the plot, and under any value written below it.
    names_y = max([top + PLOT_HEIGHT] + [b[3] for b in boxes[bar_labels:]]) + 4 + 0.95 * 12
    for index, name in enumerate(categories):
        _text(parent, boxes, name, left + (index + 0.5) * group_w, names_y, anchor='middle',
              font_weight='bold' if name == 'overall' else 'normal')
    reach = [*boxes[first:], (left, top, left + plot_w, top + PLOT_HEIGHT)]
    return (min(b[0] for b in reach), min(b[1] for b in reach), max(b[2] for b in reach), max(b[3] for b in reach))


def _bar_label(parent, boxes, geometry, text, center, y_end, upward, **attributes):
    """A bar's value beyond its end, in the bar's own column: side by side if every value fits its bar's width,
    else all turned on their side, reading upwards."""
    if geometry['vertical']:
        # The text's ascent and descent, 1.2 em across, centred on the bar.
        x = center + 0.35 * BAR_FONT
        if upward:
            return _text(parent, boxes, text, x, y_end - 3, size=BAR_FONT, rotated=True, **attributes)
        return _text(parent, boxes, text, x, y_end + 3, size=BAR_FONT, anchor='end', rotated=True, **attributes)
    y = y_end - 3 if upward else y_end + 3 + 0.95 * BAR_FONT
    return _text(parent, boxes, text, center, y, size=BAR_FONT, anchor='middle', **attributes)


def _break_mark(parent, x, width, y_end, at_top):
    """A white slanted cut across a bar near the axis's end, where the bar leaves the scale."""
    inward = 1 if at_top else -1
    near, far = y_end + inward * 8, y_end + inward * 14
    points = [(x - 1, far), (x + width + 1, near), (x + width + 1, near + inward * 4), (x - 1, far + inward * 4)]
    _element(parent, 'polygon', points=' '.join('%.1f,%.1f' % point for point in points), fill='#ffffff')


def _serialize(svg):
    ET.indent(svg)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(svg, encoding='unicode') + '\n'


# ---------------------------------------------------------------------------------------------------------------
# Files

def report_paths(dest):
    """{'json': ..., 'markdown': ..., 'svg': ...}: where the files of a report in ``dest`` are."""
    return dict((kind, os.path.join(dest, name)) for kind, name in zip(FILE_KINDS, FILES))


def render_files(report):
    """(file name, content) of each file of the report."""
    return list(zip(FILES, (json.dumps(report, indent=2, sort_keys=True) + '\n', render_markdown(report),
                            render_svg(report))))


def rerender(report):
    """The files of a report read back from its overhead.json: its figures as they are, its notes derived from them
    again and everything drawn anew, so that a report measured earlier shows what this code draws and says."""
    return render_files(dict(report, notes=_notes(report['hosts'])))


def _read(path):
    """The text of ``path``; None when it does not exist, '' when it is not UTF-8 (so it is rewritten)."""
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except UnicodeDecodeError:
        return ''
    except OSError as exc:
        if os.path.exists(path):
            raise NestedKvmError('cannot read %s: %s' % (path, exc))
        return None


def _replace(path, content):
    """Write ``path`` through a temporary file beside it: readers see the old file or the new one, never half."""
    handle, temporary = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as out:
            out.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError:
        os.unlink(temporary)
        raise


def write_files(dest, files, check_mode):
    """Write each (name, content) into directory ``dest`` where it differs (made when missing; never in check mode).

    Returns (changed, diffs): one diff per file that differs (or would), with before and after text.
    """
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise NestedKvmError('dest: %s exists and is not a directory' % dest, option='dest')
    diffs = []
    for name, content in files:
        path = os.path.join(dest, name)
        before = _read(path) if os.path.isdir(dest) else None
        if before == content:
            continue
        diffs.append(dict(before_header=path, after_header=path, before=before or '', after=content))
        if check_mode:
            continue
        try:
            if not os.path.isdir(dest):
                os.makedirs(dest)
            _replace(path, content)
        except OSError as exc:
            raise NestedKvmError('cannot write %s: %s' % (path, exc), option='dest')
    return bool(diffs), diffs
