"""The l0_host role's per-distribution names and its /dev/kvm task.

The /dev/kvm task runs for real (ansible-playbook on localhost) on a stand-in file in tmp_path: the real /dev/kvm of
this machine must not be changed by a test. What kvm_host_info says about the QEMU user is given to the task (its
judgement is tested in tests/unit/plugins/module_utils/test__qemu_user.py::test_qemu_user_*), so what is tested here is
the task's decision and what it does to the file.
"""

import grp
import json
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'l0_host')


def _vars(name):
    with open(os.path.join(ROLE, 'vars', name)) as handle:
        text = handle.read()
    return text, yaml.safe_load(text)


@pytest.mark.parametrize('name', ['Debian.yml', 'RedHat.yml'])
def test_every_package_and_unit_names_what_it_is(name):
    # Reviewers cannot reach the distributions' package lists from here: each name carries a comment saying which
    # package (or unit of which package) it is, so they can check it by eye.
    text, values = _vars(name)
    for key, items in values.items():
        for item in items:
            line = next(line for line in text.splitlines() if re.match(r'\s*- %s(\s|$)' % re.escape(item), line))
            assert re.search(r'\s#\s*\S', line), '%s: %s in %s has no comment' % (name, item, key)


def test_rhel9_installs_the_default_network_and_nwfilter_configuration():
    _text, values = _vars('RedHat.yml')
    assert {'libvirt-daemon-config-network', 'libvirt-daemon-config-nwfilter'} <= set(values['__l0_host_packages'])


def test_rhel9_follows_the_modular_daemon_layout():
    _text, values = _vars('RedHat.yml')
    retired, started = values['__l0_host_libvirt_retired_units'], values['__l0_host_libvirt_units']
    assert set(retired) == {'libvirtd.service', 'libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket',
                            'libvirtd-tcp.socket', 'libvirtd-tls.socket'}
    assert not any(unit.startswith('libvirtd') for unit in started)
    for driver in ('qemu', 'network', 'storage', 'nodedev', 'nwfilter', 'secret'):
        assert {'virt%sd.socket' % driver, 'virt%sd-ro.socket' % driver, 'virt%sd-admin.socket' % driver} <= set(started)
    # Debian keeps its monolithic default and retires nothing.
    _text, debian = _vars('Debian.yml')
    assert debian['__l0_host_libvirt_retired_units'] == [] and debian['__l0_host_libvirt_units'] == ['libvirtd.service']


def test_the_monolithic_daemon_is_stopped_before_the_modular_sockets_start():
    with open(os.path.join(ROLE, 'tasks', 'libvirt.yml')) as handle:
        tasks = yaml.safe_load(handle)
    loops = [task.get('loop') for task in tasks]
    assert loops.index('{{ __l0_host_libvirt_retired_units }}') < loops.index('{{ __l0_host_libvirt_units }}')
    retire = tasks[loops.index('{{ __l0_host_libvirt_retired_units }}')]['ansible.builtin.systemd_service']
    assert retire['state'] == 'stopped' and retire['enabled'] is False


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: One /dev/kvm
      ansible.builtin.include_tasks: {tasks}
      vars:
        l0_host_libvirt_uri: test:///default
        __l0_host_dev_kvm_path: {path}
        __l0_host_kvm_access: {{kvm_host: {{dev_kvm: {{present: true}}, qemu_user_can_open_kvm: {can_open}}}}}
"""


def _run_dev_kvm_task(tmp_path, path, can_open):
    playbook = tmp_path / 'play.yml'
    playbook.write_text(PLAYBOOK.format(tasks=os.path.abspath(os.path.join(ROLE, 'tasks', 'dev_kvm.yml')),
                                        path=path, can_open=json.dumps(can_open)))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_NOCOLOR='1')
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable, str(playbook)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return int(re.search(r'localhost\s*:\s*ok=\d+\s+changed=(\d+)', done.stdout).group(1))


def _mode_and_group(path):
    status = os.stat(path)
    return '%04o' % stat.S_IMODE(status.st_mode), grp.getgrgid(status.st_gid).gr_name


@pytest.fixture
def device(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('giving the stand-in for /dev/kvm group kvm needs root')
    try:
        grp.getgrnam('kvm')
    except KeyError:
        pytest.skip('this machine has no kvm group')
    path = tmp_path / 'kvm'
    path.write_text('')
    return str(path)


def test_a_root_only_dev_kvm_is_given_to_group_kvm(tmp_path, device):
    os.chown(device, 0, 0)
    os.chmod(device, 0o600)  # what a host without udev has: the QEMU user cannot open it
    assert _run_dev_kvm_task(tmp_path, device, can_open=False) == 1
    assert _mode_and_group(device) == ('0660', 'kvm')
    # Converged: the QEMU user can open it now, and the next run changes nothing.
    assert _run_dev_kvm_task(tmp_path, device, can_open=True) == 0
    assert _mode_and_group(device) == ('0660', 'kvm')


def test_a_distributions_0666_is_left_alone(tmp_path, device):
    os.chown(device, 0, grp.getgrnam('kvm').gr_gid)
    os.chmod(device, 0o666)  # Fedora/RHEL: on purpose, for qemu:///session
    assert _run_dev_kvm_task(tmp_path, device, can_open=True) == 0
    assert _mode_and_group(device) == ('0666', 'kvm')
