# -*- coding: utf-8 -*-
# Copyright: nestedkvm.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domain options shared by l1_domain and l2_domain, and their translation into a validated,
normalized DomainSpec (sizes in bytes, defaults per level and per guest profile).

Everything here is checked before any libvirt object is touched: a bad option fails the run
with a message that names the option and says what to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._names import validate_name
from ansible_collections.nestedkvm.stack.plugins.module_utils._units import format_size, parse_size
from ansible_collections.nestedkvm.stack.plugins.module_utils._virt_type import ONLY_KVM, choose_virt_type

STATES = ['present', 'running', 'shutdown', 'destroyed', 'absent']

# Guest profiles. 'hypervisor' is l1_domain's only one; the others are l2_domain's choices (GUEST_PROFILES).
# Minimums are refused below them.
PROFILES = {
    'hypervisor': dict(vcpus=2, memory=2 * 1024 ** 3, disk_bus='virtio', nic_model='virtio'),
    'linux': dict(vcpus=1, memory=1024 ** 3, disk_bus='virtio', nic_model='virtio'),
    'ubuntu22.04': dict(vcpus=2, memory=2 * 1024 ** 3, disk_bus='virtio', nic_model='virtio',
                        osinfo='http://ubuntu.com/ubuntu/22.04'),
    'windows11': dict(vcpus=2, memory=4 * 1024 ** 3, disk_bus='sata', nic_model='e1000e',
                      osinfo='http://microsoft.com/win/11',
                      minimum_vcpus=2, minimum_memory=4 * 1024 ** 3, minimum_disk=64 * 1024 ** 3),
}
L1_PROFILE = 'hypervisor'
GUEST_PROFILES = sorted(name for name in PROFILES if name != L1_PROFILE)

# The domain options, declared once. Each entry is what AnsibleModule's argument_spec takes, and may add
# ``required_if``: [(option, value, example)], the option is needed when that other option has that value. It
# is checked by DomainSpec (check_required_if), not by AnsibleModule, so that the error names the option and
# gives an example like every other refusal. The modules' documentation is tested against this table
# (tests/unit/plugins/module_utils/test__domain_spec.py): the prose is in plugins/doc_fragments/domain.py and in
# each module, the facts (types, choices, defaults, required, suboptions) must agree with these.
OPTIONS = dict(
    name=dict(type='str', required=True),
    uri=dict(type='str', default='qemu:///system'),
    state=dict(type='str', choices=STATES, default='running'),
    vcpus=dict(type='int'),
    memory=dict(type='str'),
    cpu_mode=dict(type='str', choices=['host-passthrough', 'host-model', 'custom', 'maximum']),
    cpu_model=dict(type='str', required_if=[('cpu_mode', 'custom', 'e.g. EPYC or Skylake-Server')]),
    cpu_topology=dict(type='dict', options=dict(
        sockets=dict(type='int', default=1),
        cores=dict(type='int'),
        threads=dict(type='int', default=1),
    )),
    virt_type=dict(type='str', choices=['auto', 'kvm', 'qemu'], default='auto'),
    machine=dict(type='str', choices=['q35', 'pc'], default='q35'),
    firmware=dict(type='str', choices=['bios', 'efi']),
    disks=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        size=dict(type='str'),
        format=dict(type='str', choices=['qcow2', 'raw', 'vmdk'], default='qcow2'),
        pool=dict(type='str', default='default'),
        backing_image=dict(type='str'),
        bus=dict(type='str', choices=['virtio', 'sata', 'scsi']),
    )),
    cloud_init=dict(type='dict', options=dict(
        hostname=dict(type='str'),
        ssh_authorized_keys=dict(type='list', elements='str', no_log=False),
        ssh_host_keys=dict(type='list', elements='str', no_log=True),
        # Both can carry secrets (password hashes, keys, files written into the guest, Wi-Fi passwords).
        user_data=dict(type='raw', no_log=True),
        vendor_data=dict(type='raw', no_log=True),
        network_config=dict(type='dict', no_log=True),
    )),
    networks=dict(type='list', elements='dict', default=[], options=dict(
        type=dict(type='str', choices=['network', 'bridge', 'user'], default='network'),
        source=dict(type='str'),
        model=dict(type='str', choices=['virtio', 'e1000e', 'rtl8139']),
        mac=dict(type='str'),
        forwards=dict(type='list', elements='dict', default=[], options=dict(
            host_port=dict(type='int', required=True),
            guest_port=dict(type='int', required=True),
            protocol=dict(type='str', choices=['tcp', 'udp'], default='tcp'),
        )),
        restrict=dict(type='bool', default=False),
    )),
    graphics=dict(type='str', choices=['none', 'vnc', 'spice']),
    graphics_password=dict(type='str', no_log=True),
    console_log=dict(type='bool', default=True),
    kernel_boot=dict(type='dict', options=dict(
        kernel=dict(type='str', required=True),
        initrd=dict(type='str'),
        cmdline=dict(type='str'),
    )),
    autostart=dict(type='bool'),
    timeout=dict(type='int', default=120),
    restart_on_change=dict(type='bool', default=False),
    remove_storage=dict(type='bool', default=False),
    adopt=dict(type='bool', default=False),
    access=dict(type='dict', options=dict(
        user=dict(type='str'),
        host_key_alias=dict(type='str', no_log=False),
        address=dict(type='str'),
        port=dict(type='int', default=22),
    )),
)

# What only one module has, by level: l1_domain (1) and l2_domain (2).
LEVEL_OPTIONS = {
    1: dict(
        nested=dict(type='bool', default=True),
    ),
    2: dict(
        profile=dict(type='str', choices=GUEST_PROFILES, default='linux'),
        install_iso=dict(type='str'),
        virtio_iso=dict(type='str'),
        nested=dict(type='bool', default=False),
        kernel_irqchip=dict(type='bool', default=True),
    ),
}

# Keys of OPTIONS that AnsibleModule does not know.
_TABLE_ONLY = ('required_if',)


def _argument_spec(options):
    spec = {}
    for name, option in options.items():
        entry = {key: value for key, value in option.items() if key not in _TABLE_ONLY}
        if 'options' in entry:
            entry['options'] = _argument_spec(entry['options'])
        spec[name] = entry
    return spec


def domain_argument_spec(level=1):
    """The argument_spec of the domain module of ``level`` (1: l1_domain, 2: l2_domain)."""
    # A copy: AnsibleModule and callers may change what they are given, the table stays as declared.
    return copy.deepcopy(_argument_spec(dict(OPTIONS, **LEVEL_OPTIONS[level])))


def module_profile(params):
    """The profile a module's params ask for: l2_domain's profile option, l1_domain's one profile."""
    return params.get('profile') or L1_PROFILE


def check_required_if(params):
    """The ``required_if`` rules of OPTIONS, or an OptionError naming the option that is missing."""
    for name, option in OPTIONS.items():
        for other, value, example in option.get('required_if', ()):
            if params.get(other) == value and not params.get(name):
                raise OptionError(name, '%s %s needs %s, %s' % (other, value, name, example))


# What an access record may hold: each value ends up in SSH's command line (a user, a HostKeyAlias, a host), so
# nothing that SSH would read as an option (a leading '-'), expand ('%') or a shell would split.
_ACCESS_USER = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}')
_ACCESS_ALIAS = re.compile(r'[A-Za-z0-9_.:\[\]-]{1,255}')  # what the roles write to known_hosts (guest_ssh)
_ACCESS_ADDRESS = re.compile(r'[A-Za-z0-9][A-Za-z0-9.-]{0,252}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+')


def validate_access(access, option='access'):
    """The access option (or a record of it read back) with its values checked: a dict of user, host_key_alias,
    address and port (None where not given), or None for no record. A bad value raises an OptionError naming
    ``option``.<key>."""
    if not access or all(access.get(key) is None for key in ('user', 'host_key_alias', 'address')):
        return None
    checked = {}
    for key, pattern, what in (
            ('user', _ACCESS_USER, "a user name: letters, digits, '_', '.' or '-', not starting with '.' or '-'"),
            ('host_key_alias', _ACCESS_ALIAS, 'a host name, an address or [address]:port'),
            ('address', _ACCESS_ADDRESS, 'a host name or an IP address')):
        value = access.get(key)
        if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
            raise OptionError('%s.%s' % (option, key), '%r is not %s' % (value, what))
        checked[key] = value
    port = access.get('port')
    port = 22 if port is None else port
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise OptionError('%s.port' % option, 'must be a port between 1 and 65535, got %r' % (port,))
    checked['port'] = port
    return checked


# Where virtlogd keeps a system domain's serial output (the directory libvirt's own QEMU logs are in).
CONSOLE_LOG = '/var/log/libvirt/qemu/%s-serial.log'
_MAC = re.compile(r'([0-9a-f]{2}:){5}[0-9a-f]{2}')
_CPU_MODEL = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*')

_VOLUME_SUFFIX = {'qcow2': 'qcow2', 'raw': 'img', 'vmdk': 'vmdk'}
_HYPERV_ENLIGHTENMENTS = ('relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'synic', 'stimer',
                          'reset', 'frequencies', 'tlbflush', 'ipi')


class DiskSpec:
    def __init__(self, name, volume, pool, fmt, size, backing_image, bus, target, legacy_volume=None):
        self.name = name
        self.volume = volume
        self.legacy_volume = legacy_volume  # the volume's name in version 0.1.0 (<domain>-<disk>.<suffix>)
        self.pool = pool
        self.format = fmt
        self.size = size
        self.backing_image = backing_image
        self.bus = bus
        self.target = target


class InterfaceSpec:
    def __init__(self, kind, source, model, mac, forwards, restrict):
        self.kind = kind
        self.source = source
        self.model = model
        self.mac = mac
        self.forwards = forwards
        self.restrict = restrict


class DomainSpec:
    """Validated, normalized description of one domain. Built by ``DomainSpec.from_params``."""

    level = 1
    profile = 'hypervisor'
    name = None
    virt_type = None
    machine = 'q35'
    vcpus = None
    memory = None  # bytes
    cpu_mode = None
    cpu_model = None
    cpu_features = ()  # (policy, name) pairs
    topology = None  # (sockets, cores, threads), their product is vcpus
    firmware = 'bios'
    secure_boot = False
    tpm = False
    hyperv = False
    hyperv_nested = None  # None, or 'intel'/'amd': Hyper-V's nested enlightenments for a guest that is a hypervisor
    kernel_irqchip = True  # False: QEMU emulates the interrupt controllers in user space (see _resolve_irqchip)
    osinfo = None
    disks = ()
    cdroms = ()  # paths of ISO images (install media, driver disks)
    seed = None  # cloud_init option dict, or None
    seed_image = None  # the NoCloud seed ISO (bytes) made from it, or None
    interfaces = ()
    user_network_backend = None  # 'passt' or 'qemu-commandline' when there are user-mode interfaces
    graphics = 'none'
    graphics_password = None
    video = None  # the video model shown on the graphical console, None without one
    installer_first = False  # boot the install_iso before the disk (set by the engine while the disk is empty)
    console_log = None  # path of the serial console's log file on the host, or None
    kernel_boot = None
    access = None  # how Ansible reaches the guest over SSH (validate_access), recorded for the topology inventory plugin

    @classmethod
    def from_params(cls, params, host, level=1, profile=L1_PROFILE, warn=None):
        """Validate module params against ``host`` (a _capabilities.HostCapabilities) and return a DomainSpec.

        ``warn`` receives warnings (e.g. falling back to emulation).
        """
        spec = cls()
        warn = warn or (lambda msg: None)
        spec.level = level
        spec.profile = profile
        defaults = PROFILES[profile]

        spec.name = validate_name(params['name'])
        check_required_if(params)
        spec.machine = params['machine']
        spec.osinfo = defaults.get('osinfo')

        spec.vcpus = params['vcpus'] if params['vcpus'] is not None else defaults['vcpus']
        if spec.vcpus < 1:
            raise OptionError('vcpus', 'must be at least 1, got %d' % spec.vcpus)
        spec.memory = (parse_size(params['memory'], 'memory', minimum=16 * 1024 ** 2)
                       if params['memory'] is not None else defaults['memory'])
        spec._check_minimums(defaults)
        spec._check_fits(host)

        spec._resolve_virt_type(params, host, warn)
        spec._resolve_cpu(params, host, warn)
        spec._resolve_topology(params.get('cpu_topology'))
        spec._resolve_firmware(params)
        spec._resolve_irqchip(params)
        spec.disks = tuple(spec._disk(i, d, defaults) for i, d in enumerate(params['disks']))
        spec._check_unique('disks', [d.name for d in spec.disks])
        if 'minimum_disk' in defaults:
            spec._check_minimum_disk(defaults['minimum_disk'])
        spec.interfaces = tuple(spec._interface(i, n, defaults) for i, n in enumerate(params['networks']))
        spec._check_forwards_unique()
        spec.user_network_backend = spec._user_network_backend(host)
        spec._resolve_graphics(params)
        if params['console_log']:
            spec.console_log = CONSOLE_LOG % spec.name
        spec._resolve_seed(params.get('cloud_init'))
        spec.cdroms = tuple((option, params[option]) for option in ('install_iso', 'virtio_iso') if params.get(option))
        for option, path in spec.cdroms:
            if not path.startswith('/'):
                raise OptionError(option, "must be an absolute path on the host, got '%s'" % path)
        if len(spec.disks) + len(spec.cdroms) + (1 if spec.seed else 0) > 26:
            raise OptionError('disks', 'at most 26 disks and CD-ROMs in all')
        spec.kernel_boot = params.get('kernel_boot') or None
        if spec.kernel_boot and not spec.kernel_boot['kernel'].startswith('/'):
            raise OptionError('kernel_boot.kernel', 'must be an absolute path on the host, got %r'
                              % spec.kernel_boot['kernel'])
        spec._resolve_access(params.get('access'))
        if params['timeout'] < 1:
            raise OptionError('timeout', 'must be at least 1 second, got %d' % params['timeout'])
        return spec

    def _check_fits(self, host):
        # More vCPUs or memory than the whole host has cannot run; for an L2 the host is its L1.
        if host.cpus and self.vcpus > host.cpus:
            raise OptionError('vcpus', '%d vCPUs asked for, but the host has %d logical CPUs (for an L2, its L1 is the host): '
                                       'lower vcpus, or give the host more CPUs' % (self.vcpus, host.cpus))
        if host.memory and self.memory > host.memory:
            raise OptionError('memory', '%s asked for, but the host has %s in all (for an L2, its L1 is the host): lower '
                                        'memory, or give the host more' % (format_size(self.memory), format_size(host.memory)))

    def _check_minimums(self, defaults):
        minimum = defaults.get('minimum_vcpus')
        if minimum and self.vcpus < minimum:
            raise OptionError('vcpus', 'the %s profile needs at least %d vCPUs, got %d' % (self.profile, minimum, self.vcpus))
        minimum = defaults.get('minimum_memory')
        if minimum and self.memory < minimum:
            raise OptionError('memory', 'the %s profile needs at least %s, got %s'
                              % (self.profile, format_size(minimum), format_size(self.memory)))

    def _check_minimum_disk(self, minimum):
        if not self.disks:
            raise OptionError('disks', 'the %s profile needs a system disk of at least %s: add one to disks'
                              % (self.profile, format_size(minimum)))
        first = self.disks[0]
        if first.size is not None and first.size < minimum:
            raise OptionError('disks[0].size', 'the %s profile needs a system disk of at least %s, got %s'
                              % (self.profile, format_size(minimum), format_size(first.size)))

    @staticmethod
    def _check_unique(option, values):
        seen = set()
        for value in values:
            if value in seen:
                raise OptionError(option, "'%s' appears twice: each entry needs its own name" % value)
            seen.add(value)

    def _check_forwards_unique(self):
        seen = {}
        for protocol, port, option in self.forwards:
            if (protocol, port) in seen:
                raise OptionError(option, '%s port %d on 127.0.0.1 is already forwarded by %s: give each forward its own '
                                          'host port' % (protocol, port, seen[(protocol, port)]))
            seen[(protocol, port)] = option

    def _resolve_virt_type(self, params, host, warn):
        wanted = params['virt_type']
        if wanted == 'auto':
            choice = choose_virt_type(host.domain_types, host.virtualization_feature)
            self.virt_type = choice.virt_type
            if choice.why == ONLY_KVM:
                warn("libvirt offers only domain type kvm here (its QEMU has no TCG emulation), although the "
                     "host CPU shows no vmx/svm: '%s' runs on KVM" % self.name)
            elif self.virt_type == 'qemu':
                where = 'this L1' if self.level == 2 else 'the host'
                warn("%s has no usable hardware virtualization (no /dev/kvm with vmx/svm behind the URI): "
                     "'%s' runs EMULATED (virt_type qemu, TCG), which is far slower than KVM" % (where, self.name))
            return
        # Drivers that report no x86_64 guests at all (libvirt's test driver) cannot be checked.
        if host.domain_types & {'kvm', 'qemu'} and wanted not in host.domain_types:
            raise OptionError('virt_type', "libvirt does not offer domain type '%s' on this host (it offers: %s); "
                                           "use virt_type auto or qemu" % (wanted, ', '.join(sorted(host.domain_types))))
        self.virt_type = wanted

    def _resolve_cpu(self, params, host, warn):
        mode = params['cpu_mode'] or ('host-passthrough' if self.virt_type == 'kvm' else 'maximum')
        if mode == 'host-passthrough' and self.virt_type == 'qemu':
            raise OptionError('cpu_mode', 'host-passthrough needs KVM but this domain is emulated (virt_type qemu): '
                                          'use cpu_mode maximum (the default for emulation) or custom')
        model = params['cpu_model']
        if mode == 'custom':
            if not _CPU_MODEL.fullmatch(model):
                raise OptionError('cpu_model', "'%s' is not a CPU model name" % model)
        elif model:
            raise OptionError('cpu_model', 'is only used with cpu_mode custom (cpu_mode is %s)' % mode)
        self.cpu_mode = mode
        self.cpu_model = model if mode == 'custom' else None
        if params.get('nested'):
            feature = self._nested_feature(host, warn)
            if mode != 'host-passthrough':
                self.cpu_features = (('require', feature),)
            if self.profile == 'windows11' and self.virt_type == 'kvm':
                # QEMU's Hyper-V docs: nested Hyper-V (Windows' VBS) uses synthetic timers in direct mode only, and
                # Enlightened VMCS (Intel only) speeds up its nested guests' exits.
                self.hyperv_nested = 'intel' if feature == 'vmx' else 'amd'
        elif self.profile == 'windows11':
            # Windows 11 turns on virtualization-based security wherever it sees VT-x/AMD-V, which makes this guest
            # a hypervisor one level further down: hide it unless nested asks for it.
            hidden = host.virtualization_feature if self.virt_type == 'kvm' else 'svm'  # TCG's maximum has svm
            if hidden:
                self.cpu_features = (('disable', hidden),)

    def _resolve_topology(self, topology):
        # Without a topology libvirt gives QEMU one socket per vCPU, and Windows editions limited to one or two
        # sockets then use fewer CPUs than the guest has: one socket with N cores unless asked otherwise.
        if not topology:
            self.topology = (1, self.vcpus, 1)
            return
        sockets, threads = topology['sockets'], topology['threads']
        cores = topology['cores'] if topology['cores'] is not None else self.vcpus // max(sockets * threads, 1)
        for name, value in (('sockets', sockets), ('cores', cores), ('threads', threads)):
            if value < 1:
                raise OptionError('cpu_topology.%s' % name, 'must be at least 1, got %d' % value)
        if sockets * cores * threads != self.vcpus:
            raise OptionError('cpu_topology', '%d sockets x %d cores x %d threads is %d vCPUs, but vcpus is %d: they '
                                              'must match' % (sockets, cores, threads, sockets * cores * threads,
                                                              self.vcpus))
        self.topology = (sockets, cores, threads)

    def _nested_feature(self, host, warn):
        """The CPU flag an L1 needs to be a hypervisor itself, or an OptionError if L0 cannot offer it."""
        if self.virt_type == 'qemu':
            # TCG emulates AMD-V (svm) whatever the host CPU is; it has no VT-x emulation.
            if self.cpu_mode == 'host-model':
                raise OptionError('cpu_mode', 'host-model cannot be combined with emulation and nested: '
                                              'use cpu_mode maximum (the default)')
            return 'svm'
        feature = host.virtualization_feature
        if feature is None:
            raise OptionError('nested', "the L0 host behind the URI exposes neither vmx (Intel VT-x) nor svm (AMD-V), "
                                        "so '%s' cannot be a KVM hypervisor. Enable VT-x/AMD-V in the firmware (or "
                                        "nesting on this host's own hypervisor), or use virt_type qemu for an "
                                        "emulated L1 with AMD-V" % self.name)
        # The CPU flag only says the hardware has it; whether KVM hands it to guests (kvm_intel/kvm_amd nested=1)
        # shows in the host-model CPU of libvirt's domain capabilities. Checked here, before anything is made.
        nesting = host.kvm_nesting
        if nesting['offered'] is False:
            module = 'kvm_intel' if feature == 'vmx' else 'kvm_amd'
            raise OptionError('nested', "KVM on the L0 host behind the URI does not give its guests %s: the host-model "
                                        "CPU of libvirt's domain capabilities (%s) lacks it, which is what %s with "
                                        "nested=0 shows. '%s' would start without it and could not run KVM guests. "
                                        "Turn nesting on there (nestedkvm.stack.kvm_nested_param, or the l0_host role) "
                                        "or set nested false. Nothing was changed"
                                        % (feature, nesting['model'], module, self.name))
        if nesting['offered'] is None:
            warn("could not confirm that KVM on the L0 host gives '%s' %s (%s): if its nesting is off, the guest "
                 "starts without it" % (self.name, feature, nesting['detail']))
        return feature

    def _resolve_firmware(self, params):
        self.firmware = params['firmware'] or 'bios'
        if self.profile == 'windows11':
            if params['firmware'] == 'bios':
                raise OptionError('firmware', 'Windows 11 needs UEFI with Secure Boot: use firmware efi (the default '
                                              'of the windows11 profile)')
            if self.machine != 'q35':
                raise OptionError('machine', 'Windows 11 with Secure Boot needs machine q35')
            self.firmware = 'efi'
            self.secure_boot = True
            self.tpm = True
            # Hyper-V enlightenments need KVM; QEMU's TCG refuses them (HV VP_INDEX).
            self.hyperv = self.virt_type == 'kvm'

    def _resolve_irqchip(self, params):
        self.kernel_irqchip = params.get('kernel_irqchip', True)
        if self.kernel_irqchip:
            return
        if self.virt_type != 'kvm':
            raise OptionError('kernel_irqchip', 'only applies to KVM guests, and this one is emulated (virt_type %s): '
                                                'leave it true' % self.virt_type)
        if self.hyperv_nested:
            raise OptionError('kernel_irqchip', 'nested Hyper-V (nested true on the windows11 profile) needs synthetic '
                                                "timers, which need KVM's in-kernel interrupt controller: leave "
                                                'kernel_irqchip true, or set nested false')

    def _disk(self, index, disk, defaults):
        option = 'disks[%d]' % index
        validate_name(disk['name'], 'disk', option + '.name')
        size = parse_size(disk['size'], option + '.size', default_unit='GiB') if disk['size'] is not None else None
        backing = disk['backing_image']
        if size is None and not backing:
            raise OptionError(option + '.size', "disk '%s' needs a size (e.g. 20GiB) or a backing_image" % disk['name'])
        if backing and disk['format'] != 'qcow2':
            raise OptionError(option + '.format', 'a disk with backing_image is a copy-on-write overlay and must be '
                                                  'qcow2, got %s' % disk['format'])
        if backing and not backing.startswith('/'):
            raise OptionError(option + '.backing_image', "must be an absolute path on the host, got '%s'" % backing)
        bus = disk['bus'] or defaults['disk_bus']
        suffix = _VOLUME_SUFFIX[disk['format']]
        # '@' is in neither a domain's nor a disk's name, so no two (domain, disk) pairs share a volume;
        # '-' was, and (a-b, c) and (a, b-c) did. Volumes made under the old name keep it (Storage.plan_disks).
        return DiskSpec(name=disk['name'], volume='%s@%s.%s' % (self.name, disk['name'], suffix),
                        legacy_volume='%s-%s.%s' % (self.name, disk['name'], suffix),
                        pool=disk['pool'], fmt=disk['format'], size=size, backing_image=backing, bus=bus,
                        target=_target_dev(bus, index))

    def _interface(self, index, net, defaults):
        option = 'networks[%d]' % index
        kind = net['type']
        if kind != 'user' and not net['source']:
            raise OptionError(option + '.source', 'a %s interface needs source: the libvirt %s name'
                              % (kind, 'network' if kind == 'network' else 'bridge'))
        if kind != 'user' and (net['forwards'] or net['restrict']):
            raise OptionError(option + '.forwards', 'port forwards and restrict only apply to type user')
        mac = net['mac'].lower() if net['mac'] else None
        if mac is not None and not _MAC.fullmatch(mac):
            raise OptionError(option + '.mac', "'%s' is not a MAC address such as 52:54:00:12:34:56" % net['mac'])
        forwards = []
        for number, fwd in enumerate(net['forwards']):
            for key in ('host_port', 'guest_port'):
                if not 1 <= fwd[key] <= 65535:
                    raise OptionError('%s.forwards[%d].%s' % (option, number, key),
                                      'must be a port between 1 and 65535, got %d' % fwd[key])
            forwards.append((fwd['protocol'], fwd['host_port'], fwd['guest_port']))
        return InterfaceSpec(kind=kind, source=net['source'], model=net['model'] or defaults['nic_model'], mac=mac,
                             forwards=tuple(forwards), restrict=net['restrict'])

    def _user_network_backend(self, host):
        # libvirt's own interface (passt) where the host offers it: a <qemu:commandline> netdev marks the domain
        # tainted and out of libvirt's management. passt has no counterpart of SLIRP's restrict=on, so a
        # restricted network stays a QEMU netdev. One backend for all user-mode interfaces of the domain.
        users = self.user_interfaces
        if not users:
            return None
        if host.passt_usable and not any(iface.restrict for iface in users):
            return 'passt'
        return 'qemu-commandline'

    def _resolve_access(self, access):
        self.access = validate_access(access)
        if self.access is None or self.access['address'] is not None:
            return
        # Without an address, the guest is reached through a forward of its SSH port: one must be there.
        if not any(protocol == 'tcp' and guest == self.access['port']
                   for iface in self.user_interfaces for protocol, _host, guest in iface.forwards):
            raise OptionError('access.address', 'no user-network forward leads to guest port %d (access.port), so the '
                                                'guest can only be reached at an address: give access.address, or add '
                                                'a forward to networks' % self.access['port'])

    def _resolve_seed(self, cloud_init):
        self.seed = {k: v for k, v in (cloud_init or {}).items() if v is not None} or None
        if self.seed:
            # Imported only here: each module run compiles the module_utils it imports (AnsiballZ
            # imports them from a zip, with no cached bytecode), and only a domain with a seed needs it.
            from ansible_collections.nestedkvm.stack.plugins.module_utils._nocloud import seed_iso

            # Made here, with the other options checked, because making it is what checks cloud_init.
            self.seed_image = seed_iso(self.name, self.seed)

    def _resolve_graphics(self, params):
        # Windows Setup has no serial console: the windows11 profile has a graphical one unless told otherwise.
        self.graphics = params['graphics'] or ('vnc' if self.profile == 'windows11' else 'none')
        self.graphics_password = params['graphics_password']
        if self.graphics != 'none' and not self.graphics_password:
            raise OptionError('graphics_password', 'a %s console needs a password (it listens on 127.0.0.1 only, '
                                                   'but any local user could reach it otherwise)%s'
                              % (self.graphics, '; the windows11 profile has one by default (set graphics none for '
                                                'none)' if params['graphics'] is None else ''))
        if self.graphics != 'none':
            # A known model rather than libvirt's pick: VGA works with OVMF's GOP and Windows' inbox display driver.
            self.video = 'vga'
        if self.graphics == 'vnc' and len(self.graphics_password) > 8:
            raise OptionError('graphics_password', 'VNC passwords are limited to 8 characters')

    @property
    def forwards(self):
        """(protocol, host port, option) of every port forward, in the order given."""
        return [(protocol, host_port, 'networks[%d].forwards[%d].host_port' % (i, j))
                for i, iface in enumerate(self.interfaces) for j, (protocol, host_port, _guest) in enumerate(iface.forwards)]

    @property
    def user_interfaces(self):
        return [i for i in self.interfaces if i.kind == 'user']

    @property
    def hyperv_enlightenments(self):
        if not self.hyperv:
            return ()
        if not self.kernel_irqchip:
            # KVM implements SynIC (and the synthetic timers built on it) only with its in-kernel local APIC.
            return tuple(name for name in _HYPERV_ENLIGHTENMENTS if name not in ('synic', 'stimer'))
        return _HYPERV_ENLIGHTENMENTS


def _target_dev(bus, index):
    prefix = 'vd' if bus == 'virtio' else 'sd'
    return prefix + 'abcdefghijklmnopqrstuvwxyz'[index]
