"""_pool: where a pool may live (no system directory, nor a parent of one, also through a symbolic link on this host),
and the dir pool's XML, facts and UUID (which makes it the collection's), defined and read back on libvirt's test
driver. storage_pool's runs (define, build, start, autostart, adopt, undefine, check mode) are
tests/unit/plugins/modules/test_storage_pool.py."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError
from ansible_collections.nestedkvm.stack.plugins.module_utils._pool import (
    check_pool_path, describe, made_by_collection, pool_uuid, pool_xml)


@pytest.mark.parametrize('path, system', [
    ('/', '/bin'), ('/etc', '/etc'), ('/etc/', '/etc'), ('//etc', '/etc'), ('/usr/../etc', '/etc'), ('/usr', '/usr'),
    ('/usr/lib/pool', '/usr'), ('/var', '/var'), ('/var/lib', '/var/lib'), ('/var/lib/libvirt', '/var/lib/libvirt'),
    ('/home', '/home'), ('/root', '/root'), ('/boot', '/boot'), ('/dev', '/dev'), ('/proc/x', '/proc'),
    ('/sys/kernel', '/sys'), ('/tmp', '/tmp'), ('/run/pool', '/run'), ('/bin', '/bin'), ('/usr/local', '/usr'),
])
def test_a_system_directory_or_a_parent_of_one_is_refused_naming_it(path, system):
    with pytest.raises(OptionError) as refused:
        check_pool_path(path, local=False)
    assert refused.value.details == {'option': 'path'}
    assert "the system directory '%s'" % system in refused.value.msg


@pytest.mark.parametrize('path, normalized', [
    ('/var/lib/nestedkvm/pool', '/var/lib/nestedkvm/pool'), ('//srv/pools/a/', '/srv/pools/a'),
    ('/home/lab/../lab/pool', '/home/lab/pool'), ('/var/lib/libvirt/images', '/var/lib/libvirt/images'),
])
def test_a_directory_of_its_own_is_taken_normalized(path, normalized):
    assert check_pool_path(path, local=False) == normalized


def test_on_this_host_the_directory_a_link_leads_to_counts_and_a_file_is_refused(tmp_path):
    link = tmp_path / 'pool'
    link.symlink_to('/etc')
    with pytest.raises(OptionError, match=r"is, is inside, or holds the system directory '/etc' \(as /etc\)"):
        check_pool_path(str(link), local=True)
    assert check_pool_path(str(link), local=False) == str(link)  # behind a remote URI the link is not this host's
    (tmp_path / 'file').write_text('x')
    with pytest.raises(OptionError, match='exists and is not a directory'):
        check_pool_path(str(tmp_path / 'file'), local=True)
    with pytest.raises(OptionError, match=r"^path: 'relative/dir' is not an absolute path"):
        check_pool_path('relative/dir', local=True)


def test_a_pool_defined_from_its_xml_reads_back_as_the_facts_managed(hypervisor):
    assert describe(None) is None
    pool = hypervisor.conn.storagePoolDefineXML(pool_xml('host15-lab', '/lab', mode='0711'), 0)
    assert '<mode>0711</mode>' in pool.XMLDesc(0)
    assert describe(pool) == dict(type='dir', path='/lab', active=False, autostart=False)
    pool.create(0)
    pool.setAutostart(1)
    assert describe(pool) == dict(type='dir', path='/lab', active=True, autostart=True)
    # An existing directory is not built, so its pool gets no mode to impose on it.
    assert '<permissions>' not in pool_xml('other', '/srv/other')


def test_a_pool_is_the_collection_s_by_the_uuid_of_its_name_and_path(hypervisor):
    pool = hypervisor.conn.storagePoolDefineXML(pool_xml('host15-lab', '/lab'), 0)
    assert pool.UUIDString() == pool_uuid('host15-lab', '/lab') != pool_uuid('host15-lab', '/lab2')
    assert made_by_collection(pool, 'host15-lab', '/lab/')  # the path as libvirt may write it
    assert not made_by_collection(pool, 'host15-copy', '/lab')
    by_hand = hypervisor.conn.storagePoolDefineXML(
        "<pool type='dir'><name>host15-hand</name><target><path>/hand</path></target></pool>", 0)
    assert not made_by_collection(by_hand, 'host15-hand', '/hand')
