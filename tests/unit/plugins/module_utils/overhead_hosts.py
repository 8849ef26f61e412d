"""Hosts for the overhead report's tests (test__overhead_*.py): what overhead_report's ``hosts`` option holds for a
made-up chain of L0, L1 and L2, and the report committed in docs/overhead-report."""

import json
from pathlib import Path

from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import UNITS, WORKLOADS

COMMITTED = Path(__file__).resolve().parents[4] / 'docs' / 'overhead-report'
# Seconds per operation on a made-up L0.
BASE = dict(cpu=5e-4, memory=1e-6, syscall=1.2e-7, pipe=2.5e-6, cpuid=6e-8, disk=1.6e-4)


def measurement(factors=None, spread=0.02, missing=(), unavailable=(), started_at='2026-11-26T10:00:00Z', **facts):
    """What overhead_workload returns, with each workload ``factors[name]`` times as slow as BASE."""
    factors = factors or {}
    workloads = {}
    for name in WORKLOADS:
        if name in missing:
            continue
        if name in unavailable:
            workloads[name] = dict(name=name, unit=UNITS[name], available=False, reason='refused')
            continue
        per_op = BASE[name] * factors.get(name, 1.0)
        median = per_op * 1000
        workloads[name] = dict(name=name, unit=UNITS[name], available=True, reason=None, ops_per_sample=1000,
                               samples=[median] * 3, median=median, min=median * (1 - spread / 2),
                               max=median * (1 + spread / 2), spread=spread, seconds_per_op=per_op)
    host = dict(kernel='6.1.0-18-amd64', python='3.11.2', cpu_model='AMD EPYC 7763', cpus=2, clocksource='kvm-clock',
                disk_dir='/var/tmp', disk_mount='/', disk_fstype='ext4')
    host.update(facts)
    return dict(host=host, workloads=workloads, started_at=started_at, elapsed_seconds=20.0)


def exits(count, path='/sys/kernel/debug/kvm/4242-17', source='vm', **others):
    return dict(source=source, path=path, counters=dict(exits=count, **others), reason=None, domain_on_kvm=True)


BARE_METAL = dict(is_virtual_machine=False, hardware_virtualization=True, recommended_virt_type='kvm')
NO_VT = dict(is_virtual_machine=True, hardware_virtualization=False, recommended_virt_type='qemu')


def chain(l1_factor=1.12, l2_factor=1.5, l1_virt='kvm', l0_facts=None, **l2_extra):
    l2 = dict(name='ubuntu-a', level=2, parent='l1-a', domain='ubuntu-a',
              measurement=measurement(dict((n, l2_factor) for n in WORKLOADS)),
              exits_before=exits(1000, halt_exits=10), exits_after=exits(901000, halt_exits=510))
    l2.update(l2_extra)
    return [
        l2,  # any order: the report puts the chain in order
        dict(name='metal-1', level=0, measurement=measurement(), kvm_host=l0_facts or BARE_METAL),
        dict(name='l1-a', level=1, parent='metal-1', domain='l1-a',
             measurement=measurement(dict((n, l1_factor) for n in WORKLOADS)),
             hypervisor_record=dict(virt_type=l1_virt)),
    ]


def read(path):
    with open(path) as handle:
        return handle.read()


def host(report, name):
    return next(h for h in report['hosts'] if h['name'] == name)


def committed_report():
    return json.loads((COMMITTED / 'overhead.json').read_text())
