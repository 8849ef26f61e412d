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
LEVEL_COLORS = {1: ('#1f77b4', '#6baed6', '#08519c'), 2: ('#e6550d', '#fdae6b', '#a63603')}
# Candidate gridlines of the chart's logarithmic axis (time ratio to L0).
AXIS_TICKS = (0.5, 0.8, 0.9, 1, 1.05, 1.1, 1.2, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


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
    for entry in report['hosts']:
        where = ' on %s' % entry['parent'] if entry['parent'] else ''
        if entry['level'] == 0:
            lines.append('%s (L0): baseline%s' % (entry['name'], ', ' + entry['label'] if entry['label'] else ''))
            continue
        typical = entry['typical']
        runs_under = (entry['virt_type'] or 'domain type unknown') if entry['level'] == 1 else 'KVM in its L1'
        lines.append('%s (%s%s, %s): overall %s against L0 %s (typical %d-%d %%: %s)' % (
            entry['name'], _level_name(entry['level']), where, runs_under, _percent(entry['overall_vs_l0']),
            entry['l0'] or '(not measured)', typical['low'], typical['high'], entry['verdict'] or 'no figure'))
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Markdown

def _percent(value, noise=False, digits=1):
    """An overhead in percent as shown: ``+12.3 %``, or past +900 % the factor (``x25``), which reads better."""
    if value is None:
        return 'n/a'
    text = ('\u00d7%.0f' % (1 + value / 100.0)) if value >= 900 else ('%+.*f %%' % (digits, value))
    return text + (' ~' if noise else '')


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


def _typical_cell(entry):
    typical = entry['typical']
    text = '%d-%d %% vs %s' % (typical['low'], typical['high'], typical['against'])
    if entry['level'] == 0:
        return text + ': not measured'
    return '%s (%s)' % (text, entry['verdict'] or 'no figure')


def _overhead_rows(report, names, field, overall_field, levels):
    rows = []
    for entry in report['hosts']:
        if entry['level'] not in levels:
            continue
        if entry['level'] == 0:
            rows.append([entry['name'], 'L0', _runs_on(entry)] + ['baseline'] * (len(names) + 1) + [_typical_cell(entry)])
            continue
        compared = entry[field] or {}
        cells = []
        for name in names:
            figure = compared.get(name)
            cells.append(_percent(figure['percent'], figure['within_noise']) if figure else 'n/a')
        row = [entry['name'], _level_name(entry['level']), _runs_on(entry), *cells, _percent(entry[overall_field])]
        if field == 'overhead_vs_l0':
            row.append(_typical_cell(entry))
        rows.append(row)
    return rows


def render_markdown(report):
    names = _measured_workloads(report)
    out = ['# Nested KVM overhead report', '']
    out.append('Measured %s (UTC) on %d hosts.' % (report['measured_at'] or '(nothing measured)', len(report['hosts'])))
    out.append('')
    out.append('How to read it: every figure starts from the median time one operation takes on a host. An L1 '
               'or L2 is compared with the L0 of its chain: `+40.0 %` means an operation takes 1.4 times as long '
               'as on that L0, and `\u00d725` 25 times as long. `~` marks a difference smaller than the spread of '
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
    """A bar chart of each L1's and L2's time per operation against its L0, on a logarithmic axis, with the typical
    ranges as bands. Built as an element tree and serialized, never by string templates."""
    width, height = 960, 480
    left, right, top, bottom = 70, 140, 90, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    svg = ET.Element('svg', dict(xmlns=SVG_NS, width=str(width), height=str(height),
                                 viewBox='0 0 %d %d' % (width, height), role='img'))
    svg.set('font-family', 'sans-serif')
    svg.set('font-size', '12')
    _element(svg, 'title', 'Nested KVM overhead against L0')
    _element(svg, 'rect', x=0, y=0, width=width, height=height, fill='#ffffff')
    _element(svg, 'text', 'Time per operation against L0 (logarithmic)', x=left, y=24, font_size=16, font_weight='bold')
    labels = sorted(set('%s: %s' % (e['name'], e['label']) for e in report['hosts'] if e['level'] == 0 and e['label']))
    subtitle = '; '.join(labels) if labels else 'measured %s' % (report['measured_at'] or '-')
    _element(svg, 'text', subtitle, x=left, y=44, fill='#b30000' if labels else '#444444')
    series = _series(report)
    if not series:
        _element(svg, 'text', 'Nothing to compare: no L1 or L2 with figures against a measured L0.',
                 x=left, y=top + plot_h / 2)
        return _serialize(svg)
    guests = [entry for entry, color in series]
    categories = [n for n in _measured_workloads(report) if any(entry['overhead_vs_l0'].get(n) for entry in guests)]
    categories.append('overall')
    ratios = [r for entry in guests for r in _ratios_of(entry, categories) if r]
    low = min([1.0, *ratios]) / 1.05
    high = max([1.0 + TYPICAL_RANGES[2]['high'] / 100.0, *ratios]) * 1.15

    def y_of(ratio):
        return top + plot_h * (math.log(high) - math.log(ratio)) / (math.log(high) - math.log(low))

    _axis(svg, left, top, plot_w, plot_h, low, high, y_of)
    label_y = None
    for level in sorted(set(entry['level'] for entry in guests)):
        typical = TYPICAL_RANGES[level]
        y_high, y_low = y_of(1 + typical['high'] / 100.0), y_of(1 + typical['low'] / 100.0)
        _element(svg, 'rect', x=left, y='%.1f' % y_high, width=plot_w, height='%.1f' % max(y_low - y_high, 1.0),
                 fill=LEVEL_COLORS[level][0], fill_opacity='0.15')
        # Levels go up the axis; on a squeezed axis each label keeps a line's height above the last.
        label_y = min((y_high + y_low) / 2 + 4, label_y - 14) if label_y is not None else (y_high + y_low) / 2 + 4
        _element(svg, 'text', 'L%d typical %d-%d %%' % (level, typical['low'], typical['high']),
                 x=left + plot_w + 6, y='%.1f' % label_y, fill=LEVEL_COLORS[level][0])
    group_w = plot_w / float(len(categories))
    bar_w = min(28.0, group_w * 0.8 / len(series))
    baseline_y = y_of(1.0)
    for index, name in enumerate(categories):
        start = left + index * group_w + (group_w - bar_w * len(series)) / 2
        for position, (entry, color) in enumerate(series):
            ratio = _ratios_of(entry, [name])[0]
            x = start + position * bar_w
            if ratio is None:
                _element(svg, 'text', 'n/a', x='%.1f' % (x + bar_w / 2), y='%.1f' % (baseline_y - 4),
                         text_anchor='middle', font_size=9, fill='#888888')
                continue
            y_bar = y_of(ratio)
            rect = _element(svg, 'rect', x='%.1f' % x, y='%.1f' % min(y_bar, baseline_y), width='%.1f' % (bar_w - 2),
                            height='%.1f' % max(abs(baseline_y - y_bar), 1.0), fill=color)
            _element(rect, 'title', '%s (L%d) %s: %s against %s' % (entry['name'], entry['level'], name,
                                                                    _percent((ratio - 1) * 100), entry['l0']))
            label_y = y_bar - 4 if ratio >= 1 else y_bar + 12
            _element(svg, 'text', _percent((ratio - 1) * 100, digits=0), x='%.1f' % (x + bar_w / 2 - 1),
                     y='%.1f' % label_y, text_anchor='middle', font_size=9)
        _element(svg, 'text', name, x='%.1f' % (left + (index + 0.5) * group_w), y=top + plot_h + 18,
                 text_anchor='middle', font_weight='bold' if name == 'overall' else 'normal')
    x = left
    for entry, color in series:  # the legend, in a row under the title
        text = '%s (L%d on %s)' % (entry['name'], entry['level'], entry['parent'])
        _element(svg, 'rect', x=x, y=58, width=12, height=12, fill=color)
        _element(svg, 'text', text, x=x + 16, y=68)
        x += 16 + 7 * len(text) + 18
    return _serialize(svg)


def _axis(svg, left, top, plot_w, plot_h, low, high, y_of):
    axis = _element(svg, 'g', stroke='#cccccc')
    last_y = None
    one_y = y_of(1)  # the baseline's label always shows: no other label crowds it
    for tick in AXIS_TICKS:
        if not low <= tick <= high:
            continue
        y = y_of(tick)
        if tick != 1 and (abs(one_y - y) < 16 or (last_y is not None and abs(last_y - y) < 16)):
            continue
        last_y = y
        _element(axis, 'line', x1=left, x2=left + plot_w, y1='%.1f' % y, y2='%.1f' % y,
                 stroke='#333333' if tick == 1 else '#dddddd')
        _element(svg, 'text', ('%g' % tick) + '\u00d7', x=left - 6, y='%.1f' % (y + 4), text_anchor='end')
    _element(axis, 'line', x1=left, x2=left, y1=top, y2=top + plot_h, stroke='#333333')
    label = _element(svg, 'text', 'time per operation / time on L0', x=16, y=top + plot_h / 2, text_anchor='middle')
    label.set('transform', 'rotate(-90 16 %.1f)' % (top + plot_h / 2))


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
