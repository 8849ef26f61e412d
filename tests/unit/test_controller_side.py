"""What runs on the controller: as the user running Ansible (become: false), and teardown.yml takes away the host
keys the roles made there."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def tasks_in(items):
    for task in items or ():
        if not isinstance(task, dict):
            continue
        yield task
        for section in ('block', 'rescue', 'always', 'tasks', 'pre_tasks', 'post_tasks', 'handlers'):
            yield from tasks_in(task.get(section))


def test_every_task_on_the_controller_runs_without_become():
    files = sorted(REPO.glob('roles/*/tasks/*.yml')) + sorted(REPO.glob('playbooks/*.yml')) + [REPO / 'site.yml']
    escalated = []
    for path in files:
        for task in tasks_in(yaml.safe_load(path.read_text())):
            if task.get('delegate_to') == 'localhost' and task.get('become') is not False:
                escalated.append('%s: %s' % (path.relative_to(REPO), task.get('name')))
    assert escalated == []


def test_teardown_removes_the_host_keys_made_on_the_controller(tmp_path):
    keys, known_hosts = tmp_path / 'host_keys', tmp_path / 'known_hosts'
    keys.mkdir(mode=0o700)
    for name in ('nk-td-l1', 'nk-td-l1.pub', 'nk-td-l2', 'nk-td-l2.pub', 'someone-else', 'someone-else.pub'):
        (keys / name).write_text('key\n')
    known_hosts.write_text('nk-td-l1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n'
                           'nk-td-l2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n')
    # su: root becoming root needs no password and no sudo (not installed here).
    common = dict(ansible_connection='local', ansible_python_interpreter=sys.executable, ansible_become_method='su')
    inventory = {
        'l1_hypervisors': {'hosts': {'nk-td-l1': dict(
            common, l1_hypervisor_libvirt_uri='test:///default', l1_hypervisor_l0_host='localhost',
            l1_hypervisor_host_key_dir=str(keys), l1_hypervisor_known_hosts_file=str(known_hosts))}},
        'l2_guests': {'hosts': {'nk-td-l2': dict(
            common, l2_guests_libvirt_uri='test:///default', l2_guests_l1_host='localhost',
            l2_guests_host_key_dir=str(keys), l2_guests_known_hosts_file=str(known_hosts))}},
        'ungrouped': {'hosts': {'localhost': common}},
    }
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    run = subprocess.run(['ansible-playbook', '-i', str(tmp_path / 'inventory.yml'), str(REPO / 'playbooks' / 'teardown.yml')],
                         check=False, capture_output=True, text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(os.listdir(keys)) == ['someone-else', 'someone-else.pub']
    assert known_hosts.read_text() == ''
