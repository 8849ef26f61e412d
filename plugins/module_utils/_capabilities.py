# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host behind a libvirt connection offers guests, read from libvirt once per run (so it works for remote
URIs too): the one capability model that virt_type auto of l1_domain and l2_domain and kvm_host_info (and through
it the roles) all decide from (see _virt_type)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

try:
    import libvirt
except ImportError:  # reported by _connection.require_libraries
    libvirt = None

try:
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    etree = None

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import TEST_URI, is_local_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpu_vendor import vendor_of_libvirt, virtualization_flag
from ansible_collections.nestedkvm.stack.plugins.module_utils._domcaps import read_kvm_nesting

# Every domain the collection defines is an x86_64 hvm guest: what libvirt offers for those is what counts, whatever
# the host's own arch (libvirt's test driver has an i686 host; an aarch64 host offers no KVM for x86_64 guests).
GUEST_ARCH = 'x86_64'
_GUEST = "guest[os_type='hvm']/arch[@name='%s']" % GUEST_ARCH


def _root(xml):
    return etree.fromstring(xml.encode('utf-8') if not isinstance(xml, bytes) else xml)


def parse_capabilities(xml):
    """getCapabilities() XML -> {'host_arch', 'vendor' ('intel', 'amd' or None), 'model' (the host CPU's),
    'domain_types' (set), 'emulator'}, the last two for x86_64 hvm guests.

    The types listed are the ones the driver accepts: QEMU's lists 'qemu' where the binary has TCG and 'kvm' where it
    can use /dev/kvm, from the same probe its getDomainCapabilities answers from. Asking getDomainCapabilities adds
    nothing, and libvirt's test driver (from 9.8 on) answers it for any type (docs/stacks.md)."""
    root = _root(xml)
    return dict(host_arch=root.findtext('host/cpu/arch'),
                vendor=vendor_of_libvirt(root.findtext('host/cpu/vendor')),
                model=root.findtext('host/cpu/model'),
                domain_types=set(root.xpath(_GUEST + '/domain/@type')),
                emulator=next(iter(root.xpath(_GUEST + '/emulator/text()')), None))


def parse_domain_capabilities(xml):
    """getDomainCapabilities() XML -> {'path' (the emulator binary), 'machine' (its default machine type),
    'net_backends' (set: the backends of user-mode interfaces, listed from libvirt 10.6 on)}."""
    root = _root(xml)
    return dict(path=root.findtext('path'), machine=root.findtext('machine'),
                net_backends=set(root.xpath("devices/interface/enum[@name='backendType']/value/text()")))


def _expanded_cpu_features(conn, caps_root):
    # A host CPU shown as a named model lists only features beyond that model; expanding it is the only way to learn
    # whether vmx/svm is there.
    cpu = caps_root.find('host/cpu')
    if cpu is None or cpu.find('model') is None:
        return set()
    try:
        expanded = conn.baselineCPU([etree.tostring(cpu).decode()], libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES)
    except libvirt.libvirtError:
        expanded = etree.tostring(cpu).decode()
    return {f.get('name') for f in _root(expanded).iter('feature') if f.get('policy') in (None, 'require')}


# The host's IPv4 routes: passt gives its guests the host's address and default gateway by DHCP, and no lease at all
# on a host without a default route (measured: passt 0.0~git20250503 in an L1 on QEMU's restricted user network,
# which hands out no router; docs/stacks.md). Its port forwards then lead nowhere.
ROUTE_TABLE = '/proc/net/route'


def _has_ipv4_default_route():
    try:
        with open(ROUTE_TABLE) as routes:
            return any(fields[1:2] == ['00000000'] for fields in (line.split() for line in routes))
    except OSError:
        return False


def _passt_ready(uri):
    """passt can serve a guest on the host behind ``uri``: it is on libvirt's PATH (libvirt starts it when the domain
    starts) and the host has an IPv4 default route. Only known for a local qemu URI."""
    return uri != TEST_URI and is_local_uri(uri) and bool(
        shutil.which('passt', path=os.pathsep.join([os.environ.get('PATH', ''), '/usr/local/bin', '/usr/bin']))
    ) and _has_ipv4_default_route()


class HostCapabilities:
    """What the host behind a connection offers, read from libvirt (works for remote URIs too)."""

    def __init__(self, domain_types, vendor, cpu_features, cpus=None, memory=None, read_kvm_nesting=None,
                 net_backends=(), passt_ready=False, host_arch=None, model=None, emulator=None, machine=None,
                 domain_capabilities_error=None):
        self.domain_types = frozenset(domain_types)  # for x86_64 hvm guests
        # Backends libvirt offers for user-mode interfaces ('default' is QEMU's SLIRP); libvirt lists them in its
        # domain capabilities from 10.6 on, so it is empty before (and for drivers with no domain type).
        self.net_backends = frozenset(net_backends)
        self.passt_ready = passt_ready  # see _passt_ready
        self.vendor = vendor  # 'intel', 'amd' or None
        self.model = model  # the host CPU's model name, None when libvirt names none
        self.cpu_features = frozenset(cpu_features)
        self.cpus = cpus  # logical CPUs of the host, None when unknown
        self.memory = memory  # bytes of RAM of the host, None when unknown
        self.host_arch = host_arch
        self.emulator = emulator  # the QEMU binary for x86_64 guests
        self.machine = machine  # its default machine type, from the domain capabilities
        self.domain_capabilities_error = domain_capabilities_error  # why they could not be read, when they could not
        # Asked only by a domain that needs nesting (another libvirt call): see kvm_nesting.
        self._read_kvm_nesting = read_kvm_nesting
        self._kvm_nesting = None

    @classmethod
    def probe(cls, conn):
        xml = conn.getCapabilities()
        facts = parse_capabilities(xml)
        _model, memory_mib, cpus = conn.getInfo()[:3]
        domcaps, error = dict(path=None, machine=None, net_backends=set()), None
        if facts['domain_types'] & {'kvm', 'qemu'}:
            virt_type = 'kvm' if 'kvm' in facts['domain_types'] else 'qemu'
            try:
                domcaps = parse_domain_capabilities(conn.getDomainCapabilities(None, GUEST_ARCH, None, virt_type, 0))
            except libvirt.libvirtError as exc:
                error = str(exc)
        return cls(facts['domain_types'], facts['vendor'], _expanded_cpu_features(conn, _root(xml)), cpus=cpus,
                   memory=memory_mib * 1024 ** 2, read_kvm_nesting=lambda: read_kvm_nesting(conn),
                   net_backends=domcaps['net_backends'],
                   passt_ready='passt' in domcaps['net_backends'] and _passt_ready(conn.getURI()),
                   host_arch=facts['host_arch'], model=facts['model'], emulator=domcaps['path'] or facts['emulator'],
                   machine=domcaps['machine'], domain_capabilities_error=error)

    @property
    def virtualization_feature(self):
        """'vmx' or 'svm' when the host CPU itself offers hardware virtualization, else None."""
        return virtualization_flag(self.cpu_features)

    @property
    def kvm_nesting(self):
        """Whether KVM here gives guests vmx/svm (_domcaps.read_kvm_nesting); 'offered' is None when unknown."""
        if self._kvm_nesting is None:
            self._kvm_nesting = (self._read_kvm_nesting() if self._read_kvm_nesting else
                                 dict(offered=None, flag=None, vendor=None, model=None, detail='not read'))
        return self._kvm_nesting

    @property
    def passt_usable(self):
        """libvirt can give a user-mode interface the passt backend, with its port forwards (docs/stacks.md)."""
        return 'passt' in self.net_backends and self.passt_ready
