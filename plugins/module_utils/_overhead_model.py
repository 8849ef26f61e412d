# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overhead report's content (overhead_report): what each nesting level costs, from overhead_workload's figures.

``build_report`` turns the measured hosts into one dict (written as overhead.json); _overhead_markdown and
_overhead_svg draw it, _overhead_summary says it in a line per host, _overhead_files writes it. Runs on the
controller.

The figure compared is the median time of one operation. An L1 or L2 is compared with the L0 at the root of its
chain (its own L0, or its L1's L0); an L2 also with its L1. The overhead is ``time / time at L0 - 1``, in percent;
a level's overall overhead is the geometric mean of its workloads' time ratios.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import UNITS, WORKLOADS

REPORT_VERSION = 1
# The workloads an overall figure is made of. CPUID is nothing but VM exits, the worst case, which real work meets
# far less often: it is shown on its own, as the price of an exit.
OVERALL_WORKLOADS = ('cpu', 'memory', 'syscall', 'pipe', 'disk')

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


def level_name(level):
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
    notes = report_notes(entries)
    measured = sorted(e['started_at'] for e in entries if e['started_at'])
    report = dict(
        report='nestedkvm.stack overhead report',
        version=REPORT_VERSION,
        measured_at=measured[0] if measured else None,
        typical_ranges_percent=dict((level_name(level), r) for level, r in sorted(TYPICAL_RANGES.items())),
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


def report_notes(entries):
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
                         % (name, level_name(entry['level'])))
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


def measured_workloads(report):
    """The workloads, in their order, that some host of the report has a figure of."""
    return [w['name'] for w in report['workloads'] if any(w['name'] in e['workloads'] for e in report['hosts'])]
