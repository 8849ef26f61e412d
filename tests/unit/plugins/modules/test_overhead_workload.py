"""overhead_workload in-process, for real on this machine with tiny samples; check mode runs nothing."""

import pytest
import yaml

from ansible_collections.nestedkvm.stack.plugins.module_utils import _workload
from ansible_collections.nestedkvm.stack.plugins.modules import overhead_workload

TINY = dict(repeats=2, sample_seconds=0.005, memory_region_size='1MiB')


def test_every_workload_for_real(run_module, tmp_path):
    result = run_module(overhead_workload, dict(TINY, disk_dir=str(tmp_path)))
    assert 'failed' not in result, result
    assert result['changed'] is False
    measurement = result['measurement']
    assert list(measurement['workloads']) == list(_workload.WORKLOADS)
    for name, figures in measurement['workloads'].items():
        assert figures['available'] is True, (name, figures['reason'])
        assert len(figures['samples']) == 2 and figures['seconds_per_op'] > 0
    assert measurement['host']['disk_dir'] == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_check_mode_runs_nothing(run_module, monkeypatch):
    monkeypatch.setattr(_workload, 'run_workloads', lambda *args: 1 / 0)
    result = run_module(overhead_workload, TINY, check=True)
    assert result['skipped'] is True and result['changed'] is False and 'measurement' not in result
    # ... so the documentation must not promise check mode support (a full one would measure).
    check_mode = yaml.safe_load(overhead_workload.DOCUMENTATION)['attributes']['check_mode']
    assert check_mode['support'] == 'none'


@pytest.mark.parametrize('bad, option', [
    (dict(disk_dir='/nonexistent/dir'), 'disk_dir'),
    (dict(repeats=0), 'repeats'),
    (dict(sample_seconds=-1), 'sample_seconds'),
    (dict(memory_region_size='lots'), 'memory_region_size'),
    (dict(memory_region_size='-1G'), 'memory_region_size'),
])
def test_bad_input_fails_before_anything_runs(run_module, monkeypatch, bad, option):
    monkeypatch.setattr(_workload, 'run_workloads', lambda *args: 1 / 0)
    result = run_module(overhead_workload, dict(TINY, **bad))
    assert result['failed'] and result['option'] == option and result['msg'].startswith(option + ':'), result


def test_an_unknown_workload_is_refused_by_the_argument_spec(run_module, monkeypatch):
    monkeypatch.setattr(_workload, 'run_workloads', lambda *args: 1 / 0)
    result = run_module(overhead_workload, dict(TINY, workloads=['gpu']))
    assert result['failed'] and 'workloads' in result['msg']
