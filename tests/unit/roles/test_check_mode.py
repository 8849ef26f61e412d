"""The l2_guests role in check mode, run for real (ansible-playbook) on libvirt's test:///default driver, from a
controller that has made nothing yet: it goes through to the end, ends with its summary, and writes nothing on the
controller (no host key directory, key or known_hosts entry).

Check mode because the test driver cannot upload a volume (the cloud-init seed): a real run stops there. su for
become: root becoming root needs no password, and sudo is not installed here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
GUESTS = {'nk-check-a': 52201, 'nk-check-b': 52202}


@pytest.fixture(scope='module')
def check_run(tmp_path_factory):
    """(the run, the controller's scratch directory, its files before the run)."""
    scratch = tmp_path_factory.mktemp('controller')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(scratch / 'id')], check=True)
    common = dict(ansible_connection='local', ansible_python_interpreter=sys.executable, ansible_become_method='su')
    inventory = {'all': {
        'vars': common,
        'hosts': {'localhost': {}},
        'children': {'l2_guests': {
            'hosts': dict((name, dict(ansible_host='127.0.0.1', ansible_port=port)) for name, port in GUESTS.items()),
            'vars': dict(
                l2_guests_l1_host='localhost', l2_guests_libvirt_uri='test:///default', l2_guests_pool='default-pool',
                l2_guests_wait_for='none', l2_guests_require_kvm=False,  # the test driver runs no guest, no KVM
                l2_guests_ssh_private_key_file=str(scratch / 'id'), l2_guests_host_key_dir=str(scratch / 'keys'),
                l2_guests_known_hosts_file=str(scratch / 'known_hosts'))}}}}
    playbook = tmp_path_factory.mktemp('playbook')
    (playbook / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    (playbook / 'play.yml').write_text(yaml.safe_dump([dict(
        name='L2 guests', hosts='l2_guests', gather_facts=False, roles=['nestedkvm.stack.l2_guests'])]))
    before = sorted(os.listdir(scratch))
    run = subprocess.run(['ansible-playbook', '--check', '-i', str(playbook / 'inventory.yml'), str(playbook / 'play.yml')],
                         check=False, capture_output=True, text=True,
                         env={**os.environ, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'})
    return run, scratch, before


def test_l2_guests_in_check_mode_from_a_new_controller_goes_through_and_writes_nothing(check_run):
    run, scratch, before = check_run
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    for name in GUESTS:
        assert '%s ' % name in run.stdout and 'failed=0' in run.stdout.split(name)[-1].splitlines()[0], run.stdout[-3000:]
    assert sorted(os.listdir(scratch)) == before == ['id', 'id.pub']


def test_the_role_ends_with_one_summary_of_its_guests(check_run, role_summaries):
    run = check_run[0]
    assert role_summaries(run.stdout) == [[
        line for name, port in GUESTS.items() for line in (
            'L2 %s: domain %s in localhost (linux, qemu), would start (check mode)' % (name, name),
            '   ssh  -i ~/.ssh/id_ed25519 -p %d nestedkvm@127.0.0.1' % port)]]
