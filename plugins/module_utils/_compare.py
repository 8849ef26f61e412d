# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired-versus-live comparison of descriptions (a domain's from _domain_xml.describe, a pool's from _pool), and
the one way they are shown: a Secret in them compares like any value but never shows.

One comparison feeds ``changed``, the --diff output and check mode alike, so they never disagree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

HIDDEN = '********'


class Secret:
    """A value compared like any other but never shown (diffs, results, logs)."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Secret) and other.value == self.value

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return repr(HIDDEN)


def changed_keys(before, after):
    """The top-level facts that differ between two descriptions, sorted."""
    before = before or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def _plain(value, other=None):
    """JSON-ready copy of a description; secrets hidden, a changed secret marked as such."""
    if isinstance(value, Secret):
        return HIDDEN if other is None or other == value else HIDDEN + ' (changed)'
    if isinstance(value, dict):
        other = other if isinstance(other, dict) else {}
        return {k: _plain(v, other.get(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        other = other if isinstance(other, (list, tuple)) else []
        return [_plain(v, other[i] if i < len(other) else None) for i, v in enumerate(value)]
    return value


def render(description, previous=None):
    """Stable, human-readable text of a description for Ansible's diff (``previous`` marks secret changes)."""
    if description is None:
        return ''
    return json.dumps(_plain(description, previous), indent=2, sort_keys=True) + '\n'


def plain(description):
    """A description as returnable data, secrets hidden."""
    return _plain(description)
