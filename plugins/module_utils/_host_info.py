# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kvm_host_info's answer: libvirt's view of the host behind a URI, put together with this machine's own facts
(cpuinfo, kernel modules, DMI, /dev/kvm, the QEMU user, /proc) when the URI names this machine, and the verdict on
both (can it run nested guests, which virt_type to use, and why)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import urlsplit

try:
    import libvirt
except ImportError:  # reported by read_libvirt, not a failure
    libvirt = None

try:
    from lxml import etree
except ImportError:  # reported by read_libvirt, not a failure
    etree = None

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection, is_local_uri, validate_uri
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpu_vendor import (
    kvm_module, paging_param, vendor_of_flag, virtualization_flag)
from ansible_collections.nestedkvm.stack.plugins.module_utils._cpuinfo import read_cpuinfo
from ansible_collections.nestedkvm.stack.plugins.module_utils._dev_kvm import read_dev_kvm
from ansible_collections.nestedkvm.stack.plugins.module_utils._dmi import dmi_says_virtual, read_dmi
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, libvirtError
from ansible_collections.nestedkvm.stack.plugins.module_utils._kernel_modules import (
    kvm_modules, read_nested, read_second_level_paging)
from ansible_collections.nestedkvm.stack.plugins.module_utils._procfs import kvm_holders
from ansible_collections.nestedkvm.stack.plugins.module_utils._qemu_user import qemu_user_access
from ansible_collections.nestedkvm.stack.plugins.module_utils._virt_type import (
    HARDWARE, ONLY_KVM, choose_virt_type, recommendation)


# ---------------------------------------------------------------------------------------------------------------
# libvirt: a read-only look at the connection

def format_version(number):
    """libvirt's packed version number (major * 1,000,000 + minor * 1,000 + release) -> 'major.minor.release'."""
    if number is None:
        return None
    return '%d.%d.%d' % (number // 1000000, (number // 1000) % 1000, number % 1000)


def read_libvirt(uri, hypervisor=False):
    """What libvirt at ``uri`` offers. A missing binding or an unreachable daemon is reported; a URI the
    collection refuses (see _connection.validate_uri) is the user's to fix and raises an OptionError.

    With ``hypervisor``, also what libvirt says of the host it runs on (``read_hypervisor``), on the same connection.
    """
    validate_uri(uri)
    result = dict(uri=uri, python_binding=libvirt is not None, reachable=False, error=None, version=None,
                  driver=None, hypervisor_version=None, host_arch=None, domain_types=[], kvm_offered=False,
                  emulator=None, machine=None, user_network_backends=[], passt_usable=False)
    if hypervisor:
        result['hypervisor'] = None
    if libvirt is None:
        result['error'] = 'the libvirt Python binding (libvirt-python / python3-libvirt) is not installed'
        return result
    if etree is None:
        result['error'] = 'the lxml Python library (python3-lxml) is not installed'
        return result
    try:
        connection = Connection(uri)
    except NestedKvmError as exc:
        result['error'] = exc.msg
        return result
    conn = connection.conn
    try:
        result['reachable'] = True
        result['version'] = format_version(conn.getLibVersion())
        result['driver'] = conn.getType()
        result['hypervisor_version'] = format_version(conn.getVersion())
        host = connection.capabilities
        result.update(host_arch=host.host_arch, domain_types=sorted(host.domain_types),
                      kvm_offered='kvm' in host.domain_types, emulator=host.emulator, machine=host.machine,
                      user_network_backends=sorted(host.net_backends), passt_usable=host.passt_usable)
        if host.domain_capabilities_error:
            result['error'] = 'domain capabilities: %s' % host.domain_capabilities_error
        if hypervisor:
            result['hypervisor'] = read_hypervisor(connection)
    except libvirtError as exc:
        result['error'] = str(exc)
    finally:
        try:
            connection.close()
        except libvirtError:
            pass
    return result


def parse_sysinfo(xml):
    """getSysinfo() XML (the host's SMBIOS) -> {'sys_vendor', 'product_name'}, as /sys/class/dmi/id names them."""
    root = etree.fromstring(xml.encode('utf-8') if not isinstance(xml, bytes) else xml)
    return dict(sys_vendor=root.findtext("system/entry[@name='manufacturer']"),
                product_name=root.findtext("system/entry[@name='product']"))


def read_hypervisor(connection):
    """The host behind ``connection`` as libvirt alone describes it: CPU vendor, model and (expanded) features, what
    KVM there offers guests (nesting), and its SMBIOS. Works the same for remote URIs."""
    host = connection.capabilities
    try:
        dmi = parse_sysinfo(connection.conn.getSysinfo(0))
    except libvirtError:
        dmi = dict(sys_vendor=None, product_name=None)
    if 'kvm' in host.domain_types:
        nesting = host.kvm_nesting
    else:
        nesting = dict(offered=None, detail='libvirt does not offer domain type kvm')
    return dict(vendor=host.vendor, model=host.model, features=sorted(host.cpu_features),
                nesting=nesting, dmi=dmi)


# ---------------------------------------------------------------------------------------------------------------
# Putting it together: the facts of kvm_host_info and their verdict

# What only the machine the module runs on can tell (its /proc, /sys, /dev/kvm, /etc): unknown when the facts come
# from libvirt alone.
LOCAL_ONLY_FACTS = ('cpu_vendor_id', 'cpu_emulated', 'kvm_modules', 'kvm_second_level_paging', 'dev_kvm', 'kvm_users',
                    'qemu_user', 'qemu_user_can_open_kvm', 'qemu_user_hint', 'dev_kvm_owner', 'dev_kvm_group',
                    'dev_kvm_mode')


# The model name QEMU gives the CPU it emulates (TCG, -cpu max or host-model): this host is a VM run without
# hardware virtualization one level down, where some kernel features misbehave (docs/known-issues.md).
TCG_CPU_MODEL = 'QEMU TCG CPU'

LOOPBACK_NAMES = ('localhost', '127.0.0.1', '::1')


def facts_source(uri, host_facts):
    """'local' (this machine's /proc, /sys, /dev/kvm and /etc, plus libvirt) or 'libvirt' (libvirt alone).

    A URI that names another host always gets 'libvirt': this machine's files describe a different machine than the
    libvirt that answers. ``host_facts='libvirt'`` asks for it with a local URI too (e.g. test:///default, whose
    host is not this machine either)."""
    local = is_local_uri(uri) or urlsplit(uri).hostname in LOOPBACK_NAMES  # qemu+ssh://localhost/ is this machine
    return 'libvirt' if host_facts == 'libvirt' or not local else 'local'


def gather_host_facts(uri, host_facts='auto'):
    """Everything kvm_host_info returns, as one dict."""
    if facts_source(uri, host_facts) == 'libvirt':
        return gather_libvirt_facts(uri)
    cpu = read_cpuinfo()
    vendor_module = kvm_module(cpu.virt_vendor)
    dmi = read_dmi()
    dmi_virtual = dmi_says_virtual(dmi)
    is_vm = bool(cpu.hypervisor or dmi_virtual)
    dev_kvm = read_dev_kvm()
    access = qemu_user_access()
    lv = read_libvirt(uri)
    facts = dict(
        cpu_vendor=cpu.vendor,
        cpu_vendor_id=cpu.vendor_id,
        cpu_model=cpu.model_name,
        cpu_emulated=TCG_CPU_MODEL in (cpu.model_name or ''),
        hardware_virtualization=cpu.hardware_virtualization,
        virtualization_flag=cpu.virt_flag,
        ept=cpu.ept,
        npt=cpu.npt,
        second_level_paging=cpu.ept or cpu.npt,
        hypervisor_flag=cpu.hypervisor,
        dmi=dmi,
        is_virtual_machine=is_vm,
        probable_level=1 if is_vm else 0,
        kvm_modules=kvm_modules(),
        kvm_module=vendor_module,
        nested=read_nested(vendor_module) if vendor_module else None,
        kvm_second_level_paging=read_second_level_paging(vendor_module) if vendor_module else None,
        dev_kvm=dev_kvm,
        kvm_users=kvm_holders() if dev_kvm['present'] else [],
        qemu_user=access['user'],
        qemu_user_can_open_kvm=access['can_open'],
        qemu_user_hint=access['hint'],
        dev_kvm_owner=access['device_owner'],
        dev_kvm_group=access['device_group'],
        dev_kvm_mode=access['device_mode'],
        libvirt=lv,
        qemu=dict(path=lv['emulator'],
                  version=lv['hypervisor_version'] if lv['driver'] == 'QEMU' else None),
        facts_source='local',
        unknown_facts=[],
    )
    facts.update(verdict(facts))
    return facts


def gather_libvirt_facts(uri):
    """kvm_host_info's facts from libvirt alone (the host behind a remote URI): nothing is read on this machine, and
    what only the host itself could tell is null and listed in unknown_facts."""
    lv = read_libvirt(uri, hypervisor=True)
    hypervisor = lv.pop('hypervisor') or dict(vendor=None, model=None, features=[],
                                              nesting=dict(offered=None, detail='libvirt is not reachable'),
                                              dmi=dict(sys_vendor=None, product_name=None))
    features = set(hypervisor['features'])
    flag = virtualization_flag(features)
    vendor = vendor_of_flag(flag) or hypervisor['vendor']
    dmi_virtual = dmi_says_virtual(hypervisor['dmi'])
    is_vm = bool('hypervisor' in features or dmi_virtual)
    npt = 'svm' in features and 'npt' in features
    facts = dict((name, None) for name in LOCAL_ONLY_FACTS)
    facts.update(
        cpu_vendor=vendor or 'unknown',
        cpu_model=hypervisor['model'],
        hardware_virtualization=flag is not None,
        virtualization_flag=flag,
        # libvirt's CPU map names no EPT feature: unknown on Intel.
        ept=None if flag == 'vmx' else False,
        npt=npt,
        second_level_paging=True if npt else (None if flag == 'vmx' else False),
        hypervisor_flag='hypervisor' in features,
        dmi=hypervisor['dmi'],
        is_virtual_machine=is_vm,
        probable_level=1 if is_vm else 0,
        kvm_module=kvm_module(vendor) if flag else None,
        nested=hypervisor['nesting']['offered'],
        nesting_detail=hypervisor['nesting'].get('detail'),
        libvirt=lv,
        qemu=dict(path=lv['emulator'], version=lv['hypervisor_version'] if lv['driver'] == 'QEMU' else None),
        facts_source='libvirt',
        unknown_facts=list(LOCAL_ONLY_FACTS) + (['ept'] if flag == 'vmx' else []) + (
            ['nested'] if hypervisor['nesting']['offered'] is None else []),
    )
    facts.update(libvirt_verdict(facts))
    return facts


def _offered(lv):
    """What libvirt offers for x86_64 guests as choose_virt_type takes it: None when libvirt could not be asked."""
    return set(lv['domain_types']) if lv['reachable'] else None


def _only_kvm(lv):
    return ('libvirt at %s offers only domain type kvm (its QEMU has no TCG emulation): guests run on KVM there, the '
            'one type it can run' % lv['uri'])


def libvirt_verdict(facts):
    """The verdict from libvirt's answers alone (choose_virt_type without this machine's /dev/kvm), and nesting as
    its domain capabilities show it."""
    lv = facts['libvirt']
    choice = choose_virt_type(_offered(lv), facts['virtualization_flag'])
    reasons = ['judged from libvirt at %s alone (the host behind the URI, not this machine); unknown: %s'
               % (lv['uri'], ', '.join(facts['unknown_facts']))]
    if not lv['reachable']:
        reasons.append('libvirt at %s is not reachable (%s)' % (lv['uri'], lv['error']))
    hw = facts['hardware_virtualization']
    if hw:
        reasons.append('the CPU offers hardware virtualization (%s)' % facts['virtualization_flag'])
    elif lv['reachable']:
        reasons.append('libvirt shows a host CPU with neither vmx (Intel VT-x) nor svm (AMD-V)%s'
                       % (': guests there run under QEMU emulation (virt_type qemu)' if choice.virt_type == 'qemu'
                          else ''))
    can_kvm = choice.why == HARDWARE
    if hw and not lv['kvm_offered']:
        reasons.append('libvirt at %s does not offer domain type kvm (no usable /dev/kvm there?)' % lv['uri'])
    if choice.why == ONLY_KVM:
        reasons.append(_only_kvm(lv))
    nested = facts['nested']
    if can_kvm:
        if nested is None:
            reasons.append('nesting is unknown: %s' % facts['nesting_detail'])
        elif nested:
            reasons.append("KVM there gives guests %s (libvirt's domain capabilities): nesting is on"
                           % facts['virtualization_flag'])
        else:
            reasons.append("KVM there does not give guests %s (libvirt's domain capabilities): nesting is off in %s; "
                           "use nestedkvm.stack.kvm_nested_param on that host"
                           % (facts['virtualization_flag'], facts['kvm_module']))
    reasons.append(recommendation(choice))
    return dict(can_run_nested_guests=bool(can_kvm and nested), recommended_virt_type=choice.virt_type,
                reasons=reasons)


def verdict(facts):
    """can_run_nested_guests, recommended_virt_type and the reasons for both, from the facts above: choose_virt_type
    with this machine's CPU flag and /dev/kvm, and nesting as the vendor module has it."""
    reasons = []
    hw = facts['hardware_virtualization']
    dev = facts['dev_kvm']
    lv = facts['libvirt']
    choice = choose_virt_type(_offered(lv), facts['virtualization_flag'], dev['usable'])
    modules = [m['name'] for m in facts['kvm_modules']]
    if hw:
        reasons.append('the CPU offers hardware virtualization (%s)' % facts['virtualization_flag'])
        if not facts['second_level_paging']:
            reasons.append('the CPU lacks second-level paging (EPT/NPT): KVM works, but slowly')
        elif facts['kvm_second_level_paging'] is False:
            param = paging_param(facts['kvm_module'])
            reasons.append('%s runs with its %s parameter off although the CPU has %s: KVM uses shadow paging, so '
                           'guests and their nested guests run slowly; reload it with %s %s=1 (and drop %s=0 from '
                           'modprobe.d or the kernel command line)'
                           % (facts['kvm_module'], param, param.upper(), facts['kvm_module'], param, param))
    else:
        where = 'this virtual machine' if facts['is_virtual_machine'] else 'this host'
        reasons.append(
            'the CPU of %s offers neither vmx (Intel VT-x) nor svm (AMD-V): enable it in the firmware, or on a '
            'virtual machine enable nested virtualization on its host%s'
            % (where, '; until then guests run under QEMU emulation (virt_type qemu)' if choice.virt_type == 'qemu'
               else ''))
    if 'kvm_pvm' in modules:
        reasons.append('kvm_pvm is loaded: /dev/kvm is PVM (paravirtual KVM without vmx/svm), which stock guest '
                       'kernels and -cpu host do not run under')
    if not dev['present']:
        reasons.append('/dev/kvm does not exist')
    elif not dev['usable']:
        reasons.append('/dev/kvm is not usable: %s' % dev['error'])
    if dev['present'] and facts['qemu_user_can_open_kvm'] is False:
        reasons.append(facts['qemu_user_hint'])
    nested = facts['nested']
    if hw:
        if nested is None:
            reasons.append('%s is not loaded, so nesting is unknown' % facts['kvm_module'])
        elif nested:
            reasons.append('nested virtualization is enabled in %s' % facts['kvm_module'])
        else:
            reasons.append('nested virtualization is disabled in %s: use nestedkvm.stack.kvm_nested_param'
                           % facts['kvm_module'])
    if lv['reachable'] and not lv['kvm_offered'] and hw and dev['usable']:
        reasons.append('libvirt at %s does not offer domain type kvm' % lv['uri'])
    elif not lv['reachable']:
        reasons.append('libvirt at %s is not reachable (%s): judged from the host alone' % (lv['uri'], lv['error']))
    if choice.why == ONLY_KVM:
        reasons.append(_only_kvm(lv))
    reasons.append(recommendation(choice))
    return dict(can_run_nested_guests=bool(choice.why == HARDWARE and nested), recommended_virt_type=choice.virt_type,
                reasons=reasons)
