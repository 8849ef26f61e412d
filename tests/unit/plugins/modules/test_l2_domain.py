"""l2_domain's main() against libvirt's test driver: profiles, their minimums, and CD-ROMs."""

import pytest

from ansible_collections.nestedkvm.stack.plugins.modules import l2_domain

TEST_URI = 'test:///default'
TEST_POOL = 'default-pool'

# A windows11 guest needs 4 GiB; the test driver's host has 3 GiB (see roomy_host).
pytestmark = pytest.mark.usefixtures('roomy_host')


def args(**overrides):
    values = dict(name='win', uri=TEST_URI, virt_type='qemu', profile='windows11',
                  disks=[dict(name='system', pool=TEST_POOL, size='64GiB')])
    values.update(overrides)
    return values


def test_windows11_profile_defines_secure_boot_tpm_and_is_idempotent(run_module, hypervisor):
    result = run_module(l2_domain, args(state='present'))
    assert result['changed'] and result['virt_type'] == 'qemu'
    definition = result['definition']
    assert definition['os']['firmware'] == 'efi' and definition['os']['secure_boot']
    assert definition['tpm'] == [['tpm-crb', 'emulator', '2.0']]
    assert definition['features']['smm'] == 'on'
    assert definition['vcpus'] == 2 and definition['memory_kib'] == 4 * 1024 ** 2
    assert not run_module(l2_domain, args(state='present'))['changed']


def test_linux_is_the_default_profile(run_module, hypervisor):
    result = run_module(l2_domain, dict(name='l2', uri=TEST_URI, virt_type='qemu', state='present'))
    assert result['definition']['vcpus'] == 1 and result['definition']['memory_kib'] == 1024 ** 2
    assert result['definition']['cpu']['features'] == []  # an L2 is no hypervisor: no svm


@pytest.mark.parametrize('overrides, option', [
    (dict(vcpus=1), 'vcpus'),
    (dict(memory='3GiB'), 'memory'),
    (dict(disks=[dict(name='system', pool=TEST_POOL, size='20GiB')]), 'disks[0].size'),
    (dict(install_iso='/nowhere/win11.iso'), 'install_iso'),
    (dict(virtio_iso='relative.iso'), 'virtio_iso'),
])
def test_refusals_leave_nothing_behind(run_module, hypervisor, overrides, option):
    result = run_module(l2_domain, args(**overrides))
    assert result['failed'] and result['option'] == option, result
    assert hypervisor.domains() == [] and hypervisor.volumes() == []


def test_iso_in_a_pool_is_attached_as_cdrom(run_module, hypervisor):
    iso = hypervisor.add_volume('win11.iso', fmt='raw')
    result = run_module(l2_domain, args(state='present', install_iso=iso))
    cdroms = [d for d in result['definition']['disks'] if d['device'] == 'cdrom']
    assert [d['source'] for d in cdroms] == [iso]
    assert result['definition']['os']['boot'] == ['hd', 'cdrom']
