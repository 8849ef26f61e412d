"""The overhead report's files (_overhead_files): the committed report is what its JSON draws, and files are written
only where they differ."""

import json
import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _overhead_files, _overhead_model
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError
from ansible_collections.nestedkvm.stack.tests.unit.plugins.module_utils.overhead_hosts import COMMITTED, chain, committed_report


def read(path):
    with open(path) as handle:
        return handle.read()


# ---------------------------------------------------------------------------------------------------------------
# The committed report

def test_the_committed_report_is_what_its_json_draws():
    """docs/overhead-report: overhead.md and overhead.svg are what `make overhead-docs` draws from overhead.json."""
    files = dict(_overhead_files.rerender(committed_report()))
    for name in _overhead_files.FILES:
        assert (COMMITTED / name).read_text() == files[name], 'run `make overhead-docs` (%s)' % name


# ---------------------------------------------------------------------------------------------------------------
# Files

def test_write_files_only_where_content_differs(tmp_path):
    dest = str(tmp_path / 'report')
    files = _overhead_files.render_files(_overhead_model.build_report(chain()))
    changed, diffs = _overhead_files.write_files(dest, files, check_mode=True)
    assert changed and [d['after_header'] for d in diffs] == [os.path.join(dest, n) for n in _overhead_files.FILES]
    assert not os.path.exists(dest)
    changed, diffs = _overhead_files.write_files(dest, files, check_mode=False)
    assert changed and sorted(os.listdir(dest)) == sorted(_overhead_files.FILES)
    assert json.loads(read(os.path.join(dest, 'overhead.json')))['version'] == 1
    assert oct(os.stat(os.path.join(dest, 'overhead.md')).st_mode & 0o777) == '0o644'
    assert _overhead_files.write_files(dest, files, check_mode=False) == (False, [])
    other = _overhead_files.render_files(_overhead_model.build_report(chain(l1_factor=1.2)))
    changed, diffs = _overhead_files.write_files(dest, other, check_mode=True)
    assert changed and len(diffs) == 3 and diffs[0]['before'] == files[0][1]
    assert read(os.path.join(dest, 'overhead.json')) == files[0][1]


def test_dest_that_is_a_file(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(NestedKvmError, match='is not a directory'):
        _overhead_files.write_files(str(path), [('overhead.md', 'x')], check_mode=False)


def test_a_file_that_is_not_text_is_rewritten(tmp_path):
    (tmp_path / 'overhead.md').write_bytes(b'\xff\xfe')
    changed, diffs = _overhead_files.write_files(str(tmp_path), [('overhead.md', '# report\n')], check_mode=False)
    assert changed and diffs[0]['before'] == '' and (tmp_path / 'overhead.md').read_text() == '# report\n'
