"""The topology inventory plugin on the lab full_stack built (Molecule's verify step, on the controller): a
topology.yml for the local L0 (qemu:///system), then `ansible -m ping` through it, which must reach the L1 and,
through the L1, the L2. Every command is bounded."""

import json
import os
import subprocess

import yaml

CHECKOUT = os.path.join(os.path.dirname(__file__), '..', '..', '..')
LAB = os.path.join(os.environ.get('NESTEDKVM_LAB_DIR', os.path.join(CHECKOUT, '.work')), 'lab')


def run(*command, timeout):
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'))
    assert done.returncode == 0, '%s failed (%d):\n%s\n%s' % (' '.join(command), done.returncode, done.stdout,
                                                              done.stderr)
    assert '[WARNING]: nestedkvm.stack.topology' not in done.stderr, done.stderr
    return done.stdout


def test_the_topology_plugin_reaches_the_l1_and_the_l2(tmp_path):
    config = tmp_path / 'lab.topology.yml'
    config.write_text(yaml.safe_dump(dict(
        plugin='nestedkvm.stack.topology', l0_hosts=[dict(uri='qemu:///system')],
        private_key_file=os.path.join(LAB, 'id_ed25519'), known_hosts_file=os.path.join(LAB, 'known_hosts'),
        connect_timeout=10, timeout=60, compose=dict(ansible_python_interpreter="'/usr/bin/python3'"))))

    listed = json.loads(run('ansible-inventory', '-i', str(config), '--list', timeout=180))
    assert listed['l1_hypervisors']['hosts'] == ['lab-l1'], listed
    assert listed['l2_guests']['hosts'] == ['lab-l2'], listed
    hostvars = listed['_meta']['hostvars']
    assert (hostvars['lab-l1']['ansible_port'], hostvars['lab-l2']['ansible_port']) == (2222, 2223)

    # -T bounds each connection; the keep-alive in the plugin's SSH options ends a session that stops answering.
    pinged = run('ansible', '-i', str(config), '-T', '30', '-o', '-m', 'ansible.builtin.ping',
                 'l1_hypervisors:l2_guests', timeout=300)
    for host in ('lab-l1', 'lab-l2'):
        assert '%s | SUCCESS' % host in pinged and '"ping": "pong"' in pinged, pinged
