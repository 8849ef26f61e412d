"""Inside every L1 of the scenario's inventory (reached with its SSH settings): a KVM host with nesting."""

testinfra_hosts = ['ansible://l1_hypervisors']


def test_dev_kvm_is_usable_by_group_kvm(host):
    assert host.check_output('stat -c "%F %G %a" /dev/kvm') == 'character special file kvm 660'


def test_the_vendor_module_has_nesting_on_now_and_after_reboot(host):
    module = 'kvm_amd' if host.file('/sys/module/kvm_amd').exists else 'kvm_intel'
    assert host.file('/sys/module/%s/parameters/nested' % module).content_string.strip() in ('1', 'Y')
    assert host.file('/etc/modprobe.d/nestedkvm-%s.conf' % module).contains('nested=1')


def test_libvirt_offers_kvm(host, as_root):
    with as_root():
        assert '<domain>kvm</domain>' in host.check_output('virsh -c qemu:///system domcapabilities --virttype kvm')
