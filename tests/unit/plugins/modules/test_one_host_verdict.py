"""One host, one answer: every consumer of the capability model picks the same domain type on the same host.

The consumers: kvm_host_info (with this machine's files, and from libvirt alone), virt_type auto of l1_domain and
l2_domain, and the l0_host role (which records kvm_host_info's recommendation as l0_host_virt_type, and which
l1_domain must then accept). Before issue 15 kvm_host_info parsed libvirt's capabilities on its own and recommended
qemu on a host whose QEMU has no TCG (only-kvm), where l1_domain refuses virt_type qemu.

Real parts: libvirt's test driver (defining, the CPU model expansion), the modules' main(), a real ansible-playbook
run of the role. Stood in for, because no such hosts exist here: libvirt's answers to getCapabilities and
getDomainCapabilities, taken from tests/unit/fixtures (capabilities/README.md: this machine's own answers for the PVM
and TCG hosts, written ones for the Intel host with VT-x and the AMD host with AMD-V), and each host's /proc, /sys
and /dev/kvm on the fake tree of ../conftest.py, made to agree with its capabilities.
"""

import itertools
import json
import os
import subprocess
import sys

import libvirt
import pytest

from ansible_collections.nestedkvm.stack.plugins.module_utils import _hostfs
from ansible_collections.nestedkvm.stack.plugins.modules import kvm_host_info, l1_domain, l2_domain
from ansible_collections.nestedkvm.stack.tests.unit.plugins.driver import TEST_URI


def _kvm_host(kind, module, nested):
    def build(tree):
        tree.cpu(kind).users().dev_kvm().module('kvm').module(module, nested=nested)
    return build


def _pvm_host(tree):
    tree.cpu('intel-no-vt', hypervisor=True).users().dev_kvm().module('kvm').module('kvm_pvm', builtin=True)


def _host_without_kvm(tree):
    tree.cpu('intel-no-vt', hypervisor=True).users()


# name: (stored capabilities, stored domain capabilities per domain type, this machine's side, the decision)
HOSTS = {
    'intel-kvm': ('intel-kvm.xml', {'kvm': 'intel-nested.xml'}, _kvm_host('intel', 'kvm_intel', 'Y'), 'kvm'),
    'amd-kvm': ('amd-kvm.xml', {'kvm': 'amd-nested.xml'}, _kvm_host('amd', 'kvm_amd', '1'), 'kvm'),
    'pvm-no-vmx': ('pvm-no-vmx.xml', {'kvm': 'pvm-kvm.xml', 'qemu': 'pvm-qemu.xml'}, _pvm_host, 'qemu'),
    'tcg-only': ('tcg-only.xml', {'qemu': 'pvm-qemu.xml'}, _host_without_kvm, 'qemu'),
    'only-kvm': ('only-kvm.xml', {'kvm': 'pvm-kvm.xml'}, _pvm_host, 'kvm'),
}


@pytest.fixture
def be(fake_host, monkeypatch, stored, tmp_path):
    """be(name): this machine's files and libvirt's answers become those of host ``name``, on a fake tree of its
    own (so one test can visit every host, and again)."""
    visits = itertools.count()

    def become(name):
        capabilities, domcaps, build, _decision = HOSTS[name]
        tree = type(fake_host)(tmp_path / ('%s-%d' % (name, next(visits))))
        os.makedirs(tree.root)
        build(tree)
        monkeypatch.setattr(_hostfs, 'ROOT', tree.root)
        caps = stored('capabilities', capabilities)
        answers = {virt_type: stored('domcaps', file) for virt_type, file in domcaps.items()}

        def domain_capabilities(self, emulator, arch, machine, virt_type, flags=0):
            if virt_type not in answers:  # what libvirt says for a type its QEMU cannot run
                raise libvirt.libvirtError("Emulator does not support virt type '%s'" % virt_type)
            return answers[virt_type]
        monkeypatch.setattr(libvirt.virConnect, 'getCapabilities', lambda self: caps)
        monkeypatch.setattr(libvirt.virConnect, 'getDomainCapabilities', domain_capabilities)
    return become


def _ok(result):
    assert 'failed' not in result, result
    return result


def l1_args(virt_type):
    return dict(name='l1a', uri=TEST_URI, virt_type=virt_type, nested=False, memory='1GiB',
                disks=[dict(name='root', pool='default-pool', size='4GiB')],
                networks=[dict(type='network', source='default')])


def host_info(run_module, **args):
    return _ok(run_module(kvm_host_info, dict(uri=TEST_URI, **args)))['kvm_host']


@pytest.mark.parametrize('name', HOSTS)
def test_the_modules_decide_the_same(run_module, hypervisor, be, name):
    be(name)
    decided = dict(
        kvm_host_info=host_info(run_module)['recommended_virt_type'],
        kvm_host_info_from_libvirt=host_info(run_module, host_facts='libvirt')['recommended_virt_type'],
        l1_domain=_ok(run_module(l1_domain, l1_args('auto'), check=True))['virt_type'],
        l2_domain=_ok(run_module(l2_domain, dict(name='l2', uri=TEST_URI, virt_type='auto'), check=True))['virt_type'],
    )
    assert decided == dict.fromkeys(decided, HOSTS[name][3])
    assert hypervisor.domains() == []


def test_the_l0_host_role_records_that_decision_and_l1_domain_takes_it(run_module, hypervisor, be, tmp_path):
    infos = {}
    for name in HOSTS:
        be(name)
        infos[name] = host_info(run_module)
    recorded = _run_the_roles_decision(tmp_path, infos)
    assert recorded == {name: host[3] for name, host in HOSTS.items()}
    for name, virt_type in recorded.items():
        be(name)
        assert _ok(run_module(l1_domain, l1_args(virt_type), check=True))['virt_type'] == virt_type, name


PLAYBOOK = """
- name: The l0_host role's decision on each host's kvm_host_info
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Each host
      ansible.builtin.include_tasks: one_host.yml
      loop: "{{ nk_infos | dict2items }}"
    - name: What the role recorded
      ansible.builtin.copy:
        content: "{{ nk_recorded | to_json }}"
        dest: "{{ nk_out }}"
        mode: '0644'
"""

ONE_HOST = """
- name: The role's virt_type step, with its defaults (l0_host_emulation auto)
  ansible.builtin.include_role:
    name: nestedkvm.stack.l0_host
    tasks_from: virt_type
  vars:
    __l0_host_info: {kvm_host: "{{ item.value }}"}
- name: Keep l0_host_virt_type
  ansible.builtin.set_fact:
    nk_recorded: "{{ nk_recorded | default({}) | combine({item.key: l0_host_virt_type}) }}"
"""


def _run_the_roles_decision(tmp_path, infos):
    (tmp_path / 'play.yml').write_text(PLAYBOOK)
    (tmp_path / 'one_host.yml').write_text(ONE_HOST)
    (tmp_path / 'vars.json').write_text(json.dumps(dict(nk_infos=infos, nk_out=str(tmp_path / 'recorded.json'))))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_NOCOLOR='1')
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                           '-e', '@%s' % (tmp_path / 'vars.json'), str(tmp_path / 'play.yml')],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((tmp_path / 'recorded.json').read_text())
