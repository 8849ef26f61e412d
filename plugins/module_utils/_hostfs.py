# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's files (/proc, /sys, /dev, /etc), read below one root.

Every reader of the host joins its paths onto ``ROOT`` (through ``host_path``) when it runs, so tests point them all
at a fake tree by changing this one value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# The one root every reader joins its paths onto. Tests set it to a fake tree under tmp_path.
ROOT = '/'


def host_path(path):
    """``path`` (absolute, as on a real host) below the current ``ROOT``."""
    return os.path.join(ROOT, path.lstrip('/'))


def read_text(path, default=None):
    """Contents of ``path`` (below ROOT), or ``default`` when it cannot be read."""
    try:
        with open(host_path(path), 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except OSError:
        return default


def first_line(path):
    """The text of a one-value file such as /sys/module/kvm_intel/parameters/nested, stripped; None when it cannot be
    read or is empty."""
    text = read_text(path)
    if text is None:
        return None
    text = text.strip()
    return text or None
