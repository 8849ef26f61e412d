"""What l1_domain and l2_domain did not make, they leave alone (issue 13, ownership), on libvirt's test driver.

"Nothing changed" is a comparison of the whole hypervisor (every domain's definition, power state and autostart,
every volume) before and after the run; see TestHypervisor.snapshot.
"""

import pytest
from lxml import etree

from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_xml import NK_NS
from ansible_collections.nestedkvm.stack.plugins.modules import l1_domain, l2_domain
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_POOL, TEST_URI


def args(**overrides):
    values = dict(name='l1a', uri=TEST_URI, virt_type='qemu', memory='1GiB', state='present',
                  disks=[dict(name='root', pool=TEST_POOL, size='1GiB')])
    values.update(overrides)
    return values


def strip_uuid_from_record(hypervisor, name):
    """Make ``name`` look like a domain made by a version of the collection before the record carried the UUID."""
    def edit(root):
        root.find('metadata/{%s}stack' % NK_NS).attrib.pop('uuid', None)
    domain = hypervisor.domain(name)
    root = etree.fromstring(domain.XMLDesc(2).encode())  # inactive
    edit(root)
    hypervisor.conn.defineXML(etree.tostring(root).decode())


@pytest.mark.parametrize('module', [l1_domain, l2_domain])
@pytest.mark.parametrize('state', ['present', 'running', 'shutdown', 'destroyed', 'absent'])
@pytest.mark.parametrize('check', [False, True])
def test_a_domain_made_by_hand_is_not_touched_without_adopt(run_module, hypervisor, module, state, check):
    disk = hypervisor.add_volume('precious.qcow2')
    hypervisor.define_by_hand('l1a', disks=[disk], start=state in ('shutdown', 'destroyed'))
    before = hypervisor.snapshot()
    extra = dict(profile='linux') if module is l2_domain else {}
    result = run_module(module, args(state=state, remove_storage=True, **extra), check=check)
    assert result.get('failed') and result['option'] == 'adopt', result
    assert "'l1a'" in result['msg'] and 'adopt: true' in result['msg']
    assert hypervisor.snapshot() == before


def test_adopt_takes_a_domain_over_and_says_so(run_module, hypervisor):
    hypervisor.define_by_hand('l1a')
    check = run_module(l1_domain, args(adopt=True), check=True, diff=True)
    real = run_module(l1_domain, args(adopt=True), diff=True)
    for result in (check, real):
        assert result['changed'] and result['actions'][0] == 'adopt', result
        assert '"ownership": null' in result['diff']['before']
        assert '"ownership": "collection"' in result['diff']['after']
    assert real['actions'] == check['actions']
    # Adopted, it is the collection's: later runs need no adopt and change nothing more.
    again = run_module(l1_domain, args())
    assert not again['changed'] and again['actions'] == []


def test_adopt_and_absent_remove_a_hand_made_domain_but_none_of_its_volumes(run_module, hypervisor):
    disk = hypervisor.add_volume('precious.qcow2')
    hypervisor.define_by_hand('l1a', disks=[disk])
    result = run_module(l1_domain, args(state='absent', adopt=True, remove_storage=True))
    assert result['changed'] and result['actions'] == ['adopt', 'undefine'] and result['removed_volumes'] == []
    assert hypervisor.domains() == [] and hypervisor.volumes() == ['precious.qcow2']


def test_the_collections_own_domains_need_no_adopt(run_module, hypervisor):
    assert run_module(l1_domain, args())['changed']
    for state in ('running', 'destroyed', 'present'):
        assert not run_module(l1_domain, args(state=state)).get('failed')
    removed = run_module(l1_domain, args(state='absent', remove_storage=True))
    assert removed['removed_volumes'] == ['default-pool/l1a@root.qcow2'] and hypervisor.volumes() == []


def test_a_copy_of_a_collection_domain_is_not_the_collections(run_module, hypervisor):
    """`virsh dumpxml l1a | (rename, no uuid) | virsh define`: the copy carries l1a's record, with l1a's UUID."""
    run_module(l1_domain, args())
    hypervisor.copy('l1a', 'l1b')
    before = hypervisor.snapshot()
    for check in (True, False):
        refused = run_module(l1_domain, args(name='l1b', state='absent', remove_storage=True), check=check)
        assert refused.get('failed') and refused['option'] == 'adopt' and 'l1b' in refused['msg'], refused
        assert hypervisor.snapshot() == before
    # Adopted, the copy goes, but the volumes its record names are l1a's: they stay.
    removed = run_module(l1_domain, args(name='l1b', state='absent', remove_storage=True, adopt=True))
    assert removed['changed'] and removed['removed_volumes'] == []
    assert hypervisor.domains() == ['l1a'] and hypervisor.volumes() == ['l1a@root.qcow2']
    assert hypervisor.snapshot()['domains']['l1a'] == before['domains']['l1a']


def test_a_domain_from_an_earlier_version_keeps_working_and_gets_the_uuid_recorded(run_module, hypervisor):
    run_module(l1_domain, args())
    strip_uuid_from_record(hypervisor, 'l1a')
    check = run_module(l1_domain, args(), check=True, diff=True)
    assert check['changed'] and check['changed_facts'] == ['ownership'] and not check.get('reboot_required')
    assert '"ownership": "legacy"' in check['diff']['before']
    upgraded = run_module(l1_domain, args(state='running'))
    assert upgraded['changed'] and not upgraded['reboot_required']
    assert not run_module(l1_domain, args(state='running'))['changed']
    removed = run_module(l1_domain, args(state='absent', remove_storage=True))
    assert removed['removed_volumes'] == ['default-pool/l1a@root.qcow2']


def test_a_copy_of_an_earlier_versions_domain_never_takes_the_originals_disks(run_module, hypervisor):
    """An old record has no UUID, so its copy cannot be told from the original: the volumes are kept
    because another domain (the original) still uses them."""
    run_module(l1_domain, args())
    strip_uuid_from_record(hypervisor, 'l1a')
    hypervisor.copy('l1a', 'l1b')
    original = hypervisor.snapshot()['domains']['l1a']
    removed = run_module(l1_domain, args(name='l1b', state='absent', remove_storage=True))
    assert removed['changed'] and removed['removed_volumes'] == []
    assert removed['kept_volumes'] == ["default-pool/l1a@root.qcow2: still used by domain 'l1a'"]
    assert hypervisor.volumes() == ['l1a@root.qcow2'] and hypervisor.snapshot()['domains']['l1a'] == original


def test_a_recorded_volume_that_is_not_a_disk_of_the_domain_is_kept(run_module, hypervisor):
    """A record edited (or restored from a backup) to name a volume the domain does not use."""
    hypervisor.add_volume('precious.qcow2')
    run_module(l1_domain, args())
    root = etree.fromstring(hypervisor.domain('l1a').XMLDesc(2).encode())
    etree.SubElement(root.find('metadata/{%s}stack' % NK_NS), '{%s}volume' % NK_NS, pool=TEST_POOL,
                     name='precious.qcow2')
    hypervisor.conn.defineXML(etree.tostring(root).decode())
    removed = run_module(l1_domain, args(state='absent', remove_storage=True))
    assert removed['removed_volumes'] == ['default-pool/l1a@root.qcow2']
    assert removed['kept_volumes'] == ['default-pool/precious.qcow2: not a disk of this domain']
    assert hypervisor.volumes() == ['precious.qcow2']


def test_a_volume_of_the_domain_another_domain_also_uses_is_kept(run_module, hypervisor):
    run_module(l1_domain, args())
    hypervisor.define_by_hand('shares-it', disks=['/%s/l1a@root.qcow2' % TEST_POOL])
    removed = run_module(l1_domain, args(state='absent', remove_storage=True))
    assert removed['removed_volumes'] == []
    assert removed['kept_volumes'] == ["default-pool/l1a@root.qcow2: still used by domain 'shares-it'"]
    assert hypervisor.volumes() == ['l1a@root.qcow2']


def test_volume_names_of_two_domains_never_collide(run_module, hypervisor):
    """(a-b, c) and (a, b-c) were both a-b-c.qcow2: the second domain took the first one's disk."""
    run_module(l1_domain, args(name='a-b', disks=[dict(name='c', pool=TEST_POOL, size='1GiB')]))
    second = run_module(l1_domain, args(name='a', disks=[dict(name='b-c', pool=TEST_POOL, size='1GiB')]))
    assert second['created_volumes'] == ['default-pool/a@b-c.qcow2']
    assert hypervisor.volumes() == ['a-b@c.qcow2', 'a@b-c.qcow2']
    run_module(l1_domain, args(name='a', state='absent', remove_storage=True))
    assert hypervisor.volumes() == ['a-b@c.qcow2']


def test_a_volume_made_under_the_old_name_stays_the_disk(run_module, hypervisor):
    """A domain of an earlier version: its disk is <domain>-<disk>.qcow2, recorded without a UUID."""
    run_module(l1_domain, args())
    hypervisor.conn.storagePoolLookupByName(TEST_POOL).storageVolLookupByName('l1a@root.qcow2').delete(0)
    old = hypervisor.add_volume('l1a-root.qcow2')
    root = etree.fromstring(hypervisor.domain('l1a').XMLDesc(2).encode())
    root.find('devices/disk/source').set('file', old)
    record = root.find('metadata/{%s}stack' % NK_NS)
    record.attrib.pop('uuid')
    record.find('{%s}volume' % NK_NS).set('name', 'l1a-root.qcow2')
    hypervisor.conn.defineXML(etree.tostring(root).decode())
    result = run_module(l1_domain, args())
    assert result['changed_facts'] == ['ownership'] and result['created_volumes'] == []
    assert result['definition']['disks'][0]['source'] == old and hypervisor.volumes() == ['l1a-root.qcow2']
    removed = run_module(l1_domain, args(state='absent', remove_storage=True))
    assert removed['removed_volumes'] == ['default-pool/l1a-root.qcow2'] and hypervisor.volumes() == []
