"""The report's maths and rendering (_overhead.py): comparisons, how a chain is labelled, the notes, the Markdown, the
SVG (parsed back), and writing the files only where they differ."""

import itertools
import json
import os
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _overhead
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload import UNITS, WORKLOADS

SVG = '{http://www.w3.org/2000/svg}'
REPO = Path(__file__).resolve().parents[4]
COMMITTED = REPO / 'docs' / 'overhead-report'
FONTS = Path('/usr/share/fonts/truetype/dejavu')
# Seconds per operation on a made-up L0.
BASE = dict(cpu=5e-4, memory=1e-6, syscall=1.2e-7, pipe=2.5e-6, cpuid=6e-8, disk=1.6e-4)


def measurement(factors=None, spread=0.02, missing=(), unavailable=(), started_at='2026-11-26T10:00:00Z', **facts):
    """What overhead_workload returns, with each workload ``factors[name]`` times as slow as BASE."""
    factors = factors or {}
    workloads = {}
    for name in WORKLOADS:
        if name in missing:
            continue
        if name in unavailable:
            workloads[name] = dict(name=name, unit=UNITS[name], available=False, reason='refused')
            continue
        per_op = BASE[name] * factors.get(name, 1.0)
        median = per_op * 1000
        workloads[name] = dict(name=name, unit=UNITS[name], available=True, reason=None, ops_per_sample=1000,
                               samples=[median] * 3, median=median, min=median * (1 - spread / 2),
                               max=median * (1 + spread / 2), spread=spread, seconds_per_op=per_op)
    host = dict(kernel='6.1.0-18-amd64', python='3.11.2', cpu_model='AMD EPYC 7763', cpus=2, clocksource='kvm-clock',
                disk_dir='/var/tmp', disk_mount='/', disk_fstype='ext4')
    host.update(facts)
    return dict(host=host, workloads=workloads, started_at=started_at, elapsed_seconds=20.0)


def exits(count, path='/sys/kernel/debug/kvm/4242-17', source='vm', **others):
    return dict(source=source, path=path, counters=dict(exits=count, **others), reason=None, domain_on_kvm=True)


BARE_METAL = dict(is_virtual_machine=False, hardware_virtualization=True, recommended_virt_type='kvm')
NO_VT = dict(is_virtual_machine=True, hardware_virtualization=False, recommended_virt_type='qemu')


def chain(l1_factor=1.12, l2_factor=1.5, l1_virt='kvm', l0_facts=None, **l2_extra):
    l2 = dict(name='ubuntu-a', level=2, parent='l1-a', domain='ubuntu-a',
              measurement=measurement(dict((n, l2_factor) for n in WORKLOADS)),
              exits_before=exits(1000, halt_exits=10), exits_after=exits(901000, halt_exits=510))
    l2.update(l2_extra)
    return [
        l2,  # any order: the report puts the chain in order
        dict(name='metal-1', level=0, measurement=measurement(), kvm_host=l0_facts or BARE_METAL),
        dict(name='l1-a', level=1, parent='metal-1', domain='l1-a',
             measurement=measurement(dict((n, l1_factor) for n in WORKLOADS)),
             hypervisor_record=dict(virt_type=l1_virt)),
    ]


def read(path):
    with open(path) as handle:
        return handle.read()


def host(report, name):
    return next(h for h in report['hosts'] if h['name'] == name)


# ---------------------------------------------------------------------------------------------------------------
# Comparisons

def test_compare_per_workload_and_overall_without_cpuid():
    mine = measurement(dict(cpu=1.02, memory=1.5, syscall=1.0, pipe=2.0, cpuid=50, disk=1.1))['workloads']
    per_workload, overall = _overhead.compare(mine, measurement()['workloads'])
    assert per_workload['memory']['percent'] == pytest.approx(50)
    assert per_workload['cpuid']['ratio'] == pytest.approx(50)
    assert per_workload['cpu']['within_noise'] is True  # 2 % against two spreads of 2 %
    assert per_workload['memory']['within_noise'] is False
    geometric_mean = (1.02 * 1.5 * 1.0 * 2.0 * 1.1) ** (1 / 5.0)
    assert overall == pytest.approx((geometric_mean - 1) * 100)


def test_compare_skips_what_one_side_lacks():
    mine = measurement(unavailable=('cpuid',), missing=('disk',))['workloads']
    per_workload, overall = _overhead.compare(mine, measurement(missing=('pipe',))['workloads'])
    assert per_workload['cpuid'] is None and per_workload['disk'] is None and per_workload['pipe'] is None
    assert overall == pytest.approx(0)


@pytest.mark.parametrize('l1, l0, expected', [
    (dict(hypervisor_record=dict(virt_type='qemu'), exits_before=dict(domain_on_kvm=True)), None,
     ('qemu', 'l1_hypervisor_result')),
    (dict(exits_before=dict(domain_on_kvm=False)), dict(kvm_host=BARE_METAL), ('qemu', "the L1's QEMU process on its L0")),
    (dict(exits_before=dict(domain_on_kvm=True)), None, ('kvm', "the L1's QEMU process on its L0")),
    (dict(exits_before=dict(domain_on_kvm=None)), dict(kvm_host=NO_VT),
     ('qemu', 'kvm_host_info on the L0 (no usable hardware KVM there)')),
    (dict(), dict(kvm_host=BARE_METAL), ('kvm', 'kvm_host_info on the L0 (hardware KVM works there; assumed used)')),
    (dict(), None, (None, 'unknown')),
])
def test_decide_l1_virt_type(l1, l0, expected):
    assert _overhead.decide_l1_virt_type(l1, l0) == expected


def test_exit_delta():
    delta = _overhead.exit_delta(exits(100, io_exits=1), exits(2100, io_exits=5, halt_exits=3), 10.0)
    assert delta == dict(source='vm', path='/sys/kernel/debug/kvm/4242-17', counters=dict(exits=2000, io_exits=4),
                         exits=2000, per_second=200.0, reason=None)


@pytest.mark.parametrize('before, after, reason', [
    (None, None, 'not counted'),
    (dict(source=None, reason='debugfs is not mounted'), dict(source=None, reason='debugfs is not mounted'),
     'debugfs is not mounted'),
    (exits(1), exits(2, path='/sys/kernel/debug/kvm/999-17'),
     'the counters changed place during the run (/sys/kernel/debug/kvm/4242-17, then /sys/kernel/debug/kvm/999-17): '
     'the guest restarted?'),
])
def test_exit_delta_without_a_figure(before, after, reason):
    delta = _overhead.exit_delta(before, after, 10.0)
    assert delta['exits'] is None and delta['reason'] == reason


# ---------------------------------------------------------------------------------------------------------------
# The report

def test_a_hardware_chain():
    report = _overhead.build_report(chain())
    assert [(h['name'], h['level'], h['l0']) for h in report['hosts']] == [
        ('metal-1', 0, 'metal-1'), ('l1-a', 1, 'metal-1'), ('ubuntu-a', 2, 'metal-1')]
    l1, l2 = host(report, 'l1-a'), host(report, 'ubuntu-a')
    assert l1['overall_vs_l0'] == pytest.approx(12) and l1['verdict'] == 'within'
    assert l2['overall_vs_l0'] == pytest.approx(50) and l2['verdict'] == 'within'
    assert l2['overall_vs_parent'] == pytest.approx((1.5 / 1.12 - 1) * 100, rel=1e-5)
    assert l2['exits']['exits'] == 900000 and l2['exits']['per_second'] == 45000
    assert not any(h['emulated'] or h['label'] for h in report['hosts'])
    assert report['typical_ranges_percent'] == dict(L0=dict(low=2, high=5, against='native'),
                                                    L1=dict(low=10, high=15, against='L0'),
                                                    L2=dict(low=40, high=70, against='L0'))
    assert report['notes'] == ['metal-1 (L0) is the baseline. The typical 2-5 % of an L0 against native hardware is '
                               'not measured here: that needs a run on the same machine with no hypervisor.']
    assert report['measured_at'] == '2026-11-26T10:00:00Z'


@pytest.mark.parametrize('l1_factor, l2_factor, verdicts', [
    (1.05, 1.2, ('below', 'below')),
    (1.3, 2.0, ('above', 'above')),
])
def test_verdicts_against_the_typical_ranges(l1_factor, l2_factor, verdicts):
    report = _overhead.build_report(chain(l1_factor, l2_factor))
    assert (host(report, 'l1-a')['verdict'], host(report, 'ubuntu-a')['verdict']) == verdicts


def test_an_emulated_l0_is_labelled_and_not_held_to_the_nesting_ranges():
    report = _overhead.build_report(chain(25.0, 60.0, l1_virt='qemu', l0_facts=NO_VT))
    l0, l1, l2 = report['hosts']
    assert l0['label'] == l1['label'] == l2['label'] == 'emulated L0 (no VT-x/AMD-V)'
    assert l0['emulated'] and l1['emulated'] and l2['emulated']
    assert l1['verdict'] == l2['verdict'] == 'not comparable: emulation cost'
    assert report['notes'][0].startswith('metal-1 (L0) is itself a virtual machine: there is no native baseline')
    assert 'the L1 figures are the cost of emulation, not of nesting' in report['notes'][1]
    assert report['notes'][2].startswith('metal-1: why cpuid is cheap in its L1s and dear in their L2s. Under TCG '
                                         'there is no hardware guest mode to exit from')


def test_tcg_chosen_on_a_host_with_vt_is_labelled_so():
    report = _overhead.build_report(chain(l1_virt='qemu'))
    assert host(report, 'metal-1')['label'] == 'emulated L0 (TCG chosen although VT-x/AMD-V is present)'


def test_what_was_not_measured_is_said():
    hosts = chain()
    hosts[0]['measurement'] = None  # check mode, or unreachable
    hosts.append(dict(name='stray', level=1, parent='metal-9', measurement=measurement()))
    hosts[2]['measurement'] = measurement(unavailable=('cpuid',), disk_fstype='tmpfs', disk_dir='/tmp',
                                          clocksource='hpet', python='3.9.2')
    report = _overhead.build_report(hosts)
    assert [h['name'] for h in report['hosts']] == ['metal-1', 'l1-a', 'ubuntu-a', 'stray']
    assert host(report, 'ubuntu-a')['overhead_vs_l0'] is None and host(report, 'ubuntu-a')['measured'] is False
    assert host(report, 'stray')['overall_vs_l0'] is None
    notes = report['notes']
    assert 'ubuntu-a: not measured (check mode, or the host was not reachable).' in notes
    assert 'stray (L1): no L0 of its chain was measured, so it has no baseline.' in notes
    assert 'l1-a: cpuid not measured: refused.' in notes
    assert 'l1-a: /tmp is on tmpfs, so the disk figure measures memory, not a disk.' in notes
    assert any(n.startswith('l1-a: clock source hpet') for n in notes)
    assert ("The levels run different Python versions (3.11.2, 3.9.2): some of the difference is theirs, not "
            "nesting's.") in notes
    assert ('stray: how it runs on its L0 (KVM or emulated) is not known: no l1_hypervisor_result, and nothing read '
            'on the L0.') in notes


def test_check_hosts():
    with pytest.raises(OptionError, match='hosts: l1-a is given twice'):
        _overhead.check_hosts([*chain(), dict(name='l1-a', level=1, parent='metal-1')])
    with pytest.raises(OptionError, match='hosts: loop is its own parent'):
        _overhead.check_hosts([dict(name='loop', level=1, parent='loop')])


def test_floats_are_rounded_so_noise_below_what_is_shown_changes_nothing():
    hosts = chain()
    again = chain()
    again[1]['measurement']['workloads']['cpu']['seconds_per_op'] *= 1 + 1e-9
    assert _overhead.build_report(hosts) == _overhead.build_report(again)


def test_summary_lines():
    lines = _overhead.summary_lines(_overhead.build_report(chain(l1_virt='qemu')))
    assert lines == [
        'metal-1 (L0): baseline, emulated L0 (TCG chosen although VT-x/AMD-V is present)',
        'l1-a (L1 on metal-1, qemu): overall +12.0 % against L0 metal-1 (typical 10-15 %: not comparable: emulation '
        'cost)',
        'ubuntu-a (L2 on l1-a, KVM in its L1): overall +50.0 % against L0 metal-1 (typical 40-70 %: not comparable: '
        'emulation cost)',
    ]


# ---------------------------------------------------------------------------------------------------------------
# Rendering

def test_markdown():
    hosts = chain()
    hosts[0]['measurement'] = measurement(dict((n, 1.5) for n in WORKLOADS), unavailable=('cpuid',))
    text = _overhead.render_markdown(_overhead.build_report(hosts))
    assert text.startswith('# Nested KVM overhead report\n')
    assert ('| metal-1 | L0 | bare metal | baseline | baseline | baseline | baseline | baseline | baseline | baseline '
            '| 2-5 % vs native: not measured |') in text
    assert ('| l1-a | L1 | metal-1 (kvm) | +12.0 % | +12.0 % | +12.0 % | +12.0 % | +12.0 % | +12.0 % | +12.0 % '
            '| 10-15 % vs L0 (within) |') in text
    assert ('| ubuntu-a | L2 | l1-a (KVM) | +50.0 % | +50.0 % | +50.0 % | +50.0 % | n/a | +50.0 % | +50.0 % '
            '| 40-70 % vs L0 (within) |') in text
    assert '## L2 against its L1' in text
    assert ('| metal-1 | L0 | 500 \u00b5s (2.0 %) | 1000 ns (2.0 %) | 120 ns (2.0 %) | 2.50 \u00b5s (2.0 %) '
            '| 60.0 ns (2.0 %)') in text
    assert ('| ubuntu-a | l1-a | this guest (/sys/kernel/debug/kvm/4242-17) | 900000 | 45000 | halt_exits 500 | - |'
            in text)
    assert '- metal-1 (L0) is the baseline.' in text
    assert 'emulated' not in text


def test_markdown_of_an_emulated_chain_marks_noise_and_factors():
    hosts = chain(1.01, 40.0, l1_virt='qemu', l0_facts=NO_VT)
    text = _overhead.render_markdown(_overhead.build_report(hosts))
    assert '**metal-1: emulated L0 (no VT-x/AMD-V).** Its L1 figures are the cost of emulation, not of nesting.' in text
    # One notation per table: a factor of 40 makes every figure of the table a factor.
    assert '| l1-a | L1 | metal-1 (qemu) | \u00d71.01 ~ |' in text
    assert '| ubuntu-a | L2 | l1-a (KVM) | \u00d740 |' in text
    assert '\u00d71.10-\u00d71.15 vs L0 (not comparable: emulation cost)' in text
    assert '| ubuntu-a | L2 | l1-a (KVM) | \u00d740 | \u00d740 | \u00d740 | \u00d740 | \u00d740 | \u00d740 | \u00d740 |' in text


def test_svg_is_well_formed_with_a_bar_per_guest_and_workload():
    report = _overhead.build_report(chain())
    root = ET.fromstring(_overhead.render_svg(report))
    assert root.tag == SVG + 'svg' and root.get('viewBox') == '0 0 %s %s' % (root.get('width'), root.get('height'))
    bars = [r for r in root.iter(SVG + 'rect') if r.find(SVG + 'title') is not None]
    # 6 workloads and the overall, for the L1 and the L2
    assert len(bars) == 14
    titles = sorted(b.find(SVG + 'title').text for b in bars)
    assert 'l1-a (L1) memory: \u00d71.12 against metal-1' in titles
    assert 'ubuntu-a (L2) overall: \u00d71.50 against metal-1' in titles
    texts = [t.text for t in root.iter(SVG + 'text')]
    assert 'L1 typical \u00d71.10-\u00d71.15' in texts and 'L2 typical \u00d71.40-\u00d71.70' in texts
    assert 'ubuntu-a (L2 on l1-a)' in texts and '\u00d71' in texts


def test_svg_labels_an_emulated_chain_and_scales_to_large_factors():
    report = _overhead.build_report(chain(25.0, 2000.0, l1_virt='qemu', l0_facts=NO_VT))
    root = ET.fromstring(_overhead.render_svg(report))
    texts = [t.text for t in root.iter(SVG + 'text')]
    assert 'metal-1: emulated L0 (no VT-x/AMD-V)' in texts
    assert '\u00d72000' in texts and '\u00d71000' in texts


def test_svg_with_nothing_to_compare():
    report = _overhead.build_report([dict(name='metal-1', level=0, measurement=measurement(), kvm_host=BARE_METAL)])
    root = ET.fromstring(_overhead.render_svg(report))
    assert 'Nothing to compare: no L1 or L2 with figures against a measured L0.' in [t.text for t in root.iter()]


def test_svg_escapes_names():
    hosts = chain()
    hosts[0]['name'] = 'a<b>&"c'
    root = ET.fromstring(_overhead.render_svg(_overhead.build_report(hosts)))
    assert 'a<b>&"c (L2 on l1-a)' in [t.text for t in root.iter(SVG + 'text')]


@pytest.mark.parametrize('ratio, text', [
    (1.12, '\u00d71.12'), (1.5, '\u00d71.50'), (9.994, '\u00d79.99'), (67.4, '\u00d767'), (4870.2, '\u00d74870'),
    (0.449, '\u00d70.449'), (0.00107, '\u00d70.00107'), (2e7, '\u00d720000000'), (1e-7, '\u00d70.000000100'),
])
def test_a_factor_is_a_plain_decimal_with_three_significant_digits(ratio, text):
    assert _overhead._factor(ratio) == text


def test_markdown_tables_each_keep_one_notation():
    """Each table gives all its figures in percent, or all as factors: the L0 table of a hardware chain in percent,
    and the L2-against-L1 table, where CPUID is 50 times dearer, as factors."""
    hosts = chain()
    hosts[0]['measurement'] = measurement(dict(cpu=1.6, memory=1.6, syscall=1.6, pipe=1.6, cpuid=80.0, disk=1.6))
    text = _overhead.render_markdown(_overhead.build_report(hosts))
    against_l0 = text.split('## Overhead against L0')[1].split('## L2 against its L1')[0]
    against_l1 = text.split('## L2 against its L1')[1].split('## Time per operation')[0]
    assert '\u00d7' in against_l0 and '%' not in against_l0.replace('vs native', '')
    assert '| ubuntu-a | L2 | l1-a (KVM) | \u00d71.43 | \u00d71.43 | \u00d71.43 | \u00d71.43 | \u00d771 |' in against_l1
    assert '%' not in against_l1


# ---------------------------------------------------------------------------------------------------------------
# The chart's labels: one notation, none overlapping, off-scale bars marked

def _labels(svg_text):
    """(text, box) of every text element of an SVG, from its attributes, the way _overhead lays them out."""
    root = ET.fromstring(svg_text)
    size = float(root.get('font-size'))
    labels = []
    for node in root.iter(SVG + 'text'):
        transform = node.get('transform') or ''
        assert transform in ('', 'rotate(-90 %s %s)' % (node.get('x'), node.get('y'))), transform
        box = _overhead.text_box(node.text, float(node.get('x')), float(node.get('y')),
                                 float(node.get('font-size', size)), node.get('text-anchor', 'start'), bool(transform))
        labels.append((node.text, box))
    return root, labels


def _bars(root):
    return [(float(r.get('x')), float(r.get('y')), float(r.get('x')) + float(r.get('width')),
             float(r.get('y')) + float(r.get('height'))) for r in root.iter(SVG + 'rect') if r.find(SVG + 'title') is not None]


def _meet(one, other):
    return one[0] < other[2] and other[0] < one[2] and one[1] < other[3] and other[1] < one[3]


def assert_labels_laid_out(svg_text):
    root, labels = _labels(svg_text)
    width, height = (float(v) for v in root.get('viewBox').split()[2:])
    for text, box in labels:
        assert min(box[0], box[1]) >= 0 and box[2] <= width and box[3] <= height, (text, box, width, height)
    clashes = [(a[0], b[0]) for a, b in itertools.combinations(labels, 2) if _meet(a[1], b[1])]
    assert not clashes
    over_bars = [text for text, box in labels for rect in _bars(root) if _meet(box, rect)]
    assert not over_bars
    return root, labels


def _committed_report():
    return json.loads((COMMITTED / 'overhead.json').read_text())


def _many_guests(count_l0=2, l1_per_l0=2, l2_per_l1=2):
    """A site with a dozen guests, long names, and ratios from a millionth to ten million, some equal, some 1, some
    on the typical bands' edges, some not measured."""
    steps = itertools.cycle([1e-6, 0.5, 1.0, 1.0, 1.1, 1.15, 1.4, 1.7, 1.7001, 3.0, 999.0, 1e7, 0.999, 42.0])
    hosts = []
    for a in range(count_l0):
        l0 = 'metal-%d-with-a-rather-long-name' % a
        hosts.append(dict(name=l0, level=0, measurement=measurement(), kvm_host=NO_VT if a else BARE_METAL))
        for b in range(l1_per_l0):
            l1 = 'l1-%d-%d-hypervisor-name' % (a, b)
            hosts.append(dict(name=l1, level=1, parent=l0, measurement=measurement(
                dict((n, next(steps)) for n in WORKLOADS), unavailable=('pipe',) if b else ()),
                hypervisor_record=dict(virt_type='qemu' if a else 'kvm')))
            for c in range(l2_per_l1):
                hosts.append(dict(name='l2-%d-%d-%d-guest' % (a, b, c), level=2, parent=l1,
                                  measurement=measurement(dict((n, next(steps)) for n in WORKLOADS))))
    return hosts


ADVERSARIAL = {
    'a dozen guests, a millionth to ten million': _many_guests(),
    'one guest with a huge and a tiny figure': chain(1e-5, 1e6),
    'everything close to the bands': chain(1.1, 1.15),
    'one slow L1 outlier': [*chain(1.05, 1.45)[:2], dict(name='l1-a', level=1, parent='metal-1', measurement=measurement(
        dict(cpu=1.1, memory=1.12, syscall=1.13, pipe=1.11, cpuid=2e5, disk=1.14)), hypervisor_record=dict(virt_type='kvm'))],
    'names with markup': chain(0.5, 2.0, l1_virt='qemu', l0_facts=NO_VT),
}
ADVERSARIAL['names with markup'][0]['name'] = '<&>"' * 10


@pytest.mark.parametrize('case', sorted(ADVERSARIAL))
def test_svg_labels_never_overlap(case):
    assert_labels_laid_out(_overhead.render_svg(_overhead.build_report(ADVERSARIAL[case])))


def test_svg_labels_of_the_committed_report_never_overlap():
    assert_labels_laid_out(_overhead.render_svg(_committed_report()))


def test_svg_keeps_one_notation():
    """Factors everywhere, axis, values, bands and tooltips alike: never a percentage, never an exponent."""
    for hosts in [*ADVERSARIAL.values(), chain()]:
        root = ET.fromstring(_overhead.render_svg(_overhead.build_report(hosts)))
        for node in root.iter():
            text = node.text or ''
            assert '%' not in text, text
            assert not re.search(r'\de[+-]?\d', text), text
            assert not re.search(r'(?<![\u00d7\w.-])\d+(\.\d+)?\u00d7', text), text


def test_an_off_scale_bar_is_broken_and_its_value_written():
    """An emulated L1's CPUID, a thousandth of its L0's, stops at the axis's end with a break mark and its value
    beside it; the other bars keep the axis to themselves."""
    report = _overhead.build_report(ADVERSARIAL['one slow L1 outlier'])
    svg_text = _overhead.render_svg(report)
    root, labels = assert_labels_laid_out(svg_text)
    bars = dict((r.find(SVG + 'title').text, r) for r in root.iter(SVG + 'rect') if r.find(SVG + 'title') is not None)
    off = [title for title in bars if title.endswith('(off the scale)')]
    assert off == ['l1-a (L1) cpuid: \u00d7200000 against metal-1 (off the scale)']
    marks = root.findall(SVG + 'polygon')
    assert len(marks) == 1
    broken = bars[off[0]]
    ys = [float(point.split(',')[1]) for point in marks[0].get('points').split()]
    assert float(broken.get('y')) < min(ys) and max(ys) < float(broken.get('y')) + float(broken.get('height'))
    assert '\u00d7200000' in [text for text, box in labels]
    assert any(text.startswith('A bar with a white break runs off the scale') for text, box in labels)
    ticks = [text for text, box in labels if box[2] < float(broken.get('x')) and text.startswith('\u00d7')]
    assert '\u00d71000' not in ticks  # the axis does not run up to the outlier


def test_a_chart_within_its_scale_has_no_break_marks():
    root = ET.fromstring(_overhead.render_svg(_overhead.build_report(chain())))
    assert root.findall(SVG + 'polygon') == []
    assert not any((t.text or '').startswith('A bar with a white break') for t in root.iter(SVG + 'text'))


def _advance_widths(path):
    """char -> advance width in em, read from a TrueType file's cmap (format 4) and hmtx tables."""
    data = path.read_bytes()
    tables = {}
    for index in range(struct.unpack('>H', data[4:6])[0]):
        tag, offset = struct.unpack('>4s4xI4x', data[12 + 16 * index:28 + 16 * index])
        tables[tag.decode()] = offset
    units_per_em = struct.unpack('>H', data[tables['head'] + 18:tables['head'] + 20])[0]
    metrics = struct.unpack('>H', data[tables['hhea'] + 34:tables['hhea'] + 36])[0]
    advances = [struct.unpack('>H', data[tables['hmtx'] + 4 * i:tables['hmtx'] + 4 * i + 2])[0] for i in range(metrics)]
    cmap = tables['cmap']
    for index in range(struct.unpack('>H', data[cmap + 2:cmap + 4])[0]):
        platform, encoding, offset = struct.unpack('>HHI', data[cmap + 4 + 8 * index:cmap + 12 + 8 * index])
        sub = cmap + offset
        if (platform, encoding) == (3, 1) and struct.unpack('>H', data[sub:sub + 2])[0] == 4:
            break
    double = struct.unpack('>H', data[sub + 6:sub + 8])[0]
    count = double // 2
    ends = struct.unpack('>%dH' % count, data[sub + 14:sub + 14 + double])
    starts = struct.unpack('>%dH' % count, data[sub + 16 + double:sub + 16 + 2 * double])
    deltas = struct.unpack('>%dh' % count, data[sub + 16 + 2 * double:sub + 16 + 3 * double])
    range_offsets_at = sub + 16 + 3 * double
    range_offsets = struct.unpack('>%dH' % count, data[range_offsets_at:range_offsets_at + double])

    def width(char):
        code = ord(char)
        segment = next(k for k in range(count) if starts[k] <= code <= ends[k])
        glyph = code
        if range_offsets[segment]:
            at = range_offsets_at + 2 * segment + range_offsets[segment] + 2 * (code - starts[segment])
            glyph = struct.unpack('>H', data[at:at + 2])[0]
        glyph = (glyph + deltas[segment]) & 0xFFFF
        return advances[min(glyph, metrics - 1)] / units_per_em

    return width


@pytest.mark.parametrize('font', ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'])
def test_text_extents_are_over_estimated(font):
    """The room given to a label is at least what the widest font the SVG names takes; the font file is read where
    it is installed (Debian's fonts-dejavu-core)."""
    if not (FONTS / font).exists():
        pytest.skip('%s is not installed here' % font)
    width = _advance_widths(FONTS / font)
    characters = [chr(c) for c in range(0x20, 0x7f)] + ['\u00d7', '\u00b5', '\u2013']
    short = [(c, width(c)) for c in characters if _overhead.text_box(c, 0, 0, size=100)[2] < 100 * width(c)]
    assert not short


# ---------------------------------------------------------------------------------------------------------------
# The committed report

def test_the_committed_report_is_what_its_json_draws():
    """docs/overhead-report: overhead.md and overhead.svg are what `make overhead-docs` draws from overhead.json."""
    files = dict(_overhead.rerender(_committed_report()))
    for name in _overhead.FILES:
        assert (COMMITTED / name).read_text() == files[name], 'run `make overhead-docs` (%s)' % name


# ---------------------------------------------------------------------------------------------------------------
# Files

def test_write_files_only_where_content_differs(tmp_path):
    dest = str(tmp_path / 'report')
    files = _overhead.render_files(_overhead.build_report(chain()))
    changed, diffs = _overhead.write_files(dest, files, check_mode=True)
    assert changed and [d['after_header'] for d in diffs] == [os.path.join(dest, n) for n in _overhead.FILES]
    assert not os.path.exists(dest)
    changed, diffs = _overhead.write_files(dest, files, check_mode=False)
    assert changed and sorted(os.listdir(dest)) == sorted(_overhead.FILES)
    assert json.loads(read(os.path.join(dest, 'overhead.json')))['version'] == 1
    assert oct(os.stat(os.path.join(dest, 'overhead.md')).st_mode & 0o777) == '0o644'
    assert _overhead.write_files(dest, files, check_mode=False) == (False, [])
    other = _overhead.render_files(_overhead.build_report(chain(l1_factor=1.2)))
    changed, diffs = _overhead.write_files(dest, other, check_mode=True)
    assert changed and len(diffs) == 3 and diffs[0]['before'] == files[0][1]
    assert read(os.path.join(dest, 'overhead.json')) == files[0][1]


def test_dest_that_is_a_file(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(NestedKvmError, match='is not a directory'):
        _overhead.write_files(str(path), [('overhead.md', 'x')], check_mode=False)


def test_an_emulated_l0_whose_facts_were_not_read_claims_no_more_than_it_knows():
    hosts = chain(l1_virt='qemu')
    del hosts[1]['kvm_host']
    assert host(_overhead.build_report(hosts), 'metal-1')['label'] == 'emulated L0 (its L1 runs under QEMU TCG)'


def test_a_file_that_is_not_text_is_rewritten(tmp_path):
    (tmp_path / 'overhead.md').write_bytes(b'\xff\xfe')
    changed, diffs = _overhead.write_files(str(tmp_path), [('overhead.md', '# report\n')], check_mode=False)
    assert changed and diffs[0]['before'] == '' and (tmp_path / 'overhead.md').read_text() == '# report\n'
