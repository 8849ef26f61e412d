"""The overhead report as an SVG chart (_overhead_svg), parsed back: its bars and labels, one notation, no two labels
meeting, off-scale bars broken, and room for text at least as wide as the font the SVG names."""

import itertools
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _overhead_model, _overhead_svg
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import WORKLOADS
from ansible_collections.nestedkvm.stack.tests.unit.plugins.module_utils.overhead_hosts import (
    BARE_METAL, NO_VT, chain, committed_report, measurement)

SVG = '{http://www.w3.org/2000/svg}'
FONTS = Path('/usr/share/fonts/truetype/dejavu')


def test_svg_is_well_formed_with_a_bar_per_guest_and_workload():
    report = _overhead_model.build_report(chain())
    root = ET.fromstring(_overhead_svg.render_svg(report))
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
    report = _overhead_model.build_report(chain(25.0, 2000.0, l1_virt='qemu', l0_facts=NO_VT))
    root = ET.fromstring(_overhead_svg.render_svg(report))
    texts = [t.text for t in root.iter(SVG + 'text')]
    assert 'metal-1: emulated L0 (no VT-x/AMD-V)' in texts
    assert '\u00d72000' in texts and '\u00d71000' in texts


def test_svg_with_nothing_to_compare():
    report = _overhead_model.build_report([dict(name='metal-1', level=0, measurement=measurement(), kvm_host=BARE_METAL)])
    root = ET.fromstring(_overhead_svg.render_svg(report))
    assert 'Nothing to compare: no L1 or L2 with figures against a measured L0.' in [t.text for t in root.iter()]


def test_svg_escapes_names():
    hosts = chain()
    hosts[0]['name'] = 'a<b>&"c'
    root = ET.fromstring(_overhead_svg.render_svg(_overhead_model.build_report(hosts)))
    assert 'a<b>&"c (L2 on l1-a)' in [t.text for t in root.iter(SVG + 'text')]


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
        box = _overhead_svg.text_box(node.text, float(node.get('x')), float(node.get('y')),
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
    assert_labels_laid_out(_overhead_svg.render_svg(_overhead_model.build_report(ADVERSARIAL[case])))


def test_svg_labels_of_the_committed_report_never_overlap():
    assert_labels_laid_out(_overhead_svg.render_svg(committed_report()))


def test_svg_keeps_one_notation():
    """Factors everywhere, axis, values, bands and tooltips alike: never a percentage, never an exponent."""
    for hosts in [*ADVERSARIAL.values(), chain()]:
        root = ET.fromstring(_overhead_svg.render_svg(_overhead_model.build_report(hosts)))
        for node in root.iter():
            text = node.text or ''
            assert '%' not in text, text
            assert not re.search(r'\de[+-]?\d', text), text
            assert not re.search(r'(?<![\u00d7\w.-])\d+(\.\d+)?\u00d7', text), text


def test_an_off_scale_bar_is_broken_and_its_value_written():
    """An emulated L1's CPUID, a thousandth of its L0's, stops at the axis's end with a break mark and its value
    beside it; the other bars keep the axis to themselves."""
    report = _overhead_model.build_report(ADVERSARIAL['one slow L1 outlier'])
    svg_text = _overhead_svg.render_svg(report)
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
    root = ET.fromstring(_overhead_svg.render_svg(_overhead_model.build_report(chain())))
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
    short = [(c, width(c)) for c in characters if _overhead_svg.text_box(c, 0, 0, size=100)[2] < 100 * width(c)]
    assert not short
