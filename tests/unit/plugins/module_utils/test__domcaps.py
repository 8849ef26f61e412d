"""Nesting as KVM offers it, from stored domain capabilities of KVM hosts (tests/unit/fixtures/domcaps, see its
README) and libvirt's test driver, whose CPU map expands named models for real."""

import os

import libvirt
import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _domcaps

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'domcaps')


def domcaps(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class KvmHostConnection(object):
    """The test driver, answering getDomainCapabilities as a KVM host would (the test driver has no domain
    capabilities, and no KVM host exists here); baselineCPU is the test driver's own."""

    def __init__(self, conn, xml):
        self.conn = conn
        self.xml = xml

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags):  # noqa: N802 - libvirt's name
        assert (arch, virttype) == ('x86_64', 'kvm')
        return self.xml

    def baselineCPU(self, cpus, flags):  # noqa: N802
        return self.conn.baselineCPU(cpus, flags)


@pytest.fixture
def test_driver():
    conn = libvirt.open('test:///default')
    yield conn
    conn.close()


@pytest.mark.parametrize('name, offered, flag, vendor', [
    ('intel-nested.xml', True, 'vmx', 'Intel'),
    ('intel-not-nested.xml', False, 'vmx', 'Intel'),
    ('amd-nested.xml', True, 'svm', 'AMD'),
    ('amd-not-nested.xml', False, 'svm', 'AMD'),
])
def test_read_kvm_nesting(test_driver, name, offered, flag, vendor):
    nesting = _domcaps.read_kvm_nesting(KvmHostConnection(test_driver, domcaps(name)))
    assert (nesting['offered'], nesting['flag'], nesting['vendor']) == (offered, flag, vendor)
    assert nesting['detail'] is None


def test_amd_model_without_svm_listed_needs_the_model_expanded():
    host_model = _domcaps.parse_host_model(domcaps('amd-nested.xml'))
    assert 'svm' not in host_model['features'] and host_model['model'] == 'EPYC-Rome'
    assert _domcaps.nesting_offered(host_model, lambda model, vendor: {'svm', 'sse2'}) is True
    assert _domcaps.nesting_offered(host_model, lambda model, vendor: {'sse2'}) is False
    assert _domcaps.nesting_offered(host_model, lambda model, vendor: None) is None  # cannot tell


class NoDomainCapabilities(object):
    """A libvirt that refuses getDomainCapabilities (older test drivers do; newer ones answer for any type)."""

    def getDomainCapabilities(self, *args):  # noqa: N802 - libvirt's name
        raise libvirt.libvirtError('this function is not supported by the connection driver')


def test_no_domain_capabilities_is_unknown():
    nesting = _domcaps.read_kvm_nesting(NoDomainCapabilities())
    assert nesting['offered'] is None and 'no domain capabilities' in nesting['detail']


def test_host_model_not_supported_is_unknown(test_driver):
    xml = domcaps('intel-nested.xml').replace("<mode name='host-model' supported='yes'>",
                                              "<mode name='host-model' supported='no'>")
    nesting = _domcaps.read_kvm_nesting(KvmHostConnection(test_driver, xml))
    assert nesting['offered'] is None and 'no host-model CPU' in nesting['detail']
