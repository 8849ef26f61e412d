"""What the collection did not make, it leaves alone, on the real libvirtd (issue 13, ownership): volume deletion
and backing chains (the test driver keeps no qcow2 backing files) and the teardown playbook. No domain is started.

The modules run in-process (tests/conftest.py's run_module) so that the host's whole state can be compared before
and after a run: every test domain's definition, every volume of the test pool, and every file in its directory
with its owner, mode, size and modification time.
"""

import os
import shutil
import stat
import sys
import tempfile

import pytest
from lxml import etree

from ansible_collections.nestedkvm.stack.plugins.modules import l1_domain

import conftest
from conftest import HERE, PREFIX, URI, ansible_playbook, libvirt, remove_pool

pytestmark = pytest.mark.integration

POOL = PREFIX + 'ownership'
# Domains of the tier's prefix that other tests made before this one (the session's pool keeps them until its end):
# neither compared nor removed here.
_OTHERS = set()


@pytest.fixture
def own_pool(system):
    """A pool of its own in a fresh directory; afterwards the test's domains, the pool and the directory go."""
    base = '/var/lib/libvirt/images' if os.path.isdir('/var/lib/libvirt/images') else tempfile.gettempdir()
    path = tempfile.mkdtemp(prefix=PREFIX, dir=base)
    os.chmod(path, 0o755)
    remove_pool(system, POOL)  # left by a run that died before its teardown
    _OTHERS.clear()
    _OTHERS.update(d.name() for d in system.listAllDomains())
    pool = system.storagePoolDefineXML("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>"
                                       % (POOL, path), 0)
    pool.create(0)
    yield path
    for domain in system.listAllDomains():
        if domain.name().startswith(PREFIX) and domain.name() not in _OTHERS:
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    remove_pool(system, POOL)
    shutil.rmtree(path, ignore_errors=True)


def host_state(system, path):
    return conftest.host_state(system, paths=[path], others=_OTHERS)


def l1(name, **overrides):
    values = dict(name=name, uri=URI, virt_type='qemu', memory='256MiB', state='present', console_log=False,
                  disks=[dict(name='root', pool=POOL, size='64MiB')])
    values.update(overrides)
    return values


def test_removing_a_copy_never_deletes_the_originals_disks(run_module, system, own_pool):
    """`virsh dumpxml a | (rename, drop uuid) | virsh define`: the copy carries a's record and a's disk."""
    original = PREFIX + 'a'
    assert run_module(l1_domain, l1(original))['created_volumes'] == ['%s/%s@root.qcow2' % (POOL, original)]
    root = etree.fromstring(system.lookupByName(original).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
    root.find('name').text = PREFIX + 'copy'
    root.remove(root.find('uuid'))
    system.defineXML(etree.tostring(root).decode())
    before = host_state(system, own_pool)
    refused = run_module(l1_domain, l1(PREFIX + 'copy', state='absent', remove_storage=True))
    assert refused.get('failed') and refused['option'] == 'adopt', refused
    assert host_state(system, own_pool) == before
    adopted = run_module(l1_domain, l1(PREFIX + 'copy', state='absent', remove_storage=True, adopt=True))
    assert adopted['changed'] and adopted['removed_volumes'] == []
    after = host_state(system, own_pool)
    assert after['files'] == before['files'] and after['volumes'] == before['volumes']
    assert after['domains'] == {original: before['domains'][original]}


def test_a_volume_another_domain_builds_on_is_kept(run_module, system, own_pool):
    """Another domain's overlay has the collection's volume as its backing file: deleting it would break that disk."""
    ours, theirs = PREFIX + 'base', PREFIX + 'theirs'
    run_module(l1_domain, l1(ours))
    base = os.path.join(own_pool, '%s@root.qcow2' % ours)
    system.storagePoolLookupByName(POOL).createXML(
        "<volume><name>%s.qcow2</name><capacity unit='MiB'>64</capacity><target><format type='qcow2'/></target>"
        "<backingStore><path>%s</path><format type='qcow2'/></backingStore></volume>" % (theirs, base), 0)
    system.defineXML("<domain type='qemu'><name>%s</name><memory unit='MiB'>256</memory><os><type arch='x86_64'>hvm"
                     "</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                     "<source file='%s/%s.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
                     % (theirs, own_pool, theirs))
    before = host_state(system, own_pool)
    removed = run_module(l1_domain, l1(ours, state='absent', remove_storage=True))
    assert removed['changed'] and removed['removed_volumes'] == []
    assert removed['kept_volumes'] == ["%s/%s@root.qcow2: still used by domain '%s'" % (POOL, ours, theirs)]
    after = host_state(system, own_pool)
    assert after['files'] == before['files'] and after['volumes'] == before['volumes']
    assert sorted(after['domains']) == [theirs]


def test_the_collections_volumes_go_with_their_domain(run_module, system, own_pool):
    name = PREFIX + 'gone'
    run_module(l1_domain, l1(name))
    removed = run_module(l1_domain, l1(name, state='absent', remove_storage=True))
    assert removed['removed_volumes'] == ['%s/%s@root.qcow2' % (POOL, name)] and removed['kept_volumes'] == []
    assert host_state(system, own_pool) == dict(domains={}, pools={POOL: (1, own_pool)}, volumes={}, files={})


def test_teardown_removes_the_labs_domains_and_leaves_a_hand_made_one_unless_its_host_opts_in(
        run_module, system, own_pool, tmp_path):
    lab, by_hand = PREFIX + 'lab-l1', PREFIX + 'hand-l1'
    run_module(l1_domain, l1(lab))
    disk = system.storagePoolLookupByName(POOL).createXML(
        "<volume><name>%s.qcow2</name><capacity unit='MiB'>64</capacity><target><format type='qcow2'/></target>"
        "</volume>" % by_hand, 0).path()
    system.defineXML("<domain type='qemu'><name>%s</name><memory unit='MiB'>256</memory><os><type arch='x86_64'>hvm"
                     "</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                     "<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices></domain>" % (by_hand, disk))
    before = host_state(system, own_pool)

    def teardown(by_hand_vars):
        inventory = tmp_path / 'inventory.yml'
        inventory.write_text('all:\n  children:\n    l2_guests: {}\n    l1_hypervisors:\n      hosts:\n'
                             '        %s: {}\n        %s: %s\n' % (lab, by_hand, by_hand_vars))
        return ansible_playbook(['-i', str(inventory), os.path.join(HERE, '..', '..', 'playbooks', 'teardown.yml'),
                                 '-e', 'ansible_python_interpreter=%s' % sys.executable,
                                 '-e', 'l1_hypervisor_known_hosts_file=%s' % (tmp_path / 'known_hosts'),
                                 '-e', 'l1_hypervisor_host_key_dir=%s' % (tmp_path / 'host_keys')])

    done = teardown('{}')
    assert done.returncode != 0, done.stdout[-4000:]
    assert "domain '%s' exists but this collection did not create it" % by_hand in done.stdout
    after = host_state(system, own_pool)
    assert after['domains'] == {by_hand: before['domains'][by_hand]}
    own_disk = {'%s/%s.qcow2' % (POOL, by_hand)}
    assert set(after['volumes']) == own_disk and set(after['files']) == {disk}
    assert after['files'][disk] == before['files'][disk]

    # The host opts in, as the roles do: the domain goes, its disk (never the collection's) stays as it was.
    done = teardown('{l1_hypervisor_adopt: true}')
    assert done.returncode == 0, done.stdout[-4000:]
    assert host_state(system, own_pool) == dict(after, domains={})


@pytest.fixture
def pool_dirs(system):
    """A parent directory for pool directories; afterwards the test's pool and the directories go."""
    base = '/var/lib/libvirt/images' if os.path.isdir('/var/lib/libvirt/images') else tempfile.gettempdir()
    parent = tempfile.mkdtemp(prefix=PREFIX, dir=base)
    yield parent
    try:
        pool = system.storagePoolLookupByName(PREFIX + 'dirs')
    except libvirt.libvirtError:
        pass
    else:
        if pool.isActive():
            pool.destroy()
        pool.undefine()
    shutil.rmtree(parent, ignore_errors=True)


def directory_state(path):
    status = os.stat(path)
    return status.st_mode, status.st_uid, status.st_gid, sorted(os.listdir(path))


def test_storage_pool_leaves_an_existing_directory_as_it_is(run_module, system, pool_dirs):
    """libvirt's pool build chmods an existing directory to the pool's <permissions> mode: never on a directory
    the user already has (here nobody's, mode 0750, with a file in it)."""
    from ansible_collections.nestedkvm.stack.plugins.modules import storage_pool

    path = os.path.join(pool_dirs, 'existing')
    os.mkdir(path)
    with open(os.path.join(path, 'keep.img'), 'w'):
        pass
    os.chown(path, 65534, 65534)
    os.chmod(path, 0o750)
    before = directory_state(path)
    made = run_module(storage_pool, dict(name=PREFIX + 'dirs', path=path, uri=URI))
    assert directory_state(path) == before
    assert made['changed'] and made['actions'] == ['define', 'start', 'autostart'], made
    assert system.storagePoolLookupByName(PREFIX + 'dirs').isActive()
    assert not run_module(storage_pool, dict(name=PREFIX + 'dirs', path=path, uri=URI))['changed']
    run_module(storage_pool, dict(name=PREFIX + 'dirs', uri=URI, state='absent'))
    assert directory_state(path) == before


def test_storage_pool_makes_a_missing_directory_0711(run_module, system, pool_dirs):
    from ansible_collections.nestedkvm.stack.plugins.modules import storage_pool

    path = os.path.join(pool_dirs, 'new')
    made = run_module(storage_pool, dict(name=PREFIX + 'dirs', path=path, uri=URI))
    assert made['actions'] == ['define', 'build', 'start', 'autostart'], made
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o711
