"""The overhead report's content (_overhead_model): comparisons, the virt_type of an L1, VM exits, how a chain is
labelled, the verdicts and the notes."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _overhead_model
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.tests.unit.plugins.module_utils.overhead_hosts import (
    BARE_METAL, NO_VT, chain, exits, host, measurement)


# ---------------------------------------------------------------------------------------------------------------
# Comparisons

def test_compare_per_workload_and_overall_without_cpuid():
    mine = measurement(dict(cpu=1.02, memory=1.5, syscall=1.0, pipe=2.0, cpuid=50, disk=1.1))['workloads']
    per_workload, overall = _overhead_model.compare(mine, measurement()['workloads'])
    assert per_workload['memory']['percent'] == pytest.approx(50)
    assert per_workload['cpuid']['ratio'] == pytest.approx(50)
    assert per_workload['cpu']['within_noise'] is True  # 2 % against two spreads of 2 %
    assert per_workload['memory']['within_noise'] is False
    geometric_mean = (1.02 * 1.5 * 1.0 * 2.0 * 1.1) ** (1 / 5.0)
    assert overall == pytest.approx((geometric_mean - 1) * 100)


def test_compare_skips_what_one_side_lacks():
    mine = measurement(unavailable=('cpuid',), missing=('disk',))['workloads']
    per_workload, overall = _overhead_model.compare(mine, measurement(missing=('pipe',))['workloads'])
    assert per_workload['cpuid'] is None and per_workload['disk'] is None and per_workload['pipe'] is None
    assert overall == pytest.approx(0)


@pytest.mark.parametrize('l1, l0, expected', [
    (dict(hypervisor_record=dict(virt_type='qemu'), exits_before=dict(domain_on_kvm=True)), None,
     ('qemu', 'l1_hypervisor_result')),
    (dict(exits_before=dict(domain_on_kvm=False)), dict(kvm_host=BARE_METAL), ('qemu', "the L1's QEMU process on its L0")),
    (dict(exits_before=dict(domain_on_kvm=True)), None, ('kvm', "the L1's QEMU process on its L0")),
    (dict(exits_before=dict(domain_on_kvm=None)), dict(kvm_host=NO_VT),
     ('qemu', 'kvm_host_info on the L0 (no usable hardware KVM there)')),
    (dict(), dict(kvm_host=BARE_METAL), ('kvm', 'kvm_host_info on the L0 (hardware KVM works there; assumed used)')),
    (dict(), None, (None, 'unknown')),
])
def test_decide_l1_virt_type(l1, l0, expected):
    assert _overhead_model.decide_l1_virt_type(l1, l0) == expected


def test_exit_delta():
    delta = _overhead_model.exit_delta(exits(100, io_exits=1), exits(2100, io_exits=5, halt_exits=3), 10.0)
    assert delta == dict(source='vm', path='/sys/kernel/debug/kvm/4242-17', counters=dict(exits=2000, io_exits=4),
                         exits=2000, per_second=200.0, reason=None)


@pytest.mark.parametrize('before, after, reason', [
    (None, None, 'not counted'),
    (dict(source=None, reason='debugfs is not mounted'), dict(source=None, reason='debugfs is not mounted'),
     'debugfs is not mounted'),
    (exits(1), exits(2, path='/sys/kernel/debug/kvm/999-17'),
     'the counters changed place during the run (/sys/kernel/debug/kvm/4242-17, then /sys/kernel/debug/kvm/999-17): '
     'the guest restarted?'),
])
def test_exit_delta_without_a_figure(before, after, reason):
    delta = _overhead_model.exit_delta(before, after, 10.0)
    assert delta['exits'] is None and delta['reason'] == reason


# ---------------------------------------------------------------------------------------------------------------
# The report

def test_a_hardware_chain():
    report = _overhead_model.build_report(chain())
    assert [(h['name'], h['level'], h['l0']) for h in report['hosts']] == [
        ('metal-1', 0, 'metal-1'), ('l1-a', 1, 'metal-1'), ('ubuntu-a', 2, 'metal-1')]
    l1, l2 = host(report, 'l1-a'), host(report, 'ubuntu-a')
    assert l1['overall_vs_l0'] == pytest.approx(12) and l1['verdict'] == 'within'
    assert l2['overall_vs_l0'] == pytest.approx(50) and l2['verdict'] == 'within'
    assert l2['overall_vs_parent'] == pytest.approx((1.5 / 1.12 - 1) * 100, rel=1e-5)
    assert l2['exits']['exits'] == 900000 and l2['exits']['per_second'] == 45000
    assert not any(h['emulated'] or h['label'] for h in report['hosts'])
    assert report['typical_ranges_percent'] == dict(L0=dict(low=2, high=5, against='native'),
                                                    L1=dict(low=10, high=15, against='L0'),
                                                    L2=dict(low=40, high=70, against='L0'))
    assert report['notes'] == ['metal-1 (L0) is the baseline. The typical 2-5 % of an L0 against native hardware is '
                               'not measured here: that needs a run on the same machine with no hypervisor.']
    assert report['measured_at'] == '2026-11-26T10:00:00Z'


@pytest.mark.parametrize('l1_factor, l2_factor, verdicts', [
    (1.05, 1.2, ('below', 'below')),
    (1.3, 2.0, ('above', 'above')),
])
def test_verdicts_against_the_typical_ranges(l1_factor, l2_factor, verdicts):
    report = _overhead_model.build_report(chain(l1_factor, l2_factor))
    assert (host(report, 'l1-a')['verdict'], host(report, 'ubuntu-a')['verdict']) == verdicts


def test_an_emulated_l0_is_labelled_and_not_held_to_the_nesting_ranges():
    report = _overhead_model.build_report(chain(25.0, 60.0, l1_virt='qemu', l0_facts=NO_VT))
    l0, l1, l2 = report['hosts']
    assert l0['label'] == l1['label'] == l2['label'] == 'emulated L0 (no VT-x/AMD-V)'
    assert l0['emulated'] and l1['emulated'] and l2['emulated']
    assert l1['verdict'] == l2['verdict'] == 'not comparable: emulation cost'
    assert report['notes'][0].startswith('metal-1 (L0) is itself a virtual machine: there is no native baseline')
    assert 'the L1 figures are the cost of emulation, not of nesting' in report['notes'][1]
    assert report['notes'][2].startswith('metal-1: why cpuid is cheap in its L1s and dear in their L2s. Under TCG '
                                         'there is no hardware guest mode to exit from')


def test_tcg_chosen_on_a_host_with_vt_is_labelled_so():
    report = _overhead_model.build_report(chain(l1_virt='qemu'))
    assert host(report, 'metal-1')['label'] == 'emulated L0 (TCG chosen although VT-x/AMD-V is present)'


def test_what_was_not_measured_is_said():
    hosts = chain()
    hosts[0]['measurement'] = None  # check mode, or unreachable
    hosts.append(dict(name='stray', level=1, parent='metal-9', measurement=measurement()))
    hosts[2]['measurement'] = measurement(unavailable=('cpuid',), disk_fstype='tmpfs', disk_dir='/tmp',
                                          clocksource='hpet', python='3.9.2')
    report = _overhead_model.build_report(hosts)
    assert [h['name'] for h in report['hosts']] == ['metal-1', 'l1-a', 'ubuntu-a', 'stray']
    assert host(report, 'ubuntu-a')['overhead_vs_l0'] is None and host(report, 'ubuntu-a')['measured'] is False
    assert host(report, 'stray')['overall_vs_l0'] is None
    notes = report['notes']
    assert 'ubuntu-a: not measured (check mode, or the host was not reachable).' in notes
    assert 'stray (L1): no L0 of its chain was measured, so it has no baseline.' in notes
    assert 'l1-a: cpuid not measured: refused.' in notes
    assert 'l1-a: /tmp is on tmpfs, so the disk figure measures memory, not a disk.' in notes
    assert any(n.startswith('l1-a: clock source hpet') for n in notes)
    assert ("The levels run different Python versions (3.11.2, 3.9.2): some of the difference is theirs, not "
            "nesting's.") in notes
    assert ('stray: how it runs on its L0 (KVM or emulated) is not known: no l1_hypervisor_result, and nothing read '
            'on the L0.') in notes


def test_check_hosts():
    with pytest.raises(OptionError, match='hosts: l1-a is given twice'):
        _overhead_model.check_hosts([*chain(), dict(name='l1-a', level=1, parent='metal-1')])
    with pytest.raises(OptionError, match='hosts: loop is its own parent'):
        _overhead_model.check_hosts([dict(name='loop', level=1, parent='loop')])


def test_floats_are_rounded_so_noise_below_what_is_shown_changes_nothing():
    hosts = chain()
    again = chain()
    again[1]['measurement']['workloads']['cpu']['seconds_per_op'] *= 1 + 1e-9
    assert _overhead_model.build_report(hosts) == _overhead_model.build_report(again)


def test_an_emulated_l0_whose_facts_were_not_read_claims_no_more_than_it_knows():
    hosts = chain(l1_virt='qemu')
    del hosts[1]['kvm_host']
    assert host(_overhead_model.build_report(hosts), 'metal-1')['label'] == 'emulated L0 (its L1 runs under QEMU TCG)'


def test_measured_workloads_are_those_some_host_has_a_figure_of():
    hosts = chain()
    for entry in hosts:
        entry['measurement']['workloads'].pop('cpuid')
    hosts[0]['measurement']['workloads'].pop('disk')
    assert _overhead_model.measured_workloads(_overhead_model.build_report(hosts)) == [
        'cpu', 'memory', 'syscall', 'pipe', 'disk']
