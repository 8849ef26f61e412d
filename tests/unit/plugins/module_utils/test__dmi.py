"""_dmi.py: what DMI says of the host, on a fake tree (the fake_host fixture, see ../conftest.py), and which vendors
and products name a virtual machine."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _dmi


@pytest.mark.parametrize('vendor, product, virtual', [
    ('QEMU', 'Standard PC (Q35 + ICH9, 2009)', True),
    ('Red Hat', 'KVM', True),
    ('VMware, Inc.', 'VMware Virtual Platform', True),
    ('innotek GmbH', 'VirtualBox', True),
    ('Microsoft Corporation', 'Virtual Machine', True),
    ('Amazon EC2', 'm5.large', True),
    ('Dell Inc.', 'PowerEdge R740', False),
    ('Supermicro', 'SYS-2029U', False),
    (None, None, None),
])
def test_dmi_says_virtual(vendor, product, virtual):
    assert _dmi.dmi_says_virtual(dict(sys_vendor=vendor, product_name=product)) is virtual


def test_read_dmi(fake_host):
    assert _dmi.read_dmi() == dict(sys_vendor=None, product_name=None)
    fake_host.write('/sys/class/dmi/id/sys_vendor', 'QEMU\n')
    fake_host.write('/sys/class/dmi/id/product_name', 'Standard PC (Q35 + ICH9, 2009)\n')
    assert _dmi.read_dmi() == dict(sys_vendor='QEMU', product_name='Standard PC (Q35 + ICH9, 2009)')


def test_one_of_the_two_names_is_enough():
    assert _dmi.dmi_says_virtual(dict(sys_vendor=None, product_name='KVM')) is True
    assert _dmi.dmi_says_virtual(dict(sys_vendor='Lenovo', product_name=None)) is False
