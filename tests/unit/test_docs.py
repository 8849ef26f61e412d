"""What `ansible-doc` shows users, for every module and every role entry point, rendered without defects.

The YAML of DOCUMENTATION/RETURN and of meta/argument_specs.yml is read by ansible-doc exactly as users read it
(`ansible-doc --json` for the structure, the text rendering for what appears on screen). Defects caught:
- markup whose argument holds a parenthesis: ansible-doc ends C(...) at the first `)`, so `C(getppid())` shows
  `getppid(` and a stray `)`;
- Python spellings of values (`None`, `True`, `False`): users write YAML, where they are null, true, false;
- a sample mapping whose keys are not field names: an unquoted `a: Standard PC (Q35 + ICH9, 2009)` in a flow
  mapping is split at the comma and renders as a key `2009)` with the value null;
- a top-level returned dict without `contains`: users cannot see what keys it holds (a sample is no contract).
"""

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from lxml import etree

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted('nestedkvm.stack.' + path.stem for path in (REPO / 'plugins' / 'modules').glob('*.py'))
ROLES = sorted('nestedkvm.stack.' + path.parents[1].name for path in (REPO / 'roles').glob('*/meta/argument_specs.yml'))
INVENTORY_PLUGINS = sorted('nestedkvm.stack.' + path.stem for path in (REPO / 'plugins' / 'inventory').glob('*.py'))

MACRO = re.compile(r'\b(RV|[BCIMOUVELP])\(')
PYTHON_VALUE = re.compile(r'\b(None|True|False)\b')
FIELD_NAME = re.compile(r'^[A-Za-z0-9_.:/-]+$')


def _ansible_doc(*args):
    run = subprocess.run(['ansible-doc', *args], check=False, capture_output=True, text=True,
                         env={**os.environ, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0'})
    assert run.returncode == 0 and '[WARNING]' not in run.stderr and 'ERROR' not in run.stderr, run.stderr
    return run.stdout


@pytest.fixture(scope='module')
def module_docs():
    return json.loads(_ansible_doc('--json', '-t', 'module', *MODULES))


@pytest.fixture(scope='module')
def role_docs():
    return json.loads(_ansible_doc('--json', '-t', 'role', *ROLES))


def _texts(node, where=''):
    """(where, text) for every string in a doc tree, samples excepted (they are values, not prose)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in ('sample', 'default', 'choices', 'version_added', 'version_added_collection'):
                yield from _texts(value, '%s.%s' % (where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, '%s[%d]' % (where, index))
    elif isinstance(node, str):
        yield where, node


def _markup_defects(text):
    defects = []
    for match in MACRO.finditer(text):
        end = text.find(')', match.end())
        argument = text[match.end():end if end >= 0 else len(text)]
        if end < 0 or '(' in argument:
            defects.append(text[match.start():match.start() + len(argument) + 4])
    return defects


def _prose_defects(tree):
    defects = []
    for where, text in _texts(tree):
        defects += ['%s: markup %r' % (where, bad) for bad in _markup_defects(text)]
        defects += ['%s: Python value %r' % (where, bad) for bad in PYTHON_VALUE.findall(text)]
    return defects


def _sample_keys(sample):
    if isinstance(sample, dict):
        for key, value in sample.items():
            yield key
            yield from _sample_keys(value)
    elif isinstance(sample, list):
        for value in sample:
            yield from _sample_keys(value)


def _return_defects(returns, where='RETURN'):
    defects = []
    for name, field in returns.items():
        here = '%s.%s' % (where, name)
        bad_keys = [key for key in _sample_keys(field.get('sample')) if not FIELD_NAME.match(str(key))]
        defects += ['%s: sample key %r' % (here, key) for key in bad_keys]
        if where == 'RETURN' and field.get('type') == 'dict' and 'contains' not in field:
            defects.append('%s: a dict without contains' % here)
        defects += _return_defects(field.get('contains', {}), here)
    return defects


@pytest.mark.parametrize('module', MODULES)
def test_module_doc_has_no_defects(module_docs, module):
    doc = module_docs[module]
    defects = _prose_defects(doc['doc']) + _prose_defects(doc.get('return') or {})
    defects += _return_defects(doc.get('return') or {})
    assert defects == []


def _rendered(kind, names):
    """ansible-doc's text for each name, from one run (each page starts with `> KIND`)."""
    pages = re.split(r'^(?=> %s)' % kind.upper(), _ansible_doc('-t', kind, *names), flags=re.M)
    return {name: page for name in names for page in pages if re.match(r'> %s:? \*?%s\b' % (kind.upper(), name), page)}


@pytest.fixture(scope='module')
def module_pages():
    return _rendered('module', MODULES)


@pytest.fixture(scope='module')
def role_pages():
    return _rendered('role', ROLES)


@pytest.mark.parametrize('module', MODULES)
def test_module_doc_renders_as_text(module_pages, module):
    text = module_pages[module]
    assert 'RETURN VALUES' in text or 'RETURN' in text
    assert not re.search(r'^\s+\S*\): null$', text, re.M)  # the remains of a sample split at a comma


@pytest.fixture(scope='module')
def inventory_docs():
    return json.loads(_ansible_doc('--json', '-t', 'inventory', *INVENTORY_PLUGINS))


@pytest.mark.parametrize('plugin', INVENTORY_PLUGINS)
def test_inventory_plugin_doc_has_no_defects(inventory_docs, plugin):
    doc = dict(inventory_docs[plugin]['doc'])
    # Only this collection's options: ansible-core's constructed and inventory_cache fragments are not ours to fix.
    spec = importlib.util.spec_from_file_location('plugin', REPO / 'plugins' / 'inventory' / (plugin.split('.')[-1] + '.py'))
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    own = yaml.safe_load(source.DOCUMENTATION)['options']
    doc['options'] = {name: option for name, option in doc['options'].items() if name in own}
    assert sorted(doc['options']) == sorted(own) and inventory_docs[plugin]['examples']
    assert _prose_defects(doc) == []


@pytest.mark.parametrize('plugin', INVENTORY_PLUGINS)
def test_inventory_plugin_doc_renders_as_text(plugin):
    text = _rendered('inventory', INVENTORY_PLUGINS)[plugin]
    assert 'OPTIONS' in text and 'EXAMPLES' in text


@pytest.mark.parametrize('role', ROLES)
def test_role_doc_has_no_defects(role_docs, role):
    entry_points = role_docs[role]['entry_points']
    assert 'main' in entry_points
    defects = ['%s%s' % (name, defect) for name, spec in entry_points.items() for defect in _prose_defects(spec)]
    assert defects == []


@pytest.mark.parametrize('role', ROLES)
def test_role_doc_renders_as_text(role_pages, role):
    assert 'ENTRY POINT: main' in role_pages[role].replace('*', '')


def test_the_readme_smallest_playbook_parses_against_the_example_inventory(tmp_path):
    readme = (REPO / 'README.md').read_text()
    use_it = readme[readme.index('## Use it'):]
    playbook = re.search(r'```yaml\n(.*?)```', use_it, re.S).group(1)
    assert [play['roles'] for play in yaml.safe_load(playbook)] == [
        ['nestedkvm.stack.l0_host'], ['nestedkvm.stack.l1_hypervisor'], ['nestedkvm.stack.l2_guests']]
    (tmp_path / 'smallest.yml').write_text(playbook)
    run = subprocess.run(['ansible-playbook', '--syntax-check', '-i', str(REPO / 'inventories' / 'example'),
                          str(tmp_path / 'smallest.yml')], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_topology_picture_is_what_its_script_draws_and_names_every_host():
    script = REPO / 'docs' / 'topology.py'
    spec = importlib.util.spec_from_file_location('topology', script)
    topology = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(topology)
    committed = (REPO / 'docs' / 'topology.svg').read_text()
    assert committed == topology.svg(), 'run python3 docs/topology.py'
    texts = ' '.join(etree.fromstring(committed.encode()).itertext())
    for inventory in ('local', 'example'):
        groups = yaml.safe_load((REPO / 'inventories' / inventory / 'hosts.yml').read_text())['all']['children']
        for group in groups.values():
            for host, hostvars in group['hosts'].items():
                assert host in texts, (inventory, host)
                port = (hostvars or {}).get('ansible_port')
                assert port is None or '127.0.0.1:%d' % port in texts, (inventory, host, port)


def test_the_facts_roles_hand_to_each_other_are_described_in_one_place():
    """Every fact a role sets for the others (set_fact, not private, not guest_ssh's own for its callers) is a row of
    the README's table, and only the README describes its fields: the roles' READMEs point there."""
    handed = set()
    for path in REPO.glob('roles/*/tasks/*.yml'):
        for task in yaml.safe_load(path.read_text()) or ():
            for item in [task, *task.get('block', ()), *task.get('rescue', ())]:
                for name in (item.get('ansible.builtin.set_fact') or {}):
                    if not name.startswith(('__', 'guest_ssh_')):
                        handed.add(name)
    readme = (REPO / 'README.md').read_text()
    table = readme[readme.index('### What the roles hand to each other'):readme.index('## Modules')]
    rows = set(re.findall(r'^\| `(\w+)` \|', table, re.M))
    assert handed == rows == {'l0_host_virt_type', 'l0_host_pool', 'l1_hypervisor_result', 'l2_guests_result'}
    for role in ('l0_host', 'l1_hypervisor', 'l2_guests'):
        facts = (REPO / 'roles' / role / 'README.md').read_text().split('### Facts set')[1].split('###')[0]
        assert 'README.md#what-the-roles-hand-to-each-other' in facts, role


def test_the_layout_page_names_every_plugin_file_and_role_and_nothing_that_is_gone():
    layout = (REPO / 'docs' / 'layout.md').read_text()
    listed = set(re.findall(r'^\s+([\w.]+\.py|[\w]+/)\s', layout, re.MULTILINE))
    files = {p.name for p in (REPO / 'plugins').glob('*/*.py') if p.name != '__init__.py'}
    roles = {p.name + '/' for p in (REPO / 'roles').iterdir() if p.is_dir()}
    assert not (files | roles) - listed, 'add to docs/layout.md: %s' % sorted((files | roles) - listed)
    gone = {name for name in listed if name.endswith('.py')} - files
    assert not gone, 'docs/layout.md names files that are gone: %s' % sorted(gone)
