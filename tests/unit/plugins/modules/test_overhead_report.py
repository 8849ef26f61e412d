"""overhead_report in-process: figures measured for real here (tiny samples) stand for an L0, an L1 and an L2; the
report is written, unchanged figures change nothing, check mode and diff say what would be written."""

import json
import os

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._workload import run_workloads
from ansible_collections.nestedkvm.stack.plugins.modules import overhead_report


@pytest.fixture(scope='module')
def measured(tmp_path_factory):
    """Three real runs of the workloads (no disk: quick), one per level."""
    directory = str(tmp_path_factory.mktemp('disk'))
    return [run_workloads(['cpu', 'memory', 'syscall'], 2, 0.003, 1024 * 1024, directory) for level in (0, 1, 2)]


def hosts(measured):
    l0, l1, l2 = measured
    return [
        dict(name='metal-1', level=0, measurement=l0,
             kvm_host=dict(is_virtual_machine=True, hardware_virtualization=False, recommended_virt_type='qemu')),
        dict(name='l1-a', level=1, parent='metal-1', domain='l1-a', measurement=l1),
        dict(name='l2-a', level=2, parent='l1-a', domain='l2-a', measurement=l2,
             exits_before=dict(source='vm', path='/sys/kernel/debug/kvm/1-17', counters=dict(exits=10)),
             exits_after=dict(source='vm', path='/sys/kernel/debug/kvm/1-17', counters=dict(exits=30))),
    ]


def test_writes_the_report_then_changes_nothing(run_module, measured, tmp_path):
    dest = str(tmp_path / 'report')
    first = run_module(overhead_report, dict(dest=dest, hosts=hosts(measured)))
    assert 'failed' not in first, first
    assert first['changed'] is True and 'diff' not in first
    assert first['files'] == dict(json=dest + '/overhead.json', markdown=dest + '/overhead.md', svg=dest + '/overhead.svg')
    with open(first['files']['json']) as written:
        assert json.loads(written.read()) == first['report']
    assert first['summary'][0] == 'metal-1 (L0): baseline, emulated L0 (no VT-x/AMD-V)'
    assert first['summary'][1].startswith('l1-a (L1 on metal-1, qemu): overall ')
    assert any('no native baseline' in note for note in first['notes'])
    assert first['report']['hosts'][2]['exits']['exits'] == 20
    again = run_module(overhead_report, dict(dest=dest, hosts=hosts(measured)), diff=True)
    assert again['changed'] is False and again['diff'] == []


def test_check_mode_and_diff_write_nothing(run_module, measured, tmp_path):
    dest = str(tmp_path / 'report')
    result = run_module(overhead_report, dict(dest=dest, hosts=hosts(measured)), check=True, diff=True)
    assert result['changed'] is True and not os.path.exists(dest)
    expected = [os.path.join(dest, name) for name in ('overhead.json', 'overhead.md', 'overhead.svg')]
    assert [d['after_header'] for d in result['diff']] == expected
    assert result['diff'][1]['before'] == '' and result['diff'][1]['after'].startswith('# Nested KVM overhead report')


@pytest.mark.parametrize('bad_hosts, fragment', [
    ([dict(name='l1-a', level=1)], 'parent'),
    ([dict(name='x', level=3)], 'level'),
    ([dict(name='a', level=0), dict(name='a', level=0)], 'hosts: a is given twice'),
])
def test_bad_hosts_fail_before_anything_is_written(run_module, tmp_path, bad_hosts, fragment):
    result = run_module(overhead_report, dict(dest=str(tmp_path / 'report'), hosts=bad_hosts))
    assert result['failed'] and fragment in result['msg']
    assert not (tmp_path / 'report').exists()


def test_the_report_brings_none_of_the_workload_runner(packed):
    # The report runs on the controller: it shares only the catalog of workloads with the runner (_workload), which
    # AnsiballZ would otherwise pack and a run compile.
    names, _others = packed(overhead_report.__file__)
    assert names == {'_errors', '_overhead_files', '_overhead_markdown', '_overhead_model', '_overhead_notation',
                     '_overhead_summary', '_overhead_svg', '_workload_catalog'}
