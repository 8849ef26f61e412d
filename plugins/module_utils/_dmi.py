# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DMI (SMBIOS) of the host, and whether it names a virtual machine: a host that is one is an L1, not an L0."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nestedkvm.stack.plugins.module_utils._hostfs import first_line

# Case-insensitive substrings of DMI sys_vendor / product_name that only virtual machines report.
VM_DMI_MARKERS = (
    'qemu', 'kvm', 'bochs', 'vmware', 'virtualbox', 'innotek', 'xen', 'parallels', 'bhyve',
    'openstack', 'amazon ec2', 'google compute engine', 'virtual machine', 'cloud hypervisor', 'firecracker',
)


def read_dmi():
    return dict(sys_vendor=first_line('/sys/class/dmi/id/sys_vendor'),
                product_name=first_line('/sys/class/dmi/id/product_name'))


def dmi_says_virtual(dmi):
    """True when DMI names a hypervisor vendor/product, False when it names something else, None without DMI."""
    words = [v for v in (dmi.get('sys_vendor'), dmi.get('product_name')) if v]
    if not words:
        return None
    text = ' '.join(words).lower()
    return any(marker in text for marker in VM_DMI_MARKERS)
