"""Tests mirror the source: each file of plugins/module_utils and plugins/plugin_utils has its test file of the same
name (tests/unit/plugins/<dir>/test_<file>.py), and each such test file names a source file that exists."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('directory', ['module_utils', 'plugin_utils'])
def test_each_source_file_has_its_test_file_and_each_test_file_its_source(directory):
    sources = {p.name for p in (REPO / 'plugins' / directory).glob('_*.py')}
    tests = {p.name[len('test_'):] for p in (REPO / 'tests' / 'unit' / 'plugins' / directory).glob('test_*.py')}
    untested = {'%s/%s' % (directory, name) for name in sources - tests}
    assert not untested, 'add tests/unit/plugins/%s/test_<file>.py for %s' % (directory, sorted(untested))
    assert not tests - sources, 'test files without a source file: %s' % sorted(tests - sources)
