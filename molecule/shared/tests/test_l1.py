"""Inside every L1 of the scenario's inventory (reached with its SSH settings): a KVM host with nesting."""

import pytest

testinfra_hosts = ['ansible://l1_hypervisors']


def test_dev_kvm_is_usable_by_group_kvm(host):
    assert host.check_output('stat -c "%F %G %a" /dev/kvm') == 'character special file kvm 660'


def test_the_vendor_module_has_nesting_on_now_and_after_reboot(host):
    module = 'kvm_amd' if host.file('/sys/module/kvm_amd').exists else 'kvm_intel'
    assert host.file('/sys/module/%s/parameters/nested' % module).content_string.strip() in ('1', 'Y')
    assert host.file('/etc/modprobe.d/nestedkvm-%s.conf' % module).contains('nested=1')


def test_an_emulated_l1_holds_one_kvm_vm_from_boot(host):
    """l0_host_hold_kvm: auto holds where the CPU is emulated (docs/known-issues.md), and only there."""
    facts = host.ansible('nestedkvm.stack.kvm_host_info', check=False, become=True)['kvm_host']
    active = host.run('systemctl is-active nestedkvm-kvm-hold.service').stdout.strip()
    assert active == ('active' if facts['cpu_emulated'] else 'inactive'), facts
    holding = [user for user in facts['kvm_users'] if user['comm'] == 'nestedkvm-hold']
    assert len(holding) == (1 if facts['cpu_emulated'] else 0), facts['kvm_users']


def test_libvirt_offers_kvm(host, as_root):
    with as_root():
        assert '<domain>kvm</domain>' in host.check_output('virsh -c qemu:///system domcapabilities --virttype kvm')


def test_nesting_is_not_reloaded_under_a_running_guest(host, as_root):
    """kvm_nested_param must refuse to unload the KVM module while an L2 holds /dev/kvm, and change nothing."""
    with as_root():
        running = host.check_output('virsh -c qemu:///system list --name')
    if not running.strip():
        pytest.skip('no guest runs in this L1 (the l1_hypervisor scenario starts none)')
    module = 'kvm_amd' if host.file('/sys/module/kvm_amd').exists else 'kvm_intel'
    try:
        result = host.ansible('nestedkvm.stack.kvm_nested_param', 'state=disabled', check=False, become=True)
    except host.ansible.AnsibleException as refused:
        result = refused.result
    # testinfra reads ansible's tree callback, which in ansible-core 2.19 drops the 'failed' key (so
    # testinfra raises nothing): the refusal is judged by its message and the guests it names.
    assert result.get('msg', '').startswith('Cannot reload %s' % module), result
    assert 'qemu' in str(result.get('kvm_users')) and not result.get('changed'), result
    assert host.file('/sys/module/%s/parameters/nested' % module).content_string.strip() in ('1', 'Y')
    assert host.file('/etc/modprobe.d/nestedkvm-%s.conf' % module).contains('nested=1')
    with as_root():
        assert host.check_output('virsh -c qemu:///system list --name') == running


def test_sudo_finds_the_guests_own_name(host):
    # cloud-init's manage_etc_hosts, from the role's seed: no DNS look-up and no warning on each sudo.
    run = host.run('sudo -n true')
    assert run.rc == 0 and 'unable to resolve host' not in run.stderr, run.stderr
    assert host.run('getent hosts "$(hostname)"').rc == 0
