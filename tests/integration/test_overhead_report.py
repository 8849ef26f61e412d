"""The overhead_report role end to end, without VMs: an inventory whose L0, L1 and L2 are all this machine
(tests/integration/playbooks/overhead/hosts.yml), tiny samples, the report read back. Then check mode, which
measures nothing and writes nothing."""

import json
import os

import pytest
from conftest import ansible_playbook

pytestmark = pytest.mark.integration

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks', 'overhead')
ROOT = os.path.join(HERE, '..', '..', '..', '..')


def run(*arguments, succeed=True):
    done = ansible_playbook(arguments)
    assert (done.returncode == 0) == succeed, done.stdout[-6000:]
    return done.stdout


def run_role(dest, *options, succeed=True):
    return run('-i', os.path.join(HERE, 'hosts.yml'), os.path.join(HERE, 'report.yml'), '-e', 'dest=%s' % dest,
               *options, succeed=succeed)


def test_the_role_measures_every_level_in_turn_and_writes_the_report(tmp_path):
    dest = tmp_path / 'report'
    output = run_role(str(dest))
    assert sorted(os.listdir(str(dest))) == ['overhead.json', 'overhead.md', 'overhead.svg']
    report = json.loads((dest / 'overhead.json').read_text())
    assert [(h['name'], h['level'], h['parent']) for h in report['hosts']] == [
        ('localhost', 0, None), ('nk-ovh-l1', 1, 'localhost'), ('nk-ovh-l2', 2, 'nk-ovh-l1')]
    for host in report['hosts']:
        assert host['measured'] and host['facts']['python']
        assert sorted(host['workloads']) == ['cpu', 'cpuid', 'disk', 'memory', 'pipe', 'syscall']
    l2 = report['hosts'][2]
    assert set(l2['overhead_vs_l0']) == set(l2['workloads']) and l2['overall_vs_parent'] is not None
    # No QEMU runs the "guests" here (and debugfs may not be mounted): nothing to count, and the report says why.
    assert l2['exits']['source'] is None and l2['exits']['reason']
    assert l2['exits']['reason'] in (dest / 'overhead.md').read_text()
    assert 'skipped (windows11 profile, no Python): nk-ovh-win' in output
    assert 'Report: %s/overhead.md' % dest in output
    markdown = (dest / 'overhead.md').read_text()
    assert '| nk-ovh-l2 | L2 | nk-ovh-l1 (KVM) |' in markdown


def test_check_mode_measures_nothing_and_writes_nothing(tmp_path):
    dest = tmp_path / 'report'
    output = run_role(str(dest), '--check')
    assert 'Check mode: nothing was measured, nothing written.' in output
    assert not dest.exists()


@pytest.mark.parametrize('options, says', [
    (['-e', 'nk_hosts=localhost,nk-ovh-l1'], 'Apply nestedkvm.stack.overhead_report in a play for one host'),
    (['-e', 'overhead_report_l2_group=nk_orphans'], 'Set l2_guests_l1_host for nk-ovh-orphan'),
])
def test_a_wrong_play_or_an_l2_without_its_l1_is_refused_before_measuring(tmp_path, options, says):
    dest = tmp_path / 'report'
    output = run_role(str(dest), *options, succeed=False)
    assert says in output and 'Run the workloads' not in output
    assert not dest.exists()


def test_site_yml_measures_only_when_asked():
    """Listed, not run: a normal run of site.yml holds no task of the report, --tags overhead nothing else."""
    site = ['-i', os.path.join(ROOT, 'inventories', 'local'), os.path.join(ROOT, 'site.yml'), '--list-tasks']
    assert 'Measure every level and write the report' not in run(*site)
    tagged = run(*site, '--tags', 'overhead')
    assert 'Measure every level and write the report' in tagged
    # Of the other plays only the roles' argument checks are listed: they are tagged `always`.
    others = [line for line in tagged.split('Overhead report')[0].splitlines() if 'TAGS:' in line and 'play #' not in line]
    assert others and all('Validating arguments' in line for line in others)
