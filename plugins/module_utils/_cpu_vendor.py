# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two x86 vendors KVM knows, told apart once: by CPUID vendor string (/proc/cpuinfo), by the vendor name libvirt
writes (capabilities, domain capabilities) or by virtualization flag, each with its flag, its second-level paging and
its KVM module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# vendor -> (its hardware virtualization flag, its second-level paging flag and kvm module parameter, its KVM module)
_VIRTUALIZATION = {
    'intel': ('vmx', 'ept', 'kvm_intel'),
    'amd': ('svm', 'npt', 'kvm_amd'),
}
_CPUID = {
    'GenuineIntel': 'intel',
    'AuthenticAMD': 'amd',
    'HygonGenuine': 'amd',  # Hygon Dhyana: an AMD Zen licensee, uses kvm_amd
}
_LIBVIRT = {'Intel': 'intel', 'AMD': 'amd', 'Hygon': 'amd'}


def vendor_of_cpuid(vendor_id):
    """'intel' or 'amd' for a CPUID vendor string (/proc/cpuinfo's vendor_id), else None."""
    return _CPUID.get(vendor_id or '')


def vendor_of_libvirt(name):
    """'intel' or 'amd' for the vendor name of a CPU in libvirt's XML (<vendor>Intel</vendor>), else None."""
    return _LIBVIRT.get(name or '')


def virtualization_flag(flags):
    """'vmx' (Intel VT-x) or 'svm' (AMD-V) when among a CPU's ``flags``, else None."""
    for name in ('vmx', 'svm'):
        if name in flags:
            return name
    return None


def vendor_of_flag(flag):
    """The vendor whose virtualization flag ``flag`` is ('vmx' -> 'intel'), or None."""
    return next((vendor for vendor, facts in _VIRTUALIZATION.items() if facts[0] == flag), None)


def flag_of(vendor):
    """vmx or svm: the virtualization flag of ``vendor``, None for another."""
    return _VIRTUALIZATION[vendor][0] if vendor in _VIRTUALIZATION else None


def kvm_module(vendor):
    """kvm_intel or kvm_amd for ``vendor``, None for another."""
    return _VIRTUALIZATION[vendor][2] if vendor in _VIRTUALIZATION else None


def paging_param(module):
    """The parameter (and CPU flag) of second-level paging of KVM module ``module``: ept or npt."""
    return next(facts[1] for facts in _VIRTUALIZATION.values() if facts[2] == module.replace('-', '_'))
