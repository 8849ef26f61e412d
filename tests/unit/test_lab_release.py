"""The lab's Debian release is one variable: inventories/local derives the L1 build, the L2's image and kernel paths
and the L2's network from it, the build script and the l1_hypervisor role accept the same releases, and the script
refuses any other before it touches anything. Rendered by ansible-playbook on the lab's inventory, connecting to no VM;
no image is built here (the build is the lab's and CI's)."""

import json
import os
import subprocess

import pytest
import yaml

REPO = os.path.join(os.path.dirname(__file__), '..', '..')
SCRIPT = os.path.join(REPO, 'roles', 'l1_hypervisor', 'files', 'build-debian-images.sh')
IMAGES_IN_L1 = '/var/lib/nestedkvm/images'


def _lab_vars(tmp_path, release):
    out = tmp_path / 'lab.json'
    env = {key: value for key, value in os.environ.items() if key != 'NESTEDKVM_LAB_DEBIAN'}
    if release is not None:
        env['NESTEDKVM_LAB_DEBIAN'] = release
    run = subprocess.run(
        ['ansible-playbook', '-i', os.path.join(REPO, 'inventories', 'local'), '-e', 'nk_out=%s' % out,
         os.path.join(REPO, 'tests', 'unit', 'playbooks', 'lab_release.yml')],
        capture_output=True, text=True, check=False, env=dict(env, ANSIBLE_NOCOLOR='1', NESTEDKVM_LAB_DIR=str(tmp_path)))
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(out.read_text())


def _role_build_choices():
    with open(os.path.join(REPO, 'roles', 'l1_hypervisor', 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    return options['l1_hypervisor_image']['options']['build']['choices']


@pytest.mark.parametrize('chosen, release', [(None, 'debian12'), ('debian13', 'debian13')], ids=['default', 'debian13'])
def test_one_variable_picks_the_l1_build_and_the_l2_image_it_carries(tmp_path, chosen, release):
    lab = _lab_vars(tmp_path, chosen)
    assert lab['l1_hypervisor_image'] == {'build': release}
    image = lab['l2_guests_image']
    assert image['path'] == '%s/%s-l2.qcow2' % (IMAGES_IN_L1, release)
    assert (image['kernel_boot']['kernel'], image['kernel_boot']['initrd']) == (
        '%s/%s.vmlinuz' % (IMAGES_IN_L1, release), '%s/%s.initrd' % (IMAGES_IN_L1, release))
    # Debian 12's libvirt 9.0 has only QEMU's netdev, kept restricted; Debian 13's libvirt 11.3 puts an unrestricted
    # network on passt (which has no restrict), libvirt's own interface that it does not mark tainted.
    assert [n['restrict'] for n in lab['l2_guests_networks']] == [release == 'debian12']


def test_the_script_builds_the_releases_the_role_accepts_and_names_the_l2_files_as_the_inventory_does():
    with open(SCRIPT) as handle:
        script = handle.read()
    releases = next(line for line in script.splitlines() if line.startswith('releases='))
    assert releases.split('=', 1)[1].strip('"').split() == _role_build_choices() == ['debian12', 'debian13']
    assert 'cp "$work/$release-l2.qcow2" "$work/$release.vmlinuz" "$work/$release.initrd" "$root%s/"' % IMAGES_IN_L1 \
        in script


def test_the_script_refuses_an_unknown_release_before_it_touches_anything(tmp_path):
    out = tmp_path / 'images'
    run = subprocess.run(['bash', SCRIPT, str(out), 'debian11-0123456789', 'http://deb.debian.org/debian', 'debian11'],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "unknown RELEASE 'debian11'" in run.stderr and 'debian12 debian13' in run.stderr
    assert not out.exists()
