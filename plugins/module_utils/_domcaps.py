# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether KVM behind a libvirt connection can give its guests VT-x/AMD-V (nesting), read from libvirt's domain
capabilities, so it works for remote URIs as well as local ones.

The host CPU in libvirt's capabilities (getCapabilities) shows vmx/svm whenever the CPU has it, even with
``kvm_intel nested=0``. The host-model CPU in the domain capabilities of domain type kvm is what QEMU on KVM can
offer a guest, and KVM offers vmx/svm only when its nesting is on: that is the answer to "can an L1 here be a
hypervisor". A named model that already contains the flag (libvirt's EPYC models contain svm) carries it unlisted
when offered and as ``policy='disable'`` when not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import libvirt
except ImportError:  # reported by _connection.require_libraries
    libvirt = None

try:
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    etree = None

from ansible_collections.nestedkvm.stack.plugins.module_utils._cpu_vendor import flag_of, vendor_of_libvirt

_ON = ('require', 'force')
_OFF = ('disable', 'forbid')


def parse_host_model(xml):
    """getDomainCapabilities() XML -> {'vendor', 'model', 'features': {name: policy}} of its host-model CPU, or None
    when libvirt does not offer host-model there."""
    root = etree.fromstring(xml.encode('utf-8') if not isinstance(xml, bytes) else xml)
    mode = root.find("cpu/mode[@name='host-model']")
    if mode is None or mode.get('supported') != 'yes':
        return None
    return dict(vendor=mode.findtext('vendor'), model=mode.findtext('model'),
                features=dict((f.get('name'), f.get('policy', 'require')) for f in mode.iter('feature')))


def nesting_offered(host_model, model_features):
    """True/False/None: does this host-model CPU carry its vendor's virtualization flag?

    ``model_features(model, vendor)`` returns the set of features of a named CPU model (None when unknown); it is
    only asked when the flag is not listed either way.
    """
    if host_model is None:
        return None
    flag = flag_of(vendor_of_libvirt(host_model['vendor']))
    if flag is None:
        return None
    policy = host_model['features'].get(flag)
    if policy in _ON:
        return True
    if policy in _OFF:
        return False
    if not host_model['model']:
        return False
    features = model_features(host_model['model'], host_model['vendor'])
    return None if features is None else flag in features


def _model_features(conn, arch):
    def features(model, vendor):
        cpu = etree.Element('cpu')
        etree.SubElement(cpu, 'arch').text = arch
        etree.SubElement(cpu, 'model').text = model
        etree.SubElement(cpu, 'vendor').text = vendor
        try:
            expanded = conn.baselineCPU([etree.tostring(cpu).decode()], libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES)
        except libvirt.libvirtError:
            return None
        return set(etree.fromstring(expanded.encode()).xpath("feature[not(@policy) or @policy='require']/@name"))
    return features


def read_kvm_nesting(conn, arch='x86_64'):
    """What KVM behind ``conn`` offers: {'offered': True/False/None, 'flag': 'vmx'/'svm'/None, 'vendor', 'model',
    'detail'}; ``detail`` says why it is unknown when ``offered`` is None. Never raises for libvirt errors."""
    result = dict(offered=None, flag=None, vendor=None, model=None, detail=None)
    try:
        xml = conn.getDomainCapabilities(None, arch, None, 'kvm', 0)
    except libvirt.libvirtError as exc:
        result['detail'] = 'libvirt gives no domain capabilities for domain type kvm (%s)' % exc.get_error_message()
        return result
    host_model = parse_host_model(xml)
    if host_model is None:
        result['detail'] = "libvirt's domain capabilities offer no host-model CPU for domain type kvm"
        return result
    result.update(flag=flag_of(vendor_of_libvirt(host_model['vendor'])), vendor=host_model['vendor'], model=host_model['model'])
    result['offered'] = nesting_offered(host_model, _model_features(conn, arch))
    if result['offered'] is None:
        result['detail'] = 'the host-model CPU (%s, %s) could not be expanded' % (host_model['vendor'], host_model['model'])
    return result
