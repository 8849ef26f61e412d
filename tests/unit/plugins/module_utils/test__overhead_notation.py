"""How the overhead report writes a figure (_overhead_notation): a percentage or a plain decimal factor, one notation
for all the figures shown together."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _overhead_notation


@pytest.mark.parametrize('ratio, text', [
    (1.12, '\u00d71.12'), (1.5, '\u00d71.50'), (9.994, '\u00d79.99'), (67.4, '\u00d767'), (4870.2, '\u00d74870'),
    (0.449, '\u00d70.449'), (0.00107, '\u00d70.00107'), (2e7, '\u00d720000000'), (1e-7, '\u00d70.000000100'),
])
def test_a_factor_is_a_plain_decimal_with_three_significant_digits(ratio, text):
    assert _overhead_notation.factor(ratio) == text


@pytest.mark.parametrize('ratios, notation', [
    ([1.12, 0.5, 9.99], 'percent'),
    ([1.12, 10.0], 'factor'),
    ([0.1, 1.0], 'factor'),
    ([], 'percent'),
])
def test_one_figure_of_ten_times_or_a_tenth_makes_all_factors(ratios, notation):
    assert _overhead_notation.choose_notation(ratios) == notation


def test_an_overhead_and_a_typical_range_in_each_notation():
    relative, typical_range = _overhead_notation.relative, _overhead_notation.typical_range
    assert relative(12.34, 'percent') == '+12.3 %' and relative(-50.0, 'percent', noise=True) == '-50.0 % ~'
    assert relative(12.34, 'factor') == '\u00d71.12' and relative(None, 'factor') == 'n/a'
    assert typical_range(dict(low=10, high=15), 'percent') == '10-15 %'
    assert typical_range(dict(low=10, high=15), 'factor') == '\u00d71.10-\u00d71.15'
    assert _overhead_notation.percent_ratios([12.0, None, -50.0]) == [1.12, 0.5]
