"""_storage.Storage on libvirt's test driver: pools and volumes planned, made, found and deleted through libvirt, and
the backing chain of images in no pool read from their qcow2 headers (the test driver knows no such file, so the
local reader answers)."""

import shutil
import subprocess
from types import SimpleNamespace

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import NestedKvmError, OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._storage import Storage

needs_qemu_img = pytest.mark.skipif(shutil.which('qemu-img') is None, reason='qemu-img (qemu-utils) not installed')


def qcow2(path, backing=None):
    command = ['qemu-img', 'create', '-q', '-f', 'qcow2']
    if backing:
        command += ['-b', backing, '-F', 'qcow2']
    subprocess.run([*command, str(path), '16M'], check=True)
    return str(path)


@needs_qemu_img
def test_the_backing_chain_of_a_local_image_is_read_from_its_headers(tmp_path):
    base = qcow2(tmp_path / 'base.qcow2')
    middle = qcow2(tmp_path / 'middle.qcow2', backing='base.qcow2')  # relative: resolved beside the image
    top = qcow2(tmp_path / 'top.qcow2', backing=middle)
    with Connection('test:///default') as connection:
        storage = Storage(connection)
        assert storage.backing_files(top) == [middle, base]
        assert storage.backing_files(base) == []
        assert storage.backing_files(str(tmp_path / 'missing.qcow2')) == []


# Volumes through libvirt, on the test driver's 'default-pool' (at /default-pool). The disks a domain asks for come
# as the plain attributes plan_disks reads (pool, volume, legacy_volume, size, backing_image, format): _domain_spec
# makes them from the modules' options, which its own tests cover.

def disk(name, pool='default-pool', size=None, backing_image=None, fmt='qcow2', legacy=None):
    return SimpleNamespace(pool=pool, volume=name, legacy_volume=legacy or 'old-' + name, size=size,
                           backing_image=backing_image, format=fmt)


@pytest.fixture
def storage(hypervisor):
    with Connection(hypervisor.uri) as connection:
        yield Storage(connection)


def test_a_pool_that_is_missing_or_stopped_is_refused_naming_the_option(storage, hypervisor):
    with pytest.raises(OptionError, match=r"^disks\[0\]\.pool: storage pool 'nope' does not exist on test:///default"):
        storage.pool('nope', 'disks[0].pool')
    hypervisor.conn.storagePoolDefineXML("<pool type='dir'><name>idle</name><target><path>/idle</path></target></pool>", 0)
    with pytest.raises(OptionError, match=r"storage pool 'idle' is defined but not running: start it"):
        storage.pool('idle', 'cloud_init')
    assert storage.pool('default-pool', 'x').name() == 'default-pool'


def test_planned_disks_say_where_they_go_what_exists_and_what_is_owned(storage, hypervisor):
    base = hypervisor.add_volume('base.qcow2', size='2')
    hypervisor.add_volume('vm-data.qcow2', size='1')
    spec = SimpleNamespace(name='vm', disks=[disk('vm-root.qcow2', size=1024 ** 3, backing_image=base),
                                             disk('vm-data.qcow2', size=3 * 1024 ** 3)])
    root, data = storage.plan_disks(spec, owned={('default-pool', 'vm-data.qcow2')})
    # An overlay is at least as large as its base, and names the base's format.
    assert (root.path, root.capacity, root.backing, root.volume, root.owned) == (
        '/default-pool/vm-root.qcow2', 2 * 1024 ** 3, (base, 'qcow2'), None, False)
    assert (data.volume.name(), data.owned, data.option) == ('vm-data.qcow2', True, 'disks[1]')
    seed = storage.plan_seed(spec, 4096, owned=set())
    assert (seed.pool_name, seed.name, seed.format, seed.capacity, seed.volume) == (
        'default-pool', 'vm-cidata.iso', 'raw', 4096, None)


def test_a_volume_made_under_the_old_name_stays_the_disk(storage, hypervisor):
    old = hypervisor.add_volume('vm-root-old.qcow2')
    spec = SimpleNamespace(name='vm', disks=[disk('vm-root.qcow2', size=1024 ** 3, legacy='vm-root-old.qcow2')])
    assert storage.plan_disks(spec, owned=set(), in_use={old})[0].name == 'vm-root-old.qcow2'
    assert storage.plan_disks(spec, owned={('default-pool', 'vm-root-old.qcow2')})[0].name == 'vm-root-old.qcow2'
    assert storage.plan_disks(spec, owned=set())[0].name == 'vm-root.qcow2'


def test_a_created_volume_is_found_by_path_and_deleted_once(storage, hypervisor):
    spec = SimpleNamespace(name='vm', disks=[disk('vm-root.qcow2', size=1024 ** 3)])
    plan = storage.plan_disks(spec, owned=set())[0]
    volume = storage.create(plan)
    assert plan.volume is volume and hypervisor.volumes() == ['vm-root.qcow2']
    assert storage.image_info(volume.path(), 'x') == ('qcow2', 1024 ** 3)
    assert storage.volume_path('default-pool', 'vm-root.qcow2') == '/default-pool/vm-root.qcow2'
    assert storage.iso_exists('/default-pool/vm-root.qcow2') and not storage.iso_exists('/default-pool/none.iso')
    assert storage.delete('default-pool', 'vm-root.qcow2') is True
    assert storage.delete('default-pool', 'vm-root.qcow2') is False
    assert storage.volume_path('default-pool', 'vm-root.qcow2') is None and hypervisor.volumes() == []


def test_a_volume_whose_content_cannot_be_written_is_removed_again(storage, hypervisor):
    # The test driver has no volume upload: what a host that fails the upload does.
    plan = storage.plan_seed(SimpleNamespace(name='vm', disks=[disk('vm-root.qcow2')]), 4096, owned=set())
    with pytest.raises(NestedKvmError, match=r"^cloud_init: could not write volume 'vm-cidata\.iso' in pool 'default-pool'"):
        storage.create(plan, data=b'seed')
    assert hypervisor.volumes() == []


def test_an_image_in_no_pool_and_no_file_is_refused_naming_the_option(storage):
    with pytest.raises(OptionError, match=r"^disks\[0\]\.backing_image: image '/nowhere.qcow2' was not found"):
        storage.image_info('/nowhere.qcow2', 'disks[0].backing_image')


def test_volumes_on_the_test_driver_keep_libvirt_s_owner_and_are_private(storage):
    # Only a local qemu:///system hands volumes to the QEMU user.
    plan = storage.plan_disks(SimpleNamespace(name='vm', disks=[disk('vm-root.qcow2', size=1)]), owned=set())[0]
    assert storage.owner is None and plan.owner is None
    assert "<permissions><mode>0600</mode></permissions>" in plan.to_xml()
