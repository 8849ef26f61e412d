"""What the module tests assume of libvirt's test driver (test:///default), stated once.

The module tests run l1_domain, l2_domain and storage_pool against the test driver of whichever libvirt
the binding loads (`make units` runs them on the machine's libvirt and on a newer one). Its host is not a
QEMU host: when a libvirt release changes what its test driver reports, this test says so, instead of
tests of every module failing for a reason that is not theirs."""

import libvirt

from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities
from ansible_collections.nestedkvm.stack.plugins.module_utils._host_info import format_version

ASSUMED = dict(
    # No x86_64 guest in its capabilities: virt_type kvm and qemu are both accepted, unchecked.
    domain_types=frozenset(),
    # No CPU vendor and no vmx/svm: virt_type auto means emulation (qemu) with an AMD-V (svm) L1 CPU.
    vendor=None,
    virtualization_feature=None,
    # 16 CPUs and 3 GiB of RAM: the limits a spec's vcpus and memory are checked against.
    cpus=16,
    memory=3 * 1024 ** 3,
)


def test_the_test_driver_offers_what_the_module_tests_assume(hypervisor):
    capabilities = HostCapabilities.probe(hypervisor.conn)
    seen = {name: getattr(capabilities, name) for name in ASSUMED}
    changed = {name: (ASSUMED[name], seen[name]) for name in ASSUMED if seen[name] != ASSUMED[name]}
    assert not changed, (
        "libvirt %s's test driver no longer offers what the module tests assume (assumed, now): %s. Adapt "
        "HostCapabilities.probe if real hosts can answer like this too, else the tests that rely on it; "
        "see docs/stacks.md." % (format_version(libvirt.getVersion()), changed))
