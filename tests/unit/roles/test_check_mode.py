"""The stack in check mode on a new site, run for real (ansible-playbook) on libvirt's test:///default driver, from a
controller that has made nothing yet: an L1 play (l1_hypervisor) and an L2 play (l2_guests) go through to the end,
end with their summaries, and write nothing on the controller (no host key directory, key or known_hosts entry).
The L1 that check mode would start is not waited for nor looked into, and an L2 inside it is skipped, saying why;
L2s in an L1 that runs (here the test driver's host itself) are checked.

Check mode because the test driver cannot upload a volume (the cloud-init seed): a real run stops there. su for
become: root becoming root needs no password, and sudo is not installed here.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
GUESTS = {'nk-check-a': 52201, 'nk-check-b': 52202}  # in an L1 that runs: the driver's host
NEW_L1, IN_NEW_L1 = 'nk-check-l1', 'nk-check-c'


@pytest.fixture(scope='module')
def check_run(tmp_path_factory):
    """(the run, the controller's scratch directory, its files before the run)."""
    scratch = tmp_path_factory.mktemp('controller')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(scratch / 'id')], check=True)
    l0 = tmp_path_factory.mktemp('l0')
    (l0 / 'base.qcow2').write_bytes(b'')  # the base image the L1 role is given: l1_domain looks for it
    common = dict(ansible_connection='local', ansible_python_interpreter=sys.executable, ansible_become_method='su')
    keys = dict(host_key_dir=str(scratch / 'keys'), known_hosts_file=str(scratch / 'known_hosts'),
                ssh_private_key_file=str(scratch / 'id'))
    guests = dict((name, dict(ansible_host='127.0.0.1', ansible_port=port)) for name, port in GUESTS.items())
    guests[IN_NEW_L1] = dict(ansible_host='127.0.0.1', ansible_port=52203, l2_guests_l1_host=NEW_L1)
    inventory = {'all': {
        'vars': common,
        'hosts': {'localhost': {}},
        'children': {
            'l1_hypervisors': {'hosts': {NEW_L1: dict(ansible_host='127.0.0.1', ansible_port=52211)}, 'vars': dict(
                l1_hypervisor_l0_host='localhost', l1_hypervisor_libvirt_uri='test:///default',
                l1_hypervisor_pool='default-pool', l1_hypervisor_virt_type='qemu',
                l1_hypervisor_image={'path': str(l0 / 'base.qcow2')}, l1_hypervisor_image_dir=str(l0 / 'images'),
                **dict(('l1_hypervisor_' + key, value) for key, value in keys.items()))},
            'l2_guests': {'hosts': guests, 'vars': dict(
                l2_guests_l1_host='localhost', l2_guests_libvirt_uri='test:///default', l2_guests_pool='default-pool',
                l2_guests_wait_for='none', l2_guests_require_kvm=False,  # the test driver runs no guest, no KVM
                **dict(('l2_guests_' + key, value) for key, value in keys.items()))}}}}
    playbook = tmp_path_factory.mktemp('playbook')
    (playbook / 'inventory.yml').write_text(yaml.safe_dump(inventory, sort_keys=False))  # hosts in this order
    (playbook / 'play.yml').write_text(yaml.safe_dump([
        dict(name='L1 hypervisors', hosts='l1_hypervisors', gather_facts=False, roles=['nestedkvm.stack.l1_hypervisor']),
        dict(name='L2 guests', hosts='l2_guests', gather_facts=False, roles=['nestedkvm.stack.l2_guests'])]))
    before = sorted(os.listdir(scratch))
    run = subprocess.run(['ansible-playbook', '--check', '-i', str(playbook / 'inventory.yml'), str(playbook / 'play.yml')],
                         check=False, capture_output=True, text=True,
                         env={**os.environ, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'})
    return run, scratch, before


def test_the_stack_in_check_mode_on_a_new_site_goes_through_and_writes_nothing(check_run):
    run, scratch, before = check_run
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    for name in [NEW_L1, *GUESTS, IN_NEW_L1]:
        assert '%s ' % name in run.stdout and 'failed=0' in run.stdout.split(name)[-1].splitlines()[0], run.stdout[-3000:]
    assert sorted(os.listdir(scratch)) == before == ['id', 'id.pub']
    for wait in ('Wait until the L1 answers', 'Log in to the L1 over SSH', 'Make the L1 a hypervisor'):
        assert re.search(r'%s[^\n]*\*+\nskipping: \[%s\]' % (wait, NEW_L1), run.stdout), wait
    assert '%s would be started by this run (check mode), so nothing in it can be looked at' % NEW_L1 in run.stdout


def test_the_roles_end_with_one_summary_each(check_run, role_summaries):
    run = check_run[0]
    assert role_summaries(run.stdout) == [
        ['L1 %s: domain %s on localhost (emulated, TCG), ? nested=?, would start (check mode)' % (NEW_L1, NEW_L1),
         '   ssh  -i ~/.ssh/id_ed25519 -p 52211 nestedkvm@127.0.0.1'],
        [line for name, port in GUESTS.items() for line in (
            'L2 %s: domain %s in localhost (linux, qemu), would start (check mode)' % (name, name),
            '   ssh  -i ~/.ssh/id_ed25519 -p %d nestedkvm@127.0.0.1' % port)],
    ]
