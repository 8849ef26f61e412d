# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules and their parameters: what is loaded or built in (/proc/modules, /sys/module), the value a
parameter has now, and the value modprobe's configuration and the kernel command line give it at the next load."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._cpu_vendor import paging_param
from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import first_line, host_path, read_text

# Directories modprobe reads configuration from; kvm_nested_param writes a file of its own in the first.
MODPROBE_DIRS = ('/etc/modprobe.d', '/run/modprobe.d', '/usr/local/lib/modprobe.d', '/usr/lib/modprobe.d',
                 '/lib/modprobe.d')


def normalize_module_name(name):
    """modprobe treats - and _ alike in module names; the kernel reports _."""
    return name.replace('-', '_')


def parse_bool_param(value):
    """A bool module parameter as the kernel shows it (Y/N, or 1/0 for int-typed ones) -> True/False/None."""
    if value is None:
        return None
    value = value.strip().lower()
    if value in ('y', '1', 'yes', 'on', 'true'):
        return True
    if value in ('n', '0', 'no', 'off', 'false'):
        return False
    return None


def read_module_param(module, param):
    """Raw text of /sys/module/<module>/parameters/<param>, or None (module not loaded / no such parameter)."""
    return first_line('/sys/module/%s/parameters/%s' % (normalize_module_name(module), param))


def read_nested(module):
    """Runtime value of <module>'s nested parameter as a bool, or None when it is not readable."""
    return parse_bool_param(read_module_param(module, 'nested'))


def read_second_level_paging(module):
    """Whether ``module`` (kvm_intel or kvm_amd) runs with EPT/NPT (its ``ept``/``npt`` parameter), or None when it is
    not loaded. The CPU flag only says the hardware has it; KVM can be loaded with ept=0/npt=0 (or turn it off
    itself) and then runs every guest, nested ones included, on shadow page tables."""
    return parse_bool_param(read_module_param(module, paging_param(module)))


def parse_proc_modules(text):
    """Names of the loadable modules listed in /proc/modules."""
    names = []
    for line in (text or '').splitlines():
        fields = line.split()
        if fields:
            names.append(fields[0])
    return names


def module_state(name):
    """'loaded' (a loadable module, present), 'builtin' (compiled into the kernel) or 'absent'.

    A module that is in /sys/module is built in when it is neither in /proc/modules nor has an ``initstate`` file
    (only loadable modules have one).
    """
    name = normalize_module_name(name)
    if not os.path.isdir(host_path('/sys/module/%s' % name)):
        return 'absent'
    if name in parse_proc_modules(read_text('/proc/modules', '')):
        return 'loaded'
    if os.path.exists(host_path('/sys/module/%s/initstate' % name)):
        return 'loaded'
    return 'builtin'


def kvm_modules():
    """KVM modules in the kernel: [{'name': 'kvm_intel', 'builtin': False}, ...], sorted by name."""
    names = set(n for n in parse_proc_modules(read_text('/proc/modules', '')) if n.startswith('kvm'))
    try:
        names.update(n for n in os.listdir(host_path('/sys/module')) if n.startswith('kvm'))
    except OSError:
        pass
    return [dict(name=name, builtin=module_state(name) == 'builtin') for name in sorted(names)]


_MODPROBE_OPTIONS = re.compile(r'^\s*options\s+(\S+)\s+(.*)$')


def parse_modprobe_nested(text, module):
    """Values of ``nested=`` that ``options <module> ...`` lines in a modprobe.d file set: [(lineno, raw, bool)]."""
    found = []
    module = normalize_module_name(module)
    for lineno, line in enumerate((text or '').splitlines(), 1):
        line = line.split('#', 1)[0]
        match = _MODPROBE_OPTIONS.match(line)
        if not match or normalize_module_name(match.group(1)) != module:
            continue
        for option in match.group(2).split():
            key, sep, value = option.partition('=')
            if sep and key == 'nested':
                found.append((lineno, value, parse_bool_param(value)))
    return found


def modprobe_nested_settings(module, exclude=None):
    """Every ``nested=`` setting for ``module`` in modprobe's configuration directories.

    Returns [{'file': '/etc/modprobe.d/x.conf', 'line': 3, 'value': True}]; ``exclude`` is a path to skip
    (the file kvm_nested_param owns).
    """
    found = []
    for directory in MODPROBE_DIRS:
        try:
            entries = sorted(os.listdir(host_path(directory)))
        except OSError:
            continue
        for entry in entries:
            path = '%s/%s' % (directory, entry)
            if not entry.endswith('.conf') or path == exclude:
                continue
            for lineno, raw, value in parse_modprobe_nested(read_text(path, ''), module):
                found.append(dict(file=path, line=lineno, raw=raw, value=value))
    return found


def kernel_cmdline_nested(module):
    """The value ``<module>.nested=`` has on the kernel command line (bool), or None when it is not set."""
    value = None
    module = normalize_module_name(module)
    for word in (read_text('/proc/cmdline', '') or '').split():
        key, sep, raw = word.partition('=')
        mod, dot, param = key.rpartition('.')
        if sep and dot and param == 'nested' and normalize_module_name(mod) == module:
            value = parse_bool_param(raw)
    return value
