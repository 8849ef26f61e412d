"""Draws an overhead report's overhead.md and overhead.svg again from its overhead.json, with no VM and no
measurement: the figures stay as measured; the notes, the tables and the chart are what the collection's code
makes of them today (plugins/module_utils/_overhead_*.py). overhead.json is written back only if its notes change.

Usage (in a checkout, after `make deps`): python3 hack/overhead_docs.py [DIR ...]   (default: docs/overhead-report)
`make overhead-docs` runs it for docs/overhead-report; tests/unit/plugins/module_utils/test__overhead_files.py checks
that the committed files are what it writes.
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# `make deps` links this checkout there as ansible_collections/nestedkvm/stack.
sys.path.insert(0, str(REPO / '.work' / 'collections'))

from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_files import rerender, write_files  # noqa: E402


def main(directories):
    for directory in directories or [str(REPO / 'docs' / 'overhead-report')]:
        with open(Path(directory) / 'overhead.json', encoding='utf-8') as handle:
            report = json.load(handle)
        changed, diffs = write_files(directory, rerender(report), check_mode=False)
        print('%s: %s' % (directory, ', '.join(Path(d['after_header']).name for d in diffs) if changed else 'unchanged'))


if __name__ == '__main__':
    main(sys.argv[1:])
