"""The windows11-profile guest of converge.yml: its firmware enforces Secure Boot, with a TPM 2.0, inside the L1.

converge.yml says on which host it runs (the L1) in $NESTEDKVM_LAB_DIR/mol-win11.json; the checks run there.
In an L1 emulated by QEMU TCG, the guest runs with QEMU's interrupt controllers (docs/known-issues.md): that
it runs at all, and its L1 with it, is the check that the workaround works."""

import contextlib
import json
import os
import time

import pytest
import testinfra
from lxml import etree

testinfra_hosts = ['localhost']

# OVMF reaches its shell fallback within a few minutes even under emulation.
WAIT_SECONDS = 300


@pytest.fixture
def win11(host):
    with open(os.path.join(os.environ['NESTEDKVM_LAB_DIR'], 'mol-win11.json')) as marker:
        where = json.load(marker)
    there = testinfra.get_host('ansible://%s?force_ansible=True' % where['host'],
                               ansible_inventory=host.backend.ansible_inventory)
    with root(there):
        defined = there.check_output('virsh -c qemu:///system dumpxml --inactive %s' % where['domain'])
    return there, etree.fromstring(defined.encode()).xpath('string(devices/serial/log/@file)')


def root(there):
    return there.sudo() if there.user().name != 'root' else contextlib.nullcontext()


def test_the_firmware_refuses_an_unsigned_efi_binary(win11):
    there, log = win11
    deadline = time.monotonic() + WAIT_SECONDS
    with root(there):
        while 'Security Violation' not in there.check_output('cat %s' % log) and time.monotonic() < deadline:
            time.sleep(10)
        assert 'Security Violation' in there.check_output('cat %s' % log)


def test_it_boots_the_secure_boot_firmware_with_a_tpm(win11):
    there, _log = win11
    with root(there):
        defined = there.check_output('virsh -c qemu:///system dumpxml --inactive mol-win11')
        running = there.check_output('virsh -c qemu:///system dumpxml mol-win11')
        assert "name='secure-boot'" in defined and "name='enrolled-keys'" in defined
        assert "secure='yes'" in running  # the Secure Boot build of OVMF that libvirt picked
        assert "<tpm model='tpm-crb'>" in running
        assert there.run('pgrep -f "swtpm.*mol-win11"').rc == 0
        emulated_l1 = 'QEMU TCG CPU' in there.check_output('grep -m1 "model name" /proc/cpuinfo')
        # kernel_irqchip false exactly where the L1 is emulated (the l2_guests role decides)
        assert ('kernel-irqchip=off' in defined) == emulated_l1
        assert there.run('virsh -c qemu:///system domstate mol-win11').stdout.strip() == 'running'


def test_the_l1_survived_it(win11):
    there, _log = win11
    # The TCG QEMU that runs an emulated L1 aborts when this guest starts without the workaround: the L1 then
    # answers no more. It answers, and its Linux L2 is still running.
    with root(there):
        assert there.run('virsh -c qemu:///system domstate lab-l2').stdout.strip() == 'running'
