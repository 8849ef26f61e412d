"""Fixtures for module tests on libvirt's test driver (test:///default; the ``hypervisor`` fixture is in
tests/unit/plugins/conftest.py)."""

import libvirt
import pytest


@pytest.fixture
def base_image(hypervisor):
    """A 2 GiB qcow2 'cloud image' volume in the test pool, for backing_image."""
    return hypervisor.add_volume('base.qcow2', size='2')


@pytest.fixture
def roomy_host(monkeypatch):
    """The test driver's host has 3 GiB of RAM, less than a windows11 guest needs: report 16 GiB.

    Mocked because no test driver host that size exists in-process (a custom test:///<file> driver
    would, but does not keep its state across the connections of two module runs)."""
    from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities
    probe = HostCapabilities.probe.__func__

    def bigger(cls, conn):
        capabilities = probe(cls, conn)
        capabilities.memory = 16 * 1024 ** 3
        return capabilities

    monkeypatch.setattr(HostCapabilities, 'probe', classmethod(bigger))


@pytest.fixture
def passt_host(monkeypatch, driver_parses_passt):
    """The test driver's host as a libvirt 10.6+ host with passt installed would report it (domain capabilities
    listing the passt backend; passt in PATH). Stood in for: the test driver lists no domain capabilities, and this
    machine has no passt. Skips where the library's parser refuses passt (Debian 12's 9.0 has it disabled):
    `make units` runs these tests on the backports libvirt as well."""
    if not driver_parses_passt:
        pytest.skip("libvirt %d refuses <backend type='passt'/> (Debian 12's 9.0 has passt disabled)"
                    % libvirt.getVersion())
    from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities
    probe = HostCapabilities.probe.__func__

    def with_passt(cls, conn):
        capabilities = probe(cls, conn)
        capabilities.net_backends = frozenset({'default', 'passt'})
        capabilities.passt_ready = True
        return capabilities

    monkeypatch.setattr(HostCapabilities, 'probe', classmethod(with_passt))
