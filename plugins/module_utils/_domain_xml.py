# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DomainSpec -> libvirt domain XML, built with lxml only (no string templates, so no input can
inject XML), and applied onto libvirt's own definition so what we do not manage survives.

``build`` makes the whole definition of a new domain. ``merge`` lays the parts we manage over an
existing (inactive) definition and carries its identity over: UUID, MAC addresses and device
addresses stay as libvirt chose them. ``describe`` reduces any definition, ours or libvirt's
normalized one, to the facts we manage; comparing two descriptions is the one test of "changed"
that check mode and real runs share.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

try:
    from lxml import etree
except ImportError:  # reported by _connection.require_libraries
    etree = None

from ansible_collections.nestedkvm.stack.plugins.module_utils._compare import Secret

QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0'
NK_NS = 'urn:nestedkvm:stack:1'
OSINFO_NS = 'http://libosinfo.org/xmlns/libvirt/domain/1.0'
GUEST_AGENT = 'org.qemu.guest_agent.0'

# Devices this collection owns; any other device (controllers, video, input, ...) is libvirt's or the user's.
# The QEMU arguments of kernel_irqchip false: the guest's LAPIC, IOAPIC and PIC emulated by QEMU, not KVM.
KERNEL_IRQCHIP_OFF = ('-machine', 'kernel-irqchip=off')

_MANAGED_DEVICES = ('disk', 'interface', 'graphics', 'tpm', 'serial', 'console', 'rng')
# Top-level elements this collection owns. libvirt's canonical order is restored on define.
_MANAGED_TOP = ('memory', 'currentMemory', 'vcpu', 'os', 'features', 'cpu', 'clock')


def _sub(parent, tag, text=None, **attrs):
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def cdrom_targets(spec):
    """Target names for the domain's CD-ROMs: the cloud-init seed first, then ISO images."""
    count = len(spec.cdroms) + (1 if spec.seed else 0)
    first = len(spec.disks)
    return ['sd' + 'abcdefghijklmnopqrstuvwxyz'[first + i] for i in range(count)]


def build(spec, disk_paths, seed=None, owned_volumes=(), uuid=None):
    """The full definition of ``spec``.

    ``disk_paths`` lists the host path of each spec disk's volume, in order; ``seed`` is the
    (path, sha256) of the NoCloud seed image; ``owned_volumes`` are (pool, volume) pairs this
    collection created; ``uuid`` is the domain's UUID, which the collection's record names too
    (see _ownership).
    """
    root = etree.Element('domain', type=spec.virt_type, nsmap={'qemu': QEMU_NS})
    _sub(root, 'name', spec.name)
    if uuid:
        _sub(root, 'uuid', uuid)
    _build_metadata(root, spec, owned_volumes, seed[1] if seed else None, uuid)
    _sub(root, 'memory', spec.memory // 1024, unit='KiB')
    _sub(root, 'currentMemory', spec.memory // 1024, unit='KiB')
    _sub(root, 'vcpu', spec.vcpus, placement='static')
    _build_os(root, spec)
    _build_features(root, spec)
    _build_cpu(root, spec)
    _build_clock(root, spec)
    devices = _sub(root, 'devices')
    _build_devices(devices, spec, disk_paths, seed[0] if seed else None)
    _build_qemu_commandline(root, spec)
    return root


def _build_metadata(root, spec, owned_volumes, seed_digest, uuid):
    metadata = _sub(root, 'metadata')
    stack = etree.SubElement(metadata, '{%s}stack' % NK_NS, nsmap={'nk': NK_NS})
    if uuid:
        stack.set('uuid', uuid)
    stack.set('level', str(spec.level))
    stack.set('profile', spec.profile)
    if seed_digest:
        stack.set('seed-sha256', seed_digest)
    for pool, volume in sorted(owned_volumes):
        etree.SubElement(stack, '{%s}volume' % NK_NS, pool=pool, name=volume)
    if spec.access:
        etree.SubElement(stack, '{%s}access' % NK_NS, {_ACCESS_ATTRIBUTES[key]: str(value)
                                                       for key, value in sorted(spec.access.items()) if value is not None})
    if spec.osinfo:
        info = etree.SubElement(metadata, '{%s}libosinfo' % OSINFO_NS, nsmap={'libosinfo': OSINFO_NS})
        etree.SubElement(info, '{%s}os' % OSINFO_NS, id=spec.osinfo)


def _build_os(root, spec):
    os_el = _sub(root, 'os', firmware='efi' if spec.firmware == 'efi' else None)
    _sub(os_el, 'type', 'hvm', arch='x86_64', machine=spec.machine)
    if spec.secure_boot:
        firmware = _sub(os_el, 'firmware')
        _sub(firmware, 'feature', enabled='yes', name='enrolled-keys')
        _sub(firmware, 'feature', enabled='yes', name='secure-boot')
        _sub(os_el, 'loader', secure='yes')
    if spec.kernel_boot:
        _sub(os_el, 'kernel', spec.kernel_boot['kernel'])
        if spec.kernel_boot.get('initrd'):
            _sub(os_el, 'initrd', spec.kernel_boot['initrd'])
        if spec.kernel_boot.get('cmdline'):
            _sub(os_el, 'cmdline', spec.kernel_boot['cmdline'])
    # The installer first while the system disk is empty (Windows Setup's own "press any key to boot from CD"
    # then passes to the disk on its reboots), the disk first once something is installed.
    order = ['cdrom', 'hd'] if spec.installer_first else (['hd', 'cdrom'] if spec.cdroms else ['hd'])
    for dev in order:
        _sub(os_el, 'boot', dev=dev)


def _build_features(root, spec):
    features = _sub(root, 'features')
    _sub(features, 'acpi')
    _sub(features, 'apic')
    if spec.hyperv:
        hyperv = _sub(features, 'hyperv', mode='custom')
        for name in spec.hyperv_enlightenments:
            element = _sub(hyperv, name, state='on', retries='8191' if name == 'spinlocks' else None)
            if name == 'stimer' and spec.hyperv_nested:
                _sub(element, 'direct', state='on')
        if spec.hyperv_nested == 'intel':
            _sub(hyperv, 'evmcs', state='on')
    if not spec.kernel_irqchip:
        # Without KVM's in-kernel local APIC, QEMU cannot set up the paravirtual features that need it (the
        # asynchronous page fault interrupt's MSR fails at the first vCPU reset): hiding KVM turns them all off.
        kvm = _sub(features, 'kvm')
        _sub(kvm, 'hidden', state='on')
    if spec.secure_boot:
        _sub(features, 'smm', state='on')


def _build_cpu(root, spec):
    cpu = _sub(root, 'cpu', mode=spec.cpu_mode, check='none' if spec.cpu_mode != 'custom' else 'partial')
    if spec.cpu_mode == 'custom':
        cpu.set('match', 'exact')
        _sub(cpu, 'model', spec.cpu_model, fallback='forbid')
    if spec.topology:
        sockets, cores, threads = spec.topology
        _sub(cpu, 'topology', sockets=sockets, dies=1, cores=cores, threads=threads)
    for policy, name in spec.cpu_features:
        _sub(cpu, 'feature', policy=policy, name=name)


def _build_clock(root, spec):
    clock = _sub(root, 'clock', offset='localtime' if spec.profile == 'windows11' else 'utc')
    if spec.hyperv:
        _sub(clock, 'timer', name='hypervclock', present='yes')


def _build_devices(devices, spec, disk_paths, seed_path):
    for disk, path in zip(spec.disks, disk_paths):
        element = _sub(devices, 'disk', type='file', device='disk')
        _sub(element, 'driver', name='qemu', type=disk.format, discard='unmap')
        _sub(element, 'source', file=path)
        _sub(element, 'target', dev=disk.target, bus=disk.bus)
    isos = ([seed_path] if spec.seed else []) + [path for _option, path in spec.cdroms]
    for path, target in zip(isos, cdrom_targets(spec)):
        element = _sub(devices, 'disk', type='file', device='cdrom')
        _sub(element, 'driver', name='qemu', type='raw')
        _sub(element, 'source', file=path)
        _sub(element, 'target', dev=target, bus='sata')
        _sub(element, 'readonly')
    for iface in spec.interfaces:
        if iface.kind == 'user' and spec.user_network_backend != 'passt':
            continue  # a QEMU netdev, see _build_qemu_commandline
        element = _sub(devices, 'interface', type=iface.kind)
        if iface.mac:
            _sub(element, 'mac', address=iface.mac)
        if iface.kind == 'user':
            for protocol, host_port, guest_port in iface.forwards:
                forward = _sub(element, 'portForward', proto=protocol, address='127.0.0.1')
                _sub(forward, 'range', start=host_port, to=guest_port)
        else:
            _sub(element, 'source', **{iface.kind: iface.source})
        _sub(element, 'model', type=iface.model)
        if iface.kind == 'user':
            _sub(element, 'backend', type='passt')
    if spec.graphics != 'none':
        # Only ever on loopback: reach it through an SSH tunnel.
        element = _sub(devices, 'graphics', type=spec.graphics, autoport='yes', passwd=spec.graphics_password)
        _sub(element, 'listen', type='address', address='127.0.0.1')
    if spec.video:
        video = _sub(devices, 'video')
        _sub(video, 'model', type=spec.video, heads=1, primary='yes')
        # An absolute pointer, so the console's mouse goes where it is pointed.
        _sub(devices, 'input', type='tablet', bus='usb')
    serial = _sub(devices, 'serial', type='pty')
    if spec.console_log:
        # Rewritten at each start: the file shows this boot (firmware messages, kernel, login prompt).
        _sub(serial, 'log', file=spec.console_log, append='off')
    _sub(serial, 'target', port='0')
    console = _sub(devices, 'console', type='pty')
    _sub(console, 'target', type='serial', port='0')
    agent = _sub(devices, 'channel', type='unix')
    _sub(agent, 'target', type='virtio', name=GUEST_AGENT)
    if spec.tpm:
        tpm = _sub(devices, 'tpm', model='tpm-crb')
        _sub(tpm, 'backend', type='emulator', version='2.0')
    rng = _sub(devices, 'rng', model='virtio')
    _sub(rng, 'backend', '/dev/urandom', model='random')


def _build_qemu_commandline(root, spec):
    args = []
    if not spec.kernel_irqchip:
        # libvirt has no element for it; QEMU merges a second -machine into the first.
        args.extend(KERNEL_IRQCHIP_OFF)
    # libvirt offers port forwards for user-mode networking only with the passt backend, which is not
    # available everywhere (docs/stacks.md); a QEMU netdev with hostfwd works on every version.
    if spec.user_network_backend == 'qemu-commandline':
        args.extend(_user_netdev_args(spec))
    if args:
        commandline = etree.SubElement(root, '{%s}commandline' % QEMU_NS)
        for arg in args:
            etree.SubElement(commandline, '{%s}arg' % QEMU_NS, value=arg)


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


_HOSTFWD = re.compile(r'hostfwd=(tcp|udp):127\.0\.0\.1:(\d+)-[^:,]*:(\d+)')


def port_forwards(root):
    """The (protocol, host port, guest port) of every forward from the host's 127.0.0.1 to the guest in a definition."""
    forwards = set()
    for value in root.xpath('qemu:commandline/qemu:arg/@value', namespaces={'qemu': QEMU_NS}):
        forwards.update((protocol, int(port), int(guest)) for protocol, port, guest in _HOSTFWD.findall(value))
    for forward in root.iterfind("devices/interface[@type='user']/portForward"):
        if forward.get('address') not in (None, '127.0.0.1'):
            continue  # bound elsewhere (another address, or a dev): no claim on this host's loopback port
        for ports_range in forward.iterfind('range'):
            start = int(ports_range.get('start'))
            # 'to' is where the range starts in the guest; without it, the guest's ports are the host's.
            offset = int(ports_range.get('to') or start) - start
            forwards.update((forward.get('proto'), port, port + offset)
                            for port in range(start, int(ports_range.get('end') or start) + 1))
    return forwards


def forwarded_ports(root):
    """The (protocol, port) pairs on the host's 127.0.0.1 that a definition forwards to its guest."""
    return {(protocol, port) for protocol, port, _guest in port_forwards(root)}


# How the collection's record names the keys of the access option (see the domain modules' access).
_ACCESS_ATTRIBUTES = {'user': 'user', 'host_key_alias': 'host-key-alias', 'address': 'address', 'port': 'port'}


def access_record(root):
    """The access option as a definition records it, or None. Values are as written (a port that is not a number
    stays text): _domain_spec.validate_access judges them."""
    element = root.find('metadata/{%s}stack/{%s}access' % (NK_NS, NK_NS))
    if element is None:
        return None
    record = {key: element.get(attribute) for key, attribute in _ACCESS_ATTRIBUTES.items()}
    if record['port'] is not None and record['port'].isdigit():
        record['port'] = int(record['port'])
    return record


def merge(live, desired):
    """A copy of ``live`` (libvirt's inactive definition) with ``desired``'s managed parts laid over it."""
    merged = copy.deepcopy(live)
    merged.set('type', desired.get('type'))
    for tag in _MANAGED_TOP:
        _replace_child(merged, desired, tag)
    _merge_metadata(merged, desired)
    _merge_devices(merged.find('devices'), desired.find('devices'))
    _replace_child(merged, desired, '{%s}commandline' % QEMU_NS)
    return merged


def _replace_child(merged, desired, tag):
    for old in merged.findall(tag):
        merged.remove(old)
    new = desired.find(tag)
    if new is not None:
        merged.append(copy.deepcopy(new))


def _merge_metadata(merged, desired):
    metadata = merged.find('metadata')
    if metadata is None:
        metadata = etree.SubElement(merged, 'metadata')
    for ours in desired.find('metadata'):
        for old in metadata.findall(ours.tag):
            metadata.remove(old)
        metadata.append(copy.deepcopy(ours))


def _merge_devices(merged_devices, desired_devices):
    # The video device and tablet are ours only while we ask for a console; without one, libvirt's or the user's stay.
    console = desired_devices.find('video') is not None
    live_devices = [d for d in merged_devices if d.tag in _MANAGED_DEVICES or _is_agent_channel(d)
                    or (console and (d.tag == 'video' or _is_tablet(d)))]
    for device in live_devices:
        merged_devices.remove(device)
    live_interfaces = [d for d in live_devices if d.tag == 'interface']
    interface_index = 0
    for device in desired_devices:
        device = copy.deepcopy(device)
        if device.tag == 'interface':
            twin = _find_interface(live_interfaces, device, interface_index)
            interface_index += 1
            if twin is not None and device.find('mac') is None:
                device.insert(0, copy.deepcopy(twin.find('mac')))
        else:
            twin = _find_twin(live_devices, device)
        if twin is not None and twin.find('address') is not None and device.find('address') is None:
            device.append(copy.deepcopy(twin.find('address')))
        merged_devices.append(device)


def _is_tablet(device):
    return device.tag == 'input' and device.get('type') == 'tablet' and device.get('bus') == 'usb'


def _is_agent_channel(device):
    return device.tag == 'channel' and device.find('target') is not None and \
        device.find('target').get('name') == GUEST_AGENT


def _device_key(device):
    target = device.find('target')
    if device.tag == 'disk':
        return ('disk', target.get('dev') if target is not None else None)
    if device.tag in ('serial', 'console'):
        return (device.tag, target.get('port') if target is not None else None)
    if device.tag == 'channel':
        return ('channel', target.get('name') if target is not None else None)
    return (device.tag, device.get('type') or device.get('model'))


def _find_twin(candidates, device):
    key = _device_key(device)
    for candidate in candidates:
        if _device_key(candidate) == key:
            return candidate
    return None


def _find_interface(live_interfaces, device, index):
    """The live interface that ``device`` continues: the one with its MAC, else the one at its position."""
    mac = device.find('mac')
    if mac is not None:
        for candidate in live_interfaces:
            live_mac = candidate.find('mac')
            if live_mac is not None and live_mac.get('address', '').lower() == mac.get('address').lower():
                return candidate
        return None
    return live_interfaces[index] if index < len(live_interfaces) else None


# --- description: the managed facts of a definition --------------------------------------------

_MACHINE_ALIASES = ((re.compile(r'^pc-q35-'), 'q35'), (re.compile(r'^pc-i440fx-'), 'pc'))
_KIB = {'b': 1.0 / 1024, 'bytes': 1.0 / 1024, 'k': 1, 'kib': 1, 'm': 1024, 'mib': 1024, 'g': 1024 ** 2,
        'gib': 1024 ** 2, 't': 1024 ** 3, 'tib': 1024 ** 3, 'kb': 1000 / 1024.0, 'mb': 1000 ** 2 / 1024.0,
        'gb': 1000 ** 3 / 1024.0}


def _kib(element):
    if element is None or element.text is None:
        return None
    return int(int(element.text) * _KIB[(element.get('unit') or 'KiB').lower()])


def _machine(name):
    for pattern, alias in _MACHINE_ALIASES:
        if pattern.match(name or ''):
            return alias
    return name


def describe(root):
    """The facts of a domain definition that this collection manages, as plain data."""
    os_el = root.find('os')
    description = dict(
        virt_type=root.get('type'),
        memory_kib=_kib(root.find('memory')),
        current_memory_kib=_kib(root.find('currentMemory')),
        vcpus=int(root.findtext('vcpu')) if root.findtext('vcpu') else None,
        os=_describe_os(os_el) if os_el is not None else None,
        features=_describe_features(root.find('features')),
        cpu=_describe_cpu(root.find('cpu')),
        clock=_describe_clock(root.find('clock')),
        disks=sorted((_describe_disk(d) for d in root.iterfind('devices/disk')), key=lambda d: d['target'] or ''),
        interfaces=[_describe_interface(i) for i in root.iterfind('devices/interface')],
        user_networks=[arg for arg in _qemu_args(root) if arg not in KERNEL_IRQCHIP_OFF],
        kernel_irqchip=not _has_arg_pair(_qemu_args(root), KERNEL_IRQCHIP_OFF),
        graphics=[_describe_graphics(g) for g in root.iterfind('devices/graphics')],
        video=sorted(v.get('type') for v in root.iterfind('devices/video/model')),
        console_log=root.xpath('string(devices/serial[1]/log/@file)') or None,
        tpm=[(t.get('model'), t.find('backend').get('type') if t.find('backend') is not None else None,
              t.find('backend').get('version') if t.find('backend') is not None else None)
             for t in root.iterfind('devices/tpm')],
        owned_volumes=sorted((v.get('pool'), v.get('name')) for v in
                             root.iterfind('metadata/{%s}stack/{%s}volume' % (NK_NS, NK_NS))),
        seed_sha256=root.xpath('string(metadata/nk:stack/@seed-sha256)', namespaces={'nk': NK_NS}) or None,
        access=access_record(root),
    )
    return description


def _qemu_args(root):
    return root.xpath('qemu:commandline/qemu:arg/@value', namespaces={'qemu': QEMU_NS})


def _has_arg_pair(args, pair):
    return any(tuple(args[i:i + 2]) == pair for i in range(len(args) - 1))


def _describe_os(os_el):
    loader = os_el.find('loader')
    firmware_features = {f.get('name'): f.get('enabled') for f in os_el.iterfind('firmware/feature')}
    efi = os_el.get('firmware') == 'efi' or (loader is not None and loader.get('type') == 'pflash')
    type_el = os_el.find('type')
    return dict(
        machine=_machine(type_el.get('machine') if type_el is not None else None),
        firmware='efi' if efi else 'bios',
        secure_boot=firmware_features.get('secure-boot') == 'yes' or (loader is not None and loader.get('secure') == 'yes'),
        kernel=os_el.findtext('kernel'),
        initrd=os_el.findtext('initrd'),
        cmdline=os_el.findtext('cmdline'),
        boot=[b.get('dev') for b in os_el.iterfind('boot')],
    )


def _describe_features(features):
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


def _describe_cpu(cpu):
    if cpu is None:
        return None
    topology = cpu.find('topology')
    return dict(mode=cpu.get('mode', 'custom'), model=cpu.findtext('model'),
                features=sorted((f.get('policy', 'require'), f.get('name')) for f in cpu.iterfind('feature')),
                topology=[int(topology.get(n, 1)) for n in ('sockets', 'cores', 'threads')] if topology is not None
                else None)


def _describe_clock(clock):
    if clock is None:
        return None
    return dict(offset=clock.get('offset'),
                timers=sorted(t.get('name') for t in clock.iterfind('timer') if t.get('present') == 'yes'))


def _describe_disk(disk):
    source = disk.find('source')
    driver = disk.find('driver')
    target = disk.find('target')
    return dict(device=disk.get('device', 'disk'),
                target=target.get('dev') if target is not None else None,
                bus=target.get('bus') if target is not None else None,
                source=(source.get('file') or source.get('dev') or source.get('volume')) if source is not None else None,
                format=driver.get('type') if driver is not None else None)


def _describe_interface(iface):
    source = iface.find('source')
    model = iface.find('model')
    mac = iface.find('mac')
    backend = iface.find('backend')
    return dict(type=iface.get('type'),
                source=(source.get('network') or source.get('bridge')) if source is not None else None,
                model=model.get('type') if model is not None else None,
                mac=mac.get('address') if mac is not None else None,
                backend=backend.get('type') if backend is not None else None,
                forwards=[(forward.get('proto'), forward.get('address'), r.get('start'), r.get('end'), r.get('to'))
                          for forward in iface.iterfind('portForward') for r in forward.iterfind('range')])


def _describe_graphics(graphics):
    listen = graphics.find('listen')
    address = graphics.get('listen') or (listen.get('address') if listen is not None else None)
    password = graphics.get('passwd')
    return dict(type=graphics.get('type'), listen=address,
                password=Secret(password) if password is not None else None)
