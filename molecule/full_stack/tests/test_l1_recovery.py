"""The emulated lab's one restart of a failed L1 (l2_guests_restart_emulated_l1, on in inventories/local): while
site.yml boots the L2, the L1's kernel is made to panic (sysrq 'c', the fault docs/known-issues.md counts), and the
play must notice it within its bounds, restart the L1 once, say so and why (its console's panic), bring the L2 up,
and name the restart in its summary.

Slow (an L1 boot and two L2 boots: about 8 minutes here), so it runs only when asked:
`NESTEDKVM_FAULT_TESTS=1 make molecule` (full_stack's verify step). Every wait is bounded."""

import os
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(os.environ.get('NESTEDKVM_FAULT_TESTS') != '1',
                                reason='slow fault test: NESTEDKVM_FAULT_TESTS=1 runs it')

CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
LAB = os.path.join(os.environ.get('NESTEDKVM_LAB_DIR', os.path.join(CHECKOUT, '.work')), 'lab')


def l1(command, timeout=60):
    """``command`` in the lab's L1 over SSH, bounded: (returncode, output); 255 or 124 when the L1 does not answer."""
    ssh = ['ssh', '-i', os.path.join(LAB, 'id_ed25519'), '-o', 'UserKnownHostsFile=' + os.path.join(LAB, 'known_hosts'),
           '-o', 'HostKeyAlias=lab-l1', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
           '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=2',
           '-p', '2222', 'nestedkvm@127.0.0.1', command]
    try:
        done = subprocess.run(ssh, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, ''
    return done.returncode, done.stdout + done.stderr


def test_a_panicking_emulated_l1_is_restarted_once_and_its_l2_comes_up():
    code, output = l1('sudo virsh destroy lab-l2')
    assert code == 0, output
    play = subprocess.Popen(['ansible-playbook', '-i', os.path.join(CHECKOUT, 'inventories', 'local'),
                             os.path.join(CHECKOUT, 'site.yml')],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=CHECKOUT,
                            env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'))
    try:
        # The role starts the L2 after the L1 play (a minute or two); the panic comes while the L2 boots.
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and 'running' not in l1('sudo virsh domstate lab-l2', timeout=30)[1]:
            time.sleep(3)
        assert time.monotonic() < deadline, 'the play did not start the L2 within 900 s'
        time.sleep(15)
        l1('echo c | sudo tee /proc/sysrq-trigger', timeout=20)  # the session ends with the kernel
        output = play.communicate(timeout=2400)[0]
    finally:
        if play.poll() is None:
            play.kill()
    # For the log (-rP): what the play said about the restart.
    print('\n'.join(line for line in output.splitlines() if 'RESTART' in line or 'Kernel panic' in line))
    assert play.returncode == 0, output
    assert 'RESTARTING lab-l1 once' in output and 'Kernel panic' in output, output
    assert 'lab-l1 was RESTARTED once on the way' in output, output  # the role's summary
    code, banner = l1("timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2223 && head -c 4 <&3'")
    assert banner.startswith('SSH-'), banner
