"""The windows11-profile domain of converge.yml: its firmware enforces Secure Boot, with a TPM 2.0.

converge.yml says on which host it runs (the L1, or the L0 itself when that is emulated) in
$NESTEDKVM_LAB_DIR/mol-win11.json; the checks run there."""

import contextlib
import json
import os
import time

import pytest
import testinfra

testinfra_hosts = ['localhost']

# OVMF reaches its shell fallback within a few minutes even under emulation.
WAIT_SECONDS = 300


@pytest.fixture
def win11(host):
    with open(os.path.join(os.environ['NESTEDKVM_LAB_DIR'], 'mol-win11.json')) as marker:
        where = json.load(marker)
    there = testinfra.get_host('ansible://%s?force_ansible=True' % where['host'],
                               ansible_inventory=host.backend.ansible_inventory)
    return there, where['console_log']


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
