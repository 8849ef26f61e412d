# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workloads of the overhead measurement and what one operation of each is: shared by the runner on the managed
host (_workload, overhead_workload) and the report on the controller (_overhead_model, _overhead_markdown), so the
report needs none of the runner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

WORKLOADS = ('cpu', 'memory', 'syscall', 'pipe', 'cpuid', 'disk')

# What one operation of each workload is, for the report's column headers.
UNITS = {
    'cpu': 'MiB hashed',
    'memory': 'page touched',
    'syscall': 'system call',
    'pipe': 'round trip',
    'cpuid': 'CPUID',
    'disk': 'synchronous write',
}
