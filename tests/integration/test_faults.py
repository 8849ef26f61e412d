"""Faults on the real local libvirtd: the run is killed, libvirtd goes away, the pool's filesystem is
full, two runs race. Each time, what is left must converge on the next run, with every volume the
collection made still recorded as its own (so `remove_storage` cleans up all of it and nothing else).

The faults are injected at exact points by tests/integration/faults/sitecustomize.py (see there)."""

import os
import pwd
import signal
import stat
import subprocess
import threading

import pytest

from conftest import PREFIX

pytestmark = pytest.mark.integration

FAULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'faults')
LIBVIRTD = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'hack', 'libvirtd.sh')
libvirt = pytest.importorskip('libvirt')
QEMU_UID = pwd.getpwnam('libvirt-qemu' if os.path.exists('/etc/debian_version') else 'qemu').pw_uid


@pytest.fixture
def base(system, pool):
    """A small qcow2 base image in the test pool, for overlays; removed afterwards."""
    storage = system.storagePoolLookupByName(pool)
    volume = storage.createXML("<volume><name>%sfault-base.qcow2</name><capacity unit='MiB'>32</capacity>"
                               "<target><format type='qcow2'/></target></volume>" % PREFIX, 0)
    yield volume.path()
    system.storagePoolLookupByName(pool).storageVolLookupByName(PREFIX + 'fault-base.qcow2').delete(0)


@pytest.fixture
def converge(run_playbook, base):
    """converge(name, fault=None, **extra_vars) runs playbooks/fault_domain.yml for domain ``name``."""
    def run(name, fault=None, count=1, **extra_vars):
        env = dict(PYTHONPATH=FAULTS, NK_FAULT=fault, NK_FAULT_COUNT=str(count)) if fault else None
        return run_playbook('fault_domain.yml', env=env, nk_name=name, nk_base=base, **extra_vars)
    return run


def volumes(system, pool, name):
    """Volumes of domain ``name`` in ``pool``."""
    storage = system.storagePoolLookupByName(pool)
    storage.refresh(0)
    return sorted(volume for volume in storage.listVolumes() if volume.startswith((name + '-', name + '@')))


def domains(system, name):
    return [d for d in system.listAllDomains() if d.name() == name]


def converges_and_cleans_up(system, pool, converge, name):
    """The next run succeeds and starts the domain; a re-run changes nothing; removing it with
    remove_storage leaves no volume of it behind."""
    done = converge(name)
    assert done.returncode == 0, done.stdout[-4000:]
    assert len(domains(system, name)) == 1
    assert domains(system, name)[0].isActive()
    assert volumes(system, pool, name) == sorted([name + '-cidata.iso', name + '@root.qcow2'])
    for volume in volumes(system, pool, name):  # guest data: the QEMU user's alone
        status = os.stat(system.storagePoolLookupByName(pool).storageVolLookupByName(volume).path())
        assert (status.st_uid, stat.S_IMODE(status.st_mode)) == (QEMU_UID, 0o600), volume
    again = converge(name)
    assert again.returncode == 0 and 'NK-RESULT changed=False' in again.stdout, again.stdout[-4000:]
    gone = converge(name, nk_state='absent', nk_remove_storage='true')
    assert gone.returncode == 0, gone.stdout[-4000:]
    assert domains(system, name) == []
    assert volumes(system, pool, name) == []


@pytest.mark.parametrize('fault', ['kill-after-volume', 'kill-in-upload', 'kill-in-start'])
def test_a_run_killed_midway_converges_next_time(system, pool, converge, fault):
    name = PREFIX + fault
    killed = converge(name, fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-4000:]
    converges_and_cleans_up(system, pool, converge, name)


def test_libvirtd_gone_midway_is_a_clear_error_then_converges(system, pool, converge):
    name = PREFIX + 'libvirtd-gone'
    try:
        failed = converge(name, fault='stop-libvirtd', count=2)
    finally:
        subprocess.run([LIBVIRTD, 'start'], check=True)
        system.reopen()
    assert failed.returncode == 2, failed.stdout[-4000:]
    assert 'lost the connection to libvirt' in failed.stdout, failed.stdout[-4000:]
    converges_and_cleans_up(system, pool, converge, name)


@pytest.fixture
def small_pool(system):
    """A pool on a 1 MiB tmpfs; yields (pool name, its path)."""
    path = '/var/lib/libvirt/images/%sfull' % PREFIX
    os.makedirs(path, exist_ok=True)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', path], check=True)
    name = PREFIX + 'full'
    storage = system.storagePoolDefineXML("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>"
                                          % (name, path), 0)
    storage.create(0)
    try:
        yield name, path
    finally:
        storage.destroy()
        storage.undefine()
        subprocess.run(['umount', path], check=False)
        os.rmdir(path)


def fill(path, leave):
    """Fill the filesystem at ``path`` up to ``leave`` bytes free."""
    stat = os.statvfs(path)
    with open(os.path.join(path, 'filler'), 'wb') as filler:
        filler.write(b'\0' * max(0, stat.f_bavail * stat.f_frsize - leave))


# The overlay takes 196 KiB, the seed 54 KiB.
@pytest.mark.parametrize('leave', [0, 224 * 1024], ids=['no-room-for-the-disk', 'no-room-for-the-seed'])
def test_a_full_pool_is_a_clear_error_and_leaves_nothing(system, converge, small_pool, leave):
    pool, path = small_pool
    fill(path, leave)
    name = PREFIX + 'full'
    done = converge(name, nk_domain_pool=pool)
    assert done.returncode == 2, done.stdout[-4000:]
    assert 'No space left on device' in done.stdout, done.stdout[-4000:]
    assert domains(system, name) == []
    assert volumes(system, pool, name) == []
    assert os.listdir(path) == ['filler']


def test_two_runs_at_once_both_finish_with_one_domain(system, pool, converge):
    name = PREFIX + 'race'
    results = []
    runs = [threading.Thread(target=lambda: results.append(converge(name))) for _run in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=600)
    assert [r.returncode for r in results] == [0, 0], '\n'.join(r.stdout[-3000:] for r in results)
    assert sorted(r.stdout.count('NK-RESULT changed=True') for r in results) == [0, 1]
    converges_and_cleans_up(system, pool, converge, name)


def test_absent_keeps_disks_the_collection_did_not_make(system, pool, converge):
    name = PREFIX + 'foreign'
    storage = system.storagePoolLookupByName(pool)
    storage.createXML("<volume><name>%s@root.qcow2</name><capacity unit='MiB'>16</capacity>"
                      "<target><format type='qcow2'/></target></volume>" % name, 0)
    made = converge(name, nk_state='present')
    assert made.returncode == 0 and 'already existed and is used as it is' in made.stdout, made.stdout[-4000:]
    seed = os.stat(storage.storageVolLookupByName(name + '-cidata.iso').path())  # made for a domain not running
    assert (seed.st_uid, stat.S_IMODE(seed.st_mode)) == (QEMU_UID, 0o600)
    gone = converge(name, nk_state='absent', nk_remove_storage='true')
    assert gone.returncode == 0, gone.stdout[-4000:]
    assert domains(system, name) == []
    assert volumes(system, pool, name) == [name + '@root.qcow2']  # the seed it made is gone, the disk stays
    storage.storageVolLookupByName(name + '@root.qcow2').delete(0)
