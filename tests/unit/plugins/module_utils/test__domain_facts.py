"""The table of managed facts: each fact is read under one name, a definition with none of them reads as
empty rather than failing (libvirt may hand back any subset), and the readers normalize what libvirt and
people write differently (memory units, versioned machine types, the access record's port)."""

from collections import Counter

import pytest
from lxml import etree

from ansible_collections.nestedkvm.stack.plugins.module_utils import _domain_facts as facts


def test_each_fact_is_read_under_one_name_only():
    names = Counter(name for fact in facts.FACTS for name in fact.reads)
    assert not [name for name, count in names.items() if count > 1]


def test_a_definition_without_managed_facts_reads_as_empty():
    root = etree.fromstring('<domain/>')
    values = {name: read(root) for fact in facts.FACTS for name, read in fact.reads.items()}
    assert not [name for name, value in values.items() if value not in (None, [], {})
                and name != 'kernel_irqchip']
    assert values['kernel_irqchip'] is True  # only an explicit kernel-irqchip=off turns it off


@pytest.mark.parametrize('text, unit', [('2097152', None), ('2097152', 'KiB'), ('2048', 'MiB'), ('2', 'GiB'),
                                        ('2147483648', 'bytes')])
def test_memory_reads_in_kib_whatever_unit_the_definition_uses(text, unit):
    root = etree.fromstring('<domain><memory%s>%s</memory></domain>'
                            % (' unit="%s"' % unit if unit else '', text))
    assert facts.SIZE.reads['memory_kib'](root) == 2097152


@pytest.mark.parametrize('machine, expected', [('pc-q35-7.2', 'q35'), ('pc-q35-10.0', 'q35'),
                                               ('pc-i440fx-9.0', 'pc'), ('q35', 'q35'), ('virt', 'virt')])
def test_versioned_machine_types_read_as_their_alias(machine, expected):
    assert facts._machine(machine) == expected


@pytest.mark.parametrize('port, expected', [('2222', 2222), ('22x', '22x'), (None, None)])
def test_the_access_record_reads_a_numeric_port_as_a_number_and_keeps_anything_else_for_validation(port, expected):
    access = etree.Element('{%s}access' % facts.NK_NS, user='nestedkvm', address='127.0.0.1')
    if port is not None:
        access.set('port', port)
    root = etree.fromstring('<domain><metadata><nk:stack xmlns:nk="%s"/></metadata></domain>' % facts.NK_NS)
    root.find('metadata/{%s}stack' % facts.NK_NS).append(access)
    assert facts.access_record(root) == dict(user='nestedkvm', address='127.0.0.1', port=expected,
                                             host_key_alias=None)


def test_a_definition_without_the_record_has_no_access():
    assert facts.access_record(etree.fromstring('<domain><metadata/></domain>')) is None


class _Spec:
    def __init__(self, disks, seed, cdroms):
        self.disks, self.seed, self.cdroms = [None] * disks, seed, cdroms


@pytest.mark.parametrize('disks, seed, cdroms, expected', [
    (1, True, [], ['sdb']),
    (2, True, [('installer_iso', '/a.iso')], ['sdc', 'sdd']),
    (1, False, [('installer_iso', '/a.iso'), ('drivers_iso', '/b.iso')], ['sdb', 'sdc']),
    (1, False, [], []),
])
def test_cdroms_follow_the_disks_with_the_seed_first(disks, seed, cdroms, expected):
    assert facts.cdrom_targets(_Spec(disks, seed, cdroms)) == expected


def test_kernel_irqchip_reads_off_only_from_the_argument_pair():
    commandline = ('<domain xmlns:qemu="%s"><qemu:commandline>%s</qemu:commandline></domain>'
                   % (facts.QEMU_NS, ''.join('<qemu:arg value="%s"/>' % a for a in facts.KERNEL_IRQCHIP_OFF)))
    root = etree.fromstring(commandline)
    assert facts.USER_NETDEVS.reads['kernel_irqchip'](root) is False
    assert facts.USER_NETDEVS.reads['user_networks'](root) == []
