#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: overhead_workload
short_description: Time small CPU, memory, system call, VM exit and disk workloads on a host
version_added: '0.1.0'
description:
  - Runs the same small workloads on whichever level it is given (an L0 host, an L1 hypervisor, an L2 guest) and
    returns the median time one operation takes, with the spread of the samples, so the levels can be compared.
    M(nestedkvm.stack.overhead_report) turns the figures of several hosts into a report.
  - V(cpu) hashes 1 MiB blocks with SHA-256 (no system calls). V(memory) maps fresh anonymous memory, writes one
    byte per page and unmaps it (a page fault per page, huge pages refused). V(syscall) calls C(getppid) in a
    loop. V(pipe) sends one byte back and forth between two processes (wake-ups). V(cpuid) runs the CPUID
    instruction in a loop of machine code, which leaves any guest for its hypervisor each time (a VM exit); it
    runs in a child process, so a host that refuses executable memory reports it instead of failing. V(disk)
    overwrites 4 KiB blocks of a file in O(disk_dir) with C(O_DSYNC) (each write waits for the disk).
  - How many operations a sample holds is found by a calibration run that takes about O(sample_seconds), so slow
    levels (an L2 under an emulated L0) take no longer to measure; the time per operation does not depend on it.
  - Changes nothing that lasts. The disk workload's file is unlinked as soon as it is open.
  - Needs only Python's standard library on the host.
author:
  - nestedkvm.stack developers (@nestedkvm)
options:
  workloads:
    description: The workloads to run; always run in the order listed in the choices.
    type: list
    elements: str
    choices: [cpu, memory, syscall, pipe, cpuid, disk]
    default: [cpu, memory, syscall, pipe, cpuid, disk]
  repeats:
    description: Timed samples per workload, after the calibration run. Their median is the figure.
    type: int
    default: 5
  sample_seconds:
    description:
      - About how long one sample takes. Each workload takes about O(repeats) + 1 times this.
    type: float
    default: 0.5
  memory_region_size:
    description:
      - Size of the anonymous mapping the V(memory) workload faults in and unmaps, e.g. V(32MiB) (a bare number is
        MiB). A sample is a whole number of such regions.
    type: str
    default: 32MiB
  disk_dir:
    description:
      - Directory of the V(disk) workload's temporary file. On C(tmpfs) it measures memory, not a disk (the result
        names the file system).
    type: path
    default: /var/tmp
attributes:
  check_mode:
    description: Measuring is all it does, so in check mode it is skipped (nothing measured, no RV(measurement)).
    support: none
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Linux. V(cpuid) only on x86-64 (reported as unavailable elsewhere).
    support: full
    platforms: posix
notes:
  - Measure one level at a time. The levels share the same physical CPUs, so a workload running at L0 slows down
    the L1 and L2 measured at the same moment. The role M(nestedkvm.stack.overhead_report) visits hosts one by one.
seealso:
  - module: nestedkvm.stack.overhead_report
  - module: nestedkvm.stack.kvm_exit_stats
'''

EXAMPLES = r'''
- name: Time the workloads here
  nestedkvm.stack.overhead_workload:
  register: here

- name: Only what nesting costs most, briefly
  nestedkvm.stack.overhead_workload:
    workloads: [memory, cpuid]
    repeats: 3
    sample_seconds: 0.2

- name: Time per page fault, in microseconds
  ansible.builtin.debug:
    msg: "{{ (here.measurement.workloads.memory.seconds_per_op * 1e6) | round(3) }} us"
'''

RETURN = r'''
measurement:
  description: The host and each workload's figures. Absent in check mode.
  returned: success
  type: dict
  contains:
    host:
      description:
        - What can change the figures besides nesting. C(kernel), C(python), C(machine), C(cpu_model), C(cpus),
          C(hypervisor_flag) (the CPU says it is a virtual machine), C(clocksource) (C(tsc) and C(kvm-clock) are
          read without leaving a guest), C(disk_dir), C(disk_mount) and C(disk_fstype) (where the disk workload ran).
      type: dict
      sample: {kernel: 6.1.0-18-amd64, python: 3.11.2, cpu_model: AMD EPYC 7763, cpus: 2, clocksource: kvm-clock}
    workloads:
      description:
        - One entry per workload run. C(name), C(unit) (what one operation is), C(available) (false where this
          host cannot run it, with C(reason)), C(ops_per_sample), C(samples) (seconds), C(median), C(min), C(max),
          C(spread) ((max - min) / median) and C(seconds_per_op) (median / ops_per_sample).
      type: dict
      sample:
        memory: {name: memory, unit: page touched, available: true, reason: null, ops_per_sample: 262144,
                 samples: [0.251, 0.248, 0.262], median: 0.251, min: 0.248, max: 0.262, spread: 0.056,
                 seconds_per_op: 9.6e-07}
    settings:
      description: C(repeats), C(sample_seconds) and C(memory_region_bytes) as used.
      type: dict
    started_at:
      description: When the run started, UTC, ISO 8601, by this host's clock.
      type: str
      sample: '2026-11-26T10:15:00Z'
    elapsed_seconds:
      description: Wall time of all the workloads together.
      type: float
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload import run_workloads, settings_from
from ansible_collections.nestedkvm.stack.plugins.module_utils._workload_catalog import WORKLOADS


def main():
    module = AnsibleModule(
        argument_spec=dict(
            workloads=dict(type='list', elements='str', choices=list(WORKLOADS), default=list(WORKLOADS)),
            repeats=dict(type='int', default=5),
            sample_seconds=dict(type='float', default=0.5),
            memory_region_size=dict(type='str', default='32MiB'),
            disk_dir=dict(type='path', default='/var/tmp'),
        ),
        # Measuring is all it does: in check mode Ansible skips it.
        supports_check_mode=False,
    )
    with reported_to(module):
        settings = settings_from(module.params)
        module.exit_json(changed=False, measurement=run_workloads(*settings))


if __name__ == '__main__':
    main()
