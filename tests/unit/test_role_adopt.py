"""l1_hypervisor_adopt, l2_guests_adopt and l0_host_pool_adopt (issue 13, ownership): the roles leave a domain or pool
the collection did not make alone, failing with the variable that would let them take it, and take it over when the
host opts in. The roles run for real on localhost (playbooks/role_adopt.yml) against test:///default, whose own domain
'test' nobody made with this collection."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_the_roles_take_over_a_domain_they_did_not_make_only_when_told(tmp_path):
    (tmp_path / 'keys').mkdir(mode=0o700)
    # The controller's key, and the host key guest_ssh would make for 'test' (check mode makes none).
    for key in (tmp_path / 'id', tmp_path / 'keys' / 'test'):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(key)], check=True)
    base = tmp_path / 'base.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(base), '64M'], check=True)
    # su: root becoming root needs no password and no sudo (not installed here).
    local = dict(ansible_connection='local', ansible_python_interpreter=sys.executable, ansible_become_method='su')
    guest = dict(
        local, ansible_host='nk-adopt.example', ansible_port=22,
        l1_hypervisor_domain_name='test', l1_hypervisor_libvirt_uri='test:///default', l1_hypervisor_virt_type='qemu',
        l1_hypervisor_pool='default-pool', l1_hypervisor_vcpus=1, l1_hypervisor_memory='256MiB',
        l1_hypervisor_disk_size='64MiB', l1_hypervisor_image={'path': str(base)}, l1_hypervisor_networks=[],
        l1_hypervisor_wait_for='running', l1_hypervisor_configure=False,
        l1_hypervisor_ssh_private_key_file=str(tmp_path / 'id'), l1_hypervisor_host_key_dir=str(tmp_path / 'keys'),
        l1_hypervisor_known_hosts_file=str(tmp_path / 'known_hosts'),
        l2_guests_l1_host='localhost', l2_guests_domain_name='test', l2_guests_libvirt_uri='test:///default',
        l2_guests_pool='default-pool', l2_guests_vcpus=1, l2_guests_memory='256MiB', l2_guests_disk_size='64MiB',
        l2_guests_networks=[], l2_guests_wait_for='none', l2_guests_require_kvm=False,
        l2_guests_ssh_private_key_file=str(tmp_path / 'id'), l2_guests_host_key_dir=str(tmp_path / 'keys'),
        l2_guests_known_hosts_file=str(tmp_path / 'known_hosts'))
    inventory = {'all': {'hosts': {'localhost': local}, 'children': {'nk_adopt': {'hosts': {'nk-adopt': guest}}}}}
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    run = subprocess.run(['ansible-playbook', '-i', str(tmp_path / 'inventory.yml'),
                          str(REPO / 'tests' / 'unit' / 'playbooks' / 'role_adopt.yml')],
                         check=False, capture_output=True, text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    # Six rescues: the test's and the role's own, for each role without adopt.
    assert 'failed=0' in run.stdout and 'rescued=6' in run.stdout and 'ignored=0' in run.stdout, run.stdout[-8000:]
