"""Secrets given to the domain modules never reach the output of a real ansible-playbook run with -vvv and --diff:
console passwords, SSH host keys, cloud-init user-data (password hashes, files written into the guest) and network
config, also when a plain-text password is refused. Check mode against libvirt's test:///default (no daemon)."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECRETS = ['Nk7s3Cr', 'NkHashSecretValue0123456789', 'saltNkSalt', 'NkFileSecretContent', 'NkWifiSecret'] + [
    'NkPlainSecret%d' % n for n in range(1, 12)]


def test_secrets_never_reach_the_output(tmp_path):
    key = str(tmp_path / 'host_key')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], check=True)
    with open(key) as private:
        key_lines = private.read().splitlines()[1:-1]  # the base64 body
    run = subprocess.run(
        ['ansible-playbook', '-vvv', '--diff', '-i', 'localhost,', '-e', 'nk_host_key=%s' % key,
         str(REPO / 'tests' / 'unit' / 'playbooks' / 'secrets_output.yml')],
        check=False, capture_output=True, text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert 'failed=0' in output and 'user_data' in output and 'network_config' in output  # there, but masked
    assert [secret for secret in SECRETS if secret in output] == []
    assert [line for line in key_lines if line in output] == []
