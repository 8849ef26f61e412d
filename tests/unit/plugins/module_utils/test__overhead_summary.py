"""The overhead report in a line per host (_overhead_summary), as the overhead_report role prints it."""

from ansible_collections.nestedkvm.stack.plugins.module_utils import _overhead_model, _overhead_summary
from ansible_collections.nestedkvm.stack.tests.unit.plugins.module_utils.overhead_hosts import chain


def test_summary_lines():
    lines = _overhead_summary.summary_lines(_overhead_model.build_report(chain(l1_virt='qemu')))
    assert lines == [
        'metal-1 (L0): baseline, emulated L0 (TCG chosen although VT-x/AMD-V is present)',
        'l1-a (L1 on metal-1, qemu): overall +12.0 % against L0 metal-1 (typical 10-15 %: not comparable: emulation '
        'cost)',
        'ubuntu-a (L2 on l1-a, KVM in its L1): overall +50.0 % against L0 metal-1 (typical 40-70 %: not comparable: '
        'emulation cost)',
    ]
