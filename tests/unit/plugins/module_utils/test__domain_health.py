"""What a guest is doing (_domain_health.py): libvirt's state and reason on the test driver, the QEMU process and the
console log on a fake host tree (the fake_host fixture of ../conftest.py), and the bounded wait.

Faked, and why: the QEMU process is files under the fake /proc (a real one would need a real guest); the passage of
CPU time between the two readings of /proc/<pid>/stat is made by the replaced sleep, because a real process's CPU
use is not deterministic. SSH servers are real sockets on 127.0.0.1."""

import socket
import threading
import time

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _domain_health
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection, is_local_uri
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_URI


def stat_line(pid, state='R', ticks=(100, 50), threads=7):
    """A /proc/<pid>/stat line with a command name that has a space and parentheses, as a thread name can."""
    fields = [state, '1', str(pid), str(pid), '0', '-1', '4194560', '0', '0', '0', '0', str(ticks[0]), str(ticks[1]),
              '0', '0', '20', '0', str(threads), '0', '1000']
    return '%d (qemu (x) 8) %s\n' % (pid, ' '.join(fields))


def qemu(fake_host, pid, name, **stat):
    fake_host.write('/proc/%d/cmdline' % pid, '\0'.join(
        ['/usr/bin/qemu-system-x86_64', '-name', 'guest=%s,debug-threads=on' % name]) + '\0')
    fake_host.write('/run/libvirt/qemu/%s.pid' % name, '%d' % pid)
    fake_host.write('/proc/%d/stat' % pid, stat_line(pid, **stat))


@pytest.fixture
def connection():
    with Connection(TEST_URI) as opened:
        yield opened


@pytest.fixture
def guest(connection):
    """A running test-driver domain of this test's own (the driver's state outlives a closed connection)."""
    domain = connection.conn.defineXML("<domain type='test'><name>health</name><memory>65536</memory>"
                                       "<os><type>hvm</type></os></domain>")
    domain.create()
    yield 'health'
    if domain.isActive():
        domain.destroy()
    domain.undefine()


@pytest.fixture
def busy_for_a_second(fake_host, monkeypatch):
    """Replaces the CPU sample's sleep: process 4242 uses ``ticks`` more CPU ticks during it."""
    def advance(ticks):
        def sleep(_seconds):
            text = fake_host.read('/proc/4242/stat')
            fields = text[text.rindex(')') + 2:].split()
            busier = (int(fields[11]) + ticks, int(fields[12]))
            fake_host.write('/proc/4242/stat', stat_line(4242, state=fields[0], threads=int(fields[17]), ticks=busier))
        monkeypatch.setattr(_domain_health.time, 'sleep', sleep)
        monkeypatch.setattr(_domain_health.time, 'monotonic', iter(range(0, 10 ** 6)).__next__)
    return advance


@pytest.mark.parametrize('uri, local', [
    ('qemu:///system', True), ('qemu:///session', True), ('qemu+unix:///system', True), ('test:///default', True),
    ('qemu+ssh://root@l0/system', False), ('qemu+tls://l0.example.com/system', False), ('qemu://l0/system', False),
])
def test_is_local_uri(uri, local):
    assert is_local_uri(uri) is local


def test_state_and_reason_as_virsh_names_them(connection, guest):
    domain = connection.domain(guest)
    assert _domain_health.state_of(domain) == ('running', 'booted')
    domain.suspend()
    assert _domain_health.state_of(domain) == ('paused', 'user')
    domain.resume()
    assert _domain_health.state_of(domain) == ('running', 'unpaused')
    domain.destroy()
    assert _domain_health.state_of(domain) == ('shutoff', 'destroyed')


def test_a_spinning_qemu_is_alive_and_busy(fake_host, busy_for_a_second):
    qemu(fake_host, 4242, 'lab-l1', state='R', threads=7)
    busy_for_a_second(160)  # 1.6 s of CPU in a second: both vCPUs of a wedged L1
    assert _domain_health.qemu_process('lab-l1') == dict(pid=4242, alive=True, state='running', cpu_percent=160,
                                                         threads=7)


def test_a_stopped_qemu_uses_no_cpu(fake_host, busy_for_a_second):
    qemu(fake_host, 4242, 'lab-l1', state='T')
    busy_for_a_second(0)
    process = _domain_health.qemu_process('lab-l1')
    assert process['state'] == 'stopped by a signal' and process['cpu_percent'] == 0 and process['alive']


def test_no_qemu_for_a_guest_that_does_not_run_here(fake_host):
    assert _domain_health.qemu_process('lab-l1', sample=0) is None


def test_console_tail_is_the_last_lines_without_control_characters(fake_host):
    noise = ''.join('line %d\r\n' % n for n in range(5000))  # more than the 64 KiB read from the end
    fake_host.write('/var/log/libvirt/qemu/l1-serial.log',
                    noise + '\x1b[0;32m  OK  \x1b[0m] Started ssh.service\r\n\r\n'
                    '[  41.2] Kernel panic - not syncing: Fatal exception in interrupt\r\n')
    assert _domain_health.console_tail('/var/log/libvirt/qemu/l1-serial.log', 3) == [
        'line 4999', '  OK  ] Started ssh.service', '[  41.2] Kernel panic - not syncing: Fatal exception in interrupt']
    assert _domain_health.console_tail('/var/log/libvirt/qemu/missing.log', 3) == []


def test_describe_names_guest_host_state_process_console_and_next_steps():
    status = dict(name='lab-l1', uri='qemu:///system', exists=True, state='running', reason='booted',
                  qemu=dict(pid=4242, alive=True, state='running', cpu_percent=163, threads=7),
                  console_log='/var/log/libvirt/qemu/lab-l1-serial.log', console_tail=['[ 41.2] BUG: soft lockup'])
    text = _domain_health.describe(status, 'localhost')
    for part in ("domain 'lab-l1' on localhost (qemu:///system) is running (booted)", 'QEMU process 4242 is alive',
                 '163 % CPU', '[ 41.2] BUG: soft lockup', 'virsh -c qemu:///system domstate lab-l1 --reason',
                 "qemu-monitor-command lab-l1 --hmp 'info registers -a'"):
        assert part in text
    crashed = dict(status, state='shutoff', reason='crashed', qemu=None, console_tail=[])
    assert 'is shutoff (crashed)' in _domain_health.describe(crashed, 'localhost')
    assert 'does not exist on localhost' in _domain_health.describe(dict(status, exists=False), 'localhost')


def test_domain_status_of_a_remote_uri_reads_no_local_process(connection, guest, fake_host):
    qemu(fake_host, 4242, guest)  # a local process with the same guest name must not be mistaken for it
    status = _domain_health.domain_status(connection, guest, local=False)
    assert status['state'] == 'running' and status['qemu'] is None
    assert _domain_health.domain_status(connection, 'nope', local=True)['exists'] is False


class Listener:
    """A TCP server on 127.0.0.1 that sends ``banner`` (or nothing) to whoever connects."""

    def __init__(self, banner):
        self.banner = banner
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                peer, _addr = self.sock.accept()
            except OSError:
                return
            self.peers.append(peer)
            if self.banner:
                peer.sendall(self.banner)

    def close(self):
        for peer in self.peers:
            peer.close()
        self.sock.close()


@pytest.fixture
def listener():
    made = []

    def make(banner):
        made.append(Listener(banner))
        return made[-1]
    yield make
    for one in made:
        one.close()


def test_wait_is_ready_when_the_ssh_banner_comes(connection, guest, listener):
    server = listener(b'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n')
    assert _domain_health.GuestWait(connection, guest, 'ssh', '127.0.0.1', server.port).run(5)[0] == 'ready'
    assert _domain_health.GuestWait(connection, guest, 'running').run(5)[0] == 'ready'


def test_wait_for_a_port_that_accepts_but_never_speaks_ends_at_its_bound(connection, guest, listener, monkeypatch):
    # What a user-mode forward to a wedged guest looks like: QEMU accepts the connection, nothing answers.
    monkeypatch.setattr(_domain_health.GuestWait, 'PROBE_TIMEOUT', 0.5)
    server = listener(None)
    started = time.monotonic()
    outcome, waited = _domain_health.GuestWait(connection, guest, 'ssh', '127.0.0.1', server.port).run(2)
    assert outcome == 'timeout' and 1.5 <= waited < 4 and time.monotonic() - started < 4


def test_wait_ends_at_once_when_the_guest_stops_or_vanishes(connection, guest, listener):
    server = listener(None)
    connection.domain(guest).destroy()
    assert _domain_health.GuestWait(connection, guest, 'ssh', '127.0.0.1', server.port).run(60)[0] == 'stopped'
    assert _domain_health.GuestWait(connection, 'nope', 'ssh', '127.0.0.1', server.port).run(60)[0] == 'gone'


def test_agent_wait_on_a_guest_without_agent_times_out(connection, guest):
    assert _domain_health.GuestWait(connection, guest, 'agent').run(0.5)[0] == 'timeout'
