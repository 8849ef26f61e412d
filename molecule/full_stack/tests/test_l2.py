"""Inside the lab's L2, reached through the L1: its kernel runs on KVM."""

testinfra_hosts = ['lab-l2']


def test_the_kernel_sees_kvm(host):
    assert 'Hypervisor detected: KVM' in host.check_output('sudo journalctl -k -b --no-pager -o cat')


def test_the_guest_is_the_one_the_role_made(host):
    assert host.check_output('hostname') == 'lab-l2'
