"""_ownership: whose a domain definition is, and which recorded volumes may be deleted."""

import pytest
from lxml import etree

from ansible_collections.nestedkvm.stack.plugins.module_utils import _ownership
from ansible_collections.nestedkvm.stack.plugins.module_utils._errors import OptionError

UUID = '0b8c2c32-1111-2222-3333-444455556666'
OTHER = '7d3e6a2e-3c55-4c4f-9a55-2f0e0c3a1b7e'


def definition(uuid=UUID, record=True, recorded_uuid=UUID, volumes=(), disks=()):
    record_xml = ''
    if record:
        attribute = ' uuid="%s"' % recorded_uuid if recorded_uuid else ''
        record_xml = '<metadata><nk:stack xmlns:nk="urn:nestedkvm:stack:1" level="1"%s>%s</nk:stack></metadata>' % (
            attribute, ''.join('<nk:volume pool="%s" name="%s"/>' % v for v in volumes))
    disks_xml = ''.join("<disk type='file' device='disk'><source file='%s'/></disk>" % d for d in disks)
    cdrom = "<disk type='file' device='cdrom'><source file='/pool/seed.iso'/></disk><disk type='block'>" \
            "<source dev='/dev/vg/lv'/></disk><disk type='file' device='cdrom'/>"
    return etree.fromstring('<domain><name>d</name><uuid>%s</uuid>%s<devices>%s%s</devices></domain>'
                            % (uuid, record_xml, disks_xml, cdrom))


@pytest.mark.parametrize('root, expected', [
    (definition(), _ownership.OURS),
    (definition(uuid=UUID.upper()), _ownership.OURS),
    (definition(recorded_uuid=None), _ownership.LEGACY),
    (definition(uuid=OTHER), _ownership.COPIED),
    (definition(record=False), None),
])
def test_ownership_is_the_record_of_this_uuid(root, expected):
    assert _ownership.ownership(root) == expected


def test_only_the_domains_own_record_claims_volumes():
    volumes = [('default', 'd@root.qcow2')]
    assert _ownership.DomainClaim('d', definition(volumes=volumes)).recorded_volumes == set(volumes)
    assert _ownership.DomainClaim('d', definition(recorded_uuid=None, volumes=volumes)).recorded_volumes == set(volumes)
    assert _ownership.DomainClaim('d', definition(uuid=OTHER, volumes=volumes)).recorded_volumes == set()


@pytest.mark.parametrize('root, says', [
    (definition(record=False), 'carries no record'),
    (definition(uuid=OTHER), "another domain's record"),
])
def test_a_domain_not_made_here_needs_adopt(root, says):
    claim = _ownership.DomainClaim('d', root)
    with pytest.raises(OptionError) as refused:
        claim.require(adopt=False)
    assert refused.value.details['option'] == 'adopt'
    assert "domain 'd'" in refused.value.msg and says in refused.value.msg and 'adopt: true' in refused.value.msg
    assert not claim.adopting
    claim.require(adopt=True)
    assert claim.adopting


def test_the_collections_domains_need_no_adopt():
    for root in (definition(), definition(recorded_uuid=None)):
        claim = _ownership.DomainClaim('d', root)
        claim.require(adopt=False)
        assert not claim.adopting


def test_disk_sources_are_files_and_devices():
    assert _ownership.disk_sources(definition(disks=['/pool/a'])) == {'/pool/a', '/pool/seed.iso', '/dev/vg/lv'}


def test_a_volume_is_deleted_only_when_it_is_a_disk_of_the_domain_and_nobody_elses():
    candidates = [(('p', 'mine'), '/p/mine'), (('p', 'shared'), '/p/shared'), (('p', 'stray'), '/p/stray'),
                  (('p', 'base'), '/p/base')]
    users = {'/p/shared': {'b', 'a'}, '/p/base': {'c'}, '/p/unrelated': {'z'}}
    delete, keep = _ownership.volumes_to_delete(candidates, {'/p/mine', '/p/shared', '/p/base'}, users)
    assert delete == [('p', 'mine')]
    assert keep == [(('p', 'shared'), "still used by domain 'a', 'b'"), (('p', 'stray'), 'not a disk of this domain'),
                    (('p', 'base'), "still used by domain 'c'")]
