"""Bad role variables change nothing (issue 13, validation): each role runs for real on this host (include_role,
playbooks/role_bad_vars.yml) with one bad value, fails in its argument-spec validation naming the variable, and the
host is compared before and after: domains, pools, volumes, and everything the roles would write. No domain starts.

The inventory points what a role would touch at the test's own places: libvirt's real qemu:///system with the tier's
pool and prefixed names, and a scratch directory for host keys, known_hosts, images and the report.
"""

import json
import os
import sys

import pytest

from conftest import HERE, PREFIX, URI, ansible_playbook, host_state

pytestmark = pytest.mark.integration

CASE_HOST = PREFIX + 'role-case'
# The L0 role's own pool, if it got that far.
ROLE_POOL = PREFIX + 'role-pool'


def test_a_bad_role_variable_fails_in_the_first_task_and_changes_nothing(system, pool, tmp_path):
    scratch = tmp_path / 'controller'
    scratch.mkdir()
    (scratch / 'keep').write_text('a file the roles must leave as it is\n')
    machine = dict(ansible_connection='local', ansible_python_interpreter=sys.executable)
    places = dict(
        l0_host_install_packages=False, l0_host_fix_dev_kvm=False, l0_host_start_libvirt=False, l0_host_nested=False,
        l0_host_libvirt_uri=URI, l0_host_pool_name=ROLE_POOL, l0_host_pool_path=str(scratch / 'pool'),
        l1_hypervisor_libvirt_uri=URI, l1_hypervisor_pool=pool, l1_hypervisor_configure=False,
        l1_hypervisor_image={'path': str(scratch / 'missing.qcow2')}, l1_hypervisor_image_dir=str(scratch / 'images'),
        l1_hypervisor_host_key_dir=str(scratch / 'keys'), l1_hypervisor_known_hosts_file=str(scratch / 'known_hosts'),
        l1_hypervisor_ssh_private_key_file=str(scratch / 'id'),
        l2_guests_libvirt_uri=URI, l2_guests_pool=pool, l2_guests_image_dir=str(scratch / 'images'),
        l2_guests_host_key_dir=str(scratch / 'keys'), l2_guests_known_hosts_file=str(scratch / 'known_hosts'),
        l2_guests_ssh_private_key_file=str(scratch / 'id'),
        guest_ssh_host_key_dir=str(scratch / 'keys'), guest_ssh_private_key_file=str(scratch / 'id'),
        overhead_report_dest=str(scratch / 'report'), overhead_report_disk_dir=str(scratch))
    inventory = tmp_path / 'inventory.json'  # JSON is YAML: the inventory plugin reads it
    inventory.write_text(json.dumps({'all': {
        'vars': places,
        'hosts': {'localhost': machine},
        'children': {'nk_role_case': {'hosts': {CASE_HOST: machine}}}}}))
    watched = [str(scratch), '/etc/modprobe.d/nestedkvm-*']
    before = host_state(system, pools=[pool], paths=watched)

    done = ansible_playbook(['-i', str(inventory), os.path.join(HERE, 'playbooks', 'role_bad_vars.yml')])

    assert done.returncode == 0 and 'failed=0' in done.stdout, done.stdout[-6000:]
    with open('/proc/cpuinfo') as cpuinfo:
        has_vt = any(flag in cpuinfo.read().split() for flag in ('vmx', 'svm'))
    # Every case reached its rescue; the last, emulation never, only runs without VT-x/AMD-V.
    assert 'rescued=%d' % (10 if has_vt else 11) in done.stdout, done.stdout[-6000:]
    assert host_state(system, pools=[pool], paths=watched) == before
