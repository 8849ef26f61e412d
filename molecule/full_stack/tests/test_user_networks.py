"""What libvirt says of each VM's user-mode network, on the host that runs it: the L0 for its L1s, each L1 for its L2s.

For every guest the inventory puts on the host: the backend the module chose, read from the running definition
(libvirt's own interface with the passt backend, or QEMU's netdev in <qemu:commandline>), and libvirt's taint
marks, from the domain's log since its last start ("Domain id=N is tainted: REASON") and from `virsh dominfo`
("Messages: tainted: ..."). Each is printed (the scenario runs pytest with -rP, so the lines are in its output).
libvirt marks custom-argv exactly where the QEMU netdev is in use: never on passt, and always on the netdev (else
this check would not see a taint that is there). Where the host offers passt (and has the IPv4 default route passt
needs), only a restricted network (which passt cannot give) may be on the netdev.
"""

import contextlib
import xml.etree.ElementTree as ET

import pytest

testinfra_hosts = ['ansible://l0_hosts', 'ansible://l1_hypervisors']

QEMU_NS = '{http://libvirt.org/schemas/domain/qemu/1.0}'
# virsh dominfo's text for libvirt's custom-argv taint (virDomainTaintMessage).
CUSTOM_ARGV_MESSAGE = 'custom configuration parameters specified'


def guests_of(host):
    """Domain names of the guests the inventory runs on ``host``: the L1s of an L0, the L2s of an L1."""
    runner = host.backend.ansible_runner
    here = host.backend.host
    own = runner.get_variables(here)
    if here in own['groups'].get('l0_hosts', []):
        group, parent, parent_default, name_var = 'l1_hypervisors', 'l1_hypervisor_l0_host', 'localhost', \
            'l1_hypervisor_domain_name'
    else:
        group, parent, parent_default, name_var = 'l2_guests', 'l2_guests_l1_host', None, 'l2_guests_domain_name'
    names = []
    for guest in own['groups'].get(group, []):
        guest_vars = runner.get_variables(guest)
        if guest_vars.get(parent, parent_default) == here:
            names.append(guest_vars.get(name_var, guest))
    return names


def user_network(definition):
    """(backend, restricted) of the domain's user-mode network, from its live XML; (None, False) without one."""
    domain = ET.fromstring(definition)
    for interface in domain.findall('./devices/interface[@type="user"]'):
        backend = interface.find('backend')
        return ('passt' if backend is not None and backend.get('type') == 'passt' else 'libvirt-default'), False
    args = [arg.get('value', '') for arg in domain.findall('./%scommandline/%sarg' % (QEMU_NS, QEMU_NS))]
    netdevs = [value for flag, value in zip(args, args[1:]) if flag == '-netdev' and value.startswith('user,')]
    if netdevs:
        return 'qemu-commandline', any('restrict=on' in netdev.split(',') for netdev in netdevs)
    return None, False


def taints_since_last_start(log):
    """libvirt's taint reasons in a domain's log, since its last start (the log keeps every start's lines)."""
    since = log.rpartition('starting up')[2]
    return sorted({line.split('is tainted:', 1)[1].strip() for line in since.splitlines() if 'is tainted:' in line})


def dominfo_messages(dominfo):
    """The "Messages:" lines of `virsh dominfo` (virDomainGetMessages: among them a running domain's taints)."""
    lines = dominfo.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith('Messages:')), len(lines))
    return [line.replace('Messages:', '', 1).strip() for line in lines[first:]]


def test_user_networks_are_tainted_only_on_the_qemu_netdev(host):
    guests = guests_of(host)
    if not guests:
        pytest.skip('the inventory runs no guest on %s' % host.backend.host)
    root = contextlib.nullcontext if host.user().name == 'root' else host.sudo
    with root():
        virsh = 'virsh -c qemu:///system '
        # As the modules decide: libvirt lists passt, the binary is there, and the host has an IPv4 default route.
        offers_passt = (host.exists('passt') and '<value>passt</value>' in host.check_output(virsh + 'domcapabilities')
                        and bool(host.check_output('ip -4 route show default').strip()))
        versions = dict(line.split(': ', 1) for line in host.check_output(virsh + 'version --daemon').splitlines()
                        if ': ' in line)
        stack = 'libvirt %s, %s' % (versions.get('Running against daemon'), versions.get('Running hypervisor'))
        for name in guests:
            backend, restricted = user_network(host.check_output(virsh + 'dumpxml %s' % name))
            log = host.check_output('cat /var/log/libvirt/qemu/%s.log' % name)
            taints = taints_since_last_start(log)
            messages = dominfo_messages(host.check_output(virsh + 'dominfo %s' % name))
            print('%s (%s, passt offered: %s): %s: user network on %s%s; log: tainted %s; dominfo: %s' % (
                host.backend.host, stack, offers_passt, name, backend, ' (restrict=on)' if restricted else '',
                ', '.join(taints) or 'never', '; '.join(messages) or 'no messages'))
            if backend == 'passt':
                assert 'custom-argv' not in taints, log[-2000:]
                assert not any(CUSTOM_ARGV_MESSAGE in message for message in messages), messages
            elif backend == 'qemu-commandline':
                assert 'custom-argv' in taints, log[-2000:]
                assert restricted or not offers_passt, '%s: unrestricted, on the netdev, where passt is offered' % name
