"""Inside every L2 of the scenario's inventory, reached through its L1: a guest running on KVM."""

testinfra_hosts = ['ansible://l2_guests']


def test_the_kernel_sees_kvm(host, as_root):
    with as_root():
        assert 'Hypervisor detected: KVM' in host.check_output('journalctl -k -b --no-pager -o cat')


def test_it_is_the_guest_the_role_made(host):
    assert host.check_output('hostname') == host.backend.get_hostname()


def test_sudo_finds_the_guests_own_name(host):
    # cloud-init's manage_etc_hosts, from the role's seed: no DNS look-up and no warning on each sudo.
    run = host.run('sudo -n true')
    assert run.rc == 0 and 'unable to resolve host' not in run.stderr, run.stderr
    assert host.run('getent hosts "$(hostname)"').rc == 0
