"""_loopback_ports.py on a fake tree (the fake_host fixture, see ../conftest.py): /proc/net/tcp and the socket
descriptors of processes as the kernel shows them. The same code on this machine's real /proc, with real sockets and a
process standing in for QEMU, is tested through l1_domain in ../modules/test_host_ports.py."""

import os
import sys

from ansible_collections.nestedkvm.stack.plugins.module_utils import _loopback_ports

HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'


def _tcp_line(n, address, port, state, inode):
    """One line of /proc/net/tcp for an IPv4 ``address``, in the byte order of this machine as the kernel prints it."""
    packed = bytes(int(part) for part in address.split('.'))
    if sys.byteorder == 'little':
        packed = packed[::-1]
    return '%4d: %s:%04X 00000000:0000 %s 00000000:00000000 00:00000000 00000000 0 0 %d 1\n' % (
        n, packed.hex().upper(), port, state, inode)


def test_parse_proc_net_reads_ipv4_and_ipv6_addresses():
    text = ('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
            '   0: 0100007F:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000 64055        0 48752 1\n'
            '   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 '
            '00:00000000 00000000     0        0 107 1\n')
    parsed = _loopback_ports.parse_proc_net(text)
    if sys.byteorder == 'little':
        assert parsed == [('127.0.0.1', 2222, '0A', 48752), ('::1', 8080, '0A', 107)]


def test_who_holds_a_port_on_loopback(fake_host):
    fake_host.write('/proc/net/tcp', HEADER + _tcp_line(0, '127.0.0.1', 2222, '0A', 901)
                    + _tcp_line(1, '0.0.0.0', 8080, '0A', 902)     # a wildcard takes 127.0.0.1's port too
                    + _tcp_line(2, '192.0.2.5', 9090, '0A', 903)    # another address does not
                    + _tcp_line(3, '127.0.0.1', 7070, '01', 904))  # an established connection holds nothing
    fake_host.guest(4242, name='l1-a')
    os.symlink('socket:[901]', fake_host.path('/proc/4242/fd/20'))
    assert _loopback_ports.loopback_port_holders('tcp', 2222) == {4242: 'l1-a'}
    assert _loopback_ports.loopback_port_holders('tcp', 8080) == {None: None}  # no process of ours shows it
    assert _loopback_ports.loopback_port_holders('tcp', 9090) == {}
    assert _loopback_ports.loopback_port_holders('tcp', 7070) == {}
    assert _loopback_ports.loopback_port_holders('udp', 2222) == {}


def test_the_lowest_unprivileged_port(fake_host):
    assert _loopback_ports.unprivileged_port_start() == 1024  # the kernel's default where the file is not there
    fake_host.write(_loopback_ports.UNPRIVILEGED_PORT_START, '80\n')
    assert _loopback_ports.unprivileged_port_start() == 80
