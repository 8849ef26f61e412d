# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overhead report's files (overhead.json, overhead.md, overhead.svg): drawn from a report, and written into a
directory only where their content differs, each replaced whole."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_markdown import render_markdown
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_model import report_notes
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_svg import render_svg

FILES = ('overhead.json', 'overhead.md', 'overhead.svg')
FILE_KINDS = ('json', 'markdown', 'svg')  # the names the module returns them under


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
    return render_files(dict(report, notes=report_notes(report['hosts'])))


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
