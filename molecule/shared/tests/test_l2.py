"""Inside every L2 of the scenario's inventory, reached through its L1: a guest running on KVM."""

testinfra_hosts = ['ansible://l2_guests']


def test_the_kernel_sees_kvm(host, as_root):
    with as_root():
        assert 'Hypervisor detected: KVM' in host.check_output('journalctl -k -b --no-pager -o cat')


def test_it_is_the_guest_the_role_made(host):
    assert host.check_output('hostname') == host.backend.get_hostname()
