"""Host ports of user-mode forwards that this host cannot give the guest are refused before define: a port below
ip_unprivileged_port_start (QEMU runs without the privilege to bind it) or one a process already holds on 127.0.0.1
(or a wildcard address). The domain's own running QEMU (or, on the passt backend, its passt), which holds its
forwards, is not a conflict.

Real parts: this machine's /proc (ip_unprivileged_port_start, /proc/net/tcp,
/proc/<pid>/fd), real sockets on 127.0.0.1 and a real process standing in for a QEMU (an interpreter started under
the name qemu-system-x86_64 with QEMU's -name argument). Stood in for: libvirt's test driver runs no QEMU, so
Connection.runs_qemu_here is made to say what it says for a local qemu:///system."""

import os
import socket
import subprocess
import sys

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _loopback_ports
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection
from ansible_collections.nestedkvm.stack.plugins.modules import l1_domain
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_URI


@pytest.fixture(autouse=True)
def qemu_here(monkeypatch):
    monkeypatch.setattr(Connection, 'runs_qemu_here', property(lambda self: True))


@pytest.fixture
def listener():
    """A TCP socket listening on a free port of 127.0.0.1 (closed after the test)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def fake_qemu(tmp_path):
    """fake_qemu(guest, port): a process named like QEMU, for guest ``guest``, listening on 127.0.0.1:``port``."""
    processes = []
    program = tmp_path / 'qemu-system-x86_64'
    program.symlink_to(sys.executable)

    def start(guest, port):
        code = ('import socket, sys, time\ns = socket.socket()\ns.bind(("127.0.0.1", %d))\ns.listen(1)\n'
                'print("ready", flush=True)\ntime.sleep(60)\n' % port)
        process = subprocess.Popen([str(program), '-c', code, '-name', 'guest=%s,debug-threads=on' % guest],
                                   stdout=subprocess.PIPE)
        processes.append(process)
        assert process.stdout.readline().strip() == b'ready'
        return process.pid

    yield start
    for process in processes:
        process.kill()
        process.wait()


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def args(forwards, **overrides):
    values = dict(name='l1a', uri=TEST_URI, virt_type='qemu', memory='1GiB',
                  networks=[dict(type='network', source='default'), dict(type='user', forwards=forwards)])
    values.update(overrides)
    return values


def host_state(hypervisor):
    return sorted((d.name(), d.XMLDesc(0)) for d in hypervisor.conn.listAllDomains()), hypervisor.volumes()


def test_a_privileged_host_port_is_refused_before_define(run_module, hypervisor):
    lowest = _loopback_ports.unprivileged_port_start()
    if lowest == 0:
        pytest.skip('this host lets every user bind every port (ip_unprivileged_port_start is 0)')
    before = host_state(hypervisor)
    result = run_module(l1_domain, args([dict(host_port=free_port(), guest_port=22),
                                         dict(host_port=lowest - 1, guest_port=80)]))
    assert result.get('failed') and result['option'] == 'networks[1].forwards[1].host_port', result
    assert 'below %d' % lowest in result['msg'] and 'ip_unprivileged_port_start' in result['msg']
    assert host_state(hypervisor) == before


def test_a_host_port_something_listens_on_is_refused_before_define(run_module, hypervisor, listener):
    before = host_state(hypervisor)
    result = run_module(l1_domain, args([dict(host_port=free_port(), guest_port=22),
                                         dict(host_port=listener, guest_port=80)]))
    assert result.get('failed') and result['option'] == 'networks[1].forwards[1].host_port', result
    assert 'pid %d' % os.getpid() in result['msg'] and 'already in use' in result['msg']
    assert host_state(hypervisor) == before


def test_the_domains_own_running_qemu_holding_its_forward_is_no_conflict(run_module, hypervisor, fake_qemu):
    port = free_port()
    first = run_module(l1_domain, args([dict(host_port=port, guest_port=22)]))
    assert first['changed'] and first['state'] == 'running'
    fake_qemu('l1a', port)  # as its QEMU does once started: it holds 127.0.0.1:<port>
    again = run_module(l1_domain, args([dict(host_port=port, guest_port=22)]))
    # Not refused. (It reports a change: the test driver drops the QEMU command-line namespace the forwards
    # live in, so every run puts them back; on a real libvirtd the re-run changes nothing.)
    assert not again.get('failed') and again['state'] == 'running', again


def test_another_guests_qemu_holding_the_port_is_a_conflict(run_module, hypervisor, fake_qemu):
    port = free_port()
    pid = fake_qemu('someone-else', port)
    result = run_module(l1_domain, args([dict(host_port=port, guest_port=22)]))
    assert result.get('failed') and result['option'] == 'networks[1].forwards[0].host_port'
    assert 'pid %d' % pid in result['msg']
    assert hypervisor.domains() == []


@pytest.fixture
def fake_passt(tmp_path):
    """fake_passt(port): a process named passt (as libvirt starts one per passt interface), on 127.0.0.1:``port``."""
    processes = []
    program = tmp_path / 'passt'
    program.symlink_to(sys.executable)

    def start(port):
        code = ('import socket, time\ns = socket.socket()\ns.bind(("127.0.0.1", %d))\ns.listen(1)\n'
                'print("ready", flush=True)\ntime.sleep(60)\n' % port)
        process = subprocess.Popen([str(program), '-c', code], stdout=subprocess.PIPE)
        processes.append(process)
        assert process.stdout.readline().strip() == b'ready'
        return process.pid

    yield start
    for process in processes:
        process.kill()
        process.wait()


def test_the_domains_own_passt_holding_its_forward_is_no_conflict(run_module, hypervisor, passt_host, fake_passt):
    port = free_port()
    first = run_module(l1_domain, args([dict(host_port=port, guest_port=22)]))
    assert first['state'] == 'running' and first['user_network_backend'] == 'passt'
    fake_passt(port)  # as libvirt's passt for the running domain does: it holds 127.0.0.1:<port>
    before = host_state(hypervisor)
    again = run_module(l1_domain, args([dict(host_port=port, guest_port=22)]))
    assert not again.get('failed') and not again['changed'], again
    assert host_state(hypervisor) == before


def test_a_passt_holding_a_port_the_domain_does_not_forward_yet_is_a_conflict(run_module, hypervisor, passt_host,
                                                                              fake_passt):
    port = free_port()
    pid = fake_passt(port)  # another domain's passt
    result = run_module(l1_domain, args([dict(host_port=port, guest_port=22)]))
    assert result.get('failed') and result['option'] == 'networks[1].forwards[0].host_port'
    assert 'pid %d' % pid in result['msg']
    assert hypervisor.domains() == []
