"""_capabilities.py: libvirt's capabilities parsed once, from stored XML (tests/unit/fixtures/capabilities, see its
README) and from libvirt's test driver answering with the capabilities of other hosts."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _capabilities
from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection

pytest.importorskip('libvirt')


@pytest.mark.parametrize('name, vendor, model, domain_types', [
    ('pvm-no-vmx.xml', 'intel', 'Broadwell-noTSX-IBRS', {'qemu', 'kvm'}),
    ('tcg-only.xml', 'intel', 'Broadwell-noTSX-IBRS', {'qemu'}),
    ('only-kvm.xml', 'intel', 'Broadwell-noTSX-IBRS', {'kvm'}),
    ('intel-kvm.xml', 'intel', 'Icelake-Server', {'qemu', 'kvm'}),
    ('amd-kvm.xml', 'amd', 'EPYC-Rome', {'qemu', 'kvm'}),
])
def test_parse_capabilities_of_stored_hosts(stored, name, vendor, model, domain_types):
    assert _capabilities.parse_capabilities(stored('capabilities', name)) == dict(
        host_arch='x86_64', vendor=vendor, model=model, domain_types=domain_types,
        emulator='/usr/bin/qemu-system-x86_64')


def test_only_x86_64_hvm_guests_count():
    # An i686-only guest list (libvirt's test driver) and a xen guest offer nothing for the guests the collection
    # defines; a Hygon CPU is AMD's kind (kvm_amd, svm).
    xml = ("<capabilities><host><cpu><arch>x86_64</arch><vendor>Hygon</vendor></cpu></host>"
           "<guest><os_type>hvm</os_type><arch name='i686'><domain type='kvm'/></arch></guest>"
           "<guest><os_type>xen</os_type><arch name='x86_64'><domain type='xen'/></arch></guest></capabilities>")
    assert _capabilities.parse_capabilities(xml) == dict(host_arch='x86_64', vendor='amd', model=None,
                                                         domain_types=set(), emulator=None)


def test_parse_domain_capabilities_of_this_machine(stored):
    # What libvirt 9.0 answered here (tests/unit/fixtures/domcaps/README.md): it lists no interface backends yet.
    assert _capabilities.parse_domain_capabilities(stored('domcaps', 'pvm-kvm.xml')) == dict(
        path='/usr/bin/qemu-system-x86_64', machine='pc-i440fx-7.2', net_backends=set())


@pytest.mark.parametrize('name, flag', [('intel-kvm.xml', 'vmx'), ('amd-kvm.xml', 'svm'), ('pvm-no-vmx.xml', None)])
def test_vmx_and_svm_are_found_in_the_expanded_host_cpu(stored, name, flag):
    # EPYC-Rome carries svm inside the named model, unlisted: only libvirt's expansion (the test driver's CPU map,
    # for real) shows it.
    with Connection('test:///default') as connection:
        host = HostCapabilities.probe(AnswersEveryDomainType(connection.conn, stored('capabilities', name)))
    assert host.virtualization_feature == flag
    assert (host.host_arch, host.emulator, host.domain_capabilities_error) == ('x86_64', '/usr/bin/qemu-system-x86_64',
                                                                               None)


def test_domain_capabilities_that_cannot_be_read_are_said_so(stored):
    class Refuses(AnswersEveryDomainType):
        def getDomainCapabilities(self, *args):  # noqa: N802 - libvirt's name
            import libvirt
            raise libvirt.libvirtError('no domain capabilities here')

    with Connection('test:///default') as connection:
        host = HostCapabilities.probe(Refuses(connection.conn, stored('capabilities', 'tcg-only.xml')))
    assert host.domain_types == frozenset({'qemu'}) and host.net_backends == frozenset()
    assert 'no domain capabilities here' in host.domain_capabilities_error
    assert host.emulator == '/usr/bin/qemu-system-x86_64'  # from the capabilities, then


# A QEMU host's capabilities as libvirt 9.0 and 11.3 write them (trimmed): one <domain> per type the
# emulator can run, 'qemu' where it has TCG, 'kvm' where it can use /dev/kvm (qemu_capabilities.c sets
# both from the same probe of the binary that getDomainCapabilities answers from).
def qemu_host_capabilities(*domain_types):
    return """<capabilities>
  <host><cpu><arch>x86_64</arch><vendor>AMD</vendor></cpu></host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'><emulator>/usr/bin/qemu-system-i386</emulator>%(types)s</arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'><emulator>/usr/bin/qemu-system-x86_64</emulator>%(types)s</arch>
  </guest>
</capabilities>""" % dict(types=''.join("<domain type='%s'/>" % t for t in domain_types))


class AnswersEveryDomainType:
    """libvirt's test driver, with the capabilities XML of another host, and getDomainCapabilities answering
    for any domain type as the test driver does from libvirt 9.8 on (a stub since then; 9.0 has none, so on
    9.0 this stands in for it)."""

    def __init__(self, conn, capabilities):
        self._conn = conn
        self._capabilities = capabilities

    def getCapabilities(self):  # noqa: N802 - libvirt's names
        return self._capabilities

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags=0):  # noqa: N802
        return '<domainCapabilities><domain>%s</domain><arch>%s</arch></domainCapabilities>' % (virttype, arch)

    def __getattr__(self, name):
        return getattr(self._conn, name)


@pytest.mark.parametrize('offered', [('qemu', 'kvm'), ('qemu',), ('kvm',)], ids='+'.join)
def test_domain_types_are_what_the_capabilities_list_however_getdomaincapabilities_answers(offered):
    # A host offers only the types its capabilities list: a QEMU without TCG runs no 'qemu' domain, one that
    # cannot use /dev/kvm no 'kvm' domain, whatever a driver's getDomainCapabilities stub says.
    with Connection('test:///default') as connection:
        conn = AnswersEveryDomainType(connection.conn, qemu_host_capabilities(*offered))
        capabilities = HostCapabilities.probe(conn)
    assert capabilities.domain_types == frozenset(offered)
    assert capabilities.vendor == 'amd'


class ReportsNetworkBackends(AnswersEveryDomainType):
    """As above, with domain capabilities that list the backends of user-mode interfaces, as libvirt 10.6 and
    later do for the QEMU driver."""

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags=0):  # noqa: N802
        return ("<domainCapabilities><domain>%s</domain><devices><interface supported='yes'><enum name='backendType'>"
                "<value>default</value><value>passt</value></enum></interface></devices></domainCapabilities>" % virttype)


ROUTES = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'
DEFAULT_ROUTE = 'eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n'
LINK_ROUTE = 'eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n'


@pytest.mark.parametrize('uri, installed, routes, usable', [
    ('qemu:///system', True, DEFAULT_ROUTE + LINK_ROUTE, True),
    ('qemu:///system', False, DEFAULT_ROUTE, False),  # libvirt finds no passt to start
    ('qemu+ssh://l0/system', True, DEFAULT_ROUTE, False),  # whether the remote host has passt is not known here
    # An L1 on QEMU's restricted user network has no default route: passt would give its guests no address.
    ('qemu:///system', True, LINK_ROUTE, False),
])
def test_passt_is_usable_where_libvirt_lists_it_and_the_host_can_run_it(
        monkeypatch, tmp_path, uri, installed, routes, usable):
    # passt is not installed on this machine: which() stands in for a host that has it or not, a route table file
    # for the host's routes.
    monkeypatch.setattr(_capabilities.shutil, 'which', lambda name, path=None: '/usr/bin/passt' if installed else None)
    (tmp_path / 'route').write_text(ROUTES + routes)
    monkeypatch.setattr(_capabilities, 'ROUTE_TABLE', str(tmp_path / 'route'))
    with Connection('test:///default') as connection:
        conn = ReportsNetworkBackends(connection.conn, qemu_host_capabilities('qemu', 'kvm'))
        conn.getURI = lambda: uri
        capabilities = HostCapabilities.probe(conn)
    assert capabilities.net_backends == frozenset({'default', 'passt'})
    assert capabilities.passt_usable is usable


def test_a_host_without_a_route_table_has_no_default_route(monkeypatch, tmp_path):
    monkeypatch.setattr(_capabilities, 'ROUTE_TABLE', str(tmp_path / 'missing'))
    assert _capabilities._has_ipv4_default_route() is False


def test_without_the_list_passt_is_not_used(monkeypatch):
    monkeypatch.setattr(_capabilities.shutil, 'which', lambda name, path=None: '/usr/bin/passt')
    with Connection('test:///default') as connection:  # its getURI() is test:///default: not QEMU
        capabilities = HostCapabilities.probe(AnswersEveryDomainType(connection.conn, qemu_host_capabilities('qemu')))
    assert capabilities.net_backends == frozenset() and capabilities.passt_usable is False
