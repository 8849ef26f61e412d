"""`make bench`: the collection's own speed, measured side by side in one run on this machine.

Prints one line per figure, ``name value unit``, and writes the same (with the raw samples) to
bench/results.json. Figures (bench/README.md says how to read them):

  peer   l1_domain vs community.libvirt.virt converging the same domains (define; define + start),
         first run and re-run, as ratios ours/theirs of the medians of interleaved rounds;
  scale  l1_domain defining N = 10, 50, 200 domains on one libvirt: seconds per domain and the ratio
         of that at 200 to that at 10; libvirt connections per module run (counted, not timed);
  lab    site.yml on inventories/local (the `make lab` playbook), cold (no cached image) and warm
         (nothing to change), with its phases; and the warm run against its floor: as many
         ansible.builtin.ping tasks on the same hosts (and through the same delegation) as the warm
         run ran tasks on hosts;
  baseline  (only with --baseline REV) l1_domain against itself at git revision REV, defining the same
         domains in interleaved rounds: what a change must not make slower.

Everything runs against the real libvirtd at qemu:///system. Domains made here are named ``nkb-*``
and removed afterwards; the lab part replaces a lab made by `make lab` and removes it at the end.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

import libvirt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(ROOT, '.work')
BENCH_WORK = os.path.join(WORK, 'bench')
URI = 'qemu:///system'
PREFIX = 'nkb-'
# A direct-kernel-boot "kernel" that only halts: QEMU loads it as a multiboot image. The domains
# really start and then idle, so no guest boot competes for the CPU with what is measured.
IDLE_KERNEL = '/var/lib/libvirt/images/nestedkvm-bench-idle.bin'
COMMUNITY_LIBVIRT = ('ansible', '12.3.0')  # the `ansible` release whose wheel carries community.libvirt 2.0.0
# Tasks that run on the controller only: they make no connection, so the ping floor has no
# counterpart for them.
CONTROLLER_ONLY = {'set_fact', 'debug', 'assert', 'fail', 'meta', 'include_role', 'include_tasks', 'import_role',
                   'import_tasks', 'include_vars', 'validate_argument_spec', 'pause', 'add_host', 'group_by'}


class Bench:
    def __init__(self, rounds):
        self.rounds = rounds
        self.figures = {}
        self.details = {}

    # -- output ----------------------------------------------------------------------------

    def figure(self, name, value, unit, target=None):
        value = round(value, 3)
        print('%s %s %s' % (name, value, unit), flush=True)
        self.figures[name] = dict(value=value, unit=unit, target=target)

    def write(self, path):
        # The file also holds the soak's results (bench/soak.py) and the figures of parts this run left out: only
        # this run's own figures are replaced.
        try:
            with open(path) as existing:
                results = json.load(existing)
        except (OSError, ValueError):
            results = {}
        results.update(date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), machine=_machine())
        results.setdefault('figures', {}).update(self.figures)
        results.setdefault('details', {}).update(self.details)
        with open(path, 'w') as out:
            json.dump(results, out, indent=2, sort_keys=True)
            out.write('\n')

    # -- peer comparison -------------------------------------------------------------------

    def peer(self, n_define, n_start):
        xml_file = self._equivalent_xml()
        tools = dict(ours=dict(playbook='ours.yml'), theirs=dict(playbook='theirs.yml'))
        for state, count in (('present', n_define), ('running', n_start)):
            label = 'define' if state == 'present' else 'define_start'
            self._interleaved('peer_' + label, tools, state, count, 'ours/theirs', bench_xml_file=xml_file)

    def baseline(self, revision, n_define):
        """This checkout's l1_domain against its own earlier ``revision``, side by side: the same playbook, the
        collection path switched. What a restructuring must not make slower."""
        tools = dict(ours=dict(playbook='ours.yml'),
                     baseline=dict(playbook='ours.yml', env=dict(ANSIBLE_COLLECTIONS_PATH=checkout(revision))))
        self._interleaved('baseline_define', tools, 'present', n_define, 'ours/baseline')
        self.details['baseline_define']['revision'] = revision

    def _interleaved(self, label, tools, state, count, unit, **extra_vars):
        """Medians of ``self.rounds`` rounds, the two tools' order swapped every round, first run and re-run each;
        the figures ``<label>_<run>_<tool>_s`` and ``<label>_<run>_ratio`` (the first tool over the second)."""
        names = list(tools)
        samples = {(tool, run): [] for tool in names for run in ('first', 'rerun')}
        tasks = ('Converge', 'Start') if state == 'running' else ('Converge',)
        for round_number in range(self.rounds):
            for tool in names if round_number % 2 == 0 else names[::-1]:
                for run in ('first', 'rerun'):
                    record = ansible(tools[tool]['playbook'], env=tools[tool].get('env'),
                                     bench_prefix=PREFIX + tool + '-', bench_state=state, bench_count=count,
                                     bench_kernel=IDLE_KERNEL, **extra_vars)
                    samples[(tool, run)].append(task_seconds(record, tasks))
                remove_domains()
        self.details[label] = dict(count=count, samples={'%s_%s' % key: value for key, value in samples.items()})
        for run in ('first', 'rerun'):
            medians = [statistics.median(samples[(tool, run)]) for tool in names]
            for tool, median in zip(names, medians):
                self.figure('%s_%s_%s_s' % (label, run, tool), median, 's')
            self.figure('%s_%s_ratio' % (label, run), medians[0] / medians[1], unit, target='<= 1.0')

    def _equivalent_xml(self):
        """What l1_domain defines for the bench options, as libvirt stored it, with the name as a
        placeholder and no UUID: the XML community.libvirt.virt gets."""
        name = PREFIX + 'template-0'
        ansible('ours.yml', bench_prefix=PREFIX + 'template-', bench_state='present', bench_count=1,
                bench_kernel=IDLE_KERNEL)
        conn = libvirt.open(URI)
        try:
            xml = conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        finally:
            conn.close()
        remove_domains()
        xml = '\n'.join(line for line in xml.splitlines() if '<uuid>' not in line).replace(name, '@NAME@')
        path = os.path.join(BENCH_WORK, 'equivalent.xml')
        with open(path, 'w') as out:
            out.write(xml)
        return path

    # -- scale -----------------------------------------------------------------------------

    def scale(self, sizes):
        per_domain = {}
        for count in sizes:
            for run in ('first', 'rerun'):
                record = ansible('ours.yml', bench_prefix=PREFIX + 'scale-', bench_state='present', bench_count=count,
                                 bench_kernel=IDLE_KERNEL)
                per_domain[(count, run)] = task_seconds(record, ('Converge',)) / count
                self.figure('scale_%d_%s_per_domain_s' % (count, run), per_domain[(count, run)], 's')
            remove_domains()
        for run in ('first', 'rerun'):
            self.figure('scale_slope_%d_vs_%d_%s' % (sizes[-1], sizes[0], run),
                        per_domain[(sizes[-1], run)] / per_domain[(sizes[0], run)], 'ratio', target='~1 (linear)')
        self.figure('libvirt_connections_per_module_run', self._connections_per_run(10), 'connections', target='1')

    def _connections_per_run(self, count):
        with tempfile.NamedTemporaryFile('r', dir=BENCH_WORK, suffix='.opens') as opens:
            ansible('ours.yml', env=dict(PYTHONPATH=os.path.join(HERE, 'probe'), NESTEDKVM_BENCH_OPENS=opens.name),
                    bench_prefix=PREFIX + 'probe-', bench_state='present', bench_count=count, bench_kernel=IDLE_KERNEL)
            lines = opens.read().splitlines()
        remove_domains()
        processes = {line.split()[0] for line in lines}
        if len(processes) != count:
            raise SystemExit('bench: expected %d module runs to open libvirt, saw %d' % (count, len(processes)))
        return len(lines) / count

    # -- the lab ---------------------------------------------------------------------------

    def lab(self, cold):
        image_dir = os.path.join(BENCH_WORK, 'images')
        env = dict(NESTEDKVM_IMAGE_DIR=image_dir)
        inventory = os.path.join(ROOT, 'inventories', 'local')
        site = os.path.join(ROOT, 'site.yml')
        teardown = os.path.join(ROOT, 'playbooks', 'teardown.yml')
        ansible(teardown, inventory=inventory, env=env)
        runs = {}
        for run in (('cold', 'warm') if cold else ('warm',)):
            if run == 'cold':
                shutil.rmtree(image_dir, ignore_errors=True)
            started = time.time()
            runs[run] = ansible(site, inventory=inventory, env=env)
            self.figure('lab_%s_s' % run, time.time() - started, 's', target='<= 600' if run == 'cold' else '<= 240')
        if cold:
            for phase, seconds in lab_phases(runs['cold']).items():
                self.figure('lab_cold_%s_s' % phase, seconds, 's')
        warm = runs['warm']
        changed = sum(1 for task in warm['tasks'] for result in task['results'] if result[2])
        self.figure('lab_warm_changed_tasks', changed, 'tasks', target='0')
        floor_playbook, pings = ping_playbook(warm)
        floor = ansible(floor_playbook, inventory=inventory, env=env)
        self.details['lab_warm_tasks_on_hosts'] = pings
        self.figure('lab_warm_tasks_on_hosts', pings, 'tasks')
        self.figure('rerun_vs_ping_floor', run_seconds(warm) / run_seconds(floor), 'ratio', target='<= 1.3')
        ansible(teardown, inventory=inventory, env=env)
        shutil.rmtree(image_dir, ignore_errors=True)


# --------------------------------------------------------------------------- running Ansible

def ansible(playbook, inventory=None, env=None, **extra_vars):
    """Run a playbook (a name under bench/playbooks, or a path) and return the bench_timer record."""
    path = playbook if os.path.isabs(playbook) else os.path.join(HERE, 'playbooks', playbook)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), path]
    if inventory is None:  # localhost, with the controller's Python (it has libvirt-python and lxml)
        command += ['-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable]
    else:
        command += ['-i', inventory]
    if extra_vars:
        command += ['-e', json.dumps(extra_vars)]
    with tempfile.NamedTemporaryFile('r', dir=BENCH_WORK, suffix='.json') as timings:
        environment = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
                           ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([os.path.join(BENCH_WORK, 'collections'),
                                                                     os.path.join(WORK, 'collections')]),
                           ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
                           ANSIBLE_CALLBACKS_ENABLED='bench_timer', NESTEDKVM_BENCH_TIMINGS=timings.name)
        environment.update(env or {})
        done = subprocess.run(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-6000:])
            raise SystemExit('bench: %s failed (exit %d)' % (' '.join(command), done.returncode))
        return json.load(timings)


def _durations(record, items):
    """(item, seconds) for plays or tasks: from its start to the next one's, the last to the end."""
    starts = [item['start'] for item in items] + [record['end']]
    return [(item, starts[index + 1] - item['start']) for index, item in enumerate(items)]


def task_seconds(record, names):
    return sum(seconds for task, seconds in _durations(record, record['tasks']) if task['name'] in names)


def run_seconds(record):
    """From the first play's start to the end: the run without interpreter start and parsing."""
    return record['end'] - record['plays'][0]['start']


def lab_phases(record):
    tasks = _durations(record, record['tasks'])
    plays = dict((play['name'], seconds) for play, seconds in _durations(record, record['plays']))

    def tasks_named(*names):  # task names carry their role's name in front
        return sum(seconds for task, seconds in tasks if any(name in task['name'] for name in names))

    image = tasks_named('Build the Debian lab images')
    phases = dict(image_build=image)
    for key, prefix in (('l0', 'L0 hosts'), ('l1', 'L1 hypervisors'), ('l2', 'L2 guests')):
        phases[key] = sum(seconds for name, seconds in plays.items() if name.startswith(prefix))
    phases['l1'] -= image  # the image is built in the L1 play
    phases['l1_boot'] = tasks_named('Wait until the L1 answers', 'Log in to the L1')
    phases['l2_boot'] = tasks_named('Wait until the guest answers', 'Log in to the guest')
    return phases


def ping_playbook(record):
    """A playbook with one ansible.builtin.ping per task of ``record`` that ran on a host, on the same
    hosts, delegated as that task was, in the same plays; and the number of such tasks."""
    plays, count = [], 0
    for index, play in enumerate(record['plays']):
        tasks = []
        for task in record['tasks']:
            if task['play'] != index or task['action'].split('.')[-1] in CONTROLLER_ONLY or not task['results']:
                continue
            hosts = sorted({host for host, _where, _changed in task['results']})
            where = {host: delegate for host, delegate, _changed in task['results']}
            ping = {'name': 'ping for: %s' % task['name'], 'ansible.builtin.ping': {},
                    'when': 'inventory_hostname in %s' % json.dumps(hosts)}
            if any(host != delegate for host, delegate in where.items()):
                ping['delegate_to'] = '{{ %s[inventory_hostname] }}' % json.dumps(where)
            tasks.append(ping)
            count += len(hosts)
        hosts = sorted({host for task in record['tasks'] if task['play'] == index for host, _w, _c in task['results']})
        if tasks:
            plays.append({'name': play['name'], 'hosts': ','.join(hosts), 'gather_facts': False, 'tasks': tasks})
    path = os.path.join(BENCH_WORK, 'ping-floor.yml')
    with open(path, 'w') as out:
        json.dump(plays, out, indent=1)  # JSON is YAML
    return path, count


# --------------------------------------------------------------------------- set-up

def remove_domains():
    conn = libvirt.open(URI)
    try:
        for domain in conn.listAllDomains():
            if domain.name().startswith(PREFIX):
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
    finally:
        conn.close()
    for log in os.listdir('/var/log/libvirt/qemu') if os.path.isdir('/var/log/libvirt/qemu') else ():
        if log.startswith(PREFIX):
            os.unlink(os.path.join('/var/log/libvirt/qemu', log))


def write_idle_kernel():
    """A multiboot image (a.out kludge, loaded at 1 MiB) whose code is cli; hlt; jmp back to hlt."""
    magic, flags, load = 0x1BADB002, 0x00010000, 0x100000
    header = struct.pack('<8I', magic, flags, -(magic + flags) & 0xFFFFFFFF, load, load, 0, 0, load + 32)
    with open(IDLE_KERNEL, 'wb') as out:
        out.write(header + bytes([0xFA, 0xF4, 0xEB, 0xFD]))
    os.chmod(IDLE_KERNEL, 0o644)


def checkout(revision):
    """A collections path holding this repository's ``revision`` as nestedkvm.stack (git archive, kept under
    .work/bench/baseline by commit, so a second run reuses it)."""
    commit = subprocess.run(['git', 'rev-parse', '--verify', revision + '^{commit}'], cwd=ROOT, check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    path = os.path.join(BENCH_WORK, 'baseline', commit[:12])
    collection = os.path.join(path, 'ansible_collections', 'nestedkvm', 'stack')
    if not os.path.isfile(os.path.join(collection, 'galaxy.yml')):
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(collection)
        archive = subprocess.run(['git', 'archive', commit, 'plugins', 'meta', 'galaxy.yml'], cwd=ROOT, check=True,
                                 stdout=subprocess.PIPE).stdout
        subprocess.run(['tar', '-x', '-C', collection], input=archive, check=True)
    return path


def install_community_libvirt():
    """community.libvirt from the `ansible` wheel on PyPI (Galaxy is not reachable): bench only."""
    target = os.path.join(BENCH_WORK, 'collections')
    if os.path.isfile(os.path.join(target, 'ansible_collections', 'community', 'libvirt', 'MANIFEST.json')):
        return
    name, version = COMMUNITY_LIBVIRT
    wheel = os.path.join(BENCH_WORK, '%s-%s-py3-none-any.whl' % (name, version))
    if not os.path.isfile(wheel):
        subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '-d', BENCH_WORK,
                        '%s==%s' % (name, version)], check=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith('ansible_collections/community/libvirt/'):
                archive.extract(member, target)


def _machine():
    with open('/proc/cpuinfo') as cpuinfo:
        model = next((line.split(':', 1)[1].strip() for line in cpuinfo if line.startswith('model name')), '?')
    return dict(cpu=model, cores=os.cpu_count(), python=platform.python_version(),
                libvirt=libvirt.getVersion(), kernel=platform.release())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parts = ('peer', 'scale', 'lab', 'baseline')
    # No `choices`: argparse checks an empty positional's default against them, as one value.
    parser.add_argument('parts', nargs='*', metavar='{peer,scale,lab,baseline}',
                        help='what to measure (default: peer, scale and lab; baseline with --baseline)')
    parser.add_argument('--rounds', type=int, default=3, help='interleaved rounds of the peer comparison')
    parser.add_argument('--no-cold', dest='cold', action='store_false', help='skip the cold lab run')
    parser.add_argument('--baseline', metavar='REVISION',
                        help='the part baseline: l1_domain against this git revision of itself (e.g. a tag)')
    parser.add_argument('--output', default=os.path.join(HERE, 'results.json'))
    args = parser.parse_args()
    unknown = sorted(set(args.parts) - set(parts))
    if unknown:
        parser.error('unknown part(s) %s: choose from %s' % (', '.join(unknown), ', '.join(parts)))
    args.parts = args.parts or [part for part in parts if part != 'baseline' or args.baseline]
    if 'baseline' in args.parts and not args.baseline:
        parser.error('the part baseline needs --baseline REVISION')
    os.makedirs(BENCH_WORK, exist_ok=True)
    install_community_libvirt()
    write_idle_kernel()
    remove_domains()
    bench = Bench(args.rounds)
    try:
        if 'peer' in args.parts:
            bench.peer(n_define=20, n_start=5)
        if 'scale' in args.parts:
            bench.scale((10, 50, 200))
        if 'baseline' in args.parts:
            bench.baseline(args.baseline, n_define=20)
        if 'lab' in args.parts:
            bench.lab(args.cold)
    finally:
        remove_domains()
    bench.write(args.output)


if __name__ == '__main__':
    main()
