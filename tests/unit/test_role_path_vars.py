"""The roles refuse names that end up in file names or known_hosts lines on the controller when they would leave
their directory or their line ('/', '..', a newline): a real ansible-playbook run of the roles on localhost, which
stop in their first task, before anything is made."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_roles_refuse_names_that_leave_their_directory(tmp_path):
    scratch = tmp_path / 'controller'
    scratch.mkdir()
    run = subprocess.run(
        ['ansible-playbook', '-i', 'localhost,', '-e', 'nk_scratch=%s' % scratch,
         str(REPO / 'tests' / 'unit' / 'playbooks' / 'role_path_vars.yml')],
        check=False, capture_output=True, text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'failed=0' in run.stdout and 'rescued=13' in run.stdout, run.stdout
    assert os.listdir(scratch) == []  # no key directory, key or known_hosts file was made
    assert not (tmp_path / 'escape').exists() and not (tmp_path.parent / 'escape').exists()
