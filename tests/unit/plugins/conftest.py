"""A fake host tree for the readers of the host, which all read through plugins/module_utils/_hostfs.py (used by the
module_utils and module tests).

What is faked, and why:
- /proc/cpuinfo, /proc/modules, /proc/cmdline, /sys/module/<mod>/..., /sys/class/dmi/id/..., /etc/passwd,
  /etc/group, /etc/libvirt/qemu.conf, /etc/modprobe.d: plain files under tmp_path, because the machine the tests
  run on has one CPU vendor, no kvm_intel/kvm_amd and no DMI, and tests must not depend on it or change it.
- /dev/kvm: a regular file (creating a character device needs mknod and would be the real KVM anyway). Its owner,
  group and mode are real (the permission judgement reads them); whether KVM_CREATE_VM works is decided by a
  replacement of _dev_kvm.probe_kvm_device, since the ioctls need the real device.
- /proc/<pid>/fd/<n>: symlinks whose target is the string '/dev/kvm', like the kernel's fd links, plus comm and a
  NUL-separated cmdline.
_hostfs.ROOT is pointed at the tree for the duration of a test (monkeypatch undoes it).

Module and plugin tests run on libvirt's test driver (test:///default), an in-memory hypervisor shared by all
connections of this process while one stays open, and reset when the last one closes: the ``hypervisor`` fixture
holds a connection for the length of one test, so calling a module twice sees the first run's domains, and the next
test starts clean.
"""

import os
import shutil
import subprocess

import libvirt
import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _dev_kvm, _hostfs
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_URI

INTEL_CPUINFO = """processor\t: {n}
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr vmx lm{extra}
vmx flags\t: vnmi preemption_timer invvpid ept_x_only ept ept_ad ept_1gb flexpriority tsc_offset vtpr mtf
"""

AMD_CPUINFO = """processor\t: {n}
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7763 64-Core Processor
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr svm npt lm{extra}
"""

# Like the machine these tests were written on: KVM is PVM (kvm_pvm) and the CPU lists neither vmx nor svm.
NONE_CPUINFO = """processor\t: {n}
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9654 96-Core Processor
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr lm{extra}
"""

# Like the machine they run on now (tests/unit/fixtures/capabilities/pvm-no-vmx.xml): an Intel CPU whose hypervisor
# hides VT-x, with KVM as PVM.
INTEL_NO_VT_CPUINFO = """processor\t: {n}
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr lm{extra}
"""

# The lab's L1 (2026-12-02): the CPU QEMU emulates under TCG for an L1 on an emulated L0, AMD-V included.
TCG_CPUINFO = """processor\t: {n}
vendor_id\t: AuthenticAMD
model name\t: QEMU TCG CPU version 2.5+
flags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr svm npt lm{extra}
"""

CPUINFO = {'intel': INTEL_CPUINFO, 'amd': AMD_CPUINFO, 'none': NONE_CPUINFO, 'intel-no-vt': INTEL_NO_VT_CPUINFO,
           'tcg': TCG_CPUINFO}

KVM_GID = 108
QEMU_UID = 64055


class FakeHost(object):
    def __init__(self, root):
        self.root = str(root)
        self.probe_calls = []
        self.probe_result = None  # None: usable when the file exists

    def path(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def write(self, path, text, mode=None):
        real = self.path(path)
        if not os.path.isdir(os.path.dirname(real)):
            os.makedirs(os.path.dirname(real))
        with open(real, 'w') as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(real, mode)
        return real

    def read(self, path):
        with open(self.path(path)) as handle:
            return handle.read()

    def exists(self, path):
        return os.path.lexists(self.path(path))

    def cpu(self, kind, hypervisor=False, cpus=2):
        extra = ' hypervisor' if hypervisor else ''
        self.write('/proc/cpuinfo', '\n'.join(CPUINFO[kind].format(n=n, extra=extra) for n in range(cpus)))
        return self

    def module(self, name, nested=None, builtin=False, **params):
        """A kernel module in /sys/module (with its nested parameter, and any other ``params`` such as ept='Y')
        and, unless built in, in /proc/modules."""
        os.makedirs(self.path('/sys/module/%s/parameters' % name))
        if nested is not None:
            params['nested'] = nested
        for param, value in params.items():
            self.write('/sys/module/%s/parameters/%s' % (name, param), '%s\n' % value)
        if not builtin:
            self.write('/sys/module/%s/initstate' % name, 'live\n')
            listed = self.read('/proc/modules') if self.exists('/proc/modules') else ''
            self.write('/proc/modules', listed + '%s 425984 0 - Live 0x0000000000000000\n' % name)
        return self

    def users(self, qemu_user='libvirt-qemu', in_kvm_group=True):
        self.write('/etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n'
                   '%s:x:%d:%d::/var/lib/libvirt:/usr/sbin/nologin\n' % (qemu_user, QEMU_UID, QEMU_UID))
        self.write('/etc/group', 'root:x:0:\nkvm:x:%d:%s\n%s:x:%d:\n'
                   % (KVM_GID, qemu_user if in_kvm_group else '', qemu_user, QEMU_UID))
        return self

    def dev_kvm(self, mode=0o660, uid=0, gid=KVM_GID):
        if os.geteuid() != 0:
            pytest.skip('giving the fake /dev/kvm an owner and group needs root')
        real = self.write('/dev/kvm', '')
        os.chown(real, uid, gid)
        os.chmod(real, mode)
        return self

    def guest(self, pid, name=None, comm='qemu-system-x86', fd=17, args=None):
        """A process holding /dev/kvm open: /proc/<pid>/fd/<fd> -> /dev/kvm."""
        fd_dir = self.path('/proc/%d/fd' % pid)
        os.makedirs(fd_dir)
        os.symlink('/dev/null', os.path.join(fd_dir, '0'))
        os.symlink('/dev/kvm', os.path.join(fd_dir, str(fd)))
        self.write('/proc/%d/comm' % pid, comm + '\n')
        if args is None:
            args = ['/usr/bin/qemu-system-x86_64', '-name', 'guest=%s,debug-threads=on' % name, '-S']
        self.write('/proc/%d/cmdline' % pid, '\0'.join(args) + '\0')
        return self

    def probe(self, path):
        """Stands in for _dev_kvm.probe_kvm_device (the KVM ioctls need the real device)."""
        self.probe_calls.append(path)
        if self.probe_result is not None:
            return self.probe_result
        return True, 12, None


@pytest.fixture
def fake_host(tmp_path, monkeypatch):
    """An empty fake host tree with _hostfs.ROOT pointing at it and the /dev/kvm probe replaced."""
    host = FakeHost(tmp_path / 'host')
    os.makedirs(host.root)
    monkeypatch.setattr(_hostfs, 'ROOT', host.root)
    monkeypatch.setattr(_dev_kvm, 'probe_kvm_device', host.probe)
    return host


@pytest.fixture
def module_warnings(monkeypatch):
    """Collects what modules pass to AnsibleModule.warn."""
    from ansible.module_utils import basic

    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: seen.append(msg))
    return seen


FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'fixtures')


def _stored(kind, name):
    with open(os.path.join(FIXTURES, kind, name)) as handle:
        return handle.read()


@pytest.fixture
def stored():
    """stored(kind, name): the text of tests/unit/fixtures/<kind>/<name> (see the README there)."""
    return _stored


@pytest.fixture
def kvm_l0(monkeypatch):
    """Make the test driver answer like an L0 with VT-x/AMD-V: the capabilities stored in
    tests/unit/fixtures/capabilities (intel-kvm.xml or amd-kvm.xml) and the domain capabilities ``name`` stored in
    tests/unit/fixtures/domcaps. Only those two answers are replaced (no such host exists here); defining, volumes and
    the CPU model expansion are the test driver's own."""
    import libvirt

    def use(name):
        caps = _stored('capabilities', 'intel-kvm.xml' if name.startswith('intel') else 'amd-kvm.xml')
        domcaps = _stored('domcaps', name)
        monkeypatch.setattr(libvirt.virConnect, 'getCapabilities', lambda self: caps)
        monkeypatch.setattr(libvirt.virConnect, 'getDomainCapabilities', lambda self, *args: domcaps)
    return use


class TestHypervisor:
    uri = TEST_URI
    pool = 'default-pool'  # the test driver's one pool, at /default-pool

    def __init__(self):
        self.conn = libvirt.open(self.uri)
        self._builtin = {d.name() for d in self.conn.listAllDomains()}  # the driver's own 'test' domain

    def domains(self):
        """Domains defined since the fixture started."""
        return sorted(d.name() for d in self.conn.listAllDomains() if d.name() not in self._builtin)

    def volumes(self):
        return sorted(self.conn.storagePoolLookupByName(self.pool).listVolumes())

    def domain(self, name):
        return self.conn.lookupByName(name)

    def snapshot(self):
        """Everything a module run could change: each domain's definition, power state and autostart, each
        volume's description. Equal snapshots before and after a run mean the run changed nothing."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        pool = self.conn.storagePoolLookupByName(self.pool)
        return dict(domains={d.name(): (d.XMLDesc(flags), d.state()[0], d.autostart()) for d in self.conn.listAllDomains()},
                    volumes={v.name(): v.XMLDesc(0) for v in pool.listAllVolumes()})

    def define_by_hand(self, name, disks=(), start=False):
        """A domain a person made (no record of this collection), with ``disks`` (paths) attached."""
        devices = ''.join("<disk type='file' device='disk'><source file='%s'/><target dev='vd%s'/></disk>"
                          % (path, 'abcdefgh'[i]) for i, path in enumerate(disks))
        domain = self.conn.defineXML("<domain type='test'><name>%s</name><memory>524288</memory><os><type>hvm</type>"
                                     "</os><devices>%s</devices></domain>" % (name, devices))
        if start:
            domain.create()
        return domain

    def copy(self, original, name, xml_edit=None):
        """What `virsh dumpxml <original> | <rename, drop the uuid> | virsh define` makes (and virt-clone,
        which gives the copy a new UUID too): a second domain with the first one's metadata."""
        from lxml import etree

        root = etree.fromstring(self.domain(original).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
        root.find('name').text = name
        root.remove(root.find('uuid'))
        for mac in root.iterfind('devices/interface/mac'):
            mac.getparent().remove(mac)
        if xml_edit is not None:
            xml_edit(root)
        return self.conn.defineXML(etree.tostring(root).decode())

    def add_volume(self, name, size='1', unit='GiB', fmt='qcow2'):
        self.conn.storagePoolLookupByName(self.pool).createXML(
            "<volume><name>%s</name><capacity unit='%s'>%s</capacity><target><format type='%s'/></target></volume>"
            % (name, unit, size, fmt), 0)
        return '/%s/%s' % (self.pool, name)


@pytest.fixture
def hypervisor():
    test_hypervisor = TestHypervisor()
    yield test_hypervisor
    test_hypervisor.conn.close()


@pytest.fixture(scope='session')
def driver_parses_passt():
    """Whether this libvirt's test driver takes <backend type='passt'/> (Debian 12's 9.0 has passt disabled)."""
    conn = libvirt.open(TEST_URI)
    try:
        conn.defineXML("<domain type='test'><name>passt-probe</name><memory>65536</memory><os><type>hvm</type></os>"
                       "<devices><interface type='user'><backend type='passt'/></interface></devices></domain>").undefine()
        return True
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


@pytest.fixture
def our_definition(driver_parses_passt):
    """our_definition(name, level=1, forwards=(), access=None, passt=True) -> the definition (lxml root) that
    l1_domain (level 1) or l2_domain (level 2, profile linux) makes for a guest with a user network forwarding
    ``forwards`` ((host port, guest port) pairs) and the ``access`` record, with the collection's record naming a
    new UUID, built by the modules' own module_utils.

    ``passt``: the forwards as libvirt's passt interface (its <portForward>), which libvirt's test driver keeps; it
    drops the <qemu:commandline> of the other backend (the lab's, for a restricted network), so that one can only be
    read as XML here. Debian 12's libvirt 9.0 refuses <backend type='passt'/>, and keeps the <portForward> without it:
    the backend element is left out there."""
    import uuid

    from ansible_collections.nestedkvm.stack.plugins.module_utils import _domain_xml
    from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities
    from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_spec import DomainSpec, domain_argument_spec

    def build(name, level=1, forwards=(), access=None, passt=True):
        params = {option: spec.get('default') for option, spec in domain_argument_spec().items()}
        network = dict(type='user', source=None, model=None, mac=None, restrict=not passt,
                       forwards=[dict(host_port=host, guest_port=guest, protocol='tcp') for host, guest in forwards])
        params.update(name=name, virt_type='qemu', nested=level == 1, networks=[network] if forwards else [],
                      access=dict(dict(user=None, host_key_alias=None, address=None, port=22), **access) if access else None)
        host = HostCapabilities({'kvm', 'qemu'}, 'amd', set(), net_backends={'default', 'passt'}, passt_ready=True)
        spec = DomainSpec.from_params(params, host, level=level, profile='hypervisor' if level == 1 else 'linux')
        root = _domain_xml.build(spec, [], uuid=str(uuid.uuid4()))
        if passt and not driver_parses_passt:
            for backend in root.iterfind("devices/interface[@type='user']/backend"):
                backend.getparent().remove(backend)
        return root
    return build


@pytest.fixture
def ssh_route():
    """ssh_route(host_variables) -> [(host, port, user, HostKeyAlias, UserKnownHostsFile)] of every hop ssh takes to
    reach a host with these Ansible variables, the first hop first: each ProxyCommand has its %-tokens expanded once
    and is split as a shell would, as ssh does. Checked on the way: a hop with a HostKeyAlias checks its host key
    strictly, and the hops of a ProxyCommand run in batch mode."""
    import shlex

    def hop_route(args, host, port, user, proxied):
        options = {}
        rest = list(args)
        while rest:
            flag = rest.pop(0)
            if flag == '-o':
                key, _sep, value = rest.pop(0).partition('=')
                options[key] = value
            elif flag in ('-i', '-p', '-l'):
                options[flag] = rest.pop(0)
        hop = (host, port, user, options.get('HostKeyAlias'), options.get('UserKnownHostsFile'))
        if hop[3]:
            assert options['StrictHostKeyChecking'] == 'yes'
        assert options.get('BatchMode') == ('yes' if proxied else None)
        proxy = options.get('ProxyCommand')
        if proxy is None:
            return [hop]
        expanded = proxy.replace('%%', '\0').replace('%h', str(host)).replace('%p', str(port)).replace('\0', '%')
        command = shlex.split(expanded)
        assert command[0] == 'ssh' and command[-3:-1] == ['-W', '%s:%s' % (host, port)]
        jump = dict(zip(command[1:-3:2], command[2:-3:2]))
        jump_port = int(jump['-p']) if '-p' in jump else None
        return [*hop_route(command[1:-3], command[-1], jump_port, jump.get('-l'), proxied=True), hop]

    def route(variables):
        return hop_route(shlex.split(variables['ansible_ssh_common_args']), variables['ansible_host'],
                         variables['ansible_port'], variables.get('ansible_user'), proxied=False)
    return route


MODULE_UTILS = 'ansible_collections.nestedkvm.stack.plugins.module_utils'
MODULE_UTILS_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'plugins', 'module_utils')


def _imports(path):
    """(module_utils files, other top-level modules) that a Python file imports, at its top or inside a function:
    AnsiballZ packs every module_utils file named anywhere in a module."""
    import ast
    with open(path) as handle:
        tree = ast.parse(handle.read())
    ours, others = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == MODULE_UTILS:
            ours.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith(MODULE_UTILS + '.'):
            ours.add(node.module.rsplit('.', 1)[1])
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            others.add(node.module.split('.')[0])
        elif isinstance(node, ast.Import):
            others.update(alias.name.split('.')[0] for alias in node.names)
    return ours, others


@pytest.fixture
def packed():
    """packed(path): (the module_utils files a module or module_utils file at ``path`` brings along, with theirs,
    and every other top-level module any of them imports)."""
    def closure(path):
        ours, others = _imports(path)
        done = set()
        while ours - done:
            name = (ours - done).pop()
            done.add(name)
            more, outside = _imports(os.path.join(MODULE_UTILS_DIR, name + '.py'))
            ours |= more
            others |= outside
        return ours, others - {'ansible_collections'}
    return closure


# SSH keys made by OpenSSH itself: what cloud-init's ssh_keys must take (the NoCloud seed's tests).
SSH_KEYGEN = shutil.which('ssh-keygen')


@pytest.fixture
def keygen(tmp_path):
    """keygen(type, passphrase='') -> (private key text, public key line as ssh-keygen -y prints it)."""
    if not SSH_KEYGEN:
        pytest.skip('ssh-keygen (openssh-client) not installed')

    def make(key_type, passphrase=''):
        path = str(tmp_path / key_type)
        subprocess.run([SSH_KEYGEN, '-q', '-t', key_type, '-N', passphrase, '-C', 'c', '-f', path], check=True)
        with open(path) as private:
            text = private.read()
        with open(path + '.pub') as public:
            return text, ' '.join(public.read().split()[:2])
    return make
