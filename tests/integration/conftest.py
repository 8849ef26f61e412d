"""The integration tier: ansible-playbook against the real local libvirtd (qemu:///system), with
QEMU under TCG. `make integration` starts libvirtd first (hack/libvirtd.sh). The tests get a
storage pool of their own in a temporary directory and remove it, and every domain they made,
afterwards."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from lxml import etree

from ansible_collections.nestedkvm.stack.plugins.module_utils._host_info import format_version

libvirt = pytest.importorskip('libvirt')

URI = 'qemu:///system'
POOL = 'nestedkvm-it'
# Every domain and volume the tests make starts with this (on a shared host, give each engineer their own).
PREFIX = os.environ.get('NK_IT_PREFIX', 'nk-it-')
HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_report_header(config):
    """The stack under test, at the top of the tier's output: CI runs this tier on both (docs/stacks.md)."""
    try:
        conn = libvirt.open(URI)
    except libvirt.libvirtError as exc:
        return 'stack: no libvirtd at %s (%s)' % (URI, exc)
    try:
        return 'stack: libvirtd %s, QEMU %s (%s)' % (format_version(conn.getLibVersion()), format_version(conn.getVersion()), URI)
    finally:
        conn.close()


class _System:
    """The connection to qemu:///system, opened again when libvirtd was restarted (test_faults does)."""

    def __init__(self):
        self._conn = None

    def __getattr__(self, name):
        if not self._alive():
            self._conn = libvirt.open(URI)
        return getattr(self._conn, name)

    def _alive(self):
        try:
            return self._conn is not None and self._conn.isAlive() == 1
        except libvirt.libvirtError:
            return False

    def reopen(self):
        """After a libvirtd restart: a dead socket can pass for alive until a call fails on it."""
        self._conn = None

    def close(self):
        if self._conn is not None:
            self._conn.close()


@pytest.fixture(scope='session')
def system():
    conn = _System()
    try:
        conn.getVersion()
    except libvirt.libvirtError as exc:
        pytest.fail('integration tier needs libvirtd at %s (run hack/libvirtd.sh start as root): %s' % (URI, exc))
    yield conn
    conn.close()


@pytest.fixture(scope='session')
def pool(system):
    # Under /var/lib so the QEMU user can reach the images (a home or /tmp path may not be traversable).
    base = '/var/lib/libvirt/images' if os.path.isdir('/var/lib/libvirt/images') else tempfile.gettempdir()
    path = tempfile.mkdtemp(prefix='nestedkvm-it-', dir=base)
    os.chmod(path, 0o755)
    remove_pool(system)
    pool = system.storagePoolDefineXML("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>"
                                       % (POOL, path), 0)
    pool.create(0)
    yield POOL
    _cleanup_domains(system)
    remove_pool(system)
    shutil.rmtree(path, ignore_errors=True)


def _cleanup_domains(system):
    for domain in system.listAllDomains():
        if domain.name().startswith(PREFIX):
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)


def remove_pool(system, name=POOL):
    """Remove pool ``name`` and its volumes, if it is there (also one a dead run left behind)."""
    try:
        pool = system.storagePoolLookupByName(name)
    except libvirt.libvirtError:
        return
    if pool.isActive():
        for volume in pool.listAllVolumes():
            volume.delete(0)
        pool.destroy()
    pool.undefine()


def host_state(system, pools=(), paths=(), others=()):
    """What a run could have changed on this host, to compare before and after it: every domain of the tier's prefix
    (but ``others``) with its definition; every pool of the prefix and of ``pools``, with its path, whether it runs,
    and its volumes' definitions; every file and directory at or below the glob patterns ``paths``, with its mode,
    owner, size and modification time."""
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
    state = dict(domains={d.name(): d.XMLDesc(flags) for d in system.listAllDomains()
                          if d.name().startswith(PREFIX) and d.name() not in others},
                 pools={}, volumes={}, files={})
    for pool in system.listAllStoragePools():
        name = pool.name()
        if not (name.startswith(PREFIX) or name in pools):
            continue
        active = pool.isActive()
        # Not the pool's whole XML: its free space moves with whatever else writes to that file system.
        state['pools'][name] = (active, etree.fromstring(pool.XMLDesc(0)).findtext('target/path'))
        for volume in pool.listAllVolumes() if active else ():
            state['volumes']['%s/%s' % (name, volume.name())] = _volume_identity(volume)
    for pattern in paths:
        for top in glob.glob(pattern):
            for path in _files(top):
                status = os.lstat(path)
                state['files'][path] = (status.st_mode, status.st_uid, status.st_gid, status.st_size,
                                        status.st_mtime_ns)
    return state


def _volume_identity(volume):
    """A volume's definition without what moves while a running guest uses it (allocation, times), plus the inode
    of its file, which a volume deleted and made again does not keep."""
    root = etree.fromstring(volume.XMLDesc(0))
    for moving in root.xpath('allocation | physical | target/timestamps'):
        moving.getparent().remove(moving)
    path = root.findtext('target/path')
    return etree.tostring(root), os.lstat(path).st_ino if path and os.path.exists(path) else None


def _files(top):
    """A file, or everything below a directory."""
    if not os.path.isdir(top):
        yield top
    for directory, subdirectories, files in os.walk(top):
        for name in subdirectories + files:
            yield os.path.join(directory, name)


def ansible_playbook(arguments, env=None):
    """Run ansible-playbook with ``arguments`` (and extra environment) in a process group of its own, with this
    checkout as the collection; returns the finished process (returncode, stdout with stderr)."""
    environment = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0')
    environment.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(HERE, '..', '..', '.work', 'collections'))
    environment.update(env or {})
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), *arguments]
    return subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False, start_new_session=True)


@pytest.fixture
def run_playbook(pool):
    """run_playbook(name, *options, env=None, **extra_vars) runs tests/integration/playbooks/<name>
    (with extra ansible-playbook options such as '-vvv', and extra environment) in a process group
    of its own, and returns the finished process (returncode, stdout with stderr)."""
    def run(name, *options, env=None, **extra_vars):
        arguments = ['-i', 'localhost,', '-c', 'local', os.path.join(HERE, 'playbooks', name),
                     '-e', 'nk_pool=%s nk_prefix=%s' % (pool, PREFIX),
                     '-e', 'ansible_python_interpreter=%s' % sys.executable]
        for key, value in extra_vars.items():
            arguments += ['-e', '%s=%s' % (key, value)]
        return ansible_playbook(arguments + list(options), env)
    return run


@pytest.fixture
def playbook(run_playbook):
    """playbook(name, *options, **extra_vars): run_playbook that must succeed; returns its output."""
    def run(name, *options, **extra_vars):
        done = run_playbook(name, *options, **extra_vars)
        assert done.returncode == 0, done.stdout[-6000:]
        return done.stdout
    return run
