# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One libvirt connection per module run, look-ups that answer None for "not there",
and what the hypervisor behind the URI can offer (domain types, CPU vendor, vmx/svm)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError

try:
    import libvirt
except ImportError:
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    LIBVIRT_IMPORT_ERROR = None
    # libvirt prints every error to stderr as well as raising it; we report errors ourselves.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()
else:
    LXML_IMPORT_ERROR = None

# virErrorNumber values that mean "no such object" rather than a real failure.
_NOT_FOUND = ('VIR_ERR_NO_DOMAIN', 'VIR_ERR_NO_STORAGE_POOL', 'VIR_ERR_NO_STORAGE_VOL', 'VIR_ERR_NO_NETWORK')


def require_libraries():
    """Raise a NestedKvmError that says what to install when libvirt-python or lxml is missing."""
    if libvirt is None:
        raise NestedKvmError(missing_required_lib('libvirt-python'), exception=LIBVIRT_IMPORT_ERROR)
    if etree is None:
        raise NestedKvmError(missing_required_lib('lxml'), exception=LXML_IMPORT_ERROR)


def virtualization_flag(flags):
    """'vmx' (Intel VT-x) or 'svm' (AMD-V) when among a CPU's ``flags``, else None."""
    for name in ('vmx', 'svm'):
        if name in flags:
            return name
    return None


def _is_not_found(exc):
    codes = [getattr(libvirt, name, None) for name in _NOT_FOUND]
    return exc.get_error_code() in codes


class Connection:
    """A libvirt connection opened once and shared by everything one module run does."""

    def __init__(self, uri):
        require_libraries()
        self.uri = uri
        try:
            self.conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise NestedKvmError(
                "uri: libvirt at '%s' does not answer (%s). Check that libvirtd (or virtqemud) runs there, "
                "that this user may use it (root or the libvirt group), and that the URI is spelled right."
                % (uri, exc.get_error_message()), option='uri')
        self._capabilities = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _lookup(self, lookup, *args):
        try:
            return lookup(*args)
        except libvirt.libvirtError as exc:
            if _is_not_found(exc):
                return None
            raise

    def domain(self, name):
        return self._lookup(self.conn.lookupByName, name)

    def pool(self, name):
        return self._lookup(self.conn.storagePoolLookupByName, name)

    def volume_by_path(self, path):
        return self._lookup(self.conn.storageVolLookupByPath, path)

    def network(self, name):
        return self._lookup(self.conn.networkLookupByName, name)

    @property
    def capabilities(self):
        if self._capabilities is None:
            self._capabilities = HostCapabilities.probe(self.conn)
        return self._capabilities


class HostCapabilities:
    """What the host behind a connection offers, read from libvirt (works for remote URIs too)."""

    def __init__(self, domain_types, vendor, cpu_features, cpus=None, memory=None):
        self.domain_types = frozenset(domain_types)
        self.vendor = vendor  # 'intel', 'amd' or None
        self.cpu_features = frozenset(cpu_features)
        self.cpus = cpus  # logical CPUs of the host, None when unknown
        self.memory = memory  # bytes of RAM of the host, None when unknown

    @classmethod
    def probe(cls, conn):
        caps = etree.fromstring(conn.getCapabilities().encode())
        domain_types = set(caps.xpath("/capabilities/guest[arch/@name='x86_64']/arch/domain/@type"))
        if 'kvm' not in domain_types and cls._offers_kvm(conn):
            domain_types.add('kvm')
        vendor = {'Intel': 'intel', 'AMD': 'amd'}.get(caps.findtext('host/cpu/vendor'))
        _model, memory_mib, cpus = conn.getInfo()[:3]
        return cls(domain_types, vendor, cls._expanded_cpu_features(conn, caps), cpus=cpus, memory=memory_mib * 1024 ** 2)

    @staticmethod
    def _offers_kvm(conn):
        try:
            conn.getDomainCapabilities(None, 'x86_64', None, 'kvm')
        except libvirt.libvirtError:
            return False
        return True

    @staticmethod
    def _expanded_cpu_features(conn, caps):
        # A host CPU shown as a named model lists only features beyond that model; expanding it
        # is the only way to learn whether vmx/svm is there.
        cpu = caps.find('host/cpu')
        if cpu is None or cpu.find('model') is None:
            return set()
        try:
            expanded = conn.baselineCPU([etree.tostring(cpu).decode()],
                                        libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES)
        except libvirt.libvirtError:
            expanded = etree.tostring(cpu).decode()
        root = etree.fromstring(expanded.encode())
        return {f.get('name') for f in root.iter('feature') if f.get('policy') in (None, 'require')}

    @property
    def virtualization_feature(self):
        """'vmx' or 'svm' when the host CPU itself offers hardware virtualization, else None."""
        return virtualization_flag(self.cpu_features)

    @property
    def kvm_usable(self):
        return 'kvm' in self.domain_types and self.virtualization_feature is not None
