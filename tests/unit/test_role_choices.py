"""Role variables with a fixed set of values declare it (``choices`` in meta/argument_specs.yml), so that a typo fails
in the role's first task, the argument check, naming the variable, before anything is touched.

Two checks: every role variable a role hands straight to a module option that has choices declares choices, each
one the module accepts or the role handles itself; and each declared choice, given with a typo, stops its role
there (a real ansible-playbook run on localhost, one play per variable, made from the argument specs so a new
choice is covered without a new case).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(path.parents[1].name for path in (REPO / 'roles').glob('*/meta/argument_specs.yml'))
# A task option whose value is one role variable, as given or omitted when unset.
PASSED_ON = re.compile(r'^\{\{\s*(\w+)\s*(\|\s*default\(omit\)\s*)?\}\}$')
# What a role needs besides the bad value to get as far as its argument check.
REQUIRED = {'l2_guests': dict(l2_guests_l1_host='localhost'), 'guest_ssh': dict(guest_ssh_name='nk-choices')}


def _spec(role):
    return yaml.safe_load((REPO / 'roles' / role / 'meta' / 'argument_specs.yml').read_text())['argument_specs']['main']


_MODULE_OPTIONS = {}  # ansible-doc once per module


def _module_options(name):
    """The module's options as ansible-doc shows them, its documentation fragments merged in."""
    if name not in _MODULE_OPTIONS:
        run = subprocess.run(['ansible-doc', '--json', '-t', 'module', 'nestedkvm.stack.' + name], check=True,
                             capture_output=True, text=True)
        _MODULE_OPTIONS[name] = json.loads(run.stdout)['nestedkvm.stack.' + name]['doc']['options']
    return _MODULE_OPTIONS[name]


def _tasks(items):
    for task in items or ():
        yield task
        for section in ('block', 'rescue', 'always'):
            yield from _tasks(task.get(section))


def _handled_by_the_role(role, variable):
    """The values a role's tasks compare ``variable`` with (``== 'none'``, ``!= 'windows11'``): the role branches
    on them itself."""
    text = '\n'.join(path.read_text() for path in (REPO / 'roles' / role / 'tasks').glob('*.yml'))
    return set(re.findall(r"\b%s\s*[!=]=\s*'([^']*)'" % re.escape(variable), text))


def test_a_role_variable_passed_to_an_option_with_choices_declares_them():
    """Declared, and each either accepted by the module or one the role handles itself."""
    unchecked = []
    for role in ROLES:
        options = _spec(role)['options']
        for path in sorted((REPO / 'roles' / role / 'tasks').glob('*.yml')):
            for task in _tasks(yaml.safe_load(path.read_text())):
                module = next((key[len('nestedkvm.stack.'):] for key in task if key.startswith('nestedkvm.stack.')), None)
                if module is None:
                    continue
                module_options = _module_options(module)
                for option, value in (task['nestedkvm.stack.' + module] or {}).items():
                    passed = PASSED_ON.match(str(value))
                    wanted = (module_options.get(option) or {}).get('choices')
                    if not passed or not wanted or passed.group(1) not in options:
                        continue
                    declared = options[passed.group(1)].get('choices')
                    if not declared or not set(declared) <= set(wanted) | _handled_by_the_role(role, passed.group(1)):
                        unchecked.append('%s: %s -> %s.%s %s, declared %s' % (
                            path.relative_to(REPO), passed.group(1), module, option, wanted, declared))
    assert unchecked == []


def _typo(value):
    return value + 'x' if isinstance(value, str) else value + 1


def _cases():
    """(role, variable, value with a typo) for every option with choices, suboptions included."""
    for role in ROLES:
        for name, option in sorted(_spec(role)['options'].items()):
            if option.get('choices'):
                bad = _typo(option['choices'][0])
                yield role, name, [bad] if option.get('type') == 'list' else bad
            for sub, suboption in sorted((option.get('options') or {}).items()):
                if suboption.get('choices'):
                    yield role, '%s.%s' % (name, sub), {sub: _typo(suboption['choices'][0])}


def test_a_typo_in_a_choice_stops_the_role_in_its_argument_check_naming_the_variable(tmp_path):
    cases = list(_cases())
    assert ('l1_hypervisor', 'l1_hypervisor_virt_type', 'autox') in cases
    plays = []
    for role, name, value in cases:
        variable = name.split('.')[0]
        plays.append(dict(
            name='%s with %s %s' % (role, name, value), hosts='localhost', connection='local', gather_facts=False,
            vars=dict(REQUIRED.get(role, {}), ansible_python_interpreter=sys.executable, nk_says=variable,
                      **{variable: value}),
            tasks=[dict(
                name='Run the role with the typo',
                block=[
                    {'name': 'The role', 'ansible.builtin.include_role': {'name': 'nestedkvm.stack.' + role}},
                    {'name': 'Not reached', 'ansible.builtin.fail': {'msg': '%s went on past %s' % (role, name)}}],
                rescue=[{'name': 'Its argument check refused it, naming the variable', 'ansible.builtin.assert': {
                    'that': [
                        "ansible_failed_task.name is search('^Validating arguments against arg spec')",
                        "nk_says in (ansible_failed_result.argument_errors | join(' '))",
                        "'must be one' in (ansible_failed_result.argument_errors | join(' '))"],
                    'fail_msg': '{{ ansible_failed_task.name }}: {{ ansible_failed_result.msg | default("") }}'}}])]))
    playbook = tmp_path / 'role_choices.yml'
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    run = subprocess.run(['ansible-playbook', '-i', 'localhost,', str(playbook)], check=False, capture_output=True,
                         text=True, env={**os.environ, 'ANSIBLE_NOCOLOR': '1'})
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert 'failed=0' in run.stdout and 'rescued=%d' % len(cases) in run.stdout, run.stdout[-3000:]
