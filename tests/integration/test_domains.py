import re
import socket
import subprocess

import pytest

pytestmark = pytest.mark.integration


def test_l1_lifecycle(playbook):
    output = playbook('l1_lifecycle.yml')
    assert re.search(r'failed=0', output)


def test_l2_profiles(playbook):
    playbook('l2_profiles.yml')


def test_two_domains_cannot_claim_one_forwarded_port(playbook):
    playbook('port_conflict.yml')


def test_user_network_backends_forward_loopback_only_and_taint_only_the_qemu_netdev(playbook):
    # Starts a tiny domain twice. On Debian 12's libvirt 9.0 both runs are the QEMU netdev; on libvirt 10.6+ with
    # passt installed the unrestricted one is passt (docs/stacks.md).
    playbook('user_network_backends.yml')


def test_a_host_port_this_host_cannot_give_is_refused_before_define(playbook):
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        playbook('port_unavailable.yml', nk_busy_port=busy.getsockname()[1])


def test_console_passwords_host_keys_and_cloud_init_never_reach_the_output(playbook, tmp_path):
    key = str(tmp_path / 'host_key')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], check=True)
    with open(key) as private:
        secret_lines = private.read().splitlines()[1:-1]  # the base64 body
    output = playbook('secrets.yml', '-vvv', '--diff', nk_host_key=key)
    assert 'Nk7s3Cr' not in output and 'rC3s7kN' not in output
    assert [s for s in ('NkSaltIt', 'NkHashSecretValue', 'NkFileSecretContent', 'NkWifiSecret') if s in output] == []
    assert not [line for line in secret_lines if line in output]
    assert 'graphics_password' in output and 'ssh_host_keys' in output  # the options were there, masked
