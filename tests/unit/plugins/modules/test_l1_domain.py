"""l1_domain's main() against libvirt's test driver: lifecycle, idempotence, check mode, diff,
bad input (which must leave nothing behind) and storage ownership."""

from functools import partial

import libvirt
import pytest
import yaml

from ansible_collections.nestedkvm.stack.plugins.module_utils._capabilities import HostCapabilities
from ansible_collections.nestedkvm.stack.plugins.modules import l1_domain, l2_domain
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_POOL, domain_args


args = partial(domain_args, name='l1a')


def test_lifecycle_is_idempotent_at_every_step(run_module, hypervisor):
    for state, expected in (('present', 'shutoff'), ('running', 'running'), ('shutdown', 'shutoff'),
                            ('running', 'running'), ('destroyed', 'shutoff')):
        first = run_module(l1_domain, args(state=state))
        assert first['changed'] and first['state'] == expected, (state, first)
        assert first['uuid'] == hypervisor.domain('l1a').UUIDString()
        again = run_module(l1_domain, args(state=state))
        assert not again['changed'] and again['state'] == expected and again['actions'] == []
    gone = run_module(l1_domain, args(state='absent'))
    assert gone['changed'] and gone['actions'] == ['undefine']
    assert not run_module(l1_domain, args(state='absent'))['changed']
    assert hypervisor.domains() == []


def test_first_run_defines_starts_and_creates_the_volume(run_module, hypervisor):
    result = run_module(l1_domain, args())
    assert result['changed'] and result['actions'] == ['define', 'start']
    assert result['created_volumes'] == ['default-pool/l1a@root.qcow2']
    assert hypervisor.volumes() == ['l1a@root.qcow2']
    domain = hypervisor.domain('l1a')
    assert domain.isActive()
    assert 'svm' in domain.XMLDesc(0)  # emulated L1 gets AMD-V
    assert result['definition']['interfaces'][0]['mac'] == first_mac(hypervisor)  # what libvirt generated


def test_the_returned_definition_holds_what_return_documents(run_module, hypervisor):
    documented = yaml.safe_load(l1_domain.RETURN)['definition']
    result = run_module(l1_domain, args(cloud_init=dict(hostname='l1a')), check=True)
    assert sorted(result['definition']) == sorted(documented['contains'])
    assert yaml.safe_load(l2_domain.RETURN)['definition'] == documented  # the same engine


def test_a_change_to_a_running_domain_is_saved_diffed_and_flagged(run_module, hypervisor):
    first = run_module(l1_domain, args())
    check = run_module(l1_domain, args(memory='2GiB', vcpus=3), check=True, diff=True)
    assert check['changed'] and check['changed_facts'] == ['cpu', 'current_memory_kib', 'memory_kib', 'vcpus']
    assert hypervisor.domain('l1a').info()[1] == 1024 * 1024  # check mode changed nothing
    result = run_module(l1_domain, args(memory='2GiB', vcpus=3), diff=True)
    assert result['changed'] and result['reboot_required'] and result['state'] == 'running'
    assert '"vcpus": 2' in result['diff']['before'] and '"vcpus": 3' in result['diff']['after']
    assert result['uuid'] == first['uuid']
    assert result['definition']['interfaces'][0]['mac'] == first_mac(hypervisor)
    assert not run_module(l1_domain, args(memory='2GiB', vcpus=3))['changed']


def first_mac(hypervisor):
    from lxml import etree
    return etree.fromstring(hypervisor.domain('l1a').XMLDesc(2).encode()).xpath(
        'devices/interface/mac/@address')[0]


def test_restart_on_change_restarts(run_module, hypervisor):
    run_module(l1_domain, args())
    result = run_module(l1_domain, args(vcpus=4, restart_on_change=True))
    assert result['actions'][-2:] == ['shutdown', 'start'] and not result['reboot_required']
    assert hypervisor.domain('l1a').info()[3] == 4


def test_macs_and_uuid_survive_reruns_and_changes(run_module, hypervisor):
    run_module(l1_domain, args())
    mac, uuid = first_mac(hypervisor), hypervisor.domain('l1a').UUIDString()
    run_module(l1_domain, args(vcpus=3, networks=[dict(type='network', source='default'),
                                                  dict(type='bridge', source='br0')]))
    assert first_mac(hypervisor) == mac and hypervisor.domain('l1a').UUIDString() == uuid


def test_overlay_of_a_base_image(run_module, hypervisor, base_image):
    result = run_module(l1_domain, args(disks=[dict(name='root', pool=TEST_POOL, backing_image=base_image)]))
    assert result['created_volumes'] == ['default-pool/l1a@root.qcow2']
    volume = hypervisor.conn.storagePoolLookupByName(TEST_POOL).storageVolLookupByName('l1a@root.qcow2')
    assert volume.info()[1] == 2 * 1024 ** 3  # as large as its base
    assert not run_module(l1_domain, args(disks=[dict(name='root', pool=TEST_POOL,
                                                      backing_image=base_image)]))['changed']


def test_absent_removes_only_volumes_it_created(run_module, hypervisor):
    hypervisor.add_volume('l1a@data.qcow2')  # the user's, not ours
    two_disks = [dict(name='root', pool=TEST_POOL, size='1GiB'), dict(name='data', pool=TEST_POOL, size='1GiB')]
    run_module(l1_domain, args(disks=two_disks))
    removed = run_module(l1_domain, args(state='absent', remove_storage=True))
    assert removed['removed_volumes'] == ['default-pool/l1a@root.qcow2']
    assert hypervisor.volumes() == ['l1a@data.qcow2']


def test_absent_keeps_storage_by_default_and_then_it_is_no_longer_ours(run_module, hypervisor):
    run_module(l1_domain, args())
    kept = run_module(l1_domain, args(state='absent'))
    assert kept['removed_volumes'] == [] and hypervisor.volumes() == ['l1a@root.qcow2']
    # Ownership lives in the domain's metadata: a volume left behind is the user's from now on.
    run_module(l1_domain, args())
    again = run_module(l1_domain, args(state='absent', remove_storage=True))
    assert again['removed_volumes'] == [] and hypervisor.volumes() == ['l1a@root.qcow2']


def test_autostart(run_module, hypervisor):
    assert run_module(l1_domain, args(autostart=True))['actions'] == ['define', 'start', 'autostart on']
    assert hypervisor.domain('l1a').autostart() == 1
    assert not run_module(l1_domain, args(autostart=True))['changed']


@pytest.mark.parametrize('overrides, option', [
    (dict(name='bad/name'), 'name'),
    (dict(name='bad<name'), 'name'),
    (dict(name='x' * 300), 'name'),
    (dict(vcpus=0), 'vcpus'),
    (dict(memory='lots'), 'memory'),
    (dict(memory='-1G'), 'memory'),
    (dict(disks=[dict(name='root', pool='no-such-pool', size='1G')]), 'disks[0].pool'),
    (dict(disks=[dict(name='root', pool=TEST_POOL, size='1G'), dict(name='d', pool='nope', size='1G')]),
     'disks[1].pool'),
    (dict(disks=[dict(name='root', pool=TEST_POOL, backing_image='/default-pool/missing.qcow2')]),
     'disks[0].backing_image'),
    (dict(virt_type='kvm'), 'nested'),  # the test "host" has no vmx/svm
    (dict(cpu_mode='host-passthrough'), 'cpu_mode'),
    (dict(cpu_mode='custom'), 'cpu_model'),
    # cloud_init is checked with the other options, before the pool is looked up (it does not exist)
    (dict(cloud_init=dict(hostname='bad_name'), disks=[dict(name='root', pool='no-such-pool', size='1G')]),
     'cloud_init.hostname'),
    (dict(uri='qemu+tls://127.0.0.1:1/system'), 'uri'),  # nothing listens on port 1
])
def test_bad_input_fails_and_leaves_nothing_behind(run_module, hypervisor, overrides, option):
    result = run_module(l1_domain, args(**overrides))
    assert result['failed'] and result['option'] == option, result
    assert result['msg'].startswith(option + ': ')
    assert hypervisor.domains() == [] and hypervisor.volumes() == []


def test_unknown_choice_is_refused_by_the_argument_spec(run_module, hypervisor):
    result = run_module(l1_domain, args(state='exploded'))
    assert result['failed'] and 'state' in result['msg']
    assert hypervisor.domains() == []


def test_an_unknown_cloud_init_key_is_refused_by_the_argument_spec(run_module, hypervisor):
    result = run_module(l1_domain, args(cloud_init=dict(vendordata={'runcmd': [['true']]})))
    assert result['failed'] and 'vendordata' in result['msg'] and 'cloud_init' in result['msg'], result
    assert hypervisor.domains() == [] and hypervisor.volumes() == []


def test_nested_on_kvm_follows_the_l0_vendor(run_module, hypervisor, monkeypatch):
    # No Intel host with VT-x can exist here: stand in for what libvirt would report on one.
    monkeypatch.setattr(HostCapabilities, 'probe',
                        classmethod(lambda cls, conn: cls({'kvm', 'qemu'}, 'intel', {'vmx'})))
    result = run_module(l1_domain, args(virt_type='auto', cpu_mode='host-model'))
    assert result['virt_type'] == 'kvm'
    assert [list(f) for f in result['definition']['cpu']['features']] == [['require', 'vmx']]


def test_a_changed_disk_size_is_not_applied_silently(run_module, hypervisor, monkeypatch):
    warnings = []
    from ansible.module_utils import basic
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    run_module(l1_domain, args())
    result = run_module(l1_domain, args(disks=[dict(name='root', pool=TEST_POOL, size='8GiB')]))
    assert not result['changed']
    assert any(w.startswith('disks[0].size: volume default-pool/l1a@root.qcow2') for w in warnings), warnings


@pytest.mark.parametrize('overrides, option, says', [
    (dict(vcpus=17), 'vcpus', '16 logical CPUs'),
    (dict(memory='4GiB'), 'memory', '3GiB in all'),
])
def test_a_guest_larger_than_its_host_is_refused_and_nothing_is_made(run_module, hypervisor, overrides, option, says):
    # The test driver's host: 16 CPUs, 3 GiB. For an L2 the host is its L1, so this is also the
    # "L2 bigger than its L1" case.
    result = run_module(l1_domain, args(**overrides))
    assert result['failed'] and result['option'] == option and says in result['msg'], result
    assert hypervisor.domains() == [] and hypervisor.volumes() == []


# ---------------------------------------------------------------------------------------------------------------
# Nesting checked where it is decided: from what KVM on the L0 offers (libvirt's domain capabilities)

@pytest.mark.parametrize('domcaps, flag', [('intel-not-nested.xml', 'vmx'), ('amd-not-nested.xml', 'svm')])
@pytest.mark.parametrize('cpu_mode', ['host-passthrough', 'host-model'])
def test_nested_l1_on_an_l0_without_kvm_nesting_fails_before_anything_is_made(
        run_module, hypervisor, kvm_l0, domcaps, flag, cpu_mode):
    kvm_l0(domcaps)
    result = run_module(l1_domain, args(virt_type='auto', cpu_mode=cpu_mode))
    assert result['failed'] and result['option'] == 'nested', result
    assert 'does not give its guests %s' % flag in result['msg'] and 'Nothing was changed' in result['msg']
    assert hypervisor.domains() == [] and hypervisor.volumes() == []
    # check mode says the same
    assert run_module(l1_domain, args(virt_type='auto', cpu_mode=cpu_mode), check=True)['option'] == 'nested'


@pytest.mark.parametrize('domcaps', ['intel-nested.xml', 'amd-nested.xml'])
def test_nested_l1_on_an_l0_with_kvm_nesting_is_made(run_module, hypervisor, kvm_l0, domcaps):
    kvm_l0(domcaps)
    result = run_module(l1_domain, args(virt_type='auto', state='present'))
    assert 'failed' not in result, result
    assert result['virt_type'] == 'kvm' and result['definition']['cpu']['mode'] == 'host-passthrough'
    assert hypervisor.domains() == ['l1a']


def test_without_nested_the_l0s_nesting_does_not_matter(run_module, hypervisor, kvm_l0):
    kvm_l0('intel-not-nested.xml')
    result = run_module(l1_domain, args(virt_type='auto', nested=False, state='present'))
    assert 'failed' not in result and result['virt_type'] == 'kvm'


def test_the_emulated_l1_keeps_its_emulated_amd_v(run_module, hypervisor, kvm_l0):
    # The lab's path on an L0 without usable VT-x: TCG, CPU mode maximum with svm required. TCG's svm does not come
    # from KVM, so KVM's nesting is not asked.
    kvm_l0('intel-not-nested.xml')
    result = run_module(l1_domain, args(virt_type='qemu', state='present'))
    assert 'failed' not in result, result
    assert result['definition']['cpu'] == dict(mode='maximum', model=None, features=[['require', 'svm']],
                                               topology=[1, 2, 1])


def test_nesting_that_cannot_be_read_is_a_warning(run_module, hypervisor, monkeypatch):
    # An older libvirt without host-model in its domain capabilities: the L1 is made, with a warning.
    from ansible.module_utils import basic
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    monkeypatch.setattr(HostCapabilities, 'probe', classmethod(lambda cls, conn: cls(
        {'kvm', 'qemu'}, 'intel', {'vmx'}, read_kvm_nesting=lambda: dict(
            offered=None, flag='vmx', vendor='Intel', model=None, detail='no host-model CPU'))))
    result = run_module(l1_domain, args(virt_type='kvm', state='present'))
    assert 'failed' not in result
    assert any('could not confirm' in w and 'no host-model CPU' in w for w in warnings), warnings


USER_NETWORK = dict(type='user', forwards=[dict(host_port=2222, guest_port=22)])


def test_user_network_on_passt_is_defined_reported_and_idempotent(run_module, hypervisor, passt_host):
    first = run_module(l1_domain, args(networks=[USER_NETWORK]))
    assert first['changed'] and first['user_network_backend'] == 'passt'
    iface = hypervisor.domain('l1a').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert "<backend type='passt'/>" in iface and "address='127.0.0.1'" in iface and 'commandline' not in iface
    before = hypervisor.domain('l1a').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    again = run_module(l1_domain, args(networks=[USER_NETWORK]))
    assert not again['changed'] and again['actions'] == [] and again['user_network_backend'] == 'passt'
    assert hypervisor.domain('l1a').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before


def test_user_network_backend_is_reported(run_module, hypervisor):
    assert run_module(l1_domain, args(networks=[USER_NETWORK]))['user_network_backend'] == 'qemu-commandline'
    assert 'user_network_backend' in run_module(l1_domain, args()) and \
        run_module(l1_domain, args())['user_network_backend'] is None


ACCESS = dict(user='nestedkvm', host_key_alias='l1a')


def recorded_access(hypervisor, name='l1a'):
    """The record of the definition (for a running domain, the live one shows it from its next boot)."""
    from lxml import etree

    from ansible_collections.nestedkvm.stack.plugins.module_utils._domain_xml import access_record

    return access_record(etree.fromstring(hypervisor.domain(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode()))


def test_access_is_recorded_idempotently_and_changing_it_needs_no_reboot(run_module, hypervisor):
    access = dict(ACCESS, address='198.51.100.11', port=2022)
    first = run_module(l1_domain, args(access=access))
    assert first['changed'] and first['definition']['access'] == access == recorded_access(hypervisor)
    again = run_module(l1_domain, args(access=access))
    assert not again['changed'] and again['actions'] == []
    renamed = dict(access, host_key_alias='l1a.lab')
    predicted = run_module(l1_domain, args(access=renamed), check=True, diff=True)
    assert predicted['changed'] and predicted['changed_facts'] == ['access'] and '"l1a.lab"' in predicted['diff']['after']
    assert recorded_access(hypervisor)['host_key_alias'] == 'l1a'  # check mode changed nothing
    changed = run_module(l1_domain, args(access=renamed))
    assert changed['changed_facts'] == ['access'] and changed['actions'] == ['update definition (access)']
    assert not changed['reboot_required'] and changed['state'] == 'running'
    assert recorded_access(hypervisor)['host_key_alias'] == 'l1a.lab'
    dropped = run_module(l1_domain, args())
    assert dropped['changed_facts'] == ['access'] and recorded_access(hypervisor) is None


def test_access_through_a_forward_records_no_address(run_module, hypervisor):
    # Idempotence with a user network is shown on passt (test_user_network_on_passt_...): libvirt's test driver
    # drops the <qemu:commandline> of the QEMU netdev, so its forward is not there on the next run.
    result = run_module(l1_domain, args(networks=[USER_NETWORK], access=ACCESS))
    assert result['changed'] and recorded_access(hypervisor) == dict(ACCESS, address=None, port=22)


def test_access_on_passt_is_idempotent(run_module, hypervisor, passt_host):
    assert run_module(l1_domain, args(networks=[USER_NETWORK], access=ACCESS))['changed']
    assert not run_module(l1_domain, args(networks=[USER_NETWORK], access=ACCESS))['changed']


@pytest.mark.parametrize('networks, access, option', [
    ([], dict(ACCESS), 'access.address'),  # nothing forwards to the guest's port 22
    ([USER_NETWORK], dict(ACCESS, port=2022), 'access.address'),  # the forward leads to 22, not 2022
    ([USER_NETWORK], dict(ACCESS, user='-oProxyCommand=sh'), 'access.user'),
    ([USER_NETWORK], dict(ACCESS, user='a b'), 'access.user'),
    ([USER_NETWORK], dict(ACCESS, host_key_alias='l1a %h'), 'access.host_key_alias'),
    ([], dict(ACCESS, address='-oProxyCommand=sh'), 'access.address'),
    ([], dict(ACCESS, address='host name'), 'access.address'),
    ([], dict(ACCESS, address='192.0.2.1', port=0), 'access.port'),
    ([], dict(ACCESS, address='192.0.2.1', port=70000), 'access.port'),
])
def test_bad_access_fails_and_leaves_nothing_behind(run_module, hypervisor, networks, access, option):
    result = run_module(l1_domain, args(networks=networks, access=access))
    assert result['failed'] and result['option'] == option, result
    assert result['msg'].startswith(option + ': ')
    assert hypervisor.domains() == [] and hypervisor.volumes() == []
