"""The summary l1_hypervisor and l2_guests end with (roles/guest_ssh/tasks/summary.yml): what runs where, KVM or
TCG, and how to reach it, once per play, from what the roles recorded. Run for real (ansible-playbook, local
connections) on hosts whose records the inventory gives, as the roles leave them; the roles themselves end with
it (tested on a role run in test_check_mode.py), and site.yml prints nothing of its own.
"""

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
SSH = 'ssh -o HostKeyAlias={0} -i ~/.ssh/id_ed25519 -p 22 nestedkvm@{1}'
L1S = {
    'l1-a': dict(domain='l1-a', l0_host='metal-1', uri='qemu:///system', virt_type='kvm', started_now=True,
                 ssh_ready_seconds=41.2, kvm_module='kvm_intel', nested=True, ssh_command=SSH.format('l1-a', '198.51.100.11')),
    'l1-b': dict(domain='l1-b', l0_host='metal-2', uri='qemu:///system', virt_type='qemu', started_now=False,
                 ssh_ready_seconds=0.4, kvm_module='kvm_amd', nested=True, ssh_command=SSH.format('l1-b', '198.51.100.12')),
}
L2S = {
    'ubuntu-a': dict(domain='ubuntu-a', l1_host='l1-a', profile='ubuntu22.04', virt_type='kvm', started_now=True,
                     boot_seconds=33.0, kernel_says='Hypervisor detected: KVM', console='none',
                     ssh_command=SSH.format('ubuntu-a', '127.0.0.1')),
    'win11-b': dict(domain='win11-b', l1_host='l1-b', profile='windows11', virt_type='kvm', started_now=True,
                    kernel_says='', console='vnc on 127.0.0.1 of l1-b (virsh -c qemu:///system domdisplay win11-b there)',
                    ssh_command=SSH.format('win11-b', '127.0.0.1')),
    'debian-c': dict(domain='debian-c', l1_host='l1-a', profile='linux', virt_type='kvm', started_now=False,
                     kernel_says='', console='none', ssh_command=SSH.format('debian-c', '127.0.0.1')),
}


def _play(name, group):
    return dict(name=name, hosts=group, gather_facts=False, tasks=[{
        'name': 'The roles\' last task', 'ansible.builtin.include_role': {
            'name': 'nestedkvm.stack.guest_ssh', 'tasks_from': 'summary'}}])


def _run(directory, plays, *options):
    (directory / 'play.yml').write_text(yaml.safe_dump(plays))
    run = subprocess.run(['ansible-playbook', *options, '-i', str(directory / 'inventory.yml'), str(directory / 'play.yml')],
                         check=False, capture_output=True, text=True,
                         env={**os.environ, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'})
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    return run.stdout


def test_the_summary_of_each_level_once_per_play(tmp_path, role_summaries):
    machine = dict(ansible_connection='local', ansible_python_interpreter=sys.executable)
    inventory = {'all': {'vars': machine, 'children': {
        'l1_hypervisors': {'hosts': dict((name, dict(l1_hypervisor_result=r)) for name, r in L1S.items())},
        'l2_guests': {'hosts': dict((name, dict(l2_guests_result=r)) for name, r in L2S.items())}}}}
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory, sort_keys=False))  # hosts in this order
    run = _run(tmp_path, [_play('L1 hypervisors', 'l1_hypervisors'), _play('L2 guests', 'l2_guests')])
    checked = _run(tmp_path, [_play('L1 hypervisors', 'l1_hypervisors')], '--check')
    assert role_summaries(run) + role_summaries(checked) == [
        [
            'L1 l1-a: domain l1-a on metal-1 (KVM), kvm_intel nested=True, SSH ready 41.2 s after start',
            '   ' + SSH.format('l1-a', '198.51.100.11'),
            'L1 l1-b: domain l1-b on metal-2 (emulated, TCG), kvm_amd nested=True, already running',
            '   ' + SSH.format('l1-b', '198.51.100.12'),
        ],
        [
            'L2 ubuntu-a: domain ubuntu-a in l1-a (ubuntu22.04, kvm), booted in 33.0 s; Hypervisor detected: KVM',
            '   ' + SSH.format('ubuntu-a', '127.0.0.1'),
            'L2 win11-b: domain win11-b in l1-b (windows11, kvm), started, not waited for',
            '   console: vnc on 127.0.0.1 of l1-b (virsh -c qemu:///system domdisplay win11-b there)',
            'L2 debian-c: domain debian-c in l1-a (linux, kvm), already running',
            '   ' + SSH.format('debian-c', '127.0.0.1'),
        ],
        [
            'L1 l1-a: domain l1-a on metal-1 (KVM), kvm_intel nested=True, would start (check mode)',
            '   ' + SSH.format('l1-a', '198.51.100.11'),
            'L1 l1-b: domain l1-b on metal-2 (emulated, TCG), kvm_amd nested=True, already running',
            '   ' + SSH.format('l1-b', '198.51.100.12'),
        ],
    ]


def _tasks(items):
    for task in items or ():
        yield task
        for section in ('block', 'rescue', 'always', 'tasks', 'roles'):
            yield from _tasks(task.get(section) if isinstance(task, dict) else None)


def test_the_roles_end_with_it_and_site_yml_prints_nothing_of_its_own():
    for role in ('l1_hypervisor', 'l2_guests'):
        last = yaml.safe_load((REPO / 'roles' / role / 'tasks' / 'main.yml').read_text())[-1]
        assert last['ansible.builtin.include_role'] == {'name': 'nestedkvm.stack.guest_ssh', 'tasks_from': 'summary'}
        assert 'when' not in last
    for playbook in (REPO / 'playbooks' / 'site.yml', REPO / 'site.yml'):
        tasks = list(_tasks(yaml.safe_load(playbook.read_text())))
        assert not [t for t in tasks if 'ansible.builtin.debug' in t or 'debug' in t], playbook
