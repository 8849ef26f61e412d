"""meta/runtime.yml's action group nestedkvm.stack.libvirt: `uri` set once in module_defaults reaches its modules."""

import json
import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_the_group_holds_every_module_that_takes_a_libvirt_uri():
    group = yaml.safe_load((REPO / 'meta' / 'runtime.yml').read_text())['action_groups']['libvirt']
    modules = sorted(path.stem for path in (REPO / 'plugins' / 'modules').glob('*.py'))
    docs = json.loads(subprocess.run(
        ['ansible-doc', '--json', '-t', 'module', *('nestedkvm.stack.' + name for name in modules)],
        check=True, capture_output=True, text=True).stdout)
    with_uri = sorted(name.rsplit('.', 1)[1] for name, doc in docs.items() if 'uri' in doc['doc'].get('options', {}))
    assert sorted(group) == with_uri
    for name in with_uri:
        membership = docs['nestedkvm.stack.' + name]['doc']['attributes']['action_group']['membership']
        assert membership == ['nestedkvm.stack.libvirt']


def test_module_defaults_for_the_group_reach_every_module():
    # Real ansible-playbook on localhost, in check mode, against libvirt's test:///default (no daemon).
    run = subprocess.run(
        ['ansible-playbook', '-i', 'localhost,', str(REPO / 'tests' / 'unit' / 'playbooks' / 'module_defaults_group.yml')],
        check=False, capture_output=True, text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'ok=7' in run.stdout and 'failed=0' in run.stdout
