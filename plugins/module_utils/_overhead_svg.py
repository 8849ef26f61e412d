# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overhead report as an SVG bar chart (overhead.svg), built as an element tree: each guest's time per operation
against its L0 as factors on a logarithmic axis, with every label's room reckoned so that none meets another."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import xml.etree.ElementTree as ET

from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_model import TYPICAL_RANGES, measured_workloads
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_notation import factor, typical_range

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
    categories = [n for n in measured_workloads(report) if any(entry['overhead_vs_l0'].get(n) for entry in guests)]
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
    texts = [factor(r) for r in ratios] + ['n/a']
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
        text = 'L%d typical %s' % (level, typical_range(TYPICAL_RANGES[level], 'factor'))
        y = (y_high + y_low) / 2 + 4
        # Levels go up the axis: on a squeezed axis, a label moves up until it clears the lower levels' labels.
        while any(_overlap(text_box(text, left + plot_w + 8, y), band, 2) for band in bands):
            y -= 1
        bands.append(_text(parent, boxes, text, left + plot_w + 8, y, fill=LEVEL_COLORS[level][0]))
    axis = _element(parent, 'g', stroke='#cccccc')
    ticks = []
    for tick in _ticks(low, high):
        y = y_of(tick)
        text = factor(tick, trim=True)
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
                entry['name'], entry['level'], name, factor(ratio), entry['l0'], ' (off the scale)' if off else ''))
            if off:
                _break_mark(parent, x, bar_w - 2, y_bar, ratio > high)
            _bar_label(parent, boxes, geometry, factor(ratio), x + bar_w / 2 - 1, y_bar, ratio >= 1)
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
