"""The catalog of workloads (_workload_catalog): every workload has a unit, and the runner reports each with it."""

from ansible_collections.nestedkvm.stack.plugins.module_utils._workload import run_workloads
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import UNITS, WORKLOADS


def test_each_workload_has_a_unit_and_the_runner_reports_it(tmp_path):
    assert sorted(UNITS) == sorted(WORKLOADS)
    measured = run_workloads(['pipe', 'syscall'], 2, 0.003, 1024 * 1024, str(tmp_path))
    assert [(name, result['unit']) for name, result in measured['workloads'].items()] == [
        ('syscall', UNITS['syscall']), ('pipe', UNITS['pipe'])]  # in the catalog's order
