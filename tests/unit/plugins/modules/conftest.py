"""Fixtures for module tests on libvirt's test driver (test:///default).

The test driver is an in-memory hypervisor shared by all connections of this process while one
stays open, and reset when the last one closes: the ``hypervisor`` fixture holds a connection for
the length of one test, so calling a module twice sees the first run's domains, and the next test
starts clean.
"""

import libvirt
import pytest


class TestHypervisor:
    uri = 'test:///default'
    pool = 'default-pool'  # the test driver's one pool, at /default-pool

    def __init__(self):
        self.conn = libvirt.open(self.uri)
        self._builtin = {d.name() for d in self.conn.listAllDomains()}  # the driver's own 'test' domain

    def domains(self):
        """Domains defined since the fixture started."""
        return sorted(d.name() for d in self.conn.listAllDomains() if d.name() not in self._builtin)

    def volumes(self):
        return sorted(self.conn.storagePoolLookupByName(self.pool).listVolumes())

    def domain(self, name):
        return self.conn.lookupByName(name)

    def snapshot(self):
        """Everything a module run could change: each domain's definition, power state and autostart, each
        volume's description. Equal snapshots before and after a run mean the run changed nothing."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        pool = self.conn.storagePoolLookupByName(self.pool)
        return dict(domains={d.name(): (d.XMLDesc(flags), d.state()[0], d.autostart()) for d in self.conn.listAllDomains()},
                    volumes={v.name(): v.XMLDesc(0) for v in pool.listAllVolumes()})

    def define_by_hand(self, name, disks=(), start=False):
        """A domain a person made (no record of this collection), with ``disks`` (paths) attached."""
        devices = ''.join("<disk type='file' device='disk'><source file='%s'/><target dev='vd%s'/></disk>"
                          % (path, 'abcdefgh'[i]) for i, path in enumerate(disks))
        domain = self.conn.defineXML("<domain type='test'><name>%s</name><memory>524288</memory><os><type>hvm</type>"
                                     "</os><devices>%s</devices></domain>" % (name, devices))
        if start:
            domain.create()
        return domain

    def copy(self, original, name, xml_edit=None):
        """What `virsh dumpxml <original> | <rename, drop the uuid> | virsh define` makes (and virt-clone,
        which gives the copy a new UUID too): a second domain with the first one's metadata."""
        from lxml import etree

        root = etree.fromstring(self.domain(original).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
        root.find('name').text = name
        root.remove(root.find('uuid'))
        for mac in root.iterfind('devices/interface/mac'):
            mac.getparent().remove(mac)
        if xml_edit is not None:
            xml_edit(root)
        return self.conn.defineXML(etree.tostring(root).decode())

    def add_volume(self, name, size='1', unit='GiB', fmt='qcow2'):
        self.conn.storagePoolLookupByName(self.pool).createXML(
            "<volume><name>%s</name><capacity unit='%s'>%s</capacity><target><format type='%s'/></target></volume>"
            % (name, unit, size, fmt), 0)
        return '/%s/%s' % (self.pool, name)


@pytest.fixture
def hypervisor():
    test_hypervisor = TestHypervisor()
    yield test_hypervisor
    test_hypervisor.conn.close()


@pytest.fixture
def base_image(hypervisor):
    """A 2 GiB qcow2 'cloud image' volume in the test pool, for backing_image."""
    return hypervisor.add_volume('base.qcow2', size='2')


@pytest.fixture
def roomy_host(monkeypatch):
    """The test driver's host has 3 GiB of RAM, less than a windows11 guest needs: report 16 GiB.

    Mocked because no test driver host that size exists in-process (a custom test:///<file> driver
    would, but does not keep its state across the connections of two module runs)."""
    from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import HostCapabilities
    probe = HostCapabilities.probe.__func__

    def bigger(cls, conn):
        capabilities = probe(cls, conn)
        capabilities.memory = 16 * 1024 ** 3
        return capabilities

    monkeypatch.setattr(HostCapabilities, 'probe', classmethod(bigger))


def _test_driver_parses_passt():
    conn = libvirt.open(TestHypervisor.uri)
    try:
        conn.defineXML("<domain type='test'><name>passt-probe</name><memory>65536</memory><os><type>hvm</type></os>"
                       "<devices><interface type='user'><backend type='passt'/></interface></devices></domain>").undefine()
        return True
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


@pytest.fixture
def passt_host(monkeypatch):
    """The test driver's host as a libvirt 10.6+ host with passt installed would report it (domain capabilities
    listing the passt backend; passt in PATH). Stood in for: the test driver lists no domain capabilities, and this
    machine has no passt. Skips where the library's parser refuses passt (Debian 12's 9.0 has it disabled):
    `make units` runs these tests on the backports libvirt as well."""
    if not _test_driver_parses_passt():
        pytest.skip("libvirt %d refuses <backend type='passt'/> (Debian 12's 9.0 has passt disabled)"
                    % libvirt.getVersion())
    from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import HostCapabilities
    probe = HostCapabilities.probe.__func__

    def with_passt(cls, conn):
        capabilities = probe(cls, conn)
        capabilities.net_backends = frozenset({'default', 'passt'})
        capabilities.passt_installed = True
        return capabilities

    monkeypatch.setattr(HostCapabilities, 'probe', classmethod(with_passt))
