"""A guest that hangs becomes a bounded failure that says what it is doing (issue: no task may wait without a bound).

The hang is real: a domain under TCG on the real libvirtd whose QEMU is stopped with SIGSTOP, the way a wedged
guest stops answering. The wait runs through ansible-playbook, so its progress lines and its message are what a user
sees on the default callback."""

import glob
import os
import re
import signal
import time

import pytest

from conftest import PREFIX, libvirt

pytestmark = pytest.mark.integration

NAME = PREFIX + 'hang'
CONSOLE_LOG = '/var/log/libvirt/qemu/%s-serial.log' % NAME


# The domains of this file's tests, removed after each: other tests compare every domain of the tier's prefix.
DOMAINS = (NAME, PREFIX + 'diag-l1', PREFIX + 'diag-l2')


@pytest.fixture(autouse=True)
def gone_afterwards(system):
    yield
    for name in DOMAINS:
        try:
            domain = system.lookupByName(name)
        except libvirt.libvirtError:
            continue
        if domain.isActive():
            domain.destroy()
        domain.undefine()


def cached_kernel():
    """A lab kernel from the image cache, if the lab was ever built here: it fills the console log."""
    directories = [os.environ.get('NESTEDKVM_IMAGE_DIR', ''), '/var/cache/nestedkvm/images',
                   os.path.join(os.path.dirname(__file__), '..', '..', '.work', 'images')]
    kernels = [path for d in directories if d for path in sorted(glob.glob(os.path.join(d, '*.vmlinuz')))]
    return kernels[0] if kernels else ''


def qemu_pid():
    with open('/run/libvirt/qemu/%s.pid' % NAME) as handle:
        return int(handle.read().strip())


def console_lines():
    try:
        with open(CONSOLE_LOG, 'rb') as handle:
            return [line for line in handle.read().decode('utf-8', 'replace').splitlines() if line.strip()]
    except OSError:
        return []


def test_a_stopped_guest_fails_the_wait_within_its_bound_saying_why(run_playbook, playbook):
    kernel = cached_kernel()
    playbook('hang.yml', '--tags', 'start', nk_kernel=kernel)
    if kernel:  # let the kernel write to its console before it is frozen
        deadline = time.monotonic() + 60
        while len(console_lines()) < 3 and time.monotonic() < deadline:
            time.sleep(1)
    pid = qemu_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        done = run_playbook('hang.yml', '--tags', 'wait', nk_timeout=20, nk_interval=10)
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    output = done.stdout
    assert done.returncode != 0, output
    assert took < 20 + 25, took  # the bound, plus ansible-playbook's own start and the final look
    assert re.search(r"waiting for SSH at 127\.0\.0\.1:42150 of guest '%s' on localhost: \d+ s of 20 s; "
                     r"running \(booted\), QEMU stopped by a signal, at 0 %% CPU" % NAME, output), output
    message = output[output.index('fatal:'):]
    for part in ("guest '%s' did not answer (SSH at 127.0.0.1:42150) within 20 s" % NAME,
                 "domain '%s' on localhost (qemu:///system) is running (booted)" % NAME,
                 'its QEMU process %d is alive, stopped by a signal, at 0 %% CPU' % pid,
                 'virsh -c qemu:///system qemu-monitor-command %s' % NAME):
        assert part in message, message
    if kernel:
        assert 'Last lines of its serial console (%s)' % CONSOLE_LOG in message, message
        assert console_lines()[-1].strip()[-40:] in message.replace('\\n', '\n'), message


def test_the_wait_ends_at_once_when_the_guest_is_destroyed(run_playbook, playbook, system):
    playbook('hang.yml', '--tags', 'start')
    system.lookupByName(NAME).destroy()
    started = time.monotonic()
    done = run_playbook('hang.yml', '--tags', 'wait', nk_timeout=120)
    assert done.returncode != 0 and time.monotonic() - started < 60, done.stdout
    assert "guest '%s' stopped while waiting for SSH" % NAME in done.stdout
    assert 'is shutoff (destroyed)' in done.stdout


def test_an_answering_l1_is_not_restarted_for_a_guest_that_did_not_answer(playbook):
    # A guest that booted slowly once made the l2_guests role restart its emulated L1, which had answered all along.
    playbook('l2_diagnosis.yml')
