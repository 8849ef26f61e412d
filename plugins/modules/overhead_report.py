#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: overhead_report
short_description: Write the nesting overhead report (JSON, Markdown, SVG) from measured L0, L1 and L2 hosts
version_added: '0.1.0'
description:
  - Takes what M(nestedkvm.stack.overhead_workload) measured on each host of a nested stack, with the
    M(nestedkvm.stack.kvm_exit_stats) readings taken around each guest's run, and writes into O(dest)
    C(overhead.json) (everything), C(overhead.md) (tables) and C(overhead.svg) (a bar chart).
  - An L1 or L2 is compared with the L0 its chain starts from, an L2 also with its L1, per workload (median time per
    operation) and overall (geometric mean), next to the typical ranges of the seed (L0 2-5 % against native, L1
    10-15 % against L0, L2 40-70 % against L0). Differences smaller than the samples' spread are marked.
  - Says so where there is no native baseline (the L0 is itself a virtual machine), and labels a chain whose L0 runs
    its L1 under QEMU TCG C(emulated L0) (no VT-x/AMD-V); its L1 figure is then the cost of emulation, not
    nesting.
  - Runs on the controller (delegate it to C(localhost)). A file is written only when its content differs, so the same
    figures give no change.
author:
  - nestedkvm.stack developers (@nestedkvm)
options:
  dest:
    description: Directory of the report's files; made when missing.
    type: path
    required: true
  hosts:
    description: The measured hosts, any order. A host whose parent is missing has no baseline (said in the notes).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Inventory name of the host.
        type: str
        required: true
      level:
        description: V(0) for an L0 host, V(1) for an L1 hypervisor, V(2) for an L2 guest.
        type: int
        required: true
        choices: [0, 1, 2]
      parent:
        description: For an L1 its L0, for an L2 its L1 (inventory names). Required for levels 1 and 2.
        type: str
      domain:
        description: libvirt domain name of an L1 or L2 on its parent.
        type: str
      measurement:
        description: RV(nestedkvm.stack.overhead_workload#module:measurement) of the host; omitted when not measured.
        type: dict
      exits_before:
        description: RV(nestedkvm.stack.kvm_exit_stats#module:kvm_exits) on the parent for this guest, before its run.
        type: dict
      exits_after:
        description: The same, after its run.
        type: dict
      kvm_host:
        description:
          - For an L0, RV(nestedkvm.stack.kvm_host_info#module:kvm_host). Used are C(is_virtual_machine) (no native
            baseline), C(hardware_virtualization) and C(recommended_virt_type).
        type: dict
      hypervisor_record:
        description:
          - For an L1, the C(l1_hypervisor_result) fact the role nestedkvm.stack.l1_hypervisor set; its C(virt_type)
            (V(kvm) or V(qemu)) says how the L1 runs on its L0.
          - Without it, what RV(nestedkvm.stack.kvm_exit_stats#module:kvm_exits.domain_on_kvm) saw of the L1's
            QEMU process decides, else the L0's RV(nestedkvm.stack.kvm_host_info#module:kvm_host.recommended_virt_type).
        type: dict
attributes:
  check_mode:
    description: Reports which files would change, writes nothing.
    support: full
  diff_mode:
    description: The old and new content of each file that changes.
    support: full
  platform:
    description: The controller.
    support: full
    platforms: posix
seealso:
  - module: nestedkvm.stack.overhead_workload
  - module: nestedkvm.stack.kvm_exit_stats
  - module: nestedkvm.stack.kvm_host_info
'''

EXAMPLES = r'''
# The role nestedkvm.stack.overhead_report measures every level and calls this; by hand:
- name: Measure the L0
  nestedkvm.stack.overhead_workload:
  register: l0_run

- name: Measure the L1 (one host at a time, as they share CPUs)
  nestedkvm.stack.overhead_workload:
  delegate_to: lab-l1
  register: l1_run

- name: Write the report
  nestedkvm.stack.overhead_report:
    dest: "{{ playbook_dir }}/overhead-report"
    hosts:
      - {name: localhost, level: 0, measurement: "{{ l0_run.measurement }}"}
      - {name: lab-l1, level: 1, parent: localhost, measurement: "{{ l1_run.measurement }}",
         hypervisor_record: {virt_type: qemu}}
  delegate_to: localhost
  register: report

- name: Show it
  ansible.builtin.debug:
    var: report.summary
'''

RETURN = r'''
files:
  description: The report's files.
  returned: always
  type: dict
  sample: {json: /srv/lab/overhead-report/overhead.json, markdown: /srv/lab/overhead-report/overhead.md,
           svg: /srv/lab/overhead-report/overhead.svg}
  contains:
    json:
      description: Path of C(overhead.json).
      type: str
    markdown:
      description: Path of C(overhead.md).
      type: str
    svg:
      description: Path of C(overhead.svg).
      type: str
summary:
  description: A line per host (its overall overhead against its L0 and the typical range), for the play's output.
  returned: always
  type: list
  elements: str
  sample: ['metal-1 (L0): baseline', 'l1-a (L1 on metal-1, kvm): overall +12.4 % against L0 metal-1 (typical 10-15 %: within)']
notes:
  description: What to keep in mind reading the figures (no native baseline, emulation, unavailable workloads, ...).
  returned: always
  type: list
  elements: str
report:
  description:
    - What C(overhead.json) holds. C(hosts) in chain order, each with C(level), C(parent), C(l0), C(virt_type),
      C(emulated), C(label), C(facts), C(workloads), C(overhead_vs_l0) (per workload C(ratio), C(percent),
      C(within_noise)), C(overall_vs_l0), C(overhead_vs_parent), C(overall_vs_parent), C(typical), C(verdict)
      and C(exits) (C(source), C(counters), C(exits), C(per_second), C(reason)); C(typical_ranges_percent); C(notes).
  returned: always
  type: dict
  contains:
    report:
      description: The report's name, V(nestedkvm.stack overhead report).
      type: str
    version:
      description: Version of the report's layout.
      type: int
    measured_at:
      description: When the first host was measured (ISO 8601), or null.
      type: str
    workloads:
      description: Each workload's C(name) and C(unit), in the report's order.
      type: list
      elements: dict
    hosts:
      description: Each measured host in chain order (L0, then its L1s, then their L2s), with the keys above.
      type: list
      elements: dict
    typical_ranges_percent:
      description: The typical overhead ranges per level the figures are compared with.
      type: dict
    notes:
      description: The same as RV(notes).
      type: list
      elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import reported_to
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_files import render_files, report_paths, write_files
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_model import build_report, check_hosts
from ansible_collections.nestedkvm.stack.plugins.module_utils._overhead_summary import summary_lines


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type='path', required=True),
            hosts=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                level=dict(type='int', required=True, choices=[0, 1, 2]),
                parent=dict(type='str'),
                domain=dict(type='str'),
                measurement=dict(type='dict'),
                exits_before=dict(type='dict'),
                exits_after=dict(type='dict'),
                kvm_host=dict(type='dict'),
                hypervisor_record=dict(type='dict'),
            ), required_if=[('level', 1, ('parent',)), ('level', 2, ('parent',))]),
        ),
        supports_check_mode=True,
    )
    dest = module.params['dest']
    with reported_to(module):
        check_hosts(module.params['hosts'])
        report = build_report(module.params['hosts'])
        changed, diffs = write_files(dest, render_files(report), module.check_mode)
    result = dict(changed=changed, report=report, summary=summary_lines(report), notes=report['notes'],
                  files=report_paths(dest))
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
