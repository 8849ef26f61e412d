"""_host_info.py: kvm_host_info's facts and verdict, on a fake tree (the fake_host fixture, see ../conftest.py) and on this
machine."""

import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _capabilities, _host_info
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpuinfo import read_cpuinfo

UNREACHABLE_URI = 'qemu+tls://127.0.0.1:1/system'  # a URI the collection opens, where nothing listens


# ---------------------------------------------------------------------------------------------------------------
# libvirt


@pytest.mark.parametrize('number, text', [(9000000, '9.0.0'), (7002000, '7.2.0'), (10001002, '10.1.2'),
                                          (None, None)])
def test_format_version(number, text):
    assert _host_info.format_version(number) == text


def test_read_libvirt_test_driver():
    # libvirt's test driver runs in-process: no daemon is needed.
    lv = _host_info.read_libvirt('test:///default')
    assert lv['reachable'] is True and lv['error'] is None
    assert lv['driver'] == 'TEST'
    assert lv['kvm_offered'] is False
    assert lv['version'].count('.') == 2
    # Its guests are i686 ones of domain type test: none of the x86_64 guests the collection defines.
    assert lv['host_arch'] == 'i686' and lv['domain_types'] == [] and lv['emulator'] is None


def test_read_libvirt_unreachable(tmp_path):
    lv = _host_info.read_libvirt(UNREACHABLE_URI)
    assert lv['python_binding'] is True
    assert lv['reachable'] is False and lv['error']


def test_read_libvirt_without_binding(monkeypatch):
    monkeypatch.setattr(_host_info, 'libvirt', None)
    lv = _host_info.read_libvirt('qemu:///system')
    assert lv['python_binding'] is False and lv['reachable'] is False
    assert 'libvirt-python' in lv['error']


class FakeConn(object):
    """A libvirt connection that answers like a QEMU/KVM host (the test driver never offers kvm)."""

    def __init__(self, stored):
        self.stored = stored

    def getLibVersion(self):  # noqa: N802 - libvirt's names
        return 9000000

    def getType(self):  # noqa: N802
        return 'QEMU'

    def getVersion(self):  # noqa: N802
        return 7002000

    def getCapabilities(self):  # noqa: N802
        return self.stored('capabilities', 'amd-kvm.xml')

    def getInfo(self):  # noqa: N802
        return ['x86_64', 16384, 8, 2100, 1, 1, 8, 1]

    def baselineCPU(self, cpus, flags):  # noqa: N802 - the real expansion is tested in test__capabilities.py
        return cpus[0]

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags):  # noqa: N802
        assert (arch, virttype) == ('x86_64', 'kvm')
        return self.stored('domcaps', 'amd-nested.xml')

    def close(self):
        return 0


def test_read_libvirt_qemu_kvm(monkeypatch, stored):
    monkeypatch.setattr(_host_info.libvirt, 'open', lambda uri: FakeConn(stored))
    lv = _host_info.read_libvirt('qemu:///system')
    assert lv['reachable'] is True
    assert lv['version'] == '9.0.0' and lv['hypervisor_version'] == '7.2.0'
    assert lv['host_arch'] == 'x86_64'
    assert lv['domain_types'] == ['kvm', 'qemu'] and lv['kvm_offered'] is True
    assert lv['emulator'] == '/usr/bin/qemu-system-x86_64' and lv['machine'] == 'pc-q35-7.2'
    assert lv['error'] is None
    # libvirt 9.0 lists no backends for user-mode interfaces.
    assert lv['user_network_backends'] == [] and lv['passt_usable'] is False


class OffersPasst(FakeConn):
    """A libvirt 10.6 or later, whose domain capabilities list the backends of user-mode interfaces."""

    def getURI(self):  # noqa: N802
        return 'qemu:///system'

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags):  # noqa: N802
        return super().getDomainCapabilities(emulator, arch, machine, virttype, flags).replace(
            '</domainCapabilities>', "<devices><interface supported='yes'><enum name='backendType'><value>default</value>"
                                     "<value>passt</value></enum></interface></devices></domainCapabilities>")


@pytest.mark.parametrize('installed', [True, False])
def test_read_libvirt_reports_passt_and_whether_it_is_usable(monkeypatch, stored, installed):
    # What the l0_host role installs passt by. which() stands in for a host with and without the binary.
    monkeypatch.setattr(_host_info.libvirt, 'open', lambda uri: OffersPasst(stored))
    monkeypatch.setattr(_capabilities.shutil, 'which', lambda name, path=None: '/usr/bin/passt' if installed else None)
    monkeypatch.setattr(_capabilities, '_has_ipv4_default_route', lambda: True)
    lv = _host_info.read_libvirt('qemu:///system')
    assert lv['user_network_backends'] == ['default', 'passt'] and lv['passt_usable'] is installed


# ---------------------------------------------------------------------------------------------------------------
# facts and verdict


def _kvm_libvirt(uri):
    return dict(uri=uri, python_binding=True, reachable=True, error=None, version='9.0.0', driver='QEMU',
                hypervisor_version='7.2.0', host_arch='x86_64', domain_types=['qemu', 'kvm'], kvm_offered=True,
                emulator='/usr/bin/qemu-system-x86_64', machine='pc-q35-7.2')


@pytest.mark.parametrize('kind, nested, can_nest, virt_type', [
    ('intel', 'Y', True, 'kvm'),
    ('intel', 'N', False, 'kvm'),
    ('amd', '1', True, 'kvm'),
    ('amd', '0', False, 'kvm'),
    ('none', None, False, 'qemu'),
])
def test_gather_host_facts(fake_host, monkeypatch, kind, nested, can_nest, virt_type):
    monkeypatch.setattr(_host_info, 'read_libvirt', _kvm_libvirt)
    fake_host.cpu(kind).users().dev_kvm()
    fake_host.module('kvm')
    if kind != 'none':
        fake_host.module('kvm_intel' if kind == 'intel' else 'kvm_amd', nested=nested)
    facts = _host_info.gather_host_facts('qemu:///system')
    assert facts['can_run_nested_guests'] is can_nest
    assert facts['recommended_virt_type'] == virt_type
    assert facts['nested'] is (None if nested is None else nested in ('Y', '1'))
    assert facts['probable_level'] == 0 and facts['is_virtual_machine'] is False
    assert facts['qemu'] == dict(path='/usr/bin/qemu-system-x86_64', version='7.2.0')
    assert facts['reasons'][-1].startswith('recommended virt_type %s' % virt_type)


@pytest.mark.parametrize('kind, module, param, raw, in_use', [
    ('intel', 'kvm_intel', 'ept', 'Y', True),
    ('intel', 'kvm_intel', 'ept', 'N', False),
    ('amd', 'kvm_amd', 'npt', '1', True),
    ('amd', 'kvm_amd', 'npt', '0', False),
])
def test_second_level_paging_is_what_kvm_uses(fake_host, monkeypatch, kind, module, param, raw, in_use):
    # The CPU offers EPT/NPT in every case; what counts for guests is whether KVM was loaded with it.
    monkeypatch.setattr(_host_info, 'read_libvirt', _kvm_libvirt)
    fake_host.cpu(kind).users().dev_kvm().module('kvm').module(module, nested='Y' if kind == 'intel' else '1',
                                                               **{param: raw})
    facts = _host_info.gather_host_facts('qemu:///system')
    assert facts['second_level_paging'] is True  # the CPU flags
    assert facts['kvm_second_level_paging'] is in_use
    said = [r for r in facts['reasons'] if 'shadow paging' in r]
    if in_use:
        assert said == []
    else:
        assert len(said) == 1 and '%s %s=1' % (module, param) in said[0]


def test_second_level_paging_unknown_while_the_module_is_not_loaded(fake_host, monkeypatch):
    monkeypatch.setattr(_host_info, 'read_libvirt', _kvm_libvirt)
    fake_host.cpu('intel').users().dev_kvm()
    assert _host_info.gather_host_facts('qemu:///system')['kvm_second_level_paging'] is None


def test_verdict_libvirt_without_kvm(fake_host):
    # The test driver offers no domain type kvm: even a perfect host then gets virt_type qemu.
    fake_host.cpu('intel').users().dev_kvm().module('kvm_intel', nested='Y')
    facts = _host_info.gather_host_facts('test:///default')
    assert facts['recommended_virt_type'] == 'qemu' and facts['can_run_nested_guests'] is False
    assert any('does not offer domain type kvm' in r for r in facts['reasons'])


def test_a_qemu_without_tcg_is_recommended_kvm_the_one_type_it_runs(fake_host, monkeypatch):
    # The CPU shows no vmx/svm (PVM), and libvirt's QEMU has no TCG: a domain of type qemu cannot run there at all,
    # so kvm is the answer, as virt_type auto of the domain modules has it (test_one_host_verdict.py).
    monkeypatch.setattr(_host_info, 'read_libvirt', lambda uri: dict(_kvm_libvirt(uri), domain_types=['kvm']))
    fake_host.cpu('none').users().dev_kvm().module('kvm').module('kvm_pvm', builtin=True)
    facts = _host_info.gather_host_facts('qemu:///system')
    assert facts['recommended_virt_type'] == 'kvm' and facts['can_run_nested_guests'] is False
    assert any('offers only domain type kvm' in r for r in facts['reasons'])
    assert not any('until then guests run under QEMU emulation' in r for r in facts['reasons'])
    assert facts['reasons'][-1].startswith('recommended virt_type kvm (the only domain type libvirt offers')


def test_verdict_virtual_machine_and_unusable_kvm(fake_host, tmp_path):
    fake_host.cpu('intel', hypervisor=True).users().dev_kvm(mode=0o600, gid=0).module('kvm_intel', nested='Y')
    fake_host.probe_result = (False, None, 'open(/dev/kvm): Permission denied')
    facts = _host_info.gather_host_facts(UNREACHABLE_URI)
    assert facts['is_virtual_machine'] is True and facts['probable_level'] == 1
    assert facts['recommended_virt_type'] == 'qemu'
    assert facts['qemu_user_can_open_kvm'] is False
    assert any('chmod 0660 /dev/kvm' in r for r in facts['reasons'])
    assert any('not reachable' in r for r in facts['reasons'])


# ---------------------------------------------------------------------------------------------------------------
# this machine, for real (no fake tree)


def test_this_machine_facts():
    facts = _host_info.gather_host_facts('test:///default')
    cpu = read_cpuinfo()
    assert facts['hardware_virtualization'] is cpu.hardware_virtualization
    assert facts['recommended_virt_type'] in ('kvm', 'qemu')
    assert facts['dev_kvm']['present'] is os.path.exists('/dev/kvm')
