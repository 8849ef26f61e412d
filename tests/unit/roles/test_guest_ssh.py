"""The steps l1_hypervisor and l2_guests share (the internal role guest_ssh), each entry point run for real
(ansible-playbook, local connection) on the controller: the host key, the seed and known_hosts (main, trust), base
images copied and downloaded (image; a file:// URL, so no network), the flush, the record, the check and the
removal (absent).
The role runs on the guest levels through those roles in test_check_mode.py and test_role_adopt.py; here each step
is looked at alone, and run twice: the second run changes nothing."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / 'tests' / 'unit' / 'playbooks'


def _run(playbook, scratch, *options):
    run = subprocess.run(['ansible-playbook', *options, '-i', 'localhost,', '-e', 'nk_scratch=%s' % scratch,
                          str(PLAYBOOKS / playbook)],
                         check=False, capture_output=True, text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
    return run.stdout


def test_each_shared_step_on_the_controller(tmp_path):
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(tmp_path / 'id')], check=True)
    (tmp_path / 'served').mkdir()
    (tmp_path / 'served' / 'cloud.qcow2').write_text('an image')
    (tmp_path / 'controller.qcow2').write_text('an image')

    first = _run('guest_ssh.yml', tmp_path, '-v')
    assert 'failed=0' in first and 'rescued=2' in first, first[-4000:]
    keys = tmp_path / 'keys'
    assert oct(keys.stat().st_mode & 0o777) == '0o700'
    assert sorted(os.listdir(keys)) == ['nk-gs', 'nk-gs.pub']
    public = (keys / 'nk-gs.pub').read_text().split()  # type, key, comment (the name)
    assert (tmp_path / 'known_hosts').read_text().split() == ['nk-gs-alias', *public]
    assert sorted(os.listdir(tmp_path / 'images')) == ['cloud.qcow2', 'controller.qcow2']
    # The private host key is in no fact and in no output, even with -v (set_fact prints what it sets).
    body = (keys / 'nk-gs').read_text().splitlines()[1:-1]
    assert [line for line in body if line in first] == []

    again = _run('guest_ssh.yml', tmp_path)
    assert 'changed=0' in again and 'failed=0' in again, again[-4000:]

    (keys / 'someone-else').write_text('key\n')
    with open(tmp_path / 'known_hosts', 'a') as known_hosts:
        known_hosts.write('someone-else %s %s\n' % tuple(public[:2]))
    gone = _run('guest_ssh_absent.yml', tmp_path)
    assert 'failed=0' in gone
    assert sorted(os.listdir(keys)) == ['someone-else']
    assert (tmp_path / 'known_hosts').read_text() == 'someone-else %s %s\n' % tuple(public[:2])
    assert sorted(os.listdir(tmp_path / 'images')) == ['cloud.qcow2', 'controller.qcow2']  # the cached images stay
