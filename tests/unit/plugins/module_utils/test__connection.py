"""Connection against libvirt's test driver: the per-domain lock, a connection that went away, the domain types
it reads, and the URIs it opens."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _connection
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection, HostCapabilities, validate_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError

pytest.importorskip('libvirt')


def test_a_second_run_on_the_same_domain_waits_then_says_who_holds_it():
    with Connection('test:///default') as first, Connection('test:///default') as second:
        with first.lock('vm1', timeout=5):
            waiting = pytest.raises(NestedKvmError, match="another run has been changing domain 'vm1'")
            with waiting as waited, second.lock('vm1', timeout=1):
                pass
            assert waited.value.details['option'] == 'timeout'
            with second.lock('vm2', timeout=1):  # other domains are not held up
                pass
        with second.lock('vm1', timeout=1):  # released with the block
            pass


def test_a_connection_lost_part_way_is_reported_as_such():
    lost = pytest.raises(NestedKvmError, match=r"lost the connection to libvirt at 'test:///default'.*run again")
    with lost, Connection('test:///default') as connection:
        connection.conn.close()  # as when libvirtd goes away: every later call fails
        connection.conn.getVersion()


def test_other_failures_pass_through_unchanged():
    with pytest.raises(ValueError, match='not about libvirt'), Connection('test:///default'):
        raise ValueError('not about libvirt')


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


@pytest.mark.parametrize('uri', [
    'qemu:///system', 'qemu:///session', 'qemu+unix:///system?mode=direct', 'qemu+ssh://root@l0.example/system',
    'qemu+ssh://l0.example:2222/system?sshauth=agent,privkey&no_tty=1', 'qemu+libssh2://l0/system',
    'qemu+tls://[2001:db8::1]:16514/system', 'qemu://l0.example/system', 'test:///default',
])
def test_the_uris_the_collection_opens_are_accepted(uri):
    assert validate_uri(uri) == uri


@pytest.mark.parametrize('uri, reason', [
    ('test:///etc/shadow', 'names a file'),
    ('test:///default?x=1', 'names a file'),
    ('qemu+ext:///system?command=/usr/bin/id', 'runs a program'),
    ('qemu+ssh://l0/system?netcat=/tmp/nc', 'runs a program (netcat=)'),
    ('qemu+ssh://l0/system?command=/bin/sh', 'runs a program (command=)'),
    ('qemu:///system?socket=/etc/shadow', 'names a file or socket (socket=)'),
    ('qemu+ssh://l0/system?keyfile=/root/.ssh/id_rsa', 'keyfile='),
    ('qemu+libssh://l0/system?known_hosts=/etc/shadow', 'known_hosts='),
    ('qemu+tls://l0/system?pkipath=/etc', 'pkipath='),
    ('qemu+ssh://-oProxyCommand=id/system', 'does not name a host'),
    ('qemu+ssh://l0/system?sshauth=agent;id', 'sshauth='),
    ('qemu+tcp://l0/system', 'unencrypted'),
    ('qemu+unix://l0/system', 'only reaches this one'),
    ('qemu:///embed?root=/var/tmp', '/system or /session'),
    ('xen:///system', 'not a QEMU/KVM URI'),
    ('qemu:///system\n', 'single line'),
    ('qemu:///system?mode=fast', 'mode='),
    ('qemu:///system?tls_priority=NORMAL', 'does not pass'),
    ('qemu+ssh://l0/system#frag', 'fragment'),
])
def test_a_uri_that_names_a_file_runs_a_program_or_is_unsupported_is_refused(uri, reason):
    with pytest.raises(OptionError) as refused:
        validate_uri(uri)
    assert refused.value.details['option'] == 'uri' and refused.value.msg.startswith('uri: ')
    assert reason in refused.value.msg and 'qemu:///system' in refused.value.msg


def test_a_password_in_the_uri_is_refused_without_repeating_it():
    with pytest.raises(OptionError) as refused:
        validate_uri('qemu+ssh://root:hunter2@l0/system')
    assert 'hunter2' not in refused.value.msg and refused.value.details['option'] == 'uri'


class ReportsNetworkBackends(AnswersEveryDomainType):
    """As above, with domain capabilities that list the backends of user-mode interfaces, as libvirt 10.6 and
    later do for the QEMU driver."""

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags=0):  # noqa: N802
        return ("<domainCapabilities><domain>%s</domain><devices><interface supported='yes'><enum name='backendType'>"
                "<value>default</value><value>passt</value></enum></interface></devices></domainCapabilities>" % virttype)


@pytest.mark.parametrize('uri, installed, usable', [
    ('qemu:///system', True, True),
    ('qemu:///system', False, False),  # libvirt finds no passt to start
    ('qemu+ssh://l0/system', True, False),  # whether the remote host has passt is not known here
])
def test_passt_is_usable_where_libvirt_lists_it_and_the_host_has_it(monkeypatch, uri, installed, usable):
    # passt is not installed on this machine: which() stands in for a host that has it or not.
    monkeypatch.setattr(_connection.shutil, 'which', lambda name, path=None: '/usr/bin/passt' if installed else None)
    with Connection('test:///default') as connection:
        conn = ReportsNetworkBackends(connection.conn, qemu_host_capabilities('qemu', 'kvm'))
        conn.getURI = lambda: uri
        capabilities = HostCapabilities.probe(conn)
    assert capabilities.net_backends == frozenset({'default', 'passt'})
    assert capabilities.passt_usable is usable


def test_without_the_list_passt_is_not_used(monkeypatch):
    monkeypatch.setattr(_connection.shutil, 'which', lambda name, path=None: '/usr/bin/passt')
    with Connection('test:///default') as connection:  # its getURI() is test:///default: not QEMU
        capabilities = HostCapabilities.probe(AnswersEveryDomainType(connection.conn, qemu_host_capabilities('qemu')))
    assert capabilities.net_backends == frozenset() and capabilities.passt_usable is False
