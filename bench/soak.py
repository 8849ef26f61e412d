"""`make soak N=30`: how dependable the emulated lab is. Boots the lab's L2 N times inside one L1 (destroy, start,
wait until its SSH answers) and starts fresh L1s, and counts what happened to each boot:

  booted      the guest's SSH server answered within the bound (its boot time is kept)
  l1_panic    the L1 stopped answering and its serial console says "Kernel panic"
  l1_hang     the L1 stopped answering (no SSH within the bound) while its QEMU still runs: a wedged L1 (its vCPU
              registers are kept: CPL=0 with HLT=0 on every vCPU is a kernel spinning)
  qemu_crash  the L1's QEMU died (libvirt: shut off, crashed) - e.g. TCG's assertion with a UEFI L2
  l2_hang     the L1 answers but the L2 did not within the bound

Each failure keeps its evidence (the L1's state and console lines as nestedkvm.stack.domain_status gives them, or
the L2's state seen from the L1). After an L1 failure the L1 is restarted and the soak goes on.

Runs on the lab's L0 (this machine) as root, against the lab of inventories/local, which it builds first with
site.yml (plus the variant's settings). It is not part of `make test`. Results go into bench/results.json under
"soak" (one entry per variant), beside `make bench`'s figures, after every boot: a soak cut short keeps what it saw,
with "finished": false.

  python bench/soak.py --boots 30 --l1-boots 3 [--l2-boots-per-l1 2 --variant NAME --extra-vars k=v ...
                       --l1-kvm-amd 'vgif=0 avic=0']
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, '.work', 'collections'))

import libvirt  # noqa: E402

from ansible_collections.nestedkvm.stack.plugins.module_utils import _domain_health  # noqa: E402
from ansible_collections.nestedkvm.stack.plugins.module_utils._connection import Connection  # noqa: E402

L0_URI = 'qemu:///system'
L1, L2 = 'lab-l1', 'lab-l2'
L1_PORT, L2_PORT = 2222, 2223
LAB = os.environ.get('NESTEDKVM_LAB_DIR', os.path.join(ROOT, '.work'))
L1_SERIAL_LOG = '/var/log/libvirt/qemu/%s-serial.log' % L1  # as the l1_hypervisor role writes it (size-capped)
L1_FAULTS = ('l1_panic', 'l1_hang', 'qemu_crash')
L2_BOUND = 300  # seconds for an L2 to answer, as l2_guests_boot_timeout
L1_BOUND = 600  # as l1_hypervisor_boot_timeout
# Seconds without an answer from the L1 before it counts as wedged. Measured here: under load an L1 whose L2 boots
# can stay silent for over a minute and then answer again, so silence is judged by the L2's own bound.
L1_SILENCE = L2_BOUND
KINDS = ('booted', 'l1_panic', 'l1_hang', 'qemu_crash', 'l2_hang')


def l1_ssh(command, timeout=30):
    """Run ``command`` in the L1 over SSH, bounded; (returncode, output). 255 or 124: the L1 did not answer."""
    ssh = ['ssh', '-o', 'UserKnownHostsFile=%s/lab/known_hosts' % LAB, '-o', 'StrictHostKeyChecking=yes',
           '-o', 'HostKeyAlias=%s' % L1, '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=5',
           '-o', 'ServerAliveCountMax=2', '-o', 'BatchMode=yes', '-i', '%s/lab/id_ed25519' % LAB,
           '-p', str(L1_PORT), 'nestedkvm@127.0.0.1', command]
    try:
        done = subprocess.run(ssh, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return 124, ''
    return done.returncode, done.stdout


def vcpus():
    """The L1's vCPUs as QEMU's monitor shows them (privilege level, halted or not), for a wedged L1's evidence."""
    done = subprocess.run(['virsh', '-c', L0_URI, 'qemu-monitor-command', L1, '--hmp', 'info registers -a'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
    lines = [line.strip() for line in done.stdout.splitlines() if 'CPL=' in line or line.startswith('RIP=')]
    return '\nvCPUs (info registers -a): ' + ' | '.join(lines)


# What an L2 that did not answer was doing, seen from its L1: libvirt's state, how much CPU its QEMU took, its vCPU
# and KVM's exit counters for it twice, 2 s apart (RIP unchanged: a guest that does not run on; CPL=0 HLT=0: a kernel
# spinning; exits climbing meanwhile: each entry into the guest leaves again at once), the instructions at RIP, and
# its console (nearly empty until user space with the lab's `quiet`). sudo's warning about the L1's own name, which
# images made before the roles set manage_etc_hosts print, is dropped.
L2_EVIDENCE = ('{{ sudo virsh domstate {name} --reason; '
               'ps -o pid=,pcpu=,cputime=,stat= -C qemu-system-x86_64 | sed "s/^/QEMU: /"; '
               'stats=$(sudo sh -c "ls -d /sys/kernel/debug/kvm/$(pgrep -f guest={name} | head -1)-* | head -1"); '
               'for look in 1 2; do sudo virsh qemu-monitor-command {name} --hmp "info registers" '
               '| grep -E "^RIP=|CPL=" | tr "\\n" " "; echo; '
               'for stat in exits pf_taken io_exits mmio_exits irq_exits halt_exits insn_emulation; do '
               'printf "%s=%s " $stat "$(sudo cat $stats/$stat 2>/dev/null)"; done; echo; sleep 2; done; '
               'sudo virsh qemu-monitor-command {name} --hmp "x/4i \\$pc"; '
               'echo "console:"; sudo tail -n 15 /var/log/libvirt/qemu/{name}-serial.log; }} 2>&1 '
               '| grep -v "unable to resolve host"').format(name=L2)


def banner(port):
    """Shell for the L1: prints the first bytes of what answers on its 127.0.0.1:<port>."""
    return "timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && head -c 4 <&3' 2>/dev/null" % port


class Soak:
    def __init__(self, variant, save=None):
        self.variant = variant
        self.save = save or (lambda soak: None)  # called after every boot, so a soak cut short keeps what it saw
        self.boots = []  # {'level', 'outcome', 'seconds', 'load', 'evidence'}, and for L2 'l1_boot', 'in_l1'
        self.l0 = libvirt.open(L0_URI)

    def l1_status(self):
        with Connection(L0_URI) as connection:
            return _domain_health.domain_status(connection, L1, local=True, console_lines=15)

    def l1_failure(self, since, silence=L1_SILENCE):
        """The kind of L1 failure, from the L0's view, once the L1 has not answered since ``since``; None while that is
        not (yet) a failure."""
        status = self.l1_status()
        if status['state'] in _domain_health.FINAL_STATES:
            return 'qemu_crash', status
        if any('Kernel panic' in line for line in status['console_tail']):
            return 'l1_panic', status
        if time.monotonic() - since >= silence:
            return 'l1_hang', status
        return None, status

    def record(self, level, outcome, seconds, evidence=''):
        # The L0's load when the boot ended: boot times here are only comparable at a similar load.
        load = round(os.getloadavg()[1], 1)
        number = 1 + sum(1 for earlier in self.boots if earlier['level'] == level)  # per level, as printed
        if outcome in L1_FAULTS and os.path.exists(L1_SERIAL_LOG):
            # The whole console, before the L1's next start truncates it: the evidence keeps only its last lines.
            kept = os.path.join(LAB, 'soak', '%s-%s-boot%d-%s-serial.log' % (self.variant, level, number, L1))
            os.makedirs(os.path.dirname(kept), exist_ok=True)
            shutil.copyfile(L1_SERIAL_LOG, kept)
            evidence = '\n'.join(filter(None, (evidence, "The L1's whole serial console: %s" % kept)))
        boot = dict(level=level, outcome=outcome, seconds=round(seconds, 1), load=load, evidence=evidence)
        where = ''
        if level == 'L2':
            # Which L1 it ran in, and the how-manieth L2 boot of that L1 it was.
            l1_boot = sum(1 for earlier in self.boots if earlier['level'] == 'L1')
            boot.update(l1_boot=l1_boot, in_l1=1 + sum(1 for earlier in self.boots if earlier.get('l1_boot') == l1_boot))
            where = ' (L1 boot %d, its L2 boot %d)' % (boot['l1_boot'], boot['in_l1'])
        self.boots.append(boot)
        shown = ('\n    ' + evidence.replace('\n', '\n    ')) if evidence else ''
        print('%s boot %d%s: %s after %.0f s (load %.1f)%s' % (level, number, where, outcome, seconds, load, shown),
              flush=True)
        self.save(self)

    def wait(self, level, port_check, bound):
        """Wait for a boot; returns (outcome, seconds, evidence)."""
        started = time.monotonic()
        silent_since = None
        while time.monotonic() - started < bound:
            code, output = l1_ssh(port_check, timeout=20)
            if code in (124, 255):
                silent_since = silent_since or time.monotonic()
                # A booting L1 does not answer yet: only its own bound makes that a hang.
                kind, status = self.l1_failure(silent_since, bound if level == 'L1' else L1_SILENCE)
                if kind:
                    return kind, time.monotonic() - started, _domain_health.describe(status, 'the L0') + vcpus()
            else:
                silent_since = None
                if output.startswith('SSH-'):
                    return 'booted', time.monotonic() - started, ''
            time.sleep(3)
        if level == 'L1':
            return 'l1_hang', time.monotonic() - started, _domain_health.describe(self.l1_status(), 'the L0')
        _code, seen = l1_ssh(L2_EVIDENCE, timeout=60)
        return 'l2_hang', time.monotonic() - started, 'the L2 inside the L1: ' + seen.strip()

    def boot_l1(self):
        domain = self.l0.lookupByName(L1)
        if domain.isActive():
            domain.destroy()
        domain.create()
        outcome, seconds, evidence = self.wait('L1', 'true && echo SSH-', L1_BOUND)
        self.record('L1', outcome, seconds, evidence)
        return outcome == 'booted'

    def boot_l2(self):
        l1_ssh('sudo virsh destroy %s' % L2, timeout=60)
        code, output = l1_ssh('sudo virsh start %s' % L2, timeout=120)
        if code != 0:
            kind, status = self.l1_failure(time.monotonic() - L1_SILENCE)
            self.record('L2', kind or 'l1_hang', 0, 'virsh start: %s\n%s' % (output.strip(), _domain_health.describe(
                status, 'the L0')))
            return False
        outcome, seconds, evidence = self.wait('L2', banner(L2_PORT), L2_BOUND)
        self.record('L2', outcome, seconds, evidence)
        return outcome in ('booted', 'l2_hang')  # the L1 still serves

    def summary(self):
        result = dict(variant=self.variant)
        for level in ('L1', 'L2'):
            boots = [b for b in self.boots if b['level'] == level]
            counts = {kind: sum(1 for b in boots if b['outcome'] == kind) for kind in KINDS}
            booted = [b['seconds'] for b in boots if b['outcome'] == 'booted']
            result[level] = dict(boots=len(boots), median_boot_seconds=statistics.median(booted) if booted else None,
                                 **counts)
        result['failures'] = [b for b in self.boots if b['outcome'] != 'booted']
        return result


def set_kvm_amd(parameters):
    """Load kvm_amd in the L1 with ``parameters`` (kept in a modprobe.d file of the soak's own, so they hold across
    the L1's restarts), or with none again."""
    l1_ssh('sudo virsh destroy %s' % L2, timeout=60)
    conf = '/etc/modprobe.d/nestedkvm-soak.conf'
    write = ('echo %s | sudo tee %s >/dev/null' % (shlex.quote('options kvm_amd ' + parameters), conf) if parameters
             else 'sudo rm -f %s' % conf)
    # The l0_host role's KVM hold keeps the module in use: released for the reload, held again after it.
    hold = 'sudo systemctl %s nestedkvm-kvm-hold 2>/dev/null || true'
    code, output = l1_ssh('%s && { %s; } && sudo modprobe -r kvm_amd && sudo modprobe kvm_amd && { %s; } && '
                          % (write, hold % 'stop', hold % 'start') +
                          'grep . /sys/module/kvm_amd/parameters/*', timeout=120)
    print(output, flush=True)
    if code != 0:
        sys.exit('soak: could not reload kvm_amd in the L1 with %r' % parameters)


def lab(extra_vars):
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i',
               os.path.join(ROOT, 'inventories', 'local'), os.path.join(ROOT, 'site.yml')]
    for item in extra_vars:
        command += ['-e', item]
    print('soak: building the lab: %s' % ' '.join(shlex.quote(c) for c in command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--boots', type=int, default=30, help='L2 boots inside one L1')
    parser.add_argument('--l1-boots', type=int, default=3,
                        help='fresh L1 starts: one before the L2 boots, the others after, each followed by L2 boots')
    parser.add_argument('--l2-boots-per-l1', type=int, default=1,
                        help='L2 boots in each of the fresh L1s after the first (2: the second boot in a fresh L1, '
                             'where the L2 hangs were seen)')
    parser.add_argument('--variant', default='default', help='name of what is measured, for the results')
    parser.add_argument('--extra-vars', '-e', action='append', default=[], help='for site.yml, e.g. l1_hypervisor_vcpus=1')
    parser.add_argument('--l1-kvm-amd', default='', help="kvm_amd parameters to load in the L1, e.g. 'vgif=0 avic=0'")
    parser.add_argument('--no-lab', action='store_true', help='use the running lab as it is')
    parser.add_argument('--results', default=os.path.join(HERE, 'results.json'))
    options = parser.parse_args()

    if not options.no_lab:
        lab(options.extra_vars)
    started = time.monotonic()

    def save(soak, finished=False):
        result = soak.summary()
        result.update(seconds=round(time.monotonic() - started), kvm_amd=options.l1_kvm_amd,
                      extra_vars=options.extra_vars, date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                      finished=finished,
                      asked=dict(boots=options.boots, l1_boots=options.l1_boots, l2_boots_per_l1=options.l2_boots_per_l1))
        try:
            with open(options.results) as handle:
                results = json.load(handle)
        except (OSError, ValueError):
            results = {}
        results.setdefault('soak', {})[options.variant] = result
        with open(options.results, 'w') as handle:
            json.dump(results, handle, indent=2, sort_keys=True)
            handle.write('\n')
        return result

    soak = Soak(options.variant, save)
    # A fresh L1 first: a definition site.yml just changed (console logs, vCPUs) applies from its next start.
    if not soak.boot_l1():
        sys.exit('soak: the L1 does not boot')
    if options.l1_kvm_amd:
        set_kvm_amd(options.l1_kvm_amd)
    for number in range(options.boots):
        if not soak.boot_l2() and not soak.boot_l1():
            sys.exit('soak: the L1 does not come back; stopping after %d L2 boots' % (number + 1))
    for _number in range(options.l1_boots - 1):
        if soak.boot_l1():
            for _boot in range(options.l2_boots_per_l1):
                if not soak.boot_l2():
                    break
    if options.l1_kvm_amd:
        set_kvm_amd('')
    result = save(soak, finished=True)
    for level in ('L1', 'L2'):
        print('soak %s %s: %s' % (options.variant, level, json.dumps(result[level], sort_keys=True)), flush=True)


if __name__ == '__main__':
    main()
