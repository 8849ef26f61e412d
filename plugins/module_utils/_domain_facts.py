# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table of what this collection manages in a libvirt domain definition.

Each ``Fact`` declares its parts once: where they live in the XML and how to build them from a
``Record`` (the DomainSpec and what the engine planned), as _xml_props Props, Eachs and Wholes, in
libvirt's order; and how to read the managed facts back (``reads``: name -> function of the domain
element), which is what "changed" is judged on. _domain_xml builds, merges and describes through
this table only.

Whatever the table does not name is libvirt's or a person's and survives a merge: the children a
person adds to a managed disk or interface (<iotune>, <serial>, <boot order>, <driver cache>),
device addresses, other devices, other applications' metadata.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._compare import Secret
from ansible_collections.nestedkvm.stack.plugins.module_utils._xml_props import Each, Prop, Whole

try:
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    etree = None

QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0'
NK_NS = 'urn:nestedkvm:stack:1'
OSINFO_NS = 'http://libosinfo.org/xmlns/libvirt/domain/1.0'
NAMESPACES = {'qemu': QEMU_NS, 'nk': NK_NS, 'libosinfo': OSINFO_NS}
GUEST_AGENT = 'org.qemu.guest_agent.0'
# The QEMU arguments of kernel_irqchip false: the guest's LAPIC, IOAPIC and PIC emulated by QEMU, not KVM.
KERNEL_IRQCHIP_OFF = ('-machine', 'kernel-irqchip=off')
# How the collection's record names the keys of the access option (see the domain modules' access).
ACCESS_ATTRIBUTES = {'user': 'user', 'host_key_alias': 'host-key-alias', 'address': 'address', 'port': 'port'}


class Record:
    """What one definition is built from: the spec, the host path of each spec disk's volume (in order), the
    NoCloud seed image's path and digest, the (pool, volume) pairs this collection created, and the UUID."""

    def __init__(self, spec, disk_paths, seed_path=None, seed_digest=None, owned_volumes=(), uuid=None):
        self.spec = spec
        self.disk_paths = list(disk_paths)
        self.seed_path = seed_path
        self.seed_digest = seed_digest
        self.owned_volumes = sorted(owned_volumes)
        self.uuid = uuid


class Fact:
    """Parts of the definition (written by build and merge) and the managed facts read back from them."""

    def __init__(self, parts=(), reads=None):
        self.parts = tuple(parts)
        self.reads = reads or {}


def _p(path, value=None, **options):
    return Prop(path, value, namespaces=NAMESPACES, **options)


def _each(parent, tag, items, props=(), **options):
    return Each(parent, tag, items, props, namespaces=NAMESPACES, **options)


def _attribute(element, name):
    return element.get(name) if element is not None else None


# -- identity and the collection's record ---------------------------------------------------------------------

def access_record(root):
    """The access option as a definition records it, or None. Values are as written (a port that is not a number
    stays text): _domain_spec.validate_access judges them."""
    element = root.find('metadata/{%s}stack/{%s}access' % (NK_NS, NK_NS))
    if element is None:
        return None
    record = {key: element.get(attribute) for key, attribute in ACCESS_ATTRIBUTES.items()}
    if record['port'] is not None and record['port'].isdigit():
        record['port'] = int(record['port'])
    return record


def _access_value(key):
    return lambda r: (r.spec.access or {}).get(key)


IDENTITY = Fact([
    _p('@type', lambda r: r.spec.virt_type),
    _p('name', lambda r: r.spec.name, text=True),
    # libvirt's own when the engine names none: a definition without it would be a new domain.
    _p('uuid', lambda r: r.uuid, text=True, keep=True),
], reads={'virt_type': lambda root: root.get('type')})

RECORD = Fact([
    _p('metadata/nk:stack/@uuid', lambda r: r.uuid),
    _p('metadata/nk:stack/@level', lambda r: r.spec.level),
    _p('metadata/nk:stack/@profile', lambda r: r.spec.profile),
    _p('metadata/nk:stack/@seed-sha256', lambda r: r.seed_digest),
    _each('metadata/nk:stack', 'nk:volume', lambda r: r.owned_volumes,
          [_p('@pool', lambda v: v[0]), _p('@name', lambda v: v[1])],
          key=lambda e: (e.get('pool'), e.get('name'))),
] + [_p('metadata/nk:stack/nk:access/@' + ACCESS_ATTRIBUTES[key], _access_value(key))
     for key in sorted(ACCESS_ATTRIBUTES)] + [
    # A libosinfo id another tool wrote stays unless the profile names one.
    _p('metadata/libosinfo:libosinfo/libosinfo:os/@id', lambda r: r.spec.osinfo, keep=True),
], reads={
    'owned_volumes': lambda root: sorted((v.get('pool'), v.get('name')) for v in
                                         root.iterfind('metadata/{%s}stack/{%s}volume' % (NK_NS, NK_NS))),
    'seed_sha256': lambda root: root.xpath('string(metadata/nk:stack/@seed-sha256)', namespaces={'nk': NK_NS}) or None,
    'access': access_record,
})

# -- memory and vCPUs -------------------------------------------------------------------------------------------

_KIB = {'b': 1.0 / 1024, 'bytes': 1.0 / 1024, 'k': 1, 'kib': 1, 'm': 1024, 'mib': 1024, 'g': 1024 ** 2,
        'gib': 1024 ** 2, 't': 1024 ** 3, 'tib': 1024 ** 3, 'kb': 1000 / 1024.0, 'mb': 1000 ** 2 / 1024.0,
        'gb': 1000 ** 3 / 1024.0}


def _kib(element):
    if element is None or element.text is None:
        return None
    return int(int(element.text) * _KIB[(element.get('unit') or 'KiB').lower()])


SIZE = Fact([
    _p('memory', lambda r: r.spec.memory // 1024, text=True),
    _p('memory/@unit', 'KiB'),
    _p('currentMemory', lambda r: r.spec.memory // 1024, text=True),
    _p('currentMemory/@unit', 'KiB'),
    _p('vcpu', lambda r: r.spec.vcpus, text=True),
    _p('vcpu/@placement', 'static'),
], reads={
    'memory_kib': lambda root: _kib(root.find('memory')),
    'current_memory_kib': lambda root: _kib(root.find('currentMemory')),
    'vcpus': lambda root: int(root.findtext('vcpu')) if root.findtext('vcpu') else None,
})

# -- firmware and boot ------------------------------------------------------------------------------------------

_MACHINE_ALIASES = ((re.compile(r'^pc-q35-'), 'q35'), (re.compile(r'^pc-i440fx-'), 'pc'))


def _machine(name):
    for pattern, alias in _MACHINE_ALIASES:
        if pattern.match(name or ''):
            return alias
    return name


def _uses_efi(root):
    return root.xpath('string(os/@firmware)') == 'efi'


def _boot_order(r):
    # The installer first while the system disk is empty (Windows Setup's own "press any key to boot from CD"
    # then passes to the disk on its reboots), the disk first once something is installed.
    if r.spec.installer_first:
        return ['cdrom', 'hd']
    return ['hd', 'cdrom'] if r.spec.cdroms else ['hd']


def _kernel_boot(key):
    return lambda r: (r.spec.kernel_boot or {}).get(key) or None


def _read_os(root):
    os_el = root.find('os')
    if os_el is None:
        return None
    loader = os_el.find('loader')
    firmware_features = {f.get('name'): f.get('enabled') for f in os_el.iterfind('firmware/feature')}
    efi = os_el.get('firmware') == 'efi' or _attribute(loader, 'type') == 'pflash'
    return dict(
        machine=_machine(_attribute(os_el.find('type'), 'machine')),
        firmware='efi' if efi else 'bios',
        secure_boot=firmware_features.get('secure-boot') == 'yes' or _attribute(loader, 'secure') == 'yes',
        kernel=os_el.findtext('kernel'),
        initrd=os_el.findtext('initrd'),
        cmdline=os_el.findtext('cmdline'),
        boot=[b.get('dev') for b in os_el.iterfind('boot')],
    )


OS = Fact([
    _p('os/@firmware', lambda r: 'efi' if r.spec.firmware == 'efi' else None),
    _p('os/type', 'hvm', text=True),
    _p('os/type/@arch', 'x86_64'),
    _p('os/type/@machine', lambda r: r.spec.machine),
    _each('os/firmware', 'feature', lambda r: ['enrolled-keys', 'secure-boot'] if r.spec.secure_boot else [],
          [_p('@enabled', 'yes'), _p('@name', lambda name: name)], key=lambda e: e.get('name')),
    _p('os/loader/@secure', lambda r: 'yes' if r.spec.secure_boot else None),
    # The firmware image and variable store libvirt picked for UEFI stay while UEFI does.
    _p('os/loader', lambda r: r.spec.secure_boot or None, presence=True, keep=_uses_efi),
    _p('os/nvram', None, presence=True, keep=_uses_efi),
    _p('os/kernel', _kernel_boot('kernel'), text=True),
    _p('os/initrd', _kernel_boot('initrd'), text=True),
    _p('os/cmdline', _kernel_boot('cmdline'), text=True),
    _each('os', 'boot', _boot_order, [_p('@dev', lambda dev: dev)]),
], reads={'os': _read_os})

# -- features ---------------------------------------------------------------------------------------------------


def _hyperv(r):
    spec = r.spec
    if not spec.hyperv:
        return None
    hyperv = etree.Element('hyperv', mode='custom')
    for name in spec.hyperv_enlightenments:
        element = etree.SubElement(hyperv, name, state='on')
        if name == 'spinlocks':
            element.set('retries', '8191')
        if name == 'stimer' and spec.hyperv_nested:
            etree.SubElement(element, 'direct', state='on')
    if spec.hyperv_nested == 'intel':
        etree.SubElement(hyperv, 'evmcs', state='on')
    return hyperv


def _read_features(root):
    features = root.find('features')
    if features is None:
        return {}
    described = {}
    for feature in features:
        if feature.tag == 'hyperv':
            described['hyperv'] = sorted([e.tag for e in feature if e.get('state') == 'on'] + [
                'stimer-direct' for e in feature.iterfind("stimer/direct[@state='on']")])
        elif feature.tag == 'smm':
            described['smm'] = feature.get('state', 'on')
        elif feature.tag in ('acpi', 'apic'):
            described[feature.tag] = 'on'
        elif feature.tag == 'kvm' and feature.find("hidden[@state='on']") is not None:
            described['kvm_hidden'] = 'on'
    return described


FEATURES = Fact([
    _p('features/acpi', True, presence=True),
    _p('features/apic', True, presence=True),
    # Ours as a whole: the enlightenments are read back as a set of names.
    Whole('features/hyperv', _hyperv),
    # Without KVM's in-kernel local APIC, QEMU cannot set up the paravirtual features that need it (the
    # asynchronous page fault interrupt's MSR fails at the first vCPU reset): hiding KVM turns them all off.
    _p('features/kvm/hidden/@state', lambda r: None if r.spec.kernel_irqchip else 'on'),
    _p('features/smm/@state', lambda r: 'on' if r.spec.secure_boot else None),
], reads={'features': _read_features})

# -- CPU and clock ----------------------------------------------------------------------------------------------


def _custom(value):
    return lambda r: value(r) if r.spec.cpu_mode == 'custom' else None


def _topology(index):
    return lambda r: r.spec.topology[index] if r.spec.topology else None


def _read_cpu(root):
    cpu = root.find('cpu')
    if cpu is None:
        return None
    topology = cpu.find('topology')
    return dict(mode=cpu.get('mode', 'custom'), model=cpu.findtext('model'),
                features=sorted((f.get('policy', 'require'), f.get('name')) for f in cpu.iterfind('feature')),
                topology=[int(topology.get(n, 1)) for n in ('sockets', 'cores', 'threads')] if topology is not None
                else None)


CPU = Fact([
    _p('cpu/@mode', lambda r: r.spec.cpu_mode),
    _p('cpu/@check', lambda r: 'partial' if r.spec.cpu_mode == 'custom' else 'none'),
    _p('cpu/@match', _custom(lambda r: 'exact')),
    # Allowed with these modes only: kept while the mode allows it, else libvirt would refuse the definition.
    _p('cpu/@migratable', keep=lambda root: root.xpath('string(cpu/@mode)') in ('host-passthrough', 'maximum')),
    _p('cpu/model', _custom(lambda r: r.spec.cpu_model), text=True),
    _p('cpu/model/@fallback', _custom(lambda r: 'forbid')),
    _p('cpu/topology/@sockets', _topology(0)),
    _p('cpu/topology/@dies', lambda r: 1 if r.spec.topology else None),
    # Part of the product that must equal vcpus; libvirt 10 and later write their default of 1 back.
    _p('cpu/topology/@clusters'),
    _p('cpu/topology/@cores', _topology(1)),
    _p('cpu/topology/@threads', _topology(2)),
    _each('cpu', 'feature', lambda r: r.spec.cpu_features,
          [_p('@policy', lambda f: f[0]), _p('@name', lambda f: f[1])], key=lambda e: e.get('name')),
], reads={'cpu': _read_cpu})


def _read_clock(root):
    clock = root.find('clock')
    if clock is None:
        return None
    return dict(offset=clock.get('offset'),
                timers=sorted(t.get('name') for t in clock.iterfind('timer') if t.get('present') == 'yes'))


CLOCK = Fact([
    _p('clock/@offset', lambda r: 'localtime' if r.spec.profile == 'windows11' else 'utc'),
    # The timers libvirt or a person chose (rtc, pit, hpet) stay.
    _each('clock', 'timer', lambda r: ['hypervclock'] if r.spec.hyperv else [],
          [_p('@name', lambda name: name), _p('@present', 'yes')],
          key=lambda e: e.get('name'), owns=lambda e: e.get('name') == 'hypervclock'),
], reads={'clock': _read_clock})

# -- disks ------------------------------------------------------------------------------------------------------


def cdrom_targets(spec):
    """Target names for the domain's CD-ROMs: the cloud-init seed first, then ISO images."""
    count = len(spec.cdroms) + (1 if spec.seed else 0)
    first = len(spec.disks)
    return ['sd' + 'abcdefghijklmnopqrstuvwxyz'[first + i] for i in range(count)]


def _disks(r):
    spec = r.spec
    disks = [dict(device='disk', format=disk.format, discard='unmap', path=path, target=disk.target, bus=disk.bus)
             for disk, path in zip(spec.disks, r.disk_paths)]
    isos = ([r.seed_path] if spec.seed else []) + [path for _option, path in spec.cdroms]
    disks.extend(dict(device='cdrom', format='raw', path=path, target=target, bus='sata', readonly=True)
                 for path, target in zip(isos, cdrom_targets(spec)))
    return disks


def _item(key):
    return lambda item: item.get(key)


def _read_disk(disk):
    source = disk.find('source')
    target = disk.find('target')
    return dict(device=disk.get('device', 'disk'),
                target=_attribute(target, 'dev'),
                bus=_attribute(target, 'bus'),
                source=(source.get('file') or source.get('dev') or source.get('volume')) if source is not None else None,
                format=_attribute(disk.find('driver'), 'type'))


DISKS = Fact([
    _each('devices', 'disk', _disks, [
        _p('@type', 'file'),
        _p('@device', _item('device')),
        _p('driver/@name', 'qemu'),
        _p('driver/@type', _item('format')),
        _p('driver/@discard', _item('discard')),
        _p('source/@file', _item('path')),
        _p('target/@dev', _item('target')),
        _p('target/@bus', _item('bus')),
        _p('readonly', _item('readonly'), presence=True),
    ], key=lambda e: e.xpath('string(target/@dev)')),
], reads={'disks': lambda root: sorted((_read_disk(d) for d in root.iterfind('devices/disk')),
                                       key=lambda d: d['target'] or '')})

# -- network interfaces -----------------------------------------------------------------------------------------


def _interfaces(r):
    # User-mode interfaces are QEMU netdevs unless the backend is passt (see USER_NETDEVS).
    return [iface for iface in r.spec.interfaces if iface.kind != 'user' or r.spec.user_network_backend == 'passt']


def _pair_interfaces(present, wanted):
    """Each wanted interface continues the live one with its MAC, or without a MAC the one at its position."""
    pairs = []
    used = set()
    for index, item in enumerate(wanted):
        mac = item.xpath('string(mac/@address)').lower()
        if mac:
            twin = next((live for live in present if live.xpath('string(mac/@address)').lower() == mac), None)
        else:
            twin = present[index] if index < len(present) else None
        if twin is not None and id(twin) in used:
            twin = None
        if twin is not None:
            used.add(id(twin))
        pairs.append((twin, item))
    return pairs


def _read_interface(iface):
    source = iface.find('source')
    return dict(type=iface.get('type'),
                source=(source.get('network') or source.get('bridge')) if source is not None else None,
                model=_attribute(iface.find('model'), 'type'),
                mac=_attribute(iface.find('mac'), 'address'),
                backend=_attribute(iface.find('backend'), 'type'),
                forwards=[(forward.get('proto'), forward.get('address'), r.get('start'), r.get('end'), r.get('to'))
                          for forward in iface.iterfind('portForward') for r in forward.iterfind('range')])


def _source(kind):
    return lambda iface: iface.source if iface.kind == kind else None


INTERFACES = Fact([
    _each('devices', 'interface', _interfaces, [
        _p('@type', lambda iface: iface.kind),
        # libvirt's choice when the option names none.
        _p('mac/@address', lambda iface: iface.mac, keep=True),
        _each('', 'portForward', lambda iface: iface.forwards if iface.kind == 'user' else [], [
            _p('@proto', lambda fwd: fwd[0]),
            _p('@address', '127.0.0.1'),
            _each('', 'range', lambda fwd: [fwd], [_p('@start', lambda fwd: fwd[1]), _p('@to', lambda fwd: fwd[2])]),
        ]),
        _p('source/@network', _source('network')),
        _p('source/@bridge', _source('bridge')),
        _p('model/@type', lambda iface: iface.model),
        _p('backend/@type', lambda iface: 'passt' if iface.kind == 'user' else None),
    ], pair=_pair_interfaces),
], reads={'interfaces': lambda root: [_read_interface(i) for i in root.iterfind('devices/interface')]})

# -- consoles ---------------------------------------------------------------------------------------------------


def _read_graphics(graphics):
    address = graphics.get('listen') or _attribute(graphics.find('listen'), 'address')
    password = graphics.get('passwd')
    return dict(type=graphics.get('type'), listen=address,
                password=Secret(password) if password is not None else None)


def _is_tablet(device):
    return device.get('type') == 'tablet' and device.get('bus') == 'usb'


def _with_console(r):
    return [r.spec.video] if r.spec.video else []


GRAPHICS = Fact([
    _each('devices', 'graphics', lambda r: [r.spec] if r.spec.graphics != 'none' else [], [
        _p('@type', lambda spec: spec.graphics),
        _p('@autoport', 'yes'),
        _p('@passwd', lambda spec: spec.graphics_password),
        # Only ever on loopback (reach it through an SSH tunnel), said by the <listen> element alone: libvirt
        # copies it into this attribute, and refuses the two when they differ.
        _p('@listen'),
        _p('listen/@type', 'address'),
        _p('listen/@address', '127.0.0.1'),
    ], key=lambda e: e.get('type')),
    # The video device and tablet are ours only while we ask for a console; without one, libvirt's or the user's stay.
    _each('devices', 'video', _with_console, [
        _p('model/@type', lambda model: model),
        _p('model/@heads', 1),
        _p('model/@primary', 'yes'),
    ], claim_only_built=True),
    # An absolute pointer, so the console's mouse goes where it is pointed.
    _each('devices', 'input', _with_console, [_p('@type', 'tablet'), _p('@bus', 'usb')],
          owns=_is_tablet, claim_only_built=True),
], reads={
    'graphics': lambda root: [_read_graphics(g) for g in root.iterfind('devices/graphics')],
    'video': lambda root: sorted(v.get('type') for v in root.iterfind('devices/video/model')),
})


def _port(element):
    return element.xpath('string(target/@port)')


SERIAL = Fact([
    _each('devices', 'serial', lambda r: [r.spec.console_log], [
        _p('@type', 'pty'),
        # Rewritten at each start: the file shows this boot (firmware messages, kernel, login prompt).
        _p('log/@file', lambda path: path),
        _p('log/@append', lambda path: 'off' if path else None),
        _p('target/@port', '0'),
    ], key=_port),
    # libvirt makes the console of a serial port a copy of the port, log included.
    _each('devices', 'console', lambda r: [r], [
        _p('@type', 'pty'),
        _p('log/@file'),
        _p('log/@append'),
        _p('target/@type', 'serial'),
        _p('target/@port', '0'),
    ], key=_port),
], reads={'console_log': lambda root: root.xpath('string(devices/serial[1]/log/@file)') or None})

# -- the other devices ------------------------------------------------------------------------------------------


def _is_agent_channel(device):
    return device.xpath('string(target/@name)') == GUEST_AGENT


def _read_tpm(tpm):
    backend = tpm.find('backend')
    return (tpm.get('model'), _attribute(backend, 'type'), _attribute(backend, 'version'))


DEVICES = Fact([
    _each('devices', 'channel', lambda r: [r], [
        _p('@type', 'unix'),
        _p('target/@type', 'virtio'),
        _p('target/@name', GUEST_AGENT),
    ], owns=_is_agent_channel),
    _each('devices', 'tpm', lambda r: [r] if r.spec.tpm else [], [
        _p('@model', 'tpm-crb'),
        _p('backend/@type', 'emulator'),
        _p('backend/@version', '2.0'),
    ]),
    _each('devices', 'rng', lambda r: [r], [
        _p('@model', 'virtio'),
        _p('backend/@model', 'random'),
        _p('backend', '/dev/urandom', text=True),
    ]),
], reads={'tpm': lambda root: [_read_tpm(t) for t in root.iterfind('devices/tpm')]})

# -- QEMU's own command line ------------------------------------------------------------------------------------


def _user_netdev_args(spec):
    bus = 'pcie.0' if spec.machine == 'q35' else 'pci.0'
    args = []
    for index, iface in enumerate(spec.user_interfaces):
        netdev = ['user', 'id=nk-user%d' % index]
        if iface.restrict:
            netdev.append('restrict=on')
        netdev.extend('hostfwd=%s:127.0.0.1:%d-:%d' % fwd for fwd in iface.forwards)
        model = {'virtio': 'virtio-net-pci', 'e1000e': 'e1000e', 'rtl8139': 'rtl8139'}[iface.model]
        # An explicit slot keeps it clear of the root ports libvirt places on the low slots;
        # without a MAC, QEMU's default (52:54:00:12:34:56 + index) is stable across runs.
        device = [model, 'netdev=nk-user%d' % index, 'bus=%s' % bus, 'addr=0x%x' % (0x10 + index)]
        if iface.mac:
            device.append('mac=%s' % iface.mac)
        args.extend(('-netdev', ','.join(netdev), '-device', ','.join(device)))
    return args


def _qemu_args(r):
    args = []
    if not r.spec.kernel_irqchip:
        # libvirt has no element for it; QEMU merges a second -machine into the first.
        args.extend(KERNEL_IRQCHIP_OFF)
    # libvirt offers port forwards for user-mode networking only with the passt backend, which is not
    # available everywhere (docs/stacks.md); a QEMU netdev with hostfwd works on every version.
    if r.spec.user_network_backend == 'qemu-commandline':
        args.extend(_user_netdev_args(r.spec))
    return args


def qemu_args(root):
    return root.xpath('qemu:commandline/qemu:arg/@value', namespaces={'qemu': QEMU_NS})


def _has_arg_pair(args, pair):
    return any(tuple(args[i:i + 2]) == pair for i in range(len(args) - 1))


USER_NETDEVS = Fact([
    _each('qemu:commandline', 'qemu:arg', _qemu_args, [_p('@value', lambda arg: arg)]),
], reads={
    'user_networks': lambda root: [arg for arg in qemu_args(root) if arg not in KERNEL_IRQCHIP_OFF],
    'kernel_irqchip': lambda root: not _has_arg_pair(qemu_args(root), KERNEL_IRQCHIP_OFF),
})

# In libvirt's order of a domain's elements, and of its devices.
FACTS = (IDENTITY, RECORD, SIZE, OS, FEATURES, CPU, CLOCK, DISKS, INTERFACES, GRAPHICS, SERIAL, DEVICES,
         USER_NETDEVS)
