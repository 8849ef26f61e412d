"""Fault injection for tests/integration/test_faults.py: a real fault at an exact point of a real run.

Python imports this file at start-up when its directory is on PYTHONPATH. With NK_FAULT set, it
wraps one libvirt-python call, in every Python process of the playbook (the module's included):

  kill-after-volume  SIGKILL the whole playbook (its process group) right after libvirt created
                     the NK_FAULT_COUNT-th volume of the run (default 1)
  kill-in-upload     SIGKILL it after the first chunk of a volume upload (the cloud-init seed)
  kill-in-start      SIGKILL it while libvirtd is starting a domain (virDomain.create in flight)
  stop-libvirtd      stop libvirtd just before the NK_FAULT_COUNT-th volume is created

Nothing here is mocked: libvirt, QEMU and the module are the real ones; only the moment of the
fault is chosen. Processes where NK_FAULT is unset are untouched.
"""

import os
import signal
import subprocess
import threading
import time

FAULT = os.environ.get('NK_FAULT')
COUNT = int(os.environ.get('NK_FAULT_COUNT', '1'))


def _kill_playbook():
    # Ansible runs each task in a worker of a process group of its own: kill that group (worker and
    # module) and the group of ansible-playbook itself, the first process that read this file.
    os.killpg(int(os.environ['NK_FAULT_ROOT_PGID']), signal.SIGKILL)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def _stop_libvirtd():
    subprocess.run(['pkill', '-x', 'libvirtd'], check=False)
    for _attempt in range(100):
        if subprocess.run(['pgrep', '-x', 'libvirtd'], stdout=subprocess.DEVNULL, check=False).returncode:
            return
        time.sleep(0.1)


def _install(libvirt):
    calls = {'volumes': 0}
    create_xml = libvirt.virStoragePool.createXML
    send = libvirt.virStream.send
    start = libvirt.virDomain.create

    def create_volume(pool, xml, flags=0):
        calls['volumes'] += 1
        if FAULT == 'stop-libvirtd' and calls['volumes'] == COUNT:
            _stop_libvirtd()
        volume = create_xml(pool, xml, flags)
        if FAULT == 'kill-after-volume' and calls['volumes'] == COUNT:
            _kill_playbook()
        return volume

    def send_chunk(stream, data):
        sent = send(stream, data)
        if FAULT == 'kill-in-upload':
            _kill_playbook()
        return sent

    def start_domain(domain):
        if FAULT == 'kill-in-start':
            # QEMU takes well over 0.2 s to come up under TCG: the kill lands mid-start.
            threading.Timer(0.2, _kill_playbook).start()
        return start(domain)

    libvirt.virStoragePool.createXML = create_volume
    libvirt.virStream.send = send_chunk
    libvirt.virDomain.create = start_domain


if FAULT:
    os.environ.setdefault('NK_FAULT_ROOT_PGID', str(os.getpgid(0)))
    try:
        import libvirt as _libvirt
    except ImportError:
        pass
    else:
        _install(_libvirt)
