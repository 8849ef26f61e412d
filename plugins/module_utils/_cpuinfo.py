# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/proc/cpuinfo: the CPU's vendor, model and the flags that matter for KVM."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nestedkvm.stack.plugins.module_utils._cpu_vendor import (
    vendor_of_cpuid, vendor_of_flag, virtualization_flag)
from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import read_text


class CpuInfo(object):
    """The facts of /proc/cpuinfo that matter for KVM."""

    def __init__(self, vendor_id=None, model_name=None, flags=(), vmx_flags=()):
        self.vendor_id = vendor_id
        self.model_name = model_name
        self.flags = frozenset(flags)
        # Since Linux 5.9 VMX sub-features (ept, ...) are also listed on their own "vmx flags" line.
        self.vmx_flags = frozenset(vmx_flags)

    @property
    def vendor(self):
        """intel, amd or unknown."""
        return vendor_of_cpuid(self.vendor_id) or 'unknown'

    @property
    def virt_flag(self):
        """vmx, svm or None: the hardware virtualization this CPU offers to KVM."""
        return virtualization_flag(self.flags)

    @property
    def hardware_virtualization(self):
        return self.virt_flag is not None

    @property
    def virt_vendor(self):
        """The vendor whose KVM module fits this CPU (by its virtualization flag), or None."""
        return vendor_of_flag(self.virt_flag)

    @property
    def ept(self):
        return 'vmx' in self.flags and ('ept' in self.flags or 'ept' in self.vmx_flags)

    @property
    def npt(self):
        return 'svm' in self.flags and 'npt' in self.flags

    @property
    def hypervisor(self):
        """The CPUID 'hypervisor present' bit: set by every mainstream hypervisor for its guests."""
        return 'hypervisor' in self.flags


def parse_cpuinfo(text):
    """Parse /proc/cpuinfo (x86). Flags are the union over all processors (they normally agree)."""
    vendor_id = None
    model_name = None
    flags = set()
    vmx_flags = set()
    for line in (text or '').splitlines():
        key, sep, value = line.partition(':')
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if key == 'vendor_id' and vendor_id is None:
            vendor_id = value
        elif key == 'model name' and model_name is None:
            model_name = value
        elif key == 'flags':
            flags.update(value.split())
        elif key == 'vmx flags':
            vmx_flags.update(value.split())
    return CpuInfo(vendor_id, model_name, flags, vmx_flags)


def read_cpuinfo():
    return parse_cpuinfo(read_text('/proc/cpuinfo', ''))
