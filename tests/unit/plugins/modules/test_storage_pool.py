"""storage_pool's main() against libvirt's test driver: define/build/start/autostart, idempotence,
check mode, diff, a pool that exists elsewhere, and absent keeping the volumes."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.modules import storage_pool
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_URI

UNREACHABLE_URI = 'qemu+tls://127.0.0.1:1/system'  # a URI the collection opens, where nothing listens


def args(**overrides):
    values = dict(name='lab', path='/var/lib/nk-lab', uri=TEST_URI)
    values.update(overrides)
    return values


def pool_names(hypervisor):
    return sorted(p.name() for p in hypervisor.conn.listAllStoragePools())


def test_present_defines_builds_starts_and_is_idempotent(run_module, hypervisor):
    first = run_module(storage_pool, args())
    assert first['changed'] and first['actions'] == ['define', 'build', 'start', 'autostart']
    assert first['pool'] == dict(type='dir', path='/var/lib/nk-lab', active=True, autostart=True)
    pool = hypervisor.conn.storagePoolLookupByName('lab')
    assert pool.isActive() and pool.autostart()
    assert '<mode>0711</mode>' in pool.XMLDesc(0)
    again = run_module(storage_pool, args())
    assert not again['changed'] and again['actions'] == []
    assert not run_module(storage_pool, args(), check=True)['changed']


def test_check_mode_reports_and_changes_nothing(run_module, hypervisor):
    before = pool_names(hypervisor)
    result = run_module(storage_pool, args(), check=True, diff=True)
    assert result['changed'] and result['actions'] == ['define', 'build', 'start', 'autostart']
    assert result['diff']['before'] == '' and '/var/lib/nk-lab' in result['diff']['after']
    assert pool_names(hypervisor) == before


def test_an_inactive_pool_is_started_and_autostart_follows_the_option(run_module, hypervisor):
    run_module(storage_pool, args(autostart=False))
    hypervisor.conn.storagePoolLookupByName('lab').destroy()
    result = run_module(storage_pool, args(), diff=True)
    assert result['actions'] == ['start', 'autostart']
    assert '"active": false' in result['diff']['before'] and '"active": true' in result['diff']['after']


def test_a_pool_of_that_name_elsewhere_is_an_error_and_is_left_alone(run_module, hypervisor):
    run_module(storage_pool, args())
    result = run_module(storage_pool, args(path='/srv/other'))
    assert result['failed'] and result['option'] == 'path'
    assert '/var/lib/nk-lab' in result['msg'] and 'never moves' in result['msg']
    assert hypervisor.conn.storagePoolLookupByName('lab').isActive()


def test_absent_undefines_the_pool_and_keeps_its_volumes(run_module, hypervisor):
    run_module(storage_pool, args())
    volume = hypervisor.conn.storagePoolLookupByName('lab').createXML(
        '<volume><name>keep.qcow2</name><capacity>1048576</capacity></volume>', 0)
    assert volume.name() == 'keep.qcow2'
    result = run_module(storage_pool, dict(name='lab', uri=TEST_URI, state='absent'))
    assert result['changed'] and result['actions'] == ['stop', 'undefine']
    assert 'lab' not in pool_names(hypervisor)
    assert not run_module(storage_pool, dict(name='lab', uri=TEST_URI, state='absent'))['changed']


def test_a_pool_the_collection_did_not_define_is_never_changed_without_adopt(run_module, hypervisor):
    """The driver's own pool, with a volume: used as it is, never started, stopped, changed or undefined."""
    hypervisor.add_volume('keep.qcow2')
    pool = hypervisor.conn.storagePoolLookupByName(hypervisor.pool)
    path, autostart = describe_path(pool), bool(pool.autostart())
    used = run_module(storage_pool, dict(name=hypervisor.pool, path=path, autostart=autostart, uri=TEST_URI))
    assert not used['changed'] and used['made_by_collection'] is False, used
    for prepare, task, todo in ((None, dict(path=path, autostart=not autostart), 'change the autostart of'),
                                (pool.destroy, dict(path=path, autostart=autostart), 'start'),
                                (None, dict(state='absent'), 'undefine')):
        if prepare:
            prepare()
        before = hypervisor.conn.storagePoolLookupByName(hypervisor.pool).XMLDesc(0), pool.isActive(), pool.autostart()
        for check in (True, False):
            result = run_module(storage_pool, dict(name=hypervisor.pool, uri=TEST_URI, **task), check=check)
            assert result.get('failed') and result['option'] == 'adopt', result
            assert "'%s'" % hypervisor.pool in result['msg'] and 'would %s it' % todo in result['msg'], result
        assert (pool.XMLDesc(0), pool.isActive(), pool.autostart()) == before
    pool.create(0)
    assert hypervisor.volumes() == ['keep.qcow2']


def test_adopt_lets_a_task_change_that_pool_and_says_so(run_module, hypervisor):
    pool = hypervisor.conn.storagePoolLookupByName(hypervisor.pool)
    pool.setAutostart(0)
    path = describe_path(pool)
    adopted = run_module(storage_pool, dict(name=hypervisor.pool, path=path, uri=TEST_URI, adopt=True))
    assert adopted['actions'] == ['adopt', 'autostart'] and adopted['made_by_collection'] is False, adopted
    assert pool.autostart()
    removed = run_module(storage_pool, dict(name=hypervisor.pool, uri=TEST_URI, state='absent', adopt=True))
    assert removed['actions'] == ['adopt', 'stop', 'undefine']
    assert hypervisor.pool not in pool_names(hypervisor)


def test_a_copy_of_a_collection_pool_under_another_name_is_not_the_collections(run_module, hypervisor):
    """libvirt refuses a second pool at the same path or with the same UUID, so a copy of one of the collection's
    pools under another name is made with the original gone: pool-dumpxml, pool-undefine, then pool-define the
    renamed XML. It keeps the UUID, which is not the one for its name."""
    made = run_module(storage_pool, args())
    assert made['made_by_collection'] is True
    original = hypervisor.conn.storagePoolLookupByName('lab')
    xml = original.XMLDesc(0)
    original.destroy()
    original.undefine()
    hypervisor.conn.storagePoolDefineXML(xml.replace('<name>lab</name>', '<name>copy</name>'), 0).create(0)
    result = run_module(storage_pool, dict(name='copy', uri=TEST_URI, state='absent'))
    assert result.get('failed') and result['option'] == 'adopt', result
    assert 'copy' in pool_names(hypervisor)


def describe_path(pool):
    from lxml import etree
    return etree.fromstring(pool.XMLDesc(0).encode()).findtext('target/path')


def test_bad_input_fails_before_touching_libvirt(run_module, hypervisor):
    before = pool_names(hypervisor)
    for bad, option in ((dict(path=None), 'path'), (dict(path='relative/dir'), 'path'),
                        (dict(name='a/b'), 'name'), (dict(name='x' * 300), 'name')):
        result = run_module(storage_pool, args(**bad))
        assert result['failed'] and result['option'] == option, (bad, result)
    assert pool_names(hypervisor) == before


def test_a_uri_that_does_not_answer_names_the_option(run_module):
    result = run_module(storage_pool, args(uri=UNREACHABLE_URI))
    assert result['failed'] and result['option'] == 'uri'


def test_an_existing_directory_is_neither_built_nor_given_a_mode(run_module, hypervisor, tmp_path):
    """libvirt's build step chmods an existing directory to the pool's <permissions> mode (measured on
    libvirt 9.0, see tests/integration/test_ownership.py): an existing one is used as it is."""
    check = run_module(storage_pool, args(path=str(tmp_path)), check=True)
    real = run_module(storage_pool, args(path=str(tmp_path)))
    for result in (check, real):
        assert result['actions'] == ['define', 'start', 'autostart'], result
    assert '<permissions>' not in hypervisor.conn.storagePoolLookupByName('lab').XMLDesc(0)


# Which paths are refused is test__pool's table; here, that a refused one changes nothing.
@pytest.mark.parametrize('path', ['/', '//etc', '/var/lib/libvirt', '/proc/x'])
def test_a_system_directory_or_a_parent_of_one_is_refused(run_module, hypervisor, path):
    before = hypervisor.snapshot()
    pools = pool_names(hypervisor)
    result = run_module(storage_pool, args(path=path))
    assert result.get('failed') and result['option'] == 'path' and 'system directory' in result['msg'], result
    assert hypervisor.snapshot() == before and pool_names(hypervisor) == pools


def test_a_symlink_to_a_system_directory_is_refused(run_module, hypervisor, tmp_path):
    link = tmp_path / 'pool'
    link.symlink_to('/etc')
    result = run_module(storage_pool, args(path=str(link)))
    assert result.get('failed') and result['option'] == 'path' and "'/etc'" in result['msg'], result
    assert 'lab' not in pool_names(hypervisor)


# ---------------------------------------------------------------------------------------------------------------
# What storage_pool carries: AnsiballZ packs every module_utils file a module names, anywhere in it, and a run
# compiles each one it imports (from a zip, without cached bytecode). The domain engine is neither.

DOMAIN_ENGINE = {'_domain', '_domain_spec', '_domain_xml', '_domain_health', '_module', '_storage', '_ownership',
                 '_nocloud', '_iso9660', '_yaml_emitter', '_ssh_host_keys', '_user_data_passwords', '_units',
                 '_capabilities', '_virt_type'}


def test_storage_pool_packs_and_imports_none_of_the_domain_engine(packed):
    import os
    import subprocess
    import sys

    names, _others = packed(storage_pool.__file__)
    # _capabilities (with _cpu_vendor and _domcaps) comes with Connection.capabilities, which imports it when asked:
    # storage_pool never asks.
    assert names == {'_compare', '_connection', '_errors', '_names', '_pool', '_capabilities', '_cpu_vendor', '_domcaps'}
    assert not names & (DOMAIN_ENGINE - {'_capabilities'})
    module_utils = storage_pool.__name__.replace('.modules.storage_pool', '.module_utils')
    code = ('import sys, %s; print(" ".join(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("%s."))))'
            % (storage_pool.__name__, module_utils))
    collections = sys.modules['ansible_collections'].__path__[0].rsplit(os.sep, 1)[0]
    imported = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONPATH=collections)).stdout.split()
    assert imported == ['_compare', '_connection', '_errors', '_names', '_pool']
